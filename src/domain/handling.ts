/**
 * Working an incident once it is reported: who may assign the HQ roles (三) and close it, the absconding
 * search of 四(四) as data, and the daily contact of a subject away (外出). Pure functions, no I/O.
 */
import type { StepState } from './playbooks.js';
import { canHandleIncident, isLeader, isSection, type Actor } from './roles.js';
import { daysBetween } from './time.js';

/** 三: the commander (总指挥), the deputy commander (副总指挥), the on-site command and the five working groups. */
export const INCIDENT_ROLES = [
  'commander',
  'deputy_commander',
  'onsite_command',
  'group_onsite',
  'group_order',
  'group_medical',
  'group_logistics',
  'group_info',
] as const;
export type IncidentRole = (typeof INCIDENT_ROLES)[number];

export function isIncidentRole(value: string): value is IncidentRole {
  return (INCIDENT_ROLES as readonly string[]).includes(value);
}

/** HQ's posts are taken (担任); the on-site command and the groups are bodies one is put in (编入). */
export function isRolePost(role: string): boolean {
  return role === 'commander' || role === 'deputy_commander';
}

/**
 * The HQ (director, deputy, the section as its office) names the commander; the head of the office
 * concerned may staff the on-site command and the working groups of its own small team (三).
 */
export function canAssignRole(actor: Actor, officeUnitId: string, role: IncidentRole): boolean {
  if (!canHandleIncident(actor, officeUnitId)) return false;
  if (isSection(actor) || isLeader(actor)) return true;
  return !isRolePost(role) && actor.unitId === officeUnitId && actor.positions.includes('office_head');
}

/** Whether the actor may open the role picker at all. */
export function canAssignAnyRole(actor: Actor, officeUnitId: string): boolean {
  return INCIDENT_ROLES.some((r) => canAssignRole(actor, officeUnitId, r));
}

/**
 * 五(三): closing establishes the course, cause, lessons and measures and starts the written report,
 * which the office head submits level by level; so the head of the office, the section or a leader closes.
 */
export function canCloseIncident(actor: Actor, officeUnitId: string): boolean {
  if (!canHandleIncident(actor, officeUnitId)) return false;
  if (isSection(actor) || isLeader(actor)) return true;
  return actor.unitId === officeUnitId && actor.positions.includes('office_head');
}

// ---------------------------------------------------------------------------------------------
// 四(四) absconding: search at once, each attempt recorded with its result.

export const SEARCH_METHODS = ['phone', 'system', 'field'] as const;
export type SearchMethod = (typeof SEARCH_METHODS)[number];

/** The checklist step a search attempt by this method satisfies. */
export function searchStepKey(method: SearchMethod): string {
  return method === 'phone' ? 'search_phone' : method === 'system' ? 'search_system' : 'search_field';
}

/**
 * Every value incident_steps.how holds: the bot's own record (a report made through it, a search outcome),
 * the ways 上报上一级 / 通报检察院 are made (phone, written, system), the search methods, and how a
 * found subject was dealt with. Each has a label in the catalogue.
 */
export const STEP_HOWS = ['bot', 'phone', 'written', 'system', 'field', 'ordered_to_report', 'brought_back'] as const;
export type StepHow = (typeof STEP_HOWS)[number];

/** A search method on its own search step says nothing the step does not ("实地查访（实地）"). */
export function howRepeatsStep(stepKey: string, how: string | null): boolean {
  return (SEARCH_METHODS as readonly string[]).includes(how ?? '') && searchStepKey(how as SearchMethod) === stepKey;
}

/**
 * How a search ends (or turns): found and ordered to report, found and brought back, not found after
 * searching (report to the section), or it may lead to types 一/二/三 (notify the police station at once).
 */
export const ABSCONDING_OUTCOMES = ['found_ordered', 'found_brought_back', 'not_found', 'may_escalate'] as const;
export type AbscondingOutcome = (typeof ABSCONDING_OUTCOMES)[number];

export interface StepMark {
  key: string;
  state: Exclude<StepState, 'pending'>;
  how?: string;
  /** For not applicable: `condition:<name>` when a condition turned out not to hold. */
  naReason?: string;
}

