/**
 * The absence as a process, end to end on the Bot API stand-in and the real database, over several days
 * of an injected clock: the officer requests a 3-day absence in the chat, the office head approves it
 * from the notice's button (the section, the wrong level, is refused), the stay gives exactly 3 daily
 * reminders, a missing 销假 raises the overdue chain at each of its thresholds, and 销假 from the overdue
 * notice ends it. A request beyond the office head's days goes to the section, which does not approve it,
 * with a reason the requester is told. 续假 from the overdue notice is a new request, and its approval
 * carries the stay on with a chain of its own.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeCallback, encodeCallback } from '../../src/channels/telegram/callback-data.js';
import { atLocalTime } from '../../src/domain/index.js';
import { requestAbsence } from '../../src/services/absence.service.js';
import { fireProcessTimer, runDailyContactReminders } from '../../src/services/daily-contact.service.js';
import { logContact } from '../../src/services/subject.service.js';
import type { SandboxMessage } from '../../src/sandbox/bot-api-server.js';
import { buttonTexts, startBotHarness, type BotHarness } from '../helpers/bot-harness.js';
import { TG } from '../helpers/fixtures.js';
import { deliver } from './deliver-notices.js';

const TZ = 'Asia/Shanghai';
let h: BotHarness;

beforeAll(async () => {
  h = await startBotHarness(); // 2026-11-29 10:00 in Shanghai
});
afterAll(async () => h?.close());

const at = (date: string, time: string) => atLocalTime(date, time, TZ);

async function remindersOfA1(): Promise<number> {
  const rows = await h.db.sql`select params from outbox where kind = 'contact_reminder' and recipient_staff_id = ${h.org.staff.officerA1}`;
  return rows.filter((r) => ((r.params as { subjectIds?: string[] }).subjectIds ?? []).includes(h.org.subjects.a1)).length;
}

async function overdueTimer(absenceId: string, level: number) {
  const [row] = await h.db.sql`select id, due_at, state from timers where kind = 'absence_overdue' and cycle = ${absenceId} and level = ${level}`;
  return row!;
}

// One clock over several days, and steps that stand on the ones before: they keep their order when
// the suite is shuffled (the files still run in any order).
describe('the absence process', { shuffle: false }, () => {
  describe('an absence from request to return', { shuffle: false }, () => {
    let requestId: string;
    let absenceId: string;
    let notice: SandboxMessage;

    it('the officer requests it in the chat: dates checked, the level named, nothing away yet', async () => {
      let m = await h.send('officerA1', '/away');
      await h.pressText('officerA1', m, '申请外出');
      expect(h.last('officerA1').text).toContain('要申请外出的对象');
      m = await h.send('officerA1', '1234'); // the last four characters of the ID number
      expect(buttonTexts(m)).toContain('张*（SQ-A-001）');
      await h.pressText('officerA1', m, 'SQ-A-001');
      expect(h.last('officerA1').text).toContain('张*（SQ-A-001）\n外出目的地');
      m = await h.send('officerA1', '宁波市鄞州区（探亲）');
      expect(m.text).toContain('外出开始日期');
      await h.pressText('officerA1', m, '今天');
      m = await h.send('officerA1', '11-20');
      expect(m.text).toContain('返回日期不能早于开始日期');
      m = await h.send('officerA1', '12-01');
      expect(m.text).toContain('外出事由');
      await h.pressText('officerA1', m, '跳过');
      m = h.last('officerA1');
      expect(m.text).toContain('2026-11-29 至 2026-12-01（共 3 天）');
      expect(m.text).toContain('审批：司法所所长');
      await h.pressText('officerA1', m, '提交');
      expect(h.api.message(TG.officerA1, m.message_id)!.text).toContain('已提交外出申请');
      expect(buttonTexts(h.api.message(TG.officerA1, m.message_id))).toEqual([]);

      const [request] = await h.db.sql`select id, state, approver_level, requested_by_staff_id from absence_requests where subject_id = ${h.org.subjects.a1}`;
      expect(request).toMatchObject({ state: 'requested', approver_level: 'office_head', requested_by_staff_id: h.org.staff.officerA1 });
      requestId = request!.id as string;
      expect(await h.db.sql`select id from absences where subject_id = ${h.org.subjects.a1}`).toHaveLength(0);
      const [subject] = await h.db.sql`select status from subjects where id = ${h.org.subjects.a1}`;
      expect(subject!.status).toBe('active');
      const asked = await h.db.sql`select recipient_staff_id from outbox where kind = 'absence_requested'`;
      expect(asked.map((r) => r.recipient_staff_id)).toEqual([h.org.staff.headA]);
    });

    it('the office head gets it with 批准 / 不批准; the section, the wrong level, is refused', async () => {
      notice = (await deliver(h, 'absence_requested', 'headA'))[0]!;
      expect(notice.text).toContain('外出申请待审批');
      expect(notice.text).toContain('张*（SQ-A-001）');
      expect(notice.text).toContain('共 3 天');
      expect(notice.text).toContain('申请人：矫正官甲一');
      expect(h.api.inlineButtons(notice).map((b) => decodeCallback(b.callback_data))).toEqual([
        { a: 'areq', i: requestId, k: 'ok', v: 1 },
        { a: 'areq', i: requestId, k: 'no', v: 1 },
      ]);

      const m = await h.send('section', '/help');
      const answer = await h.pressForced('section', m.message_id, encodeCallback({ a: 'areq', i: requestId, k: 'ok', v: 1 }));
      expect(answer.text).toBe('按本局规定，此申请不由您审批。');
      const [audit] = await h.db.sql`select data from audit_log where action = 'callback.refused' and actor_telegram_id = ${TG.section} order by id desc limit 1`;
      expect(audit!.data).toMatchObject({ reason: 'not_permitted', action: 'areq' });
      const [request] = await h.db.sql`select state from absence_requests where id = ${requestId}`;
      expect(request!.state).toBe('requested');
    });

    it('the office head approves from the notice: the stay begins, the subject is away, today’s reminder comes at once', async () => {
      h.clock.set(at('2026-11-29', '10:05'));
      const answer = await h.pressText('headA', notice, '✅ 批准');
      expect(answer.text).toBe('已批准');
      expect(buttonTexts(h.api.message(TG.headA, notice.message_id))).toEqual([]);
      expect(h.last('headA').text).toContain('您已批准：张*（SQ-A-001），2026-11-29 至 2026-12-01');

      const [absence] = await h.db.sql`select id, starts_on, ends_on, approved_by_staff_id, created_by_staff_id from absences where subject_id = ${h.org.subjects.a1}`;
      expect(absence).toMatchObject({ starts_on: '2026-11-29', ends_on: '2026-12-01', approved_by_staff_id: h.org.staff.headA, created_by_staff_id: h.org.staff.officerA1 });
      absenceId = absence!.id as string;
      const [subject] = await h.db.sql`select status from subjects where id = ${h.org.subjects.a1}`;
      expect(subject!.status).toBe('away');
      const overdue = await h.db.sql`select level, due_at from timers where kind = 'absence_overdue' and cycle = ${absenceId} and state = 'pending' order by level`;
      expect(overdue.map((t) => new Date(t.due_at as string | Date).toISOString())).toEqual([at('2026-12-02', '12:00'), at('2026-12-02', '18:00'), at('2026-12-03', '09:00')].map((d) => d.toISOString()));

      const [approved] = await deliver(h, 'absence_approved', 'officerA1');
      expect(approved!.text).toContain('所长甲 已批准对象 张*（SQ-A-001） 于 2026-11-29 至 2026-12-01 外出');
      // Approved after 09:00: the first reminder at once, with its button.
      expect(await remindersOfA1()).toBe(1);
      const [reminder] = await deliver(h, 'contact_reminder', 'officerA1');
      await h.pressText('officerA1', reminder!, '张*（SQ-A-001）');
      await h.pressText('officerA1', h.last('officerA1'), '已联系上');
      await h.pressText('officerA1', h.last('officerA1'), '跳过');
      expect(h.last('officerA1').text).toContain('✅ 已记录：张*（SQ-A-001） ✅ 已联系上。');
    });

    it('three days away give exactly three reminders', async () => {
      for (const day of ['2026-11-30', '2026-12-01']) {
        h.clock.set(at(day, '09:00'));
        await runDailyContactReminders(h.deps, day);
        h.clock.set(at(day, '11:00'));
        await logContact(h.deps, h.org.actor('officerA1'), h.org.subjects.a1, { result: 'reached' });
      }
      expect(await remindersOfA1()).toBe(3);
      h.clock.set(at('2026-12-02', '09:00'));
      await runDailyContactReminders(h.deps, '2026-12-02');
      expect(await remindersOfA1()).toBe(3);
      // The stay is over without 销假: not away any more, and overdue.
      const [subject] = await h.db.sql`select status from subjects where id = ${h.org.subjects.a1}`;
      expect(subject!.status).toBe('active');
    });

    it('no 销假 by the end date: the officer and the office head are alerted, then offered the absconding report, then the section is told', async () => {
      h.clock.set(at('2026-12-02', '11:59'));
      expect(await fireProcessTimer(h.deps, (await overdueTimer(absenceId, 0)).id as string)).toMatchObject({ status: 'not_due' });

      h.clock.set(at('2026-12-02', '12:00'));
      expect(await fireProcessTimer(h.deps, (await overdueTimer(absenceId, 0)).id as string)).toMatchObject({ status: 'sent', notices: 2 });
      const alerts = await deliver(h, 'absence_overdue');
      expect(alerts).toHaveLength(2);
      const alert = h.api.botMessages(TG.officerA1).find((x) => (x.text ?? '').includes('逾期未归'))!;
      expect(alert.text).toContain('对象 张*（SQ-A-001） 外出应于 2026-12-01 结束，至今未销假');
      expect(buttonTexts(alert)).toEqual(['↩ 销假', '⏩ 续假']);
      expect(h.api.botMessages(TG.headA).some((x) => (x.text ?? '').includes('逾期未归'))).toBe(true);

      h.clock.set(at('2026-12-02', '18:00'));
      expect(await fireProcessTimer(h.deps, (await overdueTimer(absenceId, 1)).id as string)).toMatchObject({ status: 'sent', notices: 2 });
      const [offer] = await deliver(h, 'absconding_offer', 'headA');
      expect(offer!.text).toContain('外出逾期未归（应于 2026-12-01 返回）');
      expect(h.api.inlineButtons(offer!).map((b) => decodeCallback(b.callback_data))).toEqual([{ a: 'abscond', i: h.org.subjects.a1 }]);

      h.clock.set(at('2026-12-03', '09:00'));
      expect(await fireProcessTimer(h.deps, (await overdueTimer(absenceId, 2)).id as string)).toMatchObject({ status: 'sent', notices: 2 }); // the two section staff
      const [section] = await deliver(h, 'absence_overdue_section', 'section');
      expect(section!.text).toContain('张*（SQ-A-001）（甲街道司法所）');
      expect(section!.text).toContain('责任人：矫正官甲一');
      // Each level fires once.
      expect(await fireProcessTimer(h.deps, (await overdueTimer(absenceId, 2)).id as string)).toMatchObject({ status: 'skipped' });
    });

    it('销假 from the overdue notice ends the stay, and those the chain alerted are told', async () => {
      h.clock.set(at('2026-12-03', '10:00'));
      const alert = h.api.botMessages(TG.officerA1).find((x) => (x.text ?? '').includes('逾期未归'))!;
      await h.pressText('officerA1', alert, '销假');
      let m = h.last('officerA1');
      expect(m.text).toContain('逾期未归');
      expect(m.text).toContain('对象是如何返回的');
      await h.pressText('officerA1', m, '对象已到司法所报到');
      m = h.api.message(TG.officerA1, m.message_id)!;
      expect(m.text).toContain('已销假：张*（SQ-A-001），返回日期 2026-12-03');
      expect(m.text).toContain('逾期未归提醒已结束');

      const [absence] = await h.db.sql`select returned_on, return_how, returned_by_staff_id from absences where id = ${absenceId}`;
      expect(absence).toMatchObject({ returned_on: '2026-12-03', return_how: 'subject_reported', returned_by_staff_id: h.org.staff.officerA1 });
      const told = await h.db.sql`select recipient_staff_id from outbox where kind = 'absence_returned'`;
      expect(told.map((r) => r.recipient_staff_id).sort()).toEqual([h.org.staff.headA, h.org.staff.section, h.org.staff.section2].sort());
      const [returned] = await deliver(h, 'absence_returned', 'headA');
      expect(returned!.text).toContain('对象 张*（SQ-A-001） 已于 10:00 销假');

      // The notice's 销假 again: the stay is over.
      const again = await h.pressText('officerA1', alert, '销假');
      expect(again.text).toBe('这次外出已销假或已取消。');
      // And the next morning nobody is reminded of the subject.
      h.clock.set(at('2026-12-04', '09:00'));
      await runDailyContactReminders(h.deps, '2026-12-04');
      expect(await remindersOfA1()).toBe(3);
    });

    it('the subject view shows the absence in the timeline', async () => {
      await h.send('officerA1', '/subjects');
      const m = await h.send('officerA1', 'SQ-A-001');
      await h.pressText('officerA1', m, 'SQ-A-001');
      const view = h.last('officerA1');
      expect(view.text).toContain('时间线');
      expect(view.text).toContain('📝 外出申请：2026-11-29 至 2026-12-01，宁波市鄞州区（探亲）（矫正官甲一）');
      expect(view.text).toContain('✅ 批准外出：2026-11-29 至 2026-12-01（所长甲）');
      expect(view.text).toContain('↩ 销假：🏢 对象已到司法所报到（矫正官甲一）');
      expect(view.text).toContain('📞 联系：✅ 已联系上（矫正官甲一）');
      expect(view.text).not.toContain('张三');
    });
  });

  describe('a request beyond the office head’s days', { shuffle: false }, () => {
    let requestId: string;

    it('goes to the section; the office head, the wrong level, is refused', async () => {
      h.clock.set(at('2026-12-03', '11:00'));
      let m = await h.send('officerA2', '/away'); // officerA2 reads English
      await h.pressText('officerA2', m, 'Request absence');
      m = await h.send('officerA2', '2345');
      await h.pressText('officerA2', m, 'SQ-A-002');
      m = await h.send('officerA2', 'Shanghai');
      await h.pressText('officerA2', m, 'Today');
      m = await h.send('officerA2', '12-12');
      m = await h.send('officerA2', 'Family matters');
      expect(m.text).toContain('2026-12-03 to 2026-12-12 (10 days)');
      expect(m.text).toContain('Decided by: the corrections section');
      await h.pressText('officerA2', m, 'Submit');
      expect(h.api.message(TG.officerA2, m.message_id)!.text).toContain('Waiting for the corrections section to decide');
      const [request] = await h.db.sql`select id, approver_level, reason from absence_requests where subject_id = ${h.org.subjects.a2}`;
      expect(request).toMatchObject({ approver_level: 'section', reason: 'Family matters' });
      requestId = request!.id as string;
      const asked = await h.db.sql`select recipient_staff_id from outbox where kind = 'absence_requested' and params->>'requestId' = ${requestId}`;
      expect(asked.map((r) => r.recipient_staff_id).sort()).toEqual([h.org.staff.section, h.org.staff.section2].sort());

      const menu = await h.send('headA', '/away');
      expect(buttonTexts(menu)).toContain('📝 待我审批（0）');
      const answer = await h.pressForced('headA', menu.message_id, encodeCallback({ a: 'areq', i: requestId, k: 'ok', v: 1 }));
      expect(answer.text).toBe('按本局规定，此申请不由您审批。');
      expect(await h.db.sql`select id from absences where subject_id = ${h.org.subjects.a2}`).toHaveLength(0);
    });

    it('the section does not approve it, with a reason; the requester is told, and the other section member’s notice is decided', async () => {
      const [zh] = await deliver(h, 'absence_requested', 'section');
      expect(zh!.text).toContain('此申请由社区矫正管理科审批');
      const [en] = await deliver(h, 'absence_requested', 'section2');
      expect(en!.text).toContain('Absence request to decide');
      await h.pressText('section', zh!, '不批准');
      let m = h.last('section');
      expect(m.text).toContain('请输入不批准的理由');
      m = await h.send('section', '外出时间过长，请缩短后重新申请。');
      expect(m.text).toContain('不批准，理由：外出时间过长');
      await h.pressText('section', m, '确认不批准');
      expect(h.api.message(TG.section, m.message_id)!.text).toContain('已不批准');
      expect(buttonTexts(h.api.message(TG.section, zh!.message_id))).toEqual([]);

      const [request] = await h.db.sql`select state, decided_by_staff_id, decision_note from absence_requests where id = ${requestId}`;
      expect(request).toMatchObject({ state: 'rejected', decided_by_staff_id: h.org.staff.section, decision_note: '外出时间过长，请缩短后重新申请。' });
      const [told] = await deliver(h, 'absence_rejected', 'officerA2');
      expect(told!.text).toContain('did not approve the absence of 李*（SQ-A-002） (2026-12-03 to 2026-12-12). Reason: 外出时间过长');

      const late = await h.pressText('section2', en!, 'Approve');
      expect(late.text).toBe('That request has been decided already.');
      expect(await h.db.sql`select id from absences where subject_id = ${h.org.subjects.a2}`).toHaveLength(0);
    });
  });

  describe('续假 from the overdue notice', { shuffle: false }, () => {
    it('is a new request for the stay, decided by the whole stay’s length; approved, it carries the stay on and replaces its chain', async () => {
      h.clock.set(at('2026-12-05', '10:00'));
      const { absence: stay } = await requestAbsence(h.deps, h.org.actor('headB'), { subjectId: h.org.subjects.b1, destination: '苏州', startsOn: '2026-12-05', endsOn: '2026-12-06' });
      expect(stay).not.toBeNull(); // the office head requests it: approved at once

      h.clock.set(at('2026-12-07', '12:00'));
      expect(await fireProcessTimer(h.deps, (await overdueTimer(stay!.id, 0)).id as string)).toMatchObject({ status: 'sent' });
      const [alert] = await deliver(h, 'absence_overdue', 'officerB1');
      await h.pressText('officerB1', alert!, '续假');
      let m = h.last('officerB1');
      expect(m.text).toContain('续假：王*（SQ-B-001），原外出 2026-12-05 至 2026-12-06');
      m = await h.send('officerB1', '12-06');
      expect(m.text).toContain('续假的日期须晚于原定返回日期');
      m = await h.send('officerB1', '12-09');
      m = await h.send('officerB1', '返程车票改签');
      expect(m.text).toContain('续假：2026-12-07 至 2026-12-09');
      await h.pressText('officerB1', m, '提交');
      expect(h.api.message(TG.officerB1, m.message_id)!.text).toContain('等待司法所所长审批');

      const [notice] = await deliver(h, 'absence_requested', 'headB');
      expect(notice!.text).toContain('续假申请待审批');
      expect(notice!.text).toContain('本次外出共 5 天');
      expect((await h.pressText('headB', notice!, '✅ 批准')).text).toBe('已批准');

      const [extension] = await h.db.sql`select id, starts_on, ends_on from absences where extends_absence_id = ${stay!.id}`;
      expect(extension).toMatchObject({ starts_on: '2026-12-07', ends_on: '2026-12-09' });
      expect((await overdueTimer(stay!.id, 1)).state).toBe('cancelled');
      expect((await overdueTimer(extension!.id as string, 0)).state).toBe('pending');
      const [subject] = await h.db.sql`select status from subjects where id = ${h.org.subjects.b1}`;
      expect(subject!.status).toBe('away');
    });
  });
});
