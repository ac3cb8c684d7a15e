/**
 * What the job tests share: a fresh database with the seeded organisation, the Bot API stand-in with
 * every seeded person as a Telegram user, and the job system on Redis (a unique prefix) or on BullMQ's
 * PostgreSQL backend (in the test database), with policy times shortened to seconds.
 */
import { randomUUID } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { createTelegramGateway } from '../../src/channels/telegram/telegram-gateway.js';
import { freePort } from '../../src/db/embedded.js';
import { resolvePolicy, type Clock, type EscalationPolicy, type PolicyOverrides } from '../../src/domain/index.js';
import { createJobSystem, createQueueBackend, type JobMetricsHook, type JobSystem, type JobTuning } from '../../src/jobs/index.js';
import { createLogger, type Logger } from '../../src/logger.js';
import { startBotApiServer, type BotApiServer, type SandboxMessage } from '../../src/sandbox/bot-api-server.js';
import { reportIncident, type IncidentReport } from '../../src/services/incident.service.js';
import type { ServiceDeps } from '../../src/services/ports.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { seedOrg, TG, type SeededOrg } from '../helpers/fixtures.js';
import { realClockEnv } from '../helpers/real-clock-env.js';
import { telegramNoticeChannel } from '../../src/channels/telegram/notice-channel.js';

export const SHARED_REDIS = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export type BackendKind = 'redis' | 'postgres';

/** Every duration an hour, except what the test shortens. */
export function fastPolicy(overrides: PolicyOverrides = {}): EscalationPolicy {
  const hour = { critical: 3600, standard: 3600 };
  return resolvePolicy({
    ackSeconds: hour,
    informSeconds: { deputy_director: hour, director: hour },
    progressSeconds: hour,
    progressEscalateSeconds: hour,
    upperReportSeconds: hour,
    upperReportEscalateSeconds: hour,
    stepDueSeconds: hour,
    stepEscalateSeconds: hour,
    ...overrides,
  });
}

export const systemClock: Clock = { now: () => new Date() };

export interface HarnessOptions {
  backend: BackendKind;
  redisUrl?: string;
  policy?: EscalationPolicy;
  clock?: Clock;
  tuning?: Partial<JobTuning>;
  /** Start workers (default true). */
  workers?: boolean;
  /** Install the daily job schedulers when starting workers (default false). */
  schedulers?: boolean;
  /** Reuse an existing database and org (several job systems on one database). */
  db?: TestDatabase;
  org?: SeededOrg;
  api?: BotApiServer;
  namespace?: string;
  gatewayTimeoutMs?: number;
  /** Default: silent (TEST_LOG_LEVEL to see it). */
  logger?: Logger;
  /** Per-chat spacing in the deployment's shared send lines, as the app has it (default true); false: the gateway's own, in this process. */
  sharedSlots?: boolean;
  metrics?: JobMetricsHook;
}

export interface Harness {
  t: TestDatabase;
  org: SeededOrg;
  api: BotApiServer;
  jobs: JobSystem;
  deps: ServiceDeps;
  namespace: string;
  policy: EscalationPolicy;
  close(): Promise<void>;
}

const quiet = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');

export async function startApi(): Promise<BotApiServer> {
  const api = await startBotApiServer();
  for (const [key, id] of Object.entries(TG)) {
    api.addUser({ id, first_name: key, language_code: key === 'section2' || key === 'officerA2' ? 'en' : 'zh' });
  }
  return api;
}

