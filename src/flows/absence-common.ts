/**
 * What the absence and administration forms share: a subject's label as this viewer may see it, the
 * texts of the refusals a form can explain (a stay that overlaps another, an approval by the wrong
 * level…), and `settle`, the end of a form whose last step is a confirm button: the use case runs, and
 * the prompt becomes its result, or the refusal explained.
 */
import { subjectLabel } from '../domain/index.js';
import { hasMessage, t, type MessageKey } from '../i18n/index.js';
import { escapeHtml } from '../i18n/markup.js';
import { ServiceRefusal } from '../services/errors.js';
import { MAX_AWAY_DAYS } from '../services/staff.service.js';
import { getSubject, subjectPiiMode, type SubjectView } from '../services/subject.service.js';
import { whoOf, type Conversation } from './conversation.js';
import type { FlowEnv, Outcome } from './engine.js';
import type { Keyboard } from './ui.js';

/** The subject's label, HTML-escaped, masked for this viewer and chat (the responsible officer may see the full name). */
export async function labelOf(conv: Conversation, subject: Pick<SubjectView, 'code' | 'name' | 'responsibleStaffId'>): Promise<string> {
  const mode = await subjectPiiMode(conv.deps, whoOf(conv).actor, subject, conv.chatKind);
  return escapeHtml(subjectLabel(subject, mode, conv.chatKind));
}

/** The label of a subject within the viewer's reach (a subject out of reach is refused not_found). */
export async function labelById(conv: Conversation, subjectId: string): Promise<string> {
  return labelOf(conv, await getSubject(conv.deps, whoOf(conv).actor, subjectId));
}

/**
 * Refusal details of the absence process a form explains in words of its own (the catalogue's
 * `absence.refuse.<detail>`); any other refusal is told from the one map by the engine or the desk.
 */
const ABSENCE_DETAILS: ReadonlySet<string> = new Set([
  'ends_before_start',
  'ended_already',
  'too_long',
  'overlaps',
  'supervision_ended',
  'absconded',
  'not_extendable',
  'not_later',
  'not_begun',
  'cancelled',
  'approver_level',
]);

/** The explanation of an absence refusal, or undefined for one the common map tells. */
export async function explainAbsenceRefusal(conv: Conversation, err: unknown): Promise<string | undefined> {
  if (!(err instanceof ServiceRefusal) || !err.detail || !ABSENCE_DETAILS.has(err.detail)) return undefined;
  const policy = await conv.deps.policy();
  return t(conv.lang, `absence.refuse.${err.detail}` as MessageKey, { days: policy.absence.maxDays });
}

/** The explanation of an administration refusal (`admin.refuse.<detail>`; an account bound already), or undefined. */
export function explainAdminRefusal(conv: Conversation, err: unknown): string | undefined {
  if (!(err instanceof ServiceRefusal)) return undefined;
  if (err.code === 'already_bound') return t(conv.lang, 'admin.refuse.already_bound');
  if (!err.detail) return undefined;
  const key = `admin.refuse.${err.detail}`;
  return hasMessage(key) ? t(conv.lang, key, { days: MAX_AWAY_DAYS }) : undefined;
}

/** What a form's use case answers: the text its prompt becomes, and what is sent after it. */
export interface Settled {
  text: string;
  rows?: Keyboard;
  /** Further messages (a button to act on the result). */
  after?: () => Promise<void>;
}

/**
 * The end of a form confirmed by a button: the use case runs; once it committed, the pressed prompt
 * becomes `text` (its buttons taken away) and `after` runs. A refusal `explain` knows closes the form
 * with the explanation in the prompt instead; any other goes to the engine, which tells it.
 */
export function settle<D>(env: FlowEnv, run: () => Promise<Settled>, explain: (conv: Conversation, err: unknown) => string | undefined | Promise<string | undefined>): Outcome<D> {
  return {
    keep: true,
    finish: async () => {
      let done: Settled;
      try {
        done = await run();
      } catch (err) {
        const text = await explain(env.conv, err);
        if (text === undefined) throw err;
        done = { text: t(env.lang, 'flow.error', { error: text }) };
      }
      return async () => {
        const pressed = env.conv.pressedMessageId;
        if (pressed !== undefined && !done.rows) await env.conv.retire(pressed, done.text);
        else if (pressed !== undefined) await env.conv.edit(pressed, done.text, done.rows);
        else await env.conv.send(done.text, done.rows);
        await done.after?.();
      };
    },
  };
}
