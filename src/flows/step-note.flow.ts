/** A checklist step marked not applicable (the reason is required) or given a note. */
import { z } from 'zod';
import { escapeHtml } from '../channels/telegram/html.js';
import { sendCard } from '../channels/telegram/views/card-messages.js';
import { stepText } from '../channels/telegram/views/labels.js';
import { markStep, MAX_TEXT } from '../services/incident.service.js';
import { requiredText } from './common.js';
import type { Flow } from './engine.js';

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
    text: {
      prompt: (env, data) => ({
        text: env.say(data.kind === 'note' ? 'step.ask_note' : 'step.ask_reason', {
          ordinal: data.ordinal,
          text: escapeHtml(stepText(data.type, data.scenario, data.key, env.lang)),
        }),
      }),
      onText: (env, data, text) => {
        const r = requiredText(env, text, data.kind === 'note' ? 'step.note_blank' : 'step.reason_blank', MAX_TEXT);
        if ('error' in r) return { stay: true, error: r.error };
        const trimmed = r.ok;
        return {
          closing: env.say(data.kind === 'note' ? 'step.note_done' : 'step.na_done'),
          finish: async () => {
            await markStep(
              env.deps,
              env.who.actor,
              data.incidentId,
              { ordinal: data.ordinal },
              data.kind === 'note' ? { kind: 'note', text: trimmed } : { kind: 'not_applicable', reason: trimmed },
            );
            return () => sendCard(env.ctx.telegram, env.deps, env.chatId, data.incidentId, { actor: env.who.actor }, env.lang).then(() => {});
          },
        };
      },
    },
  },
};
