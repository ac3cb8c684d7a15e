/**
 * Sending or redrawing each chat's card of an incident (where it is: the card-message repository): a
 * press on the card edits that message; opening the card again moves it to the bottom of the chat and
 * leaves a one-line pointer where it was, so there is one live card per incident per chat.
 */
import { loggableError } from '../log-safe.js';
import { Telegram } from 'telegraf';
import { cardMessageOf, recordCardMessage } from '../../../db/repositories/card-message.repository.js';
import type { Actor } from '../../../domain/index.js';
import { chatKindOf, type BotContext, type BotDeps } from '../context.js';
import { t, type Lang } from '../../../i18n/index.js';
import { loadIncidentCardView, renderIncidentCard, type CardFocus } from './incident-card.js';

// Still exported from here for the channel index, which re-exports them.
export { cardMessageOf, recordCardMessage };

/** Telegram answers 400 "message is not modified" to an edit that changes nothing: that is success. */
export function isNotModified(err: unknown): boolean {
  return /message is not modified/i.test(String((err as { description?: string }).description ?? (err as Error).message ?? ''));
}

/** Shows an incident's card in a chat from outside an update (the trainer's drill): a client of its own for the call. */
export function sendCardFromOutside(deps: BotDeps, chatId: number, incidentId: string, viewer: { actor: Actor; chatKind?: 'private' | 'group' }, lang: Lang): Promise<number | undefined> {
  return sendCard(new Telegram(deps.botToken, { apiRoot: deps.telegramApiRoot }), deps, chatId, incidentId, viewer, lang);
}

/** Sends the card as a new message; the previous card in this chat becomes a pointer to it. */
export async function sendCard(
  telegram: Telegram,
  deps: BotDeps,
  chatId: number,
  incidentId: string,
  viewer: { actor: Actor; chatKind?: 'private' | 'group' },
  lang: Lang,
): Promise<number | undefined> {
  const view = await loadIncidentCardView(deps.db, incidentId, deps.cipher);
  if (!view) return undefined;
  const now = deps.clock.now();
  const card = renderIncidentCard(view, viewer, lang, now, deps.timeZone, deps.piiMode);
  const previous = await cardMessageOf(deps.db, incidentId, chatId);
  const sent = await telegram.sendMessage(chatId, card.text, { parse_mode: 'HTML', reply_markup: card.reply_markup, link_preview_options: { is_disabled: true } });
  await recordCardMessage(deps.db, incidentId, chatId, sent.message_id, view.incident.version, now);
  if (previous && previous.messageId !== sent.message_id) {
    await telegram
      .editMessageText(chatId, previous.messageId, undefined, t(lang, 'card.moved', { number: view.incident.number }), { reply_markup: { inline_keyboard: [] } })
      .catch((err: unknown) => deps.logger.debug({ err: loggableError(err), incidentId, incident: view.incident.number, chatId }, 'could not retire an old card'));
  }
  return sent.message_id;
}

/** Redraws the card in a given message of a chat (optionally showing a step's actions). */
export async function redrawCardIn(
  telegram: Telegram,
  deps: BotDeps,
  chatId: number,
  messageId: number,
  incidentId: string,
  viewer: { actor: Actor; chatKind?: 'private' | 'group' },
  lang: Lang,
  focus?: CardFocus,
): Promise<void> {
  const view = await loadIncidentCardView(deps.db, incidentId, deps.cipher);
  if (!view) return;
  const now = deps.clock.now();
  const card = renderIncidentCard(view, viewer, lang, now, deps.timeZone, deps.piiMode, focus);
  try {
    await telegram.editMessageText(chatId, messageId, undefined, card.text, {
      parse_mode: 'HTML',
      reply_markup: card.reply_markup,
      link_preview_options: { is_disabled: true },
    });
  } catch (err) {
    if (!isNotModified(err)) throw err;
  }
  await recordCardMessage(deps.db, incidentId, chatId, messageId, view.incident.version, now);
}

/** Redraws the card in the message whose button was pressed. */
export async function redrawCardHere(ctx: BotContext, incidentId: string, focus?: CardFocus): Promise<void> {
  const message = ctx.callbackQuery?.message;
  const chatId = ctx.chat?.id;
  if (!message || chatId === undefined || !ctx.who) return;
  await redrawCardIn(ctx.telegram, ctx.deps, chatId, message.message_id, incidentId, { actor: ctx.who.actor, chatKind: chatKindOf(ctx) }, ctx.lang, focus);
}
