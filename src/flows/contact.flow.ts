/**
 * The daily contact with a subject owed one (外出, or an epidemic 情形三 incident): reached, not reached
 * or abnormal, with a note. Opened from /away, the subject view or straight from the 09:00 reminder's
 * button (`contact:<subjectId>`). "情况异常" alerts the office head and the section at once; days in a row
 * without a reached contact offer the absconding report.
 */
import { z } from 'zod';
import { button } from './ui.js';
import { contactResultLabel } from '../views/labels.js';
import { CONTACT_RESULTS, type ContactResult } from '../domain/index.js';
import { offerAbscondingIfDue } from '../services/daily-contact.service.js';
import { logContact } from '../services/subject.service.js';
import { labelById } from './absence-common.js';
import type { Flow, FlowEnv, Outcome } from './engine.js';
import { choiceStep } from './steps/index.js';

export const contactData = z.object({
  subjectId: z.uuid(),
  result: z.enum(CONTACT_RESULTS).optional(),
});
export type ContactData = z.infer<typeof contactData>;

function label(env: FlowEnv, subjectId: string): Promise<string> {
  return labelById(env.conv, subjectId);
}

function save(env: FlowEnv, data: ContactData, note: string | null): Outcome<ContactData> {
  return {
    finish: async () => {
      const result = data.result!;
      const outcome = await logContact(env.deps, env.who.actor, data.subjectId, { result, note });
      // At the bureau's days without a reached contact the officer and the office head are offered the report: whoever logged it in the reply below, the others as a notice.
      if (outcome.suggestAbsconding) await offerAbscondingIfDue(env.deps, data.subjectId, { except: env.who.actor.staffId });
      const subject = await label(env, data.subjectId);
      return async () => {
        await env.conv.send(env.say('contact.logged', { subject, result: contactResultLabel(result, env.lang) }));
        if (outcome.alerted > 0) await env.conv.send(env.say('contact.abnormal_alerted', { count: outcome.alerted }));
        if (outcome.suggestAbsconding) {
          await env.conv.send(env.say('contact.suggest_absconding', { subject, count: outcome.failuresInARow }), [
            [button(env.say('button.report_absconding'), { a: 'abscond', i: data.subjectId })],
          ]);
        }
      };
    },
    closing: env.say('flow.closed_prompt'),
  };
}

export const contactFlow: Flow<ContactData> = {
  name: 'contact',
  version: 1,
  data: contactData,
  steps: {
    result: choiceStep<ContactData>({
      ask: async (env, data) => env.say('contact.ask_result', { subject: await label(env, data.subjectId) }),
      choices: (env) => CONTACT_RESULTS.map((r) => ({ key: r, text: contactResultLabel(r, env.lang) })),
      then: (_env, data, { key }) => ({ next: 'note', data: { ...data, result: key as ContactResult } }),
    }),
    note: {
      prompt: (env) => ({ text: env.say('contact.ask_note'), rows: [[env.choice(env.say('button.skip'), 'skip')]] }),
      onChoice: (env, data, key) => (key === 'skip' ? save(env, data, null) : { stay: true }),
      onText: (env, data, text) => {
        const note = text.trim();
        if (note.length > 1000) return { stay: true, error: env.say('refuse.too_long', { max: 1000 }) };
        return save(env, data, note || null);
      },
    },
  },
};
