/**
 * The application, built from one configuration: the database (DATABASE_URL, or an embedded PostgreSQL
 * under DATA_DIR), the PII cipher, the queues (Redis with REDIS_URL, else BullMQ's PostgreSQL backend in
 * the same database), the Telegram gateway, the workers, the bot and the ops HTTP server, for one role.
 * src/main.ts (the process) and the sandbox both start it here; neither imports the other.
 */
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import postgres from 'postgres';
import { effectivePolicy } from './admin/policy.js';
import { createBot, startBot, type RunningBot } from './channels/telegram/index.js';
import { createTelegramGateway, type TelegramGateway } from './channels/telegram/telegram-gateway.js';
import { connectDatabase, migrateDatabase, type DbHandle } from './db/client.js';
import { isEmbeddedDatabaseUrl, startEmbeddedPostgres, type EmbeddedDatabase } from './db/embedded.js';
import { loadPiiKey, PiiCipher } from './db/pii-crypto.js';
import { enableOrgSnapshotCache } from './db/org-snapshot-cache.js';
import type { Config } from './config.js';
import { timeScaleLabel, type Clock } from './domain/index.js';
import { createJobSystem, createQueueBackend, DEFAULT_TUNING, type JobSystem, type JobTuning } from './jobs/index.js';
import { afterIncidentPlugin } from './flows/after-incident/index.js';
import { timelinePlugin } from './flows/timeline.js';
import { calendarPlugin } from './flows/calendar.js';
import { reportUpPlugin } from './flows/report-up.flow.js';
import { outsidePartyPlugin } from './flows/sanction.flow.js';
import { commandPostPlugin } from './flows/command-post.flow.js';
import { dutyGroupPlugin } from './flows/duty-groups.flow.js';
import { createHttpServer } from './http/server.js';
import { createLogger, type Logger } from './logger.js';
import { postgresCheck, queueCheck } from './ops/health.js';
import { metrics as opsMetrics } from './ops/metrics.js';
import { registerOpsRoutes } from './ops/routes.js';
import { createPgChatLocks, type ChatLocks } from './db/chat-locks.js';
import { telegramNoticeChannel } from './channels/telegram/notice-channel.js';
import { createWecomBot } from './channels/wecom/bot.js';
import { DEFAULT_WECOM_CALLBACK_PATH, mountWecomCallback } from './channels/wecom/http.js';
import { WecomApi, WecomRateLimiter } from './channels/wecom/index.js';
import { WecomMessenger } from './channels/wecom/messenger.js';
import { wecomNoticeChannel } from './channels/wecom/notice-channel.js';
import type { WecomConfig } from './config.js';
import type { NoticeChannel } from './services/channel-port.js';

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

/** The desk's features beyond the core flows, the same on every channel. */
const deskPlugins = () => [afterIncidentPlugin(), timelinePlugin(), reportUpPlugin(), calendarPlugin(), commandPostPlugin(), outsidePartyPlugin(), dutyGroupPlugin()];

