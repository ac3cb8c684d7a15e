/**
 * Daily contact that escalates on days, not logs, on the real database over several days of an injected
 * clock: the day's watch at the check time, the absconding offer at two days, the deputy director at three,
 * "情况异常" alerting at once, and an epidemic 情形三 incident putting its subject on daily contact until
 * it is closed.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { subjects } from '../../src/db/schema.js';
import { addDays, atLocalTime, resolvePolicy, type EscalationPolicy } from '../../src/domain/index.js';
import { requestAbsence } from '../../src/services/absence.service.js';
import { fireProcessTimer, offerAbscondingIfDue, runDailyContactReminders } from '../../src/services/daily-contact.service.js';
import { acknowledgeIncident, closeIncident, reportIncident } from '../../src/services/incident.service.js';
import type { ServiceDeps } from '../../src/services/ports.js';
import { logContact } from '../../src/services/subject.service.js';
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

async function newSubject(office: 'officeA' | 'officeB' = 'officeA', officer: StaffKey = 'officerA1'): Promise<string> {
  const [row] = await t.db
    .insert(subjects)
    .values({ code: `T-${randomUUID().slice(0, 8)}`, nameEnc: org.cipher.encrypt('钱七'), officeUnitId: org.units[office], responsibleStaffId: org.staff[officer] })
    .returning();
  return row!.id;
}

async function noticesOf(kind: string, subjectId: string): Promise<Array<{ to: StaffKey; params: Record<string, unknown> }>> {
  const rows = await t.sql<Array<{ recipient_staff_id: string; params: Record<string, unknown> }>>`
    select recipient_staff_id, params from outbox where kind = ${kind} and subject_id = ${subjectId} order by created_at, recipient_staff_id`;
  return rows.map((r) => ({ to: who(r.recipient_staff_id), params: r.params }));
}
const recipients = async (kind: string, subjectId: string) => (await noticesOf(kind, subjectId)).map((n) => n.to).sort();

async function fireWatch(date: string) {
  const [row] = await t.sql<Array<{ id: string }>>`select id from timers where dedupe_key = ${`contact_watch-${date}-0`}`;
  return fireProcessTimer(deps, row!.id);
}

/** The dates this officer was reminded of this subject. */
async function remindedOn(officer: StaffKey, subjectId: string): Promise<string[]> {
  const rows = await t.sql<Array<{ params: { date: string; subjectIds: string[] } }>>`
    select params from outbox where kind = 'contact_reminder' and recipient_staff_id = ${org.staff[officer]} order by created_at`;
  return rows.filter((r) => r.params.subjectIds.includes(subjectId)).map((r) => r.params.date);
}

describe('days without a reached contact', { sequential: true }, () => {
  let s: string;

  it('two failed logs in one hour are one day: no offer', async () => {
    at(D, '08:00');
    s = await newSubject();
    await requestAbsence(deps, org.actor('headA'), { subjectId: s, destination: '成都', startsOn: D, endsOn: addDays(D, 5) });
    at(D, '09:00');
    await runDailyContactReminders(deps, D);
    at(D, '10:00');
    await logContact(deps, org.actor('officerA1'), s, { result: 'not_reached' });
    at(D, '10:40');
    const second = await logContact(deps, org.actor('officerA1'), s, { result: 'not_reached' });
    expect(second).toMatchObject({ failuresInARow: 1, suggestAbsconding: false, missed: { days: 1, since: D } });
    at(D, '18:00');
    expect(await fireWatch(D)).toMatchObject({ status: 'skipped' });
    expect(await noticesOf('absconding_offer', s)).toEqual([]);
  });

  it('the second day with nothing reached: the watch offers the prefilled report to the officer and the office head, once', async () => {
    at(addDays(D, 1), '09:00');
    expect((await runDailyContactReminders(deps, addDays(D, 1))).abscondingSuggestions).toBe(0);
    at(addDays(D, 1), '18:00');
    expect(await fireWatch(addDays(D, 1))).toMatchObject({ status: 'sent', notices: 2 });
    const offers = await noticesOf('absconding_offer', s);
    expect(offers.map((o) => o.to).sort()).toEqual(['headA', 'officerA1']);
    expect(offers[0]!.params).toEqual({ reason: 'no_contact', days: 2, since: D });
    expect(await fireWatch(addDays(D, 1))).toMatchObject({ status: 'skipped', reason: 'already fired' });
    at(addDays(D, 2), '09:00');
    expect((await runDailyContactReminders(deps, addDays(D, 2))).abscondingSuggestions).toBe(0);
    expect(await noticesOf('absconding_offer', s)).toHaveLength(2);
  });

  it('the third day: past the section, to the deputy director', async () => {
    at(addDays(D, 2), '18:00');
    await fireWatch(addDays(D, 2));
    const up = await noticesOf('contact_missed_escalation', s);
    expect(up).toEqual([{ to: 'deputy', params: { reason: 'no_contact', days: 3, since: D } }]);
    expect(await noticesOf('absconding_offer', s)).toHaveLength(2);
  });

  it('a reached contact ends the run', async () => {
    at(addDays(D, 3), '10:00');
    expect(await logContact(deps, org.actor('officerA1'), s, { result: 'reached' })).toMatchObject({ failuresInARow: 0, suggestAbsconding: false });
  });
});

