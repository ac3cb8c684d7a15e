/**
 * Why P2 meets 429s: BullMQ's limiter counts jobs per fixed window, Telegram (and the stand-in) count
 * messages per sliding second. This sends N messages through a bare BullMQ worker with a given limiter
 * against the stand-in enforcing 30/s, and prints the time and the 429s, for two limiter settings.
 * Usage: npx tsx bench/tools/limiter-experiment.ts [N]
 */
import { performance } from 'node:perf_hooks';
import { Queue, Worker } from 'bullmq';
import { startBotApiServer } from '../../src/sandbox/bot-api-server.js';
import { startThrowawayRedis } from '../lib/redis-server.js';

const N = Number(process.argv[2] ?? 100);
const redis = await startThrowawayRedis();
const token = '700000002:LIMITER-experiment-000000';
for (const limiter of [{ max: 30, duration: 1_000 }, { max: 1, duration: 35 }, { max: 1, duration: 34 }]) {
  const server = await startBotApiServer({ bots: [{ token, username: 'limiter_bot' }], limits: { globalPerSecond: 30, perChatPerSecond: 1 } });
  for (let i = 0; i < N; i++) server.addUser({ id: 10_000 + i, first_name: `u${i}` });
  const name = `exp-${limiter.max}-${limiter.duration}`;
  const q = new Queue(name, { connection: { url: redis.url } });
  let rateLimited = 0;
  let done = 0;
  const t0 = performance.now();
  let last = 0;
  const worker = new Worker(
    name,
    async (job) => {
      const res = await fetch(`${server.url}/bot${token}/sendMessage`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ chat_id: job.data.chat, text: 'x' }) });
      const body = (await res.json()) as { ok: boolean; parameters?: { retry_after?: number } };
      if (!body.ok) {
        rateLimited++;
        await worker.rateLimit((body.parameters?.retry_after ?? 1) * 1_000);
        throw Worker.RateLimitError();
      }
      done++;
      last = performance.now();
    },
    { connection: { url: redis.url, maxRetriesPerRequest: null }, concurrency: 10, limiter },
  );
  await worker.waitUntilReady();
  await q.addBulk(Array.from({ length: N }, (_, i) => ({ name: 'send', data: { chat: 10_000 + i }, opts: { attempts: 20 } })));
  while (done < N) await new Promise((r) => setTimeout(r, 20));
  console.log(`limiter ${JSON.stringify(limiter)}: ${N} messages in ${((last - t0) / 1000).toFixed(2)} s (floor ${(N / 30).toFixed(2)} s), ${rateLimited} answers of 429`);
  await worker.close();
  await q.obliterate({ force: true });
  await q.close();
  await server.close();
}
await redis.stop();
