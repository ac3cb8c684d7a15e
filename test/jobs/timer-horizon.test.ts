/**
 * The queue holds the near future: only a pending timer due within the horizon has a job. A later one
 * gets none when it is scheduled, and gets it at the first pass that finds it within the horizon; a wiped
 * Redis gets back exactly the timers within the horizon; an orphan is still removed, and a job of a
 * pending timer beyond the horizon (queued before, or by a longer horizon) is kept. A horizon shorter than
 * a few reconciliation passes is refused. Times are relative to now: nothing depends on the hour.
 */
import { randomUUID } from 'node:crypto';
import { eq, like, sql } from 'drizzle-orm';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { timers } from '../../src/db/schema.js';
import type { Clock } from '../../src/domain/index.js';
import { jobIdOf } from '../../src/jobs/catalogue.js';
import { timerJob, TIMER_QUEUE_HORIZON_MS } from '../../src/jobs/dispatcher.js';
import { createJobSystem, DEFAULT_TUNING, type QueueBackend } from '../../src/jobs/index.js';
import { createJobCounters } from '../../src/jobs/metrics.js';
import { assertHorizonSpansPasses, TimerHorizonTooShort, TimerReconciler } from '../../src/jobs/reconciler.js';
import { createLogger } from '../../src/logger.js';
import { startHarness, startThrowawayRedis, waitFor, type Harness } from './harness.js';

const MINUTE = 60_000;
/** Ten minutes: far shorter than the real hour, so a test can step its clock past it. */
const HORIZON = 10 * MINUTE;

let redis: Awaited<ReturnType<typeof startThrowawayRedis>>;
let h: Harness;

beforeAll(async () => {
  redis = await startThrowawayRedis();
  // No workers (no timer fires) and no passes of its own: each test runs the passes it needs.
  h = await startHarness({ backend: 'redis', redisUrl: redis.url, workers: false, tuning: { reconcileEveryMs: 0, wipeCheckEveryMs: 0, timerHorizonMs: HORIZON } });
}, 30_000);
afterAll(async () => {
  await h?.close();
  await redis?.stop();
});

/** Pending timers of no incident, due `inMs[i]` from now, under a prefix of their own. */
async function writeTimers(prefix: string, inMs: readonly number[]) {
  const now = Date.now();
  return h.t.db
    .insert(timers)
    .values(inMs.map((ms, i) => ({ kind: 'progress', level: 0, dueAt: new Date(now + ms), dedupeKey: `${prefix}-${i}`, target: { kind: 'reporter' } })))
    .returning({ id: timers.id, dedupeKey: timers.dedupeKey, dueAt: timers.dueAt });
}

const closeTimers = (prefix: string) => h.t.db.update(timers).set({ state: 'cancelled', cancelledAt: new Date() }).where(like(timers.dedupeKey, `${prefix}-%`));

/** A reconciler on the harness's queue with its own clock (`aheadMs` past the real one) and the test's horizon. */
function reconcilerAt(aheadMs: number, alerts: { n: number } = { n: 0 }) {
  const clock: Clock = { now: () => new Date(Date.now() + aheadMs) };
  return new TimerReconciler({
    db: h.t.db,
    clock,
    queue: h.jobs.queues.timers,
    logger: createLogger('silent'),
    counters: createJobCounters(),
    everyMs: 0,
    horizonMs: HORIZON,
    overdueAlertAfterMs: MINUTE,
    lockName: `test:horizon-${randomUUID().slice(0, 8)}`,
    alertOverdue: async (rows) => (alerts.n += rows.length),
  });
}

const hasJob = async (key: string) => (await h.jobs.queues.timers.getJob(jobIdOf(key))) !== undefined;
const liveJobIds = async () => new Set(await h.jobs.queues.timers.getRanges(['delayed', 'wait', 'active', 'prioritized'], 0, -1));

