/**
 * Administration for the section, on the real database: staff added, deactivated, moved; a responsible
 * officer; an acting holder and 我外出/休假 (the next escalation goes to the acting holder); invites; and the
 * CSV import previewed, refused rows named, and confirming importing exactly the previewed rows.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actorFor, findStaffById } from '../../src/db/repositories/org.repository.js';
import { addDays, atLocalTime, resolvePolicy, type EscalationPolicy } from '../../src/domain/index.js';
import { requestAbsence } from '../../src/services/absence.service.js';
import {
  addStaff,
  confirmImport,
  createStaffInvite,
  deactivateStaff,
  moveStaff,
  previewImport,
  seatsForAdmin,
  setActingHolder,
  setResponsibleOfficer,
} from '../../src/services/admin.service.js';
import { fireProcessTimer } from '../../src/services/daily-contact.service.js';
import { ServiceRefusal } from '../../src/services/errors.js';
import { redeemInvite } from '../../src/services/invite.service.js';
import type { ServiceDeps } from '../../src/services/ports.js';
import { setAway, setMyAway } from '../../src/services/staff.service.js';
import { admitSubject } from '../../src/services/subject.service.js';
import { fireTimer } from '../../src/services/timer.service.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { ManualClock, seedOrg, type SeededOrg, type StaffKey } from '../helpers/fixtures.js';

const TZ = 'Asia/Shanghai';
const D = '2026-12-01';

let t: TestDatabase;
let org: SeededOrg;
const clock = new ManualClock(atLocalTime(D, '08:00', TZ));
const policy: EscalationPolicy = resolvePolicy({});
let deps: ServiceDeps;

beforeAll(async () => {
  t = await createTestDatabase();
  org = await seedOrg(t.db);
  deps = { db: t.db, clock, timeZone: TZ, piiMode: 'masked', cipher: org.cipher, policy: async () => policy, dispatcher: { afterCommit: async () => {} } };
});
afterAll(async () => t?.drop());

const at = (date: string, hhmm: string) => clock.set(atLocalTime(date, hhmm, TZ));
const who = (id: string) => (Object.entries(org.staff).find(([, v]) => v === id)?.[0] ?? id) as StaffKey;
const seatOf = async (key: StaffKey) => (await t.sql`select id from positions where code = ${`pos-${key}`}`)[0]!.id as string;
/** The actor as the database says now (acting seats included), not the fixture's. */
const actorNow = async (key: StaffKey) => actorFor(t.db, (await findStaffById(t.db, org.staff[key]))!);

async function refusal(p: Promise<unknown>): Promise<ServiceRefusal> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ServiceRefusal) return e;
    throw e;
  }
  throw new Error('expected a refusal');
}

describe('only the section administers', () => {
  it.each(['officerA1', 'headA', 'director'] as const)('%s is refused everything', async (key) => {
    const a = org.actor(key);
    const refused = await Promise.all([
      refusal(addStaff(deps, a, { name: '某人', unitId: org.units.officeA, positionKind: 'officer' })),
      refusal(deactivateStaff(deps, a, org.staff.officerA2)),
      refusal(moveStaff(deps, a, org.staff.officerA2, { unitId: org.units.officeB, positionKind: 'officer' })),
      refusal(setResponsibleOfficer(deps, a, org.subjects.a1, org.staff.officerA2)),
      refusal(setActingHolder(deps, a, await seatOf('headA'), org.staff.officerA1)),
      refusal(createStaffInvite(deps, a, { unitId: org.units.officeA, positionKind: 'officer' })),
      refusal(previewImport(deps, a, 'code,name,id_number,office\n')),
      refusal(confirmImport(deps, a, '00000000-0000-4000-8000-000000000000')),
      refusal(setAway(deps, a, org.staff.section, { from: D, until: D })),
    ]);
    expect(refused.map((r) => r.code)).toEqual(Array(9).fill('not_permitted'));
  });
});

