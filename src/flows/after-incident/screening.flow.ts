/**
 * /screen: the screenings due among your subjects (or one subject by code); pick the result — stable,
 * watch, unstable — then type the note, in a form of the engine. Unstable raises the risk level (and puts
 * the subject in the digest).
 */
import { z } from 'zod';
import type { ButtonAction } from '../actions.js';
import { whoOf, type Conversation } from '../conversation.js';
import { button, type Keyboard } from '../ui.js';
import { escapeHtml, truncate } from '../../i18n/markup.js';
import type { MessageKey } from '../../i18n/index.js';
import { findSubject, findSubjectByCode } from '../../db/repositories/subject.repository.js';
import { subjectLabel } from '../../domain/pii.js';
import { isScreeningResult, MAX_SCREENING_NOTE_CHARS, SCREENING_RESULTS } from '../../domain/prevention.js';
import { canSeeOffice } from '../../domain/roles.js';
import { ServiceRefusal } from '../../services/errors.js';
import { dueScreeningsFor, logScreening } from '../../services/screening.service.js';
import type { Flow, FlowEngine } from '../engine.js';
import { choiceStep, textStep } from '../steps/index.js';
import { m, reply } from './common.js';

/** The subject as this chat may show them, if within the user's reach. */
async function labelOf(conv: Conversation, subjectId: string): Promise<string | undefined> {
  const s = await findSubject(conv.deps.db, subjectId);
  if (!s || !canSeeOffice(whoOf(conv).actor, s.officeUnitId)) return undefined;
  return subjectLabel({ code: s.code, name: conv.deps.cipher.decrypt(s.nameEnc) }, conv.deps.piiMode, conv.chatKind);
}

async function subjectText(conv: Conversation, subjectId: string): Promise<string> {
  const label = await labelOf(conv, subjectId);
  if (label === undefined) throw new ServiceRefusal('not_found');
  return escapeHtml(label);
}

const resultName = (conv: Conversation, result: string) => m(conv, `scr.result.${result}` as MessageKey);

export const screeningData = z.object({ subjectId: z.uuid(), result: z.enum(SCREENING_RESULTS).optional() });
export type ScreeningData = z.infer<typeof screeningData>;

/** The result (`result`), then the note (`note`). */
export const screeningFlow: Flow<ScreeningData> = {
  name: 'screening',
  version: 1,
  data: screeningData,
  steps: {
    result: choiceStep<ScreeningData>({
      ask: async (env, data) => env.say('scr.choose_result', { subject: await subjectText(env.conv, data.subjectId) }),
      choices: (env) => SCREENING_RESULTS.map((r) => ({ key: r, text: resultName(env.conv, r) })),
      perRow: SCREENING_RESULTS.length,
      then: (_env, data, { key }) => (isScreeningResult(key) ? { next: 'note', data: { ...data, result: key } } : { stay: true }),
    }),
    note: textStep<ScreeningData>({
      prompt: async (env, data) => ({
        text: env.say('scr.note_prompt', { subject: await subjectText(env.conv, data.subjectId), result: resultName(env.conv, data.result ?? '') }),
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
            await env.conv.send(
              logged.riskAfter !== logged.riskBefore
                ? env.say('scr.logged_raised', { result: resultName(env.conv, result), before: risk(logged.riskBefore), after: risk(logged.riskAfter) })
                : env.say('scr.logged', { result: resultName(env.conv, result), risk: risk(logged.riskAfter) }),
            );
          };
        },
      }),
    }),
  },
};

export async function onScreenCommand(conv: Conversation, args: string, engine: FlowEngine): Promise<void> {
  const code = args.trim();
  if (code) {
    const s = await findSubjectByCode(conv.deps.db, code);
    if (!s || (await labelOf(conv, s.id)) === undefined) {
      // The code as typed, shown as text.
      await conv.send(m(conv, 'scr.no_subject', { code: escapeHtml(code) }));
      return;
    }
    await engine.start(conv, screeningFlow, 'result', { subjectId: s.id });
    return;
  }
  const due = await dueScreeningsFor(conv.deps, whoOf(conv).actor);
  if (due.length === 0) {
    await conv.send(m(conv, 'scr.none_due'));
    return;
  }
  const rows: Keyboard = [];
  for (const d of due.slice(0, 20)) {
    const label = await labelOf(conv, d.subjectId);
    if (label === undefined) continue;
    rows.push([button(truncate(m(conv, 'scr.due_item', { subject: label, risk: m(conv, `scr.risk.${d.riskLevel}` as MessageKey), due: d.dueDate.slice(5) }), 60), { a: 'scr', i: d.subjectId, k: 'pick' })]);
  }
  await reply(conv, { text: m(conv, 'scr.due_title', { count: due.length }), rows });
}

/** A subject picked from the list due (`pick`), or a result pressed on a list drawn before the form (`<result>`). */
export async function onScreenButton(conv: Conversation, engine: FlowEngine, action: ButtonAction): Promise<void> {
  if (!action.i || !action.k) throw new ServiceRefusal('invalid_input');
  if ((await labelOf(conv, action.i)) === undefined) throw new ServiceRefusal('not_found');
  if (action.k === 'pick') {
    await engine.start(conv, screeningFlow, 'result', { subjectId: action.i }, { edit: true });
    return;
  }
  if (!isScreeningResult(action.k)) throw new ServiceRefusal('invalid_input');
  await engine.start(conv, screeningFlow, 'note', { subjectId: action.i, result: action.k }, { edit: true });
}
