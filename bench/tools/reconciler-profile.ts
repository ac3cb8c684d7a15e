/**
 * Where a reconciliation pass spends its time at scale: N pending timers in a fresh database, due evenly from
 * five minutes to 48 hours ahead (about 2% within the queue's one-hour horizon), a throwaway redis-server
 * (never the shared one on 6379), then
 *   - `phases`: the pass's parts on their own — the page reads, the still-pending checks, the presence
 *     checks (on an empty queue, as after a wipe) and the adds (addBulk a page at a time, 1/2/4 in flight);
 *   - `passes`: whole passes of the reconciler (which queue only the timers within the horizon), on a wiped
 *     queue and on a full one (nothing missing), each
 *     with the CPU of this process, of Redis and of this database's PostgreSQL backends, and this
 *     process's RSS and heap before and at most during the pass.
 *
 *   npx tsx bench/tools/reconciler-profile.ts [N=100000] [phases,passes] [pageSize] [horizonMs]
 *
 * Print `uptime` with the figures: the machine is shared, and wall times move with its load.
 */
import { performance } from 'node:perf_hooks';
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { createQueueBackend } from '../../src/jobs/queue-backend.js';
import { jobIdOf } from '../../src/jobs/catalogue.js';
import { TIMER_QUEUE_HORIZON_MS, timerJob } from '../../src/jobs/dispatcher.js';
import { createJobCounters } from '../../src/jobs/metrics.js';
import { TimerReconciler } from '../../src/jobs/reconciler.js';
import { createLogger } from '../../src/logger.js';
import { ADMIN_URL, createTestDatabase } from '../../test/helpers/db.js';
import { backendPids, cpuMs } from '../lib/cpu.js';
import { startThrowawayRedis } from '../lib/redis-server.js';

const N = Number(process.argv[2] ?? 100_000);
const what = new Set((process.argv[3] ?? 'phases,passes').split(','));
const PAGE = process.argv[4] ? Number(process.argv[4]) : undefined;
const size = PAGE ?? 1_000;
/** The passes' horizon (default the product's); 48 h or more queues every timer, as before there was one. */
const HORIZON = process.argv[5] ? Number(process.argv[5]) : TIMER_QUEUE_HORIZON_MS;
const f0 = (x: number) => `${x.toFixed(0)} ms`;
const mb = (x: number) => `${(x / 1024 / 1024).toFixed(0)} MB`;

const db = await createTestDatabase();
const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
const redis = await startThrowawayRedis();
const backend = createQueueBackend({ redisUrl: redis.url, namespace: 'prof' });
const queue = backend.createQueue('timers');
const client = (await (queue.getBackend() as unknown as { client: Promise<unknown> }).client) as {
  flushall(): Promise<unknown>;
  info(s: string): Promise<string>;
  pipeline(): { zmscore(k: string, ...m: string[]): unknown; exists(...k: string[]): unknown; exec(): Promise<unknown> };
};
const redisCpu = async () => {
  const info = await client.info('cpu');
  return (Number(/used_cpu_sys:([\d.]+)/.exec(info)?.[1] ?? 0) + Number(/used_cpu_user:([\d.]+)/.exec(info)?.[1] ?? 0)) * 1000;
};
/** Wall, node CPU, Redis CPU and PostgreSQL backend CPU of `run`. */
async function measure<T>(run: () => Promise<T>): Promise<{ value: T; text: string; wall: number }> {
  const pg0 = new Map((await backendPids(admin, db.name)).map((p) => [p, cpuMs(p)]));
  const r0 = await redisCpu();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const value = await run();
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  const r = (await redisCpu()) - r0;
  let pg = 0;
  for (const p of await backendPids(admin, db.name)) pg += Math.max(0, cpuMs(p) - (pg0.get(p) ?? 0));
  return { value, wall, text: `${f0(wall)} (CPU: node ${f0((c.user + c.system) / 1000)}, redis ${f0(r)}, postgres ${f0(pg)})` };
}

