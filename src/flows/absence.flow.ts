/** /away → register an approved absence (外出): subject, destination, dates, confirmation. */
import { z } from 'zod';
import { escapeHtml, userText } from '../i18n/markup.js';
import { MAX_ABSENCE_DAYS, subjectLabel } from '../domain/index.js';
import { getSubject, registerAbsence } from '../services/subject.service.js';
import { ServiceRefusal } from '../services/errors.js';
import type { Flow, FlowEnv } from './engine.js';
import { dateStep, MAX_SUBJECT_QUERY, subjectPicker, textStep, todayIn } from './steps/index.js';

export const absenceData = z.object({
  subjectId: z.uuid().optional(),
  query: z.string().max(MAX_SUBJECT_QUERY).optional(),
  destination: z.string().max(200).optional(),
  startsOn: z.iso.date().optional(),
  endsOn: z.iso.date().optional(),
});
export type AbsenceData = z.infer<typeof absenceData>;

async function label(env: FlowEnv, subjectId: string | undefined): Promise<string> {
  if (!subjectId) return '';
  return escapeHtml(subjectLabel(await getSubject(env.deps, env.who.actor, subjectId), env.deps.piiMode, 'private'));
}

export const absenceFlow: Flow<AbsenceData> = {
  name: 'absence',
  version: 1,
  data: absenceData,
  steps: {
    ...subjectPicker<AbsenceData>({
      steps: { ask: 'subject', found: 'pick' },
      ask: (env) => env.say('away.ask_subject'),
      found: (env, _data, count) => env.say('report.subject_results', { count }),
      picked: (_env, data, subject) => ({ next: 'destination', data: { ...data, subjectId: subject.id } }),
    }),
    destination: textStep<AbsenceData>({
      prompt: async (env, data) => ({ text: env.say('away.ask_destination', { subject: await label(env, data.subjectId) }) }),
      blank: 'away.destination_invalid',
      max: 200,
      tooLong: 'away.destination_invalid',
      then: (_env, data, destination) => ({ next: 'start', data: { ...data, destination } }),
    }),
    start: dateStep<AbsenceData>({
      ask: (env) => env.say('away.ask_start'),
      shortcuts: true,
      invalid: 'away.date_invalid',
      then: (_env, data, startsOn) => ({ next: 'end', data: { ...data, startsOn } }),
    }),
    end: dateStep<AbsenceData>({
      ask: (env) => env.say('away.ask_end'),
      from: (env, data) => data.startsOn ?? todayIn(env),
      invalid: 'away.date_invalid',
      then: (env, data, endsOn) => {
        if (data.startsOn && endsOn < data.startsOn) return { stay: true, error: env.say('away.ends_before_start') };
        if (endsOn < todayIn(env)) return { stay: true, error: env.say('away.ended_already') };
        return { next: 'confirm', data: { ...data, endsOn } };
      },
    }),
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
                await env.conv.send(env.say('away.too_long', { days: MAX_ABSENCE_DAYS }));
              }
              throw err;
            }
          },
        };
      },
    },
  },
};
