/** Drills (演练, 七(二)): one row per drill, with the incident it runs as and, once ended, its evaluation. */
import { desc, eq, isNull } from 'drizzle-orm';
import type { Executor } from '../client.js';
import { drills } from '../schema.js';

export type DrillRow = typeof drills.$inferSelect;
export type NewDrillRow = typeof drills.$inferInsert;

export async function insertDrill(db: Executor, row: NewDrillRow): Promise<DrillRow> {
  const [inserted] = await db.insert(drills).values(row).returning();
  return inserted!;
}

export async function findDrill(db: Executor, drillId: string): Promise<DrillRow | undefined> {
  const [row] = await db.select().from(drills).where(eq(drills.id, drillId));
  return row;
}

/** Locks a drill for the rest of the transaction, so it is ended once. */
export async function lockDrill(db: Executor, drillId: string): Promise<DrillRow | undefined> {
  const [row] = await db.select().from(drills).where(eq(drills.id, drillId)).for('update');
  return row;
}

export async function updateDrill(db: Executor, drillId: string, patch: Partial<NewDrillRow>): Promise<DrillRow> {
  const [row] = await db.update(drills).set(patch).where(eq(drills.id, drillId)).returning();
  return row!;
}

export async function drillForIncident(db: Executor, incidentId: string): Promise<DrillRow | undefined> {
  const [row] = await db.select().from(drills).where(eq(drills.incidentId, incidentId));
  return row;
}

/** Drills still running, newest first. */
export async function runningDrills(db: Executor): Promise<DrillRow[]> {
  return db.select().from(drills).where(isNull(drills.endedAt)).orderBy(desc(drills.startedAt));
}

export async function recentDrills(db: Executor, limit = 10): Promise<DrillRow[]> {
  return db.select().from(drills).orderBy(desc(drills.startedAt)).limit(limit);
}

export async function lastDrillAt(db: Executor): Promise<Date | null> {
  const [row] = await db.select({ at: drills.startedAt }).from(drills).orderBy(desc(drills.startedAt)).limit(1);
  return row?.at ?? null;
}
