/**
 * What a deadline does when it fires, as the plan has it: the thing it waited for has happened (skip,
 * with the reason) or it has not (these people get this notice). A pure decision over a context the
 * timer service loads; the locks, the claim of the timer row and the outbox rows stay in the service.
 * Times are milliseconds since the epoch.
 */
import { decideReceiptTimer } from './command-post.js';
import { decideAbscondingThreshold } from './sanctions.js';
import type { Criticality } from './incident-types.js';
import { isOpen, type IncidentStatus } from './incident-state.js';
import type { NoticeKind } from './notifications.js';
import type { EscalationPolicy, TimerKind } from './policy.js';
import type { PositionKind } from './roles.js';

export interface TimerFacts {
  kind: TimerKind;
  level: number;
  /** The progress cycle, or the local date of a contact check. */
  cycle: string | null;
  subjectId: string | null;
  /** The position the timer's target names, if it names one. */
  targetPosition: PositionKind | undefined;
}

/** What an incident's timer needs to know of the incident, loaded under its lock. */
export interface IncidentTimerContext {
  scope: 'incident';
  status: IncidentStatus;
  criticality: Criticality;
  /** 'false_alarm' when closed as 误报. */
  closure: string | null;
  policy: Pick<EscalationPolicy, 'upperReportSeconds' | 'writtenReportDueSeconds'>;
  reportedAtMs: number;
  lastProgressAtMs: number | null;
  closedAtMs: number | null;
  progressCycle: number;
  /** The 上报上一级 step's state, when the playbook has one. */
  upwardStep: 'pending' | 'done' | 'not_applicable' | undefined;
  /** Required steps still pending. */
  pendingRequiredSteps: number;
  writtenReport: { stage: string; dueAtMs: number | null } | undefined;
  /** Who the timer's target reaches now (holders, acting holders, the next level). */
  recipients: readonly string[];
  /** Who already had a message that told them about the incident. */
  informed: ReadonlySet<string>;
  /** A receipt deadline's message (the timer's cycle): its sender, and whether anyone receipted it. */
  commandMessage?: { fromStaffId: string; receipted: boolean } | undefined;
  /** 脱管: whether the subject was found (the step 责令报到 / 带回 marked). */
  subjectFound?: boolean | undefined;
}

/** What a daily-contact check needs to know of its subject on the check's date. */
export interface SubjectTimerContext {
  scope: 'subject';
  subject: { status: string; responsibleStaffId: string | null } | undefined;
  awayOnDate: boolean;
  contactLogged: boolean;
  recipients: readonly string[];
}

/** An incident timer whose incident is gone. */
export type TimerContext = IncidentTimerContext | SubjectTimerContext | { scope: 'missing' };

export type TimerDecision =
  | { skip: string }
  | { notice: NoticeKind; recipients: readonly string[]; params: Record<string, unknown> };

const skip = (reason: string): TimerDecision => ({ skip: reason });

/** The decision for a timer that fires at `nowMs`. */
export function decideTimer(timer: TimerFacts, ctx: TimerContext, nowMs: number): TimerDecision {
  if (ctx.scope === 'missing') return skip('incident not found');
  if (ctx.scope === 'subject') return decideContactCheck(timer, ctx);
  return decideIncidentTimer(timer, ctx, nowMs);
}

function decideIncidentTimer(timer: TimerFacts, ctx: IncidentTimerContext, nowMs: number): TimerDecision {
  const open = isOpen(ctx.status);
  const notify = (notice: NoticeKind, params: Record<string, unknown>, recipients: readonly string[] = ctx.recipients): TimerDecision => ({
    notice,
    recipients,
    params: { ...params, level: timer.level },
  });
  switch (timer.kind) {
    case 'ack': {
      if (ctx.status !== 'reported') return skip('already acknowledged');
      // Level 1 pages the deputy director about the section; level 2 the director about both.
      const notAcknowledgedBy: PositionKind[] = timer.level <= 1 ? ['section'] : ['section', 'deputy_director'];
      return notify('ack_escalation', { notAcknowledgedBy, since: iso(ctx.reportedAtMs) });
    }
    case 'inform': {
      // Mandatory information: every level must have been told, acknowledged or not. Whoever already had
      // a message about this incident has been told; the rest get one now.
      const fresh = ctx.recipients.filter((id) => !ctx.informed.has(id));
      return fresh.length ? notify('inform_level', { position: timer.targetPosition }, fresh) : skip('already informed');
    }
    case 'progress': {
      if (!open) return skip('incident closed');
      // A progress report closes these rows and opens the next cycle; this covers a job that fires anyway.
      if (ctx.progressCycle > Number(timer.cycle ?? '0')) return skip('progress reported');
      const last = iso(ctx.lastProgressAtMs ?? ctx.reportedAtMs);
      return notify(timer.level === 0 ? 'progress_reminder' : 'progress_escalation', { cycle: timer.cycle, last });
    }
    case 'upper_report': {
      if (!open) return skip('incident closed');
      if (ctx.upwardStep !== undefined && ctx.upwardStep !== 'pending') return skip('already reported upward');
      const due = iso(ctx.reportedAtMs + ctx.policy.upperReportSeconds[ctx.criticality] * 1000);
      return notify(timer.level === 0 ? 'upper_report_reminder' : 'upper_report_escalation', { due });
    }
    case 'steps_overdue': {
      if (!open) return skip('incident closed');
      if (ctx.pendingRequiredSteps === 0) return skip('steps complete');
      return notify(timer.level === 0 ? 'steps_overdue_reminder' : 'steps_overdue_escalation', { count: ctx.pendingRequiredSteps });
    }
    case 'written_report': {
      if (ctx.closure === 'false_alarm') return skip('no written report for a false alarm');
      if (ctx.status === 'report_submitted' || ctx.status === 'report_approved') return skip('report submitted');
      if (ctx.writtenReport && ctx.writtenReport.stage !== 'office') return skip('report submitted');
      const dueMs = ctx.writtenReport?.dueAtMs ?? (ctx.closedAtMs ?? nowMs) + ctx.policy.writtenReportDueSeconds * 1000;
      return notify(timer.level < 2 ? 'written_report_reminder' : 'written_report_escalation', { due: iso(dueMs) });
    }
    case 'contact_check':
      return skip('contact check without a subject');
    case 'command_receipt': {
      const d = decideReceiptTimer({ open, message: ctx.commandMessage, section: ctx.recipients });
      return 'skip' in d ? skip(d.skip) : notify('command_unreceipted', { updateId: timer.cycle }, d.recipients);
    }
    case 'absconding_threshold': {
      const d = decideAbscondingThreshold({ open, found: ctx.subjectFound ?? false });
      return 'skip' in d ? skip(d.skip) : notify('absconding_threshold', { thresholdSeconds: Number(timer.cycle ?? '0') });
    }
  }
}

function decideContactCheck(timer: TimerFacts, ctx: SubjectTimerContext): TimerDecision {
  if (timer.kind !== 'contact_check' || !timer.subjectId || !timer.cycle) return skip('timer without an incident');
  if (!ctx.subject) return skip('subject not found');
  if (ctx.subject.status === 'terminated') return skip('supervision ended');
  if (!ctx.awayOnDate) return skip('no longer away');
  if (ctx.contactLogged) return skip('contact logged');
  return {
    notice: timer.level === 0 ? 'contact_check_head' : 'contact_check_section',
    recipients: ctx.recipients,
    params: { date: timer.cycle, officerStaffId: ctx.subject.responsibleStaffId, level: timer.level },
  };
}

const iso = (ms: number): string => new Date(ms).toISOString();
