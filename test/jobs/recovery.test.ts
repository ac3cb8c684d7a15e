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
import { botTexts, cardOf, cardsIn, eventTexts, fastPolicy, reportViolentCrime, startHarness, startThrowawayRedis, waitFor, waitForIncidentSettled, waitForSendsSettled, type Harness } from './harness.js';

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
      return list.length === 4 ? list : undefined;
    }, { what: 'the schedulers to be restored' });
    expect(schedulers.map((s) => s.key).sort()).toEqual(['daily-checks', 'daily-contact-reminders', 'daily-digest', 'daily-drills']);
    expect(schedulers.every((s) => s.tz === 'Asia/Shanghai')).toBe(true);

    const escalated = (m: { text?: string; reply_to_message_id?: number }) => m.reply_to_message_id !== undefined && (m.text ?? '').includes(incident.number) && (m.text ?? '').includes('未按时签收');
    await h.api.waitForBotMessage(TG.deputy, escalated, { after: 0, timeoutMs: 8_000 });
    await h.api.waitForBotMessage(TG.director, escalated, { after: 0, timeoutMs: 8_000 });
    await waitForIncidentSettled(h, incident.id, { kinds: ['ack'] });
    // Each leader: the card, and the one escalation replying to it — nothing of the incident twice.
    for (const chat of [TG.deputy, TG.director]) {
      const events = eventTexts(h.api, chat, incident.number);
      expect(events).toHaveLength(1);
      expect(cardsIn(h.api, chat, incident.number).map((c) => c.message_id)).toEqual([cardOf(h.api, events[0]!).message_id]);
      expect(botTexts(h.api, chat, new RegExp(incident.number))).toHaveLength(2);
    }
    // The section's new-incident notice (its card and the event) was sent before the wipe, and not again after it.
    expect(cardsIn(h.api, TG.section, incident.number)).toHaveLength(1);
    expect(eventTexts(h.api, TG.section, incident.number).map((m) => m.text!.split('\n')[0])).toEqual(['🆕 新事件上报，请及时签收。']);
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
    // The alert is about the system, not an event of the incident: a message of its own, opening the card.
    expect(alert.reply_to_message_id).toBeUndefined();
    expect(h.api.inlineButtons(alert).map((b) => b.callback_data)).toEqual([`card:${incident.id}`]);
    // The late timer still fires: the reporter, who had no card of the incident, gets the card and then
    // the short reminder replying to it.
    const reminder = await h.api.waitForBotMessage(
      TG.officerA1,
      (m) => m.reply_to_message_id !== undefined && (m.text ?? '').includes(incident.number) && (m.text ?? '').includes('处置步骤尚未完成'),
      { after: 0, timeoutMs: 6_000 },
    );
    expect(reminder.text).toMatch(/^⏰ 有 \d+ 项处置步骤尚未完成：\n/);
    expect(h.api.inlineButtons(reminder)).toEqual([]);
    const card = cardOf(h.api, reminder);
    expect(card.text).toContain(incident.number);
    expect(h.api.inlineButtons(card).some((b) => b.callback_data?.startsWith('step:'))).toBe(true);
    await waitForSendsSettled(h);
    expect(botTexts(h.api, TG.section, /系统告警/)).toHaveLength(1);
    expect(cardsIn(h.api, TG.officerA1, incident.number).map((c) => c.message_id)).toEqual([card.message_id]);
    expect(eventTexts(h.api, TG.officerA1, incident.number)).toHaveLength(1);
    expect(h.jobs.metrics().overdueAlerts).toBeGreaterThanOrEqual(2); // both section staff
    expect(h.jobs.metrics().lastDrift).not.toBeNull();
  }, 20_000);
});
