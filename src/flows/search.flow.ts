/**
 * 四(四) the absconding search: record attempts (phone or messages, information-system check, field
 * visit) with their result and time, then how it ended: found (ordered to report, or brought back), not
 * found after searching (reported to the section), or it may lead to 一/二/三 (police station notified).
 */
import { z } from 'zod';
import { escapeHtml, userText } from '../channels/telegram/html.js';
import { sendCard } from '../channels/telegram/views/card-messages.js';
import { methodLabel } from '../channels/telegram/views/labels.js';
import { formatLocal, SEARCH_METHODS, type AbscondingOutcome } from '../domain/index.js';
import { recordAbscondingOutcome, recordSearchAttempt, searchAttemptsOf } from '../services/incident.service.js';
import { AHEAD_RETYPE, AHEAD_YESTERDAY, aheadQuestion, aheadTime, readPastTime, stillAhead } from './common.js';
import type { Flow, FlowEnv, Outcome } from './engine.js';

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
      return () => sendCard(env.ctx.telegram, env.deps, env.chatId, data.incidentId, { actor: env.who.actor }, env.lang).then(() => {});
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
          return { finish: async () => () => sendCard(env.ctx.telegram, env.deps, env.chatId, data.incidentId, { actor: env.who.actor }, env.lang).then(() => {}) };
        }
        return { stay: true };
      },
    },
    result: {
      prompt: (env, data) => ({
        text: env.say('search.ask_result', { method: methodLabel(data.method ?? '', env.lang) }),
        rows: [[env.choice(env.say('button.result_not_found'), 'not_found'), env.choice(env.say('button.result_found'), 'found')]],
      }),
      onChoice: (env, data, key) => {
        if (key === 'not_found') return { next: 'when', data: { ...data, result: env.say('search.result_not_found_text'), found: false } };
        if (key === 'found') return { next: 'when', data: { ...data, result: env.say('search.result_found_text'), found: true } };
        return { stay: true };
      },
      onText: (env, data, text) => {
        const result = text.trim();
        if (result === '' || result.length > 500) return { stay: true, error: env.say('flow.text_expected') };
        return { next: 'when', data: { ...data, result, found: false } };
      },
    },
    when: {
      // An attempt cannot be later today: a bare time ahead of now is yesterday's, if the user says so.
      prompt: (env, data) => {
        const ahead = stillAhead(env, data.ahead);
        return ahead ? aheadQuestion(env, ahead) : { text: env.say('search.ask_when'), rows: [[env.choice(env.say('button.just_now'), 'now')]] };
      },
      onChoice: (env, data, key) => {
        if (key === 'now') return record(env, data, env.now);
        const ahead = stillAhead(env, data.ahead);
        if (key === AHEAD_YESTERDAY && ahead) return record(env, data, new Date(ahead.yesterday));
        if (key === AHEAD_RETYPE) return { stay: true, data: { ...data, ahead: undefined } };
        return { stay: true };
      },
      onText: (env, data, text) => {
        const read = readPastTime(env, text);
        if ('error' in read) return { stay: true, data: { ...data, ahead: undefined }, error: read.error };
        if ('ahead' in read) return { stay: true, data: { ...data, ahead: read.ahead } };
        return record(env, data, read.at);
      },
    },
    found_how: {
      prompt: (env) => ({
        text: env.say('search.ask_found_how'),
        rows: [[env.choice(env.say('button.found_ordered'), 'found_ordered')], [env.choice(env.say('button.found_brought_back'), 'found_brought_back')]],
      }),
      onChoice: (env, data, key) => (key === 'found_ordered' || key === 'found_brought_back' ? finishOutcome(env, data, key) : { stay: true }),
    },
  },
};