export async function startHarness(opts: HarnessOptions): Promise<Harness> {
  const t = opts.db ?? (await createTestDatabase());
  const org = opts.org ?? (await seedOrg(t.db));
  const api = opts.api ?? (await startApi());
  const namespace = opts.namespace ?? `test-${randomUUID().slice(0, 8)}`;
  const policy = opts.policy ?? fastPolicy();
  const backend = createQueueBackend(
    opts.backend === 'redis' ? { redisUrl: opts.redisUrl ?? SHARED_REDIS, namespace } : { databaseUrl: t.url, namespace: namespace.replace(/-/g, '_'), pgPoolMax: 2 },
  );
  // The deployment's shared send lines, as the app wires them (each harness is a process of its own).
  const gateway = createTelegramGateway({
    apiRoot: api.url,
    token: api.token,
    requestTimeoutMs: opts.gatewayTimeoutMs ?? 5_000,
    ...(opts.sharedSlots !== false ? { chatSlots: backend.chatSendSlots?.() } : {}),
  });
  const base = { db: t.db, clock: opts.clock ?? systemClock, timeZone: 'Asia/Shanghai', piiMode: 'masked' as const, cipher: org.cipher, policy: async () => policy };
  const jobs = createJobSystem(
    base,
    { backend, channel: telegramNoticeChannel(gateway, base), logger: opts.logger ?? quiet, ...(opts.metrics ? { metrics: opts.metrics } : {}), tuning: { relayEveryMs: 1_000, reconcileEveryMs: 0, ...opts.tuning } },
  );
  if (opts.workers !== false) await jobs.startWorkers({ schedulers: opts.schedulers ?? false, catchUp: false });
  return {
    t,
    org,
    api,
    jobs,
    deps: jobs.deps,
    namespace,
    policy,
    async close() {
      await jobs.close({ deadlineMs: 3_000 });
      if (opts.backend === 'redis') await wipeRedisPrefix(opts.redisUrl ?? SHARED_REDIS, namespace);
      if (!opts.api) await api.close();
      if (!opts.db) await t.drop();
    },
  };
}

/** Deletes this test's keys (never FLUSHALL on the shared Redis). */
export async function wipeRedisPrefix(url: string, prefix: string): Promise<void> {
  const { Redis } = await import('ioredis');
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await r.connect();
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      cursor = next;
      if (keys.length) await r.del(...keys);
    } while (cursor !== '0');
  } catch {
    // a throwaway server already stopped
  } finally {
    r.disconnect();
  }
}

/** Bot messages in a person's private chat whose text matches. */
export function botTexts(api: BotApiServer, chatId: number, match?: RegExp): SandboxMessage[] {
  return api.botMessages(chatId).filter((m) => !match || match.test(m.text ?? ''));
}

/**
 * The events about an incident in a chat: the short messages that reply to the person's card (the
 * notification rule). The card itself is the one message of the incident that replies to nothing.
 */
export function eventTexts(api: BotApiServer, chatId: number, number: string): SandboxMessage[] {
  return botTexts(api, chatId, new RegExp(number)).filter((m) => m.reply_to_message_id !== undefined);
}

export function cardsIn(api: BotApiServer, chatId: number, number: string): SandboxMessage[] {
  return botTexts(api, chatId, new RegExp(number)).filter((m) => m.reply_to_message_id === undefined);
}

