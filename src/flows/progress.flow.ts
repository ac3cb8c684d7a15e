/** 续报: text (required) and optional photos or voice notes, into the timeline and to the chain. */
import { z } from 'zod';
import { reportProgress } from '../services/incident.service.js';
import type { MessageKey } from '../i18n/index.js';
import { chainAudience, type ChainAudience } from '../domain/index.js';
import type { Flow, FlowEnv, MediaInput, Outcome } from './engine.js';
import { MAX_DESCRIPTION, MAX_MEDIA } from './report.flow.js';
import { textStep } from './steps/index.js';

export const progressData = z.object({
  incidentId: z.uuid(),
  number: z.string().max(20),
  text: z.string().max(MAX_DESCRIPTION).optional(),
  media: z.array(z.object({ kind: z.string().max(16), fileId: z.string().min(1).max(256) })).max(MAX_MEDIA).default([]),
});
export type ProgressData = z.infer<typeof progressData>;

/** What the writer is told about who hears of the update: never their own unit. */
const PROGRESS_DONE: Record<ChainAudience, MessageKey> = {
  section_and_head: 'progress.done',
  section: 'progress.done.to_section',
  head_and_other_section: 'progress.done.to_head',
};

function addMedia(env: FlowEnv, data: ProgressData, media: MediaInput): Outcome<ProgressData> {
  if (data.media.length >= MAX_MEDIA) return { stay: true, error: env.say('report.media_full', { max: MAX_MEDIA }) };
  const next = { ...data, media: [...data.media, { kind: media.kind, fileId: media.fileId }] };
  const note = env.say('report.media_saved', { count: next.media.length });
  const caption = media.caption?.trim();
  if (caption && !data.text) return { next: 'more', data: { ...next, text: caption.slice(0, MAX_DESCRIPTION) }, note };
  return { stay: true, data: next, note };
}

export const progressFlow: Flow<ProgressData> = {
  name: 'progress',
  version: 1,
  data: progressData,
  steps: {
    text: {
      ...textStep<ProgressData>({
        prompt: (env, data) => ({ text: env.say('progress.ask', { number: data.number }) }),
        blank: 'progress.blank',
        max: MAX_DESCRIPTION,
        tooLong: 'report.description_too_long',
        then: (_env, data, text) => ({ next: 'more', data: { ...data, text } }),
      }),
      onMedia: (env, data, media) => addMedia(env, data, media),
    },
    more: {
      prompt: (env, data) => ({
        text: [env.say('progress.ask_more'), data.media.length ? env.say('report.media_saved', { count: data.media.length }) : ''].filter(Boolean).join('\n'),
        rows: [[env.choice(env.say('button.submit'), 'submit')]],
      }),
      onMedia: (env, data, media) => addMedia(env, data, media),
      onText: (env, data, text) => {
        const combined = `${data.text ?? ''}\n${text.trim()}`.trim();
        if (combined.length > MAX_DESCRIPTION) return { stay: true, error: env.say('report.description_too_long', { max: MAX_DESCRIPTION }) };
        return { stay: true, data: { ...data, text: combined } };
      },
      onChoice: (env, data, key) => {
        if (key !== 'submit' || !data.text) return { stay: true };
        return {
          closing: env.say(PROGRESS_DONE[chainAudience(env.who.actor)]),
          finish: async () => {
            await reportProgress(env.deps, env.who.actor, data.incidentId, { text: data.text!, media: data.media });
            return async () => {
              await env.conv.sendCard(data.incidentId);
            };
          },
        };
      },
    },
  },
};
