/**
 * 结案: when duties are still open (steps not done, an absconded subject not found), the list and a
 * reason first; then the course and cause, the lessons and the measures, each required and not blank,
 * then a confirmation. 误报: the section closes a false alarm with a reason.
 */
import { z } from 'zod';
import { userText } from '../i18n/markup.js';
import { formatLocal, writtenReportDueAt } from '../domain/index.js';
import { closeFalseAlarm, closeIncident, MAX_TEXT, policyOf } from '../services/incident.service.js';
import type { Flow, FlowEnv, Step } from './engine.js';
import { textStep, type TextRule } from './steps/index.js';
import type { MessageKey } from '../i18n/index.js';

export const closeData = z.object({
  incidentId: z.uuid(),
  number: z.string().max(20),
  /** What was still open when the form opened, as lines to show; empty when nothing was. */
  duties: z.array(z.string().max(300)).max(40).default([]),
  dutiesReason: z.string().max(MAX_TEXT).optional(),
  cause: z.string().max(MAX_TEXT).optional(),
  lessons: z.string().max(MAX_TEXT).optional(),
  measures: z.string().max(MAX_TEXT).optional(),
});
export type CloseData = z.infer<typeof closeData>;

const REQUIRED: TextRule = { blank: 'close.blank', max: MAX_TEXT };

function closeText(ask: MessageKey, field: 'cause' | 'lessons' | 'measures', next: string): Step<CloseData> {
  return textStep<CloseData>({
    ...REQUIRED,
    prompt: (env: FlowEnv, data: CloseData) => ({ text: env.say(ask, { number: data.number }) }),
    then: (_env, data, text) => ({ next, data: { ...data, [field]: text } }),
  });
}

export const closeFlow: Flow<CloseData> = {
  name: 'close',
  version: 2,
  data: closeData,
  steps: {
    // Only when something is still open: the list, and why the incident is closed all the same.
    duties: textStep<CloseData>({
      ...REQUIRED,
      prompt: (env: FlowEnv, data: CloseData) => ({ text: env.say('close.open_duties', { number: data.number, list: data.duties.join('\n') }) }),
      then: (_env, data, text) => ({ next: 'cause', data: { ...data, dutiesReason: text } }),
    }),
    cause: closeText('close.ask_cause', 'cause', 'lessons'),
    lessons: closeText('close.ask_lessons', 'lessons', 'measures'),
    measures: closeText('close.ask_measures', 'measures', 'confirm'),
    confirm: {
      prompt: async (env, data) => {
        const policy = await env.deps.policy();
        return {
          text: [
            ...(data.duties.length ? [env.say('close.confirm_duties', { count: data.duties.length, reason: userText(data.dutiesReason ?? '', 800) })] : []),
            env.say('close.confirm', {
              cause: userText(data.cause ?? '', 800),
              lessons: userText(data.lessons ?? '', 800),
              measures: userText(data.measures ?? '', 800),
              days: Math.round(policy.writtenReportDueSeconds / 86_400),
            }),
          ].join('\n'),
          rows: [[env.choice(env.say('button.confirm_close'), 'close')]],
        };
      },
      onChoice: (env, data, key) => {
        if (key !== 'close' || !data.cause || !data.lessons || !data.measures) return { stay: true };
        return {
          finish: async () => {
            const incident = await closeIncident(env.deps, env.who.actor, data.incidentId, {
              cause: data.cause!,
              lessons: data.lessons!,
              measures: data.measures!,
              openDutiesReason: data.dutiesReason ?? null,
            });
            const due = writtenReportDueAt(incident.closedAt!, policyOf(incident));
            return async () => {
              await env.conv.send(env.say('close.done', { due: formatLocal(due, env.deps.timeZone) }));
              await env.conv.sendCard(data.incidentId);
            };
          },
        };
      },
    },
  },
};

export const falseAlarmData = z.object({
  incidentId: z.uuid(),
  number: z.string().max(20),
  reason: z.string().max(MAX_TEXT).optional(),
});
export type FalseAlarmData = z.infer<typeof falseAlarmData>;

export const falseAlarmFlow: Flow<FalseAlarmData> = {
  name: 'false_alarm',
  version: 1,
  data: falseAlarmData,
  steps: {
    reason: textStep<FalseAlarmData>({
      ...REQUIRED,
      prompt: (env, data) => ({ text: env.say('falarm.ask', { number: data.number }) }),
      then: (_env, data, reason) => ({ next: 'confirm', data: { ...data, reason } }),
    }),
    confirm: {
      prompt: (env, data) => ({
        text: env.say('falarm.confirm', { number: data.number, reason: userText(data.reason ?? '', 800) }),
        rows: [[env.choice(env.say('button.confirm_false_alarm'), 'confirm')]],
      }),
      onChoice: (env, data, key) => {
        if (key !== 'confirm' || !data.reason) return { stay: true };
        return {
          closing: env.say('falarm.done'),
          finish: async () => {
            await closeFalseAlarm(env.deps, env.who.actor, data.incidentId, data.reason!);
            return () => env.conv.sendCard(data.incidentId).then(() => {});
          },
        };
      },
    },
  },
};
