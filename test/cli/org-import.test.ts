/**
 * `org import`: the example organisation loads; importing it again leaves every table exactly as it was;
 * a bad file is refused with the path of the problem and changes nothing (also through the real CLI).
 */
import { readFile, writeFile, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputFileError } from '../../src/admin/errors.js';
import { importOrg, parseOrgFile } from '../../src/admin/org-import.js';
import { effectivePolicy, loadPolicyOverrides } from '../../src/admin/policy.js';
import { DEFAULT_POLICY } from '../../src/domain/index.js';
import { describeOrgFileError } from '../../src/admin/org-file-words.js';
import { listOutsideContacts } from '../../src/db/repositories/outside-party.repository.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { runCliProcess } from './run-cli.js';

const EXAMPLE = new URL('../../examples/org.yaml', import.meta.url);
let exampleText: string;
let t: TestDatabase;
let tmp: string;

beforeAll(async () => {
  exampleText = await readFile(EXAMPLE, 'utf8');
  t = await createTestDatabase();
  tmp = await mkdtemp(path.join(os.tmpdir(), 'org-import-'));
});
afterAll(async () => {
  await t?.drop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

/** Every row of every table an import writes, all columns, in a stable order. */
async function dump(): Promise<Record<string, readonly unknown[]>> {
  return {
    units: await t.sql`select * from units order by code`,
    staff: await t.sql`select * from staff order by code`,
    positions: await t.sql`select * from positions order by code`,
    settings: await t.sql`select * from settings order by key`,
    invites: await t.sql`select * from invites order by code`,
  };
}
const auditCount = async () => (await t.sql`select count(*)::int as n from audit_log`)[0]!.n as number;

/** The example file with one edit made through the YAML document, so the rest stays as it is. */
function editedExample(edit: (doc: ReturnType<typeof parseDocument>) => void): string {
  const doc = parseDocument(exampleText);
  edit(doc);
  return doc.toString();
}

function problemsOf(text: string) {
  try {
    parseOrgFile(text);
  } catch (e) {
    expect(e).toBeInstanceOf(InputFileError);
    return (e as InputFileError).problems;
  }
  throw new Error('expected the file to be refused');
}

// One harness and one database for the whole file, and steps that stand on what the steps before
// them left: they keep their order when the suite is shuffled (the files still run in any order).
describe('org-import, in order', { shuffle: false }, () => {
  describe('the example organisation', () => {
    it('parses: the bureau, its section, three offices with a head and two officers, the leaders, the upper liaison', () => {
      const org = parseOrgFile(exampleText);
      const kinds = (k: string) => org.positions.filter((p) => p.kind === k);
      expect(org.units.filter((u) => u.kind === 'office')).toHaveLength(3);
      expect(kinds('office_head')).toHaveLength(3);
      expect(kinds('officer')).toHaveLength(6);
      for (const office of org.units.filter((u) => u.kind === 'office')) {
        expect(kinds('officer').filter((p) => p.unit === office.code)).toHaveLength(2);
      }
      expect(kinds('director')).toHaveLength(1);
      expect(kinds('deputy_director')).toHaveLength(1);
      expect(kinds('upper_liaison')).toHaveLength(1);
      expect(kinds('info_reviewer')).toHaveLength(1);
      expect(org.staff.filter((s) => s.unit === 'section')).toHaveLength(2);
      expect(kinds('section').every((p) => p.acting)).toBe(true);
      expect(kinds('office_head').some((p) => p.acting)).toBe(true);
      expect(org.units.find((u) => u.kind === 'bureau')?.name).toBe('拱墅区司法局');
      expect(org.units.find((u) => u.kind === 'upper')?.name).toBe('杭州市司法局');
      expect(org.staff.every((s) => s.telegram_user_id == null)).toBe(true);
      expect(org.policy_overrides).toEqual({});
    });
  });

  describe('org import into PostgreSQL', () => {
    it('loads everything, then a second import changes nothing at all', async () => {
      const first = await importOrg(t.db, parseOrgFile(exampleText), { now: new Date('2026-11-29T02:00:00Z') });
      expect(first).toEqual({
        units: { created: 7, updated: 0, unchanged: 0 },
        staff: { created: 15, updated: 0, unchanged: 0 },
        positions: { created: 15, updated: 0, unchanged: 0 },
        policyOverridesChanged: true,
        outsideParties: { created: 10, updated: 0, unchanged: 0, removed: 0 },
      });
      const before = await dump();
      const second = await importOrg(t.db, parseOrgFile(exampleText), { now: new Date('2026-11-30T02:00:00Z') });
      expect(second).toEqual({
        units: { created: 0, updated: 0, unchanged: 7 },
        staff: { created: 0, updated: 0, unchanged: 15 },
        positions: { created: 0, updated: 0, unchanged: 15 },
        policyOverridesChanged: false,
        outsideParties: { created: 0, updated: 0, unchanged: 10, removed: 0 },
      });
      expect(await dump()).toEqual(before);
    });

    it('loads the directory of outside parties: a police station per office, the shared parties for all', async () => {
      const rows = await listOutsideContacts(t.db);
      const offices = await t.sql`select id, code from units where kind = 'office' order by code`;
      for (const office of offices) {
        expect(rows.filter((r) => r.party === 'police_station' && r.officeUnitId === office.id), office.code as string).toHaveLength(1);
      }
      const shared = rows.filter((r) => r.officeUnitId === null).map((r) => r.party);
      expect(shared).toEqual(expect.arrayContaining(['police_110', 'emergency_120', 'procuratorate', 'petitions_office', 'epidemic_control', 'deciding_authority']));
      expect(rows.find((r) => r.party === 'police_110')?.phone).toBe('110');
    });

    it('builds the unit tree and the seats with their acting holders', async () => {
      const [section] = await t.sql`select u.code, p.code as parent from units u join units p on p.id = u.parent_id where u.code = 'section'`;
      expect(section).toMatchObject({ parent: 'bureau' });
      const [seat] = await t.sql`
      select h.code as holder, a.code as acting from positions p
      join staff h on h.id = p.holder_staff_id left join staff a on a.id = p.acting_staff_id
      where p.code = 'pos-mishixiang-head'`;
      expect(seat).toEqual({ holder: 'gs-101', acting: 'gs-102' });
    });

    it('audits each import with counts only, never names', async () => {
      const rows = await t.sql`select data from audit_log where action = 'org.imported' order by id`;
      expect(rows).toHaveLength(2);
      expect(rows[1]!.data).toMatchObject({ staff: { unchanged: 15 } });
      const text = JSON.stringify(rows);
      for (const name of ['林志远', '王立新', '孙浩', '13800000001']) expect(text).not.toContain(name);
    });

    it('keeps the Telegram id and language an invite set when the file leaves them out', async () => {
      await t.sql`update staff set telegram_user_id = 5550001, chat_id = 5550001, language = 'en' where code = 'gs-202'`;
      const r = await importOrg(t.db, parseOrgFile(exampleText), { now: new Date('2026-12-01T02:00:00Z') });
      expect(r.staff.unchanged).toBe(15);
      const [s] = await t.sql`select telegram_user_id, language from staff where code = 'gs-202'`;
      expect(Number(s!.telegram_user_id)).toBe(5550001);
      expect(s!.language).toBe('en');
    });

    it('sets a language the file gives', async () => {
      const text = editedExample((doc) => doc.setIn(['staff', 9, 'language'], 'zh'));
      const r = await importOrg(t.db, parseOrgFile(text), { now: new Date('2026-12-01T03:00:00Z') });
      expect(r.staff).toEqual({ created: 0, updated: 1, unchanged: 14 });
      expect((await t.sql`select language from staff where code = 'gs-202'`)[0]!.language).toBe('zh');
      await t.sql`update staff set language = 'en' where code = 'gs-202'`;
    });

    it('updates what changed and only that', async () => {
      const text = editedExample((doc) => doc.setIn(['staff', 3, 'name'], '陈晓雯（新）'));
      const r = await importOrg(t.db, parseOrgFile(text), { now: new Date('2026-12-02T02:00:00Z') });
      expect(r.staff).toEqual({ created: 0, updated: 1, unchanged: 14 });
      expect(r.units.unchanged).toBe(7);
      await importOrg(t.db, parseOrgFile(exampleText), { now: new Date('2026-12-02T03:00:00Z') });
    });

    it('stores policy overrides in settings and an import without them restores the defaults', async () => {
      const text = editedExample((doc) => doc.set('policy_overrides', { ackSeconds: { critical: 120 }, dailyContact: { reminderAt: '08:30' } }));
      const r = await importOrg(t.db, parseOrgFile(text), { now: new Date('2026-12-03T02:00:00Z') });
      expect(r.policyOverridesChanged).toBe(true);
      expect(await loadPolicyOverrides(t.db)).toEqual({ ackSeconds: { critical: 120 }, dailyContact: { reminderAt: '08:30' } });
      const policy = await effectivePolicy(t.db);
      expect(policy.ackSeconds).toEqual({ critical: 120, standard: 900 });
      expect(policy.dailyContact.reminderAt).toBe('08:30');
      expect((await effectivePolicy(t.db, 1 / 60)).ackSeconds.critical).toBe(2);

      await importOrg(t.db, parseOrgFile(exampleText), { now: new Date('2026-12-03T03:00:00Z') });
      expect(await effectivePolicy(t.db)).toEqual(DEFAULT_POLICY);
    });

    it('refuses, changing nothing, a Telegram id already bound to someone else', async () => {
      const before = await dump();
      const audits = await auditCount();
      const text = editedExample((doc) => doc.setIn(['staff', 5, 'telegram_user_id'], 5550001));
      await expect(importOrg(t.db, parseOrgFile(text), { now: new Date('2026-12-04T02:00:00Z') })).rejects.toMatchObject({
        name: 'InputFileError',
        problems: [{ where: 'staff[5].telegram_user_id', message: "already bound to staff 'gs-202'" }],
      });
      expect(await dump()).toEqual(before);
      expect(await auditCount()).toBe(audits);
    });
  });

  describe('a bad org file is refused with the path of each problem', () => {
    it.each<[string, (doc: ReturnType<typeof parseDocument>) => void, string, RegExp]>([
      ['unknown unit of a staff member', (d) => d.setIn(['staff', 3, 'unit'], 'office-nowhere'), 'staff[3].unit', /unknown unit 'office-nowhere'/],
      ['unknown parent unit', (d) => d.setIn(['units', 1, 'parent'], 'ministry'), 'units[1].parent', /unknown unit/],
      ['unknown holder', (d) => d.setIn(['positions', 4, 'holder'], 'gs-999'), 'positions[4].holder', /unknown staff 'gs-999'/],
      ['unknown acting holder', (d) => d.setIn(['positions', 0, 'acting'], 'gs-998'), 'positions[0].acting', /unknown staff/],
      ['unknown unit of a seat', (d) => d.setIn(['positions', 2, 'unit'], 'nowhere'), 'positions[2].unit', /unknown unit/],
      ['a seat in the wrong kind of unit', (d) => d.setIn(['positions', 1, 'unit'], 'section'), 'positions[1].unit', /deputy_director seat belongs in a unit of kind bureau/],
      ['acting holder same as holder', (d) => d.setIn(['positions', 1, 'acting'], 'gs-002'), 'positions[1].acting', /someone other/],
      ['duplicate staff code', (d) => d.setIn(['staff', 4, 'code'], 'gs-001'), 'staff[4].code', /duplicate code 'gs-001' \(first at staff\[0\]\)/],
      ['unknown unit kind', (d) => d.setIn(['units', 2, 'kind'], 'ministry'), 'units[2].kind', /./],
      ['unknown position kind', (d) => d.setIn(['positions', 3, 'kind'], 'janitor'), 'positions[3].kind', /./],
      ['bad language', (d) => d.setIn(['staff', 0, 'language'], 'fr'), 'staff[0].language', /./],
      ['a misspelt field', (d) => d.setIn(['staff', 2, 'telegram_id'], 1), 'staff[2].telegram_id', /is not a known field/],
      ['a code that is a number', (d) => d.setIn(['staff', 1, 'code'], 12), 'staff[1].code', /quote it/],
      ['an empty name', (d) => d.setIn(['units', 0, 'name'], '  '), 'units[0].name', /must not be empty/],
      ['a negative Telegram id', (d) => d.setIn(['staff', 0, 'telegram_user_id'], -5), 'staff[0].telegram_user_id', /./],
      ['a unit cycle', (d) => d.setIn(['units', 0, 'parent'], 'section'), 'units[0].parent', /cycle/],
      ['a misspelt policy setting', (d) => d.set('policy_overrides', { ackSecond: { critical: 60 } }), 'policy_overrides.ackSecond', /not a policy setting/],
      ['an invalid policy value', (d) => d.set('policy_overrides', { ackSeconds: { critical: -60 } }), 'policy_overrides.ackSeconds.critical', /./],
      ['an invalid time of day', (d) => d.set('policy_overrides', { dailyContact: { reminderAt: '25:00' } }), 'policy_overrides.dailyContact.reminderAt', /./],
      ['the version is not an override', (d) => d.set('policy_overrides', { version: 2 }), 'policy_overrides.version', /not a policy setting/],
    ])('%s', (_, edit, where, message) => {
      const problems = problemsOf(editedExample(edit));
      const p = problems.find((x) => x.where === where);
      expect(p, JSON.stringify(problems)).toBeDefined();
      expect(p!.message).toMatch(message);
      expect(p!.line).toBeGreaterThan(0);
    });

    it('names the YAML syntax error and its line', () => {
      const problems = problemsOf('units:\n  - { code: bureau, kind: bureau\n  - oops: [\n');
      expect(problems[0]).toMatchObject({ where: '(yaml)' });
      expect(problems[0]!.line).toBeGreaterThan(1);
    });

    it('lists every problem, not only the first', () => {
      const problems = problemsOf(
        editedExample((d) => {
          d.setIn(['staff', 3, 'unit'], 'x1');
          d.setIn(['staff', 7, 'unit'], 'x2');
        }),
      );
      expect(problems.map((p) => p.where)).toEqual(['staff[3].unit', 'staff[7].unit']);
    });

    it('tells a malformed file in Chinese by default, in English when asked: the line, the entry, the field, what is wrong', () => {
      const text = [
        'units:',
        '  - { code: bureau, kind: ministry, name: 拱墅区司法局 }',
        '  - { code: section, kind: section, name: "  ", parent: bureau }',
        'staff:',
        '  - { code: 12, name: 王立新, unit: section }',
        '  - { code: gs-2, name: 陈晓雯, unit: section, telegram_id: 5, phone: 电话 }',
        '  - { code: gs-3, unit: section, telegram_user_id: -5 }',
        'outside_parties:',
        '  - { code: x1, party: fire_brigade, name: 消防, phone: "119" }',
        '',
      ].join('\n');
      let err: InputFileError | undefined;
      try {
        parseOrgFile(text);
      } catch (e) {
        err = e as InputFileError;
      }
      expect(err).toBeInstanceOf(InputFileError);
      const zh = describeOrgFileError(err!, 'zh').split('\n');
      expect(zh[0]).toBe('组织文件未导入，未做任何更改。问题如下：');
      expect(zh.slice(1)).toEqual([
        '  第 2 行，单位列表第 1 项的“类型”：“ministry”不是可选的值，可选：bureau、section、office、upper、department。',
        '  第 3 行，单位列表第 2 项的“名称”：不能为空。',
        '  第 5 行，人员列表第 1 项的“代码”：应填写代码；看起来像数字的代码请加引号。',
        '  第 6 行，人员列表第 2 项的“电话”：不是有效的电话号码。',
        '  第 6 行，人员列表第 2 项的“telegram_id”：不是可以填写的字段，请检查拼写。',
        '  第 7 行，人员列表第 3 项的“名称”：必须填写。',
        '  第 7 行，人员列表第 3 项的“电报账号”：应为正数。',
        expect.stringMatching(/^ {2}第 9 行，外部单位通讯录第 1 项的“外部单位类别”：“fire_brigade”不是可选的值，可选：police_110、/),
      ]);
      // No zod wording reaches the reader in Chinese; the only Latin letters are the file's own keys and values, quoted.
      for (const line of zh.slice(1)) expect(line.replace(/“[^”]*”/g, '').replace(/可选：.*$/, ''), line).not.toMatch(/[A-Za-z]/);
      const en = describeOrgFileError(err!, 'en').split('\n');
      expect(en[0]).toBe('org file refused, nothing was changed:');
      expect(en).toContain('  line 5, staff entry 1, field “code”: expected a code (quote it if it looks like a number).');
      expect(en).toContain('  line 7, staff entry 3, field “name”: is required.');
      expect(en.join('\n')).not.toMatch(/Invalid input|received/);
    });

    it('tells the problems between entries in words: a duplicate code names the first entry, a seat in the wrong unit names both kinds', () => {
      const err = (() => {
        try {
          parseOrgFile(
            editedExample((d) => {
              d.setIn(['staff', 4, 'code'], 'gs-001');
              d.setIn(['positions', 1, 'unit'], 'section');
              d.setIn(['positions', 4, 'holder'], 'gs-999');
            }),
          );
        } catch (e) {
          return e as InputFileError;
        }
        throw new Error('expected the file to be refused');
      })();
      const zh = describeOrgFileError(err, 'zh');
      expect(zh).toMatch(/第 \d+ 行，人员列表第 5 项的“代码”：代码“gs-001”重复，人员列表第 1 项已经用过。/);
      expect(zh).toMatch(/第 \d+ 行，岗位列表第 2 项的“所属单位”：“分管副局长”岗位只能设在司法局，不能设在社区矫正管理科。/);
      expect(zh).toMatch(/第 \d+ 行，岗位列表第 5 项的“在岗人”：没有代码为“gs-999”的人员。/);
      expect(describeOrgFileError(err, 'en')).toMatch(/line \d+, staff entry 5, field “code”: the code “gs-001” is used twice; staff entry 1 has it already\./);
    });

    it('through the real CLI: exits non-zero, names the line and field on stderr in Chinese (English with --lang en), and changes nothing', async () => {
      const before = await dump();
      const audits = await auditCount();
      const file = path.join(tmp, 'bad-org.yaml');
      await writeFile(file, editedExample((d) => d.setIn(['staff', 3, 'unit'], 'office-nowhere')));
      const run = await runCliProcess(['org', 'import', file], { DATABASE_URL: t.url });
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/^组织文件未导入，未做任何更改。问题如下：\n {2}第 \d+ 行，人员列表第 4 项的“所属单位”：没有代码为“office-nowhere”的单位。/);
      expect(run.stdout).toBe('');
      const en = await runCliProcess(['org', 'import', file, '--lang', 'en'], { DATABASE_URL: t.url });
      expect(en.code).toBe(1);
      expect(en.stderr).toMatch(/line \d+, staff entry 4, field “unit”: there is no unit with the code “office-nowhere”\./);
      expect(await dump()).toEqual(before);
      expect(await auditCount()).toBe(audits);
    });
  });
});
