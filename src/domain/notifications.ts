/**
 * Who must know (逐级报告): which positions a change is told to. The outbox turns each target into rows
 * for the people who hold those positions now (holder or acting holder).
 */
import type { Criticality } from './incident-types.js';
import type { TimerTarget } from './policy.js';
import { holdersOf, nextInLine, type PositionKind, type PositionSeat, type StaffAvailability } from './roles.js';

/** The absence as a process, daily contact by days, administration: notices about a subject, or a seat. */
export const SUBJECT_NOTICE_KINDS = [
  'absence_requested',
  'absence_approved',
  'absence_rejected',
  'absence_overdue',
  'absconding_offer',
  'absence_overdue_section',
  'absence_returned',
  'contact_abnormal',
  'contact_missed_escalation',
  'subject_transferred',
  'acting_holder_set',
  'standing_in',
] as const;

/** The command loop (三): the plan activated, its response level changed (升级 / 降级), 批示/指令 down, 处置建议 up, a receipt, one nobody receipted. */
export const COMMAND_NOTICE_KINDS = ['plan_activated', 'level_changed', 'command_issued', 'proposal_sent', 'command_receipted', 'command_unreceipted'] as const;

/** Kinds of chain-of-command message; the catalogue has a text for each. */
export const NOTICE_KINDS = [
  'incident_reported',
  'incident_acknowledged',
  'progress_reported',
  'incident_closed',
  'ack_escalation',
  'inform_level',
  'progress_reminder',
  'progress_escalation',
  'upper_report_reminder',
  'upper_report_escalation',
  'steps_overdue_reminder',
  'steps_overdue_escalation',
  'written_report_reminder',
  'written_report_escalation',
  'contact_reminder',
  'contact_check_head',
  'contact_check_section',
  'absconding_suggestion',
  'missed_days',
  'timer_overdue_alert',
  'daily_digest',
  'report_review_requested',
  'report_returned',
  'report_approved',
  'release_review_requested',
  'release_returned',
  'drill_reminder',
  /** 特殊敏感时间段 ahead: each officer is asked to check their subjects before it starts. */
  'sensitive_period_reminder',
  'screening_due',
  'role_assigned',
  ...SUBJECT_NOTICE_KINDS,
  /** 查找未果，报管理科: the search for an absconding subject found nothing; the section decides. */
  'search_failed',
  /** 立即上报: the section forwarded the incident to this level at once, with a note (it informs that level). */
  'forwarded_up',
  /** 脱管 past one of the bureau's thresholds (24 h, 72 h…), the subject still not found: the section is told. */
  'absconding_threshold',
  /** Someone else changed the incident: the recipient's card is redrawn in place, nothing is sent. */
  'card_redraw',
  ...COMMAND_NOTICE_KINDS,
] as const;
export type NoticeKind = (typeof NOTICE_KINDS)[number];

/**
 * The notification rule: how a notice about an incident reaches a person.
 * - `card`: a change that needs no attention (签收 by someone else, a step, a role, a redraw). The
 *   person's one card of the incident is redrawn in place; without one, the card is sent.
 * - `event`: something that needs attention (a new report, an escalation, a reminder, a 续报 for those
 *   who must hear it, an assignment, closing). The card is brought up to date in place (or sent), then a
 *   short new message says what happened and what is expected, as a reply to the card, so the phone
 *   notifies and the card is one tap away. That message is never rewritten.
 * - `paper`: a written report or a release waiting for the person: a short new message with a button that
 *   opens the paper, which is always allowed.
 */
export type NoticeShape = 'card' | 'event' | 'paper';

const CARD_NOTICES: ReadonlySet<string> = new Set<NoticeKind>(['incident_acknowledged', 'card_redraw']);
const PAPER_NOTICES: ReadonlySet<string> = new Set<NoticeKind>([
  'written_report_reminder',
  'written_report_escalation',
  'report_review_requested',
  'report_returned',
  'report_approved',
  'release_review_requested',
  'release_returned',
]);

export function noticeShape(kind: string): NoticeShape {
  if (CARD_NOTICES.has(kind)) return 'card';
  if (PAPER_NOTICES.has(kind)) return 'paper';
  return 'event';
}

/**
 * Messages a notice takes in its chat's line: an event about an incident whose card the chat does not hold
 * drawn at its latest version first brings the card up to date (sent, or edited in place), then replies to
 * it; everything else is one message.
 */
export function chatMessagesOfNotice(n: { kind: string; aboutIncident: boolean; holdsCurrentCard: boolean }): 1 | 2 {
  if (!n.aboutIncident || n.kind === 'timer_overdue_alert') return 1;
  return noticeShape(n.kind) === 'event' && !n.holdsCurrentCard ? 2 : 1;
}

/**
 * A notice a deadline sent — an escalation, a reminder, an overdue-timer alert — goes out before routine
 * notices (a new report's fan-out, a digest) already waiting: a missed deadline must not queue behind them.
 */
export function isUrgentNotice(notice: { kind: string; timerId?: string | null | undefined }): boolean {
  return (notice.timerId !== undefined && notice.timerId !== null) || notice.kind === 'timer_overdue_alert';
}

