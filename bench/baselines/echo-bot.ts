/**
 * Baseline for P1: a bare telegraf bot that echoes, in webhook mode like the product, against the same
 * Bot API stand-in. No database, no Redis, no session: what any telegraf bot costs per update on this
 * machine today. A text gets its echo with one button; a press edits that message.
 *
 * Env: BOT_TOKEN, TELEGRAM_API_ROOT, WEBHOOK_SECRET. Tells the parent `{ type: 'ready', url }` over IPC.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Telegraf } from 'telegraf';

const token = process.env.BOT_TOKEN!;
const apiRoot = process.env.TELEGRAM_API_ROOT!;
const secret = process.env.WEBHOOK_SECRET!;

const bot = new Telegraf(token, { telegram: { apiRoot } });
let n = 0;
bot.on('text', async (ctx) => {
  n++;
  await ctx.reply(`echo: ${ctx.message.text}`, { reply_markup: { inline_keyboard: [[{ text: 'again', callback_data: `f::echo:${n}` }]] } });
});
bot.on('callback_query', async (ctx) => {
  const data = 'data' in ctx.callbackQuery ? ctx.callbackQuery.data : '';
  await ctx.editMessageText(`pressed: ${data}`, { reply_markup: { inline_keyboard: [[{ text: 'again', callback_data: `f::echo:${++n}` }]] } });
  await ctx.answerCbQuery();
});
bot.catch((err) => {
  process.stderr.write(`echo bot error: ${String(err)}\n`);
});

const server = http.createServer(bot.webhookCallback('/tg', { secretToken: secret }));
server.listen(0, '127.0.0.1', async () => {
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/tg`;
  await bot.telegram.setWebhook(url, { secret_token: secret, max_connections: 40 });
  process.send?.({ type: 'ready', url });
});

process.on('SIGTERM', () => {
  server.close();
  process.exit(0);
});
