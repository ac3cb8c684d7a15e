/**
 * P2: one notification to many staff, through the product's real send path — outbox rows, the send
 * queue with its limiter, the Telegram gateway — in a worker process, against a stand-in that enforces
 * Telegram's limits (30 messages a second overall, 1 a second per chat) and answers 429 past them.
 * The floor is what the limit allows at best: staff / 30 seconds.
 */
import { performance } from 'node:perf_hooks';
import { inArray } from 'drizzle-orm';
import { enqueueNotices } from '../../src/db/repositories/outbox.repository.js';
import { outbox } from '../../src/db/schema.js';
import { createTestDatabase } from '../../test/helpers/db.js';
import type { BenchContext, Measured } from '../lib/context.js';
import { templateIncident } from '../lib/incidents.js';
import { productQueues } from '../lib/queues.js';
import { startThrowawayRedis } from '../lib/redis-server.js';
import { seedBenchOrg } from '../lib/seed.js';
import { ms } from '../lib/stats.js';
import { startSut } from '../lib/sut.js';
import { startTelegramSide } from '../lib/telegram-side.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function runFanoutSegment(ctx: BenchContext): Promise<Measured[]> {
  const staffCount = ctx.sizes.p2Staff;
  const db = await createTestDatabase();
  const cleanup: Array<() => Promise<unknown>> = [async () => db.drop()];
  try {
    const org = await seedBenchOrg(db.db, { offices: 1, officersPerOffice: staffCount });
    const redis = await startThrowawayRedis();
    cleanup.unshift(() => redis.stop());
    const { server } = await startTelegramSide({ limits: { globalPerSecond: 30, perChatPerSecond: 1 } });
    cleanup.unshift(() => server.close());
    for (const p of org.everyone) server.addUser({ id: p.telegramId, first_name: `staff${p.telegramId}` });
    const tpl = await templateIncident(db, org);
    const sut = await startSut({ role: 'worker', databaseUrl: db.url, redisUrl: redis.url, server, piiKeyHex: org.piiKeyHex, ...(ctx.echo ? { echo: 'worker' } : {}) });
    cleanup.unshift(() => sut.stop());
    const queues = productQueues(redis.url);
    cleanup.unshift(() => queues.close());
    // Warm the worker first (a deployment's workers are long-running): one notice to someone not measured.
    const warm = org.heads[0]!;
    const [warmRow] = await enqueueNotices(db.db, [{ recipientStaffId: warm.staffId, kind: 'incident_reported' as const, incidentId: tpl, dedupeKey: 'bench-fanout-warmup' }]);
    await queues.dispatcher.enqueueSends([warmRow!.id]);
    await server.waitForBotMessage(warm.telegramId, undefined, { after: 0, timeoutMs: 30_000 });
    await sleep(1_500);

    const recipients = org.officers.slice(0, staffCount);
    const chats = new Set(recipients.map((r) => r.telegramId));
    const arrived = new Map<number, number>();
    const onMessage = (m: { chat_id: number; from_bot: boolean }) => {
      if (m.from_bot && chats.has(m.chat_id) && !arrived.has(m.chat_id)) arrived.set(m.chat_id, performance.now());
    };
    server.on('message', onMessage);
    const hitsBefore = server.rateLimitHits.length;
    // What a service does: one transaction writes a row per recipient; after commit the dispatcher enqueues them.
    const rows = await enqueueNotices(
      db.db,
      recipients.map((r, i) => ({ recipientStaffId: r.staffId, kind: 'incident_reported' as const, incidentId: tpl, dedupeKey: `bench-fanout-${i}` })),
    );
    const t0 = performance.now();
    await queues.dispatcher.enqueueSends(rows.map((r) => r.id));
    const deadline = Date.now() + Math.max(30_000, (staffCount / 30) * 10_000);
    while (arrived.size < staffCount && Date.now() < deadline) await sleep(20);
    server.off('message', onMessage);
    const last = Math.max(...arrived.values());
    const offsets = [...arrived.values()].map((t) => t - t0).sort((a, b) => a - b);
    ctx.log(`P2 arrivals (ms after enqueue): first ${offsets[0]?.toFixed(0)}, 10th ${offsets[9]?.toFixed(0)}, 30th ${offsets[29]?.toFixed(0)}, 31st ${offsets[30]?.toFixed(0) ?? '—'}, 60th ${offsets[59]?.toFixed(0) ?? '—'}, 61st ${offsets[60]?.toFixed(0) ?? '—'}, 90th ${offsets[89]?.toFixed(0) ?? '—'}, last ${offsets.at(-1)?.toFixed(0)}`);
    const elapsed = last - t0;
    const floor = (staffCount / 30) * 1_000;
    const hits = server.rateLimitHits.length - hitsBefore;
    await sleep(200);
    const statuses = await db.db.select({ status: outbox.status }).from(outbox).where(inArray(outbox.id, rows.map((r) => r.id)));
    const sent = statuses.filter((s) => s.status === 'sent').length;
    const lost = staffCount - arrived.size;
    const met = lost === 0 && hits === 0 && elapsed <= 1.1 * floor;
    ctx.log(`P2 ${arrived.size}/${staffCount} delivered in ${ms(elapsed)} (floor ${ms(floor)}), ${hits} answers of 429, ${sent} rows marked sent`);
    return [
      {
        id: 'P2',
        what: `one notification to ${staffCount} staff, stand-in enforcing 30/s overall and 1/s per chat`,
        figure: `${ms(elapsed)}, ${hits} ${hits === 1 ? 'answer' : 'answers'} of 429`,
        baseline: `floor ${staffCount}/30 s = ${ms(floor)}`,
        ratio: `${(elapsed / floor).toFixed(2)}× floor`,
        target: '≤ 1.1× floor, 0 answers of 429',
        verdict: met ? 'met' : 'missed',
        data: { elapsedMs: elapsed, floorMs: floor, rateLimited: hits, delivered: arrived.size, rowsSent: sent },
        ...(lost ? { broken: `${lost} of ${staffCount} recipients got nothing` } : {}),
      },
    ];
  } finally {
    for (const c of cleanup) await c().catch((err: unknown) => ctx.log(`cleanup: ${String(err)}`));
  }
}
