/**
 * Parses the time a duty officer types for "when did it happen": `14:30`, `昨天 14:30`, `前天 8:05`,
 * `11-28 14:30`, `2026-11-28 14:30`, `yesterday 14:30`, in the configured zone.
 */
import { addDays, fromLocal, localDate, parseLocalDate } from './time.js';

export type TimeInputResult =
  | { ok: true; at: Date }
  | { ok: false; reason: 'format' | 'future' | 'too_old' }
  /**
   * A bare `HH:MM` later than now: a typo, clock skew, or last night. Never moved by a day silently: the
   * flow asks which day was meant (`yesterday`, or `today` where the step allows a time later today).
   * `typed` is the time as `HH:MM`.
   */
  | { ok: false; reason: 'ahead'; typed: string; today: Date; yesterday: Date };

const DAY_WORDS: Record<string, number> = {
  今天: 0,
  今日: 0,
  today: 0,
  昨天: -1,
  昨日: -1,
  yesterday: -1,
  前天: -2,
};

/** Occurrences more than this many days ago are almost surely a typo. */
const MAX_AGE_DAYS = 31;
/** A little slack for clocks and typing "now" as a time. */
const FUTURE_SLACK_MS = 5 * 60 * 1000;

export function parseIncidentTime(input: string, now: Date, tz: string): TimeInputResult {
  const text = input.trim().toLowerCase().replace(/：/g, ':').replace(/\s+/g, ' ');
  if (text.length === 0 || text.length > 40) return { ok: false, reason: 'format' };

  const m =
    /^(?:(今天|今日|昨天|昨日|前天|today|yesterday) ?)?(?:(?:(\d{4})[-/.年])?(\d{1,2})[-/.月](\d{1,2})日? ?)?(\d{1,2})[:点時时](\d{2})?分?$/.exec(text);
  if (!m) return { ok: false, reason: 'format' };
  const [, dayWord, yearStr, monthStr, dayStr, hourStr, minuteStr] = m;
  if (dayWord && monthStr) return { ok: false, reason: 'format' };

  const hour = Number(hourStr);
  const minute = minuteStr === undefined ? 0 : Number(minuteStr);
  if (hour > 23 || minute > 59) return { ok: false, reason: 'format' };

  const today = localDate(now, tz);
  let date = addDays(today, dayWord ? DAY_WORDS[dayWord]! : 0);
  if (monthStr && dayStr) {
    const year = yearStr ? Number(yearStr) : parseLocalDate(today).year;
    const month = Number(monthStr);
    const day = Number(dayStr);
    if (month < 1 || month > 12 || day < 1 || day > 31) return { ok: false, reason: 'format' };
    date = `${year}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
    // Reject 02-31 and the like, which Date.UTC would roll over.
    if (addDays(date, 0) !== date) return { ok: false, reason: 'format' };
  }

  const at = fromLocal({ ...parseLocalDate(date), hour, minute }, tz);
  // A bare "05:59" at 05:49, or "23:50" at 00:10: the user confirms which day was meant.
  if (!dayWord && !monthStr && at.getTime() - now.getTime() > FUTURE_SLACK_MS) {
    const typed = `${String(hour).padStart(2, '0')}:${String(minute).padStart(2, '0')}`;
    return { ok: false, reason: 'ahead', typed, today: at, yesterday: fromLocal({ ...parseLocalDate(addDays(date, -1)), hour, minute }, tz) };
  }
  if (at.getTime() - now.getTime() > FUTURE_SLACK_MS) return { ok: false, reason: 'future' };
  if (now.getTime() - at.getTime() > MAX_AGE_DAYS * 86_400_000) return { ok: false, reason: 'too_old' };
  return { ok: true, at };
}
