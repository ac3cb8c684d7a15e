/**
 * The reconciler and auditor. PostgreSQL holds every pending timer; the timers queue holds the near future:
 * one delayed job, with the timer's dedupe key as its id, per pending timer due within the horizon
 * (TIMER_QUEUE_HORIZON_MS, an hour). Timers due later wait in PostgreSQL and get their job at the pass that
 * finds them within the hour, a pass running at start and every minute. So a wiped store rebuilds only what
 * is near, and neither the rebuild nor the queue's memory grows with the number pending. An hour is many
 * passes: a timer is never late for want of one (the constructor refuses a horizon shorter than a few).
 * Each pass:
 * - a pending timer due within the horizon without a job gets one (same deterministic id) — one that has
 *   come within the horizon, or one whose job Redis lost (FLUSHALL, a restart without persistence), or
 *   one the dispatcher could not enqueue;
 * - a job without a pending timer is removed (its timer was cancelled while the queue was away); a job
 *   whose timer is pending but beyond the horizon (added earlier, or by a longer horizon) is kept;
 * - the drift is counted, logged and passed to the metrics hook: "pending" and "missing" count the timers
 *   within the horizon;
 * - a timer more than a minute past due is the dead man's switch: the section is alerted, once per timer
 *   (it is due already, so within any horizon).
 * It also puts back the daily job schedulers, which a wiped Redis loses too. One process at a time does
 * this (a PostgreSQL advisory lock); the others skip the run. A pass pages through both sides, a thousand
 * timers (soonest due first) and a thousand job ids at a time, each page in statements of its own: no
 * transaction spans the pass's reads, and memory does not grow with the number pending.
 *
 * A wiped Redis is not left to the next minute's pass: each pass leaves a mark in the queue store
 * (`StoreMark`), checked every second or so with one GET; when it is gone the store lost its data, and a
 * pass runs at once (10 000 timers are back within about two seconds). The PostgreSQL backend has no mark:
 * its jobs cannot vanish apart from the timer rows.
 */
import type { Database } from '../db/client.js';
import { RedisQueueBackend } from 'bullmq';
import { pendingTimerPage, pendingTimersById, stillPendingTimerIds, stillPendingTimerKeys, withReconcilerLock, type PendingTimer, type PendingTimerRef } from '../db/repositories/timer.repository.js';
import type { Clock } from '../domain/index.js';
import type { Logger } from '../logger.js';
import { jobIdOf } from './catalogue.js';
import { TIMER_QUEUE_HORIZON_MS, timerJob } from './dispatcher.js';
import type { JobCounters, JobMetricsHook, ReconcileDrift } from './metrics.js';
import type { AnyQueue, StoreMark } from './queue-backend.js';

/**
 * Pending timers, and job ids, read per page in a pass. Measured at 100,000 pending after a wipe
 * (bench/tools/reconciler-profile.ts): pages of 2,000 rebuild about a fifth faster than pages of 1,000, but
 * the process then peaks some 25 MB higher (twice the jobs on their way at once); memory is the tighter limit.
 */
const PENDING_PAGE = 1_000;

/** Pages of adds on their way to the queue at once. */
const ADDS_IN_FLIGHT = 2;

/** Where an orphan can wait: a job already running is left to find its timer closed. */
const ORPHAN_STATES = ['delayed', 'wait', 'prioritized'] as const;

/**
 * The horizon must span at least this many reconciliation intervals: a timer comes within it several passes
 * before it is due, so one or two passes that fail or run long still leave one in time.
 */
export const HORIZON_MIN_PASSES = 3;

/** A horizon too short for the passes that bring timers into it: timers could fall due before their job is added. */
export class TimerHorizonTooShort extends Error {
  override readonly name = 'TimerHorizonTooShort';
  constructor(
    readonly horizonMs: number,
    readonly reconcileEveryMs: number,
  ) {
    super(`the timer queue horizon (${horizonMs} ms) must be positive and at least ${HORIZON_MIN_PASSES} reconciliation intervals (${reconcileEveryMs} ms each)`);
  }
}

/** Refuses a horizon that is not positive, or shorter than HORIZON_MIN_PASSES passes (everyMs 0: passes only when asked). */
export function assertHorizonSpansPasses(horizonMs: number, everyMs: number): void {
  if (!(Number.isFinite(horizonMs) && horizonMs > 0) || (everyMs > 0 && horizonMs < HORIZON_MIN_PASSES * everyMs)) throw new TimerHorizonTooShort(horizonMs, everyMs);
}

