/**
 * The conversation port on WeCom, on the real database and the stand-in: more buttons than a card
 * holds (the first 5 and 更多…, which opens the rest as a choice acting on the card; past 20, 更多…
 * again), a document (media upload and a file message), redraws of a message that was no card, and a
 * closed prompt (its buttons greyed out).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wecomConversation, type WecomConversation } from '../../src/channels/wecom/conversation.js';
import { identityByWecomUserId } from '../../src/db/repositories/wecom.repository.js';
import { button, type Keyboard } from '../../src/flows/ui.js';
import { t } from '../../src/i18n/index.js';
import { buttonsOf, keyOf, optionsOf, startWecomHarness, textsOf, type WecomHarness } from './wecom-harness.js';

let w: WecomHarness;
const user = 'sunqi';

beforeAll(async () => {
  w = await startWecomHarness({ members: [user] });
  const code = await w.invite('office-a', 'officer');
  await w.act(() => w.s.driver.typeText(user, `/start ${code}`));
});
afterAll(async () => w?.close());

async function conversation(): Promise<WecomConversation> {
  const identity = (await identityByWecomUserId(w.h.db.db, user))!;
  return wecomConversation({
    deps: w.h.deps,
    messenger: w.bot.messenger,
    chatKey: identity.chatKey,
    userId: user,
    who: { staff: identity.staff, actor: identity.actor },
    lang: 'zh',
    isPress: false,
    apiRoot: w.s.url,
  });
}

describe('more buttons than a card holds', () => {
  it('更多… opens the rest as a choice, and the choice acts on the card it came from', async () => {
    const d = w.s.driver;
    await w.act(() => d.typeText(user, '/report'));
    const form = w.lastCard(user);
    await w.act(() => d.pressButton(user, form.taskId, keyOf(d.cardOf(user, form.taskId), t('zh', 'wecom.button.more'))));
    const list = w.lastCard(user);
    expect(list.card!['card_type']).toBe('vote_interaction');
    // 13 buttons: 5 on the card, 8 in the choice (types 六 to 十一, the definitions, ✖ cancel).
    expect(optionsOf(list)).toHaveLength(8);
    const epidemic = optionsOf(list).find((o) => o.text.startsWith('九、'))!;
    await w.act(() => d.submitVote(user, list.taskId, [epidemic.id]));
    // The choice card says what was done; the form's card shows the next step.
    expect(d.cardOf(user, list.taskId)!.disabledLabel).toBe(t('zh', 'wecom.card.picked'));
    // The next step (the epidemic scenarios, with their definitions) is too long for a card: its text
    // came as a message, a new card took the form's message, and the old card points to it.
    expect(textsOf(w.messagesOf(user)).at(-1)).toContain(t('zh', 'report.ask_scenario'));
    const next = w.lastCard(user);
    expect(next.card!['card_type']).toBe('button_interaction');
    expect(next.taskId).not.toBe(form.taskId);
    expect(d.cardOf(user, form.taskId)!.disabledLabel).toBe(t('zh', 'wecom.card.replaced'));
    await w.act(() => d.typeText(user, '/cancel'));
  });

  it('past 20, the choice has 19 and 更多… again', async () => {
    const conv = await conversation();
    const rows: Keyboard = Array.from({ length: 30 }, (_, i) => [button(`选项${i + 1}`, { a: 'f', k: `k${i + 1}`, v: 1 })]);
    await conv.send('很多选项', rows);
    const card = w.lastCard(user);
    expect(buttonsOf(card).map((b) => b.text)).toEqual(['选项1', '选项2', '选项3', '选项4', '选项5', t('zh', 'wecom.button.more')]);
    await w.act(() => w.s.driver.pressButton(user, card.taskId, keyOf(card, t('zh', 'wecom.button.more'))));
    const first = w.lastCard(user);
    expect(optionsOf(first).map((o) => o.text)).toEqual([...Array.from({ length: 19 }, (_, i) => `选项${i + 6}`), t('zh', 'wecom.button.more')]);
    await w.act(() => w.s.driver.submitVote(user, first.taskId, [optionsOf(first).at(-1)!.id]));
    const second = w.lastCard(user);
    expect(second.taskId).not.toBe(first.taskId);
    expect(optionsOf(second).map((o) => o.text)).toEqual(Array.from({ length: 6 }, (_, i) => `选项${i + 25}`));
  });
});

describe('what else a flow does', () => {
  it('sends a document as an upload and a file message, its caption first', async () => {
    const conv = await conversation();
    await conv.sendDocument({ filename: '书面报告.docx', data: Buffer.from('PK\u0003\u0004 a docx body') }, '<b>书面报告</b>');
    const [caption, file] = w.messagesOf(user).slice(-2);
    expect(caption).toMatchObject({ msgtype: 'markdown', content: '**书面报告**' });
    expect(file).toMatchObject({ msgtype: 'file', file: { filename: '书面报告.docx' } });
  });

  it('a redraw of a message that was no card sends it anew; a closed prompt has its buttons greyed out', async () => {
    const conv = await conversation();
    const plain = await conv.send('一条消息');
    const before = w.messagesOf(user).length;
    await conv.edit(plain, '改写后的消息', [[button('✔ 确认', { a: 'nop' })]]);
    expect(w.messagesOf(user)).toHaveLength(before + 1);
    expect(JSON.stringify(w.lastCard(user).card)).toContain('改写后的消息');

    const prompt = await conv.send('请选择', [[button('甲', { a: 'nop' })]]);
    const task = w.lastCard(user).taskId;
    await conv.retire(prompt, t('zh', 'cancelled'));
    expect(w.s.driver.cardOf(user, task)!.disabledLabel).toBe(t('zh', 'cancelled'));
  });

  it('the help, which has formatting, is markdown', async () => {
    await w.act(() => w.s.driver.typeText(user, '/help'));
    const help = w.messagesOf(user).at(-1)!;
    expect(help.msgtype).toBe('markdown');
    expect(textsOf([help])[0]).toContain('/report');
    expect(textsOf([help])[0]).not.toMatch(/<\/?b>/);
  });
});