try {
  const t0 = performance.now();
  await db.db.execute(sql`
    insert into timers (kind, level, due_at, dedupe_key, target)
    select 'progress', 1, now() + interval '5 minutes' + ((g * 7919) % ${N}) * (interval '48 hours' - interval '5 minutes') / ${N},
           'progress-' || gen_random_uuid() || '-1-0', '{"role":"reporter"}'::jsonb
    from generate_series(1, ${N}) g`);
  await db.db.execute(sql`vacuum analyze timers`);
  console.log(`${N} pending timers written in ${f0(performance.now() - t0)}; page ${size}; horizon ${f0(HORIZON)}`);

  if (what.has('phases')) {
    // The reads as the old pass made them (id order, eight columns through drizzle, IN lists) and as the
    // new one makes them (due order, three columns, one array parameter), in raw SQL so both can be run.
    const zero = '00000000-0000-0000-0000-000000000000';
    const pages: Array<Array<{ id: string; dedupe_key: string; due_at: string }>> = [];
    const m1 = await measure(async () => {
      for (let after = zero; ; ) {
        const p = await db.sql<{ id: string }[]>`select id, kind, dedupe_key, due_at, created_at, incident_id, subject_id, is_drill from timers where state = 'pending' and id > ${after} order by id limit ${size}`;
        if (p.length < size) break;
        after = p.at(-1)!.id;
      }
    });
    console.log(`page reads, id order, 8 columns: ${m1.text}`);
    const m2 = await measure(async () => {
      for (let after = zero; ; ) {
        const p = await db.sql<Array<{ id: string; dedupe_key: string; due_at: string }>>`
          select id, dedupe_key, due_at from timers where state = 'pending'
          and (due_at, id) > (coalesce((select due_at from timers where id = ${after}::uuid), '-infinity'), ${after}::uuid)
          order by due_at, id limit ${size}`;
        if (p.length) pages.push(p);
        if (p.length < size) break;
        after = p.at(-1)!.id;
      }
    });
    console.log(`page reads, due order, 3 columns: ${m2.text}`);
    const m3 = await measure(async () => {
      for (const p of pages) await db.sql.unsafe(`select id from timers where id in (${p.map((_, i) => `$${i + 1}`).join(',')}) and state = 'pending'`, p.map((t) => t.id));
    });
    console.log(`still-pending checks, IN list of ${size}: ${m3.text}`);
    const m4 = await measure(async () => {
      for (const p of pages) await db.sql`select id from timers where id = any(${p.map((t) => t.id)}::uuid[]) and state = 'pending'`;
    });
    console.log(`still-pending checks, one array parameter: ${m4.text}`);

    await client.flushall();
    const m5 = await measure(async () => {
      for (const p of pages) {
        const ids = p.map((t) => jobIdOf(t.dedupe_key));
        const pl = client.pipeline();
        pl.zmscore(queue.toKey('delayed'), ...ids);
        pl.zmscore(queue.toKey('completed'), ...ids);
        pl.zmscore(queue.toKey('failed'), ...ids);
        pl.exists(...ids.map((id) => queue.toKey(id)));
        await pl.exec();
      }
    });
    console.log(`presence checks on an empty queue: ${m5.text}`);

    const all = pages.flat().map((t) => ({ id: t.id, dedupeKey: t.dedupe_key, dueAt: new Date(t.due_at) }));
    for (const inFlight of [1, 2, 4]) {
      await client.flushall();
      const m = await measure(async () => {
        const now = new Date();
        const running: Array<Promise<unknown>> = [];
        for (let i = 0; i < all.length; i += size) {
          running.push(queue.addBulk(all.slice(i, i + size).map((t) => timerJob(t, now))));
          if (running.length >= inFlight) await running.shift();
        }
        await Promise.all(running);
      });
      console.log(`adds (addBulk per page), ${inFlight} in flight: ${m.text}`);
    }
  }

  if (what.has('passes')) {
    const reconciler = () =>
      new TimerReconciler({
        db: db.db,
        clock: { now: () => new Date() },
        queue,
        logger: createLogger('silent'),
        counters: createJobCounters(),
        everyMs: 0,
        overdueAlertAfterMs: 60_000,
        lockName: 'prof',
        horizonMs: HORIZON,
        alertOverdue: async () => 0,
        ...(PAGE ? { pageSize: PAGE } : {}),
      });
    const passes: Array<'wipe' | 'steady'> = ['wipe', 'steady', 'wipe'];
    for (const kind of passes) {
      if (kind === 'wipe') await client.flushall();
      global.gc?.();
      const before = process.memoryUsage();
      let maxRss = before.rss;
      let maxHeap = before.heapUsed;
      const sampler = setInterval(() => {
        const m = process.memoryUsage();
        maxRss = Math.max(maxRss, m.rss);
        maxHeap = Math.max(maxHeap, m.heapUsed);
      }, 20);
      // As the bench counts P4: until every pending timer within the horizon has its job (the pass goes on with
      // the orphans). The pass counts its horizon from a moment later than this: it may queue a few more.
      const [within] = await db.sql<{ n: number }[]>`select count(*)::int as n from timers where state = 'pending' and due_at < ${new Date(Date.now() + HORIZON).toISOString()}::timestamptz`;
      const expected = within!.n;
      const started = performance.now();
      let allQueued = Number.NaN;
      const poll = setInterval(() => {
        if (Number.isNaN(allQueued)) void queue.getJobCounts('delayed').then((c) => (c.delayed ?? 0) >= expected && Number.isNaN(allQueued) && (allQueued = performance.now() - started));
      }, 50);
      const m = await measure(() => reconciler().runOnce());
      clearInterval(sampler);
      clearInterval(poll);
      const c = await queue.getJobCounts('delayed');
      const d = m.value;
      console.log(
        `${kind} pass: ${m.text}; ${expected} of ${N} within the horizon; every one queued after ${kind === 'wipe' ? f0(allQueued) : '-'}; pending ${d.pending}, missing ${d.missing}, orphaned ${d.orphaned}; delayed jobs ${c.delayed}; ` +
          `RSS ${mb(before.rss)} → max ${mb(maxRss)} (+${mb(maxRss - before.rss)}), heap used ${mb(before.heapUsed)} → max ${mb(maxHeap)}`,
      );
      if ((c.delayed ?? 0) < expected) throw new Error(`lost: ${expected - (c.delayed ?? 0)}`);
    }
  }
} finally {
  await queue.close();
  await redis.stop();
  await admin.end();
  await db.drop();
}
