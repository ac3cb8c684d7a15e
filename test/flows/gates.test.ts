/**
 * The gates every update passes, end to end: strangers and deactivated staff, oversized input, the same
 * update delivered twice (one after the other and at the same moment), the webhook secret, invites,
 * the language, optional API calls that fail, the error edge, groups, and long polling.
 */
import { bindDutyGroup, issueGroupCode } from '../../src/services/duty-group.service.js';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invites, staff } from '../../src/db/schema.js';
import { buttonTexts, startBotHarness, type BotHarness } from '../helpers/bot-harness.js';
import { TG } from '../helpers/fixtures.js';

let h: BotHarness;

beforeAll(async () => {
  h = await startBotHarness();
});
afterAll(async () => {
  await h?.close();
});

async function refusals(telegramId: number) {
  return h.db.sql`select data from audit_log where action = 'access.refused' and actor_telegram_id = ${telegramId} order by id`;
}

async function postWebhook(update: object, secret: string | undefined) {
  return fetch(h.webhookUrl!, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(secret === undefined ? {} : { 'x-telegram-bot-api-secret-token': secret }) },
    body: JSON.stringify(update),
  });
}

function textUpdate(updateId: number, userId: number, text: string, messageId = 900_000 + updateId) {
  return {
    update_id: updateId,
    message: { message_id: messageId, date: Math.floor(Date.now() / 1000), chat: { id: userId, type: 'private' }, from: { id: userId, is_bot: false, first_name: 'x' }, text, ...(text.startsWith('/') ? { entities: [{ type: 'bot_command', offset: 0, length: text.split(' ')[0]!.length }] } : {}) },
  };
}

