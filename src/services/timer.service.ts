/**
 * What happens when a deadline fires. One transaction: lock what the timer waits on, decide whether the
 * thing waited for already happened, claim the timer row (only the caller that flips it from `pending`
 * acts, so a job delivered twice sends nothing twice), write the notices for the timer's target — the
 * holder, or the acting holder when the holder is away or unreachable, or the next level — and the audit
 * entry. The dispatcher is told after commit.
 */
import { and, eq, inArray, ne } from 'drizzle-orm';
import { z } from 'zod';
import type { Executor } from '../db/client.js';
import { appendAudit } from '../db/repositories/audit.repository.js';
import { findIncidentRef, lockIncident, stepsOf } from '../db/repositories/incident.repository.js';
import { loadOrgSnapshot } from '../db/repositories/org.repository.js';
import { enqueueNotices, type NoticeDraft } from '../db/repositories/outbox.repository.js';
import { claimTimer, type TimerRow } from '../db/repositories/timer.repository.js';
import { absences, contactLogs, outbox, subjects, timers, writtenReports } from '../db/schema.js';
import {
  addMs,
  isOpen,
  resolveTarget,
  timerTarget,
  type Criticality,
  type IncidentStatus,
  type NoticeKind,
  type OrgSnapshot,
  type PositionKind,
  type TimerKind,
  type TimerTarget,
} from '../domain/index.js';
import { noticesFor, policyOf } from './incident.service.js';
import { emptyChange, type CommittedChange, type IncidentRef, type ServiceDeps } from './ports.js';

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

/** Kinds that tell a person about an incident: whoever had one of these has been informed. */
const INFORMING_KINDS: readonly NoticeKind[] = ['incident_reported', 'ack_escalation', 'inform_level'];

interface Decision {
  /** Set when the thing waited for already happened: the timer closes without a message. */
  skip?: string;
  notices: NoticeDraft[];
}

const skip = (reason: string): Decision => ({ skip: reason, notices: [] });

/**
 * Fires one timer. Idempotent: a second call (a retried job, a job restored by the reconciler) finds the
 * row no longer pending and does nothing.
 */
