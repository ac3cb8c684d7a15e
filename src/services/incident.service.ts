/**
 * Incident use cases. Each is one transaction that writes the change, its audit entry, the timers it
 * creates or closes and the outbox rows for the chain; the dispatcher is told only after commit.
 */
import { eq } from 'drizzle-orm';
import type { Executor } from '../db/client.js';
import { appendAudit } from '../db/repositories/audit.repository.js';
import {
  findIncident,
  insertIncident,
  insertSteps,
  lockIncident,
  nextIncidentSeq,
  updateIncident,
  type IncidentRow,
  type StepRow,
} from '../db/repositories/incident.repository.js';
import { loadOrgSnapshot } from '../db/repositories/org.repository.js';
import { enqueueNotices, type NoticeDraft } from '../db/repositories/outbox.repository.js';
import { cancelTimers, insertTimers } from '../db/repositories/timer.repository.js';
import { subjects } from '../db/schema.js';
import {
  canAcknowledge,
  canReportIncident,
  canSeeOffice,
  criticalityOf,
  formatIncidentNumber,
  instantiatePlaybook,
  isLateReport,
  resolveTarget,
  targetsOnAcknowledge,
  targetsOnReport,
  timerKindsClosedBy,
  timersOnReport,
  toLocal,
  transition,
  type Actor,
  type EpidemicScenario,
  type EscalationPolicy,
  type IncidentStatus,
  type IncidentType,
  type NoticeKind,
  type OrgSnapshot,
  type TimerTarget,
} from '../domain/index.js';
import { ServiceRefusal } from './errors.js';
import { emptyChange, type CommittedChange, type ServiceDeps } from './ports.js';

export interface IncidentReport {
  type: IncidentType;
  scenario?: EpidemicScenario | null;
  subjectId?: string | null;
  subjectNote?: string | null;
  officeUnitId: string;
  occurredAt?: Date | null;
  discoveredAt: Date;
  place?: string | null;
  latitude?: number | null;
  longitude?: number | null;
  injured: number;
  dead: number;
  description: string;
  media?: Array<{ kind: string; fileId: string }>;
  isDrill?: boolean;
  atOffice?: boolean;
  otherCounties?: string[];
}

export interface ReportResult {
  incident: IncidentRow;
  steps: StepRow[];
  change: CommittedChange;
}

/** Writes notices for targets, one row per person, never to the person who caused them. */
export function noticesFor(
  org: OrgSnapshot,
  targets: readonly TimerTarget[],
  incident: Pick<IncidentRow, 'id' | 'officeUnitId' | 'reporterStaffId' | 'isDrill'>,
  kind: NoticeKind,
  keyPart: string,
  opts: { exclude?: string | null; params?: Record<string, unknown>; timerId?: string } = {},
): NoticeDraft[] {
  const ids = new Set<string>();
  for (const t of targets) {
    for (const id of resolveTarget(t, { officeUnitId: incident.officeUnitId, reporterStaffId: incident.reporterStaffId }, org)) ids.add(id);
  }
  if (opts.exclude) ids.delete(opts.exclude);
  return [...ids].map((recipientStaffId) => ({
    recipientStaffId,
    kind,
    incidentId: incident.id,
    dedupeKey: `${kind}-${incident.id}-${keyPart}-${recipientStaffId}`,
    params: opts.params ?? {},
    isDrill: incident.isDrill,
    timerId: opts.timerId ?? null,
  }));
}