describe('staff', () => {
  it('adds a staff member with a seat, invites them, and the invite binds their account', async () => {
    at(D, '08:00');
    const { staff, positionId } = await addStaff(deps, org.actor('section'), { name: '新矫正官', unitId: org.units.officeA, positionKind: 'officer', code: 'officer-new' });
    expect(staff).toMatchObject({ code: 'officer-new', unitId: org.units.officeA, active: true, telegramUserId: null });
    expect((await t.sql`select holder_staff_id from positions where id = ${positionId}`)[0]!.holder_staff_id).toBe(staff.id);
    expect(await refusal(addStaff(deps, org.actor('section'), { name: '错位', unitId: org.units.officeA, positionKind: 'director' }))).toMatchObject({ detail: 'position' });
    expect(await refusal(addStaff(deps, org.actor('section'), { name: '重号', unitId: org.units.officeA, positionKind: 'officer', code: 'officer-new' }))).toMatchObject({ detail: 'code_taken' });
    const invite = await createStaffInvite(deps, org.actor('section'), { unitId: org.units.officeA, positionKind: 'officer', staffId: staff.id, hours: 24 });
    const bound = await redeemInvite(deps, invite.code, { telegramUserId: 5555, chatId: 5555, language: 'zh', displayName: '新人' });
    expect(bound).toMatchObject({ id: staff.id, telegramUserId: 5555 });
    const trail = await t.sql`select action, actor_staff_id from audit_log where action in ('staff.added', 'invite.created') order by id`;
    expect(trail.map((r) => [r.action, who(r.actor_staff_id as string)])).toEqual([
      ['staff.added', 'section'],
      ['invite.created', 'section'],
    ]);
  });

  it('sets a responsible officer of the subject’s office only', async () => {
    const s = await setResponsibleOfficer(deps, org.actor('section'), org.subjects.a2, org.staff.officerA1);
    expect(s.responsibleStaffId).toBe(org.staff.officerA1);
    expect(await refusal(setResponsibleOfficer(deps, org.actor('section'), org.subjects.a2, org.staff.officerB1))).toMatchObject({ detail: 'responsible_officer' });
    await setResponsibleOfficer(deps, org.actor('section'), org.subjects.a2, org.staff.officerA2);
  });

  it('moves a staff member to another office: old seat vacated, their subjects there released', async () => {
    const moved = await moveStaff(deps, org.actor('section'), org.staff.officerA2, { unitId: org.units.officeB, positionKind: 'officer' });
    expect(moved.staff.unitId).toBe(org.units.officeB);
    expect(moved.vacatedSeats).toEqual([await seatOf('officerA2')]);
    expect(moved.subjectsWithoutOfficer).toEqual([org.subjects.a2]);
    expect((await t.sql`select unit_id, holder_staff_id from positions where id = ${moved.positionId}`)[0]).toEqual({ unit_id: org.units.officeB, holder_staff_id: org.staff.officerA2 });
    expect((await t.sql`select responsible_staff_id from subjects where id = ${org.subjects.a2}`)[0]!.responsible_staff_id).toBeNull();
  });

  it('deactivates a staff member: no seat, nobody’s officer', async () => {
    const out = await deactivateStaff(deps, org.actor('section'), org.staff.officerA2);
    expect(out.staff.active).toBe(false);
    expect(out.vacatedSeats).toHaveLength(1);
    expect((await refusal(deactivateStaff(deps, org.actor('section'), org.staff.officerA2))).code).toBe('already_done');
    expect((await refusal(deactivateStaff(deps, org.actor('section'), org.staff.section))).code).toBe('invalid_input');
  });
});

