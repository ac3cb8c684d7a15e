/**
 * The forms that end or decide a stay, opened from a notice's or a list's button: 不批准 with its reason
 * (the requester is told it), 销假 (the subject reported in, or the officer confirmed the return), and
 * cancelling a stay registered by mistake. Approving is one press and needs no form (./absence-view.ts).
 */
import { z } from 'zod';
import { userText } from '../i18n/markup.js';
import { t } from '../i18n/index.js';
import { getAbsence, recordReturn, rejectAbsenceRequest, cancelAbsence, type ReturnHow } from '../services/absence.service.js';
import { findAbsenceRequest } from '../db/repositories/absence.repository.js';
import { explainAbsenceRefusal, labelById, settle } from './absence-common.js';
import { whoOf, type Conversation } from './conversation.js';
import type { Flow } from './engine.js';
import { choiceStep, textStep } from './steps/index.js';

const MAX_REASON = 500;

// ---------------------------------------------------------------------------------------------
// 不批准

export const rejectData = z.object({
  requestId: z.uuid(),
  /** The request's version on the notice: a decision on an older one is stale. */
  version: z.number().int().min(0).optional(),
  /** The notice the decision was made from: its buttons go once decided. */
  noticeMessageId: z.number().int().optional(),
  reason: z.string().max(MAX_REASON).optional(),
});
export type RejectData = z.infer<typeof rejectData>;

/** The request as its decider reads it on the form. */
export async function requestSummary(conv: Conversation, requestId: string): Promise<string> {
  const request = await findAbsenceRequest(conv.deps.db, requestId);
  if (!request) return '';
  return t(conv.lang, 'absence.request_line', { subject: await labelById(conv, request.subjectId), start: request.startsOn, end: request.endsOn, destination: userText(request.destination, 100) });
}

export const absenceRejectFlow: Flow<RejectData> = {
  name: 'absence_reject',
  version: 1,
  data: rejectData,
  steps: {
    reason: textStep<RejectData>({
      prompt: async (env, data) => ({ text: [await requestSummary(env.conv, data.requestId), env.say('absence.ask_reject_reason')].join('\n\n') }),
      blank: 'absence.reject_reason_missing',
      max: MAX_REASON,
      then: (_env, data, reason) => ({ next: 'confirm', data: { ...data, reason } }),
    }),
    confirm: {
      prompt: async (env, data) => ({
        text: [await requestSummary(env.conv, data.requestId), env.say('absence.reject_confirm', { reason: userText(data.reason ?? '', MAX_REASON) })].join('\n\n'),
        rows: [[env.choice(env.say('absence.button.confirm_reject'), 'confirm')]],
      }),
      onChoice: (env, data, key) => {
        if (key !== 'confirm' || !data.reason) return { stay: true };
        return settle(
          env,
          async () => {
            await rejectAbsenceRequest(env.deps, env.who.actor, data.requestId, data.reason!, data.version);
            return {
              text: [await requestSummary(env.conv, data.requestId), env.say('absence.rejected', { reason: userText(data.reason!, MAX_REASON) })].join('\n\n'),
              after: async () => {
                if (data.noticeMessageId !== undefined) await env.conv.retire(data.noticeMessageId);
              },
            };
          },
          explainAbsenceRefusal,
        );
      },
    },
  },
};

// ---------------------------------------------------------------------------------------------
// 销假

export const returnData = z.object({ absenceId: z.uuid() });
export type ReturnData = z.infer<typeof returnData>;

const RETURN_HOWS: readonly ReturnHow[] = ['subject_reported', 'officer_recorded'];

/** The stay as the form names it. */
export async function staySummary(conv: Conversation, absenceId: string): Promise<string> {
  const { absence, phase } = await getAbsence(conv.deps, whoOf(conv).actor, absenceId);
  return t(conv.lang, 'absence.stay_line', {
    subject: await labelById(conv, absence.subjectId),
    destination: userText(absence.destination, 100),
    start: absence.startsOn,
    end: absence.endsOn,
    phase: t(conv.lang, `absence_phase.${phase}`),
  });
}

export const absenceReturnFlow: Flow<ReturnData> = {
  name: 'absence_return',
  version: 1,
  data: returnData,
  steps: {
    how: choiceStep<ReturnData>({
      ask: async (env, data) => [await staySummary(env.conv, data.absenceId), env.say('absence.ask_return_how')].join('\n\n'),
      choices: (env) => RETURN_HOWS.map((how) => ({ key: how, text: env.say(`absence.return_how.${how}`) })),
      then: (env, data, { key }) =>
        settle(
          env,
          async () => {
            const result = await recordReturn(env.deps, env.who.actor, data.absenceId, { how: key as ReturnHow });
            const subject = await labelById(env.conv, result.absence.subjectId);
            const lines = [env.say('absence.returned', { subject, on: result.absence.returnedOn ?? '' })];
            if (result.wasOverdue) lines.push(env.say('absence.returned_overdue'));
            return { text: lines.join('\n') };
          },
          explainAbsenceRefusal,
        ),
    }),
  },
};

// ---------------------------------------------------------------------------------------------
// Cancelling a stay

export const cancelData = z.object({ absenceId: z.uuid() });
export type CancelData = z.infer<typeof cancelData>;

export const absenceCancelFlow: Flow<CancelData> = {
  name: 'absence_cancel',
  version: 1,
  data: cancelData,
  steps: {
    confirm: {
      prompt: async (env, data) => ({
        text: [await staySummary(env.conv, data.absenceId), env.say('absence.cancel_confirm')].join('\n\n'),
        rows: [[env.choice(env.say('absence.button.confirm_cancel'), 'confirm')]],
      }),
      onChoice: (env, data, key) => {
        if (key !== 'confirm') return { stay: true };
        return settle(
          env,
          async () => {
            const absence = await cancelAbsence(env.deps, env.who.actor, data.absenceId);
            return { text: env.say('absence.cancelled', { subject: await labelById(env.conv, absence.subjectId), start: absence.startsOn, end: absence.endsOn }) };
          },
          explainAbsenceRefusal,
        );
      },
    },
  },
};