/** A job id's standing: live (waiting, delayed, running), finished (kept after it ran: an add would be swallowed), or none. */
type JobPresence = 'live' | 'finished' | 'absent';

/** What is used of the ioredis pipeline under a BullMQ Redis queue. */
interface PresencePipeline {
  zmscore(key: string, ...members: string[]): PresencePipeline;
  exists(...keys: string[]): PresencePipeline;
  exec(): Promise<Array<[Error | null, unknown]> | null>;
}

/**
 * The standing of a page of job ids, in their order. On Redis, four commands for the page whatever its
 * size: the scores in the delayed, completed and failed sets, and how many of the job hashes exist; only a
 * page with jobs outside those sets (waiting, running) asks after each of them. A job's hash exists exactly
 * as long as the job does, so a hash outside the finished sets is a live job. Elsewhere, or with a client
 * that cannot pipeline these commands, BullMQ's own state lookup per id.
 */
async function presenceOf(q: AnyQueue, ids: readonly string[]): Promise<JobPresence[]> {
  if (ids.length === 0) return [];
  const backend: unknown = q.getBackend();
  const client = backend instanceof RedisQueueBackend ? ((await backend.client) as unknown as { pipeline?: () => Partial<PresencePipeline> }) : undefined;
  const probe = client?.pipeline?.();
  if (!probe || typeof probe.zmscore !== 'function' || typeof probe.exists !== 'function') {
    const out: JobPresence[] = [];
    for (let i = 0; i < ids.length; i += 100) {
      const states = await Promise.all(ids.slice(i, i + 100).map((id) => q.getJobState(id)));
      for (const st of states) out.push(st === 'completed' || st === 'failed' ? 'finished' : st === 'unknown' ? 'absent' : 'live');
    }
    return out;
  }
  const p = probe as PresencePipeline;
  const results = await p
    .zmscore(q.toKey('delayed'), ...ids)
    .zmscore(q.toKey('completed'), ...ids)
    .zmscore(q.toKey('failed'), ...ids)
    .exists(...ids.map((id) => q.toKey(id)))
    .exec();
  const [delayed, completed, failed, hashes] = (results ?? []).map(([err, v]) => {
    if (err) throw err;
    return v;
  }) as [Array<string | null>, Array<string | null>, Array<string | null>, number];
  const out = new Array<JobPresence>(ids.length);
  const rest: number[] = [];
  for (let k = 0; k < ids.length; k++) {
    if (delayed[k] !== null) out[k] = 'live';
    else if (completed[k] !== null || failed[k] !== null) out[k] = 'finished';
    else rest.push(k);
  }
  // No more hashes than delayed and finished jobs: the rest have none (after a wipe, every page). Should a
  // stale entry of a finished set hide a waiting job here, the job is added again, and the add is ignored.
  const accounted = ids.length - rest.length;
  if (rest.length === 0 || hashes <= accounted) {
    for (const k of rest) out[k] = 'absent';
    return out;
  }
  const each = client!.pipeline!() as PresencePipeline;
  for (const k of rest) each.exists(q.toKey(ids[k]!));
  const exist = (await each.exec()) ?? [];
  rest.forEach((k, i) => {
    const [err, v] = exist[i] ?? [null, 0];
    if (err) throw err;
    out[k] = v === 1 ? 'live' : 'absent';
  });
  return out;
}

export interface ReconcilerContext {
  db: Database;
  clock: Clock;
  queue: AnyQueue;
  logger: Logger;
  counters: JobCounters;
  metrics?: JobMetricsHook;
  /** Milliseconds between runs (60 000 in production). 0: only when asked. */
  everyMs: number;
  /** Milliseconds past due after which a pending timer raises the alert (60 000). */
  overdueAlertAfterMs: number;
  /** Key of the advisory lock that lets one process reconcile at a time. */
  lockName: string;
  /** Writes the alert to the section (timer.service alertOverdueTimers). */
  alertOverdue: (overdue: PendingTimer[]) => Promise<number>;
  /** Puts back what else lives only in the queue (job schedulers). */
  ensureSchedulers?: () => Promise<void>;
  /** Where the queue store can lose its jobs on its own (Redis): the mark a wipe takes away, and how often to look (ms). */
  wipeCheck?: { mark: StoreMark; everyMs: number };
  /** Told when a wipe was seen (the outbox relay restores the lost send jobs). */
  onWipe?: () => void;
  /** Pending timers read per page (default 1 000). */
  pageSize?: number;
  /** Only timers due within this many ms have a job (default TIMER_QUEUE_HORIZON_MS); at least HORIZON_MIN_PASSES × everyMs. */
  horizonMs?: number;
}

