/**
 * The absence as a process on the real database, over several days of an injected clock: who approves
 * by length, the stay's days and reminders, 逾期未归 raising its chain at each threshold, 销假 ending it,
 * extensions, early returns and cancelling.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { subjects } from '../../src/db/schema.js';
import { overdueTimerKey } from '../../src/domain/absence.js';
import { addDays, atLocalTime, resolvePolicy, type EscalationPolicy } from '../../src/domain/index.js';
import {
  approveAbsenceRequest,
  cancelAbsence,
  recordReturn,
  rejectAbsenceRequest,
  requestAbsence,
  requestExtension,
  requestsToDecide,
  withdrawAbsenceRequest,
} from '../../src/services/absence.service.js';
import { fireProcessTimer, runDailyContactReminders } from '../../src/services/daily-contact.service.js';
import { ServiceRefusal } from '../../src/services/errors.js';
import { logContact } from '../../src/services/subject.service.js';
import type { CommittedChange, ServiceDeps } from '../../src/services/ports.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { ManualClock, seedOrg, type SeededOrg, type StaffKey } from '../helpers/fixtures.js';

const TZ = 'Asia/Shanghai';
const D = '2026-12-01';

let t: TestDatabase;
let org: SeededOrg;
const clock = new ManualClock(atLocalTime(D, '08:00', TZ));
const policy: EscalationPolicy = resolvePolicy({});
const committed: CommittedChange[] = [];
let deps: ServiceDeps;

beforeAll(async () => {
  t = await createTestDatabase();
  org = await seedOrg(t.db);
  deps = { db: t.db, clock, timeZone: TZ, piiMode: 'masked', cipher: org.cipher, policy: async () => policy, dispatcher: { afterCommit: async (c) => void committed.push(c) } };
});
afterAll(async () => t?.drop());

const at = (date: string, hhmm: string) => clock.set(atLocalTime(date, hhmm, TZ));
const who = (id: string) => (Object.entries(org.staff).find(([, v]) => v === id)?.[0] ?? id) as StaffKey;

/** A fresh subject of office A, officer A1 responsible, so each test has its own. */
async function newSubject(office: 'officeA' | 'officeB' = 'officeA', officer: StaffKey = 'officerA1'): Promise<string> {
  const [row] = await t.db
    .insert(subjects)
    .values({ code: `T-${randomUUID().slice(0, 8)}`, nameEnc: org.cipher.encrypt('赵六'), officeUnitId: org.units[office], responsibleStaffId: org.staff[officer] })
    .returning();
  return row!.id;
}

async function noticesOf(kind: string, subjectId: string): Promise<Array<{ to: StaffKey; params: Record<string, unknown>; timerId: string | null }>> {
  const rows = await t.sql<Array<{ recipient_staff_id: string; params: Record<string, unknown>; timer_id: string | null }>>`
    select recipient_staff_id, params, timer_id from outbox where kind = ${kind} and subject_id = ${subjectId} order by created_at, recipient_staff_id`;
  return rows.map((r) => ({ to: who(r.recipient_staff_id), params: r.params, timerId: r.timer_id }));
}

const recipients = async (kind: string, subjectId: string) => (await noticesOf(kind, subjectId)).map((n) => n.to).sort();

async function statusOf(subjectId: string): Promise<string> {
  const [row] = await t.sql<Array<{ status: string }>>`select status from subjects where id = ${subjectId}`;
  return row!.status;
}

