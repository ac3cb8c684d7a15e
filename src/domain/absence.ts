/**
 * The absence (外出) as a process: a request, approved or not (with a reason) by the level the bureau
 * sets by length, the stay, and its end — 销假 (the return recorded), cancelled, or overdue (逾期未归)
 * with its chain. An extension (续假) is a new request linked to the absence it extends. Pure: dates are
 * local YYYY-MM-DD, instants are passed in.
 */
import type { ContactNoticeKind } from './daily-contact.js';
import { checkAbsenceDates, type AdminNoticeKind, type AbsenceRefusal } from './handling.js';
import type { NoticeKind } from './notifications.js';
import type { EscalationPolicy } from './policy.js';
import { canSeeOffice, isSection, keepsSubjectRecords, type Actor } from './roles.js';
import { addDays, addMs, atLocalTime, daysBetween } from './time.js';

export type AbsenceSettings = EscalationPolicy['absence'];

export const ABSENCE_REQUEST_STATES = ['requested', 'approved', 'rejected', 'withdrawn'] as const;
export type AbsenceRequestState = (typeof ABSENCE_REQUEST_STATES)[number];

/** Who decides a request: the office head, or the section (the county-level agency) for longer stays. */
export const APPROVER_LEVELS = ['office_head', 'section'] as const;
export type ApproverLevel = (typeof APPROVER_LEVELS)[number];

/** Days of a stay, both ends counted: 12-01 to 12-03 is 3 days. */
export function stayDays(startsOn: string, endsOn: string): number {
  return daysBetween(startsOn, endsOn) + 1;
}

/** The level that approves a stay of this many days in all (extensions add to the stay they extend). */
export function approverLevelFor(totalDays: number, settings: Pick<AbsenceSettings, 'officeHeadUpToDays'>): ApproverLevel {
  return totalDays <= settings.officeHeadUpToDays ? 'office_head' : 'section';
}

export type ExtensionRefusal = AbsenceRefusal | 'not_later' | 'not_extendable';

/** A request's dates against the bureau's longest stay; `priorDays`: the days of the stay it extends. */
export function checkRequestDates(startsOn: string, endsOn: string, today: string, settings: Pick<AbsenceSettings, 'maxDays'>, priorDays = 0): AbsenceRefusal | null {
  return checkAbsenceDates(startsOn, endsOn, today, settings.maxDays, priorDays);
}

/**
 * An extension runs from the day after the stay ends to a later end date. Only a stay not returned from
 * nor cancelled can be extended (an overdue one can: the subject asks to stay longer).
 */
export function checkExtension(
  stay: { startsOn: string; endsOn: string; returnedAt: Date | null; cancelledAt: Date | null },
  newEndsOn: string,
  today: string,
  settings: Pick<AbsenceSettings, 'maxDays'>,
  priorDays: number,
): ExtensionRefusal | null {
  if (stay.returnedAt || stay.cancelledAt) return 'not_extendable';
  if (daysBetween(stay.endsOn, newEndsOn) <= 0) return 'not_later';
  return checkAbsenceDates(addDays(stay.endsOn, 1), newEndsOn, today, settings.maxDays, priorDays);
}

/** Office staff and the section request, cancel and record the return of absences of the offices they see. */
export function mayKeepAbsences(actor: Actor, officeUnitId: string): boolean {
  return keepsSubjectRecords(actor) && canSeeOffice(actor, officeUnitId);
}

/**
 * Who decides a request: the office head of the subject's office (an acting office head included) at
 * their level, the section at its own; and the section at the office head's level too when the office has
 * no office head who can act (the request went to the section then). A decision by any other level is
 * refused.
 */
export function mayDecideAbsence(actor: Actor, level: ApproverLevel, officeUnitId: string, officeHeadCanAct: boolean): boolean {
  if (level === 'section') return isSection(actor);
  if (actor.unitId === officeUnitId && actor.positions.includes('office_head')) return true;
  return !officeHeadCanAct && isSection(actor);
}

// ---------------------------------------------------------------------------------------------
// The stay's phase on a day.

export const ABSENCE_PHASES = ['upcoming', 'away', 'overdue', 'returned', 'cancelled', 'ended'] as const;
export type AbsencePhase = (typeof ABSENCE_PHASES)[number];

export interface StayFacts {
  startsOn: string;
  endsOn: string;
  returnedAt: Date | null;
  cancelledAt: Date | null;
  /** Approved through the process (approved_at set): its end is watched. Older rows are not, and simply end. */
  tracked: boolean;
}

