/**
 * What the after-incident views share: replies and edits in HTML, refused presses and commands told from
 * the one refusal map, the incident a command names, and 【演练】. Their inputs are flows of the one
 * engine (../engine.ts), like every other form.
 */
import type { InlineKeyboardMarkup } from 'telegraf/types';
import { answerCallback, type BotContext } from '../../channels/telegram/context.js';
import { escapeHtml, truncate } from '../../channels/telegram/html.js';
import { isNotModified } from '../../channels/telegram/views/card-messages.js';
import { t, type MessageKey, type Params } from '../../i18n/index.js';
import { findIncidentByNumber, type IncidentRow } from '../../db/repositories/incident.repository.js';
import { canReadIncidentPapers } from '../../domain/roles.js';
import { isRefusal, refusalText } from '../refusals.js';

export const m = (ctx: BotContext, key: MessageKey, params?: Params) => t(ctx.lang, key, params);

export interface View {
  text: string;
  reply_markup?: InlineKeyboardMarkup;
}

export async function reply(ctx: BotContext, view: View): Promise<void> {
  await ctx.reply(view.text, { parse_mode: 'HTML', link_preview_options: { is_disabled: true }, ...(view.reply_markup ? { reply_markup: view.reply_markup } : {}) });
}

/** Edits the message the pressed button is on; without one (a command), sends a new message. */
export async function show(ctx: BotContext, view: View): Promise<void> {
  if (ctx.callbackQuery?.message) {
    try {
      await ctx.editMessageText(view.text, { parse_mode: 'HTML', link_preview_options: { is_disabled: true }, reply_markup: view.reply_markup ?? { inline_keyboard: [] } });
      return;
    } catch (err) {
      if (isNotModified(err)) return;
      throw err;
    }
  }
  await reply(ctx, view);
}

export async function sendFile(ctx: BotContext, file: { filename: string; data: Buffer }, caption?: string): Promise<void> {
  await ctx.replyWithDocument({ source: file.data, filename: file.filename }, caption ? { caption, parse_mode: 'HTML' } : undefined);
}

/**
 * Runs a handler; a refusal is told to the user (as a callback alert when a button was pressed) and
 * the update counts as handled. Anything else goes on to the bot's error handler.
 */
export async function guarded(ctx: BotContext, run: () => Promise<void>): Promise<void> {
  try {
    await run();
    await answerCallback(ctx);
  } catch (err) {
    if (!isRefusal(err)) throw err;
    const text = refusalText(ctx.lang, err);
    if (ctx.callbackQuery) await answerCallback(ctx, text, true);
    else await ctx.reply(text);
  }
}

/** The incident a command names by its number (`/wr 2026-0042`), if the user may see it. */
export async function incidentByNumber(ctx: BotContext, text: string | undefined): Promise<IncidentRow | undefined> {
  const number = (text ?? '').trim();
  if (!/^\d{4}-\d{4,}$/.test(number)) return undefined;
  const incident = await findIncidentByNumber(ctx.deps.db, number);
  if (!incident || !ctx.who) return undefined;
  if (!canReadIncidentPapers(ctx.who.actor, incident.officeUnitId)) return undefined;
  return incident;
}

/** The argument after a command: `/wr 2026-0001` → `2026-0001`. */
export function commandArgs(ctx: BotContext): string {
  const text = ctx.message && 'text' in ctx.message ? ctx.message.text : '';
  return text.replace(/^\/\S+\s*/, '').trim();
}

/** A user's free text inside a message. */
export const quote = (text: string, max = 200) => escapeHtml(truncate(text.trim(), max));

/** 【演练】 in front of anything about a drill incident. */
export function drillMark(ctx: BotContext, isDrill: boolean): string {
  return isDrill ? escapeHtml(m(ctx, 'drill.prefix')) : '';
}

/** The longest text an after-incident prompt takes, in characters (a Telegram message is at most 4096). */
export const MAX_INPUT_CHARS = 4000;
