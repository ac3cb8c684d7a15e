/**
 * The sign-off chain through the bot, over HTTP against the Bot API stand-in: the office head edits a
 * section and submits, the section approves, the deputy director returns it with a comment, it comes back
 * up, the director (the bureau's last approver) approves it finally, and the .docx the chat receives carries
 * the sign-offs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { and, eq } from 'drizzle-orm';
import { createTelegramGateway } from '../../src/channels/telegram/telegram-gateway.js';
import { incidents, outbox } from '../../src/db/schema.js';
import { sendOutboxMessage } from '../../src/services/notification.service.js';
import { afterIncidentPlugin } from '../../src/flows/after-incident/index.js';
import { startBotHarness, buttonTexts, TEST_BOT_TOKEN, type BotHarness } from '../helpers/bot-harness.js';
import { ManualClock } from '../helpers/fixtures.js';
import { closedIncident, docxText } from './helpers.js';
import { telegramNoticeChannel } from '../../src/channels/telegram/notice-channel.js';

let h: BotHarness;
const clock = new ManualClock(new Date('2026-11-29T02:00:00Z'));

beforeAll(async () => {
  h = await startBotHarness({ clock });
  h.deps.plugins = [afterIncidentPlugin()];
  await h.restart();
});
afterAll(async () => h?.close());

// The second step stands on the report the first one approved: the steps keep their order.
describe('the written report through the bot', { shuffle: false }, () => {
  it('is edited, submitted, returned one level with a comment, approved up the chain and downloaded', async () => {
    const { incident } = await closedIncident(h.deps, h.org, clock);

    // The office head finds it waiting, opens the card, rewrites the cause.
    const list = await h.send('headA', '/wr');
    expect(list.text).toContain('待您处理的书面报告 1 份');
    await h.pressText('headA', list, incident.number);
    let card = h.last('headA');
    expect(card.text).toContain(`书面报告 · 事件 ${incident.number}`);
    expect(card.text).toContain('当前：司法所 · 第 1 版');
    expect(buttonTexts(card)).toEqual(expect.arrayContaining(['✏️ 原因分析', '📤 提交至社区矫正管理科', '📎 下载 Word']));
    await h.pressText('headA', card, '✏️ 原因分析');
    expect(h.last('headA').text).toContain('对象对公益活动安排不满'); // the current text, to rewrite
    const saved = await h.send('headA', '对象对公益活动安排不满，且未及时疏导');
    expect(saved.text).toContain('第 2 版');
    expect(saved.text).toContain('未及时疏导');
    card = saved;

    clock.advance(60_000);
    await h.pressText('headA', card, '📤 提交');
    expect(h.last('headA').text).toContain('当前：社区矫正管理科');
    expect((await h.db.db.select({ s: incidents.status }).from(incidents).where(eq(incidents.id, incident.id)))[0]!.s).toBe('report_submitted');

    // The section approves from its own list.
    clock.advance(60_000);
    await h.pressText('section', await h.send('section', '/wr'), incident.number);
    await h.pressText('section', h.last('section'), '✅ 同意');
    expect(h.last('section').text).toContain('当前：分管副局长');

    // The deputy director returns it with a comment: it goes back to the section only.
    clock.advance(60_000);
    const deputyCard = await h.send('deputy', `/wr ${incident.number}`);
    expect(buttonTexts(deputyCard)).not.toContain('✏️ 原因分析');
    await h.pressText('deputy', deputyCard, '↩️ 退回');
    expect(h.last('deputy').text).toContain('请发送退回意见');
    const returned = await h.send('deputy', '经验教训部分请结合本所实际');
    expect(returned.text).toContain('当前：社区矫正管理科');
    expect(returned.text).toContain('退回修改');
    expect(returned.text).toContain('经验教训部分请结合本所实际');
    // The section is told, with the comment read from the sign-off: the queued notice carries ids only.
    const [notice] = await h.db.db.select().from(outbox).where(and(eq(outbox.kind, 'report_returned'), eq(outbox.incidentId, incident.id)));
    expect(JSON.stringify(notice!.params)).not.toContain('经验教训');
    const gateway = createTelegramGateway({ apiRoot: h.api.url, token: TEST_BOT_TOKEN });
    expect(await sendOutboxMessage({ ...h.deps, channel: telegramNoticeChannel(gateway, h.deps) }, notice!.id)).toMatchObject({ status: 'sent' });
    expect(h.last('section').text).toContain(`事件 ${incident.number} 的书面报告被退回修改。经验教训部分请结合本所实际`);
    // A paper waiting for someone opens with one tap: the notice's button shows the report.
    const paper = h.last('section');
    expect(buttonTexts(paper)).toEqual(['📄 打开书面报告']);
    await h.pressText('section', paper, '📄 打开书面报告');
    expect(h.last('section').text).toContain(`书面报告 · 事件 ${incident.number}`);

    // The section fixes the lessons itself and sends it back up.
    clock.advance(60_000);
    const sectionCard = await h.send('section', `/wr ${incident.number}`);
    await h.pressText('section', sectionCard, '✏️ 经验教训');
    const fixed = await h.send('section', '活动前谈话教育不足；本所将建立活动前风险评估');
    expect(fixed.text).toContain('第 3 版');
    await h.pressText('section', fixed, '✅ 同意');

    clock.advance(60_000);
    const deputyAgain = await h.send('deputy', `/wr ${incident.number}`);
    await h.pressText('deputy', deputyAgain, '✅ 同意');
    // The director is the bureau's last approver: his approval is the final 审定.
    clock.advance(60_000);
    const directorCard = await h.send('director', `/wr ${incident.number}`);
    expect(directorCard.text).not.toContain('上一级社区矫正机构');
    const answer = await h.pressText('director', directorCard, '✅ 审定通过');
    expect(answer.text).toBe('书面报告已审定通过');
    expect(h.last('director').text).toContain('已逐级审定 · 第 3 版');
    expect((await h.db.db.select({ s: incidents.status }).from(incidents).where(eq(incidents.id, incident.id)))[0]!.s).toBe('report_approved');

    // The office head downloads the approved report.
    const final = await h.send('headA', `/wr ${incident.number}`);
    await h.pressText('headA', final, '📎 下载 Word');
    const doc = h.last('headA');
    expect(doc.document?.file_name).toBe(`written-report-${incident.number}-v3.docx`);
    const text = docxText(h.api.fileContent(doc.document!.file_id)!);
    expect(text).toContain('定稿：第 3 版');
    expect(text).toContain('本所将建立活动前风险评估');
    expect(text).toMatch(/分管副局长\t副局长乙\t退回修改\t经验教训部分请结合本所实际\t2026年11月29日 10:3\d\t2/);
    // The director's approval is the final 审定, not another 同意.
    expect(text).toMatch(/局长\t局长甲\t审定\t\t2026年11月29日 10:\d\d\t3/);
  });

  it('refuses a level that is not yours, and an officer from another office sees nothing', async () => {
    const { incident } = await closedIncident(h.deps, h.org, clock);
    const card = await h.send('headA', `/wr ${incident.number}`);
    const submit = card.reply_markup!.inline_keyboard.flat().find((b) => b.text.startsWith('📤'))!.callback_data!;
    const refused = await h.pressForced('officerA1', card.message_id, submit);
    expect(refused.show_alert).toBe(true);
    expect(refused.text).toBe('此环节不由您签批。');
    expect((await h.send('officerB1', `/wr ${incident.number}`)).text).toContain('没有书面报告');
  });
});