describe('an acting holder and 我外出/休假', () => {
  it('the office head is away; the acting holder set by the section decides and gets the next escalation', async () => {
    at(D, '08:00');
    const seat = await seatOf('headA');
    await setActingHolder(deps, org.actor('section'), seat, org.staff.officerA1);
    const told = await t.sql`select kind, params from outbox where recipient_staff_id = ${org.staff.officerA1} and kind = 'acting_holder_set'`;
    expect(told).toHaveLength(1);
    expect(told[0]!.params).toMatchObject({ positionId: seat, positionKind: 'office_head' });
    expect((await seatsForAdmin(deps, org.actor('section'), org.units.officeA)).find((s) => s.seat.id === seat)).toMatchObject({ holderName: '所长甲', actingName: '矫正官甲一' });

    const away = await setMyAway(deps, org.actor('headA'), { from: D, until: addDays(D, 2) });
    expect(away).toMatchObject({ awayNow: true, seatsWithoutActing: [] });
    expect((await t.sql`select params from outbox where kind = 'standing_in' and recipient_staff_id = ${org.staff.officerA1}`)).toHaveLength(1);

    // officer A1 acts as office head now: a short stay they ask for is theirs to approve at once.
    const acting = await actorNow('officerA1');
    expect(acting.acting).toEqual(['office_head']);
    at(D, '10:00');
    const r = await requestAbsence(deps, acting, { subjectId: org.subjects.a1, destination: '宁波', startsOn: D, endsOn: addDays(D, 1) });
    expect(r.absence?.approvedByStaffId).toBe(org.staff.officerA1);

    at(D, '18:00');
    const [check] = await t.sql`select id from timers where subject_id = ${org.subjects.a1} and kind = 'contact_check' and cycle = ${D} and level = 0`;
    expect(await fireTimer(deps, check!.id as string)).toMatchObject({ status: 'sent' });
    const head = await t.sql`select recipient_staff_id from outbox where kind = 'contact_check_head' and subject_id = ${org.subjects.a1}`;
    expect(head.map((h) => who(h.recipient_staff_id as string))).toEqual(['officerA1']);
  });

  it('a period ahead: away from its first day, back the day after its last; coming back early cancels the old end', async () => {
    at(D, '08:00');
    const first = await setAway(deps, org.actor('section'), org.staff.headB, { from: addDays(D, 5), until: addDays(D, 6) });
    expect(first.awayNow).toBe(false);
    const ends = async () => t.sql`select id, level, due_at, state from timers where kind = 'staff_away' and cycle = ${org.staff.headB} order by created_at, level`;
    const [start, end] = await ends();
    expect(new Date(start!.due_at as string)).toEqual(atLocalTime(addDays(D, 5), '00:00', TZ));
    expect(new Date(end!.due_at as string)).toEqual(atLocalTime(addDays(D, 7), '00:00', TZ));
    at(addDays(D, 5), '00:00');
    expect(await fireProcessTimer(deps, start!.id as string)).toMatchObject({ status: 'sent' });
    expect((await findStaffById(t.db, org.staff.headB))!.away).toBe(true);
    at(addDays(D, 6), '12:00');
    // Back early: the period is cleared, and its end's timer cancelled.
    await setAway(deps, org.actor('headB'), org.staff.headB, null);
    expect((await findStaffById(t.db, org.staff.headB))!.away).toBe(false);
    expect(await fireProcessTimer(deps, end!.id as string)).toMatchObject({ status: 'skipped', reason: 'already cancelled' });
    expect((await refusal(setAway(deps, org.actor('officerB1'), org.staff.headB, { from: D, until: D }))).code).toBe('not_permitted');
  });
});

