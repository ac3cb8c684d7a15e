/**
 * /screen: the screenings due among your subjects (or one subject by code); pick the result — stable,
 * watch, unstable — then type the note, in a form of the engine. Unstable raises the risk level (and puts
 * the subject in the digest).
 */
import { z } from 'zod';
import { chatKindOf, type BotContext } from '../../channels/telegram/context.js';
import type { CallbackData } from '../../channels/telegram/callback-data.js';
import { escapeHtml, truncate } from '../../channels/telegram/html.js';
import { button, markup } from '../../channels/telegram/keyboards.js';
import type { MessageKey } from '../../i18n/index.js';
import { findSubject, findSubjectByCode } from '../../db/repositories/subject.repository.js';
import { subjectLabel } from '../../domain/pii.js';
import { isScreeningResult, MAX_SCREENING_NOTE_CHARS, SCREENING_RESULTS } from '../../domain/prevention.js';
import { canSeeOffice } from '../../domain/roles.js';
import { ServiceRefusal } from '../../services/errors.js';
import { dueScreeningsFor, logScreening } from '../../services/screening.service.js';
import type { Flow, FlowEngine } from '../engine.js';
import { choiceStep, textStep } from '../steps/index.js';
import { commandArgs, m, reply } from './common.js';

/** The subject as this chat may show them, if within the user's reach. */
async function labelOf(ctx: BotContext, subjectId: string): Promise<string | undefined> {
  const s = await findSubject(ctx.deps.db, subjectId);
  if (!s || !canSeeOffice(ctx.who!.actor, s.officeUnitId)) return undefined;
  return subjectLabel({ code: s.code, name: ctx.deps.cipher.decrypt(s.nameEnc) }, ctx.deps.piiMode, chatKindOf(ctx));
}

async function subjectText(ctx: BotContext, subjectId: string): Promise<string> {
  const label = await labelOf(ctx, subjectId);
  if (label === undefined) throw new ServiceRefusal('not_found');
  return escapeHtml(label);
}

const resultName = (ctx: BotContext, result: string) => m(ctx, `scr.result.${result}` as MessageKey);

export const screeningData = z.object({ subjectId: z.uuid(), result: z.enum(SCREENING_RESULTS).optional() });
export type ScreeningData = z.infer<typeof screeningData>;

/** The result (`result`), then the note (`note`). */
export const screeningFlow: Flow<ScreeningData> = {
  name: 'screening',
  version: 1,
  data: screeningData,
  steps: {
    result: choiceStep<ScreeningData>({
      ask: async (env, data) => env.say('scr.choose_result', { subject: await subjectText(env.ctx, data.subjectId) }),
      choices: (env) => SCREENING_RESULTS.map((r) => ({ key: r, text: resultName(env.ctx, r) })),
      perRow: SCREENING_RESULTS.length,
      then: (_env, data, { key }) => (isScreeningResult(key) ? { next: 'note', data: { ...data, result: key } } : { stay: true }),
    }),
    note: textStep<ScreeningData>({
      prompt: async (env, data) => ({
        text: env.say('scr.note_prompt', { subject: await subjectText(env.ctx, data.subjectId), result: resultName(env.ctx, data.result ?? '') }),
      }),
      blank: 'flow.text_expected',
      max: MAX_SCREENING_NOTE_CHARS,
      quiet: true,
      then: (env, data, note) => ({
        finish: async () => {
          if (!data.result) throw new ServiceRefusal('not_found');
          const result = data.result;
          const logged = await logScreening(env.deps, env.who.actor, { subjectId: data.subjectId, result, note });
          const risk = (r: string) => env.say(`scr.risk.${r}` as MessageKey);
          return async () => {
            await env.ctx.reply(
              logged.riskAfter !== logged.riskBefore
                ? env.say('scr.logged_raised', { result: resultName(env.ctx, result), before: risk(logged.riskBefore), after: risk(logged.riskAfter) })
                : env.say('scr.logged', { result: resultName(env.ctx, result), risk: risk(logged.riskAfter) }),
            );
          };
        },
      }),
    }),
  },
};

export async function onScreenCommand(ctx: BotContext, engine: FlowEngine): Promise<void> {
  const code = commandArgs(ctx);
  if (code) {
    const s = await findSubjectByCode(ctx.deps.db, code);
    if (!s || (await labelOf(ctx, s.id)) === undefined) {
      await ctx.reply(m(ctx, 'scr.no_subject', { code }));
      return;
    }
    await engine.start(ctx, screeningFlow, 'result', { subjectId: s.id });
    return;
  }
  const due = await dueScreeningsFor(ctx.deps, ctx.who!.actor);
  if (due.length === 0) {
    await ctx.reply(m(ctx, 'scr.none_due'));
    return;
  }
  const rows = [];
  for (const d of due.slice(0, 20)) {
    const label = await labelOf(ctx, d.subjectId);
    if (label === undefined) continue;
    rows.push([button(truncate(m(ctx, 'scr.due_item', { subject: label, risk: m(ctx, `scr.risk.${d.riskLevel}` as MessageKey), due: d.dueDate.slice(5) }), 60), { a: 'scr', i: d.subjectId, k: 'pick' })]);
  }
  await reply(ctx, { text: m(ctx, 'scr.due_title', { count: due.length }), reply_markup: markup(rows) });
}

/** A subject picked from the list due (`pick`), or a result pressed on a list drawn before the form (`<result>`). */
export async function onScreenButton(ctx: BotContext, engine: FlowEngine, cb: CallbackData): Promise<void> {
  if (!cb.i || !cb.k) throw new ServiceRefusal('invalid_input');
  if ((await labelOf(ctx, cb.i)) === undefined) throw new ServiceRefusal('not_found');
  if (cb.k === 'pick') {
    await engine.start(ctx, screeningFlow, 'result', { subjectId: cb.i }, { edit: true });
    return;
  }
  if (!isScreeningResult(cb.k)) throw new ServiceRefusal('invalid_input');
  await engine.start(ctx, screeningFlow, 'note', { subjectId: cb.i, result: cb.k }, { edit: true });
}
