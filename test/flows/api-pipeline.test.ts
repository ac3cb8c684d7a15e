/**
 * One pipeline for every Bot API call: a handler's reply (telegraf's client of the update) and a job's
 * send (the gateway) to the same chat keep one per-chat spacing, share a 429's hold, and fail with the
 * same error classes; the handler's uploads still go as multipart through telegraf, and are counted.
 */
import { Telegraf, type Context } from 'telegraf';
import type { Update } from 'telegraf/types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { retryAfterSeconds, useApiPipeline, type SendCounter } from '../../src/channels/telegram/api-pipeline.js';
import { ChatSlotAhead, TelegramBlocked, TelegramGateway, TelegramRateLimited } from '../../src/channels/telegram/telegram-gateway.js';
import { createLogger } from '../../src/logger.js';
import { startBotApiServer, type BotApiServer } from '../../src/sandbox/bot-api-server.js';

const CHATS = { spacing: 72001, blocked: 72002, flood: 72003, held: 72004, upload: 72005 };

let api: BotApiServer;
let gateway: TelegramGateway;
let bot: Telegraf;
/** What the handler's replies threw. */
const replyErrors: unknown[] = [];
const counted: string[] = [];
const counter: SendCounter = {
  messageSent: (result) => void counted.push(result),
  messageFailed: (err) => {
    const code = (err as { code?: number }).code;
    const result = code === 429 ? '429' : code === 403 ? '403' : 'error';
    counted.push(result);
    return result;
  },
};
let updateId = 0;

/** The user writes `text`; resolves once the handler is done. */
function userWrites(chatId: number, text: string): Promise<void> {
  const from = { id: chatId, is_bot: false, first_name: `u${chatId}` };
  const update = { update_id: ++updateId, message: { message_id: updateId, date: Math.floor(Date.now() / 1000), chat: { id: chatId, type: 'private', first_name: from.first_name }, from, text } };
  return bot.handleUpdate(update as unknown as Update);
}

/** When the stand-in took each accepted message request to the chat, in order. */
const accepted = (chatId: number, method = 'sendMessage') => api.requests.filter((r) => r.method === method && Number(r.chat_id) === chatId && r.status === 200).map((r) => r.at);

beforeAll(async () => {
  api = await startBotApiServer();
  for (const id of Object.values(CHATS)) api.addUser({ id, first_name: `u${id}` });
  gateway = new TelegramGateway({ apiRoot: api.url, token: api.token });
  bot = new Telegraf(api.token, { telegram: { apiRoot: api.url, webhookReply: false } });
  bot.use(useApiPipeline(gateway.api, { logger: createLogger('silent'), counter }));
  bot.on('text', async (ctx: Context) => {
    const text = ctx.text ?? '';
    try {
      if (text === 'file') await ctx.replyWithDocument({ source: Buffer.from('a,b\n1,2\n'), filename: 'list.csv' });
      else if (text === 'two') {
        await ctx.reply('first');
        await ctx.reply('second');
      } else await ctx.reply(`echo ${text}`);
    } catch (err) {
      replyErrors.push(err);
    }
  });
  bot.botInfo = await bot.telegram.getMe();
});
afterAll(async () => api?.close());