async function timer(key: string): Promise<{ id: string; state: string; due_at: Date; outcome: string | null }> {
  const [row] = await t.sql<Array<{ id: string; state: string; due_at: string; outcome: string | null }>>`select id, state, due_at, outcome from timers where dedupe_key = ${key}`;
  return { ...row!, due_at: new Date(row!.due_at) };
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

/** Reminders for this subject written to its officer, one per day. */
async function remindersFor(subjectId: string): Promise<string[]> {
  const rows = await t.sql<Array<{ params: { date: string; subjectIds: string[] } }>>`
    select params from outbox where kind = 'contact_reminder' and recipient_staff_id = ${org.staff.officerA1} order by created_at`;
  return rows.filter((r) => r.params.subjectIds.includes(subjectId)).map((r) => r.params.date);
}

describe('who approves, by length', () => {
  it('a 3-day request goes to the office head; the section and the officer are the wrong level; the office head approves', async () => {
    at(D, '08:00');
    const s = await newSubject();
    const asked = await requestAbsence(deps, org.actor('officerA1'), { subjectId: s, destination: '上海', startsOn: addDays(D, 1), endsOn: addDays(D, 3), reason: '探亲' });
    expect(asked).toMatchObject({ level: 'office_head', absence: null, request: { state: 'requested', requestedByStaffId: org.staff.officerA1 } });
    expect(await recipients('absence_requested', s)).toEqual(['headA']);

    expect(await refusal(approveAbsenceRequest(deps, org.actor('section'), asked.request.id))).toMatchObject({ code: 'not_permitted', detail: 'approver_level' });
    expect(await refusal(approveAbsenceRequest(deps, org.actor('officerA2'), asked.request.id))).toMatchObject({ code: 'not_permitted', detail: 'approver_level' });
    expect((await refusal(approveAbsenceRequest(deps, org.actor('headB'), asked.request.id))).code).toBe('not_found');
    expect((await refusal(approveAbsenceRequest(deps, org.actor('headA'), asked.request.id, asked.request.version + 1))).code).toBe('stale');

    const approved = await approveAbsenceRequest(deps, org.actor('headA'), asked.request.id, asked.request.version);
    expect(approved.absence).toMatchObject({ approvedByStaffId: org.staff.headA, createdByStaffId: org.staff.officerA1, startsOn: addDays(D, 1), endsOn: addDays(D, 3) });
    expect(approved.request).toMatchObject({ state: 'approved', decidedByStaffId: org.staff.headA, absenceId: approved.absence!.id });
    expect(await recipients('absence_approved', s)).toEqual(['officerA1']);
    // Not begun: the subject is not away yet.
    expect(await statusOf(s)).toBe('active');
    const chain = await Promise.all([0, 1, 2].map((l) => timer(overdueTimerKey(approved.absence!.id, l))));
    expect(chain.map((c) => c.due_at)).toEqual([atLocalTime(addDays(D, 4), '12:00', TZ), atLocalTime(addDays(D, 4), '18:00', TZ), atLocalTime(addDays(D, 5), '09:00', TZ)]);
    expect((await refusal(approveAbsenceRequest(deps, org.actor('headA'), asked.request.id))).code).toBe('already_done');
    const trail = await t.sql`select action, actor_staff_id from audit_log where entity_id in (${asked.request.id}, ${approved.absence!.id}) order by id`;
    expect(trail.map((r) => [r.action, who(r.actor_staff_id as string)])).toEqual([
      ['absence.requested', 'officerA1'],
      ['absence.approved', 'headA'],
    ]);
  });

  it('a 10-day request goes to the section, which approves it; the office head may not', async () => {
    at(D, '08:00');
    const s = await newSubject();
    const asked = await requestAbsence(deps, org.actor('officerA1'), { subjectId: s, destination: '北京', startsOn: addDays(D, 1), endsOn: addDays(D, 10) });
    expect(asked.level).toBe('section');
    expect(await recipients('absence_requested', s)).toEqual(['section', 'section2']);
    expect((await requestsToDecide(deps, org.actor('section'))).map((r) => r.request.id)).toContain(asked.request.id);
    expect((await requestsToDecide(deps, org.actor('headA'))).map((r) => r.request.id)).not.toContain(asked.request.id);
    expect(await refusal(approveAbsenceRequest(deps, org.actor('headA'), asked.request.id))).toMatchObject({ code: 'not_permitted', detail: 'approver_level' });
    const approved = await approveAbsenceRequest(deps, org.actor('section'), asked.request.id);
    expect(approved.absence?.approvedByStaffId).toBe(org.staff.section);
  });

  it('the office head’s own request at their level is approved at once, with nobody asked', async () => {
    at(D, '08:00');
    const s = await newSubject();
    const r = await requestAbsence(deps, org.actor('headA'), { subjectId: s, destination: '杭州', startsOn: addDays(D, 2), endsOn: addDays(D, 4) });
    expect(r.absence?.approvedByStaffId).toBe(org.staff.headA);
    expect(await recipients('absence_requested', s)).toEqual([]);
    expect(await recipients('absence_approved', s)).toEqual(['officerA1']);
  });

  it('不批准 needs a reason, which the requester is told; a stay overlapping another is refused; a request can be withdrawn', async () => {
    at(D, '08:00');
    const s = await newSubject();
    const asked = await requestAbsence(deps, org.actor('officerA1'), { subjectId: s, destination: '宁波', startsOn: addDays(D, 1), endsOn: addDays(D, 2) });
    expect(await refusal(requestAbsence(deps, org.actor('officerA1'), { subjectId: s, destination: '宁波', startsOn: addDays(D, 2), endsOn: addDays(D, 3) }))).toMatchObject({ code: 'invalid_input', detail: 'overlaps' });
    expect(await refusal(rejectAbsenceRequest(deps, org.actor('headA'), asked.request.id, '  '))).toMatchObject({ code: 'invalid_input', detail: 'reason' });
    const rejected = await rejectAbsenceRequest(deps, org.actor('headA'), asked.request.id, '近期需按时报到');
    expect(rejected.request).toMatchObject({ state: 'rejected', decisionNote: '近期需按时报到', absenceId: null });
    expect(await recipients('absence_rejected', s)).toEqual(['officerA1']);
    const again = await requestAbsence(deps, org.actor('officerA1'), { subjectId: s, destination: '宁波', startsOn: addDays(D, 2), endsOn: addDays(D, 3) });
    expect((await withdrawAbsenceRequest(deps, org.actor('officerA1'), again.request.id)).state).toBe('withdrawn');
    expect((await refusal(approveAbsenceRequest(deps, org.actor('headA'), again.request.id))).code).toBe('already_done');
  });

  it('refuses a stay longer than the bureau’s longest, and whoever does not keep the subject’s records', async () => {
    at(D, '08:00');
    const s = await newSubject();
    expect(await refusal(requestAbsence(deps, org.actor('officerA1'), { subjectId: s, destination: '远方', startsOn: D, endsOn: addDays(D, 92) }))).toMatchObject({ code: 'invalid_input', detail: 'too_long' });
    expect((await refusal(requestAbsence(deps, org.actor('officerB1'), { subjectId: s, destination: '上海', startsOn: D, endsOn: D }))).code).toBe('not_found');
    expect((await refusal(requestAbsence(deps, org.actor('director'), { subjectId: s, destination: '上海', startsOn: D, endsOn: D }))).code).toBe('not_permitted');
  });
});

describe('a 3-day stay, day by day', () => {
  let s: string;
  let absenceId: string;

  it('approved after 09:00: away at once, and the first reminder comes at once', async () => {
    at(D, '10:00');
    s = await newSubject();
    const r = await requestAbsence(deps, org.actor('headA'), { subjectId: s, destination: '苏州', startsOn: D, endsOn: addDays(D, 2) });
    absenceId = r.absence!.id;
    expect(await statusOf(s)).toBe('away');
    expect(await remindersFor(s)).toEqual([D]);
    const checks = await t.sql`select level, state from timers where subject_id = ${s} and kind = 'contact_check' and cycle = ${D} order by level`;
    expect(checks.map((c) => [c.level, c.state])).toEqual([
      [0, 'pending'],
      [1, 'pending'],
    ]);
    expect((await timer(`contact_watch-${D}-0`)).state).toBe('pending');
  });

  it('gives three reminders in all, and the status goes back the day after the end', async () => {
    for (const d of [D, addDays(D, 1), addDays(D, 2), addDays(D, 3)]) {
      at(d, '09:00');
      await runDailyContactReminders(deps, d);
      // Reached every day of the stay: the only alarms are the overdue chain's.
      if (d <= addDays(D, 2)) {
        at(d, '11:00');
        await logContact(deps, org.actor('officerA1'), s, { result: 'reached' });
      }
    }
    expect(await remindersFor(s)).toEqual([D, addDays(D, 1), addDays(D, 2)]);
    expect(await statusOf(s)).toBe('active');
  });

  it('no 销假 on day 4: the officer and the office head at noon, the absconding offer at 18:00, the section the next morning; each once', async () => {
    at(addDays(D, 3), '11:59');
    const level0 = await timer(overdueTimerKey(absenceId, 0));
    expect((await fireProcessTimer(deps, level0.id))?.status).toBe('not_due');
    at(addDays(D, 3), '12:00');
    expect(await fireProcessTimer(deps, level0.id)).toMatchObject({ status: 'sent', notices: 2 });
    expect(await recipients('absence_overdue', s)).toEqual(['headA', 'officerA1']);
    expect(await fireProcessTimer(deps, level0.id)).toMatchObject({ status: 'skipped', reason: 'already fired' });

    at(addDays(D, 3), '18:00');
    expect(await fireProcessTimer(deps, (await timer(overdueTimerKey(absenceId, 1))).id)).toMatchObject({ status: 'sent', notices: 2 });
    const offers = await noticesOf('absconding_offer', s);
    expect(offers.map((o) => o.to).sort()).toEqual(['headA', 'officerA1']);
    expect(offers[0]!.params).toMatchObject({ reason: 'absence_overdue', absenceId, endsOn: addDays(D, 2) });

    at(addDays(D, 4), '09:00');
    expect(await fireProcessTimer(deps, (await timer(overdueTimerKey(absenceId, 2))).id)).toMatchObject({ status: 'sent', notices: 2 });
    expect(await recipients('absence_overdue_section', s)).toEqual(['section', 'section2']);
  });

  it('销假 ends it: those the chain alerted are told, the subject is back', async () => {
    at(addDays(D, 4), '10:30');
    const back = await recordReturn(deps, org.actor('officerA1'), absenceId, { how: 'subject_reported' });
    expect(back).toMatchObject({ status: 'active', wasOverdue: true, absence: { returnHow: 'subject_reported', returnedOn: addDays(D, 4), endsOn: addDays(D, 2) } });
    expect(await recipients('absence_returned', s)).toEqual(['headA', 'section', 'section2']);
    expect((await refusal(recordReturn(deps, org.actor('officerA1'), absenceId, { how: 'officer_recorded' }))).code).toBe('already_done');
  });
});

describe('the end of a stay', () => {
  it('销假 before the end: the stay ends that day, the day’s contact is the return, the chain never begins', async () => {
    at(D, '08:00');
    const s = await newSubject();
    const { absence } = await requestAbsence(deps, org.actor('headA'), { subjectId: s, destination: '温州', startsOn: addDays(D, 1), endsOn: addDays(D, 5) });
    at(addDays(D, 2), '09:00');
    await runDailyContactReminders(deps, addDays(D, 2));
    expect(await statusOf(s)).toBe('away');
    at(addDays(D, 2), '15:00');
    const back = await recordReturn(deps, org.actor('officerA1'), absence!.id, { how: 'officer_recorded' });
    expect(back).toMatchObject({ status: 'active', wasOverdue: false, absence: { endsOn: addDays(D, 2), approvedEndsOn: addDays(D, 5) } });
    const logs = await t.sql`select local_date, result from contact_logs where subject_id = ${s}`;
    expect(logs.map((l) => [l.local_date, l.result])).toEqual([[addDays(D, 2), 'reached']]);
    const chain = await Promise.all([0, 1, 2].map((l) => timer(overdueTimerKey(absence!.id, l))));
    expect(chain.map((c) => c.state)).toEqual(['cancelled', 'cancelled', 'cancelled']);
    expect(await fireProcessTimer(deps, chain[0]!.id)).toMatchObject({ status: 'skipped', reason: 'already cancelled' });
    const checks = await t.sql`select state from timers where subject_id = ${s} and kind = 'contact_check' and cycle = ${addDays(D, 2)}`;
    expect(checks.map((c) => c.state)).toEqual(['cancelled', 'cancelled']);
    at(addDays(D, 3), '09:00');
    await runDailyContactReminders(deps, addDays(D, 3));
    expect(await remindersFor(s)).toEqual([addDays(D, 2)]);
    expect(await recipients('absence_returned', s)).toEqual([]);
  });

  it('an extension is a new request, decided by the whole stay’s length, and moves the chain to the new end', async () => {
    at(D, '08:30');
    const s = await newSubject();
    const { absence } = await requestAbsence(deps, org.actor('headA'), { subjectId: s, destination: '广州', startsOn: D, endsOn: addDays(D, 4) });
    at(addDays(D, 3), '10:00');
    const ext = await requestExtension(deps, org.actor('officerA1'), absence!.id, { endsOn: addDays(D, 8), reason: '病情未愈' });
    expect(ext).toMatchObject({ level: 'section', absence: null, request: { startsOn: addDays(D, 5), endsOn: addDays(D, 8), extendsAbsenceId: absence!.id } });
    expect((await refusal(requestExtension(deps, org.actor('officerA1'), absence!.id, { endsOn: addDays(D, 9) }))).code).toBe('already_done');
    expect(await refusal(approveAbsenceRequest(deps, org.actor('headA'), ext.request.id))).toMatchObject({ code: 'not_permitted', detail: 'approver_level' });
    const approved = await approveAbsenceRequest(deps, org.actor('section'), ext.request.id);
    expect(approved.absence).toMatchObject({ extendsAbsenceId: absence!.id, startsOn: addDays(D, 5), endsOn: addDays(D, 8) });
    expect((await timer(overdueTimerKey(absence!.id, 0))).state).toBe('cancelled');
    expect((await timer(overdueTimerKey(approved.absence!.id, 0))).due_at).toEqual(atLocalTime(addDays(D, 9), '12:00', TZ));
    expect(await refusal(requestExtension(deps, org.actor('officerA1'), absence!.id, { endsOn: addDays(D, 10) }))).toMatchObject({ code: 'invalid_input', detail: 'not_extendable' });
    // Away on the first day of the extension; back on its second.
    at(addDays(D, 5), '09:00');
    await runDailyContactReminders(deps, addDays(D, 5));
    expect(await statusOf(s)).toBe('away');
    at(addDays(D, 6), '11:00');
    const back = await recordReturn(deps, org.actor('officerA1'), absence!.id, { how: 'subject_reported' });
    expect(back.absence).toMatchObject({ id: approved.absence!.id, endsOn: addDays(D, 6) });
    expect(back.status).toBe('active');
  });

  it('an extension cancelled: the stay it extended is watched at its own end again', async () => {
    at(D, '08:00');
    const s = await newSubject();
    const { absence } = await requestAbsence(deps, org.actor('headA'), { subjectId: s, destination: '长沙', startsOn: D, endsOn: addDays(D, 1) });
    const ext = await requestExtension(deps, org.actor('headA'), absence!.id, { endsOn: addDays(D, 3) });
    expect(ext.absence).not.toBeNull();
    expect((await timer(overdueTimerKey(absence!.id, 0))).state).toBe('cancelled');
    await cancelAbsence(deps, org.actor('headA'), ext.absence!.id, '不再续假');
    const again = await t.sql<Array<{ level: number; state: string; due_at: string }>>`
      select level, state, due_at from timers where kind = 'absence_overdue' and cycle = ${absence!.id} and state = 'pending' order by level`;
    expect(again.map((r) => [r.level, new Date(r.due_at)])).toEqual([
      [0, atLocalTime(addDays(D, 2), '12:00', TZ)],
      [1, atLocalTime(addDays(D, 2), '18:00', TZ)],
      [2, atLocalTime(addDays(D, 3), '09:00', TZ)],
    ]);
  });

  it('cancelling a stay under way: not away any more, today’s checks and the chain close', async () => {
    at(D, '10:00');
    const s = await newSubject();
    const { absence } = await requestAbsence(deps, org.actor('headA'), { subjectId: s, destination: '无锡', startsOn: D, endsOn: addDays(D, 2) });
    expect(await statusOf(s)).toBe('away');
    const cancelled = await cancelAbsence(deps, org.actor('officerA1'), absence!.id, '行程取消');
    expect(cancelled).toMatchObject({ cancelReason: '行程取消', cancelledByStaffId: org.staff.officerA1 });
    expect(await statusOf(s)).toBe('active');
    const rows = await t.sql`select kind, state from timers where subject_id = ${s} order by kind, level`;
    expect(rows.every((r) => r.state === 'cancelled')).toBe(true);
    expect(rows.map((r) => r.kind)).toEqual(['absence_overdue', 'absence_overdue', 'absence_overdue', 'contact_check', 'contact_check']);
    expect((await refusal(cancelAbsence(deps, org.actor('officerA1'), absence!.id))).code).toBe('already_done');
  });
});
