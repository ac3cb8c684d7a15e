/**
 * The sandbox's people: the example organisation (examples/org.yaml) and subjects (examples/subjects.csv)
 * loaded on first start, every staff member bound to a sandbox Telegram user, and the five people the
 * page shows a pane for (an officer, their office head, the section, the deputy director, the director).
 * The subjects the CSV marks `away` get an absence from that day, so the daily contact runs have someone
 * to be about. The trainer's "start afresh" empties the product's tables and loads all of it again.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { sql } from 'drizzle-orm';
import { importOrg, parseOrgFile } from '../admin/org-import.js';
import { importSubjects, parseSubjectsCsv } from '../admin/subjects-import.js';
import type { Database } from '../db/client.js';
import type { PiiCipher } from '../db/pii-crypto.js';
import { appendAudit } from '../db/repositories/audit.repository.js';
import { actorFor, findStaffById, findStaffByIds, listUnits, loadOrgSnapshot, type StaffRow } from '../db/repositories/org.repository.js';
import { addDays, localDate, resolveTarget, type PositionKind, type PositionSeat } from '../domain/index.js';
import type { ServiceDeps } from '../services/ports.js';
import { registerAbsence, searchSubjects } from '../services/subject.service.js';

export const EXAMPLES_DIR = fileURLToPath(new URL('../../examples/', import.meta.url));

/** The panes of the page, in order. */
export const PANE_KEYS = ['officer', 'office_head', 'section', 'deputy_director', 'director'] as const;
export type PaneKey = (typeof PANE_KEYS)[number];

export interface SandboxPerson {
  /** `officer`, `office_head`, … for the five panes; the staff code for everyone else. */
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
  languageCode: string;
  /** Shown as one of the five panes when the page opens. */
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
 * On first start (no units yet), imports the example organisation with every staff member bound to their
 * sandbox Telegram id, and the example subjects. Later starts leave the data as the sandbox left it.
 */
export async function seedSandboxOrg(db: Database, cipher: PiiCipher, opts: { now: Date; examplesDir?: string }): Promise<SeedResult> {
  if ((await listUnits(db)).length > 0) return { seeded: false, staff: 0, subjects: 0, away: [] };
  const dir = opts.examplesDir ?? EXAMPLES_DIR;
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
  opts: { now: Date; examplesDir?: string; whileLocked?: () => Promise<void> },
): Promise<SeedResult> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction(async (tx) => {
        const tables = await tx.execute<{ name: string }>(sql`select tablename as name from pg_tables where schemaname = 'public' and tablename <> 'audit_log' order by tablename`);
        await tx.execute(sql.raw(`truncate table ${tables.map((t) => `public."${t.name.replace(/"/g, '""')}"`).join(', ')} restart identity`));
        await appendAudit(tx, { at: opts.now, action: 'sandbox.reset', entity: 'sandbox', data: { tables: tables.length } });
        // The imports open transactions of their own; inside this one they become savepoints.
        const seeded = await seedSandboxOrg(tx as unknown as Database, cipher, opts);
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

/** Everyone with a Telegram id, the five pane people first and marked. */
export async function sandboxPersons(db: Database): Promise<SandboxPerson[]> {
  const [snapshot, unitRows] = await Promise.all([loadOrgSnapshot(db), listUnits(db)]);
  const staffRows = (await findStaffByIds(db, [...snapshot.staff.keys()])).filter((s) => s.active && s.telegramUserId !== null).sort(byCode);
  const units = new Map(unitRows.map((u) => [u.id, u]));
  const seats = snapshot.seats;
  const held = (s: StaffRow) => seats.filter((p) => p.holderStaffId === s.id);
  const acting = (s: StaffRow) => seats.filter((p) => p.actingStaffId === s.id);
  const holderOf = (kind: PositionKind, unitId?: string) =>
    staffRows.find((s) => held(s).some((p) => p.kind === kind && (unitId === undefined || p.unitId === unitId)));

  // The officer: someone who is only an officer (not standing in for a head), so the chain is clear.
  const officer =
    staffRows.find((s) => held(s).length === 1 && held(s)[0]!.kind === 'officer' && acting(s).length === 0) ?? holderOf('officer');
  const chosen = new Map<PaneKey, StaffRow | undefined>([
    ['officer', officer],
    ['office_head', officer ? holderOf('office_head', officer.unitId) : holderOf('office_head')],
    ['section', holderOf('section')],
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
    out.push(person(s, key, key, true));
  }
  for (const s of staffRows) {
    if (used.has(s.id)) continue;
    const seat: PositionSeat | undefined = held(s)[0];
    out.push(person(s, s.code, seat?.kind ?? 'staff', false));
  }
  return out;
}
