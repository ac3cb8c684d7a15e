import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Input, Markup, Telegraf, TelegramError } from 'telegraf';
import { startBotApiServer, type BotApiServer, type BotApiServerOptions } from '../../src/sandbox/bot-api-server.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function start(opts?: BotApiServerOptions): Promise<BotApiServer> {
  const server = await startBotApiServer(opts);
  cleanups.push(() => server.close());
  return server;
}

interface ApiAnswer {
  status: number;
  // Raw JSON off the wire: the assertions below are what types it.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: { ok: boolean; result?: any; error_code?: number; description?: string; parameters?: { retry_after?: number } };
}

async function call(server: BotApiServer, method: string, params: Record<string, unknown> = {}, token = server.token): Promise<ApiAnswer> {
  const res = await fetch(`${server.url}/bot${token}/${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(params),
  });
  const text = await res.text();
  return { status: res.status, body: text.startsWith('{') ? JSON.parse(text) : { ok: false, description: text } };
}

function makeBot(server: BotApiServer): Telegraf {
  return new Telegraf(server.token, { telegram: { apiRoot: server.url, webhookReply: false } });
}

/** Launches long polling and registers a clean stop. */
function launchPolling(bot: Telegraf): void {
  const launched = bot.launch();
  cleanups.push(async () => {
    bot.stop('test done');
    await launched;
  });
}

async function listen(handler: http.RequestListener): Promise<{ url: string; server: http.Server }> {
  const srv = http.createServer(handler);
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        srv.close(() => resolve());
        srv.closeAllConnections();
      }),
  );
  return { url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`, server: srv };
}

const ALICE = { id: 1001, first_name: 'Alice', username: 'alice' };
const BOB = { id: 1002, first_name: 'Bob' };

describe('telegraf bot over long polling', () => {
  it('answers /start with a keyboard and edits it after a button press', async () => {
    const server = await start();
    server.addUser(ALICE);
    const bot = makeBot(server);
    bot.start((ctx) =>
      ctx.reply(`Hello ${ctx.payload || 'there'}`, Markup.inlineKeyboard([Markup.button.callback('Yes', 'answer:yes'), Markup.button.callback('No', 'answer:no')])),
    );
    bot.action(/^answer:(.+)$/, async (ctx) => {
      await ctx.answerCbQuery('Noted');
      await ctx.editMessageText(`You said ${ctx.match[1]}`);
    });
    launchPolling(bot);

    const sent = server.sendText(ALICE.id, '/start ref42');
    expect(sent.message.entities).toEqual([{ type: 'bot_command', offset: 0, length: 6 }]);
    const kb = await server.waitForBotMessage(ALICE.id);
    expect(kb.text).toBe('Hello ref42');
    expect(server.inlineButtons(kb)).toEqual([
      { text: 'Yes', callback_data: 'answer:yes' },
      { text: 'No', callback_data: 'answer:no' },
    ]);

    expect(() => server.pressButton(ALICE.id, kb.message_id, 'answer:maybe')).toThrow(/no inline button/);
    const { callbackQueryId } = server.pressButton(ALICE.id, kb.message_id, 'answer:yes');
    const answer = await server.waitForCallbackAnswer(callbackQueryId);
    expect(answer).toMatchObject({ text: 'Noted', show_alert: false, user_id: ALICE.id, data: 'answer:yes' });
    const edited = await server.waitForBotMessage(ALICE.id, (m) => m.text === 'You said yes');
    expect(edited.message_id).toBe(kb.message_id);
    expect(edited.edit_date).toBeTypeOf('number');
    expect(edited.reply_markup).toBeUndefined();
    expect(edited.history.map((h) => h.text)).toEqual(['Hello ref42']);
    expect(server.messages(ALICE.id).map((m) => [m.from_bot, m.text])).toEqual([
      [false, '/start ref42'],
      [true, 'You said yes'],
    ]);
    // The bot really long-polled: getUpdates calls carried the long-poll timeout.
    expect(server.requests.some((r) => r.method === 'getUpdates')).toBe(true);
    await server.waitForIdle({ quietMs: 100 });
    // A second answer to the same query is refused, as on Telegram.
    const again = await call(server, 'answerCallbackQuery', { callback_query_id: callbackQueryId });
    expect(again).toEqual({ status: 400, body: { ok: false, error_code: 400, description: 'Bad Request: query is too old and response timeout expired or query ID is invalid' } });
  });

  it('waits, by default, for the reaction to the latest user action (a new message after a press)', async () => {
    const server = await start();
    server.addUser(ALICE);
    const bot = makeBot(server);
    bot.command('menu', (ctx) => ctx.reply('Menu', Markup.inlineKeyboard([Markup.button.callback('Next', 'next')])));
    bot.action('next', async (ctx) => {
      await ctx.answerCbQuery();
      await ctx.sendChatAction('typing');
      await ctx.reply('Step 2', Markup.inlineKeyboard([Markup.button.callback('Done', 'done')]));
    });
    launchPolling(bot);
    server.sendText(ALICE.id, '/menu');
    const menu = await server.waitForBotMessage(ALICE.id);
    expect(menu.text).toBe('Menu');
    server.pressButtonByText(ALICE.id, menu.message_id, 'Next');
    const step2 = await server.waitForBotMessage(ALICE.id);
    expect(step2.text).toBe('Step 2');
    expect(server.lastBotMessage(ALICE.id)?.message_id).toBe(step2.message_id);
    expect(server.findButton(step2, (b) => b.callback_data === 'done')?.text).toBe('Done');
  });

  it('keeps group privacy mode: plain group text is not delivered, commands are', async () => {
    const server = await start();
    server.addUser(ALICE);
    server.addUser(BOB);
    server.addGroup({ id: -500, title: 'Duty room', memberIds: [ALICE.id, BOB.id] });
    const bot = makeBot(server);
    const seen: string[] = [];
    bot.on('text', (ctx) => {
      seen.push(ctx.message.text);
      return ctx.reply(`got ${ctx.message.text}`);
    });
    launchPolling(bot);
    expect(server.sendText(BOB.id, 'just chatting', { chatId: -500 }).delivered).toBe(false);
    expect(server.sendText(ALICE.id, '/status@corrections_test_bot', { chatId: -500 }).delivered).toBe(true);
    const reply = await server.waitForBotMessage(-500);
    expect(reply.text).toBe('got /status@corrections_test_bot');
    expect(seen).toEqual(['/status@corrections_test_bot']);
  });
});

