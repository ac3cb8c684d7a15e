/**
 * `org import <file.yaml>`: units, staff, positions (with acting holders) and the policy (the bureau's
 * settings and each office's variant, under `policy`; or the older `policy_overrides`) from one
 * YAML file. Everything is validated before anything is written, and the writes are one transaction, so
 * a bad file changes nothing. Rows are upserted by code and only touched when they differ, so importing
 * the same file twice leaves the same state.
 *
 * The file describes the organisation; it does not delete: a person who leaves is set `active: false`.
 * A Telegram user id or a language missing from the file keeps the one set when an invite was redeemed.
 */
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import { z } from 'zod';
import type { Database, Executor } from '../db/client.js';
import { appendAudit } from '../db/repositories/audit.repository.js';
import { upsertPositionByCode } from '../db/repositories/position.repository.js';
import { readSetting, writeSetting } from '../db/repositories/settings.repository.js';
import { findStaffByCode, findStaffByTelegramIds, upsertStaffByCode } from '../db/repositories/staff.repository.js';
import { findUnitByCode, upsertUnitByCode } from '../db/repositories/unit.repository.js';
import { POSITION_KINDS, UNIT_KINDS, type OfficeVariant, type PolicyOverrides } from '../domain/index.js';
import { OUTSIDE_PARTIES } from '../domain/outside-parties.js';
import { replaceOutsideContacts } from '../db/repositories/outside-party.repository.js';
import { formatPath, InputFileError, type InputProblem } from './errors.js';
import { issueWords } from './org-file-words.js';
import { POLICY_OFFICES_KEY, POLICY_OVERRIDES_KEY, validatePolicyOverrides, validatePolicySection } from './policy.js';
import { seatMismatch } from './positions.js';

const code = z
  .string({ error: 'expected a code (quote it if it looks like a number)' })
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'must be 1–64 characters of letters, digits, . _ -');
const label = z.string().trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters');

const unitSchema = z.strictObject({
  code,
  kind: z.enum(UNIT_KINDS),
  name: label,
  name_en: label.nullish(),
  parent: code.nullish(),
  /** Another county's justice bureau, notified under 五(一). */
  external: z.boolean().default(false),
});

const staffSchema = z.strictObject({
  code,
  name: label,
  unit: code,
  /** Left out: the language the person chose when redeeming an invite stays; new staff get zh. */
  language: z.enum(['zh', 'en']).nullish(),
  phone: z
    .union([z.string(), z.number()])
    .transform(String)
    .pipe(z.string().regex(/^[0-9+() -]{3,32}$/, 'must be a phone number'))
    .nullish(),
  active: z.boolean().default(true),
  telegram_user_id: z.number().int().positive().max(Number.MAX_SAFE_INTEGER).nullish(),
});

const positionSchema = z.strictObject({
  code,
  kind: z.enum(POSITION_KINDS),
  unit: code,
  holder: code.nullish(),
  acting: code.nullish(),
});

/**
 * The bureau's directory of outside parties (110, the police station, the procuratorate…), per office:
 *   outside_parties:
 *     - { code: pcs-gongchen, party: police_station, name: 拱宸桥派出所, phone: 0571-88000000, office: office-gongchen }
 *     - { code: procuratorate, party: procuratorate, name: 拱墅区人民检察院, phone: 0571-88000001 }
 * An entry without `office` serves every office. When the section is there it is the whole directory.
 */
const outsidePartySchema = z.strictObject({
  code,
  party: z.enum(OUTSIDE_PARTIES),
  name: label,
  phone: z
    .union([z.string(), z.number()])
    .transform(String)
    .pipe(z.string().regex(/^[0-9+() -]{3,32}$/, 'must be a phone number')),
  office: code.nullish(),
  note: label.nullish(),
});

export const orgFileSchema = z.strictObject({
  units: z.array(unitSchema).min(1, 'must list at least one unit'),
  staff: z.array(staffSchema).default([]),
  positions: z.array(positionSchema).default([]),
  outside_parties: z.array(outsidePartySchema).optional(),
  policy_overrides: z.unknown().optional(),
  /** The plan the bureau edits: its settings, playbook edits, criticalities and `offices` variants (admin/policy.ts). */
  policy: z.unknown().optional(),
});