export async function runApp(opts: RunAppOptions): Promise<AppHandle> {
  const { config, role } = opts;
  const logger = opts.logger ?? createLogger(config.logLevel);
  const clock = opts.clock ?? systemClock;
  /** What stops taking work, in the order pushed (closed in reverse): each says, once, that it stopped. */
  const closers: Array<{ component: string; done: string; close: () => Promise<unknown> }> = [];

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
  await enableOrgSnapshotCache(db.sql);
  // /metrics reads open incidents and pending timers from here when scraped.
  opsMetrics.useDatabase(db.db);
  const cipher = new PiiCipher(await loadPiiKey(config.piiKey, config.dataDir));

  const backend = createQueueBackend({ redisUrl: config.redisUrl, databaseUrl, ...(opts.queueNamespace ? { namespace: opts.queueNamespace } : {}) });
  // Every process takes its chats' send moments from the same lines, kept next to the queue.
  const gateway = createTelegramGateway({
    apiRoot: config.telegramApiRoot,
    token: config.botToken,
    chatSlots: backend.chatSendSlots?.(),
    onSharedSlotsError: (err) => logger.warn({ err }, "the chats' shared send lines cannot be reached: this process keeps its own spacing meanwhile"),
  });
  const base = {
    db: db.db,
    clock,
    timeZone: config.timeZone,
    piiMode: config.piiMode,
    cipher,
    policy: (officeUnitId?: string) => effectivePolicy(db.db, config.policyTimeScale, officeUnitId),
  };
  const telegramChannel = telegramNoticeChannel(gateway, base);
  // WeCom (WECOM_CORP_ID set): its API client, shared by the notices and the callback's replies.
  const wecom = config.wecom ? wecomClient(config.wecom, clock) : undefined;
  const wecomChannel = wecom ? wecomNoticeChannel(new WecomMessenger({ db: db.db, api: wecom.api, clock, logger }), base) : undefined;
  // Telegram's channel leads (its pace is the send queue's) unless WeCom is the only one.
  const channel: NoticeChannel = config.botToken || !wecomChannel ? telegramChannel : wecomChannel;
  const channels = wecomChannel ? { ...(config.botToken ? { telegram: telegramChannel } : {}), wecom: wecomChannel } : undefined;
  const jobs = createJobSystem(base, { backend, channel, ...(channels ? { channels } : {}), logger, metrics: opsMetrics, tuning: { ...config.jobTuning, ...opts.jobTuning } });
  logger.info(
    {
      role,
      queueBackend: backend.kind,
      database: embedded || isEmbeddedDatabaseUrl(databaseUrl) ? 'embedded' : 'external',
      ...(config.policyTimeScale !== 1 ? { policyTimeScale: timeScaleLabel(config.policyTimeScale) } : {}),
    },
    'starting',
  );

  if (role !== 'bot') {
    // Without a token nothing can be sent: timers still fire and the outbox fills; the relay sends it
    // all once a token is configured.
    const queues = config.botToken || wecom ? undefined : (['timers', 'daily'] as const);
    if (!config.botToken && !wecom) logger.warn('no BOT_TOKEN and no WeCom: notifications are kept in the outbox and not sent');
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
  // The per-chat locks hold a connection for a whole update: a small pool of their own, so held locks
  // never take the connections the handlers need. One pool for both channels.
  const chatLockSql = role !== 'worker' && (botToken || wecom) ? postgres(databaseUrl, { max: CHAT_LOCK_POOL, onnotice: () => {}, connection: { application_name: 'corrections-chat-locks' } }) : undefined;
  const chatLocks = chatLockSql ? createPgChatLocks(chatLockSql, { dedicated: true }) : undefined;
  if (chatLockSql) closers.push({ component: 'chat-locks', done: 'chat lock pool closed', close: () => chatLockSql.end({ timeout: 5 }) });
  if (role !== 'worker' && wecom && chatLocks) {
    // Mounted before the Telegram part, which may start listening (webhook mode): routes come first.
    const wecomBot = createWecomBot({ ...jobs.deps, logger, api: wecom.api, apiRoot: wecom.config.apiRoot, chatLocks, plugins: deskPlugins() });
    await mountWecomCallback(http, {
      callback: { token: wecom.config.token, encodingAesKey: wecom.config.aesKey, corpId: wecom.config.corpId, agentId: wecom.config.agentId, clock },
      bot: wecomBot,
      db: db.db,
      clock,
      logger,
    });
    logger.info({ path: DEFAULT_WECOM_CALLBACK_PATH }, 'WeCom callback mounted');
    // Callbacks answered already are handled before the lock pool closes.
    closers.push({ component: 'wecom', done: 'WeCom callbacks stopped: the ones in hand finished', close: () => wecomBot.idle() });
  }
  if (role !== 'worker' && botToken && chatLocks) {
    const bot = await startBotPart({ config: { ...config, botToken }, logger, jobs, gateway, http, chatLocks });
    // Stops taking updates (the batch in hand finishes); the lock pool it used closes after it.
    closers.push({ component: 'bot', done: 'bot stopped: no more updates taken', close: () => bot.stop() });
  } else if (role !== 'worker' && !wecom) {
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
      for (const c of closers.reverse()) await step(c.component, c.done, c.close);
      await step('jobs', 'workers stopped: jobs in hand finished or left to be retried', () => jobs.close({ deadlineMs: jobDrainMs(deadlineMs) }));
      await step('http', 'http server closed', () => http.close());
      await step('database', 'database connections closed', () => db.close());
      if (embedded) await step('embedded-postgres', 'embedded PostgreSQL stopped', () => embedded.stop());
    })());

  return { config, role, logger, db, jobs, http, shutdown };
}

