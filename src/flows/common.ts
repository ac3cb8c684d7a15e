/** Small pieces the flows share: subject buttons, counts, dates and times typed by a user. */
import { z } from 'zod';
import { addDays, formatLocal, localDate, parseIncidentTime, parseLocalDate, subjectLabel } from '../domain/index.js';
import type { Keyboard } from '../channels/telegram/keyboards.js';
import type { MessageKey } from '../i18n/index.js';
import type { SubjectView } from '../services/subject.service.js';
import type { FlowEnv } from './engine.js';
import { truncate } from '../channels/telegram/html.js';

/** A subject on a button in a private chat, masked per PII_MODE. */
export function subjectButtonText(env: FlowEnv, s: SubjectView): string {
  return truncate(subjectLabel(s, env.deps.piiMode, 'private'), 40);
}

/** 1–999 from what a user typed ("3", "３", "3人"). */
export function parseCount(text: string): number | undefined {
  const normalised = text.trim().replace(/[０-９]/g, (d) => String.fromCharCode(d.charCodeAt(0) - 0xfee0)).replace(/\s*(人|名|个|people|persons?)$/i, '');
  if (!/^\d{1,3}$/.test(normalised)) return undefined;
  const n = Number(normalised);
  return n >= 1 && n <= 999 ? n : undefined;
}

/**
 * A local date typed as `12-05`, `12/5`, `12月5日` or `2026-12-05`; without a year, the next such date
 * from today (within the coming year), since absences are registered ahead.
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

export function todayIn(env: FlowEnv): string {
  return localDate(env.now, env.deps.timeZone);
}

/** A typed text a step requires: trimmed, not blank (told with `blank`), at most `max` characters. */
export function requiredText(env: FlowEnv, text: string, blank: MessageKey, max: number): { ok: string } | { error: string } {
  const trimmed = text.trim();
  if (trimmed === '') return { error: env.say(blank) };
  if (trimmed.length > max) return { error: env.say('refuse.too_long', { max }) };
  return { ok: trimmed };
}

/** A bare time typed ahead of now, kept in the form's data until the user says which day was meant. */
export const aheadTime = z.object({ typed: z.string().regex(/^\d{2}:\d{2}$/), yesterday: z.iso.datetime() });
export type AheadTime = z.infer<typeof aheadTime>;

/**
 * A time a step asks about that cannot be in the future ("when was it discovered", "when was it done"):
 * the instant, an error to show, or a bare time ahead of now, which is never moved to yesterday unseen.
 */
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
