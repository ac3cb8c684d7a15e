/**
 * The WeCom API client (src/channels/wecom/wecom-api.ts) against the stand-in over HTTP, on one clock
 * the test moves: the access token (cached, refreshed on expiry, on 42001 and 40014), errcodes in the
 * port's terms, template cards and their response_codes (once, 72 hours), the 6-button limit, file
 * upload, and the frequency limits — ours, and what WeCom does without them.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WecomApi, WecomApiError, WecomRateLimiter, type TemplateCard } from '../../src/channels/wecom/index.js';
import { ChannelRateLimited, ChannelTransient, MessageGone, RecipientNotFound, RequestRefused } from '../../src/services/channel-port.js';
import { MemberActionRefused, type WecomStandIn, type WecomStandInOptions } from '../../src/sandbox/wecom/index.js';
import { buttonCard, callbackConfigFor, manualClock, standIn, startReceiver, type ManualClock } from './helpers.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

interface Setup {
  clock: ManualClock;
  s: WecomStandIn;
  api: WecomApi;
  limiter: WecomRateLimiter | undefined;
}

async function setup(opts: { standIn?: WecomStandInOptions; limiter?: boolean; api?: Partial<ConstructorParameters<typeof WecomApi>[0]> } = {}): Promise<Setup> {
  const clock = manualClock();
  const s = await standIn(cleanups, { clock, users: ['lisi', 'wangwu'], limits: false, ...opts.standIn });
  const limiter = opts.limiter === false ? undefined : new WecomRateLimiter({ clock, accountCap: 100 });
  const api = new WecomApi({ apiRoot: s.url, corpId: s.config.corpId, secret: s.config.corpSecret, agentId: s.config.agentId, clock, limiter, requestTimeoutMs: 400, ...opts.api });
  return { clock, s, api, limiter };
}

async function failure(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the call to fail');
}

describe('the access token', () => {
  it('is fetched once and reused; concurrent first calls share one gettoken', async () => {
    const { s, api } = await setup();
    await Promise.all([api.sendText('lisi', '一'), api.sendText('lisi', '二'), api.sendText('wangwu', '三')]);
    await api.sendMarkdown('lisi', '**四**');
    expect(s.driver.callsOf('gettoken')).toBe(1);
    expect(s.driver.messagesOf('lisi').map((m) => m.content)).toEqual(expect.arrayContaining(['一', '二', '**四**']));
    expect(s.driver.messagesOf('lisi').find((m) => m.content === '**四**')?.msgtype).toBe('markdown');
  });

  it('is fetched anew when it nears its expiry, on our clock', async () => {
    const { s, api, clock } = await setup();
    await api.sendText('lisi', 'a');
    clock.advance((7200 - 301) * 1000);
    await api.sendText('lisi', 'b');
    expect(s.driver.callsOf('gettoken')).toBe(1);
    clock.advance(2000); // now inside the 300 s margin
    await api.sendText('lisi', 'c');
    expect(s.driver.callsOf('gettoken')).toBe(2);
  });

  it('a token that really expired on the server (42001) is replaced and the call made once more', async () => {
    const { s, api, clock } = await setup({ api: { tokenMarginSeconds: 0 } });
    await api.sendText('lisi', 'before');
    clock.advance(7199 * 1000);
    s.driver.expireTokens(); // WeCom ended it early
    await api.sendText('lisi', 'after');
    expect(s.driver.callsOf('gettoken')).toBe(2);
    expect(s.driver.requests.filter((r) => r.api === 'message/send').map((r) => r.errcode)).toEqual([0, 42001, 0]);
    expect(s.driver.messagesOf('lisi').map((m) => m.content)).toEqual(['before', 'after']);
  });

  it('an invalid token (40014) is replaced the same way', async () => {
    const { s, api } = await setup();
    await api.sendText('lisi', 'a');
    s.driver.revokeTokens();
    await api.sendText('lisi', 'b');
    expect(s.driver.requests.filter((r) => r.api === 'message/send').map((r) => r.errcode)).toEqual([0, 40014, 0]);
  });

  it('a fresh token refused again is ChannelTransient, tried no more than twice', async () => {
    const { s, api } = await setup();
    s.driver.failNext('message/send', { errcode: 42001 }, 2);
    const err = await failure(api.sendText('lisi', 'x'));
    expect(err).toBeInstanceOf(ChannelTransient);
    expect((err as ChannelTransient).ambiguous).toBe(false);
    expect(s.driver.callsOf('message/send')).toBe(2);
  });

  it('a wrong secret or corp id is RequestRefused (configuration), with WeCom’s errcode as cause', async () => {
    const wrongSecret = await setup({ api: { secret: 'nope' } });
    const err = await failure(wrongSecret.api.sendText('lisi', 'x'));
    expect(err).toBeInstanceOf(RequestRefused);
    expect((err.cause as WecomApiError).errcode).toBe(40001);
    const wrongCorp = await setup({ api: { corpId: 'wwnope' } });
    expect(((await failure(wrongCorp.api.sendText('lisi', 'x'))).cause as WecomApiError).errcode).toBe(40013);
  });
});

describe('errcodes and failures in the port’s terms', () => {
  it('a userid not in the directory, or outside the visible range, is RecipientNotFound', async () => {
    const { s, api } = await setup();
    expect(await failure(api.sendText('nobody', 'x'))).toBeInstanceOf(RecipientNotFound);
    s.driver.addUser('hidden', { visible: false });
    const err = await failure(api.sendText('hidden', 'x'));
    expect(err).toBeInstanceOf(RecipientNotFound);
    expect((err.cause as WecomApiError).errcode).toBe(81013);
    expect(err.message).not.toContain('hidden');
  });

  it('45009 is ChannelRateLimited for 60 s, and our sends are held meanwhile; 45033 waits 1 s', async () => {
    const { s, api, clock } = await setup();
    s.driver.failNext('message/send', { errcode: 45009 });
    const err = await failure(api.sendText('lisi', 'x'));
    expect(err).toBeInstanceOf(ChannelRateLimited);
    expect((err as ChannelRateLimited).retryAfterSeconds).toBe(60);
    const held = await failure(api.sendText('wangwu', 'y'));
    expect(held).toBeInstanceOf(ChannelRateLimited);
    expect(s.driver.callsOf('message/send')).toBe(1); // held here: no request
    clock.advance(60_000);
    await api.sendText('wangwu', 'y');
    s.driver.failNext('message/send', { errcode: 45033 });
    expect(((await failure(api.sendText('lisi', 'z'))) as ChannelRateLimited).retryAfterSeconds).toBe(1);
  });

  it('-1 (system busy) is ChannelTransient, not ambiguous: WeCom said it did not do it', async () => {
    const { s, api } = await setup();
    s.driver.failNext('message/send', { errcode: -1 });
    const err = await failure(api.sendText('lisi', 'x'));
    expect(err).toBeInstanceOf(ChannelTransient);
    expect((err as ChannelTransient).ambiguous).toBe(false);
  });

  it('a 502, a timeout or a dropped connection on a send is ambiguous; the timed-out message did arrive', async () => {
    const { s, api } = await setup();
    s.driver.failNext('message/send', { httpStatus: 502 });
    expect(await failure(api.sendText('lisi', 'a'))).toMatchObject({ name: 'ChannelTransient', ambiguous: true });
    s.driver.failNext('message/send', { delayMs: 700 });
    expect(await failure(api.sendText('lisi', 'late'))).toMatchObject({ name: 'ChannelTransient', ambiguous: true });
    await new Promise((r) => setTimeout(r, 400));
    expect(s.driver.messagesOf('lisi').map((m) => m.content)).toContain('late');
    s.driver.failNext('message/send', { hangUp: true });
    expect(await failure(api.sendText('lisi', 'b'))).toMatchObject({ name: 'ChannelTransient', ambiguous: true });
  });

  it('a server that cannot be reached is ChannelTransient, not ambiguous', async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const api = new WecomApi({ apiRoot: `http://127.0.0.1:${port}`, corpId: 'c', secret: 's', agentId: 1, clock: manualClock() });
    expect(await failure(api.sendText('lisi', 'x'))).toMatchObject({ name: 'ChannelTransient', ambiguous: false });
  });
});

describe('template cards and response_codes', () => {
  it('a card is sent with a response_code that redraws it once; the second use is MessageGone', async () => {
    const { s, api } = await setup();
    const sent = await api.sendTemplateCard('lisi', buttonCard('inc-1-a', 3));
    expect(sent.msgId).not.toBe('');
    expect(sent.responseCode).toEqual(expect.any(String));
    const redrawn: TemplateCard = { ...buttonCard('inc-1-a', 2), main_title: { title: '2026-0001 已签收' } };
    await api.updateTemplateCard(['lisi'], sent.responseCode!, { card: redrawn });
    const card = s.driver.cardOf('lisi', 'inc-1-a')!;
    expect(card.card['main_title']).toEqual({ title: '2026-0001 已签收' });
    expect(card.renderings).toHaveLength(2);
    const again = await failure(api.updateTemplateCard(['lisi'], sent.responseCode!, { card: redrawn }));
    expect(again).toBeInstanceOf(MessageGone);
    expect((again.cause as WecomApiError).errcode).toBe(40058);
  });

  it('each press of the card brings one more response_code, good once', async () => {
    const { s, api, clock } = await setup();
    const receiver = await startReceiver(callbackConfigFor(s, clock), cleanups);
    s.driver.setCallbackUrl(receiver.url);
    const sent = await api.sendTemplateCard('lisi', buttonCard('inc-2-a'));
    await api.updateTemplateCard(['lisi'], sent.responseCode!, { card: buttonCard('inc-2-a') });
    await s.driver.pressButton('lisi', 'inc-2-a', 'k2');
    const press = receiver.handled.at(-1)!;
    expect(press).toMatchObject({ kind: 'card_event', eventKey: 'k2', taskId: 'inc-2-a', cardType: 'button_interaction' });
    const code = press.kind === 'card_event' ? press.responseCode! : '';
    await api.updateTemplateCard(['lisi'], code, { replaceName: '已签收' });
    expect(s.driver.cardOf('lisi', 'inc-2-a')?.disabledLabel).toBe('已签收');
    expect(() => s.driver.pressButton('lisi', 'inc-2-a', 'k1')).toThrow(MemberActionRefused);
    expect(await failure(api.updateTemplateCard(['lisi'], code, { replaceName: '再次' }))).toBeInstanceOf(MessageGone);
  });

  it('a response_code is good for 72 hours and no longer', async () => {
    const { api, clock } = await setup();
    const early = await api.sendTemplateCard('lisi', buttonCard('inc-3-a'));
    const late = await api.sendTemplateCard('lisi', buttonCard('inc-3-b'));
    clock.advance(72 * 3600 * 1000 - 1000);
    await api.updateTemplateCard(['lisi'], early.responseCode!, { replaceName: '已关闭' });
    clock.advance(2000);
    expect(await failure(api.updateTemplateCard(['lisi'], late.responseCode!, { replaceName: '已关闭' }))).toBeInstanceOf(MessageGone);
  });

  it('a card with 7 buttons is refused (6 is the limit), as are other breaches of the card rules', async () => {
    const { s, api } = await setup();
    await api.sendTemplateCard('lisi', buttonCard('six', 6));
    const seven = await failure(api.sendTemplateCard('lisi', buttonCard('seven', 7)));
    expect(seven).toBeInstanceOf(RequestRefused);
    expect((seven.cause as WecomApiError).errcode).toBe(40058);
    expect(s.driver.cardOf('lisi', 'seven')).toBeUndefined();
    const vote = (n: number): TemplateCard => ({
      card_type: 'vote_interaction',
      task_id: `vote-${n}`,
      main_title: { title: '处置清单' },
      checkbox: { question_key: 'steps', mode: 1, option_list: Array.from({ length: n }, (_, i) => ({ id: `s${i}`, text: `步骤${i}` })) },
      submit_button: { text: '提交', key: 'submit' },
    });
    await api.sendTemplateCard('lisi', vote(20));
    expect(await failure(api.sendTemplateCard('lisi', vote(21)))).toBeInstanceOf(RequestRefused);
    expect(await failure(api.sendTemplateCard('lisi', { ...buttonCard('no-task'), task_id: 'has space' }))).toBeInstanceOf(RequestRefused);
    expect(await failure(api.sendTemplateCard('lisi', buttonCard('six')))).toBeInstanceOf(RequestRefused); // task_id used
  });

  it('a non-interactive card has no response_code', async () => {
    const { api } = await setup();
    const sent = await api.sendTemplateCard('lisi', { card_type: 'text_notice', main_title: { title: '提醒' }, card_action: { type: 1, url: 'https://example.invalid/' } });
    expect(sent.responseCode).toBeUndefined();
  });
});

describe('files', () => {
  it('a .docx is uploaded (multipart, type file) and sent by its media_id', async () => {
    const { s, api } = await setup();
    const data = new TextEncoder().encode('PK\u0003\u0004 a written report');
    const uploaded = await api.uploadMedia({ filename: '书面报告-2026-0001.docx', data, contentType: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document' });
    expect(uploaded.mediaId).toMatch(/^media/);
    expect(uploaded.createdAt).toBeGreaterThan(0);
    await api.sendFile('lisi', uploaded.mediaId);
    expect(s.driver.messagesOf('lisi').at(-1)).toMatchObject({ msgtype: 'file', file: { mediaId: uploaded.mediaId, filename: '书面报告-2026-0001.docx', size: data.length } });
    expect(await failure(api.sendFile('lisi', 'media-unknown'))).toBeInstanceOf(RequestRefused);
    expect(await failure(api.uploadMedia({ filename: 'tiny.docx', data: new Uint8Array(3) }))).toBeInstanceOf(RequestRefused);
  });
});

describe('frequency limits', () => {
  it('ours holds back the 31st message to a member within a minute, so WeCom never drops it', async () => {
    const { s, api, clock } = await setup({ standIn: { limits: {} } });
    for (let i = 0; i < 30; i++) await api.sendText('lisi', `m${i}`);
    const err = await failure(api.sendText('lisi', 'm30'));
    expect(err).toBeInstanceOf(ChannelRateLimited);
    expect(s.driver.callsOf('message/send')).toBe(30);
    await api.sendText('wangwu', 'other member');
    clock.advance(60_000);
    await api.sendText('lisi', 'm30');
    expect(s.driver.messagesOf('lisi')).toHaveLength(31);
    expect(s.driver.droppedFor('lisi')).toEqual([]);
  });

  it('without our limiter WeCom accepts the 31st (errcode 0) and drops it undelivered', async () => {
    const { s, api } = await setup({ standIn: { limits: {} }, limiter: false });
    for (let i = 0; i < 31; i++) await api.sendText('lisi', `m${i}`);
    expect(s.driver.messagesOf('lisi')).toHaveLength(30);
    expect(s.driver.droppedFor('lisi').map((m) => m.content)).toEqual(['m30']);
  });

  it('the day’s recipients beyond the account cap × 200: WeCom answers 45009, which holds our sends', async () => {
    const { s, api } = await setup({ standIn: { limits: { accountCap: 1, perMemberPerMinute: 10_000, perMemberPerHour: 10_000 } }, limiter: false });
    for (let i = 0; i < 200; i++) await api.sendText(i % 2 ? 'lisi' : 'wangwu', `n${i}`);
    const err = await failure(api.sendText('lisi', 'n200'));
    expect(err).toBeInstanceOf(ChannelRateLimited);
    expect((err.cause as WecomApiError).errcode).toBe(45009);
  });

  it('other APIs: over the per-minute limit WeCom answers 45009', async () => {
    const { api } = await setup({ standIn: { limits: { apiPerMinute: 2 } }, limiter: false });
    const file = { filename: 'a.docx', data: new Uint8Array(10) };
    await api.uploadMedia(file); // gettoken and this upload: one call each
    await api.uploadMedia(file);
    const err = await failure(api.uploadMedia(file));
    expect(err).toBeInstanceOf(ChannelRateLimited);
    expect((err as ChannelRateLimited).retryAfterSeconds).toBe(60);
  });
});
