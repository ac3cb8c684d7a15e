/**
 * Starts the product as its own process — `node --import tsx src/main.ts --role …` (as `npm start` runs it)
 * — pointed at a database, a Redis, and the Bot API stand-in, in webhook mode for the bot roles.
 * `tuned: true` runs bench/sut-entry.ts instead (same runApp, job timings from the caller); `image` runs
 * the production build as the Dockerfile does (`node --enable-source-maps dist/bundle/main.mjs`).
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../src/db/embedded.js';
import type { BotApiServer } from '../../src/sandbox/bot-api-server.js';
import { IMAGE_NODE_ARGS } from './bundle.js';
import { spawnTs, waitForHttp, type Child } from './processes.js';
import { BENCH_BOT } from './telegram-side.js';

const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));
const TUNED = fileURLToPath(new URL('../sut-entry.ts', import.meta.url));

export interface SutOptions {
  role: 'all' | 'bot' | 'worker';
  databaseUrl: string;
  /** Without: BullMQ's PostgreSQL backend in the same database. */
  redisUrl?: string;
  server: BotApiServer;
  piiKeyHex: string;
  piiMode?: 'codes' | 'masked' | 'full';
  logLevel?: string;
  /** Run bench/sut-entry.ts with these job timings. */
  tuning?: Record<string, number>;
  queueNamespace?: string;
  policyTimeScale?: number;
  /** One webhook secret per deployment; several bot processes share it. */
  webhookSecret?: string;
  captureOutput?: boolean;
  echo?: string;
  label?: string;
  env?: Record<string, string | undefined>;
  nodeArgs?: string[];
  timeoutMs?: number;
  /** Run this JavaScript bundle of bench/sut-entry.ts with Node alone instead of the sources under tsx (P5). */
  bundle?: string;
  /** Run the image's build (dist/bundle/main.mjs) as the image does: `node --enable-source-maps main.mjs --role …`. */
  image?: string;
}

export interface Sut {
  child: Child;
  port: number | undefined;
  webhookUrl: string | undefined;
  webhookSecret: string;
  /** Set once stop() was called: an exit after that is not a crash. */
  stopping: boolean;
  stop(): Promise<void>;
}

export const newWebhookSecret = () => randomBytes(24).toString('base64url');

export async function startSut(opts: SutOptions): Promise<Sut> {
  const port = opts.role === 'worker' ? undefined : await freePort();
  const webhookSecret = opts.webhookSecret ?? newWebhookSecret();
  const webhookUrl = port ? `http://127.0.0.1:${port}/telegram/webhook` : undefined;
  // A worker has no HTTP server to ask: the tuned entry says when it is up.
  const tuned = opts.image === undefined && (opts.tuning !== undefined || opts.queueNamespace !== undefined || opts.role === 'worker' || opts.bundle !== undefined);
  const env: Record<string, string | undefined> = {
    BOT_TOKEN: BENCH_BOT.token,
    BOT_USERNAME: BENCH_BOT.username,
    TELEGRAM_API_ROOT: opts.server.url,
    DATABASE_URL: opts.databaseUrl,
    REDIS_URL: opts.redisUrl,
    BOT_MODE: port ? 'webhook' : 'polling',
    WEBHOOK_URL: webhookUrl,
    WEBHOOK_SECRET: webhookSecret,
    PORT: port ? String(port) : '0',
    HOST: '127.0.0.1',
    PII_KEY: opts.piiKeyHex,
    PII_MODE: opts.piiMode ?? 'masked',
    // A worker run as the image says it is up only in an info line.
    LOG_LEVEL: opts.logLevel ?? (opts.image && opts.role === 'worker' ? 'info' : 'warn'),
    POLICY_TIME_SCALE: opts.policyTimeScale !== undefined ? String(opts.policyTimeScale) : undefined,
    DATA_DIR: undefined,
    NODE_ENV: 'production',
    BENCH_JOB_TUNING: opts.tuning ? JSON.stringify(opts.tuning) : undefined,
    BENCH_QUEUE_NAMESPACE: opts.queueNamespace,
    BENCH_ROLE: opts.bundle ? opts.role : undefined,
    ...opts.env,
  };
  const child = spawnTs(opts.image ?? opts.bundle ?? (tuned ? TUNED : MAIN), opts.bundle ? [] : ['--role', opts.role], {
    ...(opts.image ? { asMain: true } : opts.bundle ? { plainNode: true } : {}),
    env,
    ipc: tuned,
    // An image worker logs at info: keep its lines only when asked.
    captureOutput: opts.captureOutput ?? !(opts.image && opts.role === 'worker'),
    ...(opts.echo ? { echo: opts.echo } : {}),
    ...(opts.nodeArgs || opts.image ? { nodeArgs: [...(opts.image ? IMAGE_NODE_ARGS : []), ...(opts.nodeArgs ?? [])] } : {}),
    label: opts.label ?? `sut(${opts.role})`,
  });
  const timeoutMs = opts.timeoutMs ?? 90_000;
  try {
    if (tuned) await child.waitForMessage((m) => (m as { type?: string }).type === 'ready', timeoutMs);
    else if (port) await Promise.race([waitForHttp(`http://127.0.0.1:${port}/readyz`, timeoutMs), child.exited.then(() => Promise.reject(new Error(`${child.label} exited during start\n${child.output.slice(-20).join('\n')}`)))]);
    else await child.waitForLine(/workers started/, timeoutMs);
    if (port) {
      // The bot sets its webhook after the HTTP server listens: wait until the stand-in has it.
      const deadline = Date.now() + timeoutMs;
      while (opts.server.webhookInfo().url !== webhookUrl) {
        if (Date.now() > deadline || !child.alive) throw new Error(`${child.label} did not set its webhook\n${child.output.slice(-20).join('\n')}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  const sut: Sut = {
    child,
    port,
    webhookUrl,
    webhookSecret,
    stopping: false,
    stop: () => {
      sut.stopping = true;
      return child.stop(15_000);
    },
  };
  return sut;
}
