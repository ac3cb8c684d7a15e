/**
 * P2: notices through the product's real send path — outbox rows, the send queue with its limiter, the
 * Telegram gateway — in worker processes run as the image runs them, against a stand-in that enforces
 * Telegram's limits (30 messages a second overall, 1 a second per chat, 20 a minute per group) and answers
 * 429 past them. Two shapes, each with one worker process and with two:
 * - one notification to many staff: the floor is staff / 30 seconds;
 * - several notices to each of a few chats: the floor is also (messages − burst) seconds: a chat takes a
 *   short burst at once, then one a second.
 * Each notice is of a new report, to someone without its card: two messages, the card and the event that
 * replies to it (the notification rule, src/domain/notifications.ts). Floors count messages, and a notice
 * has arrived when both have. Figure = enqueue → the last message accepted.
 */
import { performance } from 'node:perf_hooks';
import { inArray } from 'drizzle-orm';
import { enqueueNotices } from '../../src/db/repositories/outbox.repository.js';
import { outbox } from '../../src/db/schema.js';
import type { BotApiServer } from '../../src/sandbox/bot-api-server.js';
import { createTestDatabase, type TestDatabase } from '../../test/helpers/db.js';
import { buildImage } from '../lib/bundle.js';
import { TARGETS, TELEGRAM_LIMITS, type BenchContext, type Measured } from '../lib/context.js';
import { templateIncident } from '../lib/incidents.js';
import { productQueues, type ProductQueues } from '../lib/queues.js';
import { startThrowawayRedis, type ThrowawayRedis } from '../lib/redis-server.js';
import { seedBenchOrg, type BenchOrg, type BenchPerson } from '../lib/seed.js';
import { ms } from '../lib/stats.js';
import { startSut, type Sut } from '../lib/sut.js';
import { startTelegramSide } from '../lib/telegram-side.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
/** Staff who only warm the workers up, never measured. */
const WARMERS = 12;
/** A notice of a new report to someone without its card: the card, then the event replying to it. */
const MESSAGES_PER_NOTICE = 2;

interface Env {
  ctx: BenchContext;
  db: TestDatabase;
  org: BenchOrg;
  server: BotApiServer;
  queues: ProductQueues;
  redis: ThrowawayRedis;
  image: string | undefined;
}

/** One case: `perChat` notices to each of `chats`, through `workers` worker processes. */
interface Case {
  kind: 'recipients' | 'per-chat';
  chats: number;
  perChat: number;
}

export async function runFanoutSegment(ctx: BenchContext): Promise<Measured[]> {
  const s = ctx.sizes;
  const maxChats = Math.max(...s.p2Recipients, s.p2PerChat.chats);
  const db = await createTestDatabase();
  const cleanup: Array<() => Promise<unknown>> = [async () => db.drop()];
  const rows: Measured[] = [];
  try {
    ctx.log(`P2: seeding ${maxChats + WARMERS} staff`);
    const org = await seedBenchOrg(db.db, { offices: 1, officersPerOffice: maxChats + WARMERS });
    const redis = await startThrowawayRedis();
    cleanup.unshift(() => redis.stop());
    const { server } = await startTelegramSide({ limits: { ...TELEGRAM_LIMITS } });
    cleanup.unshift(() => server.close());
    for (const p of org.everyone) server.addUser({ id: p.telegramId, first_name: `staff${p.telegramId}` });
    const queues = productQueues(redis.url);
    cleanup.unshift(() => queues.close());
    const image = process.env.BENCH_TSX === '1' ? undefined : await buildImage();
    const env: Env = { ctx, db, org, server, queues, redis, image };
    const cases: Case[] = [...s.p2Recipients.map((n) => ({ kind: 'recipients' as const, chats: n, perChat: 1 })), { kind: 'per-chat', chats: s.p2PerChat.chats, perChat: s.p2PerChat.notices }];
    for (const workers of s.p2Workers) {
      const procs: Sut[] = [];
      for (let i = 0; i < workers; i++) procs.push(await startWorker(env, i));
      try {
        await warmUp(env);
        for (const c of cases) {
          rows.push(await measureCase(env, c, workers));
          // Let the stand-in's windows empty (1 s overall, 1 s per chat) before the next case.
          await sleep(2_000);
        }
      } finally {
        for (const p of procs) await p.stop();
      }
    }
    return rows;
  } finally {
    for (const c of cleanup) await c().catch((err: unknown) => ctx.log(`cleanup: ${String(err)}`));
  }
}

