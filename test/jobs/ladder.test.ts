/**
 * The acknowledgement ladder and mandatory information, end to end: report → timers in PostgreSQL →
 * delayed jobs → outbox → the Bot API stand-in over HTTP. Runs on Redis and on BullMQ's PostgreSQL backend.
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import { decodeCallback } from '../../src/channels/telegram/callback-data.js';
import { acknowledgeIncident } from '../../src/services/incident.service.js';
import { TG } from '../helpers/fixtures.js';
import { botTexts, fastPolicy, reportViolentCrime, startHarness, waitFor, waitForIncidentSettled, type BackendKind, type Harness } from './harness.js';

const ACK = 1; // seconds before the deputy director, and as long again before the director

// The cases are independent incidents on their own timers, so they run side by side, on both backends
// at once: the file takes about as long as its longest case, not the sum.
describe.concurrent.each<BackendKind>(['redis', 'postgres'])('the ladder on %s', (backend) => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({
      backend,
      policy: fastPolicy({ ackSeconds: { critical: ACK, standard: ACK }, informSeconds: { deputy_director: { critical: 2, standard: 2 }, director: { critical: 3, standard: 3 } } }),
    });
  });
  afterAll(async () => h?.close());

  const report = (description: string) => reportViolentCrime(h, description);

  it('unacknowledged: the deputy director gets the ping, then the director, each once, saying who and since when, with an acknowledge button', async ({ expect }) => {
    const started = Date.now();
    const { incident } = await report('持刀威胁邻居');
    // The section and the office head hear of it at once.
    await h.api.waitForBotMessage(TG.section, (m) => (m.text ?? '').includes(incident.number), { after: 0, timeoutMs: 5_000 });

    const deputy = await h.api.waitForBotMessage(TG.deputy, (m) => (m.text ?? '').includes('未按时签收') && (m.text ?? '').includes(incident.number), { after: 0, timeoutMs: 8_000 });
    const deputyAt = Date.now() - started;
    expect(deputyAt).toBeGreaterThanOrEqual(ACK * 1000 - 200);
    expect(deputy.text).toContain(incident.number);
    expect(deputy.text).toContain('管理科（科员丙'); // who did not acknowledge
    // The event is a short message replying to the deputy's card, which carries the 签收 button.
    expect(deputy.reply_to_message_id).toBeDefined();
    const deputyCard = h.api.message(TG.deputy, deputy.reply_to_message_id!)!;
    expect(h.api.inlineButtons(deputy)).toEqual([]);
    const ack = h.api.inlineButtons(deputyCard).map((b) => decodeCallback(b.callback_data)).find((d) => d?.a === 'ack');
    expect(ack).toEqual({ a: 'ack', i: incident.id, v: incident.version });

    const director = await h.api.waitForBotMessage(TG.director, (m) => (m.text ?? '').includes('未按时签收') && (m.text ?? '').includes(incident.number), { after: 0, timeoutMs: 8_000 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(2 * ACK * 1000 - 200);
    expect(director.text).toContain('分管副局长'); // the deputy has not acknowledged either

    // Mandatory information finds both already told: no second event to either, once its timers ran —
    // each has the card and the one event that replies to it.
    await waitForIncidentSettled(h, incident.id, { kinds: ['ack', 'inform'] });
    for (const chat of [TG.deputy, TG.director]) {
      const messages = botTexts(h.api, chat, new RegExp(incident.number));
      expect(messages).toHaveLength(2);
      expect(messages.filter((m) => m.reply_to_message_id !== undefined)).toHaveLength(1);
    }
    const timers = await h.t.sql`select kind, level, state, outcome from timers where incident_id = ${incident.id} and kind in ('ack', 'inform') order by kind, level`;
    expect(timers.map((x) => `${x.kind}${x.level}:${x.outcome}`)).toEqual(['ack1:sent', 'ack2:sent', 'inform1:skipped: already informed', 'inform2:skipped: already informed']);
  }, 30_000);

  // Which timer stays silent for what is decideTimer's table (test/domain/timer-decision.test.ts); these
  // few run the ladder end to end on real queues. The last two need no second backend.
  it.runIf(backend === 'redis')('acknowledged in time: mandatory information still reaches every level, and nobody is pinged about acknowledging', async ({ expect }) => {
    // Acknowledged at once, so no acknowledgement rung can interleave: both levels are due to be told at 1 s.
    const quick = fastPolicy({ ackSeconds: { critical: ACK, standard: ACK }, informSeconds: { deputy_director: { critical: 1, standard: 1 }, director: { critical: 1, standard: 1 } } });
    const { incident } = await reportViolentCrime({ ...h, deps: { ...h.deps, policy: async () => quick } }, '扬言自伤');
    await acknowledgeIncident(h.deps, h.org.actor('section2'), incident.id);
    const informed = (m: { text?: string }) => (m.text ?? '').includes('逐级报告') && (m.text ?? '').includes(incident.number);
    const deputy = await h.api.waitForBotMessage(TG.deputy, informed, { after: 0, timeoutMs: 8_000 });
    expect(deputy.text).toContain('分管副局长');
    const director = await h.api.waitForBotMessage(TG.director, informed, { after: 0, timeoutMs: 8_000 });
    expect(director.text).not.toContain('未按时签收');
    // The leaders' card shows it acknowledged, and no acknowledge button.
    const directorCard = h.api.message(TG.director, director.reply_to_message_id!)!;
    expect(directorCard.text).toContain('已签收');
    expect(h.api.inlineButtons(directorCard).some((b) => b.callback_data?.startsWith('ack:'))).toBe(false);
    await waitForIncidentSettled(h, incident.id, { kinds: ['ack', 'inform'] });
    for (const chat of [TG.deputy, TG.director]) expect(botTexts(h.api, chat, new RegExp(incident.number))).toHaveLength(2);
    // The acknowledgement deadlines fell before the mandatory information: they were cancelled, and their
    // jobs removed rather than left to fire.
    const pings = [TG.deputy, TG.director].flatMap((chat) => botTexts(h.api, chat, /未按时签收/).filter((m) => (m.text ?? '').includes(incident.number)));
    expect(pings).toHaveLength(0);
    const ackTimers = await h.t.sql`select state from timers where incident_id = ${incident.id} and kind = 'ack'`;
    expect(ackTimers.every((x) => x.state === 'cancelled')).toBe(true);
    // A job already running when the acknowledgement came cannot be removed (a loaded machine can take the
    // 1 s deadline that far): it must then have found its timer cancelled and sent nothing.
    for (const level of [1, 2]) {
      const job = await h.jobs.queues.timers.getJob(`ack-${incident.id}-${level}`);
      if (job) expect(await waitFor(async () => ((await job.getState()) === 'completed' ? (await h.jobs.queues.timers.getJob(job.id!))?.returnvalue : undefined), { timeoutMs: 8_000 })).toMatch(/^skipped/);
    }
  }, 30_000);

  it('a timer job that fires after its row was closed finds it closed and sends nothing', async ({ expect }) => {
    const { incident } = await report('测试关闭后触发');
    await acknowledgeIncident(h.deps, h.org.actor('section'), incident.id);
    const [timer] = await h.t.sql`select id, dedupe_key from timers where incident_id = ${incident.id} and kind = 'ack' and level = 1`;
    // The job comes back anyway (a stale copy, a restore): it must skip.
    const job = await h.jobs.queues.timers.add('timer.fire', { timerId: timer!.id }, { jobId: `${timer!.dedupe_key}-again` });
    const outcome = await waitFor(async () => ((await job.getState()) === 'completed' ? (await h.jobs.queues.timers.getJob(job.id!))?.returnvalue : undefined), { timeoutMs: 8_000 });
    expect(outcome).toBe('skipped: already cancelled');
  }, 30_000);
});