export type ReconcileReport = ReconcileDrift & { skipped?: 'locked' };

export class TimerReconciler {
  private timer: NodeJS.Timeout | undefined;
  private wipeTimer: NodeJS.Timeout | undefined;
  private checking = false;
  private running: Promise<ReconcileReport> | undefined;
  private stopped = true;

  private readonly horizonMs: number;

  constructor(private readonly ctx: ReconcilerContext) {
    this.horizonMs = ctx.horizonMs ?? TIMER_QUEUE_HORIZON_MS;
    assertHorizonSpansPasses(this.horizonMs, ctx.everyMs);
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.kick();
    if (this.ctx.everyMs > 0) {
      this.timer = setInterval(() => this.kick(), this.ctx.everyMs);
      this.timer.unref();
    }
    const wipe = this.ctx.wipeCheck;
    if (wipe && wipe.everyMs > 0) {
      this.wipeTimer = setInterval(() => void this.checkForWipe(wipe.mark), wipe.everyMs);
      this.wipeTimer.unref();
    }
  }

  stop(): Promise<unknown> {
    this.stopped = true;
    clearInterval(this.timer);
    clearInterval(this.wipeTimer);
    return this.running ?? Promise.resolve();
  }

  /** One GET: the mark gone means the store lost its jobs since the last pass — reconcile now. */
  private async checkForWipe(mark: StoreMark): Promise<void> {
    // A pass under way sets the mark itself (and may be the one that sees the wipe).
    if (this.stopped || this.checking || this.running) return;
    this.checking = true;
    try {
      if (await mark.present()) return;
      this.ctx.logger.warn('the queue store lost its data (reconciliation mark gone): rebuilding the timer jobs from PostgreSQL now');
      this.ctx.counters.wipesDetected++;
      this.ctx.onWipe?.();
      this.kick();
    } catch {
      // Redis unreachable: not a wipe (yet). Once it is back, a mark that did not survive says so.
    } finally {
      this.checking = false;
    }
  }

  private kick(): void {
    if (this.stopped) return;
    this.runOnce().catch((err: unknown) => this.ctx.logger.warn({ err }, 'timer reconciliation failed'));
  }

  /** One pass; concurrent calls share it. */
  runOnce(): Promise<ReconcileReport> {
    this.running ??= this.pass().finally(() => (this.running = undefined));
    return this.running;
  }

  private async pass(): Promise<ReconcileReport> {
    const { db, clock } = this.ctx;
    const now = clock.now();
    const outcome = await withReconcilerLock(db, this.ctx.lockName, () => this.sweep(now));
    if (!outcome.ran) return { at: now, pending: 0, missing: 0, orphaned: 0, overdue: 0, skipped: 'locked' };
    const { drift, alerted } = outcome.value;
    const c = this.ctx.counters;
    c.reconcileRuns++;
    c.timersRestored += drift.missing;
    c.orphansRemoved += drift.orphaned;
    c.overdueAlerts += alerted;
    c.lastDrift = drift;
    this.ctx.metrics?.reconcilerRan?.({ missing: drift.missing, orphaned: drift.orphaned });
    const log = drift.missing || drift.orphaned || drift.overdue ? this.ctx.logger.warn.bind(this.ctx.logger) : this.ctx.logger.debug.bind(this.ctx.logger);
    log({ drift, alerted }, 'timer reconciliation');
    return drift;
  }

