/**
 * `subjects import <file.csv>`: columns code,name,id_number,office,responsible_officer,risk_level,status.
 * Every row is checked first (a bad row is named by its row number in the file, the header being row 1),
 * and then either every row is written or none. Names and ID numbers are stored encrypted; problems and
 * the audit entry never repeat them.
 */
import { CsvError, parse } from 'csv-parse/sync';
import { z } from 'zod';
import type { Database, Executor } from '../db/client.js';
import type { PiiCipher } from '../db/pii-crypto.js';
import { appendAudit } from '../db/repositories/audit.repository.js';
import { findStaffByCodes } from '../db/repositories/staff.repository.js';
import { insertSubject, listSubjects, updateSubject } from '../db/repositories/subject.repository.js';
import { findUnitsByCodes } from '../db/repositories/unit.repository.js';
import { idNumberProblem, normaliseIdNumber, type IdNumberProblem } from '../domain/index.js';
import { InputFileError, type InputProblem } from './errors.js';
import type { UpsertCounts } from './org-import.js';

export const SUBJECT_COLUMNS = ['code', 'name', 'id_number', 'office', 'responsible_officer', 'risk_level', 'status'] as const;
export const SUBJECT_STATUSES = ['active', 'away', 'absconded', 'terminated'] as const;
export const RISK_LEVELS = ['low', 'normal', 'high'] as const;

const ID_NUMBER_MESSAGES: Record<IdNumberProblem, string> = {
  format: 'must be 18 characters: 17 digits, then a digit or X',
  birth_date: 'has an impossible birth date',
  check_digit: 'check digit does not match',
};

const emptyToUndefined = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);
const code = z.string().trim().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'must be 1–64 characters of letters, digits, . _ -');

// Custom messages only: zod's defaults may quote the value, and these values are personal data.
const rowSchema = z.object({
  code,
  name: z.string().trim().min(1, 'must not be empty').max(50, 'must be at most 50 characters'),
  id_number: z
    .string()
    .trim()
    .superRefine((v, ctx) => {
      const problem = idNumberProblem(v);
      if (problem) ctx.addIssue({ code: 'custom', message: ID_NUMBER_MESSAGES[problem] });
    })
    .transform(normaliseIdNumber),
  office: code,
  responsible_officer: z.preprocess(emptyToUndefined, code.optional()),
  risk_level: z.preprocess(emptyToUndefined, z.enum(RISK_LEVELS, { error: `must be one of ${RISK_LEVELS.join(', ')}` }).default('normal')),
  status: z.preprocess(emptyToUndefined, z.enum(SUBJECT_STATUSES, { error: `must be one of ${SUBJECT_STATUSES.join(', ')}` }).default('active')),
});

export type SubjectRow = z.output<typeof rowSchema> & { row: number };

const rowProblem = (row: number, message: string, column?: string): InputProblem => ({
  where: column ? `row ${row}, ${column}` : `row ${row}`,
  message,
  line: row,
});

/** Parses the CSV and checks every row on its own and against the others. Throws InputFileError. */
export function parseSubjectsCsv(text: string): SubjectRow[] {
  // One line ending, so csv-parse's line count is the line an editor shows.
  const normalised = text.replace(/\r\n?/g, '\n');
  let records: Array<{ record: Record<string, string>; raw: string; info: { lines: number } }>;
  try {
    records = parse(normalised, {
      bom: true,
      columns: (header: string[]) => {
        const cols = header.map((h) => h.trim());
        const problems = [
          ...SUBJECT_COLUMNS.filter((c) => c !== 'responsible_officer' && c !== 'risk_level' && c !== 'status' && !cols.includes(c)).map((c) => rowProblem(1, 'missing column', c)),
          ...cols.filter((c) => !(SUBJECT_COLUMNS as readonly string[]).includes(c)).map((c) => rowProblem(1, `unknown column (expected ${SUBJECT_COLUMNS.join(',')})`, c || '(blank)')),
        ];
        if (problems.length) throw new InputFileError('subjects', problems);
        return cols;
      },
      info: true,
      raw: true,
      skip_empty_lines: true,
    });
  } catch (e) {
    if (e instanceof InputFileError) throw e;
    if (e instanceof CsvError) {
      const line = (e as CsvError & { lines?: number }).lines ?? 0;
      // csv-parse messages can quote a field; say only what kind of fault it is.
      const message = e.code === 'CSV_RECORD_INCONSISTENT_COLUMNS' ? 'has a different number of fields than the header' : `is not well-formed CSV (${e.code})`;
      throw new InputFileError('subjects', [rowProblem(line, message)]);
    }
    throw e;
  }

  const problems: InputProblem[] = [];
  const rows: SubjectRow[] = [];
  for (const r of records) {
    const body = r.raw.replace(/^\n+/, '').replace(/\n$/, '');
    const row = r.info.lines - (body.match(/\n/g)?.length ?? 0);
    const parsed = rowSchema.safeParse(r.record);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) problems.push(rowProblem(row, issue.message, String(issue.path[0] ?? '')));
      continue;
    }
    rows.push({ ...parsed.data, row });
  }
  if (records.length === 0) problems.push(rowProblem(1, 'the file has no subjects'));

  const firstRow = (key: (s: SubjectRow) => string, column: string) => {
    const seen = new Map<string, number>();
    for (const s of rows) {
      const prior = seen.get(key(s));
      if (prior !== undefined) problems.push(rowProblem(s.row, `same as row ${prior}`, column));
      else seen.set(key(s), s.row);
    }
  };
  firstRow((s) => s.code, 'code');
  firstRow((s) => s.id_number, 'id_number');
  if (problems.length) throw new InputFileError('subjects', problems);
  return rows;
}

