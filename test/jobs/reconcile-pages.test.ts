/**
 * The reconciler reads pending timers a page at a time: with pages smaller than the number pending, a
 * wiped queue still gets every job within the horizon back, each once, and a closed timer's job is still found as an orphan.
 * The pages come soonest due first, and a run of timers due at one instant (to the microsecond) is read
 * through, each once.
 */
import { Redis } from 'ioredis';
import { and, eq, like, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { pendingTimerPage } from '../../src/db/repositories/timer.repository.js';
import { timers } from '../../src/db/schema.js';
import { jobIdOf } from '../../src/jobs/catalogue.js';
import { TIMER_QUEUE_HORIZON_MS } from '../../src/jobs/dispatcher.js';
import { createJobCounters } from '../../src/jobs/metrics.js';
import { TimerReconciler } from '../../src/jobs/reconciler.js';
import { createLogger } from '../../src/logger.js';
import { fastPolicy, reportViolentCrime, startHarness, startThrowawayRedis, type Harness } from './harness.js';

let redis: Awaited<ReturnType<typeof startThrowawayRedis>>;
let h: Harness;

beforeAll(async () => {
  redis = await startThrowawayRedis();
  // No passes of its own (reconcileEveryMs 0, no wipe check): this test runs the passes it needs.
  h = await startHarness({ backend: 'redis', redisUrl: redis.url, policy: fastPolicy({ ackSeconds: { critical: 600, standard: 600 } }), tuning: { reconcileEveryMs: 0, wipeCheckEveryMs: 0 } });
});
afterAll(async () => {
  await h?.close();
  await redis?.stop();
});

describe('reconciling in pages', () => {
  it('restores every pending timer within the horizon across pages, once, and removes an orphan', async () => {
    for (const n of [1, 2, 3]) {
      await reportViolentCrime(h, `分页 ${n}`, { subjectId: null, subjectNote: '不明' });
    }
    const pending = await h.t.db.select({ id: timers.id, key: timers.dedupeKey, dueAt: timers.dueAt }).from(timers).where(eq(timers.state, 'pending'));
    expect(pending.length).toBeGreaterThan(5);

    const admin = new Redis(redis.url);
    await admin.flushall();
    admin.disconnect();
    // One timer closed while the queue was away, with a job of its own left behind (an orphan).
    const closed = pending[0]!;
    await h.t.db.update(timers).set({ state: 'cancelled', cancelledAt: new Date() }).where(eq(timers.id, closed.id));
    await h.jobs.queues.timers.add('timer.fire', { timerId: closed.id }, { jobId: jobIdOf(closed.key), delay: 600_000 });

    const reconciler = new TimerReconciler({
      db: h.t.db,
      clock: h.deps.clock,
      queue: h.jobs.queues.timers,
      logger: createLogger('silent'),
      counters: createJobCounters(),
      everyMs: 0,
      overdueAlertAfterMs: 60_000,
      lockName: 'test:reconcile-pages',
      alertOverdue: async () => 0,
      pageSize: 2,
    });
    const drift = await reconciler.runOnce();
    // The escalations an hour after the first deadlines are beyond the horizon: they stay in PostgreSQL.
    const near = (t: (typeof pending)[number]) => t.dueAt.getTime() < drift.at.getTime() + TIMER_QUEUE_HORIZON_MS;
    const within = pending.slice(1).filter(near);
    expect(within.length).toBeGreaterThan(5);
    expect(drift).toMatchObject({ pending: within.length, missing: within.length, orphaned: 1 });
    for (const t of within) expect(await h.jobs.queues.timers.getJob(jobIdOf(t.key)), t.key).toBeDefined();
    for (const t of pending.slice(1).filter((x) => !near(x))) expect(await h.jobs.queues.timers.getJob(jobIdOf(t.key)), t.key).toBeUndefined();
    expect(await h.jobs.queues.timers.getJob(jobIdOf(closed.key))).toBeUndefined();

    // A second pass finds nothing missing: each job is there once.
    expect(await reconciler.runOnce()).toMatchObject({ missing: 0, orphaned: 0 });
  });
});

describe('soonest due first', () => {
  /** Timers of no incident, hours ahead: `sameInstant` of them due at one instant, `spread` at others, written out of order. */
  async function writeTimers(prefix: string, sameInstant: number, spread: number) {
    await h.t.db.execute(sql`
      insert into timers (kind, level, due_at, dedupe_key, target)
      select 'progress', 1, now() + interval '3 hours' + interval '123.456789 seconds', ${prefix} || '-same-' || g, '{}'::jsonb
      from generate_series(1, ${sameInstant}) g`);
    await h.t.db.execute(sql`
      insert into timers (kind, level, due_at, dedupe_key, target)
      select 'progress', 1, now() + interval '2 hours' + ((g * 37) % ${spread}) * interval '1 minute' + g * interval '1 microsecond', ${prefix} || '-spread-' || g, '{}'::jsonb
      from generate_series(1, ${spread}) g`);
    return h.t.db
      .select({ id: timers.id, key: timers.dedupeKey, dueAt: timers.dueAt })
      .from(timers)
      .where(and(eq(timers.state, 'pending'), like(timers.dedupeKey, `${prefix}-%`)))
      .orderBy(sql`${timers.dueAt}, ${timers.id}`);
  }
  const HORIZON_MS = 4 * 3_600_000;
  const close = (prefix: string) => h.t.db.update(timers).set({ state: 'cancelled', cancelledAt: new Date() }).where(like(timers.dedupeKey, `${prefix}-%`));

  it('pages through a run of timers due at one instant, each once, in due order', async () => {
    const expected = await writeTimers('order', 7, 9);
    try {
      // Pages of 3 end inside the run of 7 due at one instant (microseconds a Date cannot hold).
      const seen: string[] = [];
      let after: Awaited<ReturnType<typeof pendingTimerPage>>[number] | undefined;
      for (let pages = 0; ; pages++) {
        expect(pages, 'the pages end').toBeLessThan(100);
        const page = await pendingTimerPage(h.t.db, after, 3, new Date(0));
        seen.push(...page.map((t) => t.id));
        if (page.length < 3) break;
        after = page.at(-1);
      }
      const mine = new Set(expected.map((t) => t.id));
      expect(seen.filter((id) => mine.has(id))).toEqual(expected.map((t) => t.id));
      expect(new Set(seen).size).toBe(seen.length);
    } finally {
      await close('order');
    }
  });

  it('after a wipe, the timers due soonest get their jobs back first', async () => {
    const expected = await writeTimers('soonest', 4, 12);
    const admin = new Redis(redis.url);
    await admin.flushall();
    admin.disconnect();
    const queue = h.jobs.queues.timers;
    const added: string[] = [];
    const addBulk = queue.addBulk.bind(queue);
    const spy = vi.spyOn(queue, 'addBulk').mockImplementation((jobs) => {
      for (const j of jobs) added.push(String(j.opts?.jobId));
      return addBulk(jobs);
    });
    try {
      const reconciler = new TimerReconciler({
        db: h.t.db,
        clock: h.deps.clock,
        queue,
        logger: createLogger('silent'),
        counters: createJobCounters(),
        everyMs: 0,
        overdueAlertAfterMs: 60_000,
        lockName: 'test:reconcile-soonest',
        alertOverdue: async () => 0,
        pageSize: 5,
        // Long enough for the timers written here, hours ahead: the order is what this test is about.
        horizonMs: HORIZON_MS,
      });
      const { at } = await reconciler.runOnce();
      const all = await h.t.db
        .select({ key: timers.dedupeKey })
        .from(timers)
        .where(sql`${timers.state} = 'pending' and ${timers.dueAt} < ${new Date(at.getTime() + HORIZON_MS).toISOString()}::timestamptz`)
        .orderBy(sql`${timers.dueAt}, ${timers.id}`);
      // Every pending timer's job within the horizon, in due order (pages of 5, added a page at a time).
      expect(added).toEqual(all.map((t) => jobIdOf(t.key)));
      const mine = new Set(expected.map((t) => jobIdOf(t.key)));
      expect(added.filter((id) => mine.has(id))).toEqual(expected.map((t) => jobIdOf(t.key)));
      for (const t of expected) expect(await queue.getJob(jobIdOf(t.key)), t.key).toBeDefined();
    } finally {
      spy.mockRestore();
      await close('soonest');
      await Promise.all(expected.map((t) => queue.remove(jobIdOf(t.key)).catch(() => 0)));
    }
  });
});
