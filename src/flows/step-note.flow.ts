/** A checklist step marked not applicable (the reason is required) or given a note. */
import { z } from 'zod';
import { escapeHtml } from '../i18n/markup.js';
import { stepText } from '../views/labels.js';
import { markStep, MAX_TEXT } from '../services/incident.service.js';
import type { Flow } from './engine.js';
import { textStep } from './steps/index.js';

export const stepNoteData = z.object({
  incidentId: z.uuid(),
  ordinal: z.number().int().min(1).max(100),
  kind: z.enum(['not_applicable', 'note']),
  type: z.string().max(32),
  scenario: z.string().max(4).nullable(),
  key: z.string().max(40),
});
export type StepNoteData = z.infer<typeof stepNoteData>;

export const stepNoteFlow: Flow<StepNoteData> = {
  name: 'step_note',
  version: 1,
  data: stepNoteData,
  steps: {
    text: textStep<StepNoteData>({
      prompt: (env, data) => ({
        text: env.say(data.kind === 'note' ? 'step.ask_note' : 'step.ask_reason', {
          ordinal: data.ordinal,
          text: escapeHtml(stepText(data.type, data.scenario, data.key, env.lang)),
        }),
      }),
      blank: (data) => (data.kind === 'note' ? 'step.note_blank' : 'step.reason_blank'),
      max: MAX_TEXT,
      then: (env, data, text) => ({
        closing: env.say(data.kind === 'note' ? 'step.note_done' : 'step.na_done'),
        finish: async () => {
          await markStep(env.deps, env.who.actor, data.incidentId, { ordinal: data.ordinal }, data.kind === 'note' ? { kind: 'note', text } : { kind: 'not_applicable', reason: text });
          return () => env.conv.sendCard(data.incidentId).then(() => {});
        },
      }),
    }),
  },
};
