/**
 * PostgreSQL is the source of truth: Redis wiped in the middle of a run (FLUSHALL, on a throwaway
 * redis-server of this test's own) loses every delayed job and the schedulers; the reconciler rebuilds
 * them from the timer rows, and the escalation still arrives exactly once. It also removes orphans and,
 * as the dead man's switch, alerts the section about a timer long past due.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { timers } from '../../src/db/schema.js';
import { TG } from '../helpers/fixtures.js';
import { botTexts, fastPolicy, reportViolentCrime, startHarness, startThrowawayRedis, waitFor, waitForIncidentSettled, waitForSendsSettled, type Harness } from './harness.js';

let redis: Awaited<ReturnType<typeof startThrowawayRedis>>;
let h: Harness;

beforeAll(async () => {
  redis = await startThrowawayRedis();
  h = await startHarness({
    backend: 'redis',
    redisUrl: redis.url,
    schedulers: true,
    policy: fastPolicy({ ackSeconds: { critical: 3, standard: 3 } }),
    tuning: { reconcileEveryMs: 500 },
  });
});
afterAll(async () => {
  await h?.close();
  await redis?.stop();
});

const report = (description: string) =>
  reportViolentCrime(h, description, { subjectId: null, subjectNote: '不明' });

describe('recovery from a wiped Redis', () => {
  it('FLUSHALL mid-run: the reconciler restores the jobs and the schedulers, and the escalation arrives exactly once', async () => {
    const { incident } = await report('清空测试');
    const jobId = `ack-${incident.id}-1`;
    await waitFor(async () => (await h.jobs.queues.timers.getJob(jobId)) ?? undefined, { what: 'the delayed job' });
    const restoredBefore = h.jobs.metrics().timersRestored;

    const admin = new Redis(redis.url);
    await admin.flushall();
    expect(await admin.dbsize()).toBeLessThan(5);
    admin.disconnect();

    const restored = await waitFor(async () => (await h.jobs.queues.timers.getJob(jobId)) ?? undefined, { timeoutMs: 5_000, what: 'the job to be restored' });
    expect(await restored.getState()).toBe('delayed');
    // The drift is counted when the pass ends.
    await waitFor(() => h.jobs.metrics().timersRestored > restoredBefore || undefined, { what: 'the drift to be counted' });
    const schedulers = await waitFor(async () => {
      const list = await h.jobs.queues.daily.getJobSchedulers();
      return list.length === 3 ? list : undefined;
    }, { what: 'the schedulers to be restored' });
    expect(schedulers.map((s) => s.key).sort()).toEqual(['daily-checks', 'daily-contact-reminders', 'daily-digest']);
    expect(schedulers.every((s) => s.tz === 'Asia/Shanghai')).toBe(true);

    await h.api.waitForBotMessage(TG.deputy, (m) => (m.text ?? '').includes(incident.number), { after: 0, timeoutMs: 8_000 });
    await h.api.waitForBotMessage(TG.director, (m) => (m.text ?? '').includes(incident.number), { after: 0, timeoutMs: 8_000 });
    await waitForIncidentSettled(h, incident.id, { kinds: ['ack'] });
    expect(botTexts(h.api, TG.deputy, new RegExp(incident.number))).toHaveLength(1);
    expect(botTexts(h.api, TG.director, new RegExp(incident.number))).toHaveLength(1);
    // The section's new-incident notice was sent before the wipe, and not again after it.
    expect(botTexts(h.api, TG.section, new RegExp(incident.number))).toHaveLength(1);
  }, 30_000);

  it('an orphan job (its timer closed while the queue was away) is removed', async () => {
    await h.jobs.queues.timers.add('timer.fire', { timerId: '00000000-0000-4000-8000-000000000000' }, { jobId: 'ack-orphan-1', delay: 60_000 });
    const before = h.jobs.metrics().orphansRemoved;
    await waitFor(async () => ((await h.jobs.queues.timers.getJob('ack-orphan-1')) ? undefined : true), { timeoutMs: 5_000, what: 'the orphan to go' });
    await waitFor(() => h.jobs.metrics().orphansRemoved > before || undefined, { what: 'the orphan to be counted' });
  });

  it('a timer more than a minute past due raises an alert to the section (dead man\'s switch), and still fires', async () => {
    const { incident } = await report('告警测试');
    const twoMinutesAgo = new Date(Date.now() - 120_000);
    await h.t.db.insert(timers).values({
      kind: 'steps_overdue',
      incidentId: incident.id,
      level: 0,
      dueAt: twoMinutesAgo,
      createdAt: new Date(Date.now() - 180_000),
      dedupeKey: `steps_overdue-${incident.id}-late-0`,
      target: { kind: 'reporter' },
    });
    const alert = await h.api.waitForBotMessage(TG.section, (m) => (m.text ?? '').includes('系统告警'), { after: 0, timeoutMs: 6_000 });
    expect(alert.text).toContain(incident.number);
    expect(alert.text).toContain('处置步骤');
    await h.api.waitForBotMessage(TG.officerA1, (m) => (m.text ?? '').includes('处置步骤尚未完成'), { after: 0, timeoutMs: 6_000 });
    await waitForSendsSettled(h);
    expect(botTexts(h.api, TG.section, /系统告警/)).toHaveLength(1);
    expect(h.jobs.metrics().overdueAlerts).toBeGreaterThanOrEqual(2); // both section staff
    expect(h.jobs.metrics().lastDrift).not.toBeNull();
  }, 20_000);
});
