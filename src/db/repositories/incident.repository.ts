import { and, asc, desc, eq, inArray, sql } from 'drizzle-orm';
import { OPEN_STATUSES, type StepInstance } from '../../domain/index.js';
import { UPPER_STEP, UPWARD_PHASES, type UpwardPhase } from '../../domain/upward-steps.js';
import type { Executor } from '../client.js';
import { auditLog, incidentCounters, incidentSteps, incidents, incidentUpdates, subjects, writtenReports } from '../schema.js';
import type { ClosingFacts } from '../../domain/closing.js';

export type IncidentRow = typeof incidents.$inferSelect;
export type NewIncidentRow = typeof incidents.$inferInsert;
export type StepRow = typeof incidentSteps.$inferSelect;
export type UpdateRow = typeof incidentUpdates.$inferSelect;

/** Next number of the year in a series (real incidents, or drills); the counter row is locked by the update until commit. */
export async function nextIncidentSeq(db: Executor, year: number, series: 'real' | 'drill' = 'real'): Promise<number> {
  const [row] = await db
    .insert(incidentCounters)
    .values({ year, series, last: 1 })
    .onConflictDoUpdate({ target: [incidentCounters.year, incidentCounters.series], set: { last: sql`${incidentCounters.last} + 1` } })
    .returning({ last: incidentCounters.last });
  return row!.last;
}

export async function insertIncident(db: Executor, row: NewIncidentRow): Promise<IncidentRow> {
  const [inserted] = await db.insert(incidents).values(row).returning();
  return inserted!;
}

export async function insertSteps(
  db: Executor,
  incidentId: string,
  steps: readonly (StepInstance & { doneByStaffId?: string | null; doneAt?: Date | null; how?: string | null })[],
): Promise<StepRow[]> {
  if (steps.length === 0) return [];
  return db
    .insert(incidentSteps)
    .values(
      steps.map((s) => ({
        incidentId,
        key: s.key,
        ordinal: s.ordinal,
        actor: s.actor,
        required: s.required,
        condition: s.condition,
        state: s.state,
        naReason: s.naReason,
        doneByStaffId: s.doneByStaffId ?? null,
        doneAt: s.doneAt ?? null,
        how: s.how ?? null,
      })),
    )
    .returning();
}

export async function findIncident(db: Executor, id: string): Promise<IncidentRow | undefined> {
  const [row] = await db.select().from(incidents).where(eq(incidents.id, id));
  return row;
}

/** The incident's id and number: what a log line names it by. */
export async function findIncidentRef(db: Executor, id: string): Promise<{ id: string; number: string } | undefined> {
  const [row] = await db.select({ id: incidents.id, number: incidents.number }).from(incidents).where(eq(incidents.id, id));
  return row;
}

/** Locks the incident row for the rest of the transaction, so concurrent changes serialise. */
export async function lockIncident(db: Executor, id: string): Promise<IncidentRow | undefined> {
  const [row] = await db.select().from(incidents).where(eq(incidents.id, id)).for('update');
  return row;
}

export async function findIncidentByNumber(db: Executor, number: string): Promise<IncidentRow | undefined> {
  const [row] = await db.select().from(incidents).where(eq(incidents.number, number));
  return row;
}

/** Applies a change and bumps the version, only if the row is still at the expected version. */
export async function updateIncident(db: Executor, id: string, patch: Partial<NewIncidentRow>, now: Date): Promise<IncidentRow> {
  const [row] = await db
    .update(incidents)
    .set({ ...patch, version: sql`${incidents.version} + 1`, updatedAt: now })
    .where(eq(incidents.id, id))
    .returning();
  return row!;
}

export async function stepsOf(db: Executor, incidentId: string): Promise<StepRow[]> {
  return db.select().from(incidentSteps).where(eq(incidentSteps.incidentId, incidentId)).orderBy(incidentSteps.ordinal);
}

/** What closing needs to know: the steps, and the subject's status now. */
export async function closingFacts(db: Executor, incident: { id: string; type: string; subjectId: string | null }): Promise<ClosingFacts> {
  const steps = await stepsOf(db, incident.id);
  const [subject] = incident.subjectId ? await db.select({ status: subjects.status }).from(subjects).where(eq(subjects.id, incident.subjectId)) : [];
  return { type: incident.type, steps, subjectStatus: subject?.status ?? null };
}

export async function updatesOf(db: Executor, incidentId: string, limit = 20): Promise<UpdateRow[]> {
  return db.select().from(incidentUpdates).where(eq(incidentUpdates.incidentId, incidentId)).orderBy(desc(incidentUpdates.at)).limit(limit);
}

/** Open incidents visible to an office (or all offices when officeUnitIds is undefined), newest first. */
export async function listIncidents(
  db: Executor,
  opts: { officeUnitIds?: string[]; statuses?: string[]; limit?: number; offset?: number; includeDrills?: boolean },
): Promise<IncidentRow[]> {
  const conds = [];
  if (opts.officeUnitIds) conds.push(inArray(incidents.officeUnitId, opts.officeUnitIds));
  if (opts.statuses) conds.push(inArray(incidents.status, opts.statuses));
  if (opts.includeDrills === false) conds.push(eq(incidents.isDrill, false));
  return db
    .select()
    .from(incidents)
    .where(conds.length ? and(...conds) : undefined)
    .orderBy(desc(incidents.reportedAt))
    .limit(opts.limit ?? 10)
    .offset(opts.offset ?? 0);
}

export type NewUpdateRow = typeof incidentUpdates.$inferInsert;

