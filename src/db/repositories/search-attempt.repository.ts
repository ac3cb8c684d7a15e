/** Attempts to find an absconded subject (四(四)): method, result and time of each. */
import { eq } from 'drizzle-orm';
import type { Executor } from '../client.js';
import { searchAttempts } from '../schema.js';

export type SearchAttemptRow = typeof searchAttempts.$inferSelect;

export async function insertSearchAttempt(db: Executor, row: Omit<SearchAttemptRow, 'id'>): Promise<SearchAttemptRow> {
  const [inserted] = await db.insert(searchAttempts).values(row).returning();
  return inserted!;
}

/** An incident's search attempts, oldest first. */
export async function searchAttemptsOf(db: Executor, incidentId: string): Promise<SearchAttemptRow[]> {
  return db.select().from(searchAttempts).where(eq(searchAttempts.incidentId, incidentId)).orderBy(searchAttempts.at);
}
