/**
 * /screen: the screenings due among your subjects (or one subject by code); pick the result — stable,
 * watch, unstable — then type the note. Unstable raises the risk level (and puts the subject in the
 * digest).
 */
import { and, eq } from 'drizzle-orm';
import type { BotContext } from '../../channels/telegram/context.js';
import type { CallbackData } from '../../channels/telegram/callback-data.js';
import { escapeHtml, truncate } from '../../channels/telegram/html.js';
import { button, markup } from '../../channels/telegram/keyboards.js';
import type { MessageKey } from '../../i18n/index.js';
import { subjects } from '../../db/schema.js';
import { subjectLabel } from '../../domain/pii.js';
import { isScreeningResult, SCREENING_RESULTS } from '../../domain/prevention.js';
import { canSeeOffice } from '../../domain/roles.js';
import { ServiceRefusal } from '../../services/errors.js';
import { dueScreeningsFor, logScreening } from '../../services/screening.service.js';
import { awaitInput, clearInput, commandArgs, m, reply, show, type PendingInput } from './common.js';

async function labelOf(ctx: BotContext, subjectId: string): Promise<{ label: string; officeUnitId: string } | undefined> {
  const [s] = await ctx.deps.db.select().from(subjects).where(eq(subjects.id, subjectId));
  if (!s || !canSeeOffice(ctx.who!.actor, s.officeUnitId)) return undefined;
  return { label: subjectLabel({ code: s.code, name: ctx.deps.cipher.decrypt(s.nameEnc) }, ctx.deps.piiMode, ctx.chat?.type === 'private' ? 'private' : 'group'), officeUnitId: s.officeUnitId };
}

function resultButtons(ctx: BotContext, subjectId: string) {
  return markup([SCREENING_RESULTS.map((r) => button(m(ctx, `scr.result.${r}` as MessageKey), { a: 'scr', i: subjectId, k: r }))]);
}

export async function onScreenCommand(ctx: BotContext): Promise<void> {
  const code = commandArgs(ctx);
  if (code) {
    const [s] = await ctx.deps.db.select({ id: subjects.id }).from(subjects).where(and(eq(subjects.code, code)));
    const found = s ? await labelOf(ctx, s.id) : undefined;
    if (!s || !found) {
      await ctx.reply(m(ctx, 'scr.no_subject', { code }));
      return;
    }
    await reply(ctx, { text: m(ctx, 'scr.choose_result', { subject: escapeHtml(found.label) }), reply_markup: resultButtons(ctx, s.id) });
    return;
  }
  const due = await dueScreeningsFor(ctx.deps, ctx.who!.actor);
  if (due.length === 0) {
    await ctx.reply(m(ctx, 'scr.none_due'));
    return;
  }
  const rows = [];
  for (const d of due.slice(0, 20)) {
    const l = await labelOf(ctx, d.subjectId);
    if (!l) continue;
    rows.push([button(truncate(m(ctx, 'scr.due_item', { subject: l.label, risk: m(ctx, `scr.risk.${d.riskLevel}` as MessageKey), due: d.dueDate.slice(5) }), 60), { a: 'scr', i: d.subjectId, k: 'pick' })]);
  }
  await reply(ctx, { text: m(ctx, 'scr.due_title', { count: due.length }), reply_markup: markup(rows) });
}

export async function onScreenButton(ctx: BotContext, cb: CallbackData): Promise<void> {
  if (!cb.i || !cb.k) throw new ServiceRefusal('invalid_input');
  const l = await labelOf(ctx, cb.i);
  if (!l) throw new ServiceRefusal('not_found');
  if (cb.k === 'pick') return show(ctx, { text: m(ctx, 'scr.choose_result', { subject: escapeHtml(l.label) }), reply_markup: resultButtons(ctx, cb.i) });
  if (!isScreeningResult(cb.k)) throw new ServiceRefusal('invalid_input');
  await awaitInput(ctx, { kind: 'screen_note', subjectId: cb.i, result: cb.k });
  await show(ctx, { text: `${m(ctx, 'scr.note_prompt', { subject: escapeHtml(l.label), result: m(ctx, `scr.result.${cb.k}` as MessageKey) })}\n\n${m(ctx, 'ai.cancel_hint')}` });
}

export async function onScreenInput(ctx: BotContext, input: Extract<PendingInput, { kind: 'screen_note' }>, text: string): Promise<void> {
  const logged = await logScreening(ctx.deps, ctx.who!.actor, { subjectId: input.subjectId, result: input.result, note: text });
  await clearInput(ctx);
  const risk = (r: string) => m(ctx, `scr.risk.${r}` as MessageKey);
  await ctx.reply(
    logged.riskAfter !== logged.riskBefore
      ? m(ctx, 'scr.logged_raised', { result: m(ctx, `scr.result.${input.result}` as MessageKey), before: risk(logged.riskBefore), after: risk(logged.riskAfter) })
      : m(ctx, 'scr.logged', { result: m(ctx, `scr.result.${input.result}` as MessageKey), risk: risk(logged.riskAfter) }),
  );
}