/** The checklist marks an outcome makes; steps already decided are left as they are by the service. */
export function marksForAbscondingOutcome(outcome: AbscondingOutcome): StepMark[] {
  switch (outcome) {
    case 'found_ordered':
      return [
        { key: 'order_report_or_bring_back', state: 'done', how: 'ordered_to_report' },
        { key: 'report_section_not_found', state: 'not_applicable', naReason: 'condition:still_not_found' },
      ];
    case 'found_brought_back':
      return [
        { key: 'order_report_or_bring_back', state: 'done', how: 'brought_back' },
        { key: 'report_section_not_found', state: 'not_applicable', naReason: 'condition:still_not_found' },
      ];
    case 'not_found':
      return [{ key: 'report_section_not_found', state: 'done', how: 'bot' }];
    case 'may_escalate':
      return [{ key: 'notify_local_police', state: 'done', how: 'bot' }];
  }
}

/** A finding ends the search: the steps that only apply while still missing no longer do. */
export function isFoundOutcome(outcome: AbscondingOutcome): boolean {
  return outcome === 'found_ordered' || outcome === 'found_brought_back';
}

// ---------------------------------------------------------------------------------------------
// 外出: the results of a daily contact, and the dates an absence may have (the process: absence.ts).

export const CONTACT_RESULTS = ['reached', 'not_reached', 'abnormal'] as const;
export type ContactResult = (typeof CONTACT_RESULTS)[number];

export type AbsenceRefusal = 'ends_before_start' | 'ended_already' | 'too_long';

/**
 * The longest stay by default, in days. The bureau sets its own (policy `absence.maxDays`); this is
 * the value when it sets none.
 */
export const MAX_ABSENCE_DAYS = 92;

/**
 * Checks an absence's dates (YYYY-MM-DD, local): it must not end before it starts, nor be over already,
 * nor last longer than `maxDays` together with the `priorDays` of the stay it extends.
 */
export function checkAbsenceDates(startsOn: string, endsOn: string, today: string, maxDays: number = MAX_ABSENCE_DAYS, priorDays = 0): AbsenceRefusal | null {
  if (daysBetween(startsOn, endsOn) < 0) return 'ends_before_start';
  if (daysBetween(today, endsOn) < 0) return 'ended_already';
  if (priorDays + daysBetween(startsOn, endsOn) + 1 > maxDays) return 'too_long';
  return null;
}

// ---------------------------------------------------------------------------------------------
// Subjects whose status follows events: 外出, 脱管 and found, 解矫.

export const SUBJECT_STATUSES = ['active', 'away', 'absconded', 'terminated'] as const;
export type SubjectStatus = (typeof SUBJECT_STATUSES)[number];

export function isSubjectStatus(value: string): value is SubjectStatus {
  return (SUBJECT_STATUSES as readonly string[]).includes(value);
}

/**
 * The status an absence gives: `away` only while an approved absence covers today. Only active and away
 * move; a subject absconded or whose supervision ended keeps that status.
 */
export function statusFollowingAbsence(current: string, awayToday: boolean): string {
  if (current !== 'active' && current !== 'away') return current;
  return awayToday ? 'away' : 'active';
}

/** 脱管: the status an absconding report sets, and the one to go back to when found; null when it changes nothing. */
export function statusOnAbsconding(current: string): { status: 'absconded'; before: string } | null {
  if (current === 'absconded' || current === 'terminated') return null;
  return { status: 'absconded', before: current };
}

/**
 * Found (or the report was a false alarm): back to the status before, as the absences say it is today (an
 * absence may have ended meanwhile). Null when the subject is not absconded.
 */
export function statusOnFound(current: string, before: string | null, awayToday: boolean): string | null {
  if (current !== 'absconded') return null;
  return statusFollowingAbsence(before === 'away' || before === 'active' || before === null ? 'active' : before, awayToday);
}

/** Why supervision ended (解矫): served, died, revoked (收监), or moved to another county's supervision. */
export const TERMINATION_REASONS = ['completed', 'death', 'revoked', 'transferred_out', 'other'] as const;
export type TerminationReason = (typeof TERMINATION_REASONS)[number];

/** Playbook steps whose completion ends the subject's supervision (六, 七: terminated by the death procedure). */
export const TERMINATING_STEP_KEYS: readonly string[] = ['terminate_correction'];

// ---------------------------------------------------------------------------------------------
// Notices of subject and staff administration (outbox kinds; the renderers draw them).

export const ADMIN_NOTICE_KINDS = [
  /** 执行地变更: to the new office's head and the new responsible officer. */
  'subject_transferred',
  /** To the person made acting holder of a seat. */
  'acting_holder_set',
  /** To each acting holder when the holder's away period (我外出/休假) begins. */
  'standing_in',
] as const;
export type AdminNoticeKind = (typeof ADMIN_NOTICE_KINDS)[number];

/** Each HQ post is one person (the director and the deputy director by the plan); the command and the groups have members. */
export function isSingleHolderRole(role: IncidentRole): boolean {
  return isRolePost(role);
}
