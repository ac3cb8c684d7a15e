/**
 * What happens when a deadline fires. One transaction: lock what the timer waits on, decide whether the
 * thing waited for already happened, claim the timer row (only the caller that flips it from `pending`
 * acts, so a job delivered twice sends nothing twice), write the notices for the timer's target — the
 * holder, or the acting holder when the holder is away or unreachable, or the next level — and the audit
 * entry. The dispatcher is told after commit.
 */
import { z } from 'zod';
import type { Executor } from '../db/client.js';
import { appendAudit } from '../db/repositories/audit.repository.js';
import { findIncidentRef, lockIncident, stepsOf } from '../db/repositories/incident.repository.js';
import { loadOrgSnapshot } from '../db/repositories/org.repository.js';
import { enqueueNotices, type NoticeDraft } from '../db/repositories/outbox.repository.js';
import { findSubjectForCheck, findWrittenReportStage, hasContactOn, informedOf, isAwayOn } from '../db/repositories/timer-context.repository.js';
import { claimTimer, findTimer, type TimerRow } from '../db/repositories/timer.repository.js';
import { findCommandMessage, isReceipted } from '../db/repositories/command-post.repository.js';
import {
  decideTimer,
  resolveTarget,
  timerTarget,
  type Criticality,
  type IncidentStatus,
  type IncidentTimerContext,
  type NoticeKind,
  type OrgSnapshot,
  type SubjectTimerContext,
  type TimerDecision,
  type TimerFacts,
  type TimerKind,
  type TimerTarget,
} from '../domain/index.js';
import { FOUND_STEP_KEY } from '../domain/sanctions.js';
import { policyOf } from './incident.service.js';
import { draftsFor } from './notices.js';
import { emptyChange, type IncidentRef, type ServiceDeps } from './ports.js';

export type TimerOutcome =
  | { status: 'sent'; notices: number; outcome: string; incident?: IncidentRef }
  | { status: 'skipped'; reason: string; outcome: string; incident?: IncidentRef }
  /** Fired early (clock skew between machines): the job should wait until `dueAt`. */
  | { status: 'not_due'; dueAt: Date; outcome: string };

const targetSchema: z.ZodType<TimerTarget> = z.union([
  z.object({ kind: z.literal('reporter') }),
  z.object({ kind: z.literal('responsible_officer') }),
  z.object({
    kind: z.literal('position'),
    position: z.enum(['officer', 'office_head', 'section', 'deputy_director', 'director', 'upper_liaison', 'info_reviewer']),
    scope: z.enum(['office', 'bureau']),
  }),
]);

/** The timer's stored target, or the policy's when the row holds something unreadable. */
export function targetOf(row: Pick<TimerRow, 'target' | 'kind' | 'level'>): TimerTarget {
  const parsed = targetSchema.safeParse(row.target);
  return parsed.success ? parsed.data : timerTarget(row.kind as TimerKind, row.level);
}

interface Decision {
  /** Set when the thing waited for already happened: the timer closes without a message. */
  skip?: string;
  notices: NoticeDraft[];
}

/**
 * Fires one timer. Idempotent: a second call (a retried job, a job restored by the reconciler) finds the
 * row no longer pending and does nothing.
 */