/** Who hears of a new report at once: the section (the hub) and the head of the office, unless they reported it. */
export function targetsOnReport(): TimerTarget[] {
  return [
    { kind: 'position', position: 'section', scope: 'bureau' },
    { kind: 'position', position: 'office_head', scope: 'office' },
  ];
}

/** The leaders of the bureau (三(二): 总指挥 and 副总指挥 by default), who command the response. */
export function leaderTargets(): TimerTarget[] {
  return [
    { kind: 'position', position: 'deputy_director', scope: 'bureau' },
    { kind: 'position', position: 'director', scope: 'bureau' },
  ];
}

/** The criticalities whose 续报 reach the leaders when an incident's settings name none (a snapshot older than the setting). */
export const DEFAULT_PROGRESS_TO_LEADERS: readonly Criticality[] = ['critical'];

/**
 * Who a progress report (续报) goes to: the section, the office head and the reporter; and the leaders
 * too for the criticalities the bureau chose (`progressToLeaders`, by default critical). For the others,
 * the use case adds each leader already told of the incident, so nobody who knows of it goes stale.
 */
export function targetsOnProgress(criticality?: Criticality, progressToLeaders: readonly Criticality[] = DEFAULT_PROGRESS_TO_LEADERS): TimerTarget[] {
  return [
    { kind: 'position', position: 'section', scope: 'bureau' },
    { kind: 'position', position: 'office_head', scope: 'office' },
    { kind: 'reporter' },
    ...(criticality !== undefined && progressReachesLeaders(criticality, progressToLeaders) ? leaderTargets() : []),
  ];
}

export function progressReachesLeaders(criticality: Criticality, progressToLeaders: readonly Criticality[] = DEFAULT_PROGRESS_TO_LEADERS): boolean {
  return progressToLeaders.includes(criticality);
}

/**
 * 立即上报 (forward now): the section tells the next level of the line at once, with a note, instead of
 * waiting for the mandatory-information deadline. The levels, in order, and the deadline (the inform
 * timer's level) each one stands for.
 */
export const FORWARD_LEVELS: ReadonlyArray<{ position: 'deputy_director' | 'director'; informLevel: number }> = [
  { position: 'deputy_director', informLevel: 1 },
  { position: 'director', informLevel: 2 },
];

/**
 * The level 立即上报 goes to: the first whose people have not all been told of the incident yet
 * (`uninformed`: who of that level has not). Undefined when every level knows already.
 */
export function nextLevelToForward(uninformed: (position: 'deputy_director' | 'director') => readonly string[]): { position: 'deputy_director' | 'director'; recipients: readonly string[] } | undefined {
  for (const level of FORWARD_LEVELS) {
    const recipients = uninformed(level.position);
    if (recipients.length > 0) return { position: level.position, recipients };
  }
  return undefined;
}

/** Acknowledgement and closure are told to the reporter and the office head, and to the leaders already involved. */
export function targetsOnAcknowledge(): TimerTarget[] {
  return [{ kind: 'reporter' }, { kind: 'position', position: 'office_head', scope: 'office' }];
}

export function targetsOnClose(): TimerTarget[] {
  return [
    { kind: 'reporter' },
    { kind: 'position', position: 'office_head', scope: 'office' },
    { kind: 'position', position: 'section', scope: 'bureau' },
    { kind: 'position', position: 'deputy_director', scope: 'bureau' },
  ];
}


export interface OrgSnapshot {
  seats: readonly PositionSeat[];
  staff: ReadonlyMap<string, StaffAvailability>;
}

export interface TargetContext {
  officeUnitId: string | null;
  reporterStaffId?: string | null;
  responsibleStaffId?: string | null;
}

/**
 * Resolves a target to the people who get the message now. A position nobody can take (holder and acting
 * holder both away or unreachable) moves to the next level up, so a message is never silently dropped.
 */
export function resolveTarget(target: TimerTarget, ctx: TargetContext, org: OrgSnapshot): string[] {
  const available = (id: string | null | undefined) => {
    if (!id) return false;
    const s = org.staff.get(id);
    return !!s && s.active && s.reachable;
  };
  switch (target.kind) {
    case 'reporter':
      return available(ctx.reporterStaffId) ? [ctx.reporterStaffId!] : resolveTarget({ kind: 'position', position: 'office_head', scope: 'office' }, ctx, org);
    case 'responsible_officer':
      return available(ctx.responsibleStaffId) ? [ctx.responsibleStaffId!] : resolveTarget({ kind: 'position', position: 'office_head', scope: 'office' }, ctx, org);
    case 'position': {
      const unit = target.scope === 'office' ? (ctx.officeUnitId ?? undefined) : undefined;
      const ids = holdersOf(target.position, org.seats, org.staff, unit);
      if (ids.length > 0) return ids;
      const fallback = FALLBACK[target.position];
      return fallback ? resolveTarget({ kind: 'position', position: fallback, scope: 'bureau' }, ctx, org) : [];
    }
  }
}

