/**
 * Timer rows of the deadlines that are not an incident's: a stay's overdue chain, the day's contact watch,
 * a staff member's away period. The same `timers` table (the reconciler schedules and restores them like
 * any other), but kinds of their own, outside TIMER_KINDS: their decisions are not decideTimer's.
 */
import { and, eq, like } from 'drizzle-orm';
import type { Executor } from '../client.js';
import { timers } from '../schema.js';
import type { TimerRow } from './timer.repository.js';

export interface ProcessTimerSpec {
  kind: string;
  level: number;
  dueAt: Date;
  /** Deterministic, also the BullMQ job id: never `:`. */
  dedupeKey: string;
  subjectId?: string | null;
  /** The owner the kind is cancelled by: an absence id, a date, a staff id. */
  cycle: string;
  /** Ids the decision reads again when it fires. */
  target: Record<string, unknown>;
}

/** Writes deadlines as rows; one already written (same dedupe key) is left as it is. */
export async function insertProcessTimers(db: Executor, specs: readonly ProcessTimerSpec[]): Promise<TimerRow[]> {
  if (specs.length === 0) return [];
  return db
    .insert(timers)
    .values(
      specs.map((t) => ({
        kind: t.kind,
        level: t.level,
        dueAt: t.dueAt,
        dedupeKey: t.dedupeKey.replace(/:/g, '-'),
        subjectId: t.subjectId ?? null,
        cycle: t.cycle,
        target: t.target,
      })),
    )
    .onConflictDoNothing({ target: timers.dedupeKey })
    .returning();
}

/** Closes the pending timers of a kind for an owner (cycle), optionally one level or key prefix; returns them so their jobs can be removed. */
export async function cancelProcessTimers(db: Executor, kind: string, owner: { cycle?: string; subjectId?: string; keyPrefix?: string }, now: Date): Promise<TimerRow[]> {
  const conds = [eq(timers.state, 'pending'), eq(timers.kind, kind)];
  if (owner.cycle !== undefined) conds.push(eq(timers.cycle, owner.cycle));
  if (owner.subjectId !== undefined) conds.push(eq(timers.subjectId, owner.subjectId));
  if (owner.keyPrefix !== undefined) conds.push(like(timers.dedupeKey, `${owner.keyPrefix.replace(/[%_\\]/g, '\\$&')}%`));
  if (owner.cycle === undefined && owner.subjectId === undefined && owner.keyPrefix === undefined) throw new Error('cancelProcessTimers needs an owner');
  return db.update(timers).set({ state: 'cancelled', cancelledAt: now }).where(and(...conds)).returning();
}

/** Closes every pending timer of a subject, of any kind (解矫 ends every duty). */
export async function cancelAllSubjectTimers(db: Executor, subjectId: string, now: Date): Promise<TimerRow[]> {
  return db
    .update(timers)
    .set({ state: 'cancelled', cancelledAt: now })
    .where(and(eq(timers.state, 'pending'), eq(timers.subjectId, subjectId)))
    .returning();
}

/** The timers of a kind and cycle that fired (sent or skipped): what a chain already did. */
export async function firedProcessTimers(db: Executor, kind: string, cycle: string): Promise<TimerRow[]> {
  return db
    .select()
    .from(timers)
    .where(and(eq(timers.state, 'fired'), eq(timers.kind, kind), eq(timers.cycle, cycle)));
}
