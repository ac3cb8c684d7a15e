/**
 * A WeCom member binds with an invite and reports a type 四 incident through the form, on the real
 * database and the WeCom stand-in over HTTP: buttons pressed on cards, text typed. The same form as on
 * Telegram, in WeCom's form: a card per prompt (6 buttons at most, the rest behind 更多…), each next
 * prompt redrawn into the pressed card with its response_code, the incident's card with 处置清单.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, incidents, staff, wecomUsers } from '../../src/db/schema.js';
import { t } from '../../src/i18n/index.js';
import { buttonsOf, keyOf, optionsOf, startWecomHarness, textsOf, type WecomHarness } from './wecom-harness.js';

let w: WecomHarness;
const user = 'LiSi';

beforeAll(async () => {
  w = await startWecomHarness({ members: [user, 'stranger01'] });
});
afterAll(async () => w?.close());

const say = (key: Parameters<typeof t>[1], params?: Parameters<typeof t>[2]) => t('zh', key, params);

describe('binding in WeCom', () => {
  it('a stranger is refused politely, and it is audited without the userid', async () => {
    await w.act(() => w.s.driver.typeText('stranger01', '你好'));
    expect(textsOf(w.messagesOf('stranger01'))).toEqual([say('wecom.refuse.stranger')]);
    const [entry] = await w.h.db.db.select().from(auditLog).where(eq(auditLog.action, 'access.refused'));
    expect(entry).toMatchObject({ entity: 'wecom_user', data: { reason: 'stranger', channel: 'wecom' } });
    expect(JSON.stringify(entry)).not.toContain('stranger01');
  });

  it('a wrong code is refused; the invite binds the userid once, with a chat key no Telegram chat can have', async () => {
    await w.act(() => w.s.driver.typeText(user, '/start not-a-real-code'));
    expect(textsOf(w.messagesOf(user)).at(-1)).toBe(say('start.invite_invalid'));

    const code = await w.invite('office-a', 'officer');
    await w.act(() => w.s.driver.typeText(user, `/start ${code}`));
    const [bound] = await w.h.db.db.select().from(wecomUsers);
    expect(bound).toMatchObject({ userid: 'lisi' });
    expect(bound!.chatKey).toBeLessThanOrEqual(-1_000_000_000_000_000);
    const [person] = await w.h.db.db.select().from(staff).where(eq(staff.id, bound!.staffId));
    expect(person).toMatchObject({ telegramUserId: null, chatId: null, code: 'wc-lisi' });
    const texts = textsOf(w.messagesOf(user));
    expect(texts.some((x) => x.includes('绑定成功'))).toBe(true);

    // The same code again, from another member: used.
    w.s.driver.addUser('wangwu');
    await w.act(() => w.s.driver.typeText('wangwu', `/start ${code}`));
    expect(textsOf(w.messagesOf('wangwu')).at(-1)).toBe(say('start.invite_used'));
    // The bound member typing it again: already bound.
    await w.act(() => w.s.driver.typeText(user, `/start ${code}`));
    expect(textsOf(w.messagesOf(user))).toContain(say('wecom.start.already_bound'));
  });
});

describe('the report form on WeCom', () => {
  it('reports a type 四 incident: cards pressed, text typed, the card with 处置清单 at the end', async () => {
    const d = w.s.driver;
    await w.act(() => d.typeText(user, '/report'));
    let card = w.lastCard(user);
    // 11 types, the definitions and ✖ cancel: 5 on the card and 更多….
    expect(buttonsOf(card)).toHaveLength(6);
    expect(buttonsOf(card).at(-1)!.text).toBe(say('wecom.button.more'));
    const formTask = card.taskId;

    // Type 四 is on the card; the next prompt is drawn into the same card with its response_code.
    await w.act(() => d.pressButton(user, formTask, keyOf(d.cardOf(user, formTask), '四、')));
    expect(d.cardOf(user, formTask)!.renderings).toHaveLength(2);
    expect(JSON.stringify(d.cardOf(user, formTask)!.card)).toContain('姓名');

    // The subject is typed; the results are a new card (the old prompt greyed out).
    await w.act(() => d.typeText(user, '张三'));
    card = w.lastCard(user);
    expect(card.taskId).not.toBe(formTask);
    expect(d.cardOf(user, formTask)!.disabledLabel).toBeDefined();
    await w.act(() => d.pressButton(user, card.taskId, keyOf(d.cardOf(user, card.taskId), 'SQ-A-001')));

    // The time: typed.
    await w.act(() => d.typeText(user, '09:45'));
    // The place: a location sent from the phone.
    await w.act(() => d.sendLocation(user, { latitude: 30.31, longitude: 120.14, label: '和睦新村' }));
    card = w.lastCard(user);
    await w.act(() => d.pressButton(user, card.taskId, keyOf(d.cardOf(user, card.taskId), say('button.casualties_none'))));
    await w.act(() => d.typeText(user, '对象今日未按时报到，电话关机。'));
    card = w.lastCard(user);
    await w.act(() => d.pressButton(user, card.taskId, keyOf(d.cardOf(user, card.taskId), say('button.next'))));
    card = w.lastCard(user);
    await w.act(() => d.pressButton(user, card.taskId, keyOf(d.cardOf(user, card.taskId), say('button.submit_report'))));

    const [incident] = await w.h.db.db.select().from(incidents);
    expect(incident).toMatchObject({ type: 'absconding', latitude: 30.31, description: '对象今日未按时报到，电话关机。' });
    expect(textsOf(w.messagesOf(user)).some((x) => x.includes(incident!.number))).toBe(true);

    // The incident's card: counts and next due step, 处置清单 among its buttons.
    const incidentCard = w.lastCard(user);
    const shown = JSON.stringify(d.cardOf(user, incidentCard.taskId)!.card);
    expect(shown).toContain(incident!.number);
    const doneBefore = Number(/已完成 (\d+)\//.exec(shown)?.[1]);
    expect(doneBefore).toBeGreaterThanOrEqual(0);
    const steps = keyOf(d.cardOf(user, incidentCard.taskId), '处置清单');

    // 处置清单 opens the steps as a choice; picking one opens it on the incident's card.
    await w.act(() => d.pressButton(user, incidentCard.taskId, steps));
    const list = w.lastCard(user);
    expect(list.card!['card_type']).toBe('vote_interaction');
    const first = optionsOf(list).find((o) => o.text.startsWith('1.'))!;
    await w.act(() => d.submitVote(user, list.taskId, [first.id]));
    const focused = d.cardOf(user, incidentCard.taskId)!;
    expect(buttonsOf(focused).map((b) => b.text)).toEqual([say('button.step_done'), say('button.step_na'), say('button.step_note'), say('button.back')]);
    await w.act(() => d.pressButton(user, incidentCard.taskId, keyOf(focused, say('button.step_done'))));
    expect(JSON.stringify(d.cardOf(user, incidentCard.taskId)!.card)).toContain(`已完成 ${doneBefore + 1}/`);
  });
});
