/**
 * The stand-in acting as members: each action is a signed, encrypted callback that reaches a tiny
 * receiver built on src/channels/wecom/callback.ts, as the product's callback URL will be. Also what
 * WeCom does on its side — retries of an unanswered callback, passive replies — and what it never
 * does: replays, forged signatures, old timestamps, another corp's seal, junk.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { WecomApi, type TemplateCard } from '../../src/channels/wecom/index.js';
import { MemberActionRefused, type WecomStandInOptions } from '../../src/sandbox/wecom/index.js';
import { buttonCard, callbackConfigFor, manualClock, standIn, startReceiver } from './helpers.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function setup(opts: WecomStandInOptions = {}) {
  const clock = manualClock();
  const s = await standIn(cleanups, { clock, users: ['lisi', 'wangwu'], limits: false, ...opts });
  const receiver = await startReceiver(callbackConfigFor(s, clock), cleanups);
  s.driver.setCallbackUrl(receiver.url);
  const api = new WecomApi({ apiRoot: s.url, corpId: s.config.corpId, secret: s.config.corpSecret, agentId: s.config.agentId, clock });
  return { clock, s, receiver, api, driver: s.driver };
}

const voteCard: TemplateCard = {
  card_type: 'vote_interaction',
  task_id: 'steps-1',
  main_title: { title: '处置清单 · 2026-0001' },
  checkbox: {
    question_key: 'steps',
    mode: 1,
    option_list: [
      { id: 's1', text: '核实对象位置' },
      { id: 's2', text: '通知家属' },
      { id: 's3', text: '报告公安' },
    ],
  },
  submit_button: { text: '提交', key: 'steps-submit' },
};

const multipleCard: TemplateCard = {
  card_type: 'multiple_interaction',
  task_id: 'casualties-1',
  main_title: { title: '人员伤亡' },
  select_list: [
    { question_key: 'kind', title: '伤亡', selected_id: 'none', option_list: [{ id: 'hurt', text: '有人受伤' }, { id: 'none', text: '无伤亡' }] },
    { question_key: 'count', title: '人数', option_list: [{ id: 'c1', text: '1' }, { id: 'c2', text: '2' }] },
  ],
  submit_button: { text: '提交', key: 'casualties-submit' },
};

describe('the callback URL is verified', () => {
  it('the GET carries an encrypted echostr that the receiver decrypts and returns', async () => {
    const { driver, receiver } = await setup();
    const v = await driver.verifyCallbackUrl();
    expect(v.echoed).toBe(true);
    expect(v.status).toBe(200);
    expect(receiver.refused).toEqual([]);
  });
});

describe('a member acts; the receiver gets it, typed', () => {
  it('typing text', async () => {
    const { driver, receiver, s } = await setup();
    const d = await driver.typeText('lisi', '14:30');
    expect(d).toMatchObject({ status: 200, attempts: [{ status: 200 }] });
    expect(receiver.handled).toEqual([expect.objectContaining({ kind: 'text', from: 'lisi', content: '14:30', agentId: s.config.agentId })]);
  });

  it('sending a location, a picture and a voice note', async () => {
    const { driver, receiver } = await setup();
    await driver.sendLocation('lisi', { latitude: 30.31, longitude: 120.14, label: '和睦新村 3 幢' });
    const image = await driver.sendMedia('lisi', 'image');
    const voice = await driver.sendMedia('lisi', 'voice');
    expect(receiver.handled).toEqual([
      expect.objectContaining({ kind: 'location', latitude: 30.31, longitude: 120.14, label: '和睦新村 3 幢' }),
      expect.objectContaining({ kind: 'media', mediaType: 'image', mediaId: image.mediaId }),
      expect.objectContaining({ kind: 'media', mediaType: 'voice', mediaId: voice.mediaId, format: 'amr' }),
    ]);
  });

  it('pressing a card’s button', async () => {
    const { driver, receiver, api } = await setup();
    await api.sendTemplateCard('lisi', buttonCard('inc-9-a', 3));
    await driver.pressButton('lisi', 'inc-9-a', 'k3');
    expect(receiver.handled.at(-1)).toMatchObject({ kind: 'card_event', eventKey: 'k3', taskId: 'inc-9-a', cardType: 'button_interaction', responseCode: expect.any(String), selections: [] });
  });

  it('submitting a vote card and a multiple-choice card', async () => {
    const { driver, receiver, api } = await setup();
    await api.sendTemplateCard('lisi', voteCard);
    await api.sendTemplateCard('lisi', multipleCard);
    await driver.submitVote('lisi', 'steps-1', ['s1', 's3']);
    await driver.submitMultiple('lisi', 'casualties-1', { count: 'c2' });
    expect(receiver.handled).toEqual([
      expect.objectContaining({ kind: 'card_event', eventKey: 'steps-submit', cardType: 'vote_interaction', selections: [{ questionKey: 'steps', optionIds: ['s1', 's3'] }] }),
      expect.objectContaining({
        kind: 'card_event',
        eventKey: 'casualties-submit',
        cardType: 'multiple_interaction',
        // `kind` left as it was: its selected_id.
        selections: [
          { questionKey: 'kind', optionIds: ['none'] },
          { questionKey: 'count', optionIds: ['c2'] },
        ],
      }),
    ]);
  });

  it('opening the application and subscribing are authentic and ignored', async () => {
    const { driver, receiver } = await setup();
    await driver.enterApp('wangwu');
    await driver.subscribe('wangwu');
    expect(receiver.handled.map((m) => (m.kind === 'ignored' ? m.event : m.kind))).toEqual(['enter_agent', 'subscribe']);
  });

  it('a member cannot press what is not there', async () => {
    const { driver, api } = await setup();
    await api.sendTemplateCard('lisi', buttonCard('inc-10-a'));
    await api.sendTemplateCard('lisi', voteCard);
    expect(() => driver.pressButton('lisi', 'inc-10-a', 'nope')).toThrow(MemberActionRefused);
    expect(() => driver.pressButton('wangwu', 'inc-10-a', 'k1')).toThrow(MemberActionRefused);
    expect(() => driver.submitVote('lisi', 'inc-10-a', ['s1'])).toThrow(MemberActionRefused);
    expect(() => driver.submitVote('lisi', 'steps-1', ['s9'])).toThrow(MemberActionRefused);
  });
});

describe('WeCom’s retries and passive replies', () => {
  it('an answer later than the timeout is sent again unchanged; the receiver sees one message', async () => {
    const { driver, receiver } = await setup({ callbackTimeoutMs: 100, callbackRetries: 2 });
    receiver.delayMs = 250;
    const d = await driver.typeText('lisi', '慢');
    expect(d.attempts).toHaveLength(3);
    expect(d.attempts.every((a) => a.status === 0 && a.error?.includes('100 ms'))).toBe(true);
    expect(receiver.opened).toHaveLength(3);
    expect(new Set(receiver.opened.map((o) => o.dedupKey)).size).toBe(1);
    expect(receiver.handled).toHaveLength(1);
  });

  it('a passive text reply in the answer reaches the member', async () => {
    const { driver, receiver } = await setup();
    receiver.replyText = '已收到';
    const d = await driver.typeText('lisi', '你好');
    expect(d.reply).toEqual({ msgType: 'text', content: '已收到' });
    expect(driver.messagesOf('lisi')).toEqual([expect.objectContaining({ msgtype: 'passive_text', content: '已收到' })]);
  });
});

describe('what WeCom never sends is refused', () => {
  it('a replay is signed and fresh, so it opens — and its key marks it a duplicate', async () => {
    const { driver, receiver, api } = await setup();
    await api.sendTemplateCard('lisi', buttonCard('inc-11-a'));
    const press = await driver.pressButton('lisi', 'inc-11-a', 'k1');
    const replayed = await driver.replay(press.id);
    expect(replayed).toMatchObject({ status: 200, query: press.query, body: press.body });
    expect(receiver.opened.map((o) => o.duplicate)).toEqual([false, true]);
    expect(receiver.handled).toHaveLength(1);
  });

  it('a forged signature, an old timestamp, another corp’s seal and junk, each with its reason', async () => {
    const { driver, receiver } = await setup();
    expect(await driver.forgeBadSignature('lisi', 'x')).toMatchObject({ status: 403, attempts: [{ status: 403 }] });
    expect((await driver.sendStale('lisi', 'x', 3600)).status).toBe(403);
    expect((await driver.sendStale('lisi', 'x', -3600)).status).toBe(403);
    expect((await driver.sendForOtherCorp('lisi', 'x')).status).toBe(403);
    expect((await driver.sendRawPlaintext('<xml><MsgType>text</MsgType>')).status).toBe(403);
    expect(receiver.refused.map((r) => r.reason)).toEqual(['bad_signature', 'stale_timestamp', 'stale_timestamp', 'wrong_corp', 'malformed']);
    expect(receiver.opened).toEqual([]);
  });

  it('a replay of a capture older than the window is stale', async () => {
    const { driver, receiver, clock } = await setup();
    const d = await driver.typeText('lisi', '签收');
    clock.advance(10 * 60 * 1000);
    expect((await driver.replay(d.id)).status).toBe(403);
    expect(receiver.refused.map((r) => r.reason)).toEqual(['stale_timestamp']);
  });
});

describe('the control API of the sandbox page', () => {
  it('acts as a member and shows each member’s chat and cards', async () => {
    const { s, receiver, api } = await setup();
    await api.sendTemplateCard('wangwu', buttonCard('inc-12-a'));
    const act = await fetch(`${s.url}/__sandbox/act`, { method: 'POST', body: JSON.stringify({ action: 'press', userId: 'wangwu', taskId: 'inc-12-a', key: 'k2' }) });
    expect(act.status).toBe(200);
    expect(receiver.handled.at(-1)).toMatchObject({ kind: 'card_event', eventKey: 'k2' });
    const refused = await fetch(`${s.url}/__sandbox/act`, { method: 'POST', body: JSON.stringify({ action: 'press', userId: 'wangwu', taskId: 'inc-12-a', key: 'nope' }) });
    expect(refused.status).toBe(409);
    const state = (await (await fetch(`${s.url}/__sandbox/state`)).json()) as { users: Array<{ userId: string; cards: Array<{ taskId: string }> }> };
    expect(state.users.find((u) => u.userId === 'wangwu')?.cards.map((c) => c.taskId)).toEqual(['inc-12-a']);
  });
});
