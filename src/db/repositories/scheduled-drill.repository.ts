/** Drills scheduled ahead (scheduled_drills), and what the yearly reminder reads of the drills held. */
import { and, asc, eq, gte, inArray, lte } from 'drizzle-orm';
import type { Executor } from '../client.js';
import { drills, incidents, scheduledDrills } from '../schema.js';

export type ScheduledDrillRow = typeof scheduledDrills.$inferSelect;
export type NewScheduledDrillRow = typeof scheduledDrills.$inferInsert;

export async function insertScheduledDrill(db: Executor, row: NewScheduledDrillRow): Promise<ScheduledDrillRow> {
  const [inserted] = await db.insert(scheduledDrills).values(row).returning();
  return inserted!;
}

export async function findScheduledDrill(db: Executor, id: string): Promise<ScheduledDrillRow | undefined> {
  const [row] = await db.select().from(scheduledDrills).where(eq(scheduledDrills.id, id));
  return row;
}

/** Locks a scheduled drill for the rest of the transaction, so two runs never start it both. */
export async function lockScheduledDrill(db: Executor, id: string): Promise<ScheduledDrillRow | undefined> {
  const [row] = await db.select().from(scheduledDrills).where(eq(scheduledDrills.id, id)).for('update');
  return row;
}

export async function updateScheduledDrill(db: Executor, id: string, patch: Partial<NewScheduledDrillRow>): Promise<ScheduledDrillRow> {
  const [row] = await db.update(scheduledDrills).set(patch).where(eq(scheduledDrills.id, id)).returning();
  return row!;
}

/** Drills still to start (or whose start was begun), on or before a local date, oldest first. */
export async function scheduledDrillsDueBy(db: Executor, localDate: string): Promise<ScheduledDrillRow[]> {
  return db
    .select()
    .from(scheduledDrills)
    .where(and(inArray(scheduledDrills.state, ['scheduled', 'starting']), lte(scheduledDrills.drillDate, localDate)))
    .orderBy(asc(scheduledDrills.drillDate), asc(scheduledDrills.scheduledAt));
}

/** Drills scheduled for a local date or later and not cancelled nor started, soonest first. */
export async function upcomingScheduledDrills(db: Executor, fromDate: string, limit = 50): Promise<ScheduledDrillRow[]> {
  return db
    .select()
    .from(scheduledDrills)
    .where(and(inArray(scheduledDrills.state, ['scheduled', 'starting']), gte(scheduledDrills.drillDate, fromDate)))
    .orderBy(asc(scheduledDrills.drillDate), asc(scheduledDrills.scheduledAt))
    .limit(limit);
}

/** The offices of the drills started since an instant (the calendar year's first moment), with when each started. */
export async function drillsStartedSince(db: Executor, since: Date): Promise<Array<{ officeUnitId: string; startedAt: Date }>> {
  return db
    .select({ officeUnitId: incidents.officeUnitId, startedAt: drills.startedAt })
    .from(drills)
    .innerJoin(incidents, eq(incidents.id, drills.incidentId))
    .where(gte(drills.startedAt, since));
}