/** The incident a form's submission key reported, if it was submitted before. */
export async function findIncidentBySubmissionKey(db: Executor, submissionKey: string): Promise<IncidentRow | undefined> {
  const [row] = await db.select().from(incidents).where(eq(incidents.submissionKey, submissionKey));
  return row;
}

/** A checklist step by its key or by its ordinal. */
export type StepRef = { ordinal: number } | { key: string };

export async function findStep(db: Executor, incidentId: string, ref: StepRef): Promise<StepRow | undefined> {
  const which = 'key' in ref ? eq(incidentSteps.key, ref.key) : eq(incidentSteps.ordinal, ref.ordinal);
  const [row] = await db.select().from(incidentSteps).where(and(eq(incidentSteps.incidentId, incidentId), which));
  return row;
}

export async function updateStep(db: Executor, stepId: string, patch: Partial<StepRow>): Promise<StepRow> {
  const [row] = await db.update(incidentSteps).set(patch).where(eq(incidentSteps.id, stepId)).returning();
  return row!;
}

/** Changes the incident's step `key` only while it is in `state` (a step already moved on is left alone). */
export async function updateStepInState(db: Executor, incidentId: string, key: string, state: string, patch: Partial<StepRow>): Promise<void> {
  await db
    .update(incidentSteps)
    .set(patch)
    .where(and(eq(incidentSteps.incidentId, incidentId), eq(incidentSteps.key, key), eq(incidentSteps.state, state)));
}

/** Of these incidents, how many required steps each has still pending (incidents with none are left out). */
export async function pendingRequiredStepCounts(db: Executor, incidentIds: readonly string[]): Promise<Map<string, number>> {
  if (incidentIds.length === 0) return new Map();
  const rows = await db
    .select({ incidentId: incidentSteps.incidentId })
    .from(incidentSteps)
    .where(and(inArray(incidentSteps.incidentId, [...incidentIds]), eq(incidentSteps.required, true), eq(incidentSteps.state, 'pending')));
  const counts = new Map<string, number>();
  for (const r of rows) counts.set(r.incidentId, (counts.get(r.incidentId) ?? 0) + 1);
  return counts;
}

export async function insertIncidentUpdate(db: Executor, row: NewUpdateRow): Promise<UpdateRow> {
  const [inserted] = await db.insert(incidentUpdates).values(row).returning();
  return inserted!;
}

/** A page of open incidents (of one office, or all), newest first; the number breaks ties between reports of the same instant. */
export async function openIncidentsPage(db: Executor, opts: { officeUnitId?: string; limit: number; offset: number }): Promise<IncidentRow[]> {
  const conds = [inArray(incidents.status, [...OPEN_STATUSES])];
  if (opts.officeUnitId !== undefined) conds.push(eq(incidents.officeUnitId, opts.officeUnitId));
  return db
    .select()
    .from(incidents)
    .where(and(...conds))
    .orderBy(desc(incidents.reportedAt), desc(incidents.number))
    .limit(opts.limit)
    .offset(opts.offset);
}

/** Open real incidents (drills left out), oldest report first. */
export async function openRealIncidents(db: Executor): Promise<IncidentRow[]> {
  return db
    .select()
    .from(incidents)
    .where(and(inArray(incidents.status, [...OPEN_STATUSES]), eq(incidents.isDrill, false)))
    .orderBy(incidents.reportedAt);
}

/** Of these subjects, those with an open incident of this type. */
export async function subjectsWithOpenIncident(db: Executor, type: string, subjectIds: readonly string[]): Promise<Set<string>> {
  if (subjectIds.length === 0) return new Set();
  const rows = await db
    .select({ subjectId: incidents.subjectId })
    .from(incidents)
    .where(and(eq(incidents.type, type), inArray(incidents.status, [...OPEN_STATUSES]), inArray(incidents.subjectId, [...subjectIds])));
  return new Set(rows.flatMap((r) => (r.subjectId ? [r.subjectId] : [])));
}

/** Real incidents closed as resolved, with their written report's stage and due time (null before it is opened). */
export async function resolvedIncidentsWithReportStage(
  db: Executor,
): Promise<Array<{ number: string; closedAt: Date | null; policy: unknown; due: Date | null; stage: string | null }>> {
  return db
    .select({ number: incidents.number, closedAt: incidents.closedAt, policy: incidents.policy, due: writtenReports.dueAt, stage: writtenReports.stage })
    .from(incidents)
    .leftJoin(writtenReports, eq(writtenReports.incidentId, incidents.id))
    .where(and(eq(incidents.status, 'closed'), eq(incidents.closure, 'resolved'), eq(incidents.isDrill, false)));
}

/**
 * The phases of 上报上一级 already reported (首报 is the step's mark; 续报 and 终报 are entries of the
 * audit trail, `incident.upward_report`), oldest first.
 */
export async function upwardPhasesOf(db: Executor, incidentId: string): Promise<UpwardPhase[]> {
  const [step] = await db.select({ state: incidentSteps.state }).from(incidentSteps).where(and(eq(incidentSteps.incidentId, incidentId), eq(incidentSteps.key, UPPER_STEP)));
  const rows = await db
    .select({ data: auditLog.data })
    .from(auditLog)
    .where(and(eq(auditLog.incidentId, incidentId), eq(auditLog.action, 'incident.upward_report')))
    .orderBy(asc(auditLog.id));
  const later = rows.map((r) => (r.data as { phase?: unknown }).phase).filter((p): p is UpwardPhase => (UPWARD_PHASES as readonly unknown[]).includes(p));
  return [...(step?.state === 'done' ? (['first'] as UpwardPhase[]) : []), ...later];
}
