/**
 * The sandbox: what `npm start` runs when no BOT_TOKEN is set. Someone who has just cloned the project
 * sees it work within a minute, with nothing to set up:
 *
 * - PostgreSQL embedded under DATA_DIR (or DATABASE_URL), queues on BullMQ's PostgreSQL backend (or Redis
 *   with REDIS_URL);
 * - the example organisation and subjects, loaded on first start, every staff member bound to a sandbox
 *   Telegram user;
 * - the project's own Bot API server (src/sandbox/bot-api-server.ts) with Telegram's send limits on, serving
 *   the page (src/sandbox/web) on http://localhost:PORT;
 * - the deadlines shortened (POLICY_TIME_SCALE, 1/60 unless set: 5 minutes become 5 seconds);
 * - then the real program — the same `runApp` as production: the bot in long-polling mode against the
 *   local server, and the workers.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Telegram } from 'telegraf';
import { resolvePolicy, type EscalationPolicy, type IncidentType } from '../domain/index.js';
import { loadPolicyOverrides } from '../admin/policy.js';
import { sendCard } from '../bot/views/card-messages.js';
import type { BotDeps } from '../bot/context.js';
import type { Config } from '../config.js';
import { connectDatabase, migrateDatabase, type DbHandle } from '../db/client.js';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../db/embedded.js';
import { loadPiiKey, PiiCipher } from '../db/pii-crypto.js';
import { actorFor, findStaffById } from '../db/repositories/org.repository.js';
import { createHttpServer } from '../http/server.js';
import type { JobTuning } from '../jobs/index.js';
import type { Logger } from '../logger.js';
import { runApp, type AppHandle } from '../app.js';
import { startDrill } from '../services/drill.service.js';
import { startBotApiServer, type BotApiServer } from './bot-api-server.js';
import { fileUpdateIdStore } from './update-id-store.js';
import { buildPageConfig, type DrillTrigger, type PageConfig } from './page-config.js';
import { sandboxPersons, seedSandboxOrg, type SandboxPerson } from './sandbox-org.js';
import { DRILL_ROUTE, registerSandboxRoutes } from './sandbox-routes.js';

/** The sandbox's bot on the local Bot API server; not a real token, and useless anywhere else. */
export const SANDBOX_BOT = { token: '7000000001:SANDBOX-local-only-not-a-telegram-token', username: 'corrections_sandbox_bot', firstName: '应急处置助手' } as const;

/** Policy time factor when POLICY_TIME_SCALE is left at 1: minutes become seconds. */
export const DEFAULT_SANDBOX_TIME_SCALE = 1 / 60;

export const WEB_DIR = fileURLToPath(new URL('./web/', import.meta.url));

/** Telegram's published ceilings (Bots FAQ). A private chat tolerates a short burst, as Telegram does. */
export const SANDBOX_LIMITS = { globalPerSecond: 30, perChatPerSecond: 1, perChatBurst: 3, perGroupPerMinute: 20 } as const;

/** The scenario the drill button runs when the drill service picks no type: 脱管, a critical type. */
const DEFAULT_DRILL_TYPE: IncidentType = 'absconding';

export interface StartSandboxOptions {
  /** Port of the page (and the local Bot API server). Default: PORT. 0 picks a free one. */
  port?: number;
  /** Default 127.0.0.1: the control API lets anyone act as anyone, so it never faces a network. */
  host?: string;
  jobTuning?: Partial<JobTuning>;
  queueNamespace?: string;
}

export interface RunningSandbox {
  /** The page, e.g. http://127.0.0.1:8080 */
  url: string;
  /** The ops server of the program (/healthz, /readyz, /metrics). */
  opsUrl: string | undefined;
  botApi: BotApiServer;
  app: AppHandle;
  persons: SandboxPerson[];
  pageConfig: PageConfig;
  /** Starts a drill as the section (what the page's drill button does). */
  startDrill(type?: IncidentType): Promise<{ incidentNumber: string }>;
  stop(reason?: string): Promise<void>;
}

