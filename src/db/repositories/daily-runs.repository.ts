/**
 * The record of daily runs (daily_runs): schedulers do not replay a run missed while no worker was up,
 * so each run is written down, and a start after its time finds out whether today's happened.
 */
import { and, eq, max } from 'drizzle-orm';
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

/** The latest local date recorded for `kind` (run or missed), or null when it never ran. */
export async function lastDailyRunDate(db: Executor, kind: string): Promise<string | null> {
  const [row] = await db.select({ last: max(dailyRuns.localDate) }).from(dailyRuns).where(eq(dailyRuns.kind, kind));
  return row?.last ?? null;
}

/** Records days of `kind` as missed; returns the dates recorded now (a date already recorded is left as it is). */
export async function recordMissedDailyRuns(db: Executor, kind: string, localDates: readonly string[], at: Date): Promise<string[]> {
  if (localDates.length === 0) return [];
  const rows = await db
    .insert(dailyRuns)
    .values(localDates.map((localDate) => ({ kind, localDate, ranAt: at, missed: true })))
    .onConflictDoNothing()
    .returning({ localDate: dailyRuns.localDate });
  return rows.map((r) => r.localDate);
}
