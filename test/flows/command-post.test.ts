/**
 * The command loop on the Bot API stand-in: the section activates the plan from the card (the level
 * chosen from the bureau's list); the director, now 总指挥, posts a 指令 from his card; it reaches the
 * on-site command as a reply to the card with 收到; the on-site command presses it, the button goes, the
 * director is told, and every card shows who received it. A group member's card shows the group's duty.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandReceipts } from '../../src/db/schema.js';
import { pendingTimers } from '../../src/db/repositories/timer.repository.js';
import { MINUTE } from '../../src/domain/index.js';
import { commandPostPlugin } from '../../src/flows/command-post.flow.js';
import { t as message, type MessageKey, type Params } from '../../src/i18n/index.js';
import { plainText } from '../../src/i18n/markup.js';
import { reportIncident, setRole } from '../../src/services/incident.service.js';
import { activatePlan } from '../../src/services/command-post.service.js';
import { buttonData, buttonTexts, startBotHarness, type BotHarness } from '../helpers/bot-harness.js';
import { TG, type StaffKey } from '../helpers/fixtures.js';
import { deliver } from './deliver-notices.js';

let h: BotHarness;
const t = (key: MessageKey, params?: Params) => plainText(message('zh', key, params));

beforeAll(async () => {
  h = await startBotHarness({ plugins: [commandPostPlugin()] });
});
afterAll(async () => h?.close());

async function cardOf(incidentId: string, who: StaffKey): Promise<number | undefined> {
  const [row] = await h.db.sql`select message_id from incident_cards where incident_id = ${incidentId} and chat_id = ${TG[who]}`;
  return row ? Number(row.message_id) : undefined;
}

describe('the command loop in the chat', () => {
  it('activation, a 指令 down to the on-site command, and its 收到', async () => {
    const r = await reportIncident(h.deps, h.org.actor('officerA1'), {
      type: 'violent_crime',
      subjectId: h.org.subjects.a1,
      officeUnitId: h.org.units.officeA,
      discoveredAt: h.clock.now(),
      injured: 0,
      dead: 0,
      description: '对象持刀威胁他人',
    });
    const incident = r.incident;
    await deliver(h, 'incident_reported', ['section', 'headA']);
    const sectionCard = h.api.message(TG.section, (await cardOf(incident.id, 'section'))!);
    expect(buttonTexts(sectionCard)).toContain(t('button.activate'));
    // An office head may not activate the plan: the button is not on the card, and a forced press is refused.
    const headCard = h.api.message(TG.headA, (await cardOf(incident.id, 'headA'))!);
    expect(buttonTexts(headCard)).not.toContain(t('button.activate'));
    expect((await h.pressForced('headA', headCard!.message_id, `cpa:${incident.id}`)).text).toBe(t('refuse.not_permitted'));

    // 启动预案: the level from the bureau's list.
    h.clock.advance(2 * MINUTE);
    await h.pressText('section', sectionCard!, t('button.activate'));
    expect(h.last('section').text).toContain(`启动预案 ${incident.number}`);
    expect(buttonTexts(h.last('section'))).toEqual(expect.arrayContaining(['Ⅰ级响应', 'Ⅱ级响应', 'Ⅲ级响应']));
    await h.pressText('section', h.last('section'), 'Ⅱ级响应');
    expect(h.api.botMessages(TG.section).some((m) => m.text === t('activate.done', { level: 'Ⅱ级响应', commander: '局长甲', deputy: '副局长乙' }))).toBe(true);
    const sectionNow = h.api.message(TG.section, (await cardOf(incident.id, 'section'))!)!;
    expect(sectionNow.text).toContain('已启动预案：Ⅱ级响应（科员丙，');
    expect(sectionNow.text).toContain('总指挥：局长甲');
    expect(sectionNow.text).toContain('副总指挥：副局长乙');
    expect(buttonTexts(sectionNow)).not.toContain(t('button.activate'));

    // The on-site command and a group, as the section assigns them next.
    await setRole(h.deps, h.org.actor('section'), incident.id, 'onsite_command', h.org.staff.headA, true);
    await setRole(h.deps, h.org.actor('section'), incident.id, 'group_medical', h.org.staff.officerA1, true);
    const [assigned] = await deliver(h, 'role_assigned', 'officerA1');
    const officerCard = h.api.message(TG.officerA1, assigned!.reply_to_message_id!)!;
    expect(officerCard.text).toContain('🧭 您的职责（医疗救治组）：负责联系协调医院、实施伤员救治等工作');
    expect(h.api.message(TG.section, (await cardOf(incident.id, 'section'))!)!.text).not.toContain('🧭');

    // The director, 总指挥, gets the activation with his card, and posts a 指令 from it.
    const [activated] = await deliver(h, 'plan_activated', 'director');
    expect(activated!.text).toContain('科员丙 已启动应急预案（Ⅱ级响应）');
    const directorCard = h.api.message(TG.director, (await cardOf(incident.id, 'director'))!)!;
    expect(activated!.reply_to_message_id).toBe(directorCard.message_id);
    await h.pressText('director', directorCard, t('button.instruct'));
    await h.pressText('director', h.last('director'), '指令');
    await h.send('director', '立即疏散围观群众，确保人员安全');
    expect(h.api.botMessages(TG.director).some((m) => (m.text ?? '').includes('指令已发出（3 人）'))).toBe(true);

    // The on-site command: a reply to its card, with 收到.
    const [order] = await deliver(h, 'command_issued', 'headA');
    expect(order!.text).toContain('局长甲于');
    expect(order!.text).toContain('发出指令：立即疏散围观群众，确保人员安全');
    expect(order!.reply_to_message_id).toBe(await cardOf(incident.id, 'headA'));
    expect(buttonTexts(order)).toEqual([t('button.receipt')]);
    const receiptTimers = async () => (await pendingTimers(h.db.db, { incidentId: incident.id })).filter((x) => x.kind === 'command_receipt');
    expect(await receiptTimers()).toHaveLength(1);

    h.clock.advance(MINUTE);
    const receiptData = buttonData(order, t('button.receipt'));
    const answer = await h.press('headA', order!, receiptData);
    expect(answer.text).toBe(t('receipt.done'));
    expect(buttonTexts(h.api.message(TG.headA, order!.message_id))).toEqual([]);
    expect((await h.db.db.select().from(commandReceipts)).map((x) => x.staffId)).toEqual([h.org.staff.headA]);
    expect(await receiptTimers()).toEqual([]);
    // Pressed again (an old client): done already, nothing more recorded.
    expect((await h.pressForced('headA', order!.message_id, receiptData)).text).toBe(t('refuse.already_done'));
    expect(await h.db.db.select().from(commandReceipts)).toHaveLength(1);

    // The director hears it was received; the cards show who received it.
    const [told] = await deliver(h, 'command_receipted', 'director');
    expect(told!.text).toContain('所长甲 已收到您的指令：立即疏散围观群众，确保人员安全');
    // The section's notice, sent now, brings its card up to date first: it shows who received it.
    const [sectionOrder] = await deliver(h, 'command_issued', 'section');
    const redrawn = h.api.message(TG.section, sectionOrder!.reply_to_message_id!)!;
    expect(redrawn.text).toContain('局长甲的指令：立即疏散围观群众，确保人员安全');
    expect(redrawn.text).toContain('✅ 已收到：所长甲');
    // The section has 收到 on its own notice still, until it presses it.
    expect(buttonTexts(sectionOrder)).toEqual([t('button.receipt')]);
  });

  it('the on-site command sends a 处置建议 up from its card; only it has the button', async () => {
    const r = await reportIncident(h.deps, h.org.actor('officerA1'), {
      type: 'mass_incident',
      subjectId: h.org.subjects.a2,
      officeUnitId: h.org.units.officeA,
      discoveredAt: h.clock.now(),
      injured: 0,
      dead: 0,
      description: '对象参与聚集',
    });
    await setRole(h.deps, h.org.actor('section'), r.incident.id, 'onsite_command', h.org.staff.headA, true);
    await deliver(h, 'incident_reported', 'headA');
    const card = h.api.message(TG.headA, (await cardOf(r.incident.id, 'headA'))!)!;
    expect(buttonTexts(card)).toContain(t('button.propose'));
    expect(buttonTexts(card)).not.toContain(t('button.instruct'));
    await h.pressText('headA', card, t('button.propose'));
    await h.send('headA', '建议联系对象家属到场劝导');
    expect(h.api.botMessages(TG.headA).some((m) => (m.text ?? '').includes('处置建议已报指挥部（2 人）'))).toBe(true);
    const [proposal] = await deliver(h, 'proposal_sent', 'deputy');
    expect(proposal!.text).toContain('现场指挥部 所长甲 于');
    expect(buttonTexts(proposal)).toEqual([t('button.receipt')]);
    await h.pressText('deputy', proposal!, t('button.receipt'));
    expect(buttonTexts(h.api.message(TG.deputy, proposal!.message_id))).toEqual([]);
  });
  it('升级响应 from the card: the level, a reason, HQ told; a press from a card drawn before is refused in the presser’s language', async () => {
    const r = await reportIncident(h.deps, h.org.actor('officerA1'), {
      type: 'violent_crime',
      subjectId: h.org.subjects.a1,
      officeUnitId: h.org.units.officeA,
      discoveredAt: h.clock.now(),
      injured: 0,
      dead: 0,
      description: '对象持刀威胁他人',
    });
    const incident = r.incident;
    await activatePlan(h.deps, h.org.actor('director'), incident.id, 'II');
    await deliver(h, 'incident_reported', ['section', 'section2', 'headA']);
    await deliver(h, 'plan_activated', ['section', 'section2', 'headA']);
    const before = h.api.message(TG.section2, (await cardOf(incident.id, 'section2'))!)!;
    const sectionCard = h.api.message(TG.section, (await cardOf(incident.id, 'section'))!)!;
    expect(buttonTexts(sectionCard)).toContain(t('button.change_level'));
    expect(buttonTexts(sectionCard)).not.toContain(t('button.activate'));
    // The office head may not: no button, and a forced press is refused.
    const headCard = h.api.message(TG.headA, (await cardOf(incident.id, 'headA'))!)!;
    expect(buttonTexts(headCard)).not.toContain(t('button.change_level'));
    expect((await h.pressForced('headA', headCard.message_id, `cpl:${incident.id}:II`)).text).toBe(t('refuse.not_permitted'));

    h.clock.advance(5 * MINUTE);
    await h.pressText('section', sectionCard, t('button.change_level'));
    expect(h.last('section').text).toContain(`调整响应级别 ${incident.number}`);
    expect(buttonTexts(h.last('section'))).toEqual(expect.arrayContaining(['Ⅰ级响应', 'Ⅲ级响应']));
    expect(buttonTexts(h.last('section'))).not.toContain('Ⅱ级响应');
    await h.pressText('section', h.last('section'), 'Ⅰ级响应');
    await h.send('section', '围观人员增多，事态扩大');
    expect(h.api.botMessages(TG.section).some((m) => m.text === t('level.done', { direction: '升级', from: 'Ⅱ级响应', to: 'Ⅰ级响应' }))).toBe(true);
    const now = h.api.message(TG.section, (await cardOf(incident.id, 'section'))!)!;
    expect(now.text).toContain('当前响应级别：Ⅰ级响应（科员丙于');
    expect(now.text).toContain('由Ⅱ级响应升级：围观人员增多，事态扩大）');

    // HQ hears of it, as a reply to the card.
    const [told] = await deliver(h, 'level_changed', 'deputy');
    expect(told!.text).toContain('科员丙 将响应级别由Ⅱ级响应升级为Ⅰ级响应。理由：围观人员增多，事态扩大');
    expect(told!.reply_to_message_id).toBe(await cardOf(incident.id, 'deputy'));

    // The English-speaking member of the section presses the button of the card she held before: stale.
    const stale = buttonData(before, message('en', 'button.change_level'));
    expect(stale).toContain(':II');
    const answer = await h.press('section2', before, stale);
    expect(answer.text).toBe(message('en', 'level.stale_press', { level: 'Level I response' }));
    const [row] = await h.db.sql`select count(*)::int as n from response_level_changes where incident_id = ${incident.id}`;
    expect(row!.n).toBe(1);
  });
});
