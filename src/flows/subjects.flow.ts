/** /subjects: find a subject within reach and open their view (contact, absence, report absconding). */
import { z } from 'zod';
import type { Flow } from './engine.js';
import { MAX_SUBJECT_QUERY, subjectPicker } from './steps/index.js';
import { sendSubjectView } from './subject-view.js';

export const subjectsData = z.object({ query: z.string().max(MAX_SUBJECT_QUERY).optional() });
export type SubjectsData = z.infer<typeof subjectsData>;

/** How long the search waits for its answer, in seconds: a look-up, not a form to come back to. */
export const SUBJECT_SEARCH_TTL_SECONDS = 15 * 60;

export const subjectsFlow: Flow<SubjectsData> = {
  name: 'subjects',
  version: 1,
  data: subjectsData,
  ttlSeconds: SUBJECT_SEARCH_TTL_SECONDS,
  steps: subjectPicker<SubjectsData>({
    steps: { ask: 'query', found: 'results' },
    ask: (env) => env.say('subjects.ask'),
    found: (env, _data, count) => env.say('subjects.results', { count }),
    picked: (env, _data, subject) => ({ finish: async () => () => sendSubjectView(env.conv, subject.id) }),
  }),
};
