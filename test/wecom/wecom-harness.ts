/**
 * End to end on WeCom: the Telegram bot harness (a fresh database, the seeded organisation bound on
 * Telegram, the Bot API stand-in), and beside it the WeCom stand-in over HTTP, the product's callback
 * route on an HTTP server of its own, and the WeCom bot wired to both — on one clock the test moves.
 * A member's action is a signed, encrypted callback from the stand-in; `act` waits until the product
 * has handled it.
 */
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { createWecomBot, type WecomBot } from '../../src/channels/wecom/bot.js';
import { mountWecomCallback } from '../../src/channels/wecom/http.js';
import { WecomApi, WecomRateLimiter, type WecomCallbackConfig } from '../../src/channels/wecom/index.js';
import { createInvite } from '../../src/admin/invite.js';
import { createHttpServer } from '../../src/http/server.js';
import type { CallbackDelivery, ReceivedMessage, WecomStandIn } from '../../src/sandbox/wecom/index.js';
import { startWecomStandIn } from '../../src/sandbox/wecom/index.js';
import { startBotHarness, type BotHarness, type BotHarnessOptions } from '../helpers/bot-harness.js';

export interface WecomHarness {
  h: BotHarness;
  s: WecomStandIn;
  api: WecomApi;
  bot: WecomBot;
  http: FastifyInstance;
  callbackUrl: string;
  callback: WecomCallbackConfig;
  /** Runs a member's action and waits until the product has handled what it sent. */
  act(action: () => Promise<CallbackDelivery>): Promise<CallbackDelivery>;
  /** An invite code for a seat (and a person, when `staffCode` is given). */
  invite(unitCode: string, position: string, staffCode?: string): Promise<string>;
  /** What the member received since `after` (an index into their messages). */
  messagesOf(userId: string): ReceivedMessage[];
  /** The member's last message that is a card, with its task id. */
  lastCard(userId: string): ReceivedMessage & { taskId: string };
  close(): Promise<void>;
}

export async function startWecomHarness(opts: BotHarnessOptions & { members?: string[] } = {}): Promise<WecomHarness> {
  const h = await startBotHarness(opts);
  const s = await startWecomStandIn({ clock: h.clock, users: opts.members ?? [], limits: false });
  const limiter = new WecomRateLimiter({ clock: h.clock, accountCap: 100 });
  const api = new WecomApi({ apiRoot: s.url, corpId: s.config.corpId, secret: s.config.corpSecret, agentId: s.config.agentId, clock: h.clock, limiter, requestTimeoutMs: 5_000 });
  const bot = createWecomBot({ ...h.deps, api, apiRoot: s.url, chatLocks: h.deps.chatLocks! });
  const callback: WecomCallbackConfig = { token: s.config.callbackToken, encodingAesKey: s.config.encodingAesKey, corpId: s.config.corpId, agentId: s.config.agentId, clock: h.clock };
  const http = createHttpServer({ logger: h.deps.logger });
  await mountWecomCallback(http, { callback, bot, db: h.db.db, clock: h.clock, logger: h.deps.logger });
  await http.listen({ port: 0, host: '127.0.0.1' });
  const callbackUrl = `http://127.0.0.1:${(http.server.address() as AddressInfo).port}/wecom/callback`;
  s.driver.setCallbackUrl(callbackUrl);

  return {
    h,
    s,
    api,
    bot,
    http,
    callbackUrl,
    callback,
    async act(action) {
      const d = await action();
      await bot.idle();
      return d;
    },
    async invite(unitCode, position, staffCode) {
      const created = await createInvite(h.db.db, { unitCode, position, ...(staffCode ? { staffCode } : {}), now: h.clock.now() });
      return created.code;
    },
    messagesOf: (userId) => s.driver.messagesOf(userId),
    lastCard(userId) {
      const card = s.driver
        .messagesOf(userId)
        .filter((m) => m.msgtype === 'template_card')
        .at(-1);
      if (!card?.taskId) throw new Error(`no card in the chat of ${userId}`);
      return card as ReceivedMessage & { taskId: string };
    },
    async close() {
      await bot.idle();
      await http.close();
      await s.stop();
      await h.close();
    },
  };
}

/** A card's buttons as the member sees them now: text and key. */
export function buttonsOf(card: { card?: Record<string, unknown> } | undefined): Array<{ text: string; key: string }> {
  const list = (card?.card?.['button_list'] as Array<{ text: string; key?: string }> | undefined) ?? [];
  return list.filter((b) => b.key !== undefined).map((b) => ({ text: b.text, key: b.key! }));
}

/** The key of the button whose text is (or contains) `text`. */
export function keyOf(card: { card?: Record<string, unknown> } | undefined, text: string): string {
  const buttons = buttonsOf(card);
  const b = buttons.find((x) => x.text === text) ?? buttons.find((x) => x.text.includes(text));
  if (!b) throw new Error(`no button "${text}": ${buttons.map((x) => x.text).join(' | ')}`);
  return b.key;
}

/** A vote card's options: id and text. */
export function optionsOf(card: { card?: Record<string, unknown> } | undefined): Array<{ id: string; text: string }> {
  const box = card?.card?.['checkbox'] as { option_list?: Array<{ id: string; text: string }> } | undefined;
  return box?.option_list ?? [];
}

/** All text a member received in messages (text, markdown, passive replies), in order. */
export function textsOf(messages: readonly ReceivedMessage[]): string[] {
  return messages.filter((m) => m.content !== undefined).map((m) => m.content!);
}

/**
 * Walks /report on WeCom as `userId` for a type 四 (absconding) incident of subject SQ-A-001, pressing
 * buttons on cards and typing text, and submits it; the incident's number and id.
 */
export async function reportAbscondingOnWecom(w: WecomHarness, userId: string): Promise<{ number: string; incidentId: string }> {
  const d = w.s.driver;
  const press = async (text: string) => {
    const card = w.lastCard(userId);
    await w.act(() => d.pressButton(userId, card.taskId, keyOf(d.cardOf(userId, card.taskId), text)));
  };
  await w.act(() => d.typeText(userId, '/report'));
  await press('四、');
  await w.act(() => d.typeText(userId, '张三'));
  await press('SQ-A-001');
  await w.act(() => d.typeText(userId, '09:45'));
  await w.act(() => d.typeText(userId, '和睦新村 3 幢'));
  await press('无伤亡');
  await w.act(() => d.typeText(userId, '对象今日未按时报到，电话关机。'));
  await press('下一步');
  await press('确认上报');
  const [row] = await w.h.db.sql`select id, number from incidents order by reported_at desc limit 1`;
  if (!row) throw new Error('no incident after the report');
  return { number: row.number as string, incidentId: row.id as string };
}