export type OrgFile = Omit<z.output<typeof orgFileSchema>, 'policy_overrides' | 'policy'> & {
  policy_overrides: PolicyOverrides;
  /** 七(五): each office's variant, by office code. */
  policy_offices: Record<string, OfficeVariant>;
};

/** Parses and checks an org file: shape, then every reference between codes. Throws InputFileError. */
export function parseOrgFile(text: string): OrgFile {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true });
  if (doc.errors.length) {
    throw new InputFileError(
      'org',
      doc.errors.map((e) => ({ where: '(yaml)', key: 'yaml', message: e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, ''), ...(e.linePos ? { line: e.linePos[0].line } : {}) })),
    );
  }
  const lineOf = (path: ReadonlyArray<PropertyKey>) => nodeLine(doc, lines, path);
  const raw: unknown = doc.toJS();
  const parsed = orgFileSchema.safeParse(raw);
  if (!parsed.success) {
    throw new InputFileError(
      'org',
      parsed.error.issues.flatMap((issue) => {
        if (issue.code === 'unrecognized_keys') {
          return issue.keys.map((k) => withLine({ where: formatPath([...issue.path, k]), message: 'is not a known field', key: 'unknown_field', params: { field: String(k) } }, lineOf([...issue.path, k])));
        }
        return [withLine({ where: formatPath(issue.path), message: issue.message, ...issueWords(issue, raw) }, lineOf(issue.path))];
      }),
    );
  }
  const org = parsed.data;
  const problems = checkReferences(org);
  if (org.policy !== undefined && org.policy_overrides !== undefined) problems.push({ where: 'policy_overrides', message: 'give the settings in one place: policy (policy_overrides is its older name)', key: 'policy_twice' });
  const policy = org.policy !== undefined ? validatePolicySection(org.policy) : { ...validatePolicyOverrides(org.policy_overrides), offices: {} };
  problems.push(...policy.problems);
  const unitKinds = new Map(org.units.map((u) => [u.code, u.kind]));
  for (const code of Object.keys(policy.offices)) {
    const kind = unitKinds.get(code);
    if (kind === undefined) problems.push({ where: `policy.offices.${code}`, message: `unknown unit '${code}'`, key: 'unknown_unit', params: { code } });
    else if (kind !== 'office') problems.push({ where: `policy.offices.${code}`, message: `'${code}' is not a judicial office`, key: 'not_office', params: { code } });
  }
  if (problems.length) throw new InputFileError('org', problems.map((p) => withLine(p, lineOf(pathOf(p.where)))));
  const { policy: _section, ...rest } = org;
  return { ...rest, policy_overrides: policy.overrides, policy_offices: policy.offices };
}

function withLine(p: InputProblem, line: number | undefined): InputProblem {
  return line === undefined ? p : { ...p, line };
}

/** `staff[3].unit` → ['staff', 3, 'unit'], to find its line. */
function pathOf(where: string): PropertyKey[] {
  return [...where.matchAll(/([^.[\]]+)|\[(\d+)\]/g)].map((m) => (m[2] !== undefined ? Number(m[2]) : m[1]!));
}

/** The line of the deepest node along a path that exists in the document. */
function nodeLine(doc: Document, lines: LineCounter, path: ReadonlyArray<PropertyKey>): number | undefined {
  for (let n = path.length; n >= 1; n--) {
    const node = doc.getIn(path.slice(0, n) as unknown[], true);
    if (node && (isScalar(node) || isMap(node) || isSeq(node)) && node.range) return lines.linePos(node.range[0]).line;
  }
  return undefined;
}

