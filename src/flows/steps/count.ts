/** A count of people, 1–999: buttons for the usual few, or typed ("3", "３", "3人"). */
import type { FlowEnv, Result, Step } from '../engine.js';

/** 1–999 from what a user typed ("3", "３", "3人"). */
export function parseCount(text: string): number | undefined {
  const normalised = text.trim().replace(/[０-９]/g, (d) => String.fromCharCode(d.charCodeAt(0) - 0xfee0)).replace(/\s*(人|名|个|people|persons?)$/i, '');
  if (!/^\d{1,3}$/.test(normalised)) return undefined;
  const n = Number(normalised);
  return n >= 1 && n <= 999 ? n : undefined;
}

/** Counts offered as buttons; any other is typed. */
const BUTTONS = [1, 2, 3, 4, 5] as const;

export interface CountStepOptions<D> {
  /** The question, as Telegram HTML. */
  ask(env: FlowEnv, data: D): string;
  then(env: FlowEnv, data: D, count: number): Result<D>;
}

export function countStep<D>(o: CountStepOptions<D>): Step<D> {
  return {
    prompt: (env, data) => ({ text: o.ask(env, data), rows: [BUTTONS.map((n) => env.choice(String(n), `n${n}`))] }),
    onChoice: (env, data, key) => {
      const n = /^n([1-5])$/.exec(key)?.[1];
      return n ? o.then(env, data, Number(n)) : { stay: true };
    },
    onText: (env, data, text) => {
      const n = parseCount(text);
      return n === undefined ? { stay: true, error: env.say('report.count_invalid') } : o.then(env, data, n);
    },
  };
}
