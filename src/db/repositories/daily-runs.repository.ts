/**
 * The record of daily runs (daily_runs): schedulers do not replay a run missed while no worker was up,
 * so each run is written down, and a start after its time finds out whether today's happened.
 */
import { and, eq } from 'drizzle-orm';
import type { Executor } from '../client.js';
import { dailyRuns } from '../schema.js';

/** Records that `kind` ran for a local date; a second record of the same day changes nothing. */
export async function recordDailyRun(db: Executor, kind: string, localDate: string, at: Date): Promise<void> {
  await db.insert(dailyRuns).values({ kind, localDate, ranAt: at }).onConflictDoNothing();
}

/** Whether today's run of `kind` is late: its time (`dueAt`) has passed and none is recorded for the date. */
export async function isDailyRunLate(db: Executor, kind: string, localDate: string, dueAt: Date, now: Date): Promise<boolean> {
  if (dueAt > now) return false;
  const [ran] = await db.select({ d: dailyRuns.localDate }).from(dailyRuns).where(and(eq(dailyRuns.kind, kind), eq(dailyRuns.localDate, localDate)));
  return !ran;
}
