/**
 * The sandbox's people: the example organisation (examples/org.yaml) and subjects (examples/subjects.csv)
 * loaded on first start, every staff member bound to a sandbox Telegram user, and the five people the
 * page shows a pane for (an officer, their office head, the section, the deputy director, the director).
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { importOrg, parseOrgFile } from '../admin/org-import.js';
import { importSubjects, parseSubjectsCsv } from '../admin/subjects-import.js';
import type { Database } from '../db/client.js';
import type { PiiCipher } from '../db/pii-crypto.js';
import { findStaffByIds, listUnits, loadOrgSnapshot, type StaffRow } from '../db/repositories/org.repository.js';
import type { PositionKind, PositionSeat } from '../domain/index.js';

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
}

/**
 * On first start (no units yet), imports the example organisation with every staff member bound to their
 * sandbox Telegram id, and the example subjects. Later starts leave the data as the sandbox left it.
 */
export async function seedSandboxOrg(db: Database, cipher: PiiCipher, opts: { now: Date; examplesDir?: string }): Promise<SeedResult> {
  if ((await listUnits(db)).length > 0) return { seeded: false, staff: 0, subjects: 0 };
  const dir = opts.examplesDir ?? EXAMPLES_DIR;
  const org = parseOrgFile(await readFile(`${dir}/org.yaml`, 'utf8'));
  const bound = { ...org, staff: org.staff.map((s) => ({ ...s, telegram_user_id: s.telegram_user_id ?? sandboxTelegramId(s.code) })) };
  const ids = new Set(bound.staff.map((s) => s.telegram_user_id));
  if (ids.size !== bound.staff.length) throw new Error('two staff codes map to the same sandbox Telegram id; rename one');
  await importOrg(db, bound, { now: opts.now, source: 'sandbox: examples/org.yaml' });
  const rows = parseSubjectsCsv(await readFile(`${dir}/subjects.csv`, 'utf8'));
  const counts = await importSubjects(db, cipher, rows, { now: opts.now, source: 'sandbox: examples/subjects.csv' });
  return { seeded: true, staff: bound.staff.length, subjects: counts.created + counts.updated + counts.unchanged };
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
