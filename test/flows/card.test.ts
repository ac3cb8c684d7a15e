/**
 * The incident card end to end: acknowledge, progress update, assigning roles, marking steps, reported
 * upward / procuratorate notified, closing with the three texts, a false alarm; two staff pressing at
 * once, a stale keyboard, a forged press for another office's incident.
 */
import { t } from '../../src/i18n/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SandboxMessage } from '../../src/sandbox/bot-api-server.js';
import { reportIncident } from '../../src/services/incident.service.js';
import { encodeCallback } from '../../src/channels/telegram/callback-data.js';
import { buttonData, buttonTexts, startBotHarness, type BotHarness, type Who } from '../helpers/bot-harness.js';
import type { StaffKey } from '../helpers/fixtures.js';
import { formatLocal } from '../../src/domain/index.js';

let h: BotHarness;

beforeAll(async () => {
  h = await startBotHarness();
});
afterAll(async () => {
  await h?.close();
});

async function report(by: StaffKey, type: 'violent_crime' | 'mass_incident' | 'other' = 'violent_crime', office: 'officeA' | 'officeB' = 'officeA') {
  const r = await reportIncident(h.deps, h.org.actor(by), {
    type,
    subjectId: office === 'officeA' ? h.org.subjects.a1 : h.org.subjects.b1,
    officeUnitId: h.org.units[office],
    discoveredAt: h.clock.now(),
    injured: 0,
    dead: 0,
    description: '测试事件',
  });
  return r.incident;
}

/** Opens an incident's card from /incidents, as a person would. */
async function openCard(who: Who, number: string): Promise<SandboxMessage> {
  const list = await h.send(who, '/incidents');
  await h.pressText(who, list, number);
  const card = h.last(who);
  expect(card.text).toContain(number);
  return card;
}

async function incidentRow(id: string) {
  const [row] = await h.db.sql`select * from incidents where id = ${id}`;
  return row!;
}

async function lastRefusal(who: Who) {
  const [row] = await h.db.sql`select * from audit_log where action = 'callback.refused' and actor_telegram_id = ${h.tg(who)} order by id desc limit 1`;
  return row;
}