describe('webhook delivery', () => {
  it('delivers with the secret token header, and redelivers after a 500', async () => {
    const server = await start({ webhookRetry: { backoffMs: [50] } });
    server.addUser(ALICE);
    const bot = makeBot(server);
    bot.on('text', (ctx) => ctx.reply(`echo: ${ctx.message.text}`));
    const callback = bot.webhookCallback('/hook', { secretToken: 's3cret' });
    const secrets: string[] = [];
    let failNextHook = false;
    const hook = await listen((req, res) => {
      secrets.push(String(req.headers['x-telegram-bot-api-secret-token']));
      if (failNextHook) {
        failNextHook = false;
        res.writeHead(500).end();
        return;
      }
      void callback(req, res);
    });
    await bot.telegram.setWebhook(`${hook.url}/hook`, { secret_token: 's3cret' });

    server.sendText(ALICE.id, 'hi');
    expect((await server.waitForBotMessage(ALICE.id)).text).toBe('echo: hi');
    expect(secrets).toEqual(['s3cret']);

    failNextHook = true;
    const { updateId } = server.sendText(ALICE.id, 'again');
    expect((await server.waitForBotMessage(ALICE.id)).text).toBe('echo: again');
    await server.waitForIdle({ quietMs: 20 }); // the hook answers only after the bot's reply
    const delivery = server.webhookDeliveries.find((d) => d.update_id === updateId);
    expect(delivery).toMatchObject({ attempts: 2, outcome: 'delivered', status: 200 });
    const info = await bot.telegram.getWebhookInfo();
    expect(info).toMatchObject({ url: `${hook.url}/hook`, pending_update_count: 0, last_error_message: 'Wrong response from the webhook: 500 Internal Server Error' });

    // getUpdates is refused while a webhook is set.
    const poll = await call(server, 'getUpdates');
    expect(poll).toEqual({
      status: 409,
      body: { ok: false, error_code: 409, description: "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first" },
    });
  });

  it('executes telegraf webhook replies (webhookReply: true)', async () => {
    const server = await start();
    server.addUser(ALICE);
    const bot = new Telegraf(server.token, { telegram: { apiRoot: server.url } });
    bot.action('ack', (ctx) => ctx.answerCbQuery('via webhook reply'));
    const hook = await listen((req, res) => void bot.webhookCallback('/')(req, res));
    await bot.telegram.setWebhook(hook.url);
    const msg = await bot.telegram.sendMessage(ALICE.id, 'Ack?', Markup.inlineKeyboard([Markup.button.callback('Ack', 'ack')]));
    const logged = server.waitForRequest('answerCallbackQuery');
    const { callbackQueryId } = server.pressButton(ALICE.id, msg.message_id, 'ack');
    expect((await server.waitForCallbackAnswer(callbackQueryId)).text).toBe('via webhook reply');
    expect(await logged).toMatchObject({ via: 'webhook_reply', status: 200 });
  });

  it('keeps per-chat order, executes webhook replies and drops after the last attempt', async () => {
    const server = await start({ webhookRetry: { backoffMs: [20], maxAttempts: 3 } });
    server.addUser(ALICE);
    server.addUser(BOB);
    const order: string[] = [];
    const hook = await listen((req, res) => {
      let raw = '';
      req.on('data', (c: Buffer) => (raw += c.toString()));
      req.on('end', () => {
        const update = JSON.parse(raw) as { message: { chat: { id: number }; text: string } };
        const { text, chat } = update.message;
        order.push(text);
        if (text === 'poison') {
          res.writeHead(502).end();
          return;
        }
        // Slow first answer: the next update of the same chat must wait for it.
        setTimeout(
          () => {
            res.writeHead(200, { 'content-type': 'application/json' });
            res.end(JSON.stringify({ method: 'sendMessage', chat_id: chat.id, text: `re: ${text}` }));
          },
          text === 'a1' ? 100 : 0,
        );
      });
    });
    expect((await call(server, 'setWebhook', { url: hook.url })).body).toEqual({ ok: true, result: true, description: 'Webhook was set' });
    server.sendText(ALICE.id, 'a1');
    server.sendText(ALICE.id, 'a2');
    server.sendText(BOB.id, 'b1');
    await server.waitForBotMessage(ALICE.id, (m) => m.text === 're: a2');
    expect(order.indexOf('a1')).toBeLessThan(order.indexOf('a2'));
    expect(order.indexOf('b1')).toBeLessThan(order.indexOf('a2')); // other chat not held up
    expect(server.botMessages(BOB.id).map((m) => m.text)).toEqual(['re: b1']);

    const { updateId } = server.sendText(BOB.id, 'poison');
    await server.waitForIdle({ quietMs: 50, timeoutMs: 3000 });
    expect(server.webhookDeliveries.find((d) => d.update_id === updateId)).toMatchObject({ attempts: 3, outcome: 'dropped', status: 502 });
  });
});