const FALLBACK: Partial<Record<string, 'section' | 'deputy_director' | 'director'>> = {
  officer: 'section',
  office_head: 'section',
  section: 'deputy_director',
  deputy_director: 'director',
  info_reviewer: 'section',
};

// ---------------------------------------------------------------------------------------------
// Who stands in for someone who cannot receive a message.

/** Why a person could not receive a notice. */
export const UNRECEIVABLE_REASONS = ['no_chat', 'blocked', 'inactive', 'chat_not_found'] as const;
export type Unreceivable = (typeof UNRECEIVABLE_REASONS)[number];

/** One person a notice was tried for, and why it did not reach them. */
export interface TriedStaff {
  staffId: string;
  reason: Unreceivable;
}

export interface StandInOptions {
  /** People already tried who could not receive it: passed over, as if they held no seat. */
  failed?: ReadonlySet<string>;
  /** People who already have the notice (or a row on its way to them): a seat they fill is covered, and nobody else is added for it. */
  covered?: ReadonlySet<string>;
  /** Who may stand in at all. Default: active, not marked unreachable, not away. */
  candidate?: (s: StaffAvailability) => boolean;
}

const defaultCandidate = (s: StaffAvailability) => s.active && s.reachable && !s.away;

/**
 * Who receives a person's messages when they cannot: for each seat they hold, the seat's other holder
 * (the acting holder, or the holder when they were acting), else the next level of the reporting line.
 * Someone without a seat falls back to their office head, then the section. Returns only people not yet
 * covered; a level whose seats are all covered already counts as reached. Pure.
 */
export function standInsFor(staffId: string, unitId: string | null, org: OrgSnapshot, opts: StandInOptions = {}): string[] {
  const failed = opts.failed ?? new Set<string>();
  const covered = opts.covered ?? new Set<string>();
  const candidate = opts.candidate ?? defaultCandidate;
  const usable = (id: string | null): id is string => {
    if (!id || id === staffId || failed.has(id)) return false;
    const s = org.staff.get(id);
    return !!s && candidate(s);
  };
  const seatPerson = (seat: PositionSeat) => [seat.holderStaffId, seat.actingStaffId].find(usable);
  const out = new Set<string>();
  const add = (id: string) => {
    if (!covered.has(id)) out.add(id);
  };
  const upFrom = (kind: PositionKind | undefined, unit: string | undefined) => {
    for (let next = kind; next; next = nextInLine(next)) {
      const scoped = next === 'office_head' || next === 'officer' ? unit : undefined;
      const level = next;
      const ids = org.seats
        .filter((s) => s.kind === level && (scoped === undefined || s.unitId === scoped))
        .map(seatPerson)
        .filter((id): id is string => id !== undefined);
      if (ids.length) return ids.forEach(add);
    }
  };
  const seats: PositionSeat[] = org.seats.filter((s) => s.holderStaffId === staffId || s.actingStaffId === staffId);
  for (const seat of seats) {
    const other = [seat.holderStaffId, seat.actingStaffId].find(usable);
    if (other) add(other);
    else upFrom(nextInLine(seat.kind) ?? 'section', seat.unitId);
  }
  if (seats.length === 0) upFrom('office_head', unitId ?? undefined);
  return [...out];
}

export interface StandInWalk {
  /** Who gets the notice now: people who can receive it, found nearest first. */
  to: string[];
  /** Stand-ins passed over on the way because they cannot receive it either, with why. */
  passed: TriedStaff[];
}

/**
 * Walks the chain of stand-ins of someone who could not receive a notice, as a set: the holder, the
 * acting holders, the next level, the section, and up. Each person is visited once; a branch ends at
 * someone who can receive it, and goes on past someone who cannot (no chat, blocked, deactivated), who is
 * reported in `passed`. Away people are not stand-ins (their acting holder is). `failed` and `covered`
 * carry what earlier reroutes of the same notice found, so nobody is tried twice. An empty `to` means
 * nobody left can receive it. Pure.
 */
export function walkStandIns(
  from: string,
  org: OrgSnapshot,
  opts: {
    failed: ReadonlySet<string>;
    covered: ReadonlySet<string>;
    unitOf: (staffId: string) => string | null;
    /** Why this person cannot receive a message now, or null when they can. */
    cannotReceive: (staffId: string) => Unreceivable | null;
  },
): StandInWalk {
  const failed = new Set(opts.failed).add(from);
  const covered = new Set(opts.covered);
  const candidate = (s: StaffAvailability) => !s.away;
  const to: string[] = [];
  const passed: TriedStaff[] = [];
  let frontier = [from];
  while (frontier.length > 0) {
    const next: string[] = [];
    for (const x of frontier) {
      for (const y of standInsFor(x, opts.unitOf(x), org, { failed, covered, candidate })) {
        if (failed.has(y) || covered.has(y)) continue;
        const reason = opts.cannotReceive(y);
        if (reason) {
          failed.add(y);
          passed.push({ staffId: y, reason });
          next.push(y);
        } else {
          covered.add(y);
          to.push(y);
        }
      }
    }
    frontier = next;
  }
  return { to, passed };
}
