/**
 * The trainer's part of the app: what the sandbox (src/sandbox) drives besides the chats. The example
 * organisation (examples/org.yaml) and subjects (examples/subjects.csv) loaded on first start, every staff
 * member bound to a sandbox Telegram user (and two of them on WeCom as well, preferring it), and the people
 * the page shows a pane for (an officer, their office head, the section on Telegram and on WeCom, the deputy
 * director, the director); the subjects the CSV marks `away` given an absence from that day, so the daily
 * contact runs have someone to be about; a drill started as the section; "start afresh"; and the day's
 * scheduled runs done now.
 *
 * Why here and not in src/sandbox: each of these is a use of the app's own services, repositories and
 * card renderer, and changes when they do. Kept beside src/app.ts and re-exported by it, they make src/app.ts
 * the sandbox's one door into the app (the architecture test holds the sandbox to it): the sandbox is a
 * stand-in for Telegram and a page, and stays one whatever the layers behind the door become.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { importOrg, parseOrgFile } from './admin/org-import.js';
import { loadPolicyOverrides } from './admin/policy.js';
import { importSubjects, parseSubjectsCsv } from './admin/subjects-import.js';
import type { AppHandle } from './app.js';
import { sendCardFromOutside, type BotDeps } from './channels/telegram/index.js';
import type { Config } from './config.js';
import { connectDatabase, migrateDatabase, type Database, type DbHandle } from './db/client.js';
import { startEmbeddedPostgres, type EmbeddedDatabase } from './db/embedded.js';
import { loadPiiKey, PiiCipher } from './db/pii-crypto.js';
import { subjectsAwayOn } from './db/repositories/absence.repository.js';
import { appendAudit } from './db/repositories/audit.repository.js';
import { actorFor, findStaffById, findStaffByIds, listUnits, loadOrgSnapshot, type StaffRow } from './db/repositories/org.repository.js';
import { enqueueNotices, type NoticeDraft } from './db/repositories/outbox.repository.js';
import { findTimerByKey, insertTimers } from './db/repositories/timer.repository.js';
import {
  addDays,
  contactCheckTimers,
  localDate,
  resolvePolicy,
  resolveTarget,
  type EpidemicScenario,
  type EscalationPolicy,
  type IncidentType,
  type PositionKind,
  type PositionSeat,
} from './domain/index.js';
import type { Logger } from './logger.js';
import { runDailyContactReminders } from './services/daily-contact.service.js';
import { DIGEST_POSITIONS, runDailyDigest } from './services/digest.service.js';
import { startDrill } from './services/drill.service.js';
import { emptyChange, type ServiceDeps } from './services/ports.js';
import { registerAbsence, searchSubjects } from './services/subject.service.js';
import { fireTimer } from './services/timer.service.js';
import { truncateProductTables } from './db/repositories/product-tables.repository.js';
import { findStaffByCode, updateStaff } from './db/repositories/staff.repository.js';
import { bindWecomUser, findWecomUser, wecomUsersOfStaff, wecomUserOfStaff } from './db/repositories/wecom.repository.js';

// The plan's words the sandbox page shows (the drill picker, the deadlines, the time factor): part of the
// app's public surface, so the page never reaches into src/domain for them.
export { EPIDEMIC_SCENARIO_INFO, EPIDEMIC_SCENARIOS, INCIDENT_TYPE_INFO, INCIDENT_TYPES, timeScaleLabel } from './domain/index.js';
export type { EpidemicScenario, EscalationPolicy, IncidentType, PositionKind } from './domain/index.js';

// ---------------------------------------------------------------------------------------------
// The example organisation

/** The panes of the page, in order; `wecom_section` (the section's second seat, on WeCom) comes last, so the five Telegram panes fit a laptop and the strip scrolls to it. */
export const PANE_KEYS = ['officer', 'office_head', 'section', 'deputy_director', 'director', 'wecom_section'] as const;
export type PaneKey = (typeof PANE_KEYS)[number];

