/**
 * Times and dates a user types. A past time ("when was it discovered", "when was it done") is read by
 * src/domain/time-input.ts; a bare time ahead of the clock is never moved to yesterday unseen: the step
 * asks whether yesterday was meant, or to type it again. A local date is for what is registered ahead
 * (an absence's first and last day).
 */
import { z } from 'zod';
import { addDays, formatLocal, localDate, parseIncidentTime, parseLocalDate } from '../../domain/index.js';
import type { Keyboard } from '../ui.js';
import type { MessageKey } from '../../i18n/index.js';
import type { FlowEnv, Prompt, Result, Step } from '../engine.js';

/** A bare time typed ahead of now, kept in the form's data until the user says which day was meant. */
export const aheadTime = z.object({ typed: z.string().regex(/^\d{2}:\d{2}$/), yesterday: z.iso.datetime() });
export type AheadTime = z.infer<typeof aheadTime>;

/** The instant, an error to show, or a bare time ahead of now (the question below asks about it). */
export function readPastTime(env: FlowEnv, text: string): { at: Date } | { error: string } | { ahead: AheadTime } {
  const parsed = parseIncidentTime(text, env.now, env.deps.timeZone);
  if (parsed.ok) return { at: parsed.at };
  if (parsed.reason === 'ahead') return { ahead: { typed: parsed.typed, yesterday: parsed.yesterday.toISOString() } };
  const key = parsed.reason === 'future' ? 'report.time_future' : parsed.reason === 'too_old' ? 'report.time_too_old' : 'report.time_format';
  return { error: env.say(key) };
}

/** The question still stands only while the typed time is still ahead of now (the user may come back to it later). */
export function stillAhead(env: FlowEnv, ahead: AheadTime | undefined): AheadTime | undefined {
  if (!ahead) return undefined;
  const read = readPastTime(env, ahead.typed);
  return 'ahead' in read ? read.ahead : undefined;
}

/** Choice keys of the question below. */
export const AHEAD_YESTERDAY = 'ahead_yesterday';
export const AHEAD_RETYPE = 'ahead_retype';

/** The question after a bare time ahead of now: later today is not possible here, so yesterday, or type it again. */
export function aheadQuestion(env: FlowEnv, ahead: AheadTime): { text: string; rows: Keyboard } {
  return {
    text: env.say('time.ahead_past', { typed: ahead.typed, now: formatLocal(env.now, env.deps.timeZone, env.now) }),
    rows: [[env.choice(env.say('button.time_yesterday', { time: ahead.typed }), AHEAD_YESTERDAY), env.choice(env.say('button.retype'), AHEAD_RETYPE)]],
  };
}

export interface PastTimeStepOptions<D> {
  /** The question, as Telegram HTML. */
  ask(env: FlowEnv, data: D): string;
  /** The button for "now" ('button.now', 'button.just_now'). */
  now: MessageKey;
  /** Puts the form's frame (a header) around the prompt's text. */
  frame?(env: FlowEnv, text: string): string;
  /** What the time leads to; `data` has the pending question cleared. */
  then(env: FlowEnv, data: D, at: Date): Result<D>;
}

/** A time that cannot be in the future, typed or "now"; the form's data keeps the question about a time ahead. */
export function pastTimeStep<D extends { ahead?: AheadTime | undefined }>(o: PastTimeStepOptions<D>): Step<D> {
  const frame = o.frame ?? ((_env: FlowEnv, text: string) => text);
  const settled = (data: D): D => ({ ...data, ahead: undefined });
  return {
    prompt: (env, data): Prompt => {
      const ahead = stillAhead(env, data.ahead);
      if (ahead) {
        const q = aheadQuestion(env, ahead);
        return { text: frame(env, q.text), rows: q.rows };
      }
      return { text: frame(env, o.ask(env, data)), rows: [[env.choice(env.say(o.now), 'now')]] };
    },
    onChoice: (env, data, key) => {
      if (key === 'now') return o.then(env, settled(data), env.now);
      const ahead = stillAhead(env, data.ahead);
      if (key === AHEAD_YESTERDAY && ahead) return o.then(env, settled(data), new Date(ahead.yesterday));
      if (key === AHEAD_RETYPE) return { stay: true, data: settled(data) };
      return { stay: true };
    },
    onText: (env, data, text) => {
      const read = readPastTime(env, text);
      if ('error' in read) return { stay: true, data: settled(data), error: read.error };
      if ('ahead' in read) return { stay: true, data: { ...data, ahead: read.ahead } };
      return o.then(env, settled(data), read.at);
    },
  };
}

/**
 * A local date typed as `12-05`, `12/5`, `12月5日` or `2026-12-05`; without a year, the next such date
 * from `today` (within the coming year), since absences are registered ahead.
 */
export function parseLocalDateInput(text: string, today: string): string | undefined {
  const s = text.trim().replace(/[０-９]/g, (d) => String.fromCharCode(d.charCodeAt(0) - 0xfee0));
  const m = /^(?:(\d{4})[-/.年])?(\d{1,2})[-/.月](\d{1,2})日?$/.exec(s);
  if (!m) return undefined;
  const month = Number(m[2]);
  const day = Number(m[3]);
  if (month < 1 || month > 12 || day < 1 || day > 31) return undefined;
  const pad = (n: number) => String(n).padStart(2, '0');
  const build = (year: number) => `${year}-${pad(month)}-${pad(day)}`;
  const year = m[1] ? Number(m[1]) : parseLocalDate(today).year;
  let date = build(year);
  if (addDays(date, 0) !== date) return undefined; // 02-31 and the like
  if (!m[1] && date < addDays(today, -31)) date = build(year + 1);
  return date;
}

/** Today's local date. */
export function todayIn(env: FlowEnv): string {
  return localDate(env.now, env.deps.timeZone);
}

export interface DateStepOptions<D> {
  /** The question, as Telegram HTML. */
  ask(env: FlowEnv, data: D): string;
  /** Offer "today" and "tomorrow" as buttons. */
  shortcuts?: boolean;
  /** The date a date typed without a year is read from (default today). */
  from?(env: FlowEnv, data: D): string;
  /** Told when the text is not a date. */
  invalid: MessageKey;
  then(env: FlowEnv, data: D, date: string): Result<D>;
}

export function dateStep<D>(o: DateStepOptions<D>): Step<D> {
  return {
    prompt: (env, data) => ({
      text: o.ask(env, data),
      ...(o.shortcuts ? { rows: [[env.choice(env.say('button.today'), 'today'), env.choice(env.say('button.tomorrow'), 'tomorrow')]] } : {}),
    }),
    ...(o.shortcuts
      ? {
          onChoice: (env: FlowEnv, data: D, key: string): Result<D> => {
            if (key !== 'today' && key !== 'tomorrow') return { stay: true };
            return o.then(env, data, addDays(todayIn(env), key === 'today' ? 0 : 1));
          },
        }
      : {}),
    onText: (env, data, text) => {
      const date = parseLocalDateInput(text, o.from?.(env, data) ?? todayIn(env));
      return date ? o.then(env, data, date) : { stay: true, error: env.say(o.invalid) };
    },
  };
}
