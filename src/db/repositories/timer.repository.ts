import { and, eq, gt, inArray, lt, lte, sql } from 'drizzle-orm';
import type { TimerKind, TimerSpec } from '../../domain/index.js';
import type { Database, Executor } from '../client.js';
import { timers } from '../schema.js';

export type TimerRow = typeof timers.$inferSelect;

/** Writes deadlines as rows; a deadline already written (same dedupe key) is left as it is. */
export async function insertTimers(db: Executor, specs: readonly TimerSpec[], opts: { isDrill?: boolean } = {}): Promise<TimerRow[]> {
  if (specs.length === 0) return [];
  return db
    .insert(timers)
    .values(
      specs.map((t) => ({
        kind: t.kind,
        level: t.level,
        dueAt: t.dueAt,
        dedupeKey: t.dedupeKey,
        incidentId: t.incidentId ?? null,
        subjectId: t.subjectId ?? null,
        cycle: t.cycle ?? null,
        target: t.target,
        isDrill: opts.isDrill ?? false,
      })),
    )
    .onConflictDoNothing({ target: timers.dedupeKey })
    .returning();
}

/** Closes the pending timers of an incident (or subject) that an event satisfied; returns them so their jobs can be removed. */
export async function cancelTimers(
  db: Executor,
  owner: { incidentId?: string; subjectId?: string; cycle?: string },
  kinds: readonly TimerKind[],
  now: Date,
): Promise<TimerRow[]> {
  if (kinds.length === 0) return [];
  const conds = [eq(timers.state, 'pending'), inArray(timers.kind, [...kinds])];
  if (owner.incidentId) conds.push(eq(timers.incidentId, owner.incidentId));
  if (owner.subjectId) conds.push(eq(timers.subjectId, owner.subjectId));
  if (owner.cycle) conds.push(eq(timers.cycle, owner.cycle));
  if (!owner.incidentId && !owner.subjectId) throw new Error('cancelTimers needs an owner');
  return db.update(timers).set({ state: 'cancelled', cancelledAt: now }).where(and(...conds)).returning();
}

/** Marks a timer fired exactly once: only the caller that flips it from pending gets the row back. */
export async function claimTimer(db: Executor, id: string, now: Date, outcome: string): Promise<TimerRow | undefined> {
  const [row] = await db
    .update(timers)
    .set({ state: 'fired', firedAt: now, outcome })
    .where(and(eq(timers.id, id), eq(timers.state, 'pending')))
    .returning();
  return row;
}

export async function findTimer(db: Executor, id: string): Promise<TimerRow | undefined> {
  const [row] = await db.select().from(timers).where(eq(timers.id, id));
  return row;
}

export async function findTimerByKey(db: Executor, dedupeKey: string): Promise<TimerRow | undefined> {
  const [row] = await db.select().from(timers).where(eq(timers.dedupeKey, dedupeKey));
  return row;
}

export async function pendingTimers(db: Executor, opts: { incidentId?: string; dueBefore?: Date } = {}): Promise<TimerRow[]> {
  const conds = [eq(timers.state, 'pending')];
  if (opts.incidentId) conds.push(eq(timers.incidentId, opts.incidentId));
  if (opts.dueBefore) conds.push(lte(timers.dueAt, opts.dueBefore));
  return db.select().from(timers).where(and(...conds)).orderBy(timers.dueAt);
}

export async function countPendingTimers(db: Executor): Promise<number> {
  const [r] = await db.select({ n: sql<number>`count(*)::int` }).from(timers).where(eq(timers.state, 'pending'));
  return r?.n ?? 0;
}

/** What the overdue alert needs of a pending timer (timer.service alertOverdueTimers). */
const PENDING_COLUMNS = {
  id: timers.id,
  kind: timers.kind,
  dedupeKey: timers.dedupeKey,
  dueAt: timers.dueAt,
  createdAt: timers.createdAt,
  incidentId: timers.incidentId,
  subjectId: timers.subjectId,
  isDrill: timers.isDrill,
};
export type PendingTimer = Pick<TimerRow, keyof typeof PENDING_COLUMNS>;

/**
 * What a reconciliation pass reads of every pending timer within the horizon: its job (id, key, due) and
 * whether it is overdue. The rest of the row is read for the overdue ones only (`pendingTimersById`).
 */
export interface PendingTimerRef {
  id: string;
  dedupeKey: string;
  dueAt: Date;
  /** Could first have fired (the later of due and written) before `overdueBefore`. */
  overdue: boolean;
}

