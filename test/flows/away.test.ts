/**
 * /away and /subjects end to end: requesting an absence (not away until approved), the office head
 * approving it from /away's list of requests to decide, the list of stays with their phase, logging the
 * daily contact (also straight from the 09:00 reminder's button), the offer to report absconding after
 * two days without a reached contact, and a subject's view, masked per PII_MODE and office.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeCallback } from '../../src/channels/telegram/callback-data.js';
import { markup, button } from '../../src/channels/telegram/keyboards.js';
import { buttonTexts, startBotHarness, type BotHarness } from '../helpers/bot-harness.js';
import { TG } from '../helpers/fixtures.js';
import { resolvePolicy } from '../../src/domain/index.js';

let h: BotHarness;

beforeAll(async () => {
  h = await startBotHarness(); // 2026-11-29 10:00 in Shanghai
});
afterAll(async () => {
  await h?.close();
});

// One harness and one database for the whole file, and steps that stand on what the steps before
// them left: they keep their order when the suite is shuffled (the files still run in any order).
describe('away, in order', { shuffle: false }, () => {
  describe('requesting an absence', () => {
    it('asks subject, destination, dates and reason, checks them, and writes a request: not away until approved', async () => {
      let m = await h.send('officerA1', '/away');
      await h.pressText('officerA1', m, '申请外出');
      m = h.last('officerA1');
      expect(m.text).toContain('要申请外出的对象');
      m = await h.send('officerA1', '张三');
      await h.pressText('officerA1', m, 'SQ-A-001');
      m = h.last('officerA1');
      expect(m.text).toContain('张*（SQ-A-001）');
      m = await h.send('officerA1', '宁波市鄞州区（探亲）');
      expect(m.text).toContain('外出开始日期');
      await h.pressText('officerA1', m, '今天');
      m = h.last('officerA1');
      m = await h.send('officerA1', '十二月三号');
      expect(m.text).toContain('日期格式不对');
      m = await h.send('officerA1', '11-20');
      expect(m.text).toContain('返回日期不能早于开始日期');
      m = await h.send('officerA1', '2027-03-30');
      expect(m.text).toContain('最长 92 天'); // the bureau's longest stay (policy absence.maxDays)
      m = await h.send('officerA1', '12-03');
      expect(m.text).toContain('外出事由');
      m = await h.send('officerA1', '探望生病的母亲');
      expect(m.text).toContain('2026-11-29 至 2026-12-03（共 5 天）');
      expect(m.text).toContain('事由：探望生病的母亲');
      await h.pressText('officerA1', m, '提交');
      expect(h.api.message(TG.officerA1, m.message_id)!.text).toContain('等待司法所所长审批');

      const [request] = await h.db.sql`select state, destination, reason, starts_on, ends_on from absence_requests where subject_id = ${h.org.subjects.a1}`;
      expect(request).toMatchObject({ state: 'requested', destination: '宁波市鄞州区（探亲）', reason: '探望生病的母亲', starts_on: '2026-11-29', ends_on: '2026-12-03' });
      expect(await h.db.sql`select id from absences where subject_id = ${h.org.subjects.a1}`).toHaveLength(0);
      const [subject] = await h.db.sql`select status from subjects where id = ${h.org.subjects.a1}`;
      expect(subject!.status).toBe('active');
      expect(await h.db.sql`select id from timers where subject_id = ${h.org.subjects.a1} and kind = 'contact_check'`).toHaveLength(0);
      // The list shows it waiting.
      const list = await h.send('officerA1', '/away');
      await h.pressText('officerA1', list, '外出对象');
      expect(h.last('officerA1').text).toContain('张*（SQ-A-001）：2026-11-29 至 2026-12-03，待司法所所长审批');
    });

    it('the office head approves it from the requests waiting for them: the stay, the subject away, today’s contact check', async () => {
      const menu = await h.send('headA', '/away');
      expect(buttonTexts(menu)).toContain('📝 待我审批（1）');
      await h.pressText('headA', menu, '待我审批');
      const pending = h.last('headA');
      expect(pending.text).toContain('张*（SQ-A-001）：2026-11-29 至 2026-12-03，目的地：宁波市鄞州区（探亲）');
      expect(pending.text).toContain('事由：探望生病的母亲');
      expect(buttonTexts(pending)).toEqual(['✅ 批准', '❌ 不批准']);
      await h.pressText('headA', pending, '✅ 批准');
      expect(h.last('headA').text).toContain('您已批准');

      const [absence] = await h.db.sql`select * from absences where subject_id = ${h.org.subjects.a1}`;
      expect(absence).toMatchObject({ destination: '宁波市鄞州区（探亲）', starts_on: '2026-11-29', ends_on: '2026-12-03', approved_by_staff_id: h.org.staff.headA });
      const [subject] = await h.db.sql`select status from subjects where id = ${h.org.subjects.a1}`;
      expect(subject!.status).toBe('away');
      const checks = await h.db.sql`select level, cycle, state from timers where subject_id = ${h.org.subjects.a1} and kind = 'contact_check' order by level`;
      expect(checks.map((c) => `${c.level}:${c.cycle}:${c.state}`)).toEqual(['0:2026-11-29:pending', '1:2026-11-29:pending']);
    });

    it('lists the stays with their phase and today’s contact', async () => {
      const m = await h.send('officerA1', '/away');
      await h.pressText('officerA1', m, '外出对象');
      const list = h.last('officerA1');
      expect(list.text).toContain('张*（SQ-A-001） → 宁波市鄞州区（探亲）（2026-11-29 至 2026-12-03，外出中）：今日未联系');
      expect(buttonTexts(list)).toEqual(['📞 张*（SQ-A-001）', '↩ 销假']);
      // Office B sees none of office A's subjects.
      const other = await h.send('officerB1', '/away');
      await h.pressText('officerB1', other, '外出对象');
      expect(h.last('officerB1').text).toContain('目前没有外出、逾期未归或待审批的对象');
    });
  });

  describe('the daily contact', () => {
    it('opens straight from the reminder’s button, logs the result, and closes today’s contact check', async () => {
      // The 09:00 reminder is sent by the timers; any message carrying `contact:<subjectId>` opens the flow.
      const reminder = await h.bot.telegram.sendMessage(TG.officerA1, '今日需联系的外出对象：', {
        reply_markup: markup([[button('📞 张*（SQ-A-001）', { a: 'contact', i: h.org.subjects.a1 })]]),
      });
      await h.idle();
      await h.pressText('officerA1', reminder.message_id, '张*');
      let m = h.last('officerA1');
      expect(m.text).toContain('今天的联系结果');
      await h.pressText('officerA1', m, '未联系上');
      m = h.last('officerA1');
      m = await h.send('officerA1', '电话无人接听');
      expect(h.api.botMessages(TG.officerA1).some((x) => x.text === '✅ 已记录：张*（SQ-A-001） ❌ 未联系上。')).toBe(true);
      const [log] = await h.db.sql`select result, note, local_date from contact_logs where subject_id = ${h.org.subjects.a1}`;
      expect(log).toMatchObject({ result: 'not_reached', note: '电话无人接听', local_date: '2026-11-29' });
      const checks = await h.db.sql`select state from timers where subject_id = ${h.org.subjects.a1} and kind = 'contact_check'`;
      expect(checks.every((c) => c.state === 'cancelled')).toBe(true);
    });

    it('after two days without a reached contact, offers to report absconding, prefilled', async () => {
      h.clock.advance(24 * 3600 * 1000); // the next day: yesterday failed, today fails too
      try {
        const list = await h.send('officerA1', '/away');
        await h.pressText('officerA1', list, '外出对象');
        await h.pressText('officerA1', h.last('officerA1'), '张*');
        await h.pressText('officerA1', h.last('officerA1'), '未联系上');
        await h.pressText('officerA1', h.last('officerA1'), '跳过');
        const offer = h.last('officerA1');
        expect(offer.text).toContain('已连续 2 天未能联系上');
        await h.pressText('officerA1', offer, '上报脱管');
        let m = h.last('officerA1');
        expect(m.text).toContain('第 3/7 步'); // type and subject are filled in
        await h.pressText('officerA1', m, '现在');
        m = await h.send('officerA1', '宁波');
        await h.pressText('officerA1', m, '无伤亡');
        m = await h.send('officerA1', '外出期间连续两日无法联系。');
        await h.pressText('officerA1', m, '下一步');
        m = h.last('officerA1');
        expect(m.text).toContain('四、脱离监督管理');
        expect(m.text).toContain('张*（SQ-A-001）');
        await h.pressText('officerA1', m, '确认上报');
        const [incident] = await h.db.sql`select type, subject_id, office_unit_id from incidents order by reported_at desc limit 1`;
        expect(incident).toMatchObject({ type: 'absconding', subject_id: h.org.subjects.a1, office_unit_id: h.org.units.officeA });
      } finally {
        h.clock.advance(-24 * 3600 * 1000);
      }
    });

    it("another office's subject cannot be reached by a forged button", async () => {
      const m = await h.send('officerB1', '/help');
      const answer = await h.pressForced('officerB1', m.message_id, encodeCallback({ a: 'contact', i: h.org.subjects.a1 }));
      expect(answer.text).toBe('未找到该记录，或您无权查看。');
      const [audit] = await h.db.sql`select data from audit_log where action = 'callback.refused' and actor_telegram_id = ${TG.officerB1} order by id desc limit 1`;
      expect(audit!.data).toMatchObject({ reason: 'not_found', action: 'contact' });
      const logs = await h.db.sql`select count(*)::int as n from contact_logs where staff_id = ${h.org.staff.officerB1}`;
      expect(logs[0]!.n).toBe(0);
    });
  });

  describe('/subjects', () => {
    it('finds a subject within reach and shows them masked, with the ID number masked, and their empty timeline', async () => {
      let m = await h.send('officerA1', '/subjects');
      m = await h.send('officerA1', '330106198505052345'); // an exact ID number
      expect(buttonTexts(m)).toContain('李*（SQ-A-002）');
      await h.pressText('officerA1', m, 'SQ-A-002');
      const view = h.last('officerA1');
      expect(view.text).toContain('李*（SQ-A-002）');
      expect(view.text).toContain('3301**********2345');
      expect(view.text).not.toContain('李四');
      expect(view.text).toContain('Officer A2');
      expect(view.text).toContain('时间线');
      expect(view.text).toContain('暂无记录');
      expect(buttonTexts(view)).toEqual(['📞 记录联系', '➕ 申请外出', '🚨 上报脱管']);
      // From the view, request an absence for that subject directly.
      await h.pressText('officerA1', view, '申请外出');
      expect(h.last('officerA1').text).toContain('李*（SQ-A-002）\n外出目的地');
      await h.send('officerA1', '/cancel');

      m = await h.send('officerB1', '/subjects');
      m = await h.send('officerB1', '李四');
      expect(m.text).toContain('没有找到'); // office B cannot find office A's subject
    });

    it('when the bureau allows it, the responsible officer sees the full name in their private chat, and nobody else does', async () => {
      const c = await startBotHarness({ policy: resolvePolicy({ subjectNames: { responsibleOfficerSeesFullName: true } }) });
      try {
        const mine = await c.send('officerA1', '/mine');
        expect(mine.text).toContain('张三（SQ-A-001）：在矫');
        await c.pressText('officerA1', mine, 'SQ-A-001');
        expect(c.last('officerA1').text).toContain('张三（SQ-A-001）');
        // The setting is about the name: the ID number stays as the deployment's PII_MODE shows it.
        expect(c.last('officerA1').text).toContain('3301**********1234');
        // The office head keeps records of the same subject but is not its responsible officer.
        await c.send('headA', '/subjects');
        await c.pressText('headA', await c.send('headA', 'SQ-A-001'), 'SQ-A-001');
        expect(c.last('headA').text).toContain('张*（SQ-A-001）');
        expect(c.last('headA').text).not.toContain('张三');
      } finally {
        await c.close();
      }
    });

    it('in codes mode, names never appear', async () => {
      const c = await startBotHarness({ piiMode: 'codes' });
      try {
        await c.send('section', '/subjects');
        const m = await c.send('section', '王');
        expect(buttonTexts(m)).toEqual(['SQ-B-001', '🔎 重新查找', '« 返回', '✖ 取消']);
        await c.pressText('section', m, 'SQ-B-001');
        const view = c.last('section');
        expect(view.text).not.toContain('王');
        expect(view.text).not.toContain('3301');
      } finally {
        await c.close();
      }
    });
  });
});
