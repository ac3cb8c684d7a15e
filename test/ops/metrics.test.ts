/**
 * /metrics exposes the counters of the operations surface, and they move: a telegraf bot with the ops
 * middleware polls the Bot API stand-in and answers users (ok, 403 blocked, 429 flood), a worker runs a
 * delayed job on a real Redis queue, an incident is reported into a real database.
 */
import { randomUUID } from 'node:crypto';
import { Queue, Worker } from 'bullmq';
import Fastify, { type FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { Telegraf } from 'telegraf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_POLICY } from '../../src/domain/index.js';
import { createLogger } from '../../src/logger.js';
import { opsMiddleware } from '../../src/channels/telegram/ops-middleware.js';
import { createOpsMetrics, registerOpsRoutes, type OpsMetrics } from '../../src/ops/index.js';
import { startBotApiServer, type BotApiServer } from '../../src/sandbox/bot-api-server.js';
import { reportIncident } from '../../src/services/incident.service.js';
import { noopDispatcher } from '../../src/services/ports.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { ManualClock, seedOrg, type SeededOrg } from '../helpers/fixtures.js';

const USERS = { alice: 71001, bob: 71002, carol: 71003 };

let api: BotApiServer;
let bot: Telegraf;
let app: FastifyInstance;
let m: OpsMetrics;
let t: TestDatabase;
let org: SeededOrg;
let redis: Redis;
let queue: Queue;
let worker: Worker;
const prefix = `test-${randomUUID()}`;

async function scrape(): Promise<string> {
  const res = await app.inject({ method: 'GET', url: '/metrics' });
  expect(res.statusCode).toBe(200);
  expect(res.headers['content-type']).toMatch(/text\/plain/);
  return res.body;
}

/** Value of one series, e.g. value(text, 'corrections_messages_sent_total', { result: 'ok' }). */
function value(text: string, name: string, labels: Record<string, string> = {}): number {
  const want = Object.entries(labels);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const m = /^[^{\s]+(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!m) continue;
    const have = Object.fromEntries([...(m[1] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (want.every(([k, v]) => have[k] === v)) return Number(m[2]);
  }
  return Number.NaN;
}

async function waitFor(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  t = await createTestDatabase();
  org = await seedOrg(t.db);
  api = await startBotApiServer({ longPollMaxSeconds: 5 });
  for (const [name, id] of Object.entries(USERS)) api.addUser({ id, first_name: name });

  m = createOpsMetrics({ defaultMetrics: false });
  m.useDatabase(t.db);
  bot = new Telegraf(api.token, { telegram: { apiRoot: api.url } });
  bot.use(opsMiddleware({ logger: createLogger('silent'), metrics: m }));
  bot.on('text', async (ctx) => {
    await ctx.reply(`echo ${ctx.message.text.length}`);
  });
  bot.on('callback_query', async (ctx) => {
    await ctx.answerCbQuery();
  });
  bot.catch(() => {});
  void bot.launch({ dropPendingUpdates: true });

  redis = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
  queue = new Queue('ops-metrics', { connection: redis, prefix });
  worker = new Worker('ops-metrics', async () => 'done', { connection: redis.duplicate(), prefix, autorun: true });
  m.observeWorker(worker);

  app = Fastify();
  await registerOpsRoutes(app, { metrics: m, readiness: [], queues: [queue] });
  await app.ready();
});

afterAll(async () => {
  bot?.stop('test done');
  await app?.close();
  await worker?.close();
  await queue?.obliterate({ force: true }).catch(() => {});
  await queue?.close();
  redis?.disconnect();
  await api?.close();
  await t?.drop();
});

describe('/metrics', () => {
  it('exposes every metric of the operations surface', async () => {
    const text = await scrape();
    for (const name of [
      'corrections_updates_handled_total',
      'corrections_update_duration_seconds',
      'corrections_messages_sent_total',
      'corrections_queue_jobs',
      'corrections_job_lateness_seconds',
      'corrections_timers_pending',
      'corrections_timers_overdue_seconds',
      'corrections_reconciler_drift_total',
      'corrections_incidents_open',
    ]) {
      expect(text, name).toContain(`# TYPE ${name} `);
    }
    expect(value(text, 'corrections_messages_sent_total', { result: '429' })).toBe(0);
  });

  it('counts updates by kind with their latency, and messages by result', async () => {
    const before = await scrape();
    const handledBefore = value(before, 'corrections_updates_handled_total', { kind: 'message', outcome: 'ok' });
    expect(Number.isNaN(handledBefore) ? 0 : handledBefore).toBe(0);

    api.sendText(USERS.alice, 'hello');
    await api.waitForBotMessage(USERS.alice, undefined, { timeoutMs: 10_000 });
    api.sendText(USERS.bob, 'hi there');
    await api.waitForBotMessage(USERS.bob, undefined, { timeoutMs: 10_000 });

    // Carol blocked the bot: the reply is refused with 403.
    api.blockBot(USERS.carol);
    api.injectUpdate({ message: { message_id: 1, date: Math.floor(Date.now() / 1000), chat: { id: USERS.carol, type: 'private', first_name: 'carol' }, from: { id: USERS.carol, is_bot: false, first_name: 'carol' }, text: 'still there?' } });
    await waitFor(async () => value(await scrape(), 'corrections_messages_sent_total', { result: '403' }) === 1);
    // Flood limit on the next reply.
    api.failNext('sendMessage', { status: 429, retryAfter: 3 });
    api.sendText(USERS.alice, 'again');

    let text = '';
    await waitFor(async () => {
      text = await scrape();
      return value(text, 'corrections_messages_sent_total', { result: '403' }) >= 1 && value(text, 'corrections_messages_sent_total', { result: '429' }) >= 1;
    });
    expect(value(text, 'corrections_messages_sent_total', { result: 'ok' })).toBeGreaterThanOrEqual(2);
    expect(value(text, 'corrections_updates_handled_total', { kind: 'message', outcome: 'ok' })).toBeGreaterThanOrEqual(2);
    // The 403 and 429 replies made their handlers throw.
    expect(value(text, 'corrections_updates_handled_total', { kind: 'message', outcome: 'error' })).toBeGreaterThanOrEqual(2);
    expect(value(text, 'corrections_update_duration_seconds_count', { kind: 'message' })).toBeGreaterThanOrEqual(4);
    // The my_chat_member update of the block is an update kind of its own.
    expect(value(text, 'corrections_updates_handled_total', { kind: 'my_chat_member', outcome: 'ok' })).toBe(1);
  });

  it('reports queue depth and job lateness', async () => {
    await queue.add('later', {}, { delay: 60_000, jobId: 'later-1' });
    let text = await scrape();
    expect(value(text, 'corrections_queue_jobs', { queue: 'ops-metrics', state: 'delayed' })).toBe(1);

    await queue.add('now', {}, { delay: 200 });
    await waitFor(async () => value(await scrape(), 'corrections_jobs_processed_total', { queue: 'ops-metrics', name: 'now', outcome: 'completed' }) === 1);
    text = await scrape();
    expect(value(text, 'corrections_job_lateness_seconds_count', { queue: 'ops-metrics', name: 'now' })).toBe(1);
    expect(value(text, 'corrections_job_lateness_seconds_sum', { queue: 'ops-metrics', name: 'now' })).toBeLessThan(5);
  });

  it('reads pending timers and open incidents from PostgreSQL, and counts reconciler drift', async () => {
    let text = await scrape();
    expect(value(text, 'corrections_incidents_open', { type: 'absconding', drill: 'false' })).toBe(0);
    expect(value(text, 'corrections_timers_pending', { kind: 'ack' })).toBe(0);

    const clock = new ManualClock(new Date());
    await reportIncident(
      { db: t.db, clock, timeZone: 'Asia/Shanghai', piiMode: 'masked', cipher: org.cipher, policy: async () => DEFAULT_POLICY, dispatcher: noopDispatcher },
      org.actor('officerA1'),
      { type: 'absconding', subjectId: org.subjects.a1, officeUnitId: org.units.officeA, discoveredAt: clock.now(), injured: 0, dead: 0, description: 'not at home' },
    );
    await new Promise((r) => setTimeout(r, 600)); // past the scrape's shared snapshot
    text = await scrape();
    expect(value(text, 'corrections_incidents_open', { type: 'absconding', drill: 'false' })).toBe(1);
    expect(value(text, 'corrections_timers_pending', { kind: 'ack' })).toBeGreaterThanOrEqual(1);
    expect(value(text, 'corrections_timers_overdue_seconds')).toBe(0);

    m.reconcilerRan({ missing: 3, orphaned: 1 });
    m.reconcilerRan({ missing: 0, orphaned: 0 });
    text = await scrape();
    expect(value(text, 'corrections_reconciler_drift_total', { kind: 'missing' })).toBe(3);
    expect(value(text, 'corrections_reconciler_drift_total', { kind: 'orphan' })).toBe(1);
    expect(value(text, 'corrections_reconciler_last_drift', { kind: 'missing' })).toBe(0);
    expect(value(text, 'corrections_reconciler_runs_total')).toBe(2);
  });
});
