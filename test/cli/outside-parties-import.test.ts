/**
 * The directory of outside parties in the org file (`outside_parties`): loaded per office, checked
 * against the units, imported twice with no change, replaced by a later file; a file without the section
 * leaves it as it is. The bureau's sanction list and 脱管 thresholds come as policy overrides.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputFileError } from '../../src/admin/errors.js';
import { importOrg, parseOrgFile } from '../../src/admin/org-import.js';
import { effectivePolicy } from '../../src/admin/policy.js';
import { listOutsideContacts } from '../../src/db/repositories/outside-party.repository.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => t?.drop());

const UNITS = `units:
  - { code: bureau, kind: bureau, name: 拱墅区司法局 }
  - { code: section, kind: section, name: 社区矫正管理科, parent: bureau }
  - { code: office-a, kind: office, name: 甲街道司法所, parent: bureau }
`;
const DIRECTORY = `outside_parties:
  - { code: pcs-a, party: police_station, name: 拱宸桥派出所, phone: 0571-88000001, office: office-a }
  - { code: proc, party: procuratorate, name: 拱墅区人民检察院, phone: "0571-88000009", note: 值班室 }
policy_overrides:
  sanctions:
    kinds: [{ code: admonition }, { code: warning }, { code: talk, name: 约谈 }]
  absconding:
    thresholdsSeconds: [43200, 86400]
`;
const now = new Date('2026-11-29T02:00:00Z');

describe('outside_parties in the org file', () => {
  it('imports the directory per office, and again changes nothing; the policy carries the list and the thresholds', async () => {
    const first = await importOrg(t.db, parseOrgFile(UNITS + DIRECTORY), { now });
    expect(first.outsideParties).toEqual({ created: 2, updated: 0, unchanged: 0, removed: 0 });
    const rows = await listOutsideContacts(t.db);
    expect(rows.map((r) => [r.code, r.party, r.phone, r.officeUnitId !== null, r.note])).toEqual([
      ['pcs-a', 'police_station', '0571-88000001', true, null],
      ['proc', 'procuratorate', '0571-88000009', false, '值班室'],
    ]);
    expect((await importOrg(t.db, parseOrgFile(UNITS + DIRECTORY), { now })).outsideParties).toEqual({ created: 0, updated: 0, unchanged: 2, removed: 0 });
    const policy = await effectivePolicy(t.db);
    expect(policy.sanctions.kinds.map((k) => k.code)).toEqual(['admonition', 'warning', 'talk']);
    expect(policy.absconding.thresholdsSeconds).toEqual([43_200, 86_400]);
  });

  it('a later file replaces it; a file without the section leaves it alone', async () => {
    const later = `outside_parties:\n  - { code: proc, party: procuratorate, name: 拱墅区人民检察院, phone: 0571-88000010 }\n`;
    expect((await importOrg(t.db, parseOrgFile(UNITS + later), { now })).outsideParties).toEqual({ created: 0, updated: 1, unchanged: 0, removed: 1 });
    const r = await importOrg(t.db, parseOrgFile(UNITS), { now });
    expect(r.outsideParties).toBeUndefined();
    expect((await listOutsideContacts(t.db)).map((x) => x.phone)).toEqual(['0571-88000010']);
  });

  it('refuses an unknown party, an office that is not one, a bad number and a duplicate code, with the line', () => {
    const bad = `outside_parties:
  - { code: x1, party: fire_brigade, name: 消防, phone: 119 }
`;
    expect(() => parseOrgFile(UNITS + bad)).toThrow(InputFileError);
    const wrongOffice = `outside_parties:
  - { code: x1, party: police_station, name: 派出所, phone: "0571-1", office: section }
  - { code: x1, party: police_station, name: 派出所, phone: "0571-2", office: nowhere }
  - { code: x2, party: police_station, name: 派出所, phone: "abc" }
`;
    try {
      parseOrgFile(UNITS + wrongOffice);
      expect.unreachable();
    } catch (e) {
      const problems = (e as InputFileError).problems.map((p) => `${p.where}: ${p.message}`);
      expect(problems.join('\n')).toMatch(/outside_parties\[2\]\.phone/);
    }
    const refs = `outside_parties:
  - { code: x1, party: police_station, name: 派出所, phone: "0571-1", office: section }
  - { code: x1, party: police_station, name: 派出所, phone: "0571-2", office: nowhere }
`;
    try {
      parseOrgFile(UNITS + refs);
      expect.unreachable();
    } catch (e) {
      const problems = (e as InputFileError).problems.map((p) => `${p.where}: ${p.message}${p.line ? ` (line ${p.line})` : ''}`);
      expect(problems).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^outside_parties\[1\]\.code: duplicate code 'x1'/),
          expect.stringMatching(/^outside_parties\[0\]\.office: 'section' is not a judicial office \(line 6\)/),
          expect.stringMatching(/^outside_parties\[1\]\.office: unknown unit 'nowhere'/),
        ]),
      );
    }
  });
});