function startWorker(env: Env, n: number): Promise<Sut> {
  return startSut({
    role: 'worker',
    databaseUrl: env.db.url,
    redisUrl: env.redis.url,
    server: env.server,
    piiKeyHex: env.org.piiKeyHex,
    label: `worker ${n + 1}`,
    ...(env.image ? { image: env.image } : {}),
    ...(env.ctx.echo ? { echo: `worker${n + 1}` } : {}),
  });
}

/**
 * A deployment's workers are long-running: whatever their start queued (the start-up catch-up of the daily
 * runs writes a reminder to every officer) is sent first, then a first notice each (the first card drawn
 * costs 0.3 s), before anything is measured.
 */
async function warmUp(env: Env): Promise<void> {
  const began = performance.now();
  let most = 0;
  for (let quiet = 0; quiet < 4 && performance.now() - began < 600_000; ) {
    const c = await env.queues.send.getJobCounts('wait', 'delayed', 'prioritized', 'active');
    const n = Object.values(c).reduce((sum: number, v) => sum + Number(v), 0);
    most = Math.max(most, n);
    quiet = n === 0 ? quiet + 1 : 0;
    await sleep(500);
  }
  if (most > 0) env.ctx.log(`P2: the workers' start queued up to ${most} sends; waited ${ms(performance.now() - began)} for them`);
  const warmers = env.org.officers.slice(-WARMERS);
  const tpl = await templateIncident(env.db, env.org);
  const rows = await enqueueNotices(
    env.db.db,
    warmers.map((w, i) => ({ recipientStaffId: w.staffId, kind: 'incident_reported' as const, incidentId: tpl, dedupeKey: `bench-fanout-warm-${tpl}-${i}` })),
  );
  await env.queues.dispatcher.enqueueSends(rows.map((r) => r.id));
  for (const w of warmers) await env.server.waitForBotMessage(w.telegramId, undefined, { after: 0, timeoutMs: 120_000 });
  await sleep(1_500);
}

