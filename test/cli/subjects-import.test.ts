/**
 * `subjects import`: 20 fictional subjects load encrypted; importing again changes nothing; a CSV with
 * one bad row imports nothing and names the row (also through the real CLI), without repeating the data.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputFileError } from '../../src/admin/errors.js';
import { importOrg, parseOrgFile } from '../../src/admin/org-import.js';
import { importSubjects, parseSubjectsCsv } from '../../src/admin/subjects-import.js';
import { PiiCipher } from '../../src/db/pii-crypto.js';
import { idNumberCheckDigit } from '../../src/domain/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { runCliProcess } from './run-cli.js';

const KEY = randomBytes(32);
const cipher = new PiiCipher(KEY);
let csv: string;
let t: TestDatabase;
let tmp: string;

beforeAll(async () => {
  csv = await readFile(new URL('../../examples/subjects.csv', import.meta.url), 'utf8');
  t = await createTestDatabase();
  tmp = await mkdtemp(path.join(os.tmpdir(), 'subjects-import-'));
  await importOrg(t.db, parseOrgFile(await readFile(new URL('../../examples/org.yaml', import.meta.url), 'utf8')), { now: new Date('2026-11-29T01:00:00Z') });
});
afterAll(async () => {
  await t?.drop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

const HEADER = 'code,name,id_number,office,responsible_officer,risk_level,status';
/** A well-formed fictional ID number for a sequence number. */
const idFor = (seq: number) => {
  const first17 = `330105198801${String(10 + (seq % 18)).padStart(2, '0')}${String(seq % 1000).padStart(3, '0')}`;
  return first17 + idNumberCheckDigit(first17);
};
const row = (n: number, over: Partial<Record<'code' | 'name' | 'id' | 'office' | 'officer' | 'risk' | 'status', string>> = {}) =>
  [over.code ?? `SQ-NEW-${n}`, over.name ?? `测试对象${n}`, over.id ?? idFor(500 + n), over.office ?? 'office-hushu', over.officer ?? 'gs-202', over.risk ?? 'normal', over.status ?? 'active'].join(',');
const file = (...rows: string[]) => [HEADER, ...rows].join('\n') + '\n';

const subjectCount = async () => (await t.sql`select count(*)::int as n from subjects`)[0]!.n as number;
const dumpSubjects = async () => t.sql`select * from subjects order by code`;

function problemsOf(text: string) {
  try {
    parseSubjectsCsv(text);
  } catch (e) {
    expect(e).toBeInstanceOf(InputFileError);
    return (e as InputFileError).problems;
  }
  throw new Error('expected the file to be refused');
}

