/**
 * The conversation port (../../flows/conversation.ts) over one Telegram update: the flows' sends, redraws
 * and answers become Bot API calls of the update's own client (which goes through the one API pipeline).
 */
import type { ServerResponse } from 'node:http';
import { FileTooLarge, type Conversation } from '../../flows/conversation.js';
import type { Keyboard } from '../../flows/ui.js';
import { chatKindOf, type BotContext } from './context.js';
import { setStaffMenu } from './commands.js';
import { markup } from './keyboards.js';
import { groupViewerOf } from './duty-groups.js';
import { loggableError } from './log-safe.js';
import { TELEGRAM_CAPABILITIES } from './capabilities.js';
import { isNotModified, redrawCardIn, sendCard } from './views/card-messages.js';

const NO_PREVIEW = { is_disabled: true } as const;

/** The update's conversation, made once per update. */
export function conversationOf(ctx: BotContext): Conversation {
  if (ctx.conversation) return ctx.conversation;
  const chatId = ctx.chat?.id ?? ctx.from?.id ?? 0;
  const keyboard = (rows?: Keyboard) => (rows ? markup(rows) : undefined);
  // A duty group's card reads the bureau's language, as its notices do; a presser's answers read theirs.
  const cardLang = () => (ctx.dutyGroup ? 'zh' : ctx.lang);
  const conv: Conversation = {
    channel: 'telegram',
    capabilities: TELEGRAM_CAPABILITIES,
    deps: ctx.deps,
    get who() {
      return ctx.who;
    },
    set who(value) {
      ctx.who = value;
    },
    get lang() {
      return ctx.lang;
    },
    set lang(value) {
      ctx.lang = value;
    },
    chatId,
    userId: ctx.from?.id ?? chatId,
    chatKind: chatKindOf(ctx),
    pressedMessageId: ctx.callbackQuery?.message?.message_id,
    isPress: ctx.callbackQuery !== undefined,
    get answered() {
      return ctx.cbAnswered === true;
    },

    async send(text, rows) {
      const reply_markup = keyboard(rows);
      const sent = await ctx.telegram.sendMessage(chatId, text, { parse_mode: 'HTML', link_preview_options: NO_PREVIEW, ...(reply_markup ? { reply_markup } : {}) });
      return sent.message_id;
    },

    async edit(messageId, text, rows) {
      try {
        await ctx.telegram.editMessageText(chatId, messageId, undefined, text, { parse_mode: 'HTML', link_preview_options: NO_PREVIEW, reply_markup: markup(rows ?? []) });
      } catch (err) {
        if (!isNotModified(err)) throw err;
      }
    },

    async show(text, rows) {
      const pressed = ctx.callbackQuery?.message?.message_id;
      if (pressed === undefined) return conv.send(text, rows);
      await conv.edit(pressed, text, rows);
      return pressed;
    },

    async retire(messageId, text) {
      const call = text
        ? ctx.telegram.editMessageText(chatId, messageId, undefined, text, { parse_mode: 'HTML', reply_markup: { inline_keyboard: [] } })
        : ctx.telegram.editMessageReplyMarkup(chatId, messageId, undefined, { inline_keyboard: [] });
      await call.catch((err: unknown) => {
        if (!isNotModified(err)) ctx.deps.logger.debug({ err: loggableError(err), chatId, messageId }, 'could not close an old message');
      });
    },

    async answer(text, alert = false) {
      if (!ctx.callbackQuery || ctx.cbAnswered) return;
      ctx.cbAnswered = true;
      await ctx.answerCbQuery(text, alert ? { show_alert: true } : undefined).catch((err: unknown) => {
        // A query older than about 15 s can no longer be answered; the edit that follows still shows the result.
        ctx.deps.logger.debug({ err: loggableError(err), updateId: ctx.update.update_id }, 'answerCallbackQuery failed');
      });
    },

    async fetchFile(fileId, maxBytes) {
      const link = await ctx.telegram.getFileLink(fileId);
      const response = await fetch(link);
      if (!response.ok) throw new Error(`file download failed: ${response.status}`);
      const declared = Number(response.headers.get('content-length') ?? '0');
      if (declared > maxBytes) throw new FileTooLarge(maxBytes);
      const data = Buffer.from(await response.arrayBuffer());
      if (data.length > maxBytes) throw new FileTooLarge(maxBytes);
      return data;
    },

    async sendDocument(file, caption) {
      await ctx.telegram.sendDocument(chatId, { source: file.data, filename: file.filename }, caption ? { caption, parse_mode: 'HTML' } : undefined);
    },

    async sendCard(incidentId) {
      if (!ctx.who) return undefined;
      const viewer = (await groupViewerOf(ctx)) ?? { actor: ctx.who.actor, chatKind: chatKindOf(ctx) };
      return sendCard(ctx.telegram, ctx.deps, chatId, incidentId, viewer, cardLang());
    },

    async redrawCard(incidentId, opts = {}) {
      const messageId = opts.messageId ?? ctx.callbackQuery?.message?.message_id;
      if (messageId === undefined || !ctx.who) return;
      // A duty group's card keeps the group's view whoever pressed: the presser's rights are checked, not drawn.
      const viewer = (await groupViewerOf(ctx)) ?? { actor: ctx.who.actor, chatKind: chatKindOf(ctx) };
      await redrawCardIn(ctx.telegram, ctx.deps, chatId, messageId, incidentId, viewer, cardLang(), opts.focus);
    },

    async refreshMenu() {
      if (ctx.who) await setStaffMenu(ctx.telegram, ctx.deps.logger, chatId, ctx.who.actor, ctx.lang);
    },

    askForRedelivery() {
      // telegraf gives each update's Telegram client the webhook's response (`webhookReply`) and ends it
      // with 200 after bot.catch, keeping the status set here: Telegram then delivers the update again.
      const response = (ctx.telegram as unknown as { response?: ServerResponse }).response;
      if (response && !response.headersSent) response.statusCode = 503;
    },
  };
  ctx.conversation = conv;
  return conv;
}
