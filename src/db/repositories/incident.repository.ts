import { and, desc, eq, inArray, sql } from 'drizzle-orm';
import type { StepInstance } from '../../domain/index.js';
import type { Executor } from '../client.js';
import { incidentCounters, incidentSteps, incidents, incidentUpdates } from '../schema.js';

export type IncidentRow = typeof incidents.$inferSelect;
export type NewIncidentRow = typeof incidents.$inferInsert;
export type StepRow = typeof incidentSteps.$inferSelect;
export type UpdateRow = typeof incidentUpdates.$inferSelect;

/** Next number of the year, e.g. 2026-0042; the counter row is locked by the update until commit. */
export async function nextIncidentSeq(db: Executor, year: number): Promise<number> {
  const [row] = await db
    .insert(incidentCounters)
    .values({ year, last: 1 })
    .onConflictDoUpdate({ target: incidentCounters.year, set: { last: sql`${incidentCounters.last} + 1` } })
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