describe('the CSV import: preview, then 确认导入', () => {
  const header = 'code,name,id_number,office,responsible_officer,risk_level,status';

  it('previews the rows to add and change and names the refused ones; confirming imports exactly those, once', async () => {
    at(D, '08:00');
    const existing = await admitSubject(deps, org.actor('section'), { code: 'SQ-A-300', name: '陈一', idNumber: '330105198001010017', officeUnitId: org.units.officeA });
    const csv = [
      header,
      'SQ-A-200,新对象,330105198001010025,office-a,officerA1,normal,',
      'SQ-A-300,陈一改,330105198001010017,office-a,officerA1,high,active',
      'SQ-A-201,坏号码,330105198001010026,office-a,,,',
      'SQ-A-202,无此所,330105198001010033,office-z,,,',
      'SQ-A-200,重复,330105198001010041,office-a,,,',
      'SQ-A-203,外所官,33010519800101005X,office-a,officerB1,,',
      'SQ-A-204,外出中,330105198001010068,office-a,,,away',
      'SQ-A-205,借号码,330105198001010017,office-a,,,',
    ].join('\n');
    const preview = await previewImport(deps, org.actor('section'), csv);
    expect(preview.add.map((a) => [a.row, a.code])).toEqual([[2, 'SQ-A-200']]);
    expect(preview.change.map((c) => [c.row, c.subjectId, c.fields])).toEqual([[3, existing.id, ['name', 'responsible_officer', 'risk_level']]]);
    expect(preview.refused.map((r) => [r.row, r.reason, r.sameAsRow ?? null])).toEqual([
      [4, 'id_number_check_digit', null],
      [5, 'office_unknown', null],
      [6, 'duplicate_in_file', 2],
      [7, 'officer_not_in_office', null],
      [8, 'status_follows_events', null],
      [9, 'duplicate_in_file', 3],
    ]);
    expect(preview.token).toMatch(/^[0-9a-f-]{36}$/);
    // The preview holds names and ID numbers: encrypted.
    const [stored] = await t.sql`select payload_enc from import_previews where id = ${preview.token}`;
    expect(Buffer.from(stored!.payload_enc as Uint8Array).toString('utf8')).not.toContain('新对象');

    expect((await refusal(confirmImport(deps, org.actor('section2'), preview.token!))).code).toBe('not_found');
    const done = await confirmImport(deps, org.actor('section'), preview.token!);
    expect(done.changed).toEqual([existing.id]);
    const rows = await t.sql`select code, risk_level, responsible_staff_id from subjects where code like 'SQ-A-2%' or code = 'SQ-A-300' order by code`;
    expect(rows.map((r) => [r.code, r.risk_level, who(r.responsible_staff_id as string)])).toEqual([
      ['SQ-A-200', 'normal', 'officerA1'],
      ['SQ-A-300', 'high', 'officerA1'],
    ]);
    expect(done.added).toHaveLength(1);
    expect((await refusal(confirmImport(deps, org.actor('section'), preview.token!))).code).toBe('already_done');
    const [audit] = await t.sql`select data from audit_log where action = 'subjects.imported'`;
    expect(audit!.data).toMatchObject({ source: 'chat', created: 1, updated: 1 });
    expect(JSON.stringify(audit!.data)).not.toContain('新对象');
  });

  it('what changed since the preview makes it stale, and nothing is imported; a late confirm has expired', async () => {
    at(D, '09:00');
    const preview = await previewImport(deps, org.actor('section'), `${header}\nSQ-A-400,李甲,330105198001010076,office-a,,,\nSQ-A-401,李乙,330105198001010084,office-a,,,`);
    expect(preview.add).toHaveLength(2);
    await admitSubject(deps, org.actor('section'), { code: 'SQ-A-401', name: '别人', idNumber: '110105194912310038', officeUnitId: org.units.officeA });
    expect((await refusal(confirmImport(deps, org.actor('section'), preview.token!))).code).toBe('stale');
    expect((await t.sql`select count(*)::int as n from subjects where code = 'SQ-A-400'`)[0]!.n).toBe(0);

    const later = await previewImport(deps, org.actor('section'), `${header}\nSQ-A-400,李甲,330105198001010076,office-a,,,`);
    clock.advance(31 * 60_000);
    expect((await refusal(confirmImport(deps, org.actor('section'), later.token!))).code).toBe('expired');
  });

  it('a file without its columns is refused whole, and nothing to import gives no token', async () => {
    const bad = await previewImport(deps, org.actor('section'), 'code,name\nSQ-9,某');
    expect(bad.refused.map((r) => [r.row, r.reason, r.column])).toEqual([
      [1, 'missing_column', 'id_number'],
      [1, 'missing_column', 'office'],
    ]);
    expect(bad.token).toBeNull();
    expect((await previewImport(deps, org.actor('section'), header)).refused).toEqual([{ row: 1, reason: 'empty' }]);
  });
});