describe('flood limits', () => {
  it('answers 429 with retry_after for a per-chat burst and past the global rate', async () => {
    const server = await start({ limits: { globalPerSecond: 30, perChatPerSecond: 1 } });
    for (let id = 1; id <= 41; id++) server.addUser({ id, first_name: `U${id}` });
    expect((await call(server, 'sendMessage', { chat_id: 1, text: 'first' })).status).toBe(200);
    const second = await call(server, 'sendMessage', { chat_id: 1, text: 'second' });
    expect(second.status).toBe(429);
    const retry = second.body.parameters?.retry_after ?? 0;
    expect(retry).toBeGreaterThanOrEqual(1);
    expect(second.body).toEqual({ ok: false, error_code: 429, description: `Too Many Requests: retry after ${retry}`, parameters: { retry_after: retry } });
    expect(server.messages(1).map((m) => m.text)).toEqual(['first']); // refused send not stored
    // Edits do not count against limits.
    expect((await call(server, 'editMessageText', { chat_id: 1, message_id: 1, text: 'first!' })).status).toBe(200);

    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => call(server, 'sendMessage', { chat_id: i + 2, text: 'broadcast' })));
    const limited = answers.filter((a) => a.status === 429);
    expect(limited.length).toBeGreaterThan(0);
    expect(answers.filter((a) => a.status === 200).length).toBeLessThanOrEqual(29);
    expect(server.rateLimitHits.length).toBe(limited.length + 1);
    expect(server.stats().rateLimited).toBe(limited.length + 1);

    // telegraf sees a TelegramError carrying retry_after.
    const bot = makeBot(server);
    const err = await bot.telegram.sendMessage(1, 'third').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TelegramError);
    expect((err as TelegramError).code).toBe(429);
    expect((err as TelegramError).parameters?.retry_after).toBeGreaterThanOrEqual(1);
  });

  it('holds an answer to the person’s own update to its chat’s limit only: the overall 30 a second is for bulk notifications', async () => {
    const server = await start({ limits: { globalPerSecond: 30, perChatPerSecond: 1 } });
    for (let id = 1; id <= 32; id++) server.addUser({ id, first_name: `U${id}` });
    const bulk = await Promise.all(Array.from({ length: 30 }, (_, i) => call(server, 'sendMessage', { chat_id: i + 1, text: 'broadcast' })));
    expect(bulk.every((a) => a.status === 200)).toBe(true);
    // The overall second is full: one more notice is refused…
    expect((await call(server, 'sendMessage', { chat_id: 31, text: 'one more' })).status).toBe(429);
    // …but a person who just wrote is answered (the poll handed their update out a moment ago).
    server.sendText(32, '/report');
    expect((await call(server, 'getUpdates')).body.result).toHaveLength(1);
    expect((await call(server, 'sendMessage', { chat_id: 32, text: 'the form' })).status).toBe(200);
    // Their chat's own limit still holds for the answer.
    const second = await call(server, 'sendMessage', { chat_id: 32, text: 'and again' });
    expect(second.status).toBe(429);
    expect(server.rateLimitHits.map((h) => h.scope)).toEqual(['global', 'chat']);
  });

  it('limits groups per minute', async () => {
    const server = await start({ limits: { perGroupPerMinute: 2 } });
    server.addUser(ALICE);
    server.addGroup({ id: -42, title: 'G', memberIds: [ALICE.id] });
    expect((await call(server, 'sendMessage', { chat_id: -42, text: '1' })).status).toBe(200);
    expect((await call(server, 'sendMessage', { chat_id: -42, text: '2' })).status).toBe(200);
    const third = await call(server, 'sendMessage', { chat_id: -42, text: '3' });
    expect(third.status).toBe(429);
    expect(third.body.parameters?.retry_after).toBeGreaterThan(50);
  });
});

