/**
 * A reply that meets Telegram's per-chat limit (429 with retry_after) is sent once the wait is over,
 * instead of being lost; a wait longer than the cap is not held, and the user gets the usual apology.
 * Given the jobs' gateway, the bot's replies keep the chat's spacing after the gateway's notices.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisChatSendSlots } from '../../src/jobs/send-slot-stores.js';
import { t } from '../../src/i18n/index.js';
import { retryAfterSeconds } from '../../src/channels/telegram/rate-limited-replies.js';
import { TelegramGateway } from '../../src/channels/telegram/telegram-gateway.js';
import { startBotHarness, type BotHarness } from '../helpers/bot-harness.js';

let h: BotHarness;
beforeAll(async () => {
  h = await startBotHarness();
});
afterAll(async () => h?.close());

describe('replies rate-limited by Telegram', () => {
  it('wait out a 429 and arrive once', async () => {
    const before = h.api.botMessages(h.tg('officerA1')).length;
    h.api.failNext('sendMessage', { status: 429, retryAfter: 1 });
    const started = Date.now();
    const reply = await h.send('officerA1', '/report');
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(reply.text).toContain('第 1/7 步');
    const sent = h.api.botMessages(h.tg('officerA1')).slice(before);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.text).not.toContain(t('zh', 'error.generic'));
    await h.send('officerA1', '/cancel');
  });

  it('do not hold the chat for a long wait', async () => {
    h.api.failNext('sendMessage', { status: 429, retryAfter: 60 });
    const started = Date.now();
    const reply = await h.send('officerA1', '/report');
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(reply.text).toBe(t('zh', 'error.generic'));
    await h.send('officerA1', '/cancel');
  });

  it('keep the chat’s spacing after a notice the jobs’ gateway sent (one pipeline)', async () => {
    const gateway = new TelegramGateway({ apiRoot: h.api.url, token: h.api.token });
    h.deps.gateway = gateway;
    await h.restart();
    try {
      const chat = h.tg('officerA1');
      const sends = () => h.api.requests.filter((r) => r.method === 'sendMessage' && Number(r.chat_id) === chat && r.status === 200);
      await gateway.sendMessage(chat, { text: 'notice' });
      const noticeAt = sends().at(-1)!.at;
      const reply = await h.send('officerA1', '/help');
      expect(reply.text).not.toBe('notice');
      const replyAt = sends().at(-1)!.at;
      expect(replyAt - noticeAt).toBeGreaterThanOrEqual(1_000);
    } finally {
      delete h.deps.gateway;
      await h.restart();
    }
  }, 20_000);

  it('edit the pressed message at once, right after a new message to the chat on the shared line (an edit adds no message)', async () => {
    const lines = redisChatSendSlots(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', `test-replies-${randomUUID()}`);
    const gateway = new TelegramGateway({ apiRoot: h.api.url, token: h.api.token, chatSlots: lines });
    h.deps.gateway = gateway;
    await h.restart();
    try {
      const chat = h.tg('officerA1');
      const form = await h.send('officerA1', '/report');
      const sentAt = h.api.requests.filter((r) => r.method === 'sendMessage' && Number(r.chat_id) === chat && r.status === 200).at(-1)!.at;
      const pressedAt = Date.now();
      await h.press('officerA1', form, form.reply_markup!.inline_keyboard[0]![0]!.callback_data!);
      const edit = h.api.requests.filter((r) => r.method === 'editMessageText' && Number(r.chat_id) === chat && r.at >= pressedAt).at(0);
      expect(edit).toBeDefined();
      // The old path waited out the interval the chat keeps after its last new message (1 s).
      expect(edit!.at - sentAt).toBeLessThan(700);
      await h.send('officerA1', '/cancel');
    } finally {
      delete h.deps.gateway;
      await h.restart();
      await lines.close();
    }
  }, 20_000);

  it('read retry_after only from a 429', () => {
    expect(retryAfterSeconds({ response: { error_code: 429, parameters: { retry_after: 3 } } })).toBe(3);
    expect(retryAfterSeconds({ response: { error_code: 400, parameters: { retry_after: 3 } } })).toBeUndefined();
    expect(retryAfterSeconds(new Error('x'))).toBeUndefined();
  });
});