/** Upserts by code in one transaction; a row whose stored values already match is left untouched. */
export async function importSubjects(db: Database, cipher: PiiCipher, rows: readonly SubjectRow[], opts: { now: Date; source?: string }): Promise<UpsertCounts> {
  return db.transaction(async (tx) => {
    const refs = await resolveReferences(tx, cipher, rows);
    const result: UpsertCounts = { created: 0, updated: 0, unchanged: 0 };
    const existing = new Map((await listSubjects(tx, { codes: rows.map((r) => r.code) })).map((s) => [s.code, s]));
    for (const r of rows) {
      const officeUnitId = refs.offices.get(r.office)!;
      const responsibleStaffId = r.responsible_officer ? refs.officers.get(r.responsible_officer)!.id : null;
      const current = existing.get(r.code);
      if (current) {
        const same =
          decryptOrRefuse(cipher, current.nameEnc, r.row) === r.name &&
          (current.idNumberEnc ? decryptOrRefuse(cipher, current.idNumberEnc, r.row) : null) === r.id_number &&
          current.officeUnitId === officeUnitId &&
          current.responsibleStaffId === responsibleStaffId &&
          current.status === r.status &&
          current.riskLevel === r.risk_level;
        if (same) {
          result.unchanged++;
          continue;
        }
      }
      const values = {
        code: r.code,
        nameEnc: cipher.encrypt(r.name),
        idNumberEnc: cipher.encrypt(r.id_number),
        idNumberHash: cipher.lookupHash(r.id_number),
        officeUnitId,
        responsibleStaffId,
        status: r.status,
        riskLevel: r.risk_level,
        updatedAt: opts.now,
      };
      if (current) {
        await updateSubject(tx, current.id, values);
        result.updated++;
      } else {
        await insertSubject(tx, { ...values, createdAt: opts.now });
        result.created++;
      }
    }
    await appendAudit(tx, { at: opts.now, action: 'subjects.imported', entity: 'subject', data: { source: opts.source ?? 'cli', rows: rows.length, ...result } });
    return result;
  });
}

function decryptOrRefuse(cipher: PiiCipher, blob: Buffer, row: number): string {
  try {
    return cipher.decrypt(blob);
  } catch {
    throw new InputFileError('subjects', [rowProblem(row, 'the stored subject with this code cannot be decrypted with the configured key (was PII_KEY or DATA_DIR/pii.key changed?)', 'code')]);
  }
}

/** Offices, officers and ID numbers checked against the database, every bad row named before anything is written. */
async function resolveReferences(tx: Executor, cipher: PiiCipher, rows: readonly SubjectRow[]) {
  const officeCodes = [...new Set(rows.map((r) => r.office))];
  const officerCodes = [...new Set(rows.flatMap((r) => (r.responsible_officer ? [r.responsible_officer] : [])))];
  const unitRows = await findUnitsByCodes(tx, officeCodes);
  const staffRows = await findStaffByCodes(tx, officerCodes);
  const hashes = rows.map((r) => cipher.lookupHash(r.id_number));
  const taken = (await listSubjects(tx, { idNumberHashes: hashes })).map((s) => ({ code: s.code, hash: s.idNumberHash }));

  const offices = new Map(unitRows.filter((u) => u.kind === 'office').map((u) => [u.code, u.id]));
  const officers = new Map(staffRows.map((s) => [s.code, s]));
  const problems: InputProblem[] = [];
  rows.forEach((r, i) => {
    const office = offices.get(r.office);
    if (!office) problems.push(rowProblem(r.row, `no judicial office with code '${r.office}'`, 'office'));
    if (r.responsible_officer) {
      const officer = officers.get(r.responsible_officer);
      if (!officer) problems.push(rowProblem(r.row, `no staff member with code '${r.responsible_officer}'`, 'responsible_officer'));
      else if (office && officer.unitId !== office) problems.push(rowProblem(r.row, `'${r.responsible_officer}' is not on the staff of office '${r.office}'`, 'responsible_officer'));
    }
    const holder = taken.find((t) => t.hash === hashes[i] && t.code !== r.code);
    if (holder) problems.push(rowProblem(r.row, `already recorded for subject '${holder.code}'`, 'id_number'));
  });
  if (problems.length) throw new InputFileError('subjects', problems);
  return { offices, officers };
}