// One harness and one database for the whole file, and steps that stand on what the steps before
// them left: they keep their order when the suite is shuffled (the files still run in any order).
describe('gates, in order', { shuffle: false }, () => {
  describe('who may talk to the bot', () => {
    it('a stranger gets a polite refusal and nothing else, and it is audited', async () => {
      const m = await h.send('stranger', '/report');
      expect(m.text).toContain('仅供司法所和区司法局工作人员使用');
      expect(h.api.botMessages(TG.stranger)).toHaveLength(1);
      const [flow] = await h.db.sql`select count(*)::int as n from flow_states where chat_id = ${TG.stranger}`;
      expect(flow!.n).toBe(0);
      expect((await refusals(TG.stranger)).map((r) => r.data.reason)).toEqual(['stranger']);
      // A button press from a stranger is refused in the answer, not with a new message.
      const answer = await h.pressForced('stranger', m.message_id, 'list::0');
      expect(answer.text).toContain('仅供');
      expect(answer.show_alert).toBe(true);
      expect(h.api.botMessages(TG.stranger)).toHaveLength(1);
    });

    it('a deactivated officer is refused, in their language, and audited', async () => {
      await h.db.sql`update staff set active = false where id = ${h.org.staff.officerA2}`;
      const m = await h.send('officerA2', '/incidents');
      expect(m.text).toBe('Your account has been deactivated. Please contact the corrections section.');
      expect((await refusals(TG.officerA2)).map((r) => r.data.reason)).toEqual(['inactive']);
      await h.db.sql`update staff set active = true where id = ${h.org.staff.officerA2}`;
      const back = await h.send('officerA2', '/incidents');
      expect(back.text).toContain('No open incidents');
    });
  });

  describe('input size', () => {
    it('a text over 4096 characters gets a clear answer and changes nothing', async () => {
      let m = await h.send('officerA1', '/report');
      await h.pressText('officerA1', m, '十一、其他');
      await h.pressText('officerA1', h.last('officerA1'), '不明');
      await h.pressText('officerA1', h.last('officerA1'), '跳过');
      await h.pressText('officerA1', h.last('officerA1'), '现在');
      m = await h.send('officerA1', '小区门口');
      await h.pressText('officerA1', m, '无伤亡');
      const [before] = await h.db.sql`select step, data, updated_at from flow_states where chat_id = ${TG.officerA1}`;
      m = await h.send('officerA1', '长'.repeat(5000));
      expect(m.text).toBe('消息过长（最多 4096 字），请精简后重新发送。');
      const [after] = await h.db.sql`select step, data, updated_at from flow_states where chat_id = ${TG.officerA1}`;
      expect(after).toEqual(before);
      expect(before!.step).toBe('description');
      await h.send('officerA1', '/cancel');
    });
  });

  describe('the same update twice', () => {
    it('is handled once when Telegram delivers it again later', async () => {
      const before = h.api.botMessages(TG.headA).length;
      const update = textUpdate(7_000_001, TG.headA, '/help');
      h.api.injectUpdate(update);
      await h.idle();
      h.api.injectUpdate(update);
      await h.idle();
      expect(h.api.botMessages(TG.headA).length - before).toBe(1);
    });

    it('is handled once when delivered twice at the same moment', async () => {
      const before = h.api.botMessages(TG.headB).length;
      const update = textUpdate(7_000_002, TG.headB, '/help');
      const answers = await Promise.all([postWebhook(update, h.webhookSecret), postWebhook(update, h.webhookSecret), postWebhook(update, h.webhookSecret)]);
      expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
      await h.idle();
      expect(h.api.botMessages(TG.headB).length - before).toBe(1);
      const [row] = await h.db.sql`select count(*)::int as n from processed_updates where update_id = 7000002`;
      expect(row!.n).toBe(1);
    });
  });

  describe('the webhook secret', () => {
    it('a call without it, or with a wrong one, gets 403 and changes nothing', async () => {
      const before = h.api.botMessages(TG.officerB1).length;
      const update = textUpdate(7_000_100, TG.officerB1, '/report');
      expect((await postWebhook(update, undefined)).status).toBe(403);
      expect((await postWebhook(update, 'not-the-secret-token')).status).toBe(403);
      expect((await postWebhook(update, `${h.webhookSecret}x`)).status).toBe(403);
      await h.idle();
      expect(h.api.botMessages(TG.officerB1).length).toBe(before);
      const [processed] = await h.db.sql`select count(*)::int as n from processed_updates where update_id = 7000100`;
      expect(processed!.n).toBe(0);
      const [flow] = await h.db.sql`select count(*)::int as n from flow_states where chat_id = ${TG.officerB1}`;
      expect(flow!.n).toBe(0);
      // Each refusal is in the audit trail, with its reason and nothing of the payload.
      const refused = await h.db.sql`select data from audit_log where action = 'telegram.webhook.refused' order by id`;
      expect(refused.map((r) => (r.data as { reason: string }).reason).slice(-3)).toEqual(['no_secret_token', 'wrong_secret_token', 'wrong_secret_token']);
      expect(JSON.stringify(refused.map((r) => r.data))).not.toContain('/report');
      // With the secret it goes through.
      expect((await postWebhook(update, h.webhookSecret)).status).toBe(200);
      await h.idle();
      expect(h.api.botMessages(TG.officerB1).length).toBe(before + 1);
      await h.send('officerB1', '/cancel');
    });
  });

  describe('invites (/start <code>)', () => {
    async function invite(opts: { unitId: string; positionKind: string; staffId?: string; expiresInMs?: number }) {
      const code = `inv${randomUUID().replace(/-/g, '').slice(0, 12)}`;
      await h.db.db.insert(invites).values({
        code,
        unitId: opts.unitId,
        positionKind: opts.positionKind,
        staffId: opts.staffId ?? null,
        createdBy: 'test',
        expiresAt: new Date(h.clock.now().getTime() + (opts.expiresInMs ?? 3_600_000)),
      });
      return code;
    }

    it('binds a named staff record, once; a used, expired or unknown code is refused', async () => {
      const [person] = await h.db.db.insert(staff).values({ code: 'new-officer', name: '新矫正官', unitId: h.org.units.officeB }).returning();
      await h.db.sql`insert into positions (code, kind, unit_id, holder_staff_id) values ('pos-new-officer', 'officer', ${h.org.units.officeB}, ${person!.id})`;
      h.api.addUser({ id: 4001, first_name: 'Newbie', language_code: 'zh-hans' });
      const code = await invite({ unitId: h.org.units.officeB, positionKind: 'officer', staffId: person!.id });
      const m = await h.send(4001, `/start ${code}`);
      const texts = h.api.botMessages(4001).map((x) => x.text);
      expect(texts[0]).toBe('✅ 绑定成功：新矫正官，乙街道司法所。');
      expect(m.text).toContain('/report');
      const [bound] = await h.db.sql`select telegram_user_id::int, chat_id::int, language from staff where id = ${person!.id}`;
      expect(bound).toMatchObject({ telegram_user_id: 4001, chat_id: 4001, language: 'zh' });
      // The person's menu is set for their chat.
      expect(h.api.commands({ type: 'chat', chat_id: 4001 }).map((c) => c.command)).toContain('report');

      h.api.addUser({ id: 4002, first_name: 'Other' });
      expect((await h.send(4002, `/start ${code}`)).text).toContain('已被使用');
      const expired = await invite({ unitId: h.org.units.officeB, positionKind: 'officer', expiresInMs: -1000 });
      expect((await h.send(4002, `/start ${expired}`)).text).toContain('已过期');
      expect((await h.send(4002, '/start nosuchcode123')).text).toContain('邀请码无效');
      expect((await h.send(4002, '/start')).text).toContain('仅供'); // no code: a stranger
    });

    it('without a named person, creates the staff record and its seat, in the Telegram language', async () => {
      h.api.addUser({ id: 4003, first_name: 'Grace', last_name: 'Hopper', language_code: 'en-GB' });
      const code = await invite({ unitId: h.org.units.section, positionKind: 'section' });
      await h.send(4003, `/start ${code}`);
      expect(h.api.botMessages(4003)[0]!.text).toBe('✅ Linked: Grace Hopper, Corrections Section.');
      const [created] = await h.db.sql`select s.id, s.language, p.kind from staff s join positions p on p.holder_staff_id = s.id where s.telegram_user_id = 4003`;
      expect(created).toMatchObject({ language: 'en', kind: 'section' });
      // A section member sees every office's incidents.
      const list = await h.send(4003, '/incidents');
      expect(list.text).toMatch(/Open incidents|No open incidents/);
      const [audit] = await h.db.sql`select data from audit_log where action = 'invite.redeemed' and actor_telegram_id = 4003`;
      expect(audit!.data.how).toBe('created');
    });
  });

  describe('language, menus and the error edge', () => {
    it('/language switches and stores the language, and the menu follows', async () => {
      const m = await h.send('headB', '/language');
      await h.pressText('headB', m, 'English');
      const [row] = await h.db.sql`select language from staff where id = ${h.org.staff.headB}`;
      expect(row!.language).toBe('en');
      expect(h.api.message(TG.headB, m.message_id)!.text).toBe('Language set to English.');
      const help = await h.send('headB', '/help');
      expect(help.text).toContain('You are: 所长乙 (office head');
      expect(h.api.commands({ type: 'chat', chat_id: TG.headB }).find((c) => c.command === 'report')?.description).toBe('Report an incident');
      await h.pressText('headB', await h.send('headB', '/language'), '中文');
    });

    it('default menus (before binding) are set in Chinese and English at start', () => {
      expect(h.api.commands('default', '').map((c) => c.command)).toEqual(['help', 'language', 'cancel']);
      expect(h.api.commands('default', 'en')[0]!.description).toBe('How to use this bot');
    });

    it('each person\'s menu and /help follow their position: the director has no /report, the section has the after-incident commands', async () => {
      await h.send('director', '/start');
      const director = h.api.commands({ type: 'chat', chat_id: TG.director }).map((c) => c.command);
      expect(director).not.toContain('report');
      expect(director).toEqual(expect.arrayContaining(['incidents', 'wr', 'release', 'stats', 'register', 'finding']));
      const help = h.last('director').text;
      expect(help).not.toContain('/report');
      expect(help).toContain('/wr');
      await h.send('section', '/start');
      const section = h.api.commands({ type: 'chat', chat_id: TG.section }).map((c) => c.command);
      expect(section).toEqual(expect.arrayContaining(['report', 'wr', 'away', 'subjects', 'screen', 'release', 'stats', 'register', 'drill', 'counties']));
      for (const command of ['/wr', '/stats', '/drill', '/release', '/screen', '/register']) expect(h.last('section').text).toContain(command);
      await h.send('officerA1', '/start');
      const officer = h.api.commands({ type: 'chat', chat_id: TG.officerA1 }).map((c) => c.command);
      expect(officer).not.toContain('drill');
      expect(officer).not.toContain('stats');
    });

    it('setMyCommands answering 500 does not stop the bot', async () => {
      h.api.failNext('setMyCommands', { status: 500, times: 5 });
      await h.restart();
      const m = await h.send('headA', '/help');
      expect(m.text).toContain('/report');
      expect(h.logs.some((l) => l.msg === 'optional Bot API call failed; carrying on')).toBe(true);
      h.api.clearFaults();
    });

    it('an unexpected failure gets a short apology; the error goes to the log, not the chat', async () => {
      h.api.failNext('sendMessage', { status: 500, times: 1 });
      const m = await h.send('headA', '/help');
      expect(m.text).toBe('抱歉，处理时出错了，请稍后再试。您的操作未被保存的部分不会生效。');
      const logged = h.logs.find((l) => l.msg === 'update handling failed') as { err: { message: string; method?: string }; updateId: number };
      expect(logged.err.message).toContain('500');
      expect(logged.err.method).toBe('sendMessage');
      // What the bot was sending (chat text, maybe personal data) is not in the log.
      expect(JSON.stringify(logged)).not.toContain('社区矫正突发事件应急处置');
    });

    it('in a group, commands point to the private chat and chatter is ignored', async () => {
      h.api.addGroup({ id: -100500, title: '应急群', memberIds: [TG.officerA1, TG.headA] });
      const before = h.api.botMessages(-100500).length;
      h.api.sendText(TG.officerA1, '大家好', { chatId: -100500 });
      await h.idle();
      expect(h.api.botMessages(-100500).length).toBe(before);
      // A group no unit bound is told so once (duty groups), and then nothing.
      h.api.sendText(TG.officerA1, '/report@corrections_test_bot', { chatId: -100500 });
      await h.idle();
      expect(h.api.lastBotMessage(-100500)?.text).toContain('本群尚未绑定');
      const told = h.api.botMessages(-100500).length;
      h.api.sendText(TG.officerA1, '/report@corrections_test_bot', { chatId: -100500 });
      await h.idle();
      expect(h.api.botMessages(-100500).length).toBe(told);
      // Bound as the office's group, commands point to the private chat.
      const { code } = await issueGroupCode(h.deps, h.org.actor('headA'));
      await bindDutyGroup(h.deps, h.org.actor('headA'), code, -100500);
      h.api.sendText(TG.officerA1, '/report@corrections_test_bot', { chatId: -100500 });
      await h.idle();
      expect(h.api.lastBotMessage(-100500)?.text).toBe('请在与机器人的私聊中使用此功能。');
    });

    it('an unknown text outside a form gets a hint', async () => {
      const m = await h.send('officerA1', '在吗');
      expect(m.text).toContain('/report');
      expect(buttonTexts(m)).toEqual([]);
    });
  });

  describe('long polling', () => {
    it('runs the same bot by getUpdates', async () => {
      // A database of its own: update ids restart at 1 with a new Bot API server, and ids are remembered.
      const p = await startBotHarness({ mode: 'polling' });
      try {
        const m = await p.send('director', '/help');
        expect(m.text).toContain('局长');
        expect(m.text).not.toContain('/report'); // leaders do not report; they see and steer
        expect(p.api.webhookInfo().url).toBe('');
      } finally {
        await p.close();
      }
    });
  });
});