/** Where a stay is on a local date: not begun, away, past its end without 销假, or over. */
export function absencePhase(stay: StayFacts, today: string): AbsencePhase {
  if (stay.cancelledAt) return 'cancelled';
  if (stay.returnedAt) return 'returned';
  if (today < stay.startsOn) return 'upcoming';
  if (today <= stay.endsOn) return 'away';
  return stay.tracked ? 'overdue' : 'ended';
}

// ---------------------------------------------------------------------------------------------
// 逾期未归: the end date plus the bureau's grace without 销假 alerts the officer and the office head; a
// second period later the absconding report is offered; a third, the section is told.

export const ABSENCE_OVERDUE_TIMER = 'absence_overdue';

export const OVERDUE_LEVELS = { alert: 0, offer: 1, section: 2 } as const;

/** The three instants of the chain, counted from the end date's last moment (local midnight after it). */
export function overdueSchedule(endsOn: string, settings: Pick<AbsenceSettings, 'overdueAlertSeconds' | 'overdueOfferSeconds' | 'overdueSectionSeconds'>, tz: string): [Date, Date, Date] {
  const end = atLocalTime(addDays(endsOn, 1), '00:00', tz);
  const alert = addMs(end, settings.overdueAlertSeconds * 1000);
  const offer = addMs(alert, settings.overdueOfferSeconds * 1000);
  return [alert, offer, addMs(offer, settings.overdueSectionSeconds * 1000)];
}

/** The deterministic key of one level of a stay's chain; also the timer's job id (no `:`). */
export function overdueTimerKey(absenceId: string, level: number): string {
  return `${ABSENCE_OVERDUE_TIMER}-${absenceId}-${level}`;
}

export interface OverdueFacts {
  found: boolean;
  returned: boolean;
  cancelled: boolean;
  /** An approved extension of the stay, not cancelled: its own chain watches the new end. */
  extended: boolean;
  subjectStatus: string | undefined;
  /** An absconding incident is open for the subject: the search is on already. */
  abscondingOpen: boolean;
}

export type OverdueDecision =
  | { skip: string }
  | { notice: 'absence_overdue' | 'absconding_offer'; to: 'officer_and_head' }
  | { notice: 'absence_overdue_section'; to: 'section' };

/** What one level of the chain does when it falls due. */
export function decideOverdue(level: number, facts: OverdueFacts): OverdueDecision {
  if (!facts.found || facts.subjectStatus === undefined) return { skip: 'absence not found' };
  if (facts.cancelled) return { skip: 'absence cancelled' };
  if (facts.returned) return { skip: 'returned' };
  if (facts.extended) return { skip: 'extended' };
  if (facts.subjectStatus === 'terminated') return { skip: 'supervision ended' };
  if (facts.subjectStatus === 'absconded' || facts.abscondingOpen) return { skip: 'absconding reported' };
  if (level === OVERDUE_LEVELS.alert) return { notice: 'absence_overdue', to: 'officer_and_head' };
  if (level === OVERDUE_LEVELS.offer) return { notice: 'absconding_offer', to: 'officer_and_head' };
  return { notice: 'absence_overdue_section', to: 'section' };
}

// ---------------------------------------------------------------------------------------------
// The notices these processes write. They are outbox kinds like NOTICE_KINDS; the renderers draw them.

export const ABSENCE_NOTICE_KINDS = [
  /** To the approving level: a request to decide (批准 / 不批准). */
  'absence_requested',
  /** To the requester and the responsible officer. */
  'absence_approved',
  'absence_rejected',
  /** 逾期未归: to the responsible officer and the office head. */
  'absence_overdue',
  /** 逾期未归, a third period on: to the section. */
  'absence_overdue_section',
  /** 销假 after the chain had begun: to those it alerted. */
  'absence_returned',
  /** The prefilled absconding report offered (overdue, or days without a reached contact). */
  'absconding_offer',
] as const;
export type AbsenceNoticeKind = (typeof ABSENCE_NOTICE_KINDS)[number];

/** Every notice kind this work adds (absences, daily contact, administration). */
export type ProcessNoticeKind = AbsenceNoticeKind | ContactNoticeKind | AdminNoticeKind;

/**
 * A process notice kind as the outbox types it. The outbox column is text; the cast stands until
 * NOTICE_KINDS lists these kinds, which it does once their renderers exist.
 */
export function asNoticeKind(kind: ProcessNoticeKind): NoticeKind {
  return kind as string as NoticeKind;
}
