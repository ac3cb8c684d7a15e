/**
 * A small fictional organisation for integration tests: the bureau, its section, two offices, the
 * leaders and an upper-level liaison, each bound to a Telegram user id, and a few subjects.
 */
import { randomBytes } from 'node:crypto';
import type { Database } from '../../src/db/client.js';
import { PiiCipher } from '../../src/db/pii-crypto.js';
import { positions, staff, subjects, units } from '../../src/db/schema.js';
import type { Actor, PositionKind } from '../../src/domain/index.js';
import type { Clock } from '../../src/domain/time.js';

export const TG = {
  director: 1001,
  deputy: 1002,
  section: 1003,
  section2: 1004,
  upper: 1009,
  headA: 2001,
  officerA1: 2002,
  officerA2: 2003,
  headB: 3001,
  officerB1: 3002,
  stranger: 9999,
} as const;

export type StaffKey = keyof Omit<typeof TG, 'stranger'>;

export interface SeededOrg {
  units: { bureau: string; section: string; upper: string; officeA: string; officeB: string };
  staff: Record<StaffKey, string>;
  subjects: { a1: string; a2: string; b1: string };
  cipher: PiiCipher;
  actor(key: StaffKey): Actor;
}

export function testCipher(): PiiCipher {
  return new PiiCipher(randomBytes(32));
}

export class ManualClock implements Clock {
  constructor(private t: Date = new Date('2026-11-29T02:00:00Z')) {}
  now(): Date {
    return new Date(this.t);
  }
  set(d: Date): void {
    this.t = new Date(d);
  }
  advance(ms: number): void {
    this.t = new Date(this.t.getTime() + ms);
  }
}

export async function seedOrg(db: Database, cipher: PiiCipher = testCipher()): Promise<SeededOrg> {
  const [bureau] = await db.insert(units).values({ code: 'bureau', kind: 'bureau', name: '拱墅区司法局', nameEn: 'District Justice Bureau' }).returning();
  const u = async (code: string, kind: string, name: string, nameEn: string) =>
    (await db.insert(units).values({ code, kind, name, nameEn, parentId: bureau!.id }).returning())[0]!.id;
  const section = await u('section', 'section', '社区矫正管理科', 'Corrections Section');
  const upper = await u('upper', 'upper', '杭州市司法局', 'Municipal Justice Bureau');
  const officeA = await u('office-a', 'office', '甲街道司法所', 'Office A');
  const officeB = await u('office-b', 'office', '乙街道司法所', 'Office B');

  const people: Array<[StaffKey, string, string, PositionKind, string]> = [
    ['director', '局长甲', bureau!.id, 'director', 'zh'],
    ['deputy', '副局长乙', bureau!.id, 'deputy_director', 'zh'],
    ['section', '科员丙', section, 'section', 'zh'],
    ['section2', 'Section Two', section, 'section', 'en'],
    ['upper', '市局联络员', upper, 'upper_liaison', 'zh'],
    ['headA', '所长甲', officeA, 'office_head', 'zh'],
    ['officerA1', '矫正官甲一', officeA, 'officer', 'zh'],
    ['officerA2', 'Officer A2', officeA, 'officer', 'en'],
    ['headB', '所长乙', officeB, 'office_head', 'zh'],
    ['officerB1', '矫正官乙一', officeB, 'officer', 'zh'],
  ];
  const staffIds = {} as Record<StaffKey, string>;
  const actors = {} as Record<StaffKey, Actor>;
  for (const [key, name, unitId, kind, language] of people) {
    const [row] = await db
      .insert(staff)
      .values({ code: key, name, unitId, telegramUserId: TG[key], chatId: TG[key], language })
      .returning();
    staffIds[key] = row!.id;
    await db.insert(positions).values({ code: `pos-${key}`, kind, unitId, holderStaffId: row!.id });
    const unitKind = unitId === officeA || unitId === officeB ? 'office' : unitId === section ? 'section' : unitId === upper ? 'upper' : 'bureau';
    actors[key] = { staffId: row!.id, unitId, unitKind, positions: [kind] };
  }

  const subject = async (code: string, name: string, idNumber: string, office: string, officer: string) =>
    (
      await db
        .insert(subjects)
        .values({
          code,
          nameEnc: cipher.encrypt(name),
          idNumberEnc: cipher.encrypt(idNumber),
          idNumberHash: cipher.lookupHash(idNumber),
          officeUnitId: office,
          responsibleStaffId: officer,
        })
        .returning()
    )[0]!.id;
  const subjectIds = {
    a1: await subject('SQ-A-001', '张三', '330106199001011234', officeA, staffIds.officerA1),
    a2: await subject('SQ-A-002', '李四', '330106198505052345', officeA, staffIds.officerA2),
    b1: await subject('SQ-B-001', '王五', '330105197712123456', officeB, staffIds.officerB1),
  };

  return {
    units: { bureau: bureau!.id, section, upper, officeA, officeB },
    staff: staffIds,
    subjects: subjectIds,
    cipher,
    actor: (key) => actors[key],
  };
}
