/**
 * 四(四) the absconding search: record attempts (phone or messages, information-system check, field
 * visit) with their result and time, then how it ended: found (ordered to report, or brought back), not
 * found after searching (reported to the section), or it may lead to 一/二/三 (police station notified).
 */
import { z } from 'zod';
import { escapeHtml, userText } from '../i18n/markup.js';
import { methodLabel } from '../views/labels.js';
import { formatLocal, SEARCH_METHODS, type AbscondingOutcome } from '../domain/index.js';
import { recordAbscondingOutcome, recordSearchAttempt, searchAttemptsOf } from '../services/incident.service.js';
import type { Flow, FlowEnv, Outcome } from './engine.js';
import { aheadTime, choiceStep, pastTimeStep, requiredText } from './steps/index.js';

export const searchData = z.object({
  incidentId: z.uuid(),
  number: z.string().max(20),
  method: z.enum(SEARCH_METHODS).optional(),
  result: z.string().max(500).optional(),
  found: z.boolean().optional(),
  /** A bare time typed ahead of now, waiting for the user to confirm it as yesterday. */
  ahead: aheadTime.optional(),
});
export type SearchData = z.infer<typeof searchData>;

function finishOutcome(env: FlowEnv, data: SearchData, outcome: AbscondingOutcome): Outcome<SearchData> {
  return {
    closing: env.say('search.outcome_done'),
    finish: async () => {
      await recordAbscondingOutcome(env.deps, env.who.actor, data.incidentId, outcome);
      return () => env.conv.sendCard(data.incidentId).then(() => {});
    },
  };
}

async function record(env: FlowEnv, data: SearchData, at: Date): Promise<Outcome<SearchData>> {
  if (!data.method || !data.result) return { next: 'menu', data, reset: true };
  await recordSearchAttempt(env.deps, env.who.actor, data.incidentId, { method: data.method, result: data.result, found: data.found ?? false, at });
  const note = env.say('search.recorded', { method: methodLabel(data.method, env.lang) });
  const next = { incidentId: data.incidentId, number: data.number };
  return data.found ? { next: 'found_how', data: next, note, reset: true } : { next: 'menu', data: next, note, reset: true };
}

export const searchFlow: Flow<SearchData> = {
  name: 'search',
  version: 1,
  data: searchData,
  steps: {
    menu: {
      prompt: async (env, data) => {
        const attempts = await searchAttemptsOf(env.deps, data.incidentId);
        const log = attempts.length
          ? attempts.map((a) => env.say('card.search_line', { time: formatLocal(a.at, env.deps.timeZone, env.now), method: methodLabel(a.method, env.lang), result: userText(a.result, 80) }))
          : [env.say('search.none_yet')];
        return {
          text: [env.say('search.title', { number: escapeHtml(data.number) }), ...log, '', env.say('search.choose')].join('\n'),
          rows: [
            SEARCH_METHODS.map((m) => env.choice(methodLabel(m, env.lang), m)),
            [env.choice(env.say('button.outcome_found'), 'found')],
            [env.choice(env.say('button.outcome_not_found'), 'not_found')],
            [env.choice(env.say('button.outcome_may_escalate'), 'may_escalate')],
            [env.choice(env.say('button.done'), 'done')],
          ],
        };
      },
      onChoice: (env, data, key) => {
        if ((SEARCH_METHODS as readonly string[]).includes(key)) return { next: 'result', data: { ...data, method: key as SearchData['method'] } };
        if (key === 'found') return { next: 'found_how', data };
        if (key === 'not_found' || key === 'may_escalate') return finishOutcome(env, data, key);
        if (key === 'done') {
          return { finish: async () => () => env.conv.sendCard(data.incidentId).then(() => {}) };
        }
        return { stay: true };
      },
    },
    result: {
      ...choiceStep<SearchData>({
        ask: (env, data) => env.say('search.ask_result', { method: methodLabel(data.method ?? '', env.lang) }),
        choices: (env) => [
          { key: 'not_found', text: env.say('button.result_not_found') },
          { key: 'found', text: env.say('button.result_found') },
        ],
        perRow: 2,
        then: (env, data, { key }) =>
          key === 'found'
            ? { next: 'when', data: { ...data, result: env.say('search.result_found_text'), found: true } }
            : { next: 'when', data: { ...data, result: env.say('search.result_not_found_text'), found: false } },
      }),
      // Or what happened, in the user's own words.
      onText: (env, data, text) => {
        const r = requiredText(env, text, { blank: 'flow.text_expected', max: 500, tooLong: 'flow.text_expected' });
        return 'error' in r ? { stay: true, error: r.error } : { next: 'when', data: { ...data, result: r.ok, found: false } };
      },
    },
    // An attempt cannot be later today: a bare time ahead of now is yesterday's, if the user says so.
    when: pastTimeStep<SearchData>({
      ask: (env) => env.say('search.ask_when'),
      now: 'button.just_now',
      then: (env, data, at) => record(env, data, at),
    }),
    found_how: choiceStep<SearchData>({
      ask: (env) => env.say('search.ask_found_how'),
      choices: (env) => [
        { key: 'found_ordered', text: env.say('button.found_ordered') },
        { key: 'found_brought_back', text: env.say('button.found_brought_back') },
      ],
      then: (env, data, { key }) => finishOutcome(env, data, key as 'found_ordered' | 'found_brought_back'),
    }),
  },
};
