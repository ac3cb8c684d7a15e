/**
 * A fictional organisation at the scale the measurements need: the bureau's leaders and section, and
 * `offices` judicial offices, each with a head and `officersPerOffice` officers, every officer
 * responsible for one subject. Telegram ids are deterministic so the stand-in can hold the same people.
 * Names and ID numbers are made up; they are written encrypted, as the product writes them.
 */
import { randomBytes } from 'node:crypto';
import type { Database } from '../../src/db/client.js';
import { PiiCipher } from '../../src/db/pii-crypto.js';
import { drills, positions, staff, subjects, units } from '../../src/db/schema.js';
import type { PositionKind } from '../../src/domain/index.js';

export interface BenchPerson {
  staffId: string;
  telegramId: number;
  unitId: string;
  kind: PositionKind;
}

export interface BenchOfficer extends BenchPerson {
  subjectId: string;
  subjectCode: string;
  /** The made-up name and ID number, to look for in Redis and in logs. */
  subjectName: string;
  subjectIdNumber: string;
}

export interface BenchOrg {
  piiKeyHex: string;
  cipher: PiiCipher;
  bureauId: string;
  sectionId: string;
  offices: string[];
  leaders: BenchPerson[];
  heads: BenchPerson[];
  officers: BenchOfficer[];
  /** Everyone, for registering with the stand-in. */
  everyone: BenchPerson[];
}

export const LEADER_TG = { director: 1001, deputy: 1002, section1: 1003, section2: 1004, upper: 1009 } as const;

export const officeHeadTg = (office: number) => 100_000 + office * 1_000;
export const officerTg = (office: number, n: number) => 100_000 + office * 1_000 + 1 + n;

/** Made-up but well-formed 18-digit ID numbers, unique per seq: one birth date per seq, the check digit computed. */
export function fakeIdNumber(seq: number): string {
  const born = new Date(Date.UTC(1950, 0, 1) + (seq % 25_000) * 86_400_000);
  const ymd = born.toISOString().slice(0, 10).replace(/-/g, '');
  const body = `330106${ymd}${String(Math.floor(seq / 25_000) % 1_000).padStart(3, '0')}`;
  const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const sum = [...body].reduce((s, d, i) => s + Number(d) * (weights[i] ?? 0), 0);
  return body + '10X98765432'[sum % 11];
}

const SURNAMES = ['赵', '钱', '孙', '李', '周', '吴', '郑', '王', '冯', '陈', '褚', '卫'];
const GIVEN = ['一鸣', '二强', '三丰', '思远', '武杰', '六顺', '启明', '八方', '久安', '时雨'];
export const fakeName = (seq: number) => `${SURNAMES[seq % SURNAMES.length]}${GIVEN[Math.floor(seq / SURNAMES.length) % GIVEN.length]}${seq}`;

export async function seedBenchOrg(db: Database, opts: { offices: number; officersPerOffice: number; piiKeyHex?: string }): Promise<BenchOrg> {
  const piiKeyHex = opts.piiKeyHex ?? randomBytes(32).toString('hex');
  const cipher = new PiiCipher(Buffer.from(piiKeyHex, 'hex'));
  const [bureau] = await db.insert(units).values({ code: 'bureau', kind: 'bureau', name: '拱墅区司法局', nameEn: 'District Justice Bureau' }).returning();
  const unit = async (code: string, kind: string, name: string, nameEn: string) =>
    (await db.insert(units).values({ code, kind, name, nameEn, parentId: bureau!.id }).returning())[0]!.id;
  const sectionId = await unit('section', 'section', '社区矫正管理科', 'Corrections Section');
  const upperId = await unit('upper', 'upper', '杭州市司法局', 'Municipal Justice Bureau');

  const everyone: BenchPerson[] = [];
  const person = async (code: string, name: string, unitId: string, kind: PositionKind, telegramId: number): Promise<BenchPerson> => {
    const [row] = await db.insert(staff).values({ code, name, unitId, telegramUserId: telegramId, chatId: telegramId, language: 'zh' }).returning();
    await db.insert(positions).values({ code: `pos-${code}`, kind, unitId, holderStaffId: row!.id });
    const p = { staffId: row!.id, telegramId, unitId, kind };
    everyone.push(p);
    return p;
  };
  const leaders = [
    await person('director', '局长', bureau!.id, 'director', LEADER_TG.director),
    await person('deputy', '副局长', bureau!.id, 'deputy_director', LEADER_TG.deputy),
    await person('section1', '科员一', sectionId, 'section', LEADER_TG.section1),
    await person('section2', '科员二', sectionId, 'section', LEADER_TG.section2),
    await person('upper', '市局联络员', upperId, 'upper_liaison', LEADER_TG.upper),
  ];

  const offices: string[] = [];
  const heads: BenchPerson[] = [];
  const officers: BenchOfficer[] = [];
  for (let o = 0; o < opts.offices; o++) {
    const officeId = await unit(`office-${o}`, 'office', `第${o + 1}司法所`, `Office ${o + 1}`);
    offices.push(officeId);
    heads.push(await person(`head-${o}`, `所长${o + 1}`, officeId, 'office_head', officeHeadTg(o)));
    // Officers in bulk: one insert for the staff, one for positions, one for subjects.
    const staffRows = await db
      .insert(staff)
      .values(
        Array.from({ length: opts.officersPerOffice }, (_, n) => ({
          code: `officer-${o}-${n}`,
          name: `矫正官${o + 1}-${n + 1}`,
          unitId: officeId,
          telegramUserId: officerTg(o, n),
          chatId: officerTg(o, n),
          language: 'zh',
        })),
      )
      .returning();
    if (staffRows.length === 0) continue;
    await db.insert(positions).values(staffRows.map((s) => ({ code: `pos-${s.code}`, kind: 'officer', unitId: officeId, holderStaffId: s.id })));
    const subjectSpecs = staffRows.map((s, n) => {
      const seq = o * 10_000 + n;
      return { staff: s, code: `SQ-${o}-${n}`, name: fakeName(seq), idNumber: fakeIdNumber(seq) };
    });
    const subjectRows = await db
      .insert(subjects)
      .values(
        subjectSpecs.map((x) => ({
          code: x.code,
          nameEnc: cipher.encrypt(x.name),
          idNumberEnc: cipher.encrypt(x.idNumber),
          idNumberHash: cipher.lookupHash(x.idNumber),
          officeUnitId: officeId,
          responsibleStaffId: x.staff.id,
          // A steady state: screenings are current, so a worker's start-up checks remind nobody mid-run.
          lastScreenedAt: new Date(),
        })),
      )
      .returning();
    subjectSpecs.forEach((x, n) => {
      const p: BenchOfficer = {
        staffId: x.staff.id,
        telegramId: Number(x.staff.telegramUserId),
        unitId: officeId,
        kind: 'officer',
        subjectId: subjectRows[n]!.id,
        subjectCode: x.code,
        subjectName: x.name,
        subjectIdNumber: x.idNumber,
      };
      officers.push(p);
      everyone.push(p);
    });
  }
  // This year's drill is done (七(二)), so the drill reminder stays quiet too.
  await db.insert(drills).values({ type: 'violent_crime', startedByStaffId: leaders[2]!.staffId, startedAt: new Date(), endedAt: new Date() });
  return { piiKeyHex, cipher, bureauId: bureau!.id, sectionId, offices, leaders, heads, officers, everyone };
}
