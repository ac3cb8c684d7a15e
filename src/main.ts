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
 * SIGTERM / SIGINT (and SIGHUP, a closed terminal): stop taking updates and jobs, let running jobs
 * finish, close the connections, stop the embedded PostgreSQL last, exit 0 — all within
 * SHUTDOWN_DEADLINE_MS, with one log line per component. `npm start` and `npm run start:prod` `exec` node,
 * so a signal sent to npm reaches this process (npm forwards it to its child, which would otherwise be a
 * `sh` that keeps it).
 *
 * The log is JSON for production, readable lines in the sandbox or on a terminal (LOG_FORMAT); the
 * sandbox ends its start-up with a short banner.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { FastifyInstance } from 'fastify';
import postgres from 'postgres';
import { effectivePolicy } from './admin/policy.js';
import { createBot, startBot, type RunningBot } from './bot/index.js';
import { createTelegramGateway } from './bot/telegram-gateway.js';
import { connectDatabase, migrateDatabase, type DbHandle } from './db/client.js';
import { isEmbeddedDatabaseUrl, startEmbeddedPostgres, type EmbeddedDatabase } from './db/embedded.js';
import { loadPiiKey, PiiCipher } from './db/pii-crypto.js';
import { parseConfig, type Config } from './config.js';
import type { Clock } from './domain/index.js';
import { createJobSystem, createQueueBackend, DEFAULT_TUNING, type JobSystem, type JobTuning } from './jobs/index.js';
import { afterIncidentPlugin } from './flows/after-incident/index.js';
import { createHttpServer } from './http/server.js';
import { createLogger, prettyDestination, resolveLogFormat, type Logger } from './logger.js';
import { postgresCheck, queueCheck } from './ops/health.js';
import { metrics as opsMetrics } from './ops/metrics.js';
import { registerOpsRoutes } from './ops/routes.js';
import { sandboxBanner } from './sandbox/banner.js';
import { scaleLabel } from './sandbox/page-config.js';
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

/** Milliseconds from a stop signal to exit (SHUTDOWN_DEADLINE_MS): the drain and every close fit in it. */
export function shutdownDeadlineMs(config: Config): number {
  return config.jobTuning.shutdownDeadlineMs ?? DEFAULT_TUNING.shutdownDeadlineMs;
}

/**
 * Of the deadline, what running jobs get to finish: the rest is kept for closing the queues (at most 2 s),
 * the HTTP server, the pools and the embedded PostgreSQL. At least half of it, for a short deadline.
 */
function jobDrainMs(deadlineMs: number): number {
  return Math.max(deadlineMs - 3_000, Math.floor(deadlineMs / 2));
}

/** Connections of the per-chat lock pool: at most this many chats are handled at the same moment. */
const CHAT_LOCK_POOL = 10;

export async function runApp(opts: RunAppOptions): Promise<AppHandle> {
  const { config, role } = opts;
  const logger = opts.logger ?? createLogger(config.logLevel);
  const clock = opts.clock ?? systemClock;
  const closers: Array<() => Promise<unknown>> = [];

  // src/main.ts starts the embedded database itself and passes its URL (see startEmbedded); another
  // caller with no DATABASE_URL gets one started here, and stopped last by shutdown.
  let embedded: EmbeddedDatabase | undefined;
  let databaseUrl = config.databaseUrl;
  if (!databaseUrl) {
    embedded = await startEmbedded(config.dataDir, logger, { detached: false });
    databaseUrl = embedded.url;
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
  logger.info(
    {
      role,
      queueBackend: backend.kind,
      database: embedded || isEmbeddedDatabaseUrl(databaseUrl) ? 'embedded' : 'external',
      ...(config.policyTimeScale !== 1 ? { policyTimeScale: scaleLabel(config.policyTimeScale) } : {}),
    },
    'starting',
  );

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
    const bot = await startBotPart({ config: { ...config, botToken }, logger, jobs, http, chatLocks: createPgChatLocks(chatLockSql, { dedicated: true }) });
    // Stops taking updates (the batch in hand finishes), then frees the lock pool it used.
    closers.push(async () => {
      await bot.stop();
      await chatLockSql.end({ timeout: 5 });
    });
  } else if (role !== 'worker') {
    logger.warn('no BOT_TOKEN: the bot is not started (the sandbox, src/sandbox, runs one of its own)');
  }
  if (!http.server.listening) await http.listen({ port: config.port, host: config.host });
  logger.info({ port: (http.server.address() as { port?: number } | null)?.port ?? config.port }, 'http listening');

  // One info line per component, in the order they stop: what takes work in first, the database last.
  // A close that fails is one warn line with its message: at shutdown a stack trace tells nobody anything.
  const deadlineMs = opts.jobTuning?.shutdownDeadlineMs ?? shutdownDeadlineMs(config);
  const step = async (component: string, done: string, close: () => Promise<unknown>): Promise<void> => {
    try {
      await close();
      logger.info({ component }, done);
    } catch (err) {
      logger.warn({ component, error: (err as Error)?.message ?? String(err) }, `${component}: error while stopping`);
    }
  };
  let shutdownPromise: Promise<void> | undefined;
  const shutdown = (reason = 'shutdown'): Promise<void> =>
    (shutdownPromise ??= (async () => {
      shuttingDown = true;
      logger.info({ reason, deadlineMs }, 'draining');
      for (const close of closers.reverse()) await step('bot', 'bot stopped: no more updates taken', close);
      await step('jobs', 'workers stopped: jobs in hand finished or left to be retried', () => jobs.close({ deadlineMs: jobDrainMs(deadlineMs) }));
      await step('http', 'http server closed', () => http.close());
      await step('database', 'database connections closed', () => db.close());
      if (embedded) await step('embedded-postgres', 'embedded PostgreSQL stopped', () => embedded.stop());
    })());

  return { config, role, logger, db, jobs, http, shutdown };
}