/**
 * One page of pending timers, soonest due first (ties by id), after the timer `after` (from the start when
 * undefined), and due before `dueBefore` when given (the queue's horizon). The page goes on from that timer's
 * own due time, read again here to the microsecond (a Date holds milliseconds: a cursor rounded to them could
 * read the same rows again, or never get past a page of timers due at one instant). Served by the partial
 * index on pending due times (timers_pending_due_idx), which also bounds the range.
 */
export async function pendingTimerPage(
  db: Executor,
  after: Pick<PendingTimerRef, 'id' | 'dueAt'> | undefined,
  limit: number,
  overdueBefore: Date,
  dueBefore?: Date,
): Promise<PendingTimerRef[]> {
  // Should the row be gone (timers are not deleted today), its due time to the millisecond.
  const from =
    after === undefined
      ? undefined
      : sql`(${timers.dueAt}, ${timers.id}) > (coalesce((select t.due_at from timers t where t.id = ${after.id}::uuid), ${after.dueAt.toISOString()}::timestamptz), ${after.id}::uuid)`;
  return db
    .select({
      id: timers.id,
      dedupeKey: timers.dedupeKey,
      dueAt: timers.dueAt,
      overdue: sql<boolean>`greatest(${timers.dueAt}, ${timers.createdAt}) < ${overdueBefore.toISOString()}::timestamptz`,
    })
    .from(timers)
    .where(and(eq(timers.state, 'pending'), dueBefore === undefined ? undefined : lt(timers.dueAt, dueBefore), from))
    .orderBy(timers.dueAt, timers.id)
    .limit(limit);
}

/** These timers as the overdue alert needs them, those still pending. */
export async function pendingTimersById(db: Executor, ids: readonly string[]): Promise<PendingTimer[]> {
  if (ids.length === 0) return [];
  return db
    .select(PENDING_COLUMNS)
    .from(timers)
    .where(and(sql`${timers.id} = any(${sql.param([...ids])}::uuid[])`, eq(timers.state, 'pending')))
    .orderBy(timers.dueAt, timers.id);
}

/** Of these timer ids, those still pending (one array parameter: a list of a thousand costs more to plan than to run). */
export async function stillPendingTimerIds(db: Executor, ids: readonly string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await db
    .select({ id: timers.id })
    .from(timers)
    .where(and(sql`${timers.id} = any(${sql.param([...ids])}::uuid[])`, eq(timers.state, 'pending')));
  return new Set(rows.map((r) => r.id));
}

/** Of these dedupe keys, those of timers still pending. */
export async function stillPendingTimerKeys(db: Executor, dedupeKeys: readonly string[]): Promise<string[]> {
  if (dedupeKeys.length === 0) return [];
  const rows = await db
    .select({ key: timers.dedupeKey })
    .from(timers)
    .where(and(sql`${timers.dedupeKey} = any(${sql.param([...dedupeKeys])}::text[])`, eq(timers.state, 'pending')));
  return rows.map((r) => r.key);
}

/**
 * Runs `run` while this process holds the named advisory lock, if no other session holds it; `ran: false`
 * when another process has it (one process at a time reconciles the timers; the others skip the run).
 *
 * The lock is held by a transaction that runs only `pg_try_advisory_xact_lock` and then waits: `run`'s own
 * statements go to the pool, each in its own short transaction, so the pass reads no single snapshot and the
 * waiting transaction holds no row lock, no transaction id and (READ COMMITTED) no snapshot that would keep
 * vacuum back. A session lock on a reserved connection would need no transaction at all, but postgres.js
 * 3.4.9 crashes the process when a query is written to a reserved connection that the server closed.
 */
export async function withReconcilerLock<T>(db: Database, lockName: string, run: () => Promise<T>): Promise<{ ran: true; value: T } | { ran: false }> {
  let done: { ran: true; value: T } | undefined;
  try {
    await db.transaction(async (tx) => {
      const [lock] = await tx.execute<{ locked: boolean }>(sql`select pg_try_advisory_xact_lock(hashtext(${lockName})) as locked`);
      if (lock?.locked === true) done = { ran: true, value: await run() };
    });
  } catch (err) {
    // The lock's connection broke after the pass had finished: the pass's work is done all the same.
    if (done) return done;
    throw err;
  }
  return done ?? { ran: false };
}