export async function fireTimer(deps: ServiceDeps, timerId: string, opts: { earlyToleranceMs?: number } = {}): Promise<TimerOutcome> {
  const now = deps.clock.now();
  const row = await findTimer(deps.db, timerId);
  if (!row) return { status: 'skipped', reason: 'unknown timer', outcome: 'skipped: unknown timer' };
  if (row.state !== 'pending') return { status: 'skipped', reason: `already ${row.state}`, outcome: `skipped: already ${row.state}` };
  if (row.dueAt.getTime() - now.getTime() > (opts.earlyToleranceMs ?? 1000)) {
    return { status: 'not_due', dueAt: row.dueAt, outcome: 'not due yet' };
  }

  const incident = row.incidentId ? await findIncidentRef(deps.db, row.incidentId) : undefined;
  const ref = incident ? { incident } : {};
  const result = await deps.db.transaction(async (tx) => {
    const org = await loadOrgSnapshot(tx);
    const decision = row.incidentId ? await decideIncidentTimer(tx, row, org, now) : await decideSubjectTimer(tx, row, org, now);
    const outcome = decision.skip ? `skipped: ${decision.skip}` : 'sent';
    const claimed = await claimTimer(tx, row.id, now, outcome);
    if (!claimed) return { outcome: 'skipped: already fired', skipped: 'already fired', change: emptyChange(), notices: 0 };
    if (decision.skip) return { outcome, skipped: decision.skip, change: emptyChange(), notices: 0 };
    const created = await enqueueNotices(tx, decision.notices);
    await appendAudit(tx, {
      at: now,
      action: 'timer.fired',
      entity: 'timer',
      entityId: row.id,
      incidentId: row.incidentId,
      data: { kind: row.kind, level: row.level, cycle: row.cycle, subjectId: row.subjectId, dueAt: row.dueAt.toISOString(), recipients: decision.notices.map((n) => n.recipientStaffId) },
    });
    return { outcome, skipped: undefined, change: { ...emptyChange(), outboxCreated: created }, notices: created.length };
  });
  await deps.dispatcher.afterCommit(result.change);
  if (result.skipped !== undefined) return { status: 'skipped', reason: result.skipped, outcome: result.outcome, ...ref };
  return { status: 'sent', notices: result.notices, outcome: result.outcome, ...ref };
}

function factsOf(row: TimerRow): TimerFacts {
  const target = targetOf(row);
  return { kind: row.kind as TimerKind, level: row.level, cycle: row.cycle, subjectId: row.subjectId, targetPosition: target.kind === 'position' ? target.position : undefined };
}

/** Loads what the rule needs under the incident's lock, asks decideTimer, and writes its notices as drafts. */
async function decideIncidentTimer(tx: Executor, row: TimerRow, org: OrgSnapshot, now: Date): Promise<Decision> {
  const incident = await lockIncident(tx, row.incidentId!);
  const facts = factsOf(row);
  if (!incident) return asDrafts(decideTimer(facts, { scope: 'missing' }, now.getTime()), () => []);
  const target = targetOf(row);
  const recipients = resolveTarget(target, { officeUnitId: incident.officeUnitId, reporterStaffId: incident.reporterStaffId }, org);
  const steps = row.kind === 'upper_report' || row.kind === 'steps_overdue' || row.kind === 'absconding_threshold' ? await stepsOf(tx, incident.id) : [];
  const report = row.kind === 'written_report' ? await findWrittenReportStage(tx, incident.id) : undefined;
  const informed = row.kind === 'inform' ? await informedOf(tx, incident.id, recipients) : new Set<string>();
  const policy = policyOf(incident);
  // A receipt deadline's message is its cycle: who sent it, and whether anyone receipted it since.
  const message = row.kind === 'command_receipt' && row.cycle ? await findCommandMessage(tx, row.cycle) : undefined;
  const commandMessage = message ? { fromStaffId: message.fromStaffId, receipted: await isReceipted(tx, message.updateId) } : undefined;
  const ctx: IncidentTimerContext = {
    scope: 'incident',
    status: incident.status as IncidentStatus,
    criticality: incident.criticality as Criticality,
    closure: incident.closure,
    policy,
    reportedAtMs: incident.reportedAt.getTime(),
    lastProgressAtMs: incident.lastProgressAt?.getTime() ?? null,
    closedAtMs: incident.closedAt?.getTime() ?? null,
    progressCycle: incident.progressCycle,
    upwardStep: steps.find((s) => s.key === 'report_upward')?.state as IncidentTimerContext['upwardStep'],
    pendingRequiredSteps: steps.filter((s) => s.required && s.state === 'pending').length,
    writtenReport: report ? { stage: report.stage, dueAtMs: report.dueAt?.getTime() ?? null } : undefined,
    recipients,
    informed,
    commandMessage,
    subjectFound: steps.some((s) => s.key === FOUND_STEP_KEY && s.state === 'done'),
  };
  return asDrafts(decideTimer(facts, ctx, now.getTime()), (notice, ids, params) =>
    draftsFor(ids, incident, notice, row.dedupeKey, { params, timerId: row.id }),
  );
}

