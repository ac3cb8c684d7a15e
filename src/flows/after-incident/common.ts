/**
 * What the after-incident chat handlers share: the one text input a chat may be waiting for (kept in
 * flow_states under its own flow name, never touching another flow's state), replies and edits in HTML,
 * and refusals rendered from the catalogue.
 */
import { and, eq } from 'drizzle-orm';
import type { InlineKeyboardMarkup } from 'telegraf/types';
import { z } from 'zod';
import { answerCallback, type BotContext } from '../../channels/telegram/context.js';
import { escapeHtml, truncate } from '../../channels/telegram/html.js';
import { hasMessage, t, type MessageKey, type Params } from '../../i18n/index.js';
import { findIncidentByNumber, type IncidentRow } from '../../db/repositories/incident.repository.js';
import { flowStates } from '../../db/schema.js';
import { MAX_SEND_BACK_COMMENT_CHARS, ReleaseError } from '../../domain/public-release.js';
import { canReadIncidentPapers } from '../../domain/roles.js';
import { WrittenReportError } from '../../domain/written-report.js';
import { ServiceRefusal } from '../../services/errors.js';
import { clearFlowState, saveFlowState } from '../../services/flow-state.js';

export const INPUT_FLOW = 'after_incident';
const INPUT_VERSION = 1;

const uuid = z.uuid();

/** What the chat is waiting for the user to type next. */
export const pendingInputSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('wr_edit'), reportId: uuid, section: z.string().max(24), version: z.number().int() }),
  z.object({ kind: z.literal('wr_return'), reportId: uuid, version: z.number().int() }),
  z.object({ kind: z.literal('rel_draft'), incidentId: uuid }),
  z.object({ kind: z.literal('rel_edit'), releaseId: uuid }),
  z.object({ kind: z.literal('rel_return'), releaseId: uuid }),
  z.object({ kind: z.literal('finding_reason'), incidentId: uuid, rule: z.enum(['false_report', 'concealed_report']), who: z.enum(['office', 'reporter']) }),
  z.object({ kind: z.literal('screen_note'), subjectId: uuid, result: z.enum(['stable', 'watch', 'unstable']) }),
  z.object({ kind: z.literal('county_add'), incidentId: uuid }),
  z.object({ kind: z.literal('county_how'), notificationId: uuid }),
  z.object({ kind: z.literal('county_receipt'), notificationId: uuid, how: z.string().max(500) }),
]);
export type PendingInput = z.infer<typeof pendingInputSchema>;

export const m = (ctx: BotContext, key: MessageKey, params?: Params) => t(ctx.lang, key, params);

/** The input this chat waits for, if it is ours; another flow's state is left untouched. */
export async function pendingInput(ctx: BotContext): Promise<PendingInput | undefined> {
  const chatId = ctx.chat?.id;
  if (chatId === undefined) return undefined;
  const [row] = await ctx.deps.db.select().from(flowStates).where(and(eq(flowStates.chatId, chatId), eq(flowStates.flow, INPUT_FLOW)));
  if (!row) return undefined;
  const parsed = pendingInputSchema.safeParse(row.data);
  if (row.version !== INPUT_VERSION || !parsed.success || row.expiresAt.getTime() <= ctx.deps.clock.now().getTime() || Number(row.userId) !== ctx.from?.id) {
    await ctx.deps.db.delete(flowStates).where(and(eq(flowStates.chatId, chatId), eq(flowStates.flow, INPUT_FLOW)));
    await ctx.reply(m(ctx, 'ai.input_expired'));
    return undefined;
  }
  return parsed.data;
}

export async function awaitInput(ctx: BotContext, input: PendingInput): Promise<void> {
  await saveFlowState(ctx.deps.db, ctx.chat!.id, ctx.from!.id, { flow: INPUT_FLOW, version: INPUT_VERSION, step: input.kind, data: input }, ctx.deps.clock.now(), ctx.deps.flowTtlSeconds ?? 24 * 3600);
}

export async function clearInput(ctx: BotContext): Promise<void> {
  await clearFlowState(ctx.deps.db, ctx.chat!.id);
}

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
      if (/message is not modified/i.test(String((err as { description?: string }).description ?? (err as Error).message))) return;
      throw err;
    }
  }
  await reply(ctx, view);
}

export async function sendFile(ctx: BotContext, file: { filename: string; data: Buffer }, caption?: string): Promise<void> {
  await ctx.replyWithDocument({ source: file.data, filename: file.filename }, caption ? { caption, parse_mode: 'HTML' } : undefined);
}

/** A refusal as the user reads it; undefined for anything that is not a refusal (a real error). */
export function refusalText(ctx: BotContext, err: unknown): string | undefined {
  if (err instanceof ServiceRefusal) {
    const key = `refuse.${err.code}`;
    return hasMessage(key) ? m(ctx, key) : m(ctx, 'refuse.invalid_input');
  }
  if (err instanceof WrittenReportError) {
    const sections = err.detail.map((k) => (hasMessage(`wr.section.${k}`) ? m(ctx, `wr.section.${k}` as MessageKey) : k)).join('、');
    return m(ctx, `wr.refuse.${err.reason}` as MessageKey, { sections });
  }
  if (err instanceof ReleaseError) return m(ctx, `rel.refuse.${err.reason}` as MessageKey, { max: MAX_SEND_BACK_COMMENT_CHARS });
  return undefined;
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
    const text = refusalText(ctx, err);
    if (text === undefined) throw err;
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
