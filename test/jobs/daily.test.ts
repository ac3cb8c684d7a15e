/**
 * Daily contact with subjects away, the 18:00 checks, the absconding offer, missed days and the digest,
 * with an injected clock and the manual triggers (the schedulers call the same functions). Runs on Redis
 * and on BullMQ's PostgreSQL backend.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeCallback } from '../../src/channels/telegram/callback-data.js';
import { absences, contactLogs, dailyRuns } from '../../src/db/schema.js';
import { addDays, atLocalTime, HOUR } from '../../src/domain/index.js';
import { detectMissedDailyRuns, fireProcessTimer, runDailyContactReminders } from '../../src/services/daily-contact.service.js';
import { runDailyDigest } from '../../src/services/digest.service.js';
import { reportIncident } from '../../src/services/incident.service.js';
import { logContact } from '../../src/services/subject.service.js';
import { fireTimer } from '../../src/services/timer.service.js';
import { ManualClock, TG } from '../helpers/fixtures.js';
import { botTexts, fastPolicy, startHarness, waitFor, waitForSendsSettled, type BackendKind, type Harness } from './harness.js';

const TZ = 'Asia/Shanghai';
const D = '2026-12-01';

// One day and the days after it, on one clock: each step stands on the one before, so the steps keep
// their order when the suite is shuffled (the files still run in any order).
for (const backend of ['redis', 'postgres'] as const satisfies readonly BackendKind[]) describe(`daily contact on ${backend}`, { shuffle: false }, () => {
  let h: Harness;
  const clock = new ManualClock(atLocalTime(D, '09:00', TZ));

  beforeAll(async () => {
    h = await startHarness({ backend, clock, policy: fastPolicy() });
    const { a1, a2, b1 } = h.org.subjects;
    await h.t.db.insert(absences).values([
      { subjectId: a1, destination: '上海', startsOn: addDays(D, -1), endsOn: addDays(D, 2) },
      { subjectId: a2, destination: '宁波', startsOn: D, endsOn: addDays(D, 1) },
      { subjectId: b1, destination: '苏州', startsOn: D, endsOn: D },
    ]);
  });
  afterAll(async () => h?.close());

  const timerOf = async (subjectId: string, level: number, date = D) =>
    (await h.t.sql`select id, state from timers where subject_id = ${subjectId} and kind = 'contact_check' and cycle = ${date} and level = ${level}`)[0]!;

  it('09:00: each officer gets one message listing their subjects away, masked, with a button per subject; a second run sends nothing', async () => {
    const run = await runDailyContactReminders(h.deps, D);
    expect(run).toMatchObject({ officers: 3, subjects: 3, timers: 6 });
    const a1 = await h.api.waitForBotMessage(TG.officerA1, (m) => (m.text ?? '').includes('外出对象'), { after: 0 });
    expect(a1.text).toContain('张*（SQ-A-001）');
    expect(a1.text).not.toContain('张三');
    expect(h.api.inlineButtons(a1).map((b) => decodeCallback(b.callback_data))).toEqual([{ a: 'contact', i: h.org.subjects.a1 }]);
    const a2 = await h.api.waitForBotMessage(TG.officerA2, (m) => (m.text ?? '').includes('Subjects away today'), { after: 0 });
    expect(a2.text).toContain('李*（SQ-A-002）');
    await h.api.waitForBotMessage(TG.officerB1, (m) => (m.text ?? '').includes('王*（SQ-B-001）'), { after: 0 });

    const again = await runDailyContactReminders(h.deps, D);
    expect(again.officers).toBe(0);
    await waitForSendsSettled(h);
    expect(botTexts(h.api, TG.officerA1, /外出对象/)).toHaveLength(1);
    const pending = await h.t.sql`select count(*)::int as n from timers where kind = 'contact_check' and cycle = ${D} and state = 'pending'`;
    expect(pending[0]!.n).toBe(6);
  });

  it('18:00: a subject without a contact log goes to the office head, then to the section; a logged one does not', async () => {
    clock.set(atLocalTime(D, '11:00', TZ));
    await logContact(h.deps, h.org.actor('officerA1'), h.org.subjects.a1, { result: 'reached' });
    expect((await timerOf(h.org.subjects.a1, 0)).state).toBe('cancelled');

    clock.set(atLocalTime(D, '18:00', TZ));
    for (const s of [h.org.subjects.a1, h.org.subjects.a2, h.org.subjects.b1]) await fireTimer(h.deps, (await timerOf(s, 0)).id);
    const head = await h.api.waitForBotMessage(TG.headA, (m) => (m.text ?? '').includes('尚无联系记录'), { after: 0 });
    expect(head.text).toContain('李*（SQ-A-002）');
    expect(head.text).toContain('Officer A2');
    await h.api.waitForBotMessage(TG.headB, (m) => (m.text ?? '').includes('王*（SQ-B-001）'), { after: 0 });
    await waitForSendsSettled(h);
    expect(botTexts(h.api, TG.headA, /SQ-A-001/)).toHaveLength(0);

    clock.advance(HOUR);
    for (const s of [h.org.subjects.a2, h.org.subjects.b1]) expect((await fireTimer(h.deps, (await timerOf(s, 1)).id)).status).toBe('sent');
    await waitFor(() => botTexts(h.api, TG.section, /仍无联系记录/).length === 2 || undefined, { what: 'two section checks' });
    // Fired once only: a second trigger of the same timer does nothing.
    expect(await fireTimer(h.deps, (await timerOf(h.org.subjects.a2, 1)).id)).toMatchObject({ status: 'skipped', reason: 'already fired' });
  });

  it('two days without a reached contact: the day’s watch offers the absconding report, prefilled; two failed logs in one day do not', async () => {
    const a2 = h.org.subjects.a2;
    // Two failed contacts on one evening are one day missed, not two.
    await h.t.db.insert(contactLogs).values([
      { subjectId: a2, localDate: D, result: 'not_reached', staffId: h.org.staff.officerA2, at: atLocalTime(D, '20:00', TZ) },
      { subjectId: a2, localDate: D, result: 'not_reached', staffId: h.org.staff.officerA2, at: atLocalTime(D, '21:00', TZ) },
    ]);
    clock.set(atLocalTime(addDays(D, 1), '09:00', TZ));
    expect((await runDailyContactReminders(h.deps, addDays(D, 1))).abscondingSuggestions).toBe(0);
    // The second day passes its check with nothing logged: the watch counts two days.
    clock.set(atLocalTime(addDays(D, 1), '18:00', TZ));
    const [watch] = await h.t.sql`select id from timers where kind = 'contact_watch' and cycle = ${addDays(D, 1)}`;
    expect(await fireProcessTimer(h.deps, watch!.id as string)).toMatchObject({ status: 'sent', notices: 2 }); // the officer and the office head
    const offer = await h.api.waitForBotMessage(TG.headA, (m) => (m.text ?? '').includes('脱离监督管理'), { after: 0 });
    expect(offer.text).toContain('已连续 2 天未能联系上');
    expect(offer.text).toContain('李*（SQ-A-002）');
    expect(h.api.inlineButtons(offer).map((b) => decodeCallback(b.callback_data))).toEqual([{ a: 'abscond', i: a2 }]);
    await h.api.waitForBotMessage(TG.officerA2, (m) => (m.text ?? '').includes('absconding'), { after: 0 });
    const offers = await h.t.sql`select recipient_staff_id from outbox where kind = 'absconding_offer' and subject_id = ${a2}`;
    expect(offers.map((o) => o.recipient_staff_id).sort()).toEqual([h.org.staff.headA, h.org.staff.officerA2].sort());
    // The same run of days is offered once: the next morning's run adds nothing.
    expect((await runDailyContactReminders(h.deps, addDays(D, 1))).abscondingSuggestions).toBe(0);
    expect(await fireProcessTimer(h.deps, watch!.id as string)).toMatchObject({ status: 'skipped' });
  });

  it('18:00 digest to the section and the leaders: open incidents and subjects away with their contact status', async () => {
    clock.set(atLocalTime(D, '18:00', TZ));
    const { incident } = await reportIncident(h.deps, h.org.actor('officerB1'), {
      type: 'abnormal_petition',
      officeUnitId: h.org.units.officeB,
      subjectId: h.org.subjects.b1,
      discoveredAt: clock.now(),
      injured: 0,
      dead: 0,
      description: '赴京上访',
    });
    const run = await runDailyDigest(h.deps, D);
    expect(run.recipients).toBe(4); // two section staff, the deputy director, the director
    const digest = await h.api.waitForBotMessage(TG.director, (m) => (m.text ?? '').includes('每日汇总'), { after: 0 });
    expect(digest.text).toContain(incident.number);
    expect(digest.text).toMatch(/张\*（SQ-A-001）.*已联系上/);
    expect(digest.text).toContain('李*（SQ-A-002）');
    await h.api.waitForBotMessage(TG.section2, (m) => (m.text ?? '').includes('Daily digest'), { after: 0 });
    expect((await runDailyDigest(h.deps, D)).recipients).toBe(0);
  });

  it('days missed while the system was down are reported to the section, once, and today runs late', async () => {
    const today = addDays(D, 10);
    clock.set(atLocalTime(today, '10:00', TZ));
    const report = await detectMissedDailyRuns(h.deps);
    // Reminders last ran on D+1: D+2 … D+9 were missed. The digest last ran on D: D+1 … D+9.
    expect(report.missed.contact_reminder).toEqual(Array.from({ length: 8 }, (_, i) => addDays(D, i + 2)));
    expect(report.missed.digest).toHaveLength(9);
    expect(report.ranLate).toEqual(['contact_reminder']); // the digest is not due before 18:00
    const msg = await h.api.waitForBotMessage(TG.section, (m) => (m.text ?? '').includes(addDays(D, 2)) && (m.text ?? '').includes('每日联系提醒'), { after: 0 });
    expect(msg.text).toContain(addDays(D, 9));
    expect(msg.text).toContain('1 人次'); // a1 was away on D+2 with no contact logged
    const recorded = await h.t.db.select().from(dailyRuns);
    expect(recorded.filter((r) => r.missed && r.kind === 'contact_reminder')).toHaveLength(8);

    const again = await detectMissedDailyRuns(h.deps);
    expect(again.missed).toEqual({ contact_reminder: [], digest: [] });
    await waitForSendsSettled(h);
    expect(botTexts(h.api, TG.section, /每日联系提醒/)).toHaveLength(1);
  });
});
