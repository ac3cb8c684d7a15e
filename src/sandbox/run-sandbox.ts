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
 * - the WeCom API stand-in (src/sandbox/wecom) with a corp, an application and credentials made up at each
 *   start, its members the staff bound on WeCom; the product's WeCom channel configured against it, as a
 *   deployer running both channels would (WECOM_API_ROOT and the rest), and its callback URL the product's
 *   /wecom/callback, checked with WeCom's GET verification;
 * - the deadlines shortened (POLICY_TIME_SCALE, 1/60 unless set: 5 minutes become 5 seconds);
 * - then the real program — the same `runApp` as production: the bot in long-polling mode against the
 *   local server, the WeCom callback, and the workers;
 * - the trainer's controls the page calls (sandbox-routes.ts): a drill of a chosen type at a chosen office,
 *   starting afresh from the examples, and the day's scheduled runs done now.
 *
 * Everything of the app comes through src/app.ts: runApp, and the trainer's part (the examples, the drill,
 * the runs), which src/app-trainer.ts builds from the app's own services and app.ts re-exports.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify from 'fastify';
import { DEFAULT_WECOM_CALLBACK_PATH, openDrillGround, runApp, type AppHandle, type IncidentType, type RunAppOptions, type RunNowKind, type RunNowResult, type SandboxPerson } from '../app.js';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { startBotApiServer, type BotApiServer } from './bot-api-server.js';
import { fileUpdateIdStore } from './update-id-store.js';
import { buildPageConfig, drillPicker, type DrillTrigger, type PageConfig } from './page-config.js';
import { DRILL_ROUTE, registerSandboxRoutes, RESET_ROUTE, RUN_NOW_ROUTE, WECOM_ROUTES, type DrillRequest, type ResetResult } from './sandbox-routes.js';
import { startWecomStandIn, type WecomStandIn } from './wecom/index.js';

/** The sandbox's bot on the local Bot API server; not a real token, and useless anywhere else. */
export const SANDBOX_BOT = { token: '7000000001:SANDBOX-local-only-not-a-telegram-token', username: 'corrections_sandbox_bot', firstName: '应急处置助手' } as const;

/** Policy time factor when POLICY_TIME_SCALE is left at 1: minutes become seconds. */
export const DEFAULT_SANDBOX_TIME_SCALE = 1 / 60;

export const WEB_DIR = fileURLToPath(new URL('./web/', import.meta.url));

/** examples/ at the repository's root (and beside dist/, which is as deep as this folder: scripts/build.mjs). */
export const EXAMPLES_DIR = fileURLToPath(new URL('../../examples/', import.meta.url));

/** Telegram's published ceilings (Bots FAQ). A private chat tolerates a short burst, as Telegram does. */
export const SANDBOX_LIMITS = { globalPerSecond: 30, perChatPerSecond: 1, perChatBurst: 3, perGroupPerMinute: 20 } as const;

/** The sandbox's WeCom application (企业微信应用): its agent id, as the admin console numbers them. */
export const SANDBOX_WECOM_AGENT_ID = 1000002;

/**
 * Credentials of a WeCom corp and application, made up for one start: a corp id as WeCom writes them, a
 * secret, the callback's Token and its 43-character EncodingAESKey. Useless outside this process.
 */
export function sandboxWecomCredentials(): { corpId: string; corpSecret: string; callbackToken: string; encodingAesKey: string } {
  return {
    corpId: `ww${randomBytes(8).toString('hex')}`,
    corpSecret: randomBytes(32).toString('base64url'),
    callbackToken: randomBytes(12).toString('hex'),
    encodingAesKey: randomBytes(32).toString('base64').slice(0, 43),
  };
}

/** The scenario the drill button runs when the drill service picks no type: 脱管, a critical type. */
const DEFAULT_DRILL_TYPE: IncidentType = 'absconding';

