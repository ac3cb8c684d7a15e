/**
 * Administration in the chat, for the section, end to end on the Bot API stand-in: a CSV file sent to
 * the bot is previewed with every refused row named, and 确认导入 imports exactly the rows previewed (a
 * preview that went stale imports nothing); a section member sets an acting holder, and once the holder
 * is away (我外出/休假) the office head's next notices go to the acting holder; a staff member added,
 * bound with the invite, made responsible officer, moved to another office, and deactivated. Anyone but
 * the section is refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeCallback } from '../../src/channels/telegram/callback-data.js';
import { atLocalTime, idNumberCheckDigit } from '../../src/domain/index.js';
import { requestAbsence } from '../../src/services/absence.service.js';
import { setResponsibleOfficer } from '../../src/services/admin.service.js';
import { fireTimer } from '../../src/services/timer.service.js';
import { buttonTexts, startBotHarness, type BotHarness } from '../helpers/bot-harness.js';
import { TG } from '../helpers/fixtures.js';
import { deliver } from './deliver-notices.js';

const TZ = 'Asia/Shanghai';
let h: BotHarness;

beforeAll(async () => {
  h = await startBotHarness(); // 2026-11-29 10:00 in Shanghai
});
afterAll(async () => h?.close());

/** A well-formed ID number from its first 17 digits. */
const id = (first17: string) => first17 + idNumberCheckDigit(first17);
/** The same, with a wrong check digit. */
const badId = (first17: string) => first17 + (idNumberCheckDigit(first17) === '0' ? '1' : '0');

async function sendFile(who: 'section', name: string, text: string) {
  h.api.sendDocument(TG[who], { fileName: name, mimeType: 'text/csv', bytes: Buffer.from(text, 'utf8') });
  await h.idle();
}

async function subjectCodes(): Promise<string[]> {
  return (await h.db.sql`select code from subjects order by code`).map((r) => r.code as string);
}

const HEADER = 'code,name,id_number,office,responsible_officer,risk_level,status';

