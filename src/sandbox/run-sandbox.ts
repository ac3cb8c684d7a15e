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
 *   local server, and the workers;
 * - the trainer's controls the page calls (sandbox-routes.ts): a drill of a chosen type at a chosen office,
 *   starting afresh from the examples, and the day's scheduled runs done now.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Telegram } from 'telegraf';
import { contactCheckTimers, localDate, resolvePolicy, resolveTarget, type EscalationPolicy, type IncidentType } from '../domain/index.js';
import { loadPolicyOverrides } from '../admin/policy.js';
import { sendCard } from '../channels/telegram/views/card-messages.js';
import type { BotDeps } from '../channels/telegram/context.js';
import type { Config } from '../config.js';
import { connectDatabase, migrateDatabase, type DbHandle } from '../db/client.js';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../db/embedded.js';
import { loadPiiKey, PiiCipher } from '../db/pii-crypto.js';
import { appendAudit } from '../db/repositories/audit.repository.js';
import { actorFor, findStaffById, listUnits, loadOrgSnapshot } from '../db/repositories/org.repository.js';
import { enqueueNotices, type NoticeDraft } from '../db/repositories/outbox.repository.js';
import { findTimerByKey, insertTimers } from '../db/repositories/timer.repository.js';
import { createHttpServer } from '../http/server.js';
import type { JobTuning } from '../jobs/index.js';
import type { Logger } from '../logger.js';
import { runApp, type AppHandle } from '../app.js';
import { runDailyContactReminders, subjectsAwayOn } from '../services/daily-contact.service.js';
import { DIGEST_POSITIONS, runDailyDigest } from '../services/digest.service.js';
import { startDrill } from '../services/drill.service.js';
import { emptyChange, type ServiceDeps } from '../services/ports.js';
import { fireTimer } from '../services/timer.service.js';
import { startBotApiServer, type BotApiServer } from './bot-api-server.js';
import { fileUpdateIdStore } from './update-id-store.js';
import { buildPageConfig, drillPicker, type DrillTrigger, type PageConfig } from './page-config.js';
import { resetSandboxData, sandboxPersons, seedSandboxAbsences, seedSandboxOrg, type SandboxPerson } from './sandbox-org.js';
import {
  DRILL_ROUTE,
  registerSandboxRoutes,
  RESET_ROUTE,
  RUN_NOW_ROUTE,
  SandboxRequestError,
  type DrillRequest,
  type ResetResult,
  type RunNowKind,
  type RunNowResult,
} from './sandbox-routes.js';

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
    let persons = await sandboxPersons(db.db);
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
    // The example absences, through the program's own services, once start-up's catch-up of today's runs
    // is over: as if registered after 09:00, which writes today's 18:00 check (subject.service).
    await app.jobs.startupCatchUp;
    const absences = await seedSandboxAbsences(app.jobs.deps, seeded.away);
    if (absences) log.info({ absences }, 'example absences registered from today');

    // 4. The trainer's controls: a drill through the drill service, as the section, with the section's card
    //    in its pane; starting afresh; the day's scheduled runs done now.
    const telegram = new Telegram(SANDBOX_BOT.token, { apiRoot: botApi.url });
    const botDeps: BotDeps = { ...app.jobs.deps, logger, botToken: SANDBOX_BOT.token, telegramApiRoot: botApi.url, botUsername: SANDBOX_BOT.username };
    const runDrill = async (type: IncidentType = DEFAULT_DRILL_TYPE, where: Omit<DrillRequest, 'type'> = {}): Promise<{ incidentNumber: string }> => {
      const section = persons.find((p) => p.key === 'section');
      const officer = persons.find((p) => p.key === 'officer');
      if (!section || !officer) throw new SandboxStartError('the sandbox has no section or officer to run a drill with');
      const staffRow = await findStaffById(db.db, section.staffId);
      if (!staffRow) throw new SandboxStartError('the section’s staff record is gone');
      const actor = await actorFor(db.db, staffRow);
      const office = where.officeCode ? (await listUnits(db.db, 'office')).find((u) => u.code === where.officeCode) : undefined;
      if (where.officeCode && !office) throw new SandboxRequestError(`no office with the code ${where.officeCode}`);
      const scenario = type === 'epidemic' ? { scenario: where.scenario ?? ('s1' as const) } : {};
      const { incident } = await startDrill(app.jobs.deps, actor, { type, officeUnitId: office?.id ?? officer.unitId, ...scenario });
      // The report flow shows the reporter the card; a drill started here does the same for the section.
      await sendCard(telegram, botDeps, section.chatId, incident.id, { actor }, section.languageCode === 'en' ? 'en' : 'zh').catch((err: unknown) =>
        log.warn({ err, incidentId: incident.id, incident: incident.number }, 'could not show the drill card to the section'),
      );
      return { incidentNumber: incident.number };
    };
    let resetting: Promise<ResetResult> | undefined;
    const reset = (): Promise<ResetResult> =>
      (resetting ??= (async () => {
        const again = await resetSandboxData(db.db, cipher, {
          now: new Date(),
          // With every table locked: the old sandbox's waiting and delayed jobs (its timers, its sends) go.
          // The daily queue keeps its schedulers' next runs, which belong to no incident.
          whileLocked: async () => {
            await Promise.all([app.jobs.queues.timers.drain(true), app.jobs.queues.send.drain(true)]);
          },
        });
        const absences = await seedSandboxAbsences(app.jobs.deps, again.away);
        // A job enqueued between the drain and the commit finds no row and ends; the reconciler's pass
        // (what runs every few seconds anyway) removes any such job now.
        await app.jobs.reconcile();
        // A message that was being sent lands before the chats are emptied, not after.
        await botApi.waitForIdle({ quietMs: 300, timeoutMs: 5_000 }).catch(() => undefined);
        const messagesCleared = botApi.clearChats();
        persons = await sandboxPersons(db.db);
        return { messagesCleared, staff: again.staff, subjects: again.subjects, absences };
      })().finally(() => {
        resetting = undefined;
      }));
    const runNow = (kind: RunNowKind) => runDailyNow(app.jobs.deps, kind);
    const controlServer = createHttpServer();
    const pagePort = new URL(botApi.url).port;
    registerSandboxRoutes(controlServer, {
      pageOrigins: [`http://127.0.0.1:${pagePort}`, `http://localhost:${pagePort}`, botApi.url],
      startDrill: ({ type, ...where }) => runDrill(type, where),
      reset,
      runNow,
      logger: log,
    });
    await controlServer.listen({ port: 0, host });
    cleanups.push(() => controlServer.close());
    const controlUrl = `http://${host}:${(controlServer.server.address() as AddressInfo).port}`;
    const drill: DrillTrigger = { mode: 'endpoint', personKey: 'section', url: `${controlUrl}${DRILL_ROUTE}` };

    // 5. The page's config: people, deadlines (with the production values beside them), the bureau's time
    //    zone, the drill picker, the trainer's controls, links.
    const productionPolicy: EscalationPolicy = resolvePolicy(await loadPolicyOverrides(db.db));
    const officeUnits = await listUnits(db.db, 'office');
    const officerUnit = persons.find((p) => p.key === 'officer')?.unitId;
    const pageConfig = buildPageConfig({
      persons,
      policy: await app.jobs.deps.policy(),
      productionPolicy,
      scale,
      botUsername: SANDBOX_BOT.username,
      timeZone: config.timeZone,
      drill,
      drillPicker: drillPicker(officeUnits, { defaultType: DEFAULT_DRILL_TYPE, defaultOffice: officeUnits.find((u) => u.id === officerUnit)?.code }),
      trainer: { reset: `${controlUrl}${RESET_ROUTE}`, runNow: `${controlUrl}${RUN_NOW_ROUTE}` },
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
      { url, ops: opsUrl, policyTimeScale: pageConfig.policy.scaleLabel, queueBackend: app.jobs.backend.kind, panes: persons.filter((p) => p.pane).map((p) => p.key) },
      `sandbox ready: open ${url}`,
    );

    let stopping: Promise<void> | undefined;
    return {
      url,
      opsUrl,
      botApi,
      app,
      get persons() {
        return persons;
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

/**
 * The trainer's "run now": today's 09:00 contact reminders, 18:00 contact check or 18:00 digest, done at
 * once by the services the scheduled jobs call, on the real clock, for the bureau's today.
 *
 * Those runs are idempotent per day (one reminder, one check and one digest per person and day), and a
 * run done now is today's run: the scheduled one then finds nothing left to send. When today's run has
 * already happened (at its time, or late at start), the trainer pressing the button still wants to see
 * it, for the drill: its messages are written again under new dedupe keys, and the answer says `forced`.
 */
export async function runDailyNow(deps: ServiceDeps, kind: RunNowKind): Promise<RunNowResult> {
  const now = deps.clock.now();
  const today = localDate(now, deps.timeZone);
  /** A re-run's dedupe keys: today's keys with the moment of the press, so each press writes once. */
  const rerun = (key: string) => `${key}-rerun-${now.getTime()}`;
  const write = async (drafts: NoticeDraft[]): Promise<number> => {
    const rows = await enqueueNotices(deps.db, drafts);
    await deps.dispatcher.afterCommit({ ...emptyChange(), outboxCreated: rows });
    return rows.length;
  };
  let result: RunNowResult;
  switch (kind) {
    case 'contact_reminder': {
      const run = await runDailyContactReminders(deps, today);
      if (run.subjects === 0) result = { kind, forced: false, sent: 0, reason: 'nobody_away' };
      else if (run.officers > 0) result = { kind, forced: false, sent: run.officers };
      else {
        // Every officer was reminded today already: the re-run lists each one's subjects away again.
        const org = await loadOrgSnapshot(deps.db);
        const byOfficer = new Map<string, string[]>();
        for (const s of await subjectsAwayOn(deps.db, today)) {
          for (const officer of resolveTarget({ kind: 'responsible_officer' }, s, org)) byOfficer.set(officer, [...(byOfficer.get(officer) ?? []), s.subjectId]);
        }
        const drafts = [...byOfficer].map(([recipientStaffId, subjectIds]) => ({
          recipientStaffId,
          kind: 'contact_reminder' as const,
          dedupeKey: rerun(`contact_reminder-${today}-${recipientStaffId}`),
          params: { date: today, subjectIds },
        }));
        result = { kind, forced: true, sent: await write(drafts) };
      }
      break;
    }
    case 'contact_check': {
      // The 18:00 check is a timer per subject away (level 0: the office head), written by the 09:00 run
      // or by the absence. Brought forward, the timer service fires it now, deciding as at 18:00 (still
      // away, no contact logged today) whom to tell.
      const away = await subjectsAwayOn(deps.db, today);
      const policy = await deps.policy();
      let forced = false;
      let sent = 0;
      for (const s of away) {
        const spec = contactCheckTimers(s.subjectId, today, policy, deps.timeZone).find((t) => t.level === 0)!;
        let timer = await findTimerByKey(deps.db, spec.dedupeKey);
        if (timer && timer.state !== 'pending') {
          forced = true;
          [timer] = await insertTimers(deps.db, [{ ...spec, dueAt: now, dedupeKey: rerun(spec.dedupeKey) }]);
        } else if (!timer) {
          // Not written yet (no 09:00 run today): written now, as that run would.
          await insertTimers(deps.db, [spec]);
          timer = await findTimerByKey(deps.db, spec.dedupeKey);
        }
        if (!timer) continue;
        const fired = await fireTimer(deps, timer.id, { earlyToleranceMs: Math.max(0, timer.dueAt.getTime() - now.getTime()) + 1_000 });
        if (fired.status === 'sent') sent += fired.notices;
      }
      result = { kind, forced, sent, ...(away.length === 0 ? { reason: 'nobody_away' as const } : sent === 0 ? { reason: 'all_contacted' as const } : {}) };
      break;
    }
    case 'digest': {
      const run = await runDailyDigest(deps, today);
      if (run.recipients > 0) result = { kind, forced: false, sent: run.recipients };
      else {
        // Today's digest went out already: the re-run sends it again, as it reads now.
        const org = await loadOrgSnapshot(deps.db);
        const ids = new Set(DIGEST_POSITIONS.flatMap((position) => resolveTarget({ kind: 'position', position, scope: 'bureau' }, { officeUnitId: null }, org)));
        const drafts = [...ids].map((recipientStaffId) => ({ recipientStaffId, kind: 'daily_digest' as const, dedupeKey: rerun(`daily_digest-${today}-${recipientStaffId}`), params: { date: today } }));
        result = { kind, forced: true, sent: await write(drafts) };
      }
      break;
    }
  }
  await appendAudit(deps.db, { at: now, action: 'sandbox.run_now', entity: 'daily_run', entityId: kind, data: { date: today, forced: result.forced, sent: result.sent } });
  return result;
}