describe('the timer queue horizon', { shuffle: false }, () => {
  it('schedules only the timers due within the horizon; a pass adds a later one once it has come within it', async () => {
    const prefix = `near-far-${randomUUID().slice(0, 8)}`;
    const [near, far] = await writeTimers(prefix, [5 * MINUTE, 30 * MINUTE]);
    try {
      await h.jobs.dispatcher.scheduleTimers([near!, far!]);
      expect(await hasJob(near!.dedupeKey)).toBe(true);
      expect(await hasJob(far!.dedupeKey), 'beyond the horizon: no job yet').toBe(false);

      // A pass now (the real clock) leaves the far one in PostgreSQL: it is not missing.
      const first = await reconcilerAt(0).runOnce();
      expect(await hasJob(far!.dedupeKey)).toBe(false);
      expect(first.missing).toBe(0);

      // Twenty-five minutes on, the far timer is due in five: within the horizon, and the pass adds it.
      const later = await reconcilerAt(25 * MINUTE).runOnce();
      expect(later.missing).toBe(1);
      const job = await h.jobs.queues.timers.getJob(jobIdOf(far!.dedupeKey));
      expect(job).toBeDefined();
      expect(await job!.getState()).toBe('delayed');
      expect(job!.data).toEqual({ timerId: far!.id });
      // Another pass finds nothing missing.
      expect((await reconcilerAt(25 * MINUTE).runOnce()).missing).toBe(0);
    } finally {
      await closeTimers(prefix);
      await reconcilerAt(0).runOnce();
    }
  });

  it('on real time, the periodic pass adds a timer as it comes within the horizon, delayed until it is due', async () => {
    // A horizon of 1.5 s and a pass every 400 ms (the least the guard allows is three passes): the timer,
    // due in 4 s, is beyond the horizon when scheduled and gets its job from a pass before it is due.
    const t = await startHarness({
      backend: 'redis',
      redisUrl: redis.url,
      db: h.t,
      org: h.org,
      api: h.api,
      workers: false,
      tuning: { reconcileEveryMs: 400, wipeCheckEveryMs: 0, timerHorizonMs: 1_500 },
    });
    const prefix = `real-${randomUUID().slice(0, 8)}`;
    try {
      const [row] = await writeTimers(prefix, [4_000]);
      await t.jobs.dispatcher.scheduleTimers([row!]);
      expect(await t.jobs.queues.timers.getJob(jobIdOf(row!.dedupeKey))).toBeUndefined();
      // Only the daily queue's worker: the reconciler runs, the timer does not fire.
      await t.jobs.startWorkers({ schedulers: false, catchUp: false, queues: ['daily'] });
      const job = await waitFor(async () => (await t.jobs.queues.timers.getJob(jobIdOf(row!.dedupeKey))) ?? undefined, { timeoutMs: 5_000, everyMs: 50, what: 'the pass to add the job' });
      const addedAt = Date.now();
      expect(addedAt, 'added before the timer is due').toBeLessThan(row!.dueAt.getTime());
      expect(row!.dueAt.getTime() - job.timestamp, 'added once within the horizon, not before').toBeLessThanOrEqual(1_500);
      expect(job.timestamp + job.opts.delay!).toBeGreaterThanOrEqual(row!.dueAt.getTime() - 50);
      expect(job.timestamp + job.opts.delay!).toBeLessThanOrEqual(row!.dueAt.getTime() + 50);
    } finally {
      await closeTimers(prefix);
      await t.close();
    }
  });

  it('a wiped Redis gets back exactly the pending timers within the horizon', async () => {
    const prefix = `wipe-${randomUUID().slice(0, 8)}`;
    // Due from one minute to an hour ahead, half of them within the ten-minute horizon.
    const rows = await writeTimers(prefix, Array.from({ length: 40 }, (_, i) => MINUTE + i * 15_000 + (i >= 20 ? 5 * MINUTE : 0)));
    try {
      await h.jobs.dispatcher.scheduleTimers(rows);
      const admin = new Redis(redis.url);
      await admin.flushall();
      admin.disconnect();

      const drift = await h.jobs.reconcile();
      const within = await h.t.db
        .select({ key: timers.dedupeKey })
        .from(timers)
        .where(sql`${timers.state} = 'pending' and ${timers.dueAt} < ${new Date(drift.at.getTime() + HORIZON).toISOString()}::timestamptz`);
      const mine = rows.filter((r) => r.dueAt.getTime() < drift.at.getTime() + HORIZON);
      expect(mine.length).toBe(20);
      expect(drift).toMatchObject({ pending: within.length, missing: within.length, orphaned: 0 });
      expect([...(await liveJobIds())].sort()).toEqual(within.map((w) => jobIdOf(w.key)).sort());
      for (const r of mine) expect(await hasJob(r.dedupeKey), r.dedupeKey).toBe(true);
      for (const r of rows.filter((x) => !mine.includes(x))) expect(await hasJob(r.dedupeKey), r.dedupeKey).toBe(false);
    } finally {
      await closeTimers(prefix);
      await h.jobs.reconcile();
    }
  });

  it('removes an orphan, and keeps the job of a pending timer beyond the horizon', async () => {
    const prefix = `keep-${randomUUID().slice(0, 8)}`;
    const [closed, beyond] = await writeTimers(prefix, [5 * MINUTE, 3 * 60 * MINUTE]);
    try {
      const now = new Date();
      // Jobs queued before the horizon existed: one whose timer then closed, one due in three hours.
      await h.jobs.queues.timers.addBulk([timerJob(closed!, now), timerJob(beyond!, now)]);
      await h.t.db.update(timers).set({ state: 'cancelled', cancelledAt: new Date() }).where(eq(timers.id, closed!.id));

      const drift = await h.jobs.reconcile();
      expect(drift.orphaned).toBe(1);
      expect(await hasJob(closed!.dedupeKey), 'the orphan').toBe(false);
      expect(await hasJob(beyond!.dedupeKey), 'pending, beyond the horizon: kept').toBe(true);
      expect((await h.jobs.reconcile()).orphaned).toBe(0);
      expect(await hasJob(beyond!.dedupeKey)).toBe(true);
    } finally {
      await closeTimers(prefix);
      await h.jobs.reconcile();
    }
  });

  it('still raises the dead man\'s switch for a timer long past due', async () => {
    const prefix = `late-${randomUUID().slice(0, 8)}`;
    const now = Date.now();
    await h.t.db.insert(timers).values({ kind: 'progress', level: 0, dueAt: new Date(now - 2 * MINUTE), createdAt: new Date(now - 3 * MINUTE), dedupeKey: `${prefix}-0`, target: { kind: 'reporter' } });
    try {
      const alerts = { n: 0 };
      const drift = await reconcilerAt(0, alerts).runOnce();
      expect(drift.overdue).toBe(1);
      expect(alerts.n).toBe(1);
      expect(await hasJob(`${prefix}-0`)).toBe(true);
    } finally {
      await closeTimers(prefix);
      await h.jobs.queues.timers.remove(jobIdOf(`${prefix}-0`)).catch(() => 0);
    }
  });

  it('refuses a horizon shorter than a few reconciliation passes', () => {
    const base = { ...h.deps } as Parameters<typeof createJobSystem>[0];
    // The guard comes before any queue is made: the backend is never touched.
    const backend = {} as QueueBackend;
    const make = (tuning: { reconcileEveryMs: number; timerHorizonMs: number }) => () => createJobSystem(base, { backend, channel: {} as never, logger: createLogger('silent'), tuning });
    expect(make({ reconcileEveryMs: 60_000, timerHorizonMs: 120_000 })).toThrow(TimerHorizonTooShort);
    expect(make({ reconcileEveryMs: 60_000, timerHorizonMs: 0 })).toThrow(TimerHorizonTooShort);
    expect(
      () =>
        new TimerReconciler({
          db: h.t.db,
          clock: { now: () => new Date() },
          queue: h.jobs.queues.timers,
          logger: createLogger('silent'),
          counters: createJobCounters(),
          everyMs: 60_000,
          horizonMs: 90_000,
          overdueAlertAfterMs: MINUTE,
          lockName: 'test:horizon-guard',
          alertOverdue: async () => 0,
        }),
    ).toThrow(TimerHorizonTooShort);
    // The production pair: an hour ahead, a pass a minute.
    expect(DEFAULT_TUNING.timerHorizonMs).toBe(TIMER_QUEUE_HORIZON_MS);
    expect(() => assertHorizonSpansPasses(DEFAULT_TUNING.timerHorizonMs, DEFAULT_TUNING.reconcileEveryMs)).not.toThrow();
  });
});