describe('one pipeline for replies and job sends', () => {
  it('a reply keeps the interval after a job’s notice to the chat, and a notice keeps it after a reply', async () => {
    const chat = CHATS.spacing;
    await gateway.sendMessage(chat, { text: 'notice one' });
    await userWrites(chat, 'hello');
    let times = accepted(chat);
    expect(times).toHaveLength(2);
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(1_000);

    // Right after the reply the chat is busy: a job's keyed send is told to come back, an unkeyed one waits.
    const ahead = await gateway.sendMessage(chat, { text: 'notice two' }, { spacingKey: 'notice-two' }).catch((e: unknown) => e);
    expect(ahead).toBeInstanceOf(ChatSlotAhead);
    await gateway.sendMessage(chat, { text: 'notice three' });
    times = accepted(chat);
    expect(times).toHaveLength(3);
    expect(times[2]! - times[1]!).toBeGreaterThanOrEqual(1_000);

    // Replies among themselves are not spaced (the person just wrote), only after the notice.
    const before = times.length;
    await userWrites(chat, 'two');
    times = accepted(chat);
    expect(times).toHaveLength(before + 2);
    expect(times[before]! - times[before - 1]!).toBeGreaterThanOrEqual(1_000);
    expect(times[before + 1]! - times[before]!).toBeLessThan(500);
    expect(replyErrors).toHaveLength(0);
  }, 20_000);

  it('a 403 is TelegramBlocked for the handler and for the job', async () => {
    api.failNext('sendMessage', { status: 403 });
    await userWrites(CHATS.blocked, 'are you there');
    expect(replyErrors.pop()).toBeInstanceOf(TelegramBlocked);
    api.failNext('sendMessage', { status: 403 });
    const fromJob = await gateway.sendMessage(CHATS.blocked, { text: 'notice' }).catch((e: unknown) => e);
    expect(fromJob).toBeInstanceOf(TelegramBlocked);
    expect((fromJob as TelegramBlocked).code).toBe(403);
  }, 20_000);

  it('a long 429 is TelegramRateLimited for both, and its hold reaches the job’s sends', async () => {
    const chat = CHATS.flood;
    api.failNext('sendMessage', { status: 429, retryAfter: 30 });
    const started = Date.now();
    await userWrites(chat, 'hello');
    // Longer than a reply waits in place: handed to the handler at once.
    expect(Date.now() - started).toBeLessThan(5_000);
    const fromReply = replyErrors.pop();
    expect(fromReply).toBeInstanceOf(TelegramRateLimited);
    expect((fromReply as TelegramRateLimited).retryAfterSeconds).toBe(30);
    expect(retryAfterSeconds(fromReply)).toBe(30);
    // The chat is quiet for the jobs until the wait is over.
    const ahead = await gateway.sendMessage(chat, { text: 'notice' }, { spacingKey: 'flood-notice' }).catch((e: unknown) => e);
    expect(ahead).toBeInstanceOf(ChatSlotAhead);
    expect((ahead as ChatSlotAhead).until - started).toBeGreaterThanOrEqual(29_000);

    api.failNext('sendMessage', { status: 429, retryAfter: 7 });
    const fromJob = await gateway.sendMessage(CHATS.blocked, { text: 'notice' }).catch((e: unknown) => e);
    expect(fromJob).toBeInstanceOf(TelegramRateLimited);
    expect((fromJob as TelegramRateLimited).retryAfterSeconds).toBe(7);
  }, 20_000);

  it('a short 429 on a job’s send holds the chat: the reply waits it out before its request, and arrives', async () => {
    const chat = CHATS.held;
    api.failNext('sendMessage', { status: 429, retryAfter: 2 });
    const refused = await gateway.sendMessage(chat, { text: 'notice' }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(TelegramRateLimited);
    const refusedAt = api.requests.filter((r) => r.method === 'sendMessage' && Number(r.chat_id) === chat && r.status === 429).at(-1)!.at;
    await userWrites(chat, 'hello');
    const times = accepted(chat);
    expect(times).toHaveLength(1);
    expect(times[0]! - refusedAt).toBeGreaterThanOrEqual(1_950);
    // One request only: the reply did not try inside the wait.
    expect(api.requests.filter((r) => r.method === 'sendMessage' && Number(r.chat_id) === chat)).toHaveLength(2);
    expect(replyErrors).toHaveLength(0);
  }, 20_000);

  it('a handler’s upload still goes as multipart through telegraf, and is counted', async () => {
    counted.length = 0;
    await userWrites(CHATS.upload, 'file');
    expect(replyErrors).toHaveLength(0);
    expect(accepted(CHATS.upload, 'sendDocument')).toHaveLength(1);
    expect(api.lastBotMessage(CHATS.upload)?.document?.file_name).toBe('list.csv');
    expect(counted).toEqual(['ok']);
  });
});

describe('retryAfterSeconds, the one reading of retry_after', () => {
  it('reads a Bot API answer, telegraf’s error and the gateway’s, and nothing that is not a 429', () => {
    expect(retryAfterSeconds({ ok: false, error_code: 429, description: 'Too Many Requests', parameters: { retry_after: 3 } })).toBe(3);
    expect(retryAfterSeconds({ response: { error_code: 429, parameters: { retry_after: 2.2 } } })).toBe(3);
    expect(retryAfterSeconds(new TelegramRateLimited('sendMessage', 'Too Many Requests', 5))).toBe(5);
    // A 429 that does not say how long: 1 s.
    expect(retryAfterSeconds({ ok: false, error_code: 429, description: 'Too Many Requests' })).toBe(1);
    expect(retryAfterSeconds({ ok: false, error_code: 400, description: 'x', parameters: { retry_after: 3 } })).toBeUndefined();
    expect(retryAfterSeconds({ ok: true, result: {} })).toBeUndefined();
    expect(retryAfterSeconds(undefined)).toBeUndefined();
  });
});