export interface StartSandboxOptions {
  /** Port of the page (and the local Bot API server). Default: PORT. 0 picks a free one. */
  port?: number;
  /** Default 127.0.0.1: the control API lets anyone act as anyone, so it never faces a network. */
  host?: string;
  jobTuning?: RunAppOptions['jobTuning'];
  queueNamespace?: string;
}

export interface RunningSandbox {
  /** The page, e.g. http://127.0.0.1:8080 */
  url: string;
  /** The ops server of the program (/healthz, /readyz, /metrics). */
  opsUrl: string | undefined;
  botApi: BotApiServer;
  /** The WeCom API stand-in the product's WeCom channel talks to. */
  wecom: WecomStandIn;
  app: AppHandle;
  /** The people (read again after a reset: the same chats, new staff ids). */
  readonly persons: SandboxPerson[];
  pageConfig: PageConfig;
  /** Starts a drill as the section (what the page's drill button and picker do). */
  startDrill(type?: IncidentType, where?: Omit<DrillRequest, 'type'>): Promise<{ incidentNumber: string }>;
  /** The trainer's "start afresh": the examples loaded again into emptied tables, queues and chats. */
  reset(): Promise<ResetResult>;
  /** The trainer's "run now" of one of the day's scheduled runs (runDailyNow). */
  runNow(kind: RunNowKind): Promise<RunNowResult>;
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
    // 1. The database, migrated, with the examples on first start (src/app-trainer.ts).
    const ground = await openDrillGround({ config, logger: log, examplesDir: EXAMPLES_DIR });
    cleanups.push(() => ground.close());
    const { databaseUrl, seeded } = ground;
    if (seeded.seeded) log.info({ staff: seeded.staff, subjects: seeded.subjects }, 'example organisation and subjects loaded');
    const persons = ground.persons;
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
    // The WeCom stand-in, its members the staff bound on WeCom (a new corp each start: nothing of it is kept).
    const wecom = await startWecomStandIn({ ...sandboxWecomCredentials(), agentId: SANDBOX_WECOM_AGENT_ID, host: '127.0.0.1' });
    cleanups.push(() => wecom.stop());
    const wecomMembers = persons.flatMap((p) => (p.wecomUserId ? [p.wecomUserId] : []));
    for (const userId of wecomMembers) wecom.driver.addUser(userId);
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
      wecom: {
        corpId: wecom.config.corpId,
        agentId: wecom.config.agentId,
        secret: wecom.config.corpSecret,
        token: wecom.config.callbackToken,
        aesKey: wecom.config.encodingAesKey,
        apiRoot: wecom.url,
      },
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
    // The callback URL, saved as in WeCom's admin console: WeCom checks it with a signed GET first.
    if (!opsUrl) throw new SandboxStartError('the program serves no HTTP, so WeCom has no callback URL');
    wecom.driver.setCallbackUrl(`${opsUrl}${DEFAULT_WECOM_CALLBACK_PATH}`);
    const verified = await wecom.driver.verifyCallbackUrl();
    if (!verified.echoed) throw new SandboxStartError(`the product's WeCom callback did not pass WeCom's URL check (HTTP ${verified.status})`);
    const trainer = ground.trainerFor(app);
    const absences = await trainer.registerExampleAbsences();
    if (absences) log.info({ absences }, 'example absences registered from today');

