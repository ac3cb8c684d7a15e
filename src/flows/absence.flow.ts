/**
 * /away → 外出申请: subject, destination, dates, 事由 (optional), confirmation. The request goes to the
 * level the bureau sets by length (the office head up to its days, the section beyond); a requester of
 * that level approves it at once. 续假 (an extension) is a new request for the stay: the new end date,
 * 事由, confirmation.
 */
import { z } from 'zod';
import { checkExtension, checkRequestDates, stayDays, type ApproverLevel } from '../domain/absence.js';
import { addDays } from '../domain/index.js';
import { userText } from '../i18n/markup.js';
import { t, type MessageKey } from '../i18n/index.js';
import { getAbsence, requestAbsence, requestExtension, type AbsenceRequestResult } from '../services/absence.service.js';
import { explainAbsenceRefusal, labelById, settle, type Settled } from './absence-common.js';
import { whoOf, type Conversation } from './conversation.js';
import type { Flow, FlowEnv, Step } from './engine.js';
import { dateStep, MAX_SUBJECT_QUERY, subjectPicker, textStep, todayIn } from './steps/index.js';

/** Longest 事由 kept, in characters (the service's limit). */
const MAX_REASON = 500;

export const absenceData = z.object({
  subjectId: z.uuid().optional(),
  query: z.string().max(MAX_SUBJECT_QUERY).optional(),
  destination: z.string().max(200).optional(),
  startsOn: z.iso.date().optional(),
  endsOn: z.iso.date().optional(),
  reason: z.string().max(MAX_REASON).optional(),
});
export type AbsenceData = z.infer<typeof absenceData>;

/** The level that decides, as the requester reads it. */
export function levelLabel(conv: Conversation, level: string): string {
  return t(conv.lang, `absence_level.${level === 'section' ? 'section' : 'office_head'}`);
}

/** What the requester is told once the request is in: approved at once, or waiting for its level. */
export async function requestOutcome(conv: Conversation, result: AbsenceRequestResult): Promise<Settled> {
  const subject = await labelById(conv, result.request.subjectId);
  const values = { subject, start: result.request.startsOn, end: result.request.endsOn };
  if (result.absence) {
    const policy = await conv.deps.policy();
    return { text: t(conv.lang, 'absence.approved_at_once', { ...values, time: policy.dailyContact.reminderAt }) };
  }
  return { text: t(conv.lang, 'absence.requested', { ...values, level: levelLabel(conv, result.level as ApproverLevel) }) };
}

/** The optional 事由: typed, or skipped. */
function reasonStep<D extends { reason?: string | undefined }>(next: string): Step<D> {
  return {
    ...textStep<D>({
      prompt: (env) => ({ text: env.say('absence.ask_reason'), rows: [[env.choice(env.say('button.skip'), 'skip')]] }),
      blank: 'flow.text_expected',
      max: MAX_REASON,
      then: (_env, data, reason) => ({ next, data: { ...data, reason } }),
    }),
    onChoice: (_env, data, key) => (key === 'skip' ? { next, data: { ...data, reason: undefined } } : { stay: true }),
  };
}

async function dateProblem(env: FlowEnv, startsOn: string, endsOn: string): Promise<string | undefined> {
  const policy = await env.deps.policy();
  const problem = checkRequestDates(startsOn, endsOn, todayIn(env), policy.absence);
  return problem ? env.say(`absence.refuse.${problem}` as MessageKey, { days: policy.absence.maxDays }) : undefined;
}

