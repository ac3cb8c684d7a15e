/**
 * The one subject picker: the user types a name, a code or an ID number, the subjects found within
 * their reach come back as buttons (masked per PII_MODE), and a press picks one. /report, /away and
 * /subjects ask for a subject with it.
 */
import { subjectLabel } from '../../domain/index.js';
import { escapeHtml, truncate } from '../../i18n/markup.js';
import type { Button } from '../ui.js';
import { getSubject, searchSubjects, type SubjectView } from '../../services/subject.service.js';
import type { FlowEnv, Outcome, Result, Step } from '../engine.js';

/** The longest search kept, in characters. */
export const MAX_SUBJECT_QUERY = 40;

/** A subject on a button in a private chat, masked per PII_MODE. */
export function subjectButtonText(env: FlowEnv, s: SubjectView): string {
  return truncate(subjectLabel(s, env.deps.piiMode, 'private'), 40);
}

export interface SubjectPickerOptions<D> {
  /** The names of its two steps: where the search is asked, and where the subjects found are listed. */
  steps: { ask: string; found: string };
  /** The question, as Telegram HTML. */
  ask(env: FlowEnv, data: D): string;
  /** The text above the subjects found. */
  found(env: FlowEnv, data: D, count: number): string;
  /** Buttons under the question and beside "search again" (/report: the subject is not known), and what they do. */
  more?: { buttons(env: FlowEnv): Button[]; onChoice(env: FlowEnv, data: D, key: string): Result<D> };
  /** What the picked subject (read again, within the user's reach) leads to. */
  picked(env: FlowEnv, data: D, subject: SubjectView): Result<D>;
}

/** The picker's two steps, to spread into a flow's steps; the flow's data keeps the search in `query`. */
export function subjectPicker<D extends { query?: string | undefined }>(o: SubjectPickerOptions<D>): Record<string, Step<D>> {
  const search = async (env: FlowEnv, data: D, text: string): Promise<Outcome<D>> => {
    const query = text.trim().slice(0, MAX_SUBJECT_QUERY);
    const found = await searchSubjects(env.deps, env.who.actor, query);
    if (found.length === 0) return { stay: true, error: env.say('report.subject_none', { query: escapeHtml(query) }) };
    return { next: o.steps.found, data: { ...data, query } };
  };
  const more = (env: FlowEnv) => o.more?.buttons(env) ?? [];
  return {
    [o.steps.ask]: {
      prompt: (env, data) => {
        const extra = more(env);
        return { text: o.ask(env, data), ...(extra.length ? { rows: [extra] } : {}) };
      },
      onText: search,
      ...(o.more ? { onChoice: (env: FlowEnv, data: D, key: string) => o.more!.onChoice(env, data, key) } : {}),
    },
    [o.steps.found]: {
      prompt: async (env, data) => {
        const found = await searchSubjects(env.deps, env.who.actor, data.query ?? '');
        return {
          text: o.found(env, data, found.length),
          rows: [...found.map((s) => [env.choice(subjectButtonText(env, s), 'pick', s.id)]), [env.choice(env.say('button.search_again'), 'again'), ...more(env)]],
        };
      },
      onText: search,
      onChoice: async (env, data, key, id) => {
        if (key === 'again') return { next: o.steps.ask, data };
        if (key === 'pick' && id) return o.picked(env, data, await getSubject(env.deps, env.who.actor, id));
        return o.more ? o.more.onChoice(env, data, key) : { stay: true };
      },
    },
  };
}