export async function waitFor<T>(probe: () => Promise<T | undefined> | T | undefined, opts: { timeoutMs?: number; everyMs?: number; what?: string } = {}): Promise<T> {
  const until = Date.now() + (opts.timeoutMs ?? 10_000);
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false && v !== null) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${opts.what ?? 'a condition'}`);
    await new Promise((r) => setTimeout(r, opts.everyMs ?? 50));
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Waits until nothing is left to send: no outbox row pending or sending, and no send job waiting,
 * delayed or running. A check that some message was not sent twice is meaningful only after this.
 */
export async function waitForSendsSettled(h: Pick<Harness, 't' | 'jobs'>, opts: { timeoutMs?: number } = {}): Promise<void> {
  await waitFor(
    async () => {
      const [row] = await h.t.sql`select count(*)::int as n from outbox where status in ('pending', 'sending')`;
      if (row!.n > 0) return undefined;
      const counts = await h.jobs.queues.send.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'waiting-children');
      return Object.values(counts).every((n) => n === 0) ? true : undefined;
    },
    { timeoutMs: opts.timeoutMs ?? 15_000, what: 'the outbox and the send queue to drain' },
  );
}

/**
 * Waits until the given timers of an incident have all fired or been cancelled, and nothing of the
 * incident is left in the outbox to send: the moment after which a duplicate or a stray ping would
 * already show. An absence check made after this means something; one after a fixed sleep does not.
 */
export async function waitForIncidentSettled(
  h: Pick<Harness, 't'>,
  incidentId: string,
  opts: { kinds: string[]; timeoutMs?: number },
): Promise<void> {
  await waitFor(
    async () => {
      const [row] = await h.t.sql`
        select
          (select count(*)::int from timers where incident_id = ${incidentId} and kind = any(${opts.kinds}) and state = 'pending') as timers,
          (select count(*)::int from timers where incident_id = ${incidentId} and kind = any(${opts.kinds})) as all_timers,
          (select count(*)::int from outbox where incident_id = ${incidentId} and status in ('pending', 'sending')) as unsent`;
      return row!.all_timers > 0 && row!.timers === 0 && row!.unsent === 0 ? true : undefined;
    },
    { timeoutMs: opts.timeoutMs ?? 15_000, what: `incident ${incidentId}: ${opts.kinds.join(', ')} timers done and outbox drained` },
  );
}

/** A throwaway redis-server on a free port, for tests that wipe or stop Redis. */
export async function startThrowawayRedis(): Promise<{ url: string; port: number; stop(): Promise<void>; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no', '--bind', '127.0.0.1'], { stdio: 'ignore', env: realClockEnv() });
  const { Redis } = await import('ioredis');
  await waitFor(
    async () => {
      const r = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      r.on('error', () => undefined);
      try {
        await r.connect();
        return (await r.ping()) === 'PONG';
      } catch {
        return undefined;
      } finally {
        r.disconnect();
      }
    },
    { timeoutMs: 10_000, what: 'redis-server to start' },
  );
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** A type 一 incident reported now by officer A1 of office A, through the service: setup for timer tests. */
export function reportViolentCrime(h: Pick<Harness, 'deps' | 'org'>, description: string, extra: Partial<IncidentReport> = {}) {
  return reportIncident(h.deps, h.org.actor('officerA1'), {
    type: 'violent_crime',
    subjectId: h.org.subjects.a1,
    officeUnitId: h.org.units.officeA,
    discoveredAt: new Date(),
    injured: 0,
    dead: 0,
    description,
    ...extra,
  });
}

/** The card an event replies to, in the event's chat; fails when the message replies to nothing. */
export function cardOf(api: BotApiServer, event: SandboxMessage): SandboxMessage {
  const card = event.reply_to_message_id !== undefined ? api.message(event.chat_id, event.reply_to_message_id) : undefined;
  if (!card) throw new Error(`message ${event.message_id} in chat ${event.chat_id} replies to no card: ${JSON.stringify(event.text)}`);
  return card;
}

/**
 * When the stand-in accepted each message the bot sent to a chat (ms), by message id: a message's `date`
 * is whole seconds. The chat's accepted sendMessage requests, in order, are its bot messages in order
 * (the job tests send nothing else to a private chat). A request is logged once answered, a moment after
 * its message shows: this waits for the log to catch up.
 */
export async function sentAtMs(api: BotApiServer, chatId: number): Promise<Map<number, number>> {
  return waitFor(
    () => {
      const sends = api.requests
        .filter((r) => r.method === 'sendMessage' && Number(r.chat_id) === chatId && r.status === 200)
        .map((r) => r.at)
        .sort((a, b) => a - b);
      const messages = api.botMessages(chatId).sort((a, b) => a.message_id - b.message_id);
      return sends.length === messages.length ? new Map(messages.map((m, i) => [m.message_id, sends[i]!])) : undefined;
    },
    { timeoutMs: 3_000, what: `chat ${chatId}: a logged request for each bot message` },
  );
}