function checkReferences(org: z.output<typeof orgFileSchema>): InputProblem[] {
  const problems: InputProblem[] = [];
  const firstIndex = <T extends { code: string }>(list: readonly T[], section: string) => {
    const seen = new Map<string, number>();
    list.forEach((item, i) => {
      const prior = seen.get(item.code);
      if (prior !== undefined) problems.push({
          where: `${section}[${i}].code`,
          message: `duplicate code '${item.code}' (first at ${section}[${prior}])`,
          key: 'duplicate_code',
          params: { code: item.code, first: `${section}[${prior}]` },
        });
      else seen.set(item.code, i);
    });
    return seen;
  };
  const unitIdx = firstIndex(org.units, 'units');
  const staffIdx = firstIndex(org.staff, 'staff');
  firstIndex(org.positions, 'positions');
  firstIndex(org.outside_parties ?? [], 'outside_parties');
  (org.outside_parties ?? []).forEach((e, i) => {
    if (e.office == null) return;
    const ui = unitIdx.get(e.office);
    if (ui === undefined) problems.push({ where: `outside_parties[${i}].office`, message: `unknown unit '${e.office}'`, key: 'unknown_unit', params: { code: e.office } });
    else if (org.units[ui]!.kind !== 'office') problems.push({ where: `outside_parties[${i}].office`, message: `'${e.office}' is not a judicial office`, key: 'not_office', params: { code: e.office } });
  });

  org.units.forEach((u, i) => {
    if (u.parent == null) return;
    if (!unitIdx.has(u.parent)) {
      problems.push({ where: `units[${i}].parent`, message: `unknown unit '${u.parent}'`, key: 'unknown_unit', params: { code: u.parent } });
      return;
    }
    // Walk up; coming back to this unit means a cycle.
    const seen = new Set([u.code]);
    for (let p: string | null | undefined = u.parent; p != null; p = org.units[unitIdx.get(p) ?? -1]?.parent) {
      if (seen.has(p)) {
        problems.push({ where: `units[${i}].parent`, message: `units form a cycle through '${p}'`, key: 'unit_cycle', params: { code: p } });
        break;
      }
      seen.add(p);
    }
  });

  const tgSeen = new Map<number, number>();
  org.staff.forEach((s, i) => {
    if (!unitIdx.has(s.unit)) problems.push({ where: `staff[${i}].unit`, message: `unknown unit '${s.unit}'`, key: 'unknown_unit', params: { code: s.unit } });
    if (s.telegram_user_id != null) {
      const prior = tgSeen.get(s.telegram_user_id);
      if (prior !== undefined) problems.push({ where: `staff[${i}].telegram_user_id`, message: `also given to staff[${prior}]`, key: 'telegram_twice', params: { other: `staff[${prior}]` } });
      else tgSeen.set(s.telegram_user_id, i);
    }
  });

  org.positions.forEach((p, i) => {
    const ui = unitIdx.get(p.unit);
    if (ui === undefined) problems.push({ where: `positions[${i}].unit`, message: `unknown unit '${p.unit}'`, key: 'unknown_unit', params: { code: p.unit } });
    else {
      const mismatch = seatMismatch(p.kind, org.units[ui]!.kind);
      if (mismatch) problems.push({ where: `positions[${i}].unit`, message: mismatch, key: 'seat_mismatch', params: { position: p.kind, unitKind: org.units[ui]!.kind } });
    }
    for (const field of ['holder', 'acting'] as const) {
      const ref = p[field];
      if (ref != null && !staffIdx.has(ref)) problems.push({ where: `positions[${i}].${field}`, message: `unknown staff '${ref}'`, key: 'unknown_staff', params: { code: ref } });
    }
    if (p.holder != null && p.holder === p.acting) problems.push({ where: `positions[${i}].acting`, message: 'the acting holder must be someone other than the holder', key: 'acting_is_holder' });
  });
  return problems;
}

export interface UpsertCounts {
  created: number;
  updated: number;
  unchanged: number;
}

export interface OrgImportResult {
  units: UpsertCounts;
  staff: UpsertCounts;
  positions: UpsertCounts;
  policyOverridesChanged: boolean;
  /** Only when the file has the section: the directory of outside parties, replaced. */
  outsideParties?: UpsertCounts & { removed: number };
}

const counts = (): UpsertCounts => ({ created: 0, updated: 0, unchanged: 0 });