    // 4. The trainer's controls: a drill through the drill service, as the section, with the section's card
    //    in its pane; starting afresh; the day's scheduled runs done now.
    const runDrill = (type: IncidentType = DEFAULT_DRILL_TYPE, where: Omit<DrillRequest, 'type'> = {}): Promise<{ incidentNumber: string }> => trainer.startDrill(type, where);
    let resetting: Promise<ResetResult> | undefined;
    const reset = (): Promise<ResetResult> =>
      (resetting ??= (async () => {
        let messagesCleared = 0;
        const again = await trainer.reloadExamples({
          // Once the old sandbox is gone: a message that was being sent lands before the chats are emptied,
          // and the new examples' own notices (their absences) come after.
          beforeSeeding: async () => {
            await botApi.waitForIdle({ quietMs: 300, timeoutMs: 5_000 }).catch(() => undefined);
            messagesCleared = botApi.clearChats() + wecom.driver.clearChats();
          },
        });
        return { messagesCleared, ...again };
      })().finally(() => {
        resetting = undefined;
      }));
    const runNow = (kind: RunNowKind): Promise<RunNowResult> => trainer.runNow(kind);
    // The trainer's controls get a server of their own, on a port of their own: the page's origin is the
    // Bot API server's, and only that origin may call them (sandbox-routes.ts).
    const controlServer = Fastify({ logger: false });
    const pagePort = new URL(botApi.url).port;
    registerSandboxRoutes(controlServer, {
      pageOrigins: [`http://127.0.0.1:${pagePort}`, `http://localhost:${pagePort}`, botApi.url],
      startDrill: ({ type, ...where }) => runDrill(type, where),
      reset,
      runNow,
      wecom: { driver: wecom.driver, members: wecomMembers },
      logger: log,
    });
    await controlServer.listen({ port: 0, host });
    cleanups.push(() => controlServer.close());
    const controlUrl = `http://${host}:${(controlServer.server.address() as AddressInfo).port}`;
    const drill: DrillTrigger = { mode: 'endpoint', personKey: 'section', url: `${controlUrl}${DRILL_ROUTE}` };

    // 5. The page's config: people, deadlines (with the production values beside them), the bureau's time
    //    zone, the drill picker, the trainer's controls, links.
    const { policy, production } = await trainer.policies();
    const officeUnits = await trainer.offices();
    const officerUnit = persons.find((p) => p.key === 'officer')?.unitId;
    const pageConfig = buildPageConfig({
      persons,
      policy,
      productionPolicy: production,
      scale,
      botUsername: SANDBOX_BOT.username,
      timeZone: config.timeZone,
      drill,
      drillPicker: drillPicker(officeUnits, { defaultType: DEFAULT_DRILL_TYPE, defaultOffice: officeUnits.find((u) => u.id === officerUnit)?.code }),
      trainer: { reset: `${controlUrl}${RESET_ROUTE}`, runNow: `${controlUrl}${RUN_NOW_ROUTE}` },
      wecom: {
        state: `${controlUrl}${WECOM_ROUTES.state}`,
        events: `${controlUrl}${WECOM_ROUTES.events}`,
        act: `${controlUrl}${WECOM_ROUTES.act}`,
        files: `${controlUrl}${WECOM_ROUTES.files}`,
      },
      links: opsUrl
        ? [
            { id: 'metrics', label: '/metrics', url: `${opsUrl}/metrics` },
            { id: 'readyz', label: '/readyz', url: `${opsUrl}/readyz` },
            ...(config.adminPassword ? [{ id: 'queues', label: '/admin/queues', url: `${opsUrl}/admin/queues` }] : []),
          ]
        : [],
    });
    await writeFile(path.join(pageDir, 'config.json'), JSON.stringify(pageConfig, null, 2));

    const url = `http://${host === '0.0.0.0' || host === '127.0.0.1' ? 'localhost' : host}:${botApi.port}`;
    log.info(
      {
        url,
        ops: opsUrl,
        policyTimeScale: pageConfig.policy.scaleLabel,
        queueBackend: app.jobs.backend.kind,
        panes: persons.filter((p) => p.pane).map((p) => p.key),
        wecomApi: wecom.url,
      },
      `sandbox ready: open ${url}`,
    );

    let stopping: Promise<void> | undefined;
    return {
      url,
      opsUrl,
      botApi,
      wecom,
      app,
      get persons() {
        return trainer.persons;
      },
      pageConfig,
      startDrill: runDrill,
      reset,
      runNow,
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