async function decideSubjectTimer(tx: Executor, row: TimerRow, org: OrgSnapshot, now: Date): Promise<Decision> {
  const facts = factsOf(row);
  const subject = row.subjectId ? await findSubjectForCheck(tx, row.subjectId) : undefined;
  const date = row.cycle;
  const ctx: SubjectTimerContext = {
    scope: 'subject',
    subject: subject ? { status: subject.status, responsibleStaffId: subject.responsibleStaffId } : undefined,
    awayOnDate: subject && date ? await isAwayOn(tx, subject.id, date) : false,
    contactLogged: subject && date ? await hasContactOn(tx, subject.id, date) : false,
    recipients: subject ? resolveTarget(targetOf(row), { officeUnitId: subject.officeUnitId, responsibleStaffId: subject.responsibleStaffId }, org) : [],
  };
  return asDrafts(decideTimer(facts, ctx, now.getTime()), (notice, ids, params) =>
    ids.map((recipientStaffId) => ({
      recipientStaffId,
      kind: notice,
      subjectId: row.subjectId,
      timerId: row.id,
      dedupeKey: `${notice}-${row.dedupeKey}-${recipientStaffId}`,
      params,
    })),
  );
}

function asDrafts(decision: TimerDecision, draft: (notice: NoticeKind, recipients: readonly string[], params: Record<string, unknown>) => NoticeDraft[]): Decision {
  if ('skip' in decision) return { skip: decision.skip, notices: [] };
  return { notices: draft(decision.notice, decision.recipients, decision.params) };
}

// ---------------------------------------------------------------------------------------------
// The dead man's switch: a timer still pending a while after it was due means the queue lost it or
// no worker runs. The section is told once per timer; the reconciler calls this.

export async function alertOverdueTimers(deps: ServiceDeps, overdue: ReadonlyArray<Pick<TimerRow, 'id' | 'kind' | 'dueAt' | 'incidentId' | 'subjectId' | 'isDrill'>>): Promise<number> {
  if (overdue.length === 0) return 0;
  const now = deps.clock.now();
  const created = await deps.db.transaction(async (tx) => {
    const org = await loadOrgSnapshot(tx);
    const section = resolveTarget({ kind: 'position', position: 'section', scope: 'bureau' }, { officeUnitId: null }, org);
    const drafts: NoticeDraft[] = overdue.flatMap((t) =>
      section.map((recipientStaffId) => ({
        recipientStaffId,
        kind: 'timer_overdue_alert' as const,
        incidentId: t.incidentId,
        subjectId: t.subjectId,
        dedupeKey: `timer_overdue_alert-${t.id}-${recipientStaffId}`,
        isDrill: t.isDrill,
        params: { timerId: t.id, timerKind: t.kind, due: t.dueAt.toISOString(), minutes: Math.max(1, Math.round((now.getTime() - t.dueAt.getTime()) / 60_000)) },
      })),
    );
    const rows = await enqueueNotices(tx, drafts);
    if (rows.length) {
      await appendAudit(tx, {
        at: now,
        action: 'timer.overdue_alert',
        entity: 'timer',
        data: { timerIds: [...new Set(rows.map((r) => (r.params as { timerId: string }).timerId))] },
      });
    }
    return rows;
  });
  await deps.dispatcher.afterCommit({ ...emptyChange(), outboxCreated: created });
  return created.length;
}

