/**
 * P3 during a report storm: a burst of deadline notices (each a timer of the escalation ladder, to a
 * different person) falls due within a few seconds while staff file reports as in P6, against a stand-in
 * that enforces Telegram's flood limits. A deployment of its own, the default one (compose.yaml): one bot
 * process and two workers, run as the image runs them, a fresh database and a throwaway Redis.
 *
 * Lateness = due time → the stand-in accepts the notice. The staff filing reports never receive one of the
 * deadline notices, so a notice's lateness is the send path's, not a wait behind its own chat's replies.
 */
import { performance } from 'node:perf_hooks';
import { createTestDatabase } from '../../test/helpers/db.js';
import { buildImage } from '../lib/bundle.js';
import { TARGETS, TELEGRAM_LIMITS, type BenchContext, type Measured } from '../lib/context.js';
import { cloneOpenIncidents, templateIncident } from '../lib/incidents.js';
import { runLoad, startLoadGenerator } from '../lib/loadgen-client.js';
import { productQueues } from '../lib/queues.js';
import { startThrowawayRedis } from '../lib/redis-server.js';
import { seedBenchOrg } from '../lib/seed.js';
import { ms, summarize, throughput } from '../lib/stats.js';
import { startSut } from '../lib/sut.js';
import { startTelegramSide } from '../lib/telegram-side.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function runBurstSegment(ctx: BenchContext): Promise<Measured[]> {
  const s = ctx.sizes;
  const db = await createTestDatabase();
  const cleanup: Array<() => Promise<unknown>> = [async () => db.drop()];
  try {
    ctx.log(`P3 burst: seeding ${s.offices} offices × ${s.officersPerOffice} officers`);
    const org = await seedBenchOrg(db.db, { offices: s.offices, officersPerOffice: s.officersPerOffice });
    if (org.officers.length < s.p3BurstCount + 1) throw new Error(`P3 burst needs more than ${s.p3BurstCount} officers`);
    const redis = await startThrowawayRedis();
    cleanup.unshift(() => redis.stop());
    const { server, tracker } = await startTelegramSide({ limits: { ...TELEGRAM_LIMITS } });
    cleanup.unshift(() => server.close());
    for (const p of org.everyone) server.addUser({ id: p.telegramId, first_name: `staff${p.telegramId}` });
    const gen = await startLoadGenerator();
    cleanup.unshift(() => gen.stop());
    const image = process.env.BENCH_TSX === '1' ? undefined : await buildImage();
    const common = { databaseUrl: db.url, redisUrl: redis.url, server, piiKeyHex: org.piiKeyHex, ...(image ? { image } : { queueNamespace: 'cc' }) };
    const bot = await startSut({ ...common, role: 'bot', label: 'bot', ...(ctx.echo ? { echo: 'bot' } : {}) });
    cleanup.unshift(() => bot.stop());
    for (const n of [1, 2]) {
      const worker = await startSut({ ...common, role: 'worker', label: `worker ${n}`, ...(ctx.echo ? { echo: `worker${n}` } : {}) });
      cleanup.unshift(() => worker.stop());
    }
    const queues = productQueues(redis.url);
    cleanup.unshift(() => queues.close());

    const recipients = org.officers.slice(-s.p3BurstCount);
    const filers = org.officers.slice(0, Math.min(s.p3BurstLoadUsers, org.officers.length - s.p3BurstCount));
    const tpl = await templateIncident(db, org);

    const lateness = new Map<number, number>();
    let due = new Map<number, number>();
    const onMessage = (m: { chat_id: number; from_bot: boolean }) => {
      if (!m.from_bot) return;
      const d = due.get(m.chat_id);
      if (d !== undefined && !lateness.has(m.chat_id)) lateness.set(m.chat_id, Date.now() - d);
    };
    server.on('message', onMessage);
    const hitsBefore = server.rateLimitHits.length;
    const t0 = performance.now();
    ctx.log(`P3 burst: ${filers.length} staff file reports at ${s.p6Rate}/s offered; ${s.p3BurstCount} deadline notices fall due within ${ms(s.p3BurstWindowMs)}`);
    const load = runLoad(gen, tracker, {
      apiUrl: server.url,
      scenario: 'report-form',
      users: filers.map((o) => ({ userId: o.telegramId, chatId: o.telegramId, subjectQuery: o.subjectCode })),
      iterations: s.p6Forms,
      ratePerSecond: s.p6Rate,
      stepTimeoutMs: 120_000,
    });
    // The burst starts once the storm is under way: a few seconds of reports and their notices queued.
    await sleep(Math.min(5_000, s.p3BurstWindowMs));
    const first = Date.now() + 2_000;
    const spacing = s.p3BurstWindowMs / s.p3BurstCount;
    const burst = await cloneOpenIncidents(db, tpl, { count: s.p3BurstCount, reporters: recipients, dueAt: (i) => new Date(first + i * spacing), numberPrefix: 'BURST-' });
    due = new Map(burst.map((b) => [b.chatId, b.dueAt.getTime()]));
    // As the bot process schedules a timer right after its transaction commits.
    await queues.dispatcher.scheduleTimers(burst.map((b) => ({ id: b.timerId, dedupeKey: b.dedupeKey, dueAt: b.dueAt })));
    const last = first + s.p3BurstWindowMs;
    const deadline = last + 120_000;
    while (lateness.size < burst.length && Date.now() < deadline) await sleep(100);
    const burstHits = server.rateLimitHits.slice(hitsBefore);
    const storm = await load;
    server.off('message', onMessage);

    const stages = await db.sql<{ fired: number | null; sent: number | null }[]>`
      select extract(epoch from (t.fired_at - t.due_at)) * 1000 as fired,
             extract(epoch from (o.sent_at - t.due_at)) * 1000 as sent
      from timers t join outbox o on o.timer_id = t.id
      where t.id in ${db.sql(burst.map((b) => b.timerId))}`;
    const stage = (k: 'fired' | 'sent') => summarize(stages.flatMap((r) => (r[k] === null ? [] : [Number(r[k])])).filter(Number.isFinite));
    const lat = summarize([...lateness.values()]);
    const lost = burst.length - lateness.size;
    const timings = tracker.since(t0);
    const replies = summarize(timings.filter((t) => t.firstReplyAt !== undefined).map((t) => t.firstReplyAt! - t.startedAt));
    const tp = throughput(timings.filter((t) => t.handledAt !== undefined).map((t) => t.handledAt!));
    const byScope = burstHits.reduce<Record<string, number>>((m, h) => ((m[h.scope] = (m[h.scope] ?? 0) + 1), m), {});
    const scopes = Object.entries(byScope).map(([k, v]) => `${v} ${k}`).join(', ');
    const met = lost === 0 && lat.p99 <= TARGETS.p3P99Ms;
    const breakdown = `timer job ran ${ms(stage('fired').median)} after due (median; p99 ${ms(stage('fired').p99)}), notice sent ${ms(stage('sent').median)} after due (p99 ${ms(stage('sent').p99)})`;
    const stormText = `the storm meanwhile: ${storm.completed}/${filers.length * s.p6Forms} forms, ${tp.overall.toFixed(0)} updates/s, reply p99 ${ms(replies.p99)}`;
    ctx.log(`P3 burst lateness median ${ms(lat.median)} p99 ${ms(lat.p99)} max ${ms(lat.max)} (${lateness.size}/${burst.length}); ${breakdown}; ${burstHits.length} × 429${scopes ? ` (${scopes})` : ''}; ${stormText}`);
    return [
      {
        id: 'P3',
        what: `burst: ${s.p3BurstCount} deadline notices due within ${ms(s.p3BurstWindowMs)}, each to a different person, while ${filers.length} staff file reports (${s.p6Rate}/s offered), on the default deployment (1 bot process + 2 workers); stand-in enforcing Telegram's limits`,
        figure: `p99 ${ms(lat.p99)}, median ${ms(lat.median)}, max ${ms(lat.max)} (n=${lat.n}); ${burstHits.length} × 429${scopes ? ` (${scopes})` : ''}`,
        baseline: '—',
        ratio: `${(lat.p99 / TARGETS.p3P99Ms).toFixed(2)} of limit`,
        target: `p99 ≤ ${ms(TARGETS.p3P99Ms)}`,
        verdict: met ? 'met' : 'missed',
        note: `${breakdown}; ${stormText}`,
        data: { burst: true, lateness: lat, lost, fired: stage('fired'), sent: stage('sent'), rateLimited: burstHits.length, byScope, storm: { completed: storm.completed, failed: storm.failed, updatesPerSecond: tp.overall, replyP99Ms: replies.p99 } },
        ...(lost ? { broken: `${lost} of ${burst.length} deadline notices had not arrived 120 s after the last was due` } : {}),
      },
    ];
  } finally {
    for (const c of cleanup) await c().catch((err: unknown) => ctx.log(`cleanup: ${String(err)}`));
  }
}
