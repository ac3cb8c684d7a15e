/**
 * The reconciler reads pending timers a page at a time: with pages smaller than the number pending, a
 * wiped queue still gets every job back, each once, and a closed timer's job is still found as an orphan.
 */
import { Redis } from 'ioredis';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { timers } from '../../src/db/schema.js';
import { jobIdOf } from '../../src/jobs/catalogue.js';
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
  it('restores every pending timer across pages, once, and removes an orphan', async () => {
    for (const n of [1, 2, 3]) {
      await reportViolentCrime(h, `分页 ${n}`, { subjectId: null, subjectNote: '不明' });
    }
    const pending = await h.t.db.select({ id: timers.id, key: timers.dedupeKey }).from(timers).where(eq(timers.state, 'pending'));
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
    expect(drift).toMatchObject({ pending: pending.length - 1, missing: pending.length - 1, orphaned: 1 });
    for (const t of pending.slice(1)) expect(await h.jobs.queues.timers.getJob(jobIdOf(t.key)), t.key).toBeDefined();
    expect(await h.jobs.queues.timers.getJob(jobIdOf(closed.key))).toBeUndefined();

    // A second pass finds nothing missing: each job is there once.
    expect(await reconciler.runOnce()).toMatchObject({ missing: 0, orphaned: 0 });
  });
});
