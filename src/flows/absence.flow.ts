/** /away → register an approved absence (外出): subject, destination, dates, confirmation. */
import { z } from 'zod';
import { escapeHtml, userText } from '../channels/telegram/html.js';
import { addDays, MAX_ABSENCE_DAYS, subjectLabel } from '../domain/index.js';
import { getSubject, registerAbsence, searchSubjects } from '../services/subject.service.js';
import { ServiceRefusal } from '../services/errors.js';
import { parseLocalDateInput, subjectButtonText, todayIn } from './common.js';
import type { Flow, FlowEnv, Outcome } from './engine.js';

export const absenceData = z.object({
  subjectId: z.uuid().optional(),
  query: z.string().max(40).optional(),
  destination: z.string().max(200).optional(),
  startsOn: z.iso.date().optional(),
  endsOn: z.iso.date().optional(),
});
export type AbsenceData = z.infer<typeof absenceData>;

async function search(env: FlowEnv, data: AbsenceData, text: string): Promise<Outcome<AbsenceData>> {
  const query = text.trim().slice(0, 40);
  const found = await searchSubjects(env.deps, env.who.actor, query);
  if (found.length === 0) return { stay: true, error: env.say('report.subject_none', { query: escapeHtml(query) }) };
  return { next: 'pick', data: { ...data, query } };
}

async function label(env: FlowEnv, subjectId: string | undefined): Promise<string> {
  if (!subjectId) return '';
  return escapeHtml(subjectLabel(await getSubject(env.deps, env.who.actor, subjectId), env.deps.piiMode, 'private'));
}

export const absenceFlow: Flow<AbsenceData> = {
  name: 'absence',
  version: 1,
  data: absenceData,
  steps: {
    subject: {
      prompt: (env) => ({ text: env.say('away.ask_subject') }),
      onText: (env, data, text) => search(env, data, text),
    },
    pick: {
      prompt: async (env, data) => {
        const found = await searchSubjects(env.deps, env.who.actor, data.query ?? '');
        return {
          text: env.say('report.subject_results', { count: found.length }),
          rows: [...found.map((s) => [env.choice(subjectButtonText(env, s), 'pick', s.id)]), [env.choice(env.say('button.search_again'), 'again')]],
        };
      },
      onText: (env, data, text) => search(env, data, text),
      onChoice: async (env, data, key, id) => {
        if (key === 'again') return { next: 'subject', data };
        if (key !== 'pick' || !id) return { stay: true };
        const subject = await getSubject(env.deps, env.who.actor, id);
        return { next: 'destination', data: { ...data, subjectId: subject.id } };
      },
    },
    destination: {
      prompt: async (env, data) => ({ text: env.say('away.ask_destination', { subject: await label(env, data.subjectId) }) }),
      onText: (env, data, text) => {
        const destination = text.trim();
        if (destination === '' || destination.length > 200) return { stay: true, error: env.say('away.destination_invalid') };
        return { next: 'start', data: { ...data, destination } };
      },
    },
    start: {
      prompt: (env) => ({
        text: env.say('away.ask_start'),
        rows: [[env.choice(env.say('button.today'), 'today'), env.choice(env.say('button.tomorrow'), 'tomorrow')]],
      }),
      onChoice: (env, data, key) => {
        if (key !== 'today' && key !== 'tomorrow') return { stay: true };
        return { next: 'end', data: { ...data, startsOn: addDays(todayIn(env), key === 'today' ? 0 : 1) } };
      },
      onText: (env, data, text) => {
        const date = parseLocalDateInput(text, todayIn(env));
        return date ? { next: 'end', data: { ...data, startsOn: date } } : { stay: true, error: env.say('away.date_invalid') };
      },
    },
    end: {
      prompt: (env) => ({ text: env.say('away.ask_end') }),
      onText: (env, data, text) => {
        const date = parseLocalDateInput(text, data.startsOn ?? todayIn(env));
        if (!date) return { stay: true, error: env.say('away.date_invalid') };
        if (data.startsOn && date < data.startsOn) return { stay: true, error: env.say('away.ends_before_start') };
        if (date < todayIn(env)) return { stay: true, error: env.say('away.ended_already') };
        return { next: 'confirm', data: { ...data, endsOn: date } };
      },
    },
    confirm: {
      prompt: async (env, data) => ({
        text: env.say('away.confirm', {
          subject: await label(env, data.subjectId),
          destination: userText(data.destination ?? '', 200),
          start: data.startsOn ?? '',
          end: data.endsOn ?? '',
        }),
        rows: [[env.choice(env.say('button.confirm'), 'confirm')]],
      }),
      onChoice: async (env, data, key) => {
        if (key !== 'confirm' || !data.subjectId || !data.destination || !data.startsOn || !data.endsOn) return { stay: true };
        return {
          closing: env.say('away.registered'),
          finish: async () => {
            try {
              await registerAbsence(env.deps, env.who.actor, { subjectId: data.subjectId!, destination: data.destination!, startsOn: data.startsOn!, endsOn: data.endsOn! });
            } catch (err) {
              // Dates are checked at each step; a refusal here means the form sat past its dates.
              if (err instanceof ServiceRefusal && err.detail === 'too_long') {
                await env.ctx.reply(env.say('away.too_long', { days: MAX_ABSENCE_DAYS }));
              }
              throw err;
            }
          },
        };
      },
    },
  },
};