async function measureCase(env: Env, c: Case, workers: number): Promise<Measured> {
  const { ctx, db, org, server, queues } = env;
  const recipients: BenchPerson[] = org.officers.slice(0, c.chats);
  const total = c.chats * c.perChat;
  // The card and the event replying to it.
  const perNotice = MESSAGES_PER_NOTICE;
  const perChatMessages = c.perChat * perNotice;
  const totalMessages = total * perNotice;
  // Fresh incidents for each case: a second notice of the same incident to the same person edits its card.
  const incidents: string[] = [];
  for (let k = 0; k < c.perChat; k++) incidents.push(await templateIncident(db, org));
  const chats = new Set(recipients.map((r) => r.telegramId));
  const arrivals = new Map<number, number[]>();
  const onMessage = (m: { chat_id: number; from_bot: boolean }) => {
    if (!m.from_bot || !chats.has(m.chat_id)) return;
    const list = arrivals.get(m.chat_id) ?? [];
    list.push(performance.now());
    arrivals.set(m.chat_id, list);
  };
  server.on('message', onMessage);
  const hitsBefore = server.rateLimitHits.length;
  // What a service does: one transaction writes a row per recipient and notice; after commit the dispatcher enqueues them.
  const drafts = incidents.flatMap((incidentId, k) =>
    recipients.map((r, i) => ({ recipientStaffId: r.staffId, kind: 'incident_reported' as const, incidentId, dedupeKey: `bench-fanout-${incidentId}-${k}-${i}` })),
  );
  const outboxRows = await enqueueNotices(db.db, drafts);
  const t0 = performance.now();
  await queues.dispatcher.enqueueSends(outboxRows.map((r) => r.id));
  // A chat takes a short burst at once, then one a second: n messages need (n − burst) seconds after the first.
  const burst = TELEGRAM_LIMITS.perChatBurst;
  const floor = Math.max(totalMessages / TELEGRAM_LIMITS.globalPerSecond, Math.max(0, perChatMessages - burst) / TELEGRAM_LIMITS.perChatPerSecond) * 1_000;
  const deadline = Date.now() + Math.max(60_000, floor * 6);
  const receivedMessages = () => [...arrivals.values()].reduce((n, l) => n + Math.min(l.length, perChatMessages), 0);
  // Notices whole: a chat's messages come card, event, card, event…
  const received = () => [...arrivals.values()].reduce((n, l) => n + Math.floor(Math.min(l.length, perChatMessages) / perNotice), 0);
  while (receivedMessages() < totalMessages && Date.now() < deadline) await sleep(20);
  server.off('message', onMessage);
  const hits = server.rateLimitHits.slice(hitsBefore);
  const byScope = hits.reduce<Record<string, number>>((m, h) => ((m[h.scope] = (m[h.scope] ?? 0) + 1), m), {});
  const last = Math.max(...[...arrivals.values()].map((l) => l[Math.min(l.length, perChatMessages) - 1] ?? Number.NaN));
  const elapsed = last - t0;
  const extra = [...arrivals.values()].reduce((n, l) => n + Math.max(0, l.length - perChatMessages), 0);
  await sleep(200);
  const statuses = await db.db.select({ status: outbox.status }).from(outbox).where(inArray(outbox.id, outboxRows.map((r) => r.id)));
  const sent = statuses.filter((st) => st.status === 'sent').length;
  const lost = total - received();
  const ratioToFloor = elapsed / floor;
  const met = lost === 0 && hits.length === 0 && ratioToFloor <= TARGETS.p2FloorRatio;
  const shape = c.kind === 'recipients' ? `one notification to ${c.chats.toLocaleString('en')} staff` : `${c.perChat} notices to each of ${c.chats} chats`;
  const procs = workers === 1 ? '1 worker process' : `${workers} worker processes`;
  const scopes = Object.entries(byScope).map(([k, v]) => `${v} ${k}`).join(', ');
  ctx.log(`P2 ${shape}, ${procs}: ${received()}/${total} in ${ms(elapsed)} (floor ${ms(floor)}, ${ratioToFloor.toFixed(2)}×), ${hits.length} × 429${scopes ? ` (${scopes})` : ''}, ${sent} rows sent, ${extra} extra messages`);
  return {
    id: 'P2',
    what: `${shape} (each notice ${MESSAGES_PER_NOTICE} messages: card, event), ${procs}; stand-in enforcing 30/s overall, 1/s per chat after a burst of ${TELEGRAM_LIMITS.perChatBurst}`,
    figure: `${ms(elapsed)}, ${hits.length} ${hits.length === 1 ? 'answer' : 'answers'} of 429${scopes ? ` (${scopes})` : ''}`,
    baseline: c.kind === 'recipients' ? `floor ${totalMessages} messages/30 s = ${ms(floor)}` : `floor ${ms(floor)} (${perChatMessages} messages a chat: ${burst} at once, then 1/s; ${totalMessages} at 30/s)`,
    ratio: `${ratioToFloor.toFixed(2)}× floor`,
    target: `≤ ${TARGETS.p2FloorRatio}× floor, 0 answers of 429`,
    verdict: met ? 'met' : 'missed',
    data: { kind: c.kind, chats: c.chats, perChat: c.perChat, messagesPerNotice: perNotice, workers, elapsedMs: elapsed, floorMs: floor, ratioToFloor, rateLimited: hits.length, byScope, delivered: received(), extraMessages: extra, rowsSent: sent },
    ...(lost ? { broken: `${lost} of ${total} notices never arrived` } : {}),
  };
}
