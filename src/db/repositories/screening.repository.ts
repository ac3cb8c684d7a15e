/** Screening results (七(一)): one row per screening of a subject. */
import { desc, eq, lte } from 'drizzle-orm';
import type { Executor } from '../client.js';
import { screenings } from '../schema.js';

export type ScreeningRow = typeof screenings.$inferSelect;
export type NewScreeningRow = typeof screenings.$inferInsert;

export async function insertScreening(db: Executor, row: NewScreeningRow): Promise<ScreeningRow> {
  const [inserted] = await db.insert(screenings).values(row).returning();
  return inserted!;
}

export async function screeningsOf(db: Executor, subjectId: string, limit = 10): Promise<ScreeningRow[]> {
  return db.select().from(screenings).where(eq(screenings.subjectId, subjectId)).orderBy(desc(screenings.at)).limit(limit);
}

/**
 * Each subject's latest screening up to `now` (one dated later, from clock skew, waits its turn); of two
 * at the same instant, the one written last.
 */
export async function latestScreenings(db: Executor, now: Date): Promise<Array<{ screeningId: string; subjectId: string; result: string; at: Date; staffId: string }>> {
  return db
    .selectDistinctOn([screenings.subjectId], {
      screeningId: screenings.id,
      subjectId: screenings.subjectId,
      result: screenings.result,
      at: screenings.at,
      staffId: screenings.staffId,
    })
    .from(screenings)
    .where(lte(screenings.at, now))
    .orderBy(screenings.subjectId, desc(screenings.at), desc(screenings.id));
}
