/**
 * Subjects whose status follows events, on the real database: 脱管 and found, a false alarm, a drill, a
 * death's 终止社区矫正 and 解矫 ending every reminder, 入矫 and 执行地变更, "my subjects", the last four
 * digits of an ID number, the timeline, and full names for the responsible officer as a bureau setting.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { subjects } from '../../src/db/schema.js';
import { addDays, atLocalTime, resolvePolicy, type EscalationPolicy } from '../../src/domain/index.js';
import { approveAbsenceRequest, requestAbsence } from '../../src/services/absence.service.js';
import { runDailyContactReminders } from '../../src/services/daily-contact.service.js';
import { ServiceRefusal } from '../../src/services/errors.js';
import { closeFalseAlarm, markStep, recordAbscondingOutcome, reportIncident } from '../../src/services/incident.service.js';
import type { ServiceDeps } from '../../src/services/ports.js';
import {
  admitSubject,
  logContact,
  mySubjects,
  searchSubjects,
  subjectPiiMode,
  subjectTimeline,
  terminateSubject,
  transferSubject,
} from '../../src/services/subject.service.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { ManualClock, seedOrg, type SeededOrg, type StaffKey } from '../helpers/fixtures.js';

const TZ = 'Asia/Shanghai';
const D = '2026-12-01';

let t: TestDatabase;
let org: SeededOrg;
const clock = new ManualClock(atLocalTime(D, '08:00', TZ));
let policy: EscalationPolicy = resolvePolicy({});
let deps: ServiceDeps;

beforeAll(async () => {
  t = await createTestDatabase();
  org = await seedOrg(t.db);
  deps = { db: t.db, clock, timeZone: TZ, piiMode: 'masked', cipher: org.cipher, policy: async () => policy, dispatcher: { afterCommit: async () => {} } };
});
afterAll(async () => t?.drop());

const at = (date: string, hhmm: string) => clock.set(atLocalTime(date, hhmm, TZ));

async function newSubject(office: 'officeA' | 'officeB' = 'officeA', officer: StaffKey = 'officerA1'): Promise<string> {
  const [row] = await t.db
    .insert(subjects)
    .values({ code: `T-${randomUUID().slice(0, 8)}`, nameEnc: org.cipher.encrypt('孙八'), officeUnitId: org.units[office], responsibleStaffId: org.staff[officer] })
    .returning();
  return row!.id;
}

async function statusOf(subjectId: string): Promise<string> {
  const [row] = await t.sql<Array<{ status: string }>>`select status from subjects where id = ${subjectId}`;
  return row!.status;
}

async function refusal(p: Promise<unknown>): Promise<ServiceRefusal> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ServiceRefusal) return e;
    throw e;
  }
  throw new Error('expected a refusal');
}

const report = (subjectId: string, type: 'absconding' | 'abnormal_death', extra: { isDrill?: boolean } = {}) =>
  reportIncident(deps, org.actor('officerA1'), { type, subjectId, officeUnitId: org.units.officeA, discoveredAt: clock.now(), injured: 0, dead: type === 'abnormal_death' ? 1 : 0, description: '情况说明', ...extra });

describe('脱管 and found', () => {
  it('an absconding report sets 脱管; found (brought back) returns the status before, away while the stay covers today', async () => {
    at(D, '08:00');
    const s = await newSubject();
    await requestAbsence(deps, org.actor('headA'), { subjectId: s, destination: '上海', startsOn: D, endsOn: addDays(D, 3) });
    expect(await statusOf(s)).toBe('away');
    at(D, '20:00');
    const { incident } = await report(s, 'absconding');
    expect(await statusOf(s)).toBe('absconded');
    at(addDays(D, 1), '09:00');
    // The 09:00 run leaves an absconded subject's status alone.
    await runDailyContactReminders(deps, addDays(D, 1));
    expect(await statusOf(s)).toBe('absconded');
    at(addDays(D, 1), '15:00');
    await recordAbscondingOutcome(deps, org.actor('officerA1'), incident.id, 'found_brought_back');
    expect(await statusOf(s)).toBe('away');
    const trail = await t.sql`select action, data from audit_log where entity = 'subject' and entity_id = ${s} order by id`;
    expect(trail.map((r) => r.action)).toEqual(['subject.status', 'subject.absconded', 'subject.found']);
  });

  it('found after the stay ended: back to active', async () => {
    at(D, '08:00');
    const s = await newSubject();
    await requestAbsence(deps, org.actor('headA'), { subjectId: s, destination: '上海', startsOn: D, endsOn: D });
    const { incident } = await report(s, 'absconding');
    at(addDays(D, 2), '10:00');
    await recordAbscondingOutcome(deps, org.actor('officerA1'), incident.id, 'found_ordered');
    expect(await statusOf(s)).toBe('active');
  });

  it('a false alarm undoes it; a drill never sets it', async () => {
    at(D, '08:00');
    const s = await newSubject();
    const { incident } = await report(s, 'absconding');
    expect(await statusOf(s)).toBe('absconded');
    await closeFalseAlarm(deps, org.actor('section'), incident.id, '对象在家，电话故障');
    expect(await statusOf(s)).toBe('active');
    await report(s, 'absconding', { isDrill: true });
    expect(await statusOf(s)).toBe('active');
  });
});

describe('解矫 ends every reminder and duty', () => {
  it('the section terminates: pending timers close, the stay ends, no more reminders, no contact can be logged', async () => {
    at(D, '10:00');
    const s = await newSubject();
    await requestAbsence(deps, org.actor('headA'), { subjectId: s, destination: '南京', startsOn: D, endsOn: addDays(D, 3) });
    expect((await t.sql`select count(*)::int as n from timers where subject_id = ${s} and state = 'pending'`)[0]!.n).toBeGreaterThan(0);
    expect((await refusal(terminateSubject(deps, org.actor('headA'), s, { reason: 'completed' }))).code).toBe('not_permitted');
    const done = await terminateSubject(deps, org.actor('section'), s, { reason: 'completed' });
    expect(done.status).toBe('terminated');
    expect((await t.sql`select count(*)::int as n from timers where subject_id = ${s} and state = 'pending'`)[0]!.n).toBe(0);
    const [stay] = await t.sql`select cancel_reason from absences where subject_id = ${s}`;
    expect(stay!.cancel_reason).toBe('supervision_ended');
    at(addDays(D, 1), '09:00');
    await runDailyContactReminders(deps, addDays(D, 1));
    const reminders = await t.sql<Array<{ params: { subjectIds: string[] } }>>`select params from outbox where kind = 'contact_reminder' and params->>'date' = ${addDays(D, 1)}`;
    expect(reminders.some((r) => r.params.subjectIds.includes(s))).toBe(false);
    expect((await t.sql`select count(*)::int as n from timers where subject_id = ${s} and state = 'pending'`)[0]!.n).toBe(0);
    expect((await refusal(logContact(deps, org.actor('officerA1'), s, { result: 'reached' }))).code).toBe('wrong_status');
    expect((await refusal(terminateSubject(deps, org.actor('section'), s, { reason: 'completed' }))).code).toBe('already_done');
  });

  it('a death’s 终止社区矫正, marked done on the incident, ends supervision', async () => {
    at(D, '08:00');
    const s = await newSubject();
    const { incident } = await report(s, 'abnormal_death');
    await markStep(deps, org.actor('section'), incident.id, { key: 'terminate_correction' }, { kind: 'done', how: 'written' });
    const [row] = await t.sql`select status, termination_reason from subjects where id = ${s}`;
    expect(row).toEqual({ status: 'terminated', termination_reason: 'death' });
  });
});

describe('入矫 and 执行地变更', () => {
  it('the office head admits a subject of their office; a taken code or ID number, a bad ID number, another office are refused', async () => {
    at(D, '08:00');
    const admitted = await admitSubject(deps, org.actor('headA'), { code: 'SQ-A-100', name: '周九', idNumber: '11010519491231002X', officeUnitId: org.units.officeA, responsibleStaffId: org.staff.officerA2 });
    expect(admitted).toMatchObject({ code: 'SQ-A-100', name: '周九', idNumber: '11010519491231002X', status: 'active' });
    expect(await refusal(admitSubject(deps, org.actor('headA'), { code: 'SQ-A-100', name: '吴十', idNumber: '110105194912310038', officeUnitId: org.units.officeA }))).toMatchObject({ detail: 'code_taken' });
    expect(await refusal(admitSubject(deps, org.actor('headA'), { code: 'SQ-A-101', name: '吴十', idNumber: '11010519491231002X', officeUnitId: org.units.officeA }))).toMatchObject({ detail: 'id_number_taken' });
    expect(await refusal(admitSubject(deps, org.actor('headA'), { code: 'SQ-A-101', name: '吴十', idNumber: '110105194912310037', officeUnitId: org.units.officeA }))).toMatchObject({ detail: 'id_number.check_digit' });
    expect((await refusal(admitSubject(deps, org.actor('headA'), { code: 'SQ-B-101', name: '吴十', idNumber: '110105194912310038', officeUnitId: org.units.officeB }))).code).toBe('not_permitted');
    expect(await refusal(admitSubject(deps, org.actor('section'), { code: 'SQ-B-101', name: '吴十', idNumber: '110105194912310038', officeUnitId: org.units.officeB, responsibleStaffId: org.staff.officerA1 }))).toMatchObject({ detail: 'responsible_officer' });
  });

  it('the section moves a subject to another office, whose head and officer are told; out of the district ends supervision here', async () => {
    at(D, '08:00');
    const s = await newSubject();
    expect((await refusal(transferSubject(deps, org.actor('headA'), s, { officeUnitId: org.units.officeB }))).code).toBe('not_permitted');
    const moved = await transferSubject(deps, org.actor('section'), s, { officeUnitId: org.units.officeB, responsibleStaffId: org.staff.officerB1 });
    expect(moved).toMatchObject({ officeUnitId: org.units.officeB, responsibleStaffId: org.staff.officerB1 });
    const told = await t.sql`select recipient_staff_id from outbox where kind = 'subject_transferred' and subject_id = ${s} order by recipient_staff_id`;
    expect(told.map((r) => r.recipient_staff_id).sort()).toEqual([org.staff.headB, org.staff.officerB1].sort());
    expect(await searchSubjects(deps, org.actor('officerA1'), moved.code)).toEqual([]);
    const out = await transferSubject(deps, org.actor('section'), s, { county: '余杭区' });
    expect(out.status).toBe('terminated');
    const [row] = await t.sql`select termination_reason from subjects where id = ${s}`;
    expect(row!.termination_reason).toBe('transferred_out');
  });
});

describe('finding one’s own people', () => {
  it('the last four digits of an ID number find the subject, within the officer’s office only', async () => {
    expect((await searchSubjects(deps, org.actor('officerA1'), '1234')).map((v) => v.code)).toEqual(['SQ-A-001']);
    expect((await searchSubjects(deps, org.actor('officerA1'), '2345')).map((v) => v.code)).toEqual(['SQ-A-002']);
    expect((await searchSubjects(deps, org.actor('officerA1'), '002x')).map((v) => v.code)).toEqual(['SQ-A-100']);
    expect(await searchSubjects(deps, org.actor('officerB1'), '1234')).toEqual([]);
    expect((await searchSubjects(deps, org.actor('section'), '3456')).map((v) => v.code)).toEqual(['SQ-B-001']);
  });

  it('我的对象: the subjects one is responsible for, with today’s stay and contact', async () => {
    at(addDays(D, 60), '08:00');
    const s = await newSubject('officeB', 'officerB1');
    await requestAbsence(deps, org.actor('headB'), { subjectId: s, destination: '厦门', startsOn: addDays(D, 60), endsOn: addDays(D, 61) });
    at(addDays(D, 60), '10:00');
    await logContact(deps, org.actor('officerB1'), s, { result: 'reached' });
    const mine = await mySubjects(deps, org.actor('officerB1'));
    expect(mine.map((m) => m.subject.code)).toContain('SQ-B-001');
    const row = mine.find((m) => m.subject.id === s)!;
    expect(row.absence?.destination).toBe('厦门');
    expect(row.lastContact?.result).toBe('reached');
    expect((await mySubjects(deps, org.actor('officerA2'))).map((m) => m.subject.code).sort()).toEqual(['SQ-A-002', 'SQ-A-100']);
  });

  it('the timeline shows the incidents, absences, contacts and status changes, oldest first', async () => {
    at(D, '08:00');
    const s = await newSubject();
    await requestAbsence(deps, org.actor('officerA1'), { subjectId: s, destination: '合肥', startsOn: D, endsOn: addDays(D, 1) });
    at(D, '09:30');
    const [req] = await t.sql`select id from absence_requests where subject_id = ${s}`;
    await approveAbsenceRequest(deps, org.actor('headA'), req!.id as string);
    at(D, '11:00');
    await logContact(deps, org.actor('officerA1'), s, { result: 'not_reached' });
    at(D, '20:00');
    await report(s, 'absconding');
    const view = await subjectTimeline(deps, org.actor('officerA1'), s);
    expect(view.entries.map((e) => e.kind)).toEqual(['absence_requested', 'absence_approved', 'status', 'contact', 'incident_reported', 'status']);
    expect(view.staffNames[org.staff.headA]).toBe('所长甲');
    expect((await refusal(subjectTimeline(deps, org.actor('officerB1'), s))).code).toBe('not_found');
  });

  it('full names for the responsible officer in a private chat, only when the bureau allows it', async () => {
    const subject = { responsibleStaffId: org.staff.officerA1 };
    expect(await subjectPiiMode(deps, org.actor('officerA1'), subject, 'private')).toBe('masked');
    policy = resolvePolicy({ subjectNames: { responsibleOfficerSeesFullName: true } });
    expect(await subjectPiiMode(deps, org.actor('officerA1'), subject, 'private')).toBe('full');
    expect(await subjectPiiMode(deps, org.actor('officerA1'), subject, 'group')).toBe('masked');
    expect(await subjectPiiMode(deps, org.actor('headA'), subject, 'private')).toBe('masked');
    policy = resolvePolicy({});
  });
});
