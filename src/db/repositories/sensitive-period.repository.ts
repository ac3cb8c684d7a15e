/** 特殊敏感时间段 (sensitive_periods), and the type 十 incidents linked to them. */
import { and, asc, eq, gte, isNull, lte } from 'drizzle-orm';
import type { Executor } from '../client.js';
import { incidents, sensitivePeriods } from '../schema.js';

export type SensitivePeriodRow = typeof sensitivePeriods.$inferSelect;
export type NewSensitivePeriodRow = typeof sensitivePeriods.$inferInsert;

export async function insertSensitivePeriod(db: Executor, row: NewSensitivePeriodRow): Promise<SensitivePeriodRow> {
  const [inserted] = await db.insert(sensitivePeriods).values(row).returning();
  return inserted!;
}

export async function findSensitivePeriod(db: Executor, id: string): Promise<SensitivePeriodRow | undefined> {
  const [row] = await db.select().from(sensitivePeriods).where(eq(sensitivePeriods.id, id));
  return row;
}

export async function lockSensitivePeriod(db: Executor, id: string): Promise<SensitivePeriodRow | undefined> {
  const [row] = await db.select().from(sensitivePeriods).where(eq(sensitivePeriods.id, id)).for('update');
  return row;
}

export async function updateSensitivePeriod(db: Executor, id: string, patch: Partial<NewSensitivePeriodRow>): Promise<SensitivePeriodRow> {
  const [row] = await db.update(sensitivePeriods).set(patch).where(eq(sensitivePeriods.id, id)).returning();
  return row!;
}

/** Periods not removed that end on or after a local date, soonest first. */
export async function currentSensitivePeriods(db: Executor, fromDate: string): Promise<SensitivePeriodRow[]> {
  return db
    .select()
    .from(sensitivePeriods)
    .where(and(isNull(sensitivePeriods.removedAt), gte(sensitivePeriods.endsOn, fromDate)))
    .orderBy(asc(sensitivePeriods.startsOn), asc(sensitivePeriods.createdAt));
}

/** Periods not removed that cover a local date. */
export async function sensitivePeriodsCovering(db: Executor, date: string): Promise<SensitivePeriodRow[]> {
  return db
    .select()
    .from(sensitivePeriods)
    .where(and(isNull(sensitivePeriods.removedAt), lte(sensitivePeriods.startsOn, date), gte(sensitivePeriods.endsOn, date)));
}

/** Marks a period's reminder sent; false when another run did it first. */
export async function claimPeriodReminder(db: Executor, id: string, at: Date): Promise<boolean> {
  const rows = await db
    .update(sensitivePeriods)
    .set({ remindedAt: at })
    .where(and(eq(sensitivePeriods.id, id), isNull(sensitivePeriods.remindedAt), isNull(sensitivePeriods.removedAt)))
    .returning({ id: sensitivePeriods.id });
  return rows.length > 0;
}

/** Real incidents of a type not yet linked to any period (candidates for a period added after them). */
export async function unlinkedIncidentsOfType(db: Executor, type: string): Promise<Array<{ id: string; occurredAt: Date | null; discoveredAt: Date }>> {
  return db
    .select({ id: incidents.id, occurredAt: incidents.occurredAt, discoveredAt: incidents.discoveredAt })
    .from(incidents)
    .where(and(eq(incidents.type, type), isNull(incidents.sensitivePeriodId), eq(incidents.isDrill, false)));
}

/** Links an incident to a period, when it is not linked yet; false when it already was. */
export async function linkIncidentToPeriod(db: Executor, incidentId: string, periodId: string): Promise<boolean> {
  const rows = await db
    .update(incidents)
    .set({ sensitivePeriodId: periodId })
    .where(and(eq(incidents.id, incidentId), isNull(incidents.sensitivePeriodId)))
    .returning({ id: incidents.id });
  return rows.length > 0;
}
