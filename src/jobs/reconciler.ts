/**
 * The reconciler and auditor. PostgreSQL says which timers are pending; the timers queue should hold one
 * delayed job per pending timer, with the timer's dedupe key as its id. At start and every minute:
 * - a pending timer without a job gets one again (same deterministic id) — e.g. after Redis lost its
 *   data (FLUSHALL, a restart without persistence) or the dispatcher could not enqueue;
 * - a job without a pending timer is removed (its timer was cancelled while the queue was away);
 * - the drift is counted, logged and passed to the metrics hook;
 * - a timer more than a minute past due is the dead man's switch: the section is alerted, once per timer.
 * It also puts back the daily job schedulers, which a wiped Redis loses too. One process at a time does
 * this (a PostgreSQL advisory lock); the others skip the run.
 *
 * A wiped Redis is not left to the next minute's pass: each pass leaves a mark in the queue store
 * (`StoreMark`), checked every second or so with one GET; when it is gone the store lost its data, and a
 * pass runs at once (10 000 timers are back within about two seconds). The PostgreSQL backend has no mark:
 * its jobs cannot vanish apart from the timer rows.
 */
import type { Database } from '../db/client.js';
import { pendingTimerPage, stillPendingTimerIds, stillPendingTimerKeys, tryReconcilerLock, type PendingTimer } from '../db/repositories/timer.repository.js';
import type { Clock } from '../domain/index.js';
import type { Logger } from '../logger.js';
import { jobIdOf } from './catalogue.js';
import { timerJob } from './dispatcher.js';
import type { JobCounters, JobMetricsHook, ReconcileDrift } from './metrics.js';
import { LIVE_STATES } from './outbox-relay.js';
import type { AnyQueue, StoreMark } from './queue-backend.js';

/** Pending timers read per page in a pass. */
const PENDING_PAGE = 1_000;

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
}

export type ReconcileReport = ReconcileDrift & { skipped?: 'locked' };

export class TimerReconciler {
  private timer: NodeJS.Timeout | undefined;
  private wipeTimer: NodeJS.Timeout | undefined;
  private checking = false;
  private running: Promise<ReconcileReport> | undefined;
  private stopped = true;

  constructor(private readonly ctx: ReconcilerContext) {}

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
    const { db, queue: q, clock } = this.ctx;
    const report = await db.transaction(async (tx) => {
      const locked = await tryReconcilerLock(tx, this.ctx.lockName);
      const now = clock.now();
      if (!locked) return { at: now, pending: 0, missing: 0, orphaned: 0, overdue: 0, skipped: 'locked' as const, overdueRows: [] };

      // The mark goes in before the queue is read: a wipe from here on takes it away and brings another pass.
      await this.ctx.wipeCheck?.mark.set();
      if (this.ctx.ensureSchedulers) await this.ctx.ensureSchedulers().catch((err: unknown) => this.ctx.logger.warn({ err }, 'could not restore job schedulers'));

      const live = await q.getRanges([...LIVE_STATES], 0, -1);
      const liveSet = new Set(live);
      // Pending timers in pages, so a pass holds a thousand rows at a time, not every one (10,000 open
      // incidents are 10,000 rows), and only the columns it uses.
      const pageSize = Math.max(1, this.ctx.pageSize ?? PENDING_PAGE);
      const pendingJobIds = new Set<string>();
      const overdueRows: PendingTimer[] = [];
      let missingCount = 0;
      let finished: Set<string> | undefined;
      let after: string | undefined;
      for (;;) {
        const page = await pendingTimerPage(tx, after, pageSize);
        for (const t of page) pendingJobIds.add(jobIdOf(t.dedupeKey));

        // Missing: pending in PostgreSQL, no live job. A finished job with that id would swallow the add: remove it first.
        let missing = page.filter((t) => !liveSet.has(jobIdOf(t.dedupeKey)));
        if (missing.length) {
          // A timer that fired since the page was read is not missing.
          const stillIds = await stillPendingTimerIds(tx, missing.map((t) => t.id));
          missing = missing.filter((t) => stillIds.has(t.id));
        }
        if (missing.length) {
          finished ??= new Set(await q.getRanges(['completed', 'failed'], 0, -1));
          const done = finished;
          await Promise.all(missing.filter((t) => done.has(jobIdOf(t.dedupeKey))).map((t) => q.remove(jobIdOf(t.dedupeKey)).catch(() => 0)));
          // BullMQ counts a delay from when the job is added: each page reads the clock again, so a long pass
          // does not make the last restored timers late by its own length.
          await q.addBulk(missing.map((t) => timerJob(t, clock.now())));
          missingCount += missing.length;
        }

        // Overdue: counted from when the timer could first have fired: a timer written already due (a late daily run) is not overdue at once.
        overdueRows.push(...page.filter((t) => now.getTime() - Math.max(t.dueAt.getTime(), t.createdAt.getTime()) > this.ctx.overdueAlertAfterMs));
        if (page.length < pageSize) break;
        after = page.at(-1)!.id;
      }

      // Orphans: a waiting or delayed job whose timer is no longer pending (cancelled while the queue was away).
      const candidates = live.filter((id) => !pendingJobIds.has(id));
      let orphaned = 0;
      if (candidates.length) {
        const waiting = new Set(await q.getRanges(['delayed', 'wait', 'prioritized'], 0, -1));
        const keep = new Set((await stillPendingTimerKeys(tx, candidates)).map(jobIdOf));
        for (const id of candidates) {
          if (!waiting.has(id) || keep.has(id)) continue;
          orphaned += (await q.remove(id).catch(() => 0)) ? 1 : 0;
        }
      }

      // Overdue: the dead man's switch. A delayed job that should have run is promoted as well.
      for (let i = 0; i < overdueRows.length; i += 100) {
        await Promise.all(
          overdueRows.slice(i, i + 100).map(async (t) => {
            const job = await q.getJob(jobIdOf(t.dedupeKey));
            if (job && (await job.isDelayed())) await job.promote().catch(() => undefined);
          }),
        );
      }
      return { at: now, pending: pendingJobIds.size, missing: missingCount, orphaned, overdue: overdueRows.length, overdueRows };
    });

    if ('skipped' in report && report.skipped) return { at: report.at, pending: 0, missing: 0, orphaned: 0, overdue: 0, skipped: 'locked' };
    const alerted = report.overdueRows.length ? await this.ctx.alertOverdue(report.overdueRows) : 0;
    const drift: ReconcileDrift = { at: report.at, pending: report.pending, missing: report.missing, orphaned: report.orphaned, overdue: report.overdue };
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
}