// One harness and one database for the whole file, and steps that stand on what the steps before
// them left: they keep their order when the suite is shuffled (the files still run in any order).
describe('subjects-import, in order', { shuffle: false }, () => {
  describe('importing the example subjects', () => {
    it('loads all 20, then a second import changes nothing', async () => {
      const rows = parseSubjectsCsv(csv);
      expect(rows).toHaveLength(20);
      expect(await importSubjects(t.db, cipher, rows, { now: new Date('2026-11-29T02:00:00Z') })).toEqual({ created: 20, updated: 0, unchanged: 0 });
      const before = await dumpSubjects();
      expect(await importSubjects(t.db, cipher, parseSubjectsCsv(csv), { now: new Date('2026-11-30T02:00:00Z') })).toEqual({ created: 0, updated: 0, unchanged: 20 });
      expect(await dumpSubjects()).toEqual(before);
    });

    it('stores names and ID numbers encrypted: a raw select shows neither', async () => {
      const raw = await t.sql`select row_to_json(s)::text as json, encode(name_enc, 'hex') as name_hex, encode(id_number_enc, 'hex') as id_hex from subjects s`;
      const dumpText = raw.map((r) => `${r.json} ${r.name_hex} ${r.id_hex}`).join('\n');
      for (const line of csv.trim().split('\n').slice(1)) {
        const [, name, id] = line.split(',');
        expect(dumpText).not.toContain(name);
        expect(dumpText).not.toContain(id);
        expect(dumpText).not.toContain(Buffer.from(name!, 'utf8').toString('hex'));
        expect(dumpText).not.toContain(Buffer.from(id!, 'utf8').toString('hex'));
      }
    });

    it('decrypts with the key, and finds a subject by the keyed hash of the ID number', async () => {
      const [s] = await t.sql`
      select s.name_enc, s.id_number_enc, s.status, s.risk_level, u.code as office, st.code as officer
      from subjects s join units u on u.id = s.office_unit_id left join staff st on st.id = s.responsible_staff_id
      where s.id_number_hash = ${cipher.lookupHash('330105197001264354')}`;
      expect(cipher.decrypt(s!.name_enc)).toBe('孙建军');
      expect(cipher.decrypt(s!.id_number_enc)).toBe('330105197001264354');
      expect(s).toMatchObject({ status: 'active', risk_level: 'high', office: 'office-hushu', officer: 'gs-203' });
      const [unassigned] = await t.sql`select responsible_staff_id from subjects where code = 'SQ-XH-006'`;
      expect(unassigned!.responsible_staff_id).toBeNull();
    });

    it('audits with counts only', async () => {
      const rows = await t.sql`select data::text as data from audit_log where action = 'subjects.imported'`;
      expect(rows).toHaveLength(2);
      expect(JSON.parse(rows[0]!.data as string)).toMatchObject({ rows: 20, created: 20 });
      const text = rows.map((r) => r.data).join('\n');
      expect(text).not.toContain('孙建军');
      expect(text).not.toContain('330105197001264354');
    });

    it('updates a changed row, re-encrypting it', async () => {
      const changed = csv.replace('SQ-HS-003,孙建军,330105197001264354,office-hushu,gs-203,high,active', 'SQ-HS-003,孙建军,330105197001264354,office-hushu,gs-202,normal,away');
      expect(await importSubjects(t.db, cipher, parseSubjectsCsv(changed), { now: new Date('2026-12-01T02:00:00Z') })).toEqual({ created: 0, updated: 1, unchanged: 19 });
      const [s] = await t.sql`select status, risk_level from subjects where code = 'SQ-HS-003'`;
      expect(s).toEqual({ status: 'away', risk_level: 'normal' });
      await importSubjects(t.db, cipher, parseSubjectsCsv(csv), { now: new Date('2026-12-01T03:00:00Z') });
    });
  });

  describe('a bad row imports nothing and is named by its row number (header = row 1)', () => {
    it.each<[string, string, string, RegExp]>([
      ['a wrong check digit', file(row(1), row(2), row(3, { id: '330105197001264355' })), 'row 4, id_number', /check digit/],
      ['an impossible birth date', file(row(1), row(2, { id: '330105198802304354' })), 'row 3, id_number', /birth date/],
      ['a short ID number', file(row(1, { id: '33010519880101' })), 'row 2, id_number', /18 characters/],
      ['an empty name', file(row(1), row(2, { name: ' ' })), 'row 3, name', /must not be empty/],
      ['an unknown risk level', file(row(1, { risk: 'extreme' })), 'row 2, risk_level', /low, normal, high/],
      ['an unknown status', file(row(1), row(2), row(3), row(4, { status: 'gone' })), 'row 5, status', /active, away/],
      ['a duplicate code', file(row(1), row(2, { code: 'SQ-NEW-1' })), 'row 3, code', /same as row 2/],
      ['a duplicate ID number', file(row(1), row(2, { id: idFor(501) })), 'row 3, id_number', /same as row 2/],
      ['too many fields', file(row(1), `${row(2)},extra`), 'row 3', /number of fields/],
    ])('%s', (_, text, where, message) => {
      const problems = problemsOf(text);
      expect(problems.map((p) => p.where)).toContain(where);
      expect(problems.find((p) => p.where === where)!.message).toMatch(message);
    });

    it('counts rows as an editor shows them: blank lines and quoted line breaks included', () => {
      const text = `${HEADER}\r\n${row(1)}\r\n\r\n"SQ-NEW-2","测试\n对象",${idFor(502)},office-hushu,gs-202,normal,active\r\n${row(3, { id: '1' })}\r\n`;
      expect(problemsOf(text).map((p) => p.where)).toEqual(['row 6, id_number']);
    });

    it('checks the header: a missing or unknown column is row 1', () => {
      expect(problemsOf('code,name,office\nA,b,c\n').map((p) => p.where)).toEqual(['row 1, id_number']);
      expect(problemsOf(`${HEADER},nickname\n`).map((p) => p.where)).toEqual(['row 1, nickname']);
    });

    it('never repeats a name or an ID number in a problem', () => {
      const badId = '330105197001264355';
      const e = (() => {
        try {
          parseSubjectsCsv(file(row(1, { name: '保密姓名', id: badId }), row(2, { name: '', id: 'x' })));
        } catch (err) {
          return err as InputFileError;
        }
        throw new Error('expected a refusal');
      })();
      expect(e.message).not.toContain(badId);
      expect(e.message).not.toContain('保密姓名');
    });

    it.each<[string, string, string, RegExp]>([
      ['an unknown office', file(row(1), row(2, { office: 'office-nowhere' })), 'row 3, office', /no judicial office/],
      ['a unit that is not an office', file(row(1, { office: 'section', officer: '' })), 'row 2, office', /no judicial office/],
      ['an unknown officer', file(row(1), row(2), row(3, { officer: 'gs-999' })), 'row 4, responsible_officer', /no staff member/],
      ['an officer of another office', file(row(1, { officer: 'gs-302' })), 'row 2, responsible_officer', /not on the staff of office 'office-hushu'/],
      ['an ID number another subject already has', file(row(1), row(2, { id: '330105197001264354' })), 'row 3, id_number', /already recorded for subject 'SQ-HS-003'/],
    ])('checked against the database: %s, and nothing is written', async (_, text, where, message) => {
      const before = await dumpSubjects();
      const rows = parseSubjectsCsv(text);
      await expect(importSubjects(t.db, cipher, rows, { now: new Date('2026-12-02T02:00:00Z') })).rejects.toMatchObject({
        name: 'InputFileError',
        problems: [expect.objectContaining({ where, message: expect.stringMatching(message) })],
      });
      expect(await dumpSubjects()).toEqual(before);
    });

    it('refuses a stored subject it cannot decrypt (the key changed) instead of overwriting it', async () => {
      const other = new PiiCipher(randomBytes(32));
      const one = parseSubjectsCsv(csv).slice(0, 1);
      await expect(importSubjects(t.db, other, one, { now: new Date('2026-12-02T02:00:00Z') })).rejects.toThrow(/cannot be decrypted/);
    });

    it('through the real CLI: exits non-zero, names the row on stderr, and imports nothing', async () => {
      const count = await subjectCount();
      const bad = path.join(tmp, 'bad-subjects.csv');
      await writeFile(bad, file(row(1), row(2), row(3, { id: '330105198801104354' })));
      const run = await runCliProcess(['subjects', 'import', bad], { DATABASE_URL: t.url, PII_KEY: KEY.toString('base64') });
      expect(run.code).toBe(1);
      expect(run.stderr).toContain('row 4, id_number');
      expect(run.stderr).not.toContain('330105198801104354');
      expect(await subjectCount()).toBe(count);
    });
  });
});