/** 上报: the incident, its checklist, its timeline entry, its deadlines and its notices, all or nothing. */
export async function reportIncident(deps: ServiceDeps, actor: Actor, report: IncidentReport): Promise<ReportResult> {
  if (!canReportIncident(actor)) throw new ServiceRefusal('not_permitted');
  if (!canSeeOffice(actor, report.officeUnitId)) throw new ServiceRefusal('not_permitted', 'office');
  if (report.description.trim() === '') throw new ServiceRefusal('invalid_input', 'description');
  const now = deps.clock.now();
  const policy = await deps.policy();
  const criticality = criticalityOf(report.type, report.scenario ?? null);

  const result = await deps.db.transaction(async (tx) => {
    if (report.subjectId) {
      const [s] = await tx.select({ office: subjects.officeUnitId }).from(subjects).where(eq(subjects.id, report.subjectId));
      if (!s || !canSeeOffice(actor, s.office)) throw new ServiceRefusal('not_permitted', 'subject');
    }
    const year = toLocal(now, deps.timeZone).year;
    const seq = await nextIncidentSeq(tx, year);
    const incident = await insertIncident(tx, {
      number: formatIncidentNumber(year, seq),
      type: report.type,
      scenario: report.type === 'epidemic' ? (report.scenario ?? null) : null,
      criticality,
      subjectId: report.subjectId ?? null,
      subjectNote: report.subjectNote ?? null,
      officeUnitId: report.officeUnitId,
      reporterStaffId: actor.staffId,
      occurredAt: report.occurredAt ?? null,
      discoveredAt: report.discoveredAt,
      reportedAt: now,
      place: report.place ?? null,
      latitude: report.latitude ?? null,
      longitude: report.longitude ?? null,
      injured: report.injured,
      dead: report.dead,
      description: report.description,
      media: report.media ?? [],
      status: 'reported' satisfies IncidentStatus,
      isDrill: report.isDrill ?? false,
      lateReport: isLateReport(report.discoveredAt, now, policy),
      policy,
      lastProgressAt: now,
    });
    const checklist = instantiatePlaybook(report.type, report.scenario ?? null, {
      injured: report.injured,
      dead: report.dead,
      otherCounties: (report.otherCounties?.length ?? 0) > 0,
      ...(report.atOffice === undefined ? {} : { atOffice: report.atOffice }),
    });
    // Reporting through the bot is the report to the section (五(一)).
    const steps = await insertSteps(
      tx,
      incident.id,
      checklist.map((s) => (s.key === 'report_section' ? { ...s, state: 'done' as const, doneByStaffId: actor.staffId, doneAt: now, how: 'bot' } : s)),
    );
    const timers = await insertTimers(tx, timersOnReport({ id: incident.id, criticality, reportedAt: now }, policyOf(incident)), {
      isDrill: incident.isDrill,
    });
    const org = await loadOrgSnapshot(tx);
    const outbox = await enqueueNotices(tx, noticesFor(org, targetsOnReport(), incident, 'incident_reported', 'new', { exclude: actor.staffId }));
    await appendAudit(tx, {
      at: now,
      action: 'incident.reported',
      entity: 'incident',
      entityId: incident.id,
      incidentId: incident.id,
      actorStaffId: actor.staffId,
      data: {
        number: incident.number,
        type: incident.type,
        scenario: incident.scenario,
        subjectId: incident.subjectId,
        discoveredAt: incident.discoveredAt.toISOString(),
        lateReport: incident.lateReport,
        injured: incident.injured,
        dead: incident.dead,
        isDrill: incident.isDrill,
      },
    });
    return { incident, steps, change: { ...emptyChange(), timersCreated: timers, outboxCreated: outbox } };
  });
  await deps.dispatcher.afterCommit(result.change);
  return result;
}

export function policyOf(incident: Pick<IncidentRow, 'policy'>): EscalationPolicy {
  return incident.policy as EscalationPolicy;
}

/** Loads and locks an incident the actor may see, checking the card's version when one is given. */
export async function loadForChange(tx: Executor, actor: Actor, incidentId: string, expectedVersion?: number): Promise<IncidentRow> {
  const incident = await lockIncident(tx, incidentId);
  if (!incident) throw new ServiceRefusal('not_found');
  if (!canSeeOffice(actor, incident.officeUnitId)) throw new ServiceRefusal('not_permitted');
  if (expectedVersion !== undefined && incident.version !== expectedVersion) throw new ServiceRefusal('stale');
  return incident;
}

/** 签收: the section receives the report; closes the acknowledgement ladder, never the mandatory information. */
export async function acknowledgeIncident(deps: ServiceDeps, actor: Actor, incidentId: string, expectedVersion?: number): Promise<IncidentRow> {
  if (!canAcknowledge(actor)) throw new ServiceRefusal('not_permitted');
  const now = deps.clock.now();
  const { incident, change } = await deps.db.transaction(async (tx) => {
    const current = await loadForChange(tx, actor, incidentId, expectedVersion);
    if (current.status !== 'reported') throw new ServiceRefusal('already_done');
    const next = transition({ status: current.status as IncidentStatus, closure: null }, { kind: 'acknowledge' }, actor);
    const updated = await updateIncident(tx, incidentId, { status: next.status, acknowledgedAt: now, acknowledgedByStaffId: actor.staffId }, now);
    const cancelled = await cancelTimers(tx, { incidentId }, timerKindsClosedBy('acknowledged'), now);
    const org = await loadOrgSnapshot(tx);
    const outbox = await enqueueNotices(tx, noticesFor(org, targetsOnAcknowledge(), updated, 'incident_acknowledged', 'ack', { exclude: actor.staffId, params: { byStaffId: actor.staffId } }));
    await appendAudit(tx, {
      at: now,
      action: 'incident.acknowledged',
      entity: 'incident',
      entityId: incidentId,
      incidentId,
      actorStaffId: actor.staffId,
      data: { lateBySeconds: Math.max(0, Math.round((now.getTime() - current.reportedAt.getTime()) / 1000) - policyOf(current).ackSeconds[current.criticality as 'critical' | 'standard']) },
    });
    return { incident: updated, change: { ...emptyChange(), timersCancelled: cancelled, outboxCreated: outbox } };
  });
  await deps.dispatcher.afterCommit(change);
  return incident;
}

export async function getIncident(deps: Pick<ServiceDeps, 'db'>, actor: Actor, id: string): Promise<IncidentRow> {
  const incident = await findIncident(deps.db, id);
  if (!incident || !canSeeOffice(actor, incident.officeUnitId)) throw new ServiceRefusal('not_found');
  return incident;
}