  /**
   * Both sides a page at a time, each page its own statements: memory holds one page of timers and one of
   * job ids, whatever the number pending (100,000 open incidents are 100,000 of each).
   */
  private async sweep(now: Date): Promise<{ drift: ReconcileDrift; alerted: number }> {
    const { db, queue: q, clock } = this.ctx;
    // The mark goes in before the queue is read: a wipe from here on takes it away and brings another pass.
    await this.ctx.wipeCheck?.mark.set();
    if (this.ctx.ensureSchedulers) await this.ctx.ensureSchedulers().catch((err: unknown) => this.ctx.logger.warn({ err }, 'could not restore job schedulers'));
    const pageSize = Math.max(1, this.ctx.pageSize ?? PENDING_PAGE);

    // 1. Missing: a pending timer due within the horizon whose job is not live, soonest due first: after a
    // wipe the timers about to fall due have their jobs back first. The horizon is counted from the pass's
    // start; a timer that comes within it during the pass is the next pass's. The next page is read while
    // this one is looked up and its jobs added, and up to ADDS_IN_FLIGHT pages of adds are on their way:
    // PostgreSQL, this process and Redis work at once. Memory holds those few pages, whatever the number
    // pending.
    let pending = 0;
    let missingCount = 0;
    let overdue = 0;
    let alerted = 0;
    const overdueBefore = new Date(now.getTime() - this.ctx.overdueAlertAfterMs);
    const dueBefore = new Date(now.getTime() + this.horizonMs);
    const readPage = (after: PendingTimerRef | undefined) => {
      const read = pendingTimerPage(db, after, pageSize, overdueBefore, dueBefore);
      // Awaited in its turn; until then a failure must not count as an unhandled rejection.
      read.catch(() => undefined);
      return read;
    };
    const adding: Array<Promise<unknown>> = [];
    try {
      for (let next = readPage(undefined); ; ) {
        const page = await next;
        const full = page.length >= pageSize;
        if (full) next = readPage(page.at(-1));
        pending += page.length;
        const ids = page.map((t) => jobIdOf(t.dedupeKey));
        const presence = await presenceOf(q, ids);
        let missing: number[] = [];
        for (let k = 0; k < page.length; k++) if (presence[k] !== 'live') missing.push(k);
        if (missing.length) {
          // A timer that fired or was closed since the page was read is not missing.
          const stillIds = await stillPendingTimerIds(db, missing.map((k) => page[k]!.id));
          missing = missing.filter((k) => stillIds.has(page[k]!.id));
        }
        if (missing.length) {
          // A finished job with that id would swallow the add: remove it first.
          const finished = missing.filter((k) => presence[k] === 'finished');
          if (finished.length) await Promise.all(finished.map((k) => q.remove(ids[k]!).catch(() => 0)));
          // BullMQ counts a delay from when the job is added: each page reads the clock again, so a long pass
          // does not make the last restored timers late by its own length.
          const at = clock.now();
          const added = q.addBulk(missing.map((k) => timerJob(page[k]!, at)));
          added.catch(() => undefined);
          adding.push(added);
          if (adding.length >= ADDS_IN_FLIGHT) await adding.shift();
          missingCount += missing.length;
        }

        // Overdue, the dead man's switch: counted from when the timer could first have fired (a timer written
        // already due, by a late daily run, is not overdue at once). Its delayed job is promoted, and the
        // section alerted once per timer (the alert's dedupe key). Soonest first, they come in the first pages.
        const lateIds = page.filter((t) => t.overdue).map((t) => t.id);
        if (lateIds.length) {
          const late = await pendingTimersById(db, lateIds);
          overdue += late.length;
          for (let i = 0; i < late.length; i += 100) {
            await Promise.all(
              late.slice(i, i + 100).map(async (t) => {
                const job = await q.getJob(jobIdOf(t.dedupeKey));
                if (job && (await job.isDelayed())) await job.promote().catch(() => undefined);
              }),
            );
          }
          alerted += await this.ctx.alertOverdue(late);
        }
        if (!full) break;
      }
    } catch (err) {
      // The adds in flight settle before the pass gives up (and lets go of the lock).
      await Promise.allSettled(adding);
      throw err;
    }
    await Promise.all(adding);

    // 2. Orphans: a waiting or delayed job whose timer is no longer pending (cancelled while the queue was
    // away), a page of job ids at a time, each page checked against PostgreSQL. A pending timer's job is kept
    // wherever its due time lies: one beyond the horizon only came early, and fires on time. Jobs added or
    // fired meanwhile shift the ranges: an orphan missed here is found by the next pass, and a job seen
    // twice is harmless.
    let orphaned = 0;
    for (const state of ORPHAN_STATES) {
      for (let start = 0; ; ) {
        const ids = await q.getRanges([state], start, start + pageSize - 1, true);
        if (ids.length === 0) break;
        const keep = new Set((await stillPendingTimerKeys(db, ids)).map(jobIdOf));
        let removed = 0;
        for (const id of ids) {
          if (keep.has(id)) continue;
          removed += (await q.remove(id).catch(() => 0)) ? 1 : 0;
        }
        orphaned += removed;
        if (ids.length < pageSize) break;
        start += ids.length - removed;
      }
    }
    return { drift: { at: now, pending, missing: missingCount, orphaned, overdue }, alerted };
  }
}
