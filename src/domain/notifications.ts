/**
 * Who must know (逐级报告): which positions a change is told to. The outbox turns each target into rows
 * for the people who hold those positions now (holder or acting holder).
 */
import type { TimerTarget } from './policy.js';
import { holdersOf, type PositionSeat, type StaffAvailability } from './roles.js';

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
  'screening_due',
  'role_assigned',
] as const;
export type NoticeKind = (typeof NOTICE_KINDS)[number];

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

/** A progress report (续报) goes to the section and the office head; leaders get it once they have been informed. */
export function targetsOnProgress(): TimerTarget[] {
  return [
    { kind: 'position', position: 'section', scope: 'bureau' },
    { kind: 'position', position: 'office_head', scope: 'office' },
    { kind: 'reporter' },
  ];
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
