/**
 * Read-only counts for the operations surface (/metrics): pending timers and open incidents.
 * Counts only, never a subject's data.
 */
import { and, eq, inArray, min, sql } from 'drizzle-orm';
import { OPEN_STATUSES } from '../../domain/index.js';
import type { Executor } from '../client.js';
import { incidents, timers } from '../schema.js';

export interface PendingTimerStats {
  /** Pending timers by kind. */
  byKind: Array<{ kind: string; count: number }>;
  /** Due time of the oldest pending timer, or null when none is pending. */
  oldestDueAt: Date | null;
}

export async function pendingTimerStats(db: Executor): Promise<PendingTimerStats> {
  const [byKind, oldest] = await Promise.all([
    db
      .select({ kind: timers.kind, count: sql<number>`count(*)::int` })
      .from(timers)
      .where(eq(timers.state, 'pending'))
      .groupBy(timers.kind),
    db.select({ at: min(timers.dueAt) }).from(timers).where(eq(timers.state, 'pending')),
  ]);
  const at = oldest[0]?.at;
  return { byKind, oldestDueAt: at ? new Date(at) : null };
}

export async function openIncidentCounts(db: Executor): Promise<Array<{ type: string; isDrill: boolean; count: number }>> {
  return db
    .select({ type: incidents.type, isDrill: incidents.isDrill, count: sql<number>`count(*)::int` })
    .from(incidents)
    .where(and(inArray(incidents.status, [...OPEN_STATUSES])))
    .groupBy(incidents.type, incidents.isDrill);
}