/**
 * The staff also bound on WeCom, who prefer it (so their notices go there): the section's second seat
 * (陈晓雯, a pane, so one incident has the section on both channels) and an officer of 湖墅司法所 (who can
 * report from WeCom). Their WeCom userid is their staff code.
 */
export const SANDBOX_WECOM_STAFF = ['gs-012', 'gs-202'] as const;

export interface SandboxPerson {
  /** `officer`, `office_head`, `wecom_section`, … for the panes; the staff code for everyone else. */
  key: string;
  staffId: string;
  staffCode: string;
  unitId: string;
  /** A staff member's name (never a subject's). */
  name: string;
  /** Catalogue key suffix for the role label: a position kind, or `staff`. */
  roleKey: PositionKind | 'staff';
  unit: string;
  unitEn: string | null;
  /** Sandbox Telegram user id; the private chat has the same id. */
  userId: number;
  chatId: number;
  /** The WeCom userid, when the person is bound on WeCom too. */
  wecomUserId: string | null;
  /** Where the person's notices go: WeCom when bound there and preferred, else Telegram. */
  channel: 'telegram' | 'wecom';
  languageCode: string;
  /** Shown as one of the panes when the page opens. */
  pane: boolean;
}

/**
 * A stable sandbox Telegram id per staff code (FNV-1a), so a restart binds the same person to the same
 * chat. Real Telegram user ids are below 2^40; these sit in 8e9..9e9.
 */