export const absenceFlow: Flow<AbsenceData> = {
  name: 'absence',
  version: 2,
  data: absenceData,
  steps: {
    ...subjectPicker<AbsenceData>({
      steps: { ask: 'subject', found: 'pick' },
      ask: (env) => env.say('away.ask_subject'),
      found: (env, _data, count) => env.say('report.subject_results', { count }),
      picked: (_env, data, subject) => ({ next: 'destination', data: { ...data, subjectId: subject.id } }),
    }),
    destination: textStep<AbsenceData>({
      prompt: async (env, data) => ({ text: env.say('away.ask_destination', { subject: data.subjectId ? await labelById(env.conv, data.subjectId) : '' }) }),
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
      then: async (env, data, endsOn) => {
        const problem = await dateProblem(env, data.startsOn ?? todayIn(env), endsOn);
        return problem ? { stay: true, error: problem } : { next: 'reason', data: { ...data, endsOn } };
      },
    }),
    reason: reasonStep<AbsenceData>('confirm'),
    confirm: {
      prompt: async (env, data) => {
        const policy = await env.deps.policy();
        const days = data.startsOn && data.endsOn ? stayDays(data.startsOn, data.endsOn) : 0;
        return {
          text: env.say('away.confirm', {
            subject: data.subjectId ? await labelById(env.conv, data.subjectId) : '',
            destination: userText(data.destination ?? '', 200),
            start: data.startsOn ?? '',
            end: data.endsOn ?? '',
            days,
            reason: data.reason ? userText(data.reason, MAX_REASON) : env.say('notice.not_given'),
            level: levelLabel(env.conv, days <= policy.absence.officeHeadUpToDays ? 'office_head' : 'section'),
          }),
          rows: [[env.choice(env.say('button.submit'), 'confirm')]],
        };
      },
      onChoice: (env, data, key) => {
        if (key !== 'confirm' || !data.subjectId || !data.destination || !data.startsOn || !data.endsOn) return { stay: true };
        const input = { subjectId: data.subjectId, destination: data.destination, startsOn: data.startsOn, endsOn: data.endsOn, reason: data.reason ?? null };
        return settle(env, async () => requestOutcome(env.conv, await requestAbsence(env.deps, env.who.actor, input)), explainAbsenceRefusal);
      },
    },
  },
};

// ---------------------------------------------------------------------------------------------
// 续假

export const extensionData = z.object({
  absenceId: z.uuid(),
  endsOn: z.iso.date().optional(),
  reason: z.string().max(MAX_REASON).optional(),
});
export type ExtensionData = z.infer<typeof extensionData>;

export const absenceExtendFlow: Flow<ExtensionData> = {
  name: 'absence_extend',
  version: 1,
  data: extensionData,
  steps: {
    end: dateStep<ExtensionData>({
      ask: (env) => env.say('absence.ask_extend_end'),
      invalid: 'away.date_invalid',
      then: async (env, data, endsOn) => {
        const { absence } = await getAbsence(env.deps, env.who.actor, data.absenceId);
        const policy = await env.deps.policy();
        // The whole stay's days are counted by the service; here the new end is checked against this stay.
        const problem = checkExtension(absence, endsOn, todayIn(env), policy.absence, 0);
        if (problem) return { stay: true, error: env.say(`absence.refuse.${problem}` as MessageKey, { days: policy.absence.maxDays }) };
        return { next: 'reason', data: { ...data, endsOn } };
      },
    }),
    reason: reasonStep<ExtensionData>('confirm'),
    confirm: {
      prompt: async (env, data) => {
        const { absence } = await getAbsence(env.deps, env.who.actor, data.absenceId);
        return {
          text: env.say('absence.extend_confirm', {
            subject: await labelById(env.conv, absence.subjectId),
            end: absence.endsOn,
            from: addDays(absence.endsOn, 1),
            until: data.endsOn ?? '',
            reason: data.reason ? userText(data.reason, MAX_REASON) : env.say('notice.not_given'),
          }),
          rows: [[env.choice(env.say('button.submit'), 'confirm')]],
        };
      },
      onChoice: (env, data, key) => {
        if (key !== 'confirm' || !data.endsOn) return { stay: true };
        const input = { endsOn: data.endsOn, reason: data.reason ?? null };
        return settle(env, async () => requestOutcome(env.conv, await requestExtension(env.deps, env.who.actor, data.absenceId, input)), explainAbsenceRefusal);
      },
    },
  },
};

/** The note above the extension's first prompt: the stay it extends. */
export async function extensionIntro(conv: Conversation, absenceId: string): Promise<string> {
  const { absence } = await getAbsence(conv.deps, whoOf(conv).actor, absenceId);
  return t(conv.lang, 'absence.extend_intro', { subject: await labelById(conv, absence.subjectId), start: absence.startsOn, end: absence.endsOn });
}
