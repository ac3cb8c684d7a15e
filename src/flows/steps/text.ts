/** A text a step requires: trimmed, not blank, not too long. The close form, step notes, the report's place and description, and every after-incident prompt ask this way. */
import type { MessageKey } from '../../i18n/index.js';
import type { FlowEnv, Prompt, Result, Step } from '../engine.js';

export interface TextRule {
  /** Told when nothing but spaces was typed. */
  blank: MessageKey;
  /** At most this many characters. */
  max: number;
  /** Told when longer (with `{max}`); default refuse.too_long. */
  tooLong?: MessageKey;
}

/** The text, trimmed, or the error to tell. */
export function requiredText(env: FlowEnv, text: string, rule: TextRule): { ok: string } | { error: string } {
  const trimmed = text.trim();
  if (trimmed === '') return { error: env.say(rule.blank) };
  if (trimmed.length > rule.max) return { error: env.say(rule.tooLong ?? 'refuse.too_long', { max: rule.max }) };
  return { ok: trimmed };
}

export interface TextStepOptions<D> extends Omit<TextRule, 'blank'> {
  /** Told when nothing but spaces was typed; a function when it depends on the form's data. */
  blank: MessageKey | ((data: D) => MessageKey);
  prompt(env: FlowEnv, data: D): Prompt | Promise<Prompt>;
  /**
   * Tell a wrong text in a message of its own and leave the prompt where it is, instead of drawing the
   * prompt again under the error: for a prompt that asks one thing.
   */
  quiet?: boolean;
  /** What the accepted (trimmed) text leads to. */
  then(env: FlowEnv, data: D, text: string): Result<D>;
}

/** A step that asks for a required text; spread it and add handlers for buttons, files or a location. */
export function textStep<D>(o: TextStepOptions<D>): Step<D> {
  return {
    prompt: o.prompt,
    onText: (env, data, text) => {
      const r = requiredText(env, text, { ...o, blank: typeof o.blank === 'function' ? o.blank(data) : o.blank });
      if ('error' in r) return o.quiet ? { stay: true, error: r.error, redraw: false } : { stay: true, error: r.error };
      return o.then(env, data, r.ok);
    },
  };
}
