/** /subjects: find a subject within reach and open their view (contact, absence, report absconding). */
import { z } from 'zod';
import { escapeHtml } from '../channels/telegram/html.js';
import { searchSubjects } from '../services/subject.service.js';
import { subjectButtonText } from './common.js';
import type { Flow, FlowEnv, Outcome } from './engine.js';
import { sendSubjectView } from './subject-view.js';

export const subjectsData = z.object({ query: z.string().max(40).optional() });
export type SubjectsData = z.infer<typeof subjectsData>;

async function search(env: FlowEnv, data: SubjectsData, text: string): Promise<Outcome<SubjectsData>> {
  const query = text.trim().slice(0, 40);
  const found = await searchSubjects(env.deps, env.who.actor, query);
  if (found.length === 0) return { stay: true, error: env.say('report.subject_none', { query: escapeHtml(query) }) };
  return { next: 'results', data: { ...data, query } };
}

export const subjectsFlow: Flow<SubjectsData> = {
  name: 'subjects',
  version: 1,
  data: subjectsData,
  steps: {
    query: {
      prompt: (env) => ({ text: env.say('subjects.ask') }),
      onText: (env, data, text) => search(env, data, text),
    },
    results: {
      prompt: async (env, data) => {
        const found = await searchSubjects(env.deps, env.who.actor, data.query ?? '');
        return {
          text: env.say('subjects.results', { count: found.length }),
          rows: [...found.map((s) => [env.choice(subjectButtonText(env, s), 'pick', s.id)]), [env.choice(env.say('button.search_again'), 'again')]],
        };
      },
      onText: (env, data, text) => search(env, data, text),
      onChoice: (env, data, key, id) => {
        if (key === 'again') return { next: 'query', data };
        if (key !== 'pick' || !id) return { stay: true };
        return { finish: async () => () => sendSubjectView(env.ctx, id) };
      },
    },
  },
};