/**
 * The embedded PostgreSQL under DATA_DIR (src/db/embedded.ts takes back the signal hooks its package
 * installs: the shutdown here stops the server, last). `detached` when this process is the program,
 * which stops it on every signal: in a process group of its own, a terminal's Ctrl+C reaches the
 * program only, and the server keeps serving until the drain is over.
 */
async function startEmbedded(dataDir: string, logger: Logger, opts: { detached: boolean }): Promise<EmbeddedDatabase> {
  const embedded = await startEmbeddedPostgres(dataDir, opts);
  logger.info({ component: 'embedded-postgres', port: embedded.port, dataDir: path.resolve(dataDir) }, 'embedded PostgreSQL started');
  return embedded;
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

/** Start-up failures whose message says it all (a port taken, a package left out): no stack trace. */
const EXPLAINED_START_ERRORS = new Set(['SandboxStartError', 'EmbeddedPostgresMissingError']);

/** Signals that ask the program to stop; SIGHUP is a closed terminal. */
const STOP_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;

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
  // With no token, `npm start` is the sandbox: a local Bot API server and page around this same app.
  const sandbox = !config.botToken && role === 'all';
  const logFormat = resolveLogFormat(config.logFormat, { sandbox, stdoutIsTTY: process.stdout.isTTY === true });
  const logger = createLogger(config.logLevel, logFormat === 'pretty' ? await prettyDestination() : undefined);
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

  // The embedded database (no DATABASE_URL) is started here for the app and the sandbox alike, detached,
  // and stopped after everything else (the sandbox and the app see a DATABASE_URL).
  let embedded: EmbeddedDatabase | undefined;
  let embeddedStopping: Promise<void> | undefined;
  const stopEmbedded = (): Promise<void> =>
    (embeddedStopping ??= (async () => {
      if (!embedded) return;
      try {
        await embedded.stop();
        logger.info({ component: 'embedded-postgres' }, 'embedded PostgreSQL stopped');
      } catch (err) {
        logger.warn({ component: 'embedded-postgres', error: (err as Error)?.message ?? String(err) }, 'embedded-postgres: error while stopping');
      }
    })());
  const start = async (): Promise<Pick<AppHandle, 'shutdown'>> => {
    if (!config.databaseUrl) embedded = await startEmbedded(config.dataDir, logger, { detached: true });
    const appConfig: Config = embedded ? { ...config, databaseUrl: embedded.url } : config;
    if (!sandbox) return runApp({ config: appConfig, role, logger });
    const { startSandbox } = await import('./sandbox/run-sandbox.js');
    const running = await startSandbox(appConfig, logger);
    if (logFormat === 'pretty' && !stopping) {
      const facts = { url: running.url, timeScale: running.app.config.policyTimeScale, dataDir: config.dataDir, embeddedDatabase: embedded !== undefined };
      process.stdout.write(`${sandboxBanner(facts).join('\n')}\n`);
    }
    return { shutdown: (reason?: string) => running.stop(reason) };
  };

  // Handlers before anything starts: a signal during start-up still drains what has started, then exits
  // 0. (Registered later, they would also be taken off again with embedded-postgres's own, which
  // src/db/embedded.ts removes: whatever was added while that package loaded.)
  const deadlineMs = shutdownDeadlineMs(config);
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    // Ctrl+C under npm arrives twice (from the terminal, and from npm passing it on): one request to stop.
    if (stopping) return;
    stopping = true;
    const began = Date.now();
    logger.info({ signal, deadlineMs }, 'stopping');
    // The last resort if draining hangs: exit at the deadline anyway, still 0 (the signal asked us to
    // stop); the exit hook of src/db/embedded.ts still sends the embedded server its stop signal.
    setTimeout(() => {
      logger.warn({ signal, deadlineMs }, 'shutdown deadline reached: exiting before everything closed');
      process.exit(0);
    }, deadlineMs).unref();
    void starting
      .then(
        (app) => app.shutdown(signal),
        () => undefined,
      )
      .then(stopEmbedded)
      .catch(() => undefined)
      .finally(() => {
        logger.info({ signal, durationMs: Date.now() - began }, 'stopped');
        process.exit(0);
      });
  };
  for (const s of STOP_SIGNALS) process.on(s, onSignal);
  const starting = start();
  await starting.catch(async (err: unknown) => {
    const name = (err as Error | undefined)?.name ?? '';
    if (EXPLAINED_START_ERRORS.has(name)) logger.fatal(`could not start: ${(err as Error).message}`);
    else logger.fatal({ err }, 'could not start');
    await stopEmbedded();
    process.exit(1);
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) void main();