describe('Telegram errors', () => {
  it('validates texts, markup, edits, chats and blocked users like Telegram', async () => {
    const server = await start();
    server.addUser(ALICE);
    server.addUser(BOB);
    const bad = (description: string, status = 400) => ({ status, body: { ok: false, error_code: status, description } });

    expect(await call(server, 'sendMessage', { chat_id: ALICE.id, text: 'x'.repeat(4097) })).toEqual(bad('Bad Request: message is too long'));
    expect((await call(server, 'sendMessage', { chat_id: ALICE.id, text: 'x'.repeat(4096) })).status).toBe(200);
    expect(await call(server, 'sendMessage', { chat_id: ALICE.id, text: '' })).toEqual(bad('Bad Request: message text is empty'));
    expect(await call(server, 'sendMessage', { chat_id: ALICE.id })).toEqual(bad('Bad Request: message text is empty'));
    expect(await call(server, 'sendMessage', { chat_id: ALICE.id, text: '<b> </b>', parse_mode: 'HTML' })).toEqual(bad('Bad Request: message text is empty'));
    const keyboard = (data: string) => ({ inline_keyboard: [[{ text: 'B', callback_data: data }]] });
    expect(await call(server, 'sendMessage', { chat_id: ALICE.id, text: 'k', reply_markup: keyboard('x'.repeat(65)) })).toEqual(bad('Bad Request: BUTTON_DATA_INVALID'));
    expect(await call(server, 'sendMessage', { chat_id: ALICE.id, text: 'k', reply_markup: keyboard('') })).toEqual(bad('Bad Request: BUTTON_DATA_INVALID'));
    expect((await call(server, 'sendMessage', { chat_id: ALICE.id, text: 'k', reply_markup: keyboard('x'.repeat(64)) })).status).toBe(200);
    expect(await call(server, 'sendMessage', { chat_id: ALICE.id, text: 'k', reply_markup: { inline_keyboard: [[{ text: 'plain' }]] } })).toEqual(
      bad("Bad Request: can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"),
    );
    expect(await call(server, 'sendMessage', { chat_id: 999, text: 'hi' })).toEqual(bad('Bad Request: chat not found'));
    expect(await call(server, 'sendMessage', { chat_id: ALICE.id, text: '<b>oops', parse_mode: 'HTML' })).toEqual(
      bad('Bad Request: can\'t parse entities: Can\'t find end tag corresponding to start tag "b"'),
    );
    expect(await call(server, 'sendMessage', { chat_id: ALICE.id, text: 'a < b', parse_mode: 'HTML' })).toEqual(
      bad('Bad Request: can\'t parse entities: Unsupported start tag "" at byte offset 2'),
    );
    expect(await call(server, 'sendMessage', { chat_id: ALICE.id, text: 'v1.2', parse_mode: 'MarkdownV2' })).toEqual(
      bad("Bad Request: can't parse entities: Character '.' is reserved and must be escaped with the preceding '\\'"),
    );

    const html = await call(server, 'sendMessage', { chat_id: ALICE.id, text: '  <b>Тревога</b> — <a href="https://example.org">план</a> &amp; <code>x</code> /help  ', parse_mode: 'HTML' });
    expect(html.body.result.text).toBe('Тревога — план & x /help');
    expect(html.body.result.entities).toEqual([
      { type: 'bold', offset: 0, length: 7 },
      { type: 'text_link', offset: 10, length: 4, url: 'https://example.org/' },
      { type: 'code', offset: 17, length: 1 },
      { type: 'bot_command', offset: 19, length: 5 },
    ]);
    const md = await call(server, 'sendMessage', { chat_id: ALICE.id, text: '*bold* _it_ __u__ ||sp|| `c` v1\\.2', parse_mode: 'MarkdownV2' });
    expect(md.body.result.text).toBe('bold it u sp c v1.2');
    expect(md.body.result.entities.map((e: { type: string }) => e.type)).toEqual(['bold', 'italic', 'underline', 'spoiler', 'code']);

    const sent = await call(server, 'sendMessage', { chat_id: ALICE.id, text: 'state', reply_markup: keyboard('a') });
    const id = sent.body.result.message_id as number;
    expect(await call(server, 'editMessageText', { chat_id: ALICE.id, message_id: id, text: 'state', reply_markup: keyboard('a') })).toEqual(
      bad('Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message'),
    );
    // Same text without reply_markup removes the keyboard: that is a modification.
    const noKb = await call(server, 'editMessageText', { chat_id: ALICE.id, message_id: id, text: 'state' });
    expect(noKb.status).toBe(200);
    expect(noKb.body.result.reply_markup).toBeUndefined();
    expect(await call(server, 'editMessageReplyMarkup', { chat_id: ALICE.id, message_id: id })).toEqual(
      bad('Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message'),
    );
    expect(await call(server, 'editMessageText', { chat_id: ALICE.id, message_id: 9999, text: 'x' })).toEqual(bad('Bad Request: message to edit not found'));
    expect(await call(server, 'deleteMessage', { chat_id: ALICE.id, message_id: 9999 })).toEqual(bad('Bad Request: message to delete not found'));
    expect((await call(server, 'deleteMessage', { chat_id: ALICE.id, message_id: id })).body).toEqual({ ok: true, result: true });
    expect(server.message(ALICE.id, id)?.deleted).toBe(true);
    expect(await call(server, 'answerCallbackQuery', { callback_query_id: 'nope' })).toEqual(
      bad('Bad Request: query is too old and response timeout expired or query ID is invalid'),
    );

    server.blockBot(BOB.id);
    expect(await call(server, 'sendMessage', { chat_id: BOB.id, text: 'hi' })).toEqual(bad('Forbidden: bot was blocked by the user', 403));
    server.blockBot(BOB.id, false);
    expect((await call(server, 'sendMessage', { chat_id: BOB.id, text: 'hi' })).status).toBe(200);

    expect(await call(server, 'getMe', {}, '1:WRONG')).toEqual(bad('Unauthorized', 401));
    expect(await call(server, 'sendTelepathy', {})).toEqual(bad('Not Found', 404));
    // Method names are case-insensitive, as on Telegram.
    expect((await call(server, 'getme')).body.result).toMatchObject({ id: 123456, is_bot: true, username: 'corrections_test_bot' });
  });

  it('accepts form-encoded and multipart parameters (uploads included)', async () => {
    const server = await start();
    server.addUser(ALICE);
    const form = new URLSearchParams({ chat_id: String(ALICE.id), text: 'form', reply_markup: JSON.stringify({ inline_keyboard: [[{ text: 'Go', callback_data: 'go' }]] }) });
    const res = await fetch(`${server.url}/bot${server.token}/sendMessage`, { method: 'POST', body: form });
    const body = (await res.json()) as { result: { reply_markup: unknown } };
    expect(body.result.reply_markup).toEqual({ inline_keyboard: [[{ text: 'Go', callback_data: 'go' }]] });
    const viaQuery = await fetch(`${server.url}/bot${server.token}/sendMessage?chat_id=${ALICE.id}&text=query`);
    expect(viaQuery.status).toBe(200);

    const bot = makeBot(server);
    const doc = await bot.telegram.sendDocument(ALICE.id, Input.fromBuffer(Buffer.from('incident report'), 'report.txt'), {
      caption: '<b>Report</b>',
      parse_mode: 'HTML',
      ...Markup.inlineKeyboard([Markup.button.callback('Ack', 'ack:1')]),
    });
    expect(doc.document).toMatchObject({ file_name: 'report.txt', file_size: 15 });
    expect(doc.caption).toBe('Report');
    expect(doc.reply_markup).toEqual({ inline_keyboard: [[{ text: 'Ack', callback_data: 'ack:1' }]] });
    const link = await bot.telegram.getFileLink(doc.document.file_id);
    const download = await fetch(link.href);
    expect(await download.text()).toBe('incident report');

    const photo = server.sendPhoto(ALICE.id, { caption: 'scene' });
    expect(photo.message.photo?.length).toBe(3);
    const file = await bot.telegram.getFile(photo.message.photo?.[2]?.file_id ?? '');
    expect(file.file_path).toMatch(/^photos\//);
  });
});

describe('fault injection', () => {
  it('failNext answers the given status once, and a delay without status answers late', async () => {
    const server = await start();
    server.addUser(ALICE);
    server.failNext('sendMessage', { status: 429, retryAfter: 3 });
    const first = await call(server, 'sendMessage', { chat_id: ALICE.id, text: 'a' });
    expect(first.body).toEqual({ ok: false, error_code: 429, description: 'Too Many Requests: retry after 3', parameters: { retry_after: 3 } });
    expect(server.messages(ALICE.id)).toHaveLength(0);
    expect((await call(server, 'sendMessage', { chat_id: ALICE.id, text: 'b' })).status).toBe(200);

    server.failNext('sendMessage', { status: 502, times: 2 });
    expect((await call(server, 'sendMessage', { chat_id: ALICE.id, text: 'c' })).status).toBe(502);
    const bot = makeBot(server);
    const err = await bot.telegram.sendMessage(ALICE.id, 'd').catch((e: unknown) => e);
    expect((err as TelegramError).code).toBe(502);
    server.failNext('sendMessage', { status: 403 });
    expect((await call(server, 'sendMessage', { chat_id: ALICE.id, text: 'e' })).body.description).toBe('Forbidden: bot was blocked by the user');

    server.failNext('sendMessage', { delayMs: 300 });
    const t0 = Date.now();
    let answered = false;
    const late = call(server, 'sendMessage', { chat_id: ALICE.id, text: 'late' }).finally(() => (answered = true));
    await server.waitForBotMessage(ALICE.id, (m) => m.text === 'late', { timeoutMs: 1000 });
    expect(answered).toBe(false); // stored right away...
    expect((await late).status).toBe(200); // ...answered late
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    expect(server.requests.filter((r) => r.fault).map((r) => r.fault)).toEqual(['429', '502', '502', '403', 'timeout']);
    server.clearFaults();
  });

  it('setFaultPlan is deterministic for a seed', async () => {
    const run = async (seed: number): Promise<number[]> => {
      const server = await start();
      server.addUser(ALICE);
      server.setFaultPlan({ rate: 0.3, seed, kinds: ['429', '500'], retryAfter: 1 });
      const statuses: number[] = [];
      for (let i = 0; i < 30; i++) statuses.push((await call(server, 'sendMessage', { chat_id: ALICE.id, text: `m${i}` })).status);
      // Methods outside the plan are untouched.
      expect((await call(server, 'getMe')).status).toBe(200);
      expect(server.messages(ALICE.id)).toHaveLength(statuses.filter((s) => s === 200).length);
      return statuses;
    };
    const a = await run(42);
    const b = await run(42);
    const c = await run(7);
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    expect(a.filter((s) => s !== 200).length).toBeGreaterThan(0);
    expect(new Set(a)).toEqual(new Set([200, 429, 500]));
  });
});

describe('getUpdates', () => {
  it('really long-polls, confirms by offset and answers 409 to the older poller', async () => {
    const server = await start();
    server.addUser(ALICE);
    let t0 = Date.now();
    const empty = await call(server, 'getUpdates', { timeout: 1 });
    expect(empty.body.result).toEqual([]);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(950);

    t0 = Date.now();
    const waiting = call(server, 'getUpdates', { timeout: 5 });
    setTimeout(() => server.sendText(ALICE.id, 'wake up'), 200);
    const got = await waiting;
    const elapsed = Date.now() - t0;
    expect(elapsed).toBeGreaterThanOrEqual(180);
    expect(elapsed).toBeLessThan(4000); // woke up on the update, not at the 5 s timeout
    expect(got.body.result).toHaveLength(1);
    const update = got.body.result[0];
    expect(update.message).toMatchObject({ text: 'wake up', chat: { id: ALICE.id, type: 'private' }, from: { id: ALICE.id, is_bot: false } });

    // Not confirmed yet: returned again. Confirmed with offset: gone.
    expect((await call(server, 'getUpdates')).body.result).toHaveLength(1);
    expect((await call(server, 'getUpdates', { offset: update.update_id + 1 })).body.result).toEqual([]);

    const older = call(server, 'getUpdates', { timeout: 5 });
    await new Promise((r) => setTimeout(r, 50));
    const newer = call(server, 'getUpdates', { timeout: 0 });
    expect(await older).toEqual({
      status: 409,
      body: { ok: false, error_code: 409, description: 'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running' },
    });
    expect((await newer).status).toBe(200);

    // allowed_updates filters what is created afterwards.
    await call(server, 'getUpdates', { allowed_updates: ['callback_query'] });
    expect(server.sendText(ALICE.id, 'filtered').delivered).toBe(false);
    await call(server, 'getUpdates', { allowed_updates: [] });
    // injectUpdate keeps a given update_id (redelivery of an already confirmed update).
    const injected = server.injectUpdate({ update_id: update.update_id, message: { message_id: 77, date: 0, chat: { id: ALICE.id, type: 'private' }, text: 'dup' } });
    expect(injected.updateId).toBe(update.update_id);
    const redelivered = await call(server, 'getUpdates', { offset: update.update_id + 1 });
    expect(redelivered.body.result.map((u: { update_id: number }) => u.update_id)).toEqual([update.update_id]);
  });
});

describe('control API for the sandbox page', () => {
  it('lists users, sends and presses as a user, and streams events over SSE', async () => {
    const server = await start();
    server.addUser(ALICE);
    const base = `${server.url}/sandbox/api`;
    const users = (await (await fetch(`${base}/users`)).json()) as Array<{ id: number }>;
    expect(users.map((u) => u.id)).toEqual([ALICE.id]);

    const ac = new AbortController();
    const sse = await fetch(`${base}/events`, { signal: ac.signal });
    expect(sse.headers.get('content-type')).toContain('text/event-stream');
    const reader = (sse.body as ReadableStream<Uint8Array>).getReader();
    let buffer = '';
    const nextEvent = async (kind: string): Promise<Record<string, unknown>> => {
      for (;;) {
        const frames = buffer.split('\n\n');
        for (let i = 0; i < frames.length - 1; i++) {
          const frame = frames[i] ?? '';
          if (frame.startsWith(`event: ${kind}\n`)) {
            buffer = frames.slice(i + 1).join('\n\n');
            return JSON.parse(frame.slice(frame.indexOf('data: ') + 6)) as Record<string, unknown>;
          }
        }
        const { value, done } = await reader.read();
        if (done) throw new Error('SSE closed');
        buffer += new TextDecoder().decode(value);
      }
    };
    cleanups.push(() => ac.abort());

    const post = (path: string, body: unknown) => fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const sent = await post(`/chats/${ALICE.id}/send`, { userId: ALICE.id, text: 'hello bot' });
    expect(sent.status).toBe(200);
    expect(await nextEvent('message')).toMatchObject({ chat_id: ALICE.id, text: 'hello bot', from_bot: false });

    const botMsg = await call(server, 'sendMessage', { chat_id: ALICE.id, text: 'Pick', reply_markup: { inline_keyboard: [[{ text: 'A', callback_data: 'a' }]] } });
    expect(await nextEvent('message')).toMatchObject({ text: 'Pick', from_bot: true });
    const pressed = (await (await post(`/chats/${ALICE.id}/press`, { userId: ALICE.id, messageId: botMsg.body.result.message_id, data: 'a' })).json()) as { callbackQueryId: string };
    await call(server, 'answerCallbackQuery', { callback_query_id: pressed.callbackQueryId, text: 'ok' });
    expect(await nextEvent('callback_answer')).toMatchObject({ callback_query_id: pressed.callbackQueryId, text: 'ok' });
    expect((await post(`/chats/${ALICE.id}/press`, { userId: ALICE.id, messageId: botMsg.body.result.message_id, data: 'zzz' })).status).toBe(400);

    expect((await post(`/chats/${ALICE.id}/location`, { userId: ALICE.id, latitude: 31.23, longitude: 121.47 })).status).toBe(200);
    const messages = (await (await fetch(`${base}/chats/${ALICE.id}/messages`)).json()) as Array<{ text?: string; location?: unknown }>;
    expect(messages.map((m) => m.text ?? m.location)).toEqual(['hello bot', 'Pick', { latitude: 31.23, longitude: 121.47 }]);
    expect((await post(`/chats/${ALICE.id}/send`, { userId: ALICE.id })).status).toBe(400);
  });
});

describe('static files for the page', () => {
  it('serves staticDir at / and extra routes, without escaping the folder', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sandbox-page-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    await writeFile(join(dir, 'index.html'), '<h1>Sandbox</h1>');
    await writeFile(join(dir, 'app.js'), 'console.log(1)');
    const server = await start({ staticDir: dir });
    server.registerStaticRoute('/assets', dir);
    const index = await fetch(`${server.url}/`);
    expect(index.headers.get('content-type')).toContain('text/html');
    expect(await index.text()).toBe('<h1>Sandbox</h1>');
    expect((await fetch(`${server.url}/assets/app.js`)).headers.get('content-type')).toContain('javascript');
    expect((await fetch(`${server.url}/%2e%2e/%2e%2e/etc/passwd`)).status).toBe(404);
  });
});

describe('waiting helpers', () => {
  it('reports the chat when nothing matches in time', async () => {
    const server = await start();
    server.addUser(ALICE);
    server.sendText(ALICE.id, 'anyone?');
    await expect(server.waitForBotMessage(ALICE.id, undefined, { timeoutMs: 100 })).rejects.toThrow(/#1 user Alice: "anyone\?"/);
    await server.waitForIdle({ quietMs: 50 });
  });
});