/** Writes a parsed org file in one transaction, with an `org.imported` audit entry (counts only). */
export async function importOrg(db: Database, org: OrgFile, opts: { now: Date; source?: string }): Promise<OrgImportResult> {
  return db.transaction(async (tx) => {
    await refuseForeignTelegramIds(tx, org);
    const result: OrgImportResult = { units: counts(), staff: counts(), positions: counts(), policyOverridesChanged: false };
    const tally = (c: UpsertCounts, row: { inserted: boolean } | undefined) => {
      if (!row) c.unchanged++;
      else if (row.inserted) c.created++;
      else c.updated++;
    };

    const unitIds = new Map<string, string>();
    for (const u of parentsFirst(org.units)) {
      const row = await upsertUnitByCode(tx, { code: u.code, kind: u.kind, name: u.name, nameEn: u.name_en ?? null, parentId: u.parent ? unitIds.get(u.parent)! : null, external: u.external });
      tally(result.units, row);
      unitIds.set(u.code, row?.id ?? (await findUnitByCode(tx, u.code))!.id);
    }

    const staffIds = new Map<string, string>();
    for (const s of org.staff) {
      const row = await upsertStaffByCode(
        tx,
        { code: s.code, name: s.name, unitId: unitIds.get(s.unit)!, language: s.language ?? null, phone: s.phone ?? null, active: s.active, telegramUserId: s.telegram_user_id ?? null },
        opts.now,
      );
      tally(result.staff, row);
      staffIds.set(s.code, row?.id ?? (await findStaffByCode(tx, s.code))!.id);
    }

    for (const p of org.positions) {
      const row = await upsertPositionByCode(tx, {
        code: p.code,
        kind: p.kind,
        unitId: unitIds.get(p.unit)!,
        holderStaffId: p.holder ? staffIds.get(p.holder)! : null,
        actingStaffId: p.acting ? staffIds.get(p.acting)! : null,
      });
      tally(result.positions, row);
    }

    if (org.outside_parties) {
      result.outsideParties = await replaceOutsideContacts(
        tx,
        org.outside_parties.map((e) => ({ code: e.code, party: e.party, name: e.name, phone: e.phone, officeUnitId: e.office ? unitIds.get(e.office)! : null, note: e.note ?? null })),
      );
    }

    // The file is the whole truth for the policy: no overrides in it means the defaults.
    result.policyOverridesChanged = await writeSetting(tx, POLICY_OVERRIDES_KEY, org.policy_overrides, opts.now);
    // Likewise the offices' variants: an office the file no longer names follows the bureau's plan.
    const variants = Object.fromEntries(Object.entries(org.policy_offices).map(([code, v]) => [unitIds.get(code)!, v]));
    const anyBefore = (await readSetting(tx, POLICY_OFFICES_KEY)) !== undefined;
    if ((anyBefore || Object.keys(variants).length > 0) && (await writeSetting(tx, POLICY_OFFICES_KEY, variants, opts.now))) result.policyOverridesChanged = true;

    await appendAudit(tx, { at: opts.now, action: 'org.imported', entity: 'org', data: { source: opts.source ?? 'cli', ...result } });
    return result;
  });
}

/** A Telegram account already bound to someone else must not silently move; refuses the file instead. */
async function refuseForeignTelegramIds(tx: Executor, org: OrgFile): Promise<void> {
  const given = org.staff.flatMap((s, i) => (s.telegram_user_id != null ? [{ i, code: s.code, tg: s.telegram_user_id }] : []));
  if (given.length === 0) return;
  const holders = await findStaffByTelegramIds(tx, given.map((g) => g.tg));
  const problems = given.flatMap((g) => {
    const holder = holders.find((h) => h.telegramUserId === g.tg && h.code !== g.code);
    return holder ? [{ where: `staff[${g.i}].telegram_user_id`, message: `already bound to staff '${holder.code}'`, key: 'telegram_bound', params: { code: holder.code } }] : [];
  });
  if (problems.length) throw new InputFileError('org', problems);
}

/** Units ordered so that every parent comes before its children (cycles were refused earlier). */
function parentsFirst<T extends { code: string; parent?: string | null | undefined }>(list: readonly T[]): T[] {
  const byCode = new Map(list.map((u) => [u.code, u]));
  const out: T[] = [];
  const placed = new Set<string>();
  const place = (u: T) => {
    if (placed.has(u.code)) return;
    if (u.parent) place(byCode.get(u.parent)!);
    placed.add(u.code);
    out.push(u);
  };
  list.forEach(place);
  return out;
}
