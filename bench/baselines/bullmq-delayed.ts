/**
 * Baseline for P3: a bare BullMQ delayed job. Its worker hands one sendMessage to the Bot API stand-in
 * when the job fires, nothing else: no PostgreSQL, no outbox, no limiter. The parent adds the jobs (so
 * both rows use the same pending load) and measures lateness at the stand-in.
 *
 * Env: REDIS_URL, QUEUE_PREFIX, QUEUE_NAME, BOT_TOKEN, TELEGRAM_API_ROOT. IPC: `{ type: 'ready' }`.
 */
import { Worker } from 'bullmq';

const apiRoot = process.env.TELEGRAM_API_ROOT!.replace(/\/+$/, '');
const token = process.env.BOT_TOKEN!;

const worker = new Worker(
  process.env.QUEUE_NAME ?? 'baseline',
  async (job) => {
    const { chatId, text } = job.data as { chatId: number; text: string };
    const res = await fetch(`${apiRoot}/bot${token}/sendMessage`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ chat_id: chatId, text }),
    });
    if (!res.ok) throw new Error(`sendMessage: HTTP ${res.status}`);
  },
  { connection: { url: process.env.REDIS_URL!, maxRetriesPerRequest: null }, prefix: process.env.QUEUE_PREFIX ?? 'baseline', concurrency: 10 },
);
worker.on('error', (e) => process.stderr.write(`baseline worker: ${String(e)}\n`));
void worker.waitUntilReady().then(() => process.send?.({ type: 'ready' }));

process.on('SIGTERM', () => {
  void worker.close().finally(() => process.exit(0));
});