// One clock over several days, and steps that stand on the ones before: they keep their order when
// the suite is shuffled (the files still run in any order).
describe('administration in the chat', { shuffle: false }, () => {
  describe('only the section administers', () => {
    it('refuses /admin and its buttons to anyone else', async () => {
      const m = await h.send('headA', '/admin');
      expect(m.text).toBe('此功能仅供社区矫正管理科使用。');
      const answer = await h.pressForced('headA', m.message_id, encodeCallback({ a: 'adm', k: 'import' }));
      expect(answer.text).toBe('您没有权限执行此操作。');
    });
  });

  describe('the subject import from a CSV sent in the chat', { shuffle: false }, () => {
    const taken = id('33010619950505123');

    it('previews the file: the rows to add and to change, and each refused row with its reason', async () => {
      const menu = await h.send('section', '/admin');
      await h.pressText('section', menu, '导入对象名单');
      expect(h.last('section').text).toContain('请发送对象名单文件');
      await sendFile(
        'section',
        '名单.csv',
        [
          HEADER,
          `SQ-A-010,赵六,${taken},office-a,officerA1,high,`,
          `SQ-A-001,张三,${id('33010619900101123')},office-a,officerA2,,`,
          `SQ-B-010,钱七,${badId('33010519900303111')},office-b,,,`,
          `SQ-B-011,孙八,${id('33010519800202456')},office-x,,,`,
          `SQ-A-011,周九,${id('33010619900101123')},office-a,,,`,
          `SQ-A-012,吴十,${id('33010619881212567')},office-a,nobody,,`,
        ].join('\n'),
      );
      const messages = h.api.botMessages(TG.section);
      const preview = messages.at(-2)!;
      expect(preview.text).toContain('导入预览');
      expect(preview.text).toContain('将新增 1 人：\n· 第 2 行：赵*（SQ-A-010），甲街道司法所');
      expect(preview.text).toContain('将更新 1 人：\n· 第 3 行：张*（SQ-A-001），更新身份证号、责任矫正官');
      expect(preview.text).toContain('未通过 4 项');
      expect(preview.text).toContain('· 第 4 行：身份证号校验位不对');
      expect(preview.text).toContain('· 第 5 行：未找到该司法所');
      expect(preview.text).toContain('· 第 6 行：“身份证号”与第 3 行重复');
      expect(preview.text).toContain('· 第 7 行：未找到该责任矫正官');
      expect(preview.text).not.toContain('赵六');
      const confirm = h.last('section');
      expect(confirm.text).toContain('将新增 1 人、更新 1 人；未通过 4 项不导入');
      expect(buttonTexts(confirm)).toContain('✔ 确认导入');
      // Nothing is written before 确认导入.
      expect(await subjectCodes()).toEqual(['SQ-A-001', 'SQ-A-002', 'SQ-B-001']);
    });

    it('确认导入 imports exactly the rows previewed', async () => {
      const confirm = h.last('section');
      await h.pressText('section', confirm, '确认导入');
      expect(h.api.message(TG.section, confirm.message_id)!.text).toBe('✅ 已导入：新增 1 人，更新 1 人。');
      expect(await subjectCodes()).toEqual(['SQ-A-001', 'SQ-A-002', 'SQ-A-010', 'SQ-B-001']);
      const [added] = await h.db.sql`select office_unit_id, responsible_staff_id, risk_level, status from subjects where code = 'SQ-A-010'`;
      expect(added).toMatchObject({ office_unit_id: h.org.units.officeA, responsible_staff_id: h.org.staff.officerA1, risk_level: 'high', status: 'active' });
      const [changed] = await h.db.sql`select responsible_staff_id from subjects where id = ${h.org.subjects.a1}`;
      expect(changed!.responsible_staff_id).toBe(h.org.staff.officerA2);
      const [audit] = await h.db.sql`select actor_staff_id, data from audit_log where action = 'subjects.imported'`;
      expect(audit).toMatchObject({ actor_staff_id: h.org.staff.section, data: { source: 'chat', created: 1, updated: 1 } });
    });

    it('a preview that went stale imports nothing, and the same file previewed again imports', async () => {
      const file = [
        HEADER,
        `SQ-A-001,张三,${id('33010619900101123')},office-a,officerA2,,`,
        `SQ-A-020,郑一,${id('33010619770707789')},office-a,,,`,
        `SQ-A-021,王二,${taken},office-a,,,`,
        `SQ-A-002,李四,${id('33010619850505234')},office-a,officerA1,,`,
      ].join('\n');
      await h.pressText('section', await h.send('section', '/admin'), '导入对象名单');
      await sendFile('section', 'again.csv', file);
      const preview = h.api.botMessages(TG.section).at(-2)!;
      expect(preview.text).toContain('与现有记录相同、无需导入：1 行');
      expect(preview.text).toContain('· 第 4 行：该身份证号已登记在其他对象名下');
      // Someone changes a subject the preview stands on before it is confirmed.
      await setResponsibleOfficer(h.deps, h.org.actor('section'), h.org.subjects.a2, h.org.staff.headA);
      await h.pressText('section', h.last('section'), '确认导入');
      expect(h.last('section').text).toContain('预览之后相关记录有变动，本次未导入任何行');
      expect(await subjectCodes()).not.toContain('SQ-A-020');

      await sendFile('section', 'again.csv', file);
      await h.pressText('section', h.last('section'), '确认导入');
      expect(h.last('section').text).toBe('✅ 已导入：新增 1 人，更新 1 人。');
      expect(await subjectCodes()).toEqual(['SQ-A-001', 'SQ-A-002', 'SQ-A-010', 'SQ-A-020', 'SQ-B-001']);
      const [a2] = await h.db.sql`select responsible_staff_id from subjects where id = ${h.org.subjects.a2}`;
      expect(a2!.responsible_staff_id).toBe(h.org.staff.officerA1);
    });
  });

  describe('an acting holder set in the chat takes the office head’s notices while the head is away', { shuffle: false }, () => {
    it('the section sets officer A1 to act for office A’s head, who is told', async () => {
      await h.pressText('section', await h.send('section', '/admin'), '代理人');
      await h.pressText('section', h.last('section'), '甲街道司法所');
      await h.pressText('section', h.last('section'), '所长 · 所长甲');
      let m = h.last('section');
      expect(m.text).toContain('岗位：所长\n在岗：所长甲\n代理人：无');
      await h.pressText('section', m, '甲街道司法所');
      m = h.last('section');
      expect(buttonTexts(m)).not.toContain('所长甲'); // the holder cannot act for their own seat
      await h.pressText('section', m, '矫正官甲一');
      m = h.last('section');
      expect(m.text).toContain('确认将代理人设为：矫正官甲一');
      await h.pressText('section', m, '确认');
      expect(h.api.message(TG.section, m.message_id)!.text).toContain('已指定代理人');
      const [seat] = await h.db.sql`select acting_staff_id from positions where holder_staff_id = ${h.org.staff.headA} and kind = 'office_head'`;
      expect(seat!.acting_staff_id).toBe(h.org.staff.officerA1);
      const [told] = await deliver(h, 'acting_holder_set', 'officerA1');
      expect(told!.text).toContain('科员丙 指定您为“所长”（甲街道司法所）的代理人');
    });

    it('the head registers 我外出/休假; the acting holder is told, and the next request and the 18:00 check go to them', async () => {
      let m = await h.send('headA', '/myaway');
      expect(m.text).toContain('当前没有登记外出或休假');
      await h.pressText('headA', m, '登记外出/休假日期');
      await h.pressText('headA', h.last('headA'), '今天');
      m = await h.send('headA', '12-02');
      expect(m.text).toContain('确认登记外出/休假：2026-11-29 至 2026-12-02');
      await h.pressText('headA', m, '确认');
      expect(h.api.message(TG.headA, m.message_id)!.text).toContain('从现在起，您岗位的通知由代理人接收');
      const [standIn] = await deliver(h, 'standing_in', 'officerA1');
      expect(standIn!.text).toContain('所长甲 于 2026-11-29 至 2026-12-02 外出或休假，期间其“所长”的通知由您代为接收');

      // A request at the office head's level reaches the acting holder, who decides it.
      h.clock.set(atLocalTime('2026-11-29', '10:30', TZ));
      const { request } = await requestAbsence(h.deps, h.org.actor('officerA2'), { subjectId: h.org.subjects.a2, destination: '杭州', startsOn: '2026-11-29', endsOn: '2026-11-30' });
      const asked = await h.db.sql`select recipient_staff_id from outbox where kind = 'absence_requested' and params->>'requestId' = ${request.id}`;
      expect(asked.map((r) => r.recipient_staff_id)).toEqual([h.org.staff.officerA1]);
      const [notice] = await deliver(h, 'absence_requested', 'officerA1');
      expect((await h.pressText('officerA1', notice!, '✅ 批准')).text).toBe('已批准');
      const [absence] = await h.db.sql`select approved_by_staff_id from absences where subject_id = ${h.org.subjects.a2}`;
      expect(absence!.approved_by_staff_id).toBe(h.org.staff.officerA1);

      // The 18:00 check of a subject with no contact logged: to the acting holder, not the head away.
      h.clock.set(atLocalTime('2026-11-29', '18:00', TZ));
      const [check] = await h.db.sql`select id from timers where kind = 'contact_check' and subject_id = ${h.org.subjects.a2} and level = 0`;
      expect(await fireTimer(h.deps, check!.id as string)).toMatchObject({ status: 'sent' });
      const checked = await h.db.sql`select recipient_staff_id from outbox where kind = 'contact_check_head' and subject_id = ${h.org.subjects.a2}`;
      expect(checked.map((r) => r.recipient_staff_id)).toEqual([h.org.staff.officerA1]);
    });
  });

  describe('a staff member added in the chat, bound with the invite, made responsible officer, moved, deactivated', { shuffle: false }, () => {
    let staffId: string;

    it('adds them with a seat and hands out their invite, which binds the stranger', async () => {
      await h.pressText('section', await h.send('section', '/admin'), '新增人员');
      let m = await h.send('section', '矫正官甲三');
      await h.pressText('section', m, '甲街道司法所');
      m = h.last('section');
      expect(buttonTexts(m)).toEqual(expect.arrayContaining(['矫正官', '所长']));
      expect(buttonTexts(m)).not.toContain('局长');
      await h.pressText('section', m, '矫正官');
      m = h.last('section');
      expect(m.text).toContain('姓名：矫正官甲三\n单位：甲街道司法所\n岗位：矫正官');
      await h.pressText('section', m, '确认');
      expect(h.api.message(TG.section, m.message_id)!.text).toContain('已新增：矫正官甲三');
      const [row] = await h.db.sql`select id, unit_id, active from staff where name = '矫正官甲三'`;
      expect(row).toMatchObject({ unit_id: h.org.units.officeA, active: true });
      staffId = row!.id as string;

      await h.pressText('section', h.last('section'), '生成邀请码');
      const invite = h.last('section').text ?? '';
      const code = /\/start ([A-Za-z0-9_-]+)/.exec(invite)?.[1];
      expect(code).toBeDefined();
      const bound = await h.send('stranger', `/start ${code}`);
      expect(bound.text).toContain('矫正官甲三');
      const [after] = await h.db.sql`select telegram_user_id from staff where id = ${staffId}`;
      expect(Number(after!.telegram_user_id)).toBe(TG.stranger);
    });

    it('makes them the responsible officer of a subject, found by the last four ID digits', async () => {
      await h.pressText('section', await h.send('section', '/admin'), '责任矫正官');
      const last4 = id('33010619770707789').slice(-4); // SQ-A-020, imported above
      let m = await h.send('section', last4);
      await h.pressText('section', m, 'SQ-A-020');
      m = h.last('section');
      expect(m.text).toContain('现责任矫正官：无');
      await h.pressText('section', m, '矫正官甲三');
      await h.pressText('section', h.last('section'), '确认');
      expect(h.last('section').text).toContain('的责任矫正官：矫正官甲三');
      const mine = await h.send('stranger', '/mine');
      expect(mine.text).toContain('我的对象');
      expect(mine.text).toContain('郑*（SQ-A-020）：在矫');
    });

    it('moves them to office B: the seat there, and office A’s subject without them', async () => {
      await h.pressText('section', await h.send('section', '/admin'), '调动人员');
      await h.pressText('section', h.last('section'), '甲街道司法所');
      await h.pressText('section', h.last('section'), '矫正官甲三');
      await h.pressText('section', h.last('section'), '乙街道司法所');
      await h.pressText('section', h.last('section'), '矫正官');
      const m = h.last('section');
      expect(m.text).toContain('人员：矫正官甲三\n从：甲街道司法所\n到：乙街道司法所\n岗位：矫正官');
      await h.pressText('section', m, '确认');
      expect(h.last('section').text).toContain('已将 矫正官甲三 调至 乙街道司法所。需重新指定责任矫正官的对象 1 人');
      const [row] = await h.db.sql`select unit_id from staff where id = ${staffId}`;
      expect(row!.unit_id).toBe(h.org.units.officeB);
      expect(await h.db.sql`select id from subjects where responsible_staff_id = ${staffId}`).toHaveLength(0);
      const seats = await h.db.sql`select unit_id, kind from positions where holder_staff_id = ${staffId}`;
      expect(seats).toEqual([{ unit_id: h.org.units.officeB, kind: 'officer' }]);
    });

    it('deactivates them: no seat, no more notices', async () => {
      await h.pressText('section', await h.send('section', '/admin'), '停用人员');
      await h.pressText('section', h.last('section'), '乙街道司法所');
      await h.pressText('section', h.last('section'), '矫正官甲三');
      await h.pressText('section', h.last('section'), '确认');
      expect(h.last('section').text).toContain('已停用 矫正官甲三：空出岗位 1 个，需重新指定责任矫正官的对象 0 人');
      const [row] = await h.db.sql`select active from staff where id = ${staffId}`;
      expect(row!.active).toBe(false);
      expect(await h.db.sql`select id from positions where holder_staff_id = ${staffId}`).toHaveLength(0);
      // Deactivated, the bot turns them away.
      const m = await h.send('stranger', '/mine');
      expect(m.text).toBe('您的账号已停用，如有疑问请联系社区矫正管理科。');
    });
  });
});
