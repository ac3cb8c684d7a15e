/**
 * A wiped Redis is noticed within seconds, not at the next minute's reconciliation: with the periodic
 * pass switched off, FLUSHALL on this test's own redis-server (never the shared one) brings every pending
 * timer's job back (all are due within the queue's one-hour horizon) from PostgreSQL within a few seconds, in one batched pass, and the send jobs with them.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueueNotices } from '../../src/db/repositories/outbox.repository.js';
import { timers } from '../../src/db/schema.js';
import { jobIdOf } from '../../src/jobs/catalogue.js';
import { TG } from '../helpers/fixtures.js';
import { startHarness, startThrowawayRedis, waitFor, type Harness } from './harness.js';

const PENDING = 2_000;
let redis: Awaited<ReturnType<typeof startThrowawayRedis>>;
let h: Harness;

beforeAll(async () => {
  redis = await startThrowawayRedis();
  // No periodic pass (reconcileEveryMs 0) and a relay that would not run for a minute: only the wipe check can act.
  h = await startHarness({ backend: 'redis', redisUrl: redis.url, tuning: { reconcileEveryMs: 0, relayEveryMs: 60_000, wipeCheckEveryMs: 1_000 } });
}, 30_000);
afterAll(async () => {
  await h?.close();
  await redis?.stop();
});

const liveTimerJobs = async () => {
  const c = await h.jobs.queues.timers.getJobCounts('delayed', 'wait', 'active', 'prioritized');
  return Object.values(c).reduce((s: number, v) => s + Number(v), 0);
};

// The second step checks what the first wipe left: the steps keep their order.
describe('a wiped Redis', { shuffle: false }, () => {
  it('FLUSHALL with 2 000 timers pending: every job is back from PostgreSQL within a few seconds', async () => {
    const run = randomUUID().slice(0, 8);
    // Ten minutes to 43 minutes ahead: within the queue's horizon, and none falls due during the test.
    const dueAt = (i: number) => new Date(Date.now() + 600_000 + i * 1_000);
    const rows = await h.t.db
      .insert(timers)
      .values(Array.from({ length: PENDING }, (_, i) => ({ kind: 'progress', level: 0, dueAt: dueAt(i), dedupeKey: `wipe-${run}-${i}`, target: { kind: 'reporter' } })))
      .returning({ id: timers.id, dedupeKey: timers.dedupeKey, dueAt: timers.dueAt });
    await h.jobs.dispatcher.scheduleTimers(rows);
    await waitFor(async () => ((await liveTimerJobs()) >= PENDING ? true : undefined), { what: 'the timer jobs' });
    await h.jobs.reconcile(); // a pass has left its mark
    const before = h.jobs.metrics();

    // A notice whose send job the wipe takes too: its worker is busy elsewhere, so it is still queued.
    const [row] = await enqueueNotices(h.t.db, [{ recipientStaffId: h.org.staff.headB, kind: 'missed_days', dedupeKey: `wipe-notice-${run}`, params: { what: 'digest', dates: [`wipe-${run}`] } }]);
    await h.jobs.queues.send.pause();
    await h.jobs.queues.send.add('outbox.send', { outboxId: row!.id }, { jobId: row!.id });
    await new Promise((r) => setTimeout(r, 1_100)); // the relay leaves rows younger than a second to the dispatcher

    const admin = new Redis(redis.url);
    const wipedAt = Date.now();
    await admin.flushall();
    expect(await admin.dbsize()).toBe(0);
    admin.disconnect();

    await waitFor(async () => ((await liveTimerJobs()) >= PENDING ? true : undefined), { timeoutMs: 5_000, everyMs: 25, what: 'the jobs to be rebuilt' });
    const rebuiltIn = Date.now() - wipedAt;
    // One check a second, then one pass: well within the 5 s the plan allows.
    expect(rebuiltIn).toBeLessThan(5_000);
    // The drift is counted when the pass ends.
    const after = await waitFor(() => (h.jobs.metrics().reconcileRuns > before.reconcileRuns ? h.jobs.metrics() : undefined), { what: 'the pass to end' });
    expect(after.wipesDetected).toBe(before.wipesDetected + 1);
    expect(after.timersRestored - before.timersRestored).toBe(PENDING);
    // The same deterministic ids, delayed until each timer is due.
    const job = await h.jobs.queues.timers.getJob(jobIdOf(rows[7]!.dedupeKey));
    expect(await job?.getState()).toBe('delayed');
    expect(job!.timestamp + job!.opts.delay!).toBeGreaterThanOrEqual(rows[7]!.dueAt.getTime() - 50);
    expect(job!.timestamp + job!.opts.delay!).toBeLessThanOrEqual(rows[7]!.dueAt.getTime() + 50);

    // The relay was woken too: the lost send job is back (the queue's pause went with the wipe) and the notice arrives.
    await h.api.waitForBotMessage(TG.headB, (m) => (m.text ?? '').includes(`wipe-${run}`), { after: 0, timeoutMs: 8_000 });
  }, 40_000);

  it('no wipe, no extra pass: the mark stays and the check costs one read', async () => {
    const runs = h.jobs.metrics().reconcileRuns;
    await new Promise((r) => setTimeout(r, 2_500));
    expect(h.jobs.metrics().reconcileRuns).toBe(runs);
    expect(h.jobs.metrics().wipesDetected).toBe(1);
  });
});