// One harness and one database for the whole file, and steps that stand on what the steps before
// them left: they keep their order when the suite is shuffled (the files still run in any order).
describe('card, in order', { shuffle: false }, () => {
  describe('working an incident through its card', () => {
    it('acknowledge, progress update, roles, steps, upper report, procuratorate, close', async () => {
      const incident = await report('officerA1');

      // The section acknowledges (签收).
      let sectionCard = await openCard('section', incident.number);
      expect(buttonTexts(sectionCard)).toContain('✍ 签收');
      const ackAnswer = await h.press('section', sectionCard, buttonData(sectionCard, '签收'));
      expect(ackAnswer.text).toBe('已签收。');
      sectionCard = h.api.message(h.tg('section'), sectionCard.message_id)!;
      expect(sectionCard.text).toContain('签收：科员丙');
      expect(buttonTexts(sectionCard)).not.toContain('✍ 签收');
      let row = await incidentRow(incident.id);
      expect(row.status).toBe('acknowledged');
      const ackTimers = await h.db.sql`select state from timers where incident_id = ${incident.id} and kind = 'ack'`;
      expect(ackTimers.every((x) => x.state === 'cancelled')).toBe(true);
      // Those told of it (a redraw of their card), not counting the actor's own card redraw.
      const ackNotices = await h.db.sql`select recipient_staff_id from outbox where incident_id = ${incident.id} and kind = 'incident_acknowledged' and not coalesce((params->>'cardOnly')::boolean, false)`;
      expect(ackNotices.map((x) => x.recipient_staff_id).sort()).toEqual([h.org.staff.officerA1, h.org.staff.headA].sort());

      // The officer sends a progress update (续报) with a photo.
      let officerCard = await openCard('officerA1', incident.number);
      await h.pressText('officerA1', officerCard, '续报');
      let m = h.last('officerA1');
      expect(m.text).toContain(`续报 ${incident.number}`);
      m = await h.send('officerA1', '   ');
      expect(m.text).toContain('续报内容不能为空');
      m = await h.send('officerA1', '对象已被控制，伤者送医。');
      expect(m.text).toContain('提交');
      m = await h.sendPhoto('officerA1');
      await h.pressText('officerA1', m, '提交');
      officerCard = h.last('officerA1');
      expect(officerCard.text).toContain('最新续报');
      expect(officerCard.text).toContain('对象已被控制，伤者送医。');
      expect(officerCard.text).toContain('（附件 1）');
      row = await incidentRow(incident.id);
      expect(row.status).toBe('in_progress');
      expect(row.progress_cycle).toBe(2);
      const progress = await h.db.sql`select cycle, state from timers where incident_id = ${incident.id} and kind = 'progress' order by cycle, level`;
      expect(progress.map((p) => `${p.cycle}:${p.state}`)).toEqual(['1:cancelled', '1:cancelled', '2:pending', '2:pending']);
      const progressNotices = await h.db.sql`select recipient_staff_id from outbox where incident_id = ${incident.id} and kind = 'progress_reported'`;
      // A critical incident's 续报 reaches the leaders too (the bureau's default, progressToLeaders).
      expect(progressNotices.map((x) => x.recipient_staff_id).sort()).toEqual([h.org.staff.section, h.org.staff.section2, h.org.staff.headA, h.org.staff.deputy, h.org.staff.director].sort());

      // The section assigns the commander and a working group from the staff list.
      sectionCard = await openCard('section', incident.number);
      await h.pressText('section', sectionCard, '指派');
      m = h.api.message(h.tg('section'), sectionCard.message_id)!;
      expect(m.text).toContain('请选择要指派的角色');
      await h.pressText('section', m, '总指挥');
      m = h.api.message(h.tg('section'), sectionCard.message_id)!;
      expect(buttonTexts(m)).toContain('局长甲');
      await h.pressText('section', m, '局长甲');
      m = h.api.message(h.tg('section'), sectionCard.message_id)!;
      expect(buttonTexts(m)).toContain('✓ 局长甲');
      await h.pressText('section', m, '« 返回');
      await h.pressText('section', sectionCard.message_id, '现场处置组');
      await h.pressText('section', sectionCard.message_id, '矫正官甲一');
      await h.pressText('section', sectionCard.message_id, 'Officer A2');
      await h.pressText('section', sectionCard.message_id, '✓ Officer A2'); // tapped again: removed
      m = h.api.message(h.tg('section'), sectionCard.message_id)!;
      expect(buttonTexts(m)).toContain('Officer A2');
      await h.pressText('section', m, '✔ 完成'); // back to the roles
      await h.pressText('section', sectionCard.message_id, '✔ 完成'); // back to the card
      sectionCard = h.api.message(h.tg('section'), sectionCard.message_id)!;
      expect(sectionCard.text).toContain('总指挥：局长甲');
      expect(sectionCard.text).toContain('现场处置组：矫正官甲一');
      expect(sectionCard.text).not.toContain('Officer A2');
      const roles = await h.db.sql`select role, staff_id from incident_roles where incident_id = ${incident.id} order by role`;
      expect(roles.map((r) => r.role)).toEqual(['commander', 'group_onsite']);

      // The officer marks steps: done, not applicable with a reason, a note.
      officerCard = await openCard('officerA1', incident.number);
      expect(buttonTexts(officerCard)).not.toContain('⬆ 上报上一级'); // a section step
      await h.pressText('officerA1', officerCard, '⬜ 1.');
      m = h.api.message(h.tg('officerA1'), officerCard.message_id)!;
      expect(m.text).toContain('▶ 第 1 步');
      await h.pressText('officerA1', m, '✅ 已完成');
      officerCard = h.api.message(h.tg('officerA1'), officerCard.message_id)!;
      expect(officerCard.text).toMatch(/✅ 1\. 立即向公安“110”或执行地派出所报警 — 矫正官甲一/);

      await h.pressText('officerA1', officerCard, '⬜ 3.');
      await h.pressText('officerA1', officerCard.message_id, '➖ 不适用');
      m = h.last('officerA1');
      expect(m.text).toContain('为何不适用');
      m = await h.send('officerA1', ' ');
      expect(m.text).toContain('原因不能为空');
      m = await h.send('officerA1', '管理科人员已在现场，司法所人员在外执勤');
      officerCard = h.last('officerA1');
      expect(officerCard.text).toContain('➖ 3. 管理科和司法所第一时间赶赴现场 — 不适用：管理科人员已在现场');

      await h.pressText('officerA1', officerCard, '⬜ 4.');
      await h.pressText('officerA1', officerCard.message_id, '📝 备注');
      m = await h.send('officerA1', '心理疏导进行中');
      officerCard = h.last('officerA1');
      expect(officerCard.text).toContain('💬 心理疏导进行中');
      const steps = await h.db.sql`select ordinal, state, na_reason, note from incident_steps where incident_id = ${incident.id} order by ordinal`;
      expect(steps[0]!.state).toBe('done');
      expect(steps[2]!.state).toBe('not_applicable');
      expect(steps[3]!.note).toBe('心理疏导进行中');
      // Without casualties, calling 120 was not applicable from the start, with its reason.
      expect(officerCard.text).toContain('➖ 5. 立即拨打120或协调医院救治 — 不适用：“有人员伤亡”不成立');

      // The section marks "reported upward" (by phone) and "procuratorate notified".
      sectionCard = await openCard('section', incident.number);
      await h.pressText('section', sectionCard, '上报上一级');
      m = h.api.message(h.tg('section'), sectionCard.message_id)!;
      expect(m.text).toContain('请选择方式');
      await h.pressText('section', m, '📞 电话');
      await h.pressText('section', sectionCard.message_id, '通报检察院');
      await h.pressText('section', sectionCard.message_id, '📄 书面');
      sectionCard = h.api.message(h.tg('section'), sectionCard.message_id)!;
      expect(sectionCard.text).toMatch(/✅ \d+\. 上报上一级社区矫正机构（📞 电话） — 科员丙/);
      expect(sectionCard.text).toMatch(/✅ \d+\. 通报执行地人民检察院（📄 书面）/);
      expect(buttonTexts(sectionCard)).not.toContain('⬆ 上报上一级');
      const upper = await h.db.sql`select state from timers where incident_id = ${incident.id} and kind = 'upper_report'`;
      expect(upper.every((x) => x.state === 'cancelled')).toBe(true);

      // The office head closes it. Two required steps are still open: the form lists them and asks why
      // the incident is closed all the same, before the three texts.
      const headCard = await openCard('headA', incident.number);
      await h.pressText('headA', headCard, '结案');
      m = h.last('headA');
      expect(m.text).toContain('还有以下事项未完成');
      expect(m.text).toContain('· 6. 依法对社区矫正对象予以处罚');
      m = await h.send('headA', '  ');
      expect(m.text).toContain('此项必填');
      m = await h.send('headA', '处罚由派出所依法决定，另行跟进。');
      expect(m.text).toContain('（1/3）');
      m = await h.send('headA', '   ');
      expect(m.text).toContain('此项必填');
      m = await h.send('headA', '对象因邻里纠纷情绪失控持刀。');
      expect(m.text).toContain('经验教训');
      m = await h.send('headA', '对高风险对象的情绪变化掌握不及时。');
      expect(m.text).toContain('改进措施');
      m = await h.send('headA', '每周走访高风险对象并记录。');
      expect(m.text).toContain('请核对结案内容');
      expect(m.text).toContain('结案原因：处罚由派出所依法决定，另行跟进。');
      expect(m.text).toContain('7 天内');
      await h.pressText('headA', m, '确认结案');
      const done = h.api.botMessages(h.tg('headA')).find((x) => x.text?.startsWith('✅ 已结案。书面报告截止'));
      expect(done?.text).toContain('12-06');
      const closedCard = h.last('headA');
      expect(closedCard.text).toContain('✅ 已结案');
      expect(closedCard.text).toContain('经过和原因：对象因邻里纠纷情绪失控持刀。');
      expect(buttonTexts(closedCard)).toEqual(['🔄 刷新']);
      row = await incidentRow(incident.id);
      expect(row.status).toBe('closed');
      expect(row.closure).toBe('resolved');
      expect(row.close_measures).toBe('每周走访高风险对象并记录。');
      const open = await h.db.sql`select kind from timers where incident_id = ${incident.id} and state = 'pending' order by kind`;
      expect(new Set(open.map((x) => x.kind))).toEqual(new Set(['inform', 'written_report']));
      const closedNotices = await h.db.sql`select count(*)::int as n from outbox where incident_id = ${incident.id} and kind = 'incident_closed'`;
      expect(closedNotices[0]!.n).toBeGreaterThan(0);
    });

    it('a false alarm is closed by the section only, with a reason', async () => {
      const incident = await report('officerA1', 'other');
      const officerCard = await openCard('officerA1', incident.number);
      expect(buttonTexts(officerCard)).not.toContain('🚫 误报');
      // An officer forging the false-alarm press is refused and audited.
      const forged = await h.pressForced('officerA1', officerCard.message_id, encodeCallback({ a: 'falarm', i: incident.id, v: incident.version }));
      expect(forged.text).toBe('您没有权限执行此操作。');
      expect((await lastRefusal('officerA1'))!.data.reason).toBe('not_permitted');

      const sectionCard = await openCard('section', incident.number);
      await h.pressText('section', sectionCard, '误报');
      let m = await h.send('section', '经核实为邻居误会，对象在家。');
      await h.pressText('section', m, '确认误报');
      m = h.last('section');
      expect(m.text).toContain('🚫 误报');
      const row = await incidentRow(incident.id);
      expect(row.closure).toBe('false_alarm');
      const written = await h.db.sql`select count(*)::int as n from timers where incident_id = ${incident.id} and kind = 'written_report'`;
      expect(written[0]!.n).toBe(0);
    });
  });

  describe('races, stale cards and forged presses', () => {
    it('two section staff press 签收 at the same moment: one wins, the other is told', async () => {
      const incident = await report('officerA1', 'mass_incident');
      const a = await openCard('section', incident.number);
      const b = await openCard('section2', incident.number);
      const pa = h.api.pressButton(h.tg('section'), a.message_id, buttonData(a, '签收'));
      const pb = h.api.pressButton(h.tg('section2'), b.message_id, buttonData(b, 'Acknowledge'));
      await h.idle();
      const answers = await Promise.all([h.api.waitForCallbackAnswer(pa.callbackQueryId), h.api.waitForCallbackAnswer(pb.callbackQueryId)]);
      const texts = answers.map((x) => x.text).sort();
      expect(texts.filter((x) => x === '已签收。' || x === 'Acknowledged.')).toHaveLength(1);
      expect(texts.filter((x) => x === '此操作已由他人完成。' || x === 'Someone else has already done that.')).toHaveLength(1);
      const acks = await h.db.sql`select count(*)::int as n from audit_log where incident_id = ${incident.id} and action = 'incident.acknowledged'`;
      expect(acks[0]!.n).toBe(1);
      // Both cards now show it acknowledged.
      expect(h.api.message(h.tg('section'), a.message_id)!.text).toMatch(/已签收|签收：/);
      expect(h.api.message(h.tg('section2'), b.message_id)!.text).toContain('Acknowledged:');
    });

    it('your own earlier 签收, pressed again on an old card, is answered with when you did it', async () => {
      const incident = await report('officerA1', 'mass_incident');
      const card = await openCard('section', incident.number);
      const ack = buttonData(card, '签收');
      expect((await h.press('section', card, ack)).text).toBe('已签收。');
      const row = await incidentRow(incident.id);
      const answer = await h.pressForced('section', card.message_id, ack);
      expect(answer.text).toBe(`您已于 ${formatLocal(new Date(row.acknowledged_at), 'Asia/Shanghai', h.clock.now())} 签收。`);
      expect(answer.text).not.toContain('他人');
      // Someone else pressing the same old button still hears it was done by another.
      const other = await openCard('section2', incident.number);
      expect(buttonTexts(other)).not.toContain('✍ Acknowledge');
      const theirs = await h.pressForced('section2', other.message_id, ack);
      expect(theirs.text).toBe('Someone else has already done that.');
    });

    it('the section, sending a progress update, is told who hears of it: the office head and the rest of the section', async () => {
      const incident = await report('officerA1', 'mass_incident');
      const card = await openCard('section', incident.number);
      await h.pressText('section', card, '续报');
      const m = await h.send('section', '已与派出所联系，民警已到场。');
      await h.pressText('section', m, '提交');
      const closed = h.api.message(h.tg('section'), m.message_id)!;
      expect(closed.text).toBe('✅ 续报已提交，所长和管理科其他人员会收到通知。');
      const told = await h.db.sql`select recipient_staff_id from outbox where incident_id = ${incident.id} and kind = 'progress_reported'`;
      expect(told.map((x) => x.recipient_staff_id).sort()).toEqual([h.org.staff.section2, h.org.staff.headA, h.org.staff.officerA1, h.org.staff.deputy, h.org.staff.director].sort());
    });

    it('a press on an out-of-date card still does what it asked when that still applies, and redraws the card', async () => {
      const incident = await report('officerA1', 'mass_incident');
      const officerCard = await openCard('officerA2', incident.number);
      const sectionCard = await openCard('section', incident.number);
      await h.press('section', sectionCard, buttonData(sectionCard, '签收'));
      // The officer's card was drawn before that: its buttons carry the old version. 续报 still applies.
      const refusedBefore = await lastRefusal('officerA2');
      await h.press('officerA2', officerCard, buttonData(officerCard, 'Progress update'));
      const redrawn = h.api.message(h.tg('officerA2'), officerCard.message_id)!;
      expect(redrawn.text).toContain('Acknowledged: 科员丙');
      const [flow] = await h.db.sql`select flow from flow_states where chat_id = ${h.tg('officerA2')}`;
      expect(flow?.flow).toBe('progress');
      expect((await lastRefusal('officerA2'))?.id).toBe(refusedBefore?.id);
      await h.send('officerA2', '/cancel');
      // What no longer applies is refused: 签收 on the section's own old card, now acknowledged.
      // (A second phone still showing the first drawing of the card: the stand-in's copy was redrawn.)
      const stale = await h.pressForced('section', sectionCard.message_id, buttonData(sectionCard, '签收'));
      expect(stale.text).not.toBe('此卡片已过期，已为您刷新。');
      expect((await lastRefusal('section'))!.data.reason).toBe('already_done');
    });

    it("a forged press for another office's incident is refused, audited and changes nothing", async () => {
      const incident = await report('officerA1', 'mass_incident');
      const own = await h.send('officerB1', '/incidents');
      expect(own.text).toContain('目前没有进行中的事件'); // office B sees none of office A's
      const before = await incidentRow(incident.id);
      h.api.injectUpdate(
        {
          callback_query: {
            id: 'forged-1',
            from: { id: h.tg('officerB1'), is_bot: false, first_name: 'officerB1' },
            message: { message_id: own.message_id, chat: { id: h.tg('officerB1'), type: 'private' }, date: 0 },
            chat_instance: '1',
            data: encodeCallback({ a: 'prog', i: incident.id, v: before.version }),
          },
        },
        { registerCallbackQuery: true },
      );
      await h.idle();
      const answer = await h.api.waitForCallbackAnswer('forged-1');
      expect(answer.text).toBe('未找到该记录，或您无权查看。');
      const audit = (await lastRefusal('officerB1'))!;
      expect(audit.data).toMatchObject({ reason: 'not_found', action: 'prog' });
      expect(audit.entity_id).toBe(incident.id);
      expect(audit.actor_staff_id).toBe(h.org.staff.officerB1);
      const after = await incidentRow(incident.id);
      expect(after.version).toBe(before.version);
      const [flow] = await h.db.sql`select count(*)::int as n from flow_states where chat_id = ${h.tg('officerB1')}`;
      expect(flow!.n).toBe(0);

      // Malformed data is refused and audited too.
      const bad = await h.pressForced('officerB1', own.message_id, 'ack:not-a-uuid:1');
      expect(bad.text).toBe('此按钮已失效。');
      expect((await lastRefusal('officerB1'))!.data).toMatchObject({ reason: 'malformed', raw: 'ack:not-a-uuid:1' });
    });

    it('a double tap on 已完成 is handled one tap at a time: the step is marked once', async () => {
      const incident = await report('officerA1', 'mass_incident');
      const card = await openCard('officerA1', incident.number);
      await h.pressText('officerA1', card, '⬜ 1.');
      const focused = h.api.message(h.tg('officerA1'), card.message_id)!;
      const data = buttonData(focused, '✅ 已完成');
      // Two deliveries at the same moment, straight to the webhook (as two quick taps from a phone).
      const tap = (updateId: number) =>
        fetch(h.webhookUrl!, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': h.webhookSecret! },
          body: JSON.stringify({
            update_id: updateId,
            callback_query: { id: `tap-${updateId}`, from: { id: h.tg('officerA1'), is_bot: false, first_name: 'a' }, message: focused.raw, chat_instance: '1', data },
          }),
        });
      const answers = await Promise.all([tap(8_000_001), tap(8_000_002)]);
      expect(answers.map((a) => a.status)).toEqual([200, 200]);
      await h.idle();
      const done = await h.db.sql`select count(*)::int as n from audit_log where incident_id = ${incident.id} and action = 'step.done'`;
      expect(done[0]!.n).toBe(1);
      const refused = await h.db.sql`select data from audit_log where action = 'callback.refused' and entity_id = ${incident.id}`;
      // The second tap meets the step already done: refused as such, not as an out-of-date card.
      expect(refused.map((r) => r.data.reason)).toEqual(['already_done']);
    });

    it('in a group the bot was not bound to, a card press is refused with how to bind it', async () => {
      const incident = await report('officerA1', 'mass_incident');
      h.api.addGroup({ id: -100600, title: '值班群', memberIds: [h.tg('officerA1')] });
      const sent = await h.bot.telegram.sendMessage(-100600, 'card', {
        reply_markup: { inline_keyboard: [[{ text: '续报', callback_data: encodeCallback({ a: 'prog', i: incident.id, v: incident.version }) }]] },
      });
      const { callbackQueryId } = h.api.pressButton(h.tg('officerA1'), sent.message_id, encodeCallback({ a: 'prog', i: incident.id, v: incident.version }), { chatId: -100600 });
      await h.idle();
      const answer = await h.api.waitForCallbackAnswer(callbackQueryId);
      // Groups answer only once bound (/bindgroup); forms in a bound group point to the private chat (test/flows/duty-groups*).
      expect(answer.text).toBe(t('zh', 'dutygroup.not_bound'));
    });

    it('the section reporting an unknown person chooses the office', async () => {
      let m = await h.send('section', '/report');
      await h.pressText('section', m, '三、参与非正常上访');
      await h.pressText('section', h.last('section'), '不明');
      m = await h.send('section', '上访人员，身份待查');
      expect(m.text).toContain('请选择事件所属的司法所');
      await h.pressText('section', m, '乙街道司法所');
      await h.pressText('section', h.last('section'), '现在');
      m = await h.send('section', '区信访局门口');
      await h.pressText('section', m, '无伤亡');
      m = await h.send('section', '聚集上访，情绪激动。');
      await h.pressText('section', m, '下一步');
      expect(h.last('section').text).toContain('所属：乙街道司法所');
      await h.pressText('section', h.last('section'), '确认上报');
      const [row] = await h.db.sql`select office_unit_id, subject_note from incidents order by reported_at desc, number desc limit 1`;
      expect(row).toMatchObject({ office_unit_id: h.org.units.officeB, subject_note: '上访人员，身份待查' });
    });

    it('/incidents lists what each person may see, newest first, and pages', async () => {
      for (let i = 0; i < 9; i++) await report('officerB1', 'other', 'officeB');
      const sectionList = await h.send('section', '/incidents');
      const sectionButtons = buttonTexts(sectionList);
      expect(sectionButtons).toContain('下一页 ›');
      await h.pressText('section', sectionList, '下一页');
      const page2 = h.api.message(h.tg('section'), sectionList.message_id)!;
      expect(page2.text).toContain('第 2 页');
      const officerB = await h.send('officerB1', '/incidents');
      const numbers = buttonTexts(officerB).filter((x) => /^\d{4}-\d{4}/.test(x));
      expect(numbers.length).toBe(8);
      expect(numbers.every((x) => x.includes('十一、其他突发事件'))).toBe(true);
      // newest first
      const seq = numbers.map((x) => Number(x.slice(5, 9)));
      expect([...seq].sort((p, q) => q - p)).toEqual(seq);
    });
  });
});