export async function fireTimer(deps: ServiceDeps, timerId: string, opts: { earlyToleranceMs?: number } = {}): Promise<TimerOutcome> {
  const now = deps.clock.now();
  const [row] = await deps.db.select().from(timers).where(eq(timers.id, timerId));
  if (!row) return { status: 'skipped', reason: 'unknown timer', outcome: 'skipped: unknown timer' };
  if (row.state !== 'pending') return { status: 'skipped', reason: `already ${row.state}`, outcome: `skipped: already ${row.state}` };
  if (row.dueAt.getTime() - now.getTime() > (opts.earlyToleranceMs ?? 1000)) {
    return { status: 'not_due', dueAt: row.dueAt, outcome: 'not due yet' };
  }

  const incident = row.incidentId ? await findIncidentRef(deps.db, row.incidentId) : undefined;
  const ref = incident ? { incident } : {};
  const result = await deps.db.transaction(async (tx) => {
    const org = await loadOrgSnapshot(tx);
    const decision = row.incidentId ? await decideIncidentTimer(tx, row, org, now) : await decideSubjectTimer(tx, row, org);
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


async function decideIncidentTimer(tx: Executor, row: TimerRow, org: OrgSnapshot, now: Date): Promise<Decision> {
  const incident = await lockIncident(tx, row.incidentId!);
  if (!incident) return skip('incident not found');
  const status = incident.status as IncidentStatus;
  const policy = policyOf(incident);
  const c = incident.criticality as Criticality;
  const kind = row.kind as TimerKind;
  const target = targetOf(row);
  const keyPart = row.dedupeKey;
  const notify = (notice: NoticeKind, params: Record<string, unknown>, targets: TimerTarget[] = [target]) =>
    noticesFor(org, targets, incident, notice, keyPart, { params: { ...params, level: row.level }, timerId: row.id });

  switch (kind) {
    case 'ack': {
      if (status !== 'reported') return skip('already acknowledged');
      // Level 1 pages the deputy director about the section; level 2 the director about both.
      const notAcknowledgedBy: PositionKind[] = row.level <= 1 ? ['section'] : ['section', 'deputy_director'];
      return { notices: notify('ack_escalation', { notAcknowledgedBy, since: incident.reportedAt.toISOString() }) };
    }
    case 'inform': {
      // Mandatory information: every level must have been told, acknowledged or not. Whoever already had
      // a message about this incident has been told; the rest get one now.
      const position = target.kind === 'position' ? target.position : undefined;
      const drafts = notify('inform_level', { position });
      const told = await alreadyInformed(tx, incident.id, drafts.map((d) => d.recipientStaffId));
      const fresh = drafts.filter((d) => !told.has(d.recipientStaffId));
      return fresh.length ? { notices: fresh } : skip('already informed');
    }
    case 'progress': {
      if (!isOpen(status)) return skip('incident closed');
      // The flows' progress report closes these rows and opens the next cycle; the cycle check covers a job that fires anyway.
      if (incident.progressCycle > Number(row.cycle ?? '0')) return skip('progress reported');
      const last = (incident.lastProgressAt ?? incident.reportedAt).toISOString();
      return { notices: notify(row.level === 0 ? 'progress_reminder' : 'progress_escalation', { cycle: row.cycle, last }) };
    }
    case 'upper_report': {
      if (!isOpen(status)) return skip('incident closed');
      const steps = await stepsOf(tx, incident.id);
      const upward = steps.find((s) => s.key === 'report_upward');
      if (upward && upward.state !== 'pending') return skip('already reported upward');
      const due = addMs(incident.reportedAt, policy.upperReportSeconds[c] * 1000).toISOString();
      return { notices: notify(row.level === 0 ? 'upper_report_reminder' : 'upper_report_escalation', { due }) };
    }
    case 'steps_overdue': {
      if (!isOpen(status)) return skip('incident closed');
      const pending = (await stepsOf(tx, incident.id)).filter((s) => s.required && s.state === 'pending');
      if (pending.length === 0) return skip('steps complete');
      return { notices: notify(row.level === 0 ? 'steps_overdue_reminder' : 'steps_overdue_escalation', { count: pending.length }) };
    }
    case 'written_report': {
      if (incident.closure === 'false_alarm') return skip('no written report for a false alarm');
      if (status === 'report_submitted' || status === 'report_approved') return skip('report submitted');
      const [report] = await tx.select().from(writtenReports).where(eq(writtenReports.incidentId, incident.id));
      if (report && report.stage !== 'office') return skip('report submitted');
      const due = (report?.dueAt ?? addMs(incident.closedAt ?? now, policy.writtenReportDueSeconds * 1000)).toISOString();
      return { notices: notify(row.level < 2 ? 'written_report_reminder' : 'written_report_escalation', { due }) };
    }
    case 'contact_check':
      return skip('contact check without a subject');
  }
}

/** Who of these already had a message that told them about the incident. */
async function alreadyInformed(tx: Executor, incidentId: string, staffIds: readonly string[]): Promise<Set<string>> {
  if (staffIds.length === 0) return new Set();
  const rows = await tx
    .select({ id: outbox.recipientStaffId })
    .from(outbox)
    .where(and(eq(outbox.incidentId, incidentId), inArray(outbox.recipientStaffId, [...staffIds]), inArray(outbox.kind, [...INFORMING_KINDS]), ne(outbox.status, 'dead')));
  return new Set(rows.map((r) => r.id));
}

async function decideSubjectTimer(tx: Executor, row: TimerRow, org: OrgSnapshot): Promise<Decision> {
  if (row.kind !== 'contact_check' || !row.subjectId || !row.cycle) return skip('timer without an incident');
  const date = row.cycle;
  const [subject] = await tx.select().from(subjects).where(eq(subjects.id, row.subjectId));
  if (!subject) return skip('subject not found');
  if (subject.status === 'terminated') return skip('supervision ended');
  const away = await tx
    .select({ id: absences.id, startsOn: absences.startsOn, endsOn: absences.endsOn, cancelledAt: absences.cancelledAt })
    .from(absences)
    .where(eq(absences.subjectId, subject.id));
  if (!away.some((a) => !a.cancelledAt && a.startsOn <= date && date <= a.endsOn)) return skip('no longer away');
  const [logged] = await tx
    .select({ id: contactLogs.id })
    .from(contactLogs)
    .where(and(eq(contactLogs.subjectId, subject.id), eq(contactLogs.localDate, date)))
    .limit(1);
  if (logged) return skip('contact logged');
  const recipients = resolveTarget(targetOf(row), { officeUnitId: subject.officeUnitId, responsibleStaffId: subject.responsibleStaffId }, org);
  const kind: NoticeKind = row.level === 0 ? 'contact_check_head' : 'contact_check_section';
  return {
    notices: recipients.map((recipientStaffId) => ({
      recipientStaffId,
      kind,
      subjectId: subject.id,
      timerId: row.id,
      dedupeKey: `${kind}-${row.dedupeKey}-${recipientStaffId}`,
      params: { date, officerStaffId: subject.responsibleStaffId, level: row.level },
    })),
  };
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