export function sandboxTelegramId(staffCode: string): number {
  let h = 0x811c9dc5;
  for (const ch of staffCode) {
    h ^= ch.codePointAt(0) ?? 0;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return 8_000_000_000 + (h % 1_000_000_000);
}

export interface SeedResult {
  seeded: boolean;
  staff: number;
  subjects: number;
  /** Codes of the subjects the CSV marks `away`: seedSandboxAbsences gives each an absence. */
  away: string[];
}

/**
 * On first start (no units yet), imports the example organisation from `examplesDir` with every staff
 * member bound to their sandbox Telegram id, and the example subjects. Later starts leave the data as the
 * sandbox left it.
 */
export async function seedSandboxOrg(db: Database, cipher: PiiCipher, opts: { now: Date; examplesDir: string }): Promise<SeedResult> {
  if ((await listUnits(db)).length > 0) return { seeded: false, staff: 0, subjects: 0, away: [] };
  const dir = opts.examplesDir;
  const org = parseOrgFile(await readFile(`${dir}/org.yaml`, 'utf8'));
  const bound = { ...org, staff: org.staff.map((s) => ({ ...s, telegram_user_id: s.telegram_user_id ?? sandboxTelegramId(s.code) })) };
  const ids = new Set(bound.staff.map((s) => s.telegram_user_id));
  if (ids.size !== bound.staff.length) throw new Error('two staff codes map to the same sandbox Telegram id; rename one');
  await importOrg(db, bound, { now: opts.now, source: 'sandbox: examples/org.yaml' });
  const rows = parseSubjectsCsv(await readFile(`${dir}/subjects.csv`, 'utf8'));
  const counts = await importSubjects(db, cipher, rows, { now: opts.now, source: 'sandbox: examples/subjects.csv' });
  const away = rows.filter((r) => r.status === 'away').map((r) => r.code);
  return { seeded: true, staff: bound.staff.length, subjects: counts.created + counts.updated + counts.unchanged, away };
}

/**
 * Binds SANDBOX_WECOM_STAFF on WeCom (beside their Telegram ids) and makes WeCom their preferred channel,
 * as a redeemed invite and the person's choice would; those bound already are left as they are, so every
 * start can call it (a DATA_DIR seeded before WeCom was in the sandbox gets them too). Returns how many
 * it bound.
 */
export async function bindSandboxWecomStaff(db: Database, opts: { now: Date }): Promise<number> {
  let n = 0;
  for (const code of SANDBOX_WECOM_STAFF) {
    const person = await findStaffByCode(db, code);
    if (!person || (await wecomUserOfStaff(db, person.id)) || (await findWecomUser(db, code))) continue;
    await bindWecomUser(db, code, person.id, opts.now);
    await updateStaff(db, person.id, { preferredChannel: 'wecom', updatedAt: opts.now });
    n++;
  }
  return n;
}

/** Days the seeded absences last, from the day they are seeded. */
export const SANDBOX_ABSENCE_DAYS = 7;
/** Where the seeded absences go (a visit to family, in a neighbouring city). */
export const SANDBOX_ABSENCE_DESTINATION = '湖州市德清县（探亲）';

/**
 * An approved absence from today for each of these subjects, registered by their office head through the
 * subject service (so today's 18:00 check is written as it would be for a real one). Returns how many.
 */
export async function seedSandboxAbsences(deps: ServiceDeps, codes: readonly string[]): Promise<number> {
  if (codes.length === 0) return 0;
  const today = localDate(deps.clock.now(), deps.timeZone);
  const org = await loadOrgSnapshot(deps.db);
  // Found as the section sees them (bureau-wide), then registered by their own office head.
  const section = resolveTarget({ kind: 'position', position: 'section', scope: 'bureau' }, { officeUnitId: null }, org)[0];
  const sectionRow = section ? await findStaffById(deps.db, section) : undefined;
  if (!sectionRow) return 0;
  const sectionActor = await actorFor(deps.db, sectionRow);
  let n = 0;
  for (const code of codes) {
    const subject = (await searchSubjects(deps, sectionActor, code)).find((s) => s.code === code);
    if (!subject) continue;
    const head = resolveTarget({ kind: 'position', position: 'office_head', scope: 'office' }, { officeUnitId: subject.officeUnitId }, org)[0];
    const headRow = head ? await findStaffById(deps.db, head) : undefined;
    const approver = headRow ? await actorFor(deps.db, headRow) : sectionActor;
    await registerAbsence(deps, approver, { subjectId: subject.id, destination: SANDBOX_ABSENCE_DESTINATION, startsOn: today, endsOn: addDays(today, SANDBOX_ABSENCE_DAYS - 1) });
    n++;
  }
  return n;
}

/**
 * The trainer's "start afresh": every table of the product emptied and the examples loaded again, in one
 * transaction, so the bot and the workers (which keep running) see the old sandbox or the new one, never
 * an empty one in between. `whileLocked` runs before the commit, with every table locked: the caller
 * empties the queues there, so no job of the old sandbox is left to act on the new one.
 *
 * The audit trail is the exception: it is append-only by design (drizzle/0001 refuses TRUNCATE, UPDATE
 * and DELETE) and references no other table, so it keeps its chain and records the reset instead.
 */
export async function resetSandboxData(
  db: Database,
  cipher: PiiCipher,
  opts: { now: Date; examplesDir: string; whileLocked?: () => Promise<void> },
): Promise<SeedResult> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction(async (tx) => {
        const tables = await truncateProductTables(tx);
        await appendAudit(tx, { at: opts.now, action: 'sandbox.reset', entity: 'sandbox', data: { tables } });
        // The imports open transactions of their own; inside this one they become savepoints.
        const seeded = await seedSandboxOrg(tx as unknown as Database, cipher, opts);
        await bindSandboxWecomStaff(tx as unknown as Database, opts);
        await opts.whileLocked?.();
        return seeded;
      });
    } catch (err) {
      // TRUNCATE waits for each table in turn; a handler that was running may deadlock with it. Try again.
      if (attempt < 3 && (err as { code?: string }).code === '40P01') continue;
      throw err;
    }
  }
}

const byCode = (a: StaffRow, b: StaffRow) => a.code.localeCompare(b.code);