/**
 * The number of accounts the corp's WeCom licence covers (账号上限数), for the daily budget of recipients
 * (× 200): a conservative figure until the deployment's is known; WeCom answers 45009 past its own.
 */
const WECOM_ACCOUNT_CAP = 100;

/** The WeCom API client of the configured application, with its frequency limits. */
function wecomClient(config: WecomConfig, clock: Clock): { config: WecomConfig; api: WecomApi } {
  const limiter = new WecomRateLimiter({ clock, accountCap: WECOM_ACCOUNT_CAP });
  return { config, api: new WecomApi({ apiRoot: config.apiRoot, corpId: config.corpId, secret: config.secret, agentId: config.agentId, clock, limiter }) };
}

/**
 * The embedded PostgreSQL under DATA_DIR (src/db/embedded.ts takes back the signal hooks its package
 * installs: the shutdown here stops the server, last). `detached` when this process is the program,
 * which stops it on every signal: in a process group of its own, a terminal's Ctrl+C reaches the
 * program only, and the server keeps serving until the drain is over.
 */
export async function startEmbedded(dataDir: string, logger: Logger, opts: { detached: boolean }): Promise<EmbeddedDatabase> {
  const embedded = await startEmbeddedPostgres(dataDir, opts);
  logger.info({ component: 'embedded-postgres', port: embedded.port, dataDir: path.resolve(dataDir) }, 'embedded PostgreSQL started');
  return embedded;
}

// ---------------------------------------------------------------------------------------------
// The bot (the flows: src/bot/index.ts, src/bot/run.ts), with the after-incident plugin.

/** The bot shares the jobs' gateway: replies and notices to one chat keep one spacing and one pace. */
async function startBotPart(ctx: {
  config: Config & { botToken: string };
  logger: Logger;
  jobs: JobSystem;
  gateway: TelegramGateway;
  http: FastifyInstance;
  chatLocks: ChatLocks;
}): Promise<RunningBot> {
  const { config, logger, jobs, http } = ctx;
  const bot = createBot({
    ...jobs.deps,
    gateway: ctx.gateway,
    logger,
    chatLocks: ctx.chatLocks,
    botToken: config.botToken,
    telegramApiRoot: config.telegramApiRoot,
    ...(config.botUsername ? { botUsername: config.botUsername } : {}),
    ...(config.handlerTimeoutMs ? { handlerTimeoutMs: config.handlerTimeoutMs } : {}),
    plugins: deskPlugins(),
  });
  return startBot(bot, config, http);
}

// ---------------------------------------------------------------------------------------------
// What the sandbox may use of the app, and all it may use (the architecture test holds it to this):
// runApp above, and the trainer's part (src/app-trainer.ts), with the plan's words its page shows. The
// sandbox is a stand-in for Telegram and a page; through this one door, the layers behind it can change
// without it.

export {
  EPIDEMIC_SCENARIO_INFO,
  EPIDEMIC_SCENARIOS,
  INCIDENT_TYPE_INFO,
  INCIDENT_TYPES,
  openDrillGround,
  RUN_NOW_KINDS,
  timeScaleLabel,
  TrainerRequestError,
} from './app-trainer.js';
/** Where the product answers WeCom's callbacks: the sandbox points its WeCom stand-in there. */
export { DEFAULT_WECOM_CALLBACK_PATH };
export type {
  DrillGround,
  DrillOffice,
  DrillPlace,
  EpidemicScenario,
  EscalationPolicy,
  ExamplesReloaded,
  IncidentType,
  PositionKind,
  RunNowKind,
  RunNowResult,
  SandboxPerson,
  SeedResult,
  Trainer,
} from './app-trainer.js';