export class SandboxStartError extends Error {
  override readonly name = 'SandboxStartError';
}

export async function startSandbox(config: Config, logger: Logger, opts: StartSandboxOptions = {}): Promise<RunningSandbox> {
  const log = logger.child({ component: 'sandbox' });
  const scale = config.policyTimeScale === 1 ? DEFAULT_SANDBOX_TIME_SCALE : config.policyTimeScale;
  const host = opts.host ?? '127.0.0.1';
  const cleanups: Array<() => Promise<unknown>> = [];
  const cleanup = async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  };

  try {
    // 1. The database, migrated, with the examples on first start.
    let embedded: EmbeddedDatabase | undefined;
    let databaseUrl = config.databaseUrl;
    if (!databaseUrl) {
      embedded = await startEmbeddedPostgres(config.dataDir);
      cleanups.push(() => embedded!.stop());
      databaseUrl = embedded.url;
      log.info({ port: embedded.port, dataDir: path.resolve(config.dataDir) }, 'embedded PostgreSQL started');
    }
    const db: DbHandle = connectDatabase(databaseUrl, { max: 3, applicationName: 'corrections-sandbox' });
    cleanups.push(() => db.close());
    await migrateDatabase(db);
    const cipher = new PiiCipher(await loadPiiKey(config.piiKey, config.dataDir));
    const seeded = await seedSandboxOrg(db.db, cipher, { now: new Date() });
    if (seeded.seeded) log.info({ staff: seeded.staff, subjects: seeded.subjects }, 'example organisation and subjects loaded');
    const persons = await sandboxPersons(db.db);
    if (!persons.some((p) => p.pane)) throw new SandboxStartError('the organisation in the database has no staff with Telegram ids to show');

    // 2. The local Bot API server, with Telegram's limits, serving the page.
    let botApi: BotApiServer;
    try {
      botApi = await startBotApiServer({
        port: opts.port ?? config.port,
        host,
        bots: [{ ...SANDBOX_BOT }],
        limits: { ...SANDBOX_LIMITS },
        staticDir: WEB_DIR,
        // Telegram's update ids keep rising across restarts; the product drops an id it has handled.
        updateIds: fileUpdateIdStore(path.join(config.dataDir, 'sandbox-update-ids.json')),
      });
    } catch (err) {
      if ((err as { code?: string }).code === 'EADDRINUSE') {
        throw new SandboxStartError(`port ${opts.port ?? config.port} is already in use: set PORT to a free port`, { cause: err });
      }
      throw err;
    }
    cleanups.push(() => botApi.close());
    for (const p of persons) botApi.addUser({ id: p.userId, first_name: p.name, language_code: p.languageCode });
    const pageDir = path.resolve(config.dataDir, 'sandbox-page');
    await mkdir(pageDir, { recursive: true });
    botApi.registerStaticRoute('/sandbox-page', pageDir);

    // 3. The real program against it: bot (long polling) and workers, deadlines scaled.
    const appConfig: Config = {
      ...config,
      botToken: SANDBOX_BOT.token,
      botUsername: SANDBOX_BOT.username,
      telegramApiRoot: botApi.url,
      databaseUrl,
      botMode: 'polling',
      webhookUrl: undefined,
      webhookSecret: undefined,
      host,
      port: 0,
      policyTimeScale: scale,
    };
    const app = await runApp({
      config: appConfig,
      role: 'all',
      logger,
      // Deadlines are seconds here: poll the outbox and reconcile more often than production does.
      jobTuning: { relayEveryMs: 1_000, reconcileEveryMs: 10_000, ...opts.jobTuning },
      ...(opts.queueNamespace ? { queueNamespace: opts.queueNamespace } : {}),
    });
    cleanups.push(() => app.shutdown('sandbox stopping'));
    const opsPort = (app.http?.server.address() as AddressInfo | null)?.port;
    const opsUrl = opsPort ? `http://${host}:${opsPort}` : undefined;

    // 4. The drill button: the drill service, as the section, with the section's card in its pane.
    const section = persons.find((p) => p.key === 'section');
    const officer = persons.find((p) => p.key === 'officer');
    const telegram = new Telegram(SANDBOX_BOT.token, { apiRoot: botApi.url });
    const botDeps: BotDeps = { ...app.jobs.deps, logger, botToken: SANDBOX_BOT.token, telegramApiRoot: botApi.url, botUsername: SANDBOX_BOT.username };
    const runDrill = async (type: IncidentType = DEFAULT_DRILL_TYPE): Promise<{ incidentNumber: string }> => {
      if (!section || !officer) throw new SandboxStartError('the sandbox has no section or officer to run a drill with');
      const staffRow = await findStaffById(db.db, section.staffId);
      if (!staffRow) throw new SandboxStartError('the section’s staff record is gone');
      const actor = await actorFor(db.db, staffRow);
      const { incident } = await startDrill(app.jobs.deps, actor, { type, officeUnitId: officer.unitId, ...(type === 'epidemic' ? { scenario: 's1' as const } : {}) });
      // The report flow shows the reporter the card; a drill started here does the same for the section.
      await sendCard(telegram, botDeps, section.chatId, incident.id, { actor }, section.languageCode === 'en' ? 'en' : 'zh').catch((err: unknown) =>
        log.warn({ err, incidentId: incident.id, incident: incident.number }, 'could not show the drill card to the section'),
      );
      return { incidentNumber: incident.number };
    };
    const drillServer = createHttpServer();
    const pagePort = new URL(botApi.url).port;
    registerSandboxRoutes(drillServer, {
      pageOrigins: [`http://127.0.0.1:${pagePort}`, `http://localhost:${pagePort}`, botApi.url],
      startDrill: (input) => runDrill(input.type),
      logger: log,
    });
    await drillServer.listen({ port: 0, host });
    cleanups.push(() => drillServer.close());
    const drillUrl = `http://${host}:${(drillServer.server.address() as AddressInfo).port}${DRILL_ROUTE}`;
    const drill: DrillTrigger = { mode: 'endpoint', personKey: 'section', url: drillUrl };

    // 5. The page's config: people, deadlines (with the production values beside them), drill, links.
    const productionPolicy: EscalationPolicy = resolvePolicy(await loadPolicyOverrides(db.db));
    const pageConfig = buildPageConfig({
      persons,
      policy: await app.jobs.deps.policy(),
      productionPolicy,
      scale,
      botUsername: SANDBOX_BOT.username,
      drill,
      links: opsUrl
        ? [
            { label: '/metrics', url: `${opsUrl}/metrics` },
            { label: '/readyz', url: `${opsUrl}/readyz` },
            ...(config.adminPassword ? [{ label: '/admin/queues', url: `${opsUrl}/admin/queues` }] : []),
          ]
        : [],
    });
    await writeFile(path.join(pageDir, 'config.json'), JSON.stringify(pageConfig, null, 2));

    const url = `http://${host === '0.0.0.0' || host === '127.0.0.1' ? 'localhost' : host}:${botApi.port}`;
    log.info(
      { url, ops: opsUrl, policyTimeScale: scale, queueBackend: app.jobs.backend.kind, panes: persons.filter((p) => p.pane).map((p) => p.key) },
      `sandbox ready: open ${url}`,
    );

    let stopping: Promise<void> | undefined;
    return {
      url,
      opsUrl,
      botApi,
      app,
      persons,
      pageConfig,
      startDrill: runDrill,
      stop: (reason = 'sandbox stopping') =>
        (stopping ??= (async () => {
          log.info({ reason }, 'sandbox stopping');
          await cleanup();
        })()),
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