/** Everyone with a Telegram id, the pane people first and marked. */
export async function sandboxPersons(db: Database): Promise<SandboxPerson[]> {
  const [snapshot, unitRows] = await Promise.all([loadOrgSnapshot(db), listUnits(db)]);
  const staffRows = (await findStaffByIds(db, [...snapshot.staff.keys()])).filter((s) => s.active && s.telegramUserId !== null).sort(byCode);
  const wecom = await wecomUsersOfStaff(db, staffRows.map((s) => s.id));
  const onWecom = (s: StaffRow) => wecom.has(s.id) && s.preferredChannel === 'wecom';
  const units = new Map(unitRows.map((u) => [u.id, u]));
  const seats = snapshot.seats;
  const held = (s: StaffRow) => seats.filter((p) => p.holderStaffId === s.id);
  const acting = (s: StaffRow) => seats.filter((p) => p.actingStaffId === s.id);
  /** The holder of such a seat on the given channel (Telegram unless asked). */
  const holderOf = (kind: PositionKind, unitId?: string, channel: 'telegram' | 'wecom' = 'telegram') =>
    staffRows.find((s) => onWecom(s) === (channel === 'wecom') && held(s).some((p) => p.kind === kind && (unitId === undefined || p.unitId === unitId)));

  // The officer: someone who is only an officer (not standing in for a head), so the chain is clear.
  const officer =
    staffRows.find((s) => !onWecom(s) && held(s).length === 1 && held(s)[0]!.kind === 'officer' && acting(s).length === 0) ?? holderOf('officer');
  const chosen = new Map<PaneKey, StaffRow | undefined>([
    ['officer', officer],
    ['office_head', officer ? holderOf('office_head', officer.unitId) : holderOf('office_head')],
    ['section', holderOf('section')],
    ['wecom_section', holderOf('section', undefined, 'wecom')],
    ['deputy_director', holderOf('deputy_director')],
    ['director', holderOf('director')],
  ]);

  const person = (s: StaffRow, key: string, roleKey: SandboxPerson['roleKey'], pane: boolean): SandboxPerson => {
    const unit = units.get(s.unitId);
    return {
      key,
      staffId: s.id,
      staffCode: s.code,
      unitId: s.unitId,
      name: s.name,
      roleKey,
      unit: unit?.name ?? '',
      unitEn: unit?.nameEn ?? null,
      userId: s.telegramUserId!,
      chatId: s.chatId ?? s.telegramUserId!,
      wecomUserId: wecom.get(s.id)?.userid ?? null,
      channel: onWecom(s) ? 'wecom' : 'telegram',
      languageCode: s.language === 'en' ? 'en' : 'zh-hans',
      pane,
    };
  };
  const out: SandboxPerson[] = [];
  const used = new Set<string>();
  for (const key of PANE_KEYS) {
    const s = chosen.get(key);
    if (!s || used.has(s.id)) continue;
    used.add(s.id);
    out.push(person(s, key, key === 'wecom_section' ? 'section' : key, true));
  }
  for (const s of staffRows) {
    if (used.has(s.id)) continue;
    const seat: PositionSeat | undefined = held(s)[0];
    out.push(person(s, s.code, seat?.kind ?? 'staff', false));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The day's scheduled runs, done now

/** The scheduled runs the trainer can bring forward: 09:00 contact reminders, 18:00 contact check, 18:00 digest. */
export const RUN_NOW_KINDS = ['contact_reminder', 'contact_check', 'digest'] as const;
export type RunNowKind = (typeof RUN_NOW_KINDS)[number];

export interface RunNowResult {
  kind: RunNowKind;
  /** Today's run had already happened: its messages were written again, at the trainer's wish. */
  forced: boolean;
  /** Messages written (one per recipient and run). */
  sent: number;
  /** Why nothing was sent, when nothing was. */
  reason?: 'nobody_away' | 'all_contacted';
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

// ---------------------------------------------------------------------------------------------
// The drill ground: the database with the examples in it before the app starts, and the trainer's
// controls once it runs

/** A request the trainer's controls understood and refuse (an unknown office): the page gets a 400, not a 500. */
export class TrainerRequestError extends Error {
  override readonly name = 'TrainerRequestError';
}

/** Where a drill happens: an office's code from the org file (`office-hushu`; default the officer's office), the epidemic's scenario. */
export interface DrillPlace {
  officeCode?: string;
  scenario?: EpidemicScenario;
}

/** An office the drill picker offers. */
export interface DrillOffice {
  id: string;
  code: string;
  name: string;
  nameEn: string | null;
}

/** What "start afresh" loaded again. */
export interface ExamplesReloaded {
  staff: number;
  subjects: number;
  absences: number;
}

export interface Trainer {
  /** The people (read again after a reset: the same chats, new staff ids). */
  readonly persons: SandboxPerson[];
  /**
   * The example absences, through the program's own services, once start-up's catch-up of today's runs
   * is over: as if registered after 09:00, which writes today's 18:00 check (subject.service).
   */
  registerExampleAbsences(): Promise<number>;
  /** A drill through the drill service, as the section, with the section's card shown in its chat. */
  startDrill(type: IncidentType, where?: DrillPlace): Promise<{ incidentNumber: string }>;
  /**
   * The examples loaded again into emptied tables and queues (the chats are the caller's: `beforeSeeding`
   * runs once the old data is gone and before the examples' absences write their own notices).
   */
  reloadExamples(opts?: { beforeSeeding?: () => Promise<unknown> }): Promise<ExamplesReloaded>;
  /** One of the day's scheduled runs, now (runDailyNow). */
  runNow(kind: RunNowKind): Promise<RunNowResult>;
  /** The deadlines in force and the production ones (without the time factor), for the page to show side by side. */
  policies(): Promise<{ policy: EscalationPolicy; production: EscalationPolicy }>;
  offices(): Promise<DrillOffice[]>;
}

export interface DrillGround {
  /** The database the app is to start on (the embedded one when DATABASE_URL is unset). */
  databaseUrl: string;
  /** What this start loaded (nothing when the examples were there already). */
  seeded: SeedResult;
  /** Everyone with a Telegram id, as the database holds them now. */
  persons: SandboxPerson[];
  /** The trainer's controls on the app started on this ground. */
  trainerFor(app: AppHandle): Trainer;
  /** Closes the ground's pool, then the embedded PostgreSQL if it started one: after the app's shutdown. */
  close(): Promise<void>;
}

/**
 * The database, migrated, with the examples on first start, before the app starts on it: the people must
 * exist (and have their chats) before the bot takes its first update. A small pool of its own (3), as the
 * sandbox always had, for what the trainer reads.
 */
export async function openDrillGround(opts: { config: Config; logger: Logger; examplesDir: string }): Promise<DrillGround> {
  const { config, logger, examplesDir } = opts;
  const closers: Array<() => Promise<unknown>> = [];
  const close = async () => {
    for (const c of closers.reverse()) await c().catch(() => undefined);
  };
  try {
    let embedded: EmbeddedDatabase | undefined;
    let databaseUrl = config.databaseUrl;
    if (!databaseUrl) {
      embedded = await startEmbeddedPostgres(config.dataDir);
      closers.push(() => embedded!.stop());
      databaseUrl = embedded.url;
      logger.info({ port: embedded.port, dataDir: path.resolve(config.dataDir) }, 'embedded PostgreSQL started');
    }
    const db: DbHandle = connectDatabase(databaseUrl, { max: 3, applicationName: 'corrections-sandbox' });
    closers.push(() => db.close());
    await migrateDatabase(db);
    const cipher = new PiiCipher(await loadPiiKey(config.piiKey, config.dataDir));
    const seeded = await seedSandboxOrg(db.db, cipher, { now: new Date(), examplesDir });
    await bindSandboxWecomStaff(db.db, { now: new Date() });
    const persons = await sandboxPersons(db.db);
    return { databaseUrl, seeded, persons, trainerFor: (app) => trainer(app, { db: db.db, cipher, examplesDir, seeded, persons }), close };
  } catch (err) {
    await close();
    throw err;
  }
}

function trainer(app: AppHandle, ground: { db: Database; cipher: PiiCipher; examplesDir: string; seeded: SeedResult; persons: SandboxPerson[] }): Trainer {
  const { db, cipher, examplesDir } = ground;
  const deps = app.jobs.deps;
  const log = app.logger.child({ component: 'sandbox' });
  let persons = ground.persons;
  const botToken = app.config.botToken;
  if (!botToken) throw new Error('the trainer needs the app started with its bot (a BOT_TOKEN)');
  const botDeps: BotDeps = { ...deps, logger: app.logger, botToken, telegramApiRoot: app.config.telegramApiRoot, ...(app.config.botUsername ? { botUsername: app.config.botUsername } : {}) };
  return {
    get persons() {
      return persons;
    },
    async registerExampleAbsences() {
      await app.jobs.startupCatchUp;
      return seedSandboxAbsences(deps, ground.seeded.away);
    },
    async startDrill(type, where = {}) {
      const section = persons.find((p) => p.key === 'section');
      const officer = persons.find((p) => p.key === 'officer');
      if (!section || !officer) throw new Error('the sandbox has no section or officer to run a drill with');
      const staffRow = await findStaffById(db, section.staffId);
      if (!staffRow) throw new Error('the section’s staff record is gone');
      const actor = await actorFor(db, staffRow);
      const office = where.officeCode ? (await listUnits(db, 'office')).find((u) => u.code === where.officeCode) : undefined;
      if (where.officeCode && !office) throw new TrainerRequestError(`no office with the code ${where.officeCode}`);
      const scenario = type === 'epidemic' ? { scenario: where.scenario ?? ('s1' as const) } : {};
      const { incident } = await startDrill(deps, actor, { type, officeUnitId: office?.id ?? officer.unitId, ...scenario });
      // The report flow shows the reporter the card; a drill started here does the same for the section.
      await sendCardFromOutside(botDeps, section.chatId, incident.id, { actor }, section.languageCode === 'en' ? 'en' : 'zh').catch((err: unknown) =>
        log.warn({ err, incidentId: incident.id, incident: incident.number }, 'could not show the drill card to the section'),
      );
      return { incidentNumber: incident.number };
    },
    async reloadExamples(opts = {}) {
      const again = await resetSandboxData(db, cipher, {
        now: new Date(),
        examplesDir,
        // With every table locked: the old sandbox's waiting and delayed jobs (its timers, its sends) go.
        // The daily queue keeps its schedulers' next runs, which belong to no incident.
        whileLocked: async () => {
          await Promise.all([app.jobs.queues.timers.drain(true), app.jobs.queues.send.drain(true)]);
        },
      });
      await opts.beforeSeeding?.();
      const absences = await seedSandboxAbsences(deps, again.away);
      // A job enqueued between the drain and the commit finds no row and ends; the reconciler's pass
      // (what runs every few seconds anyway) removes any such job now.
      await app.jobs.reconcile();
      persons = await sandboxPersons(db);
      return { staff: again.staff, subjects: again.subjects, absences };
    },
    runNow: (kind) => runDailyNow(deps, kind),
    async policies() {
      return { policy: await deps.policy(), production: resolvePolicy(await loadPolicyOverrides(db)) };
    },
    async offices() {
      return (await listUnits(db, 'office')).map((u) => ({ id: u.id, code: u.code, name: u.name, nameEn: u.nameEn }));
    },
  };
}