describe('three days with nothing logged at all', () => {
  it('offers at the second day’s check, from the 18:00 checks alone', async () => {
    at(addDays(D, 10), '08:00');
    const s = await newSubject('officeA', 'officerA2');
    await requestAbsence(deps, org.actor('headA'), { subjectId: s, destination: '西安', startsOn: addDays(D, 10), endsOn: addDays(D, 14) });
    for (const d of [addDays(D, 10), addDays(D, 11)]) {
      at(d, '09:00');
      await runDailyContactReminders(deps, d);
      at(d, '18:00');
      await fireWatch(d);
    }
    expect(await recipients('absconding_offer', s)).toEqual(['headA', 'officerA2']);
  });

  it('a failed log on the second day offers at once, in the reply and to the office head', async () => {
    at(addDays(D, 20), '08:00');
    const s = await newSubject();
    await requestAbsence(deps, org.actor('headA'), { subjectId: s, destination: '昆明', startsOn: addDays(D, 20), endsOn: addDays(D, 24) });
    at(addDays(D, 21), '10:00');
    const outcome = await logContact(deps, org.actor('officerA1'), s, { result: 'not_reached' });
    expect(outcome).toMatchObject({ failuresInARow: 2, suggestAbsconding: true });
    expect(await offerAbscondingIfDue(deps, s, { except: org.staff.officerA1 })).toBe(1);
    expect(await recipients('absconding_offer', s)).toEqual(['headA']);
  });
});

describe('情况异常', () => {
  it('alerts the office head and the section at once, with the log (and its note) to draw from', async () => {
    at(addDays(D, 30), '08:00');
    const s = await newSubject();
    await requestAbsence(deps, org.actor('headA'), { subjectId: s, destination: '深圳', startsOn: addDays(D, 30), endsOn: addDays(D, 31) });
    at(addDays(D, 30), '11:00');
    const { log, alerted } = await logContact(deps, org.actor('officerA1'), s, { result: 'abnormal', note: '对象称被扣留' });
    expect(alerted).toBe(3);
    const told = await noticesOf('contact_abnormal', s);
    expect(told.map((n) => n.to).sort()).toEqual(['headA', 'section', 'section2']);
    expect(told[0]!.params).toEqual({ contactLogId: log.id, byStaffId: org.staff.officerA1 });
    expect(log.note).toBe('对象称被扣留');
    // The office head logging it is not told of their own log.
    at(addDays(D, 30), '12:00');
    await logContact(deps, org.actor('headA'), s, { result: 'abnormal', note: '仍无法返回' });
    expect(await recipients('contact_abnormal', s)).toEqual(['headA', 'section', 'section', 'section2', 'section2']);
  });
});

describe('epidemic 情形三 (外出期间红黄码)', { sequential: true }, () => {
  let s: string;
  let incidentId: string;

  it('puts its subject on daily contact at once, with no absence registered', async () => {
    at(addDays(D, 40), '10:00');
    s = await newSubject('officeB', 'officerB1');
    const { incident } = await reportIncident(deps, org.actor('officerB1'), {
      type: 'epidemic',
      scenario: 's3',
      subjectId: s,
      officeUnitId: org.units.officeB,
      discoveredAt: clock.now(),
      injured: 0,
      dead: 0,
      description: '外出期间被赋黄码',
    });
    incidentId = incident.id;
    expect(await remindedOn('officerB1', s)).toEqual([addDays(D, 40)]);
    const checks = await t.sql`select level from timers where subject_id = ${s} and kind = 'contact_check' and cycle = ${addDays(D, 40)} order by level`;
    expect(checks.map((c) => c.level)).toEqual([0, 1]);
    at(addDays(D, 41), '09:00');
    await runDailyContactReminders(deps, addDays(D, 41));
    expect(await remindedOn('officerB1', s)).toEqual([addDays(D, 40), addDays(D, 41)]);
  });

  it('closing the incident ends it', async () => {
    at(addDays(D, 41), '12:00');
    await acknowledgeIncident(deps, org.actor('section'), incidentId);
    await closeIncident(deps, org.actor('headB'), incidentId, { cause: '外出期间赋码', lessons: '及时联系', measures: '每日联系', openDutiesReason: '疫情处置由疾控负责' });
    at(addDays(D, 42), '09:00');
    await runDailyContactReminders(deps, addDays(D, 42));
    expect(await remindedOn('officerB1', s)).toEqual([addDays(D, 40), addDays(D, 41)]);
  });

  it('a drill puts nobody on daily contact', async () => {
    at(addDays(D, 50), '10:00');
    const drilled = await newSubject('officeB', 'officerB1');
    await reportIncident(deps, org.actor('officerB1'), {
      type: 'epidemic',
      scenario: 's3',
      subjectId: drilled,
      officeUnitId: org.units.officeB,
      discoveredAt: clock.now(),
      injured: 0,
      dead: 0,
      description: '演练',
      isDrill: true,
    });
    at(addDays(D, 51), '09:00');
    await runDailyContactReminders(deps, addDays(D, 51));
    expect(await remindedOn('officerB1', drilled)).toEqual([]);
  });
});
