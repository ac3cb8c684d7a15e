/**
 * Drills and sensitive periods on the calendar (七(二), and type 十's 特殊敏感时间段). Pure: dates and times
 * are passed in; local dates are `YYYY-MM-DD` in the bureau's zone.
 *
 * The drill rule, by calendar year (区司法局每年应组织不少于一次): each office is to have at least one drill
 * started in every calendar year. An office counts as covered for the year when a drill for it started
 * in that year, or one is scheduled for it later in the year (today or after). From the policy's
 * `remindFromMonth` (October, the last quarter, by default) the section is reminded of the offices not
 * covered; before that month nobody is, however long ago the last drill was. A drill held in January
 * covers the whole year: the next reminder is in the last quarter of the year after, if nothing is
 * held or scheduled then. The plan names the bureau; counting each office asks at least as much.
 */
import type { EscalationPolicy } from './policy.js';
import { addDays, atLocalTime, daysBetween, localDate, parseLocalDate } from './time.js';

/** What a scheduled drill is: waiting for its date, being started, started, cancelled, or missed (its date passed unstarted). */
export const SCHEDULED_DRILL_STATES = ['scheduled', 'starting', 'started', 'cancelled', 'missed'] as const;
export type ScheduledDrillState = (typeof SCHEDULED_DRILL_STATES)[number];

/** A drill is scheduled at most this many days ahead. */
export const MAX_DRILL_DAYS_AHEAD = 366;
/** A sensitive period lasts at most this many days. */
export const MAX_PERIOD_DAYS = 366;
/** A period's name, in characters. */
export const MAX_PERIOD_NAME = 60;

// ---------------------------------------------------------------------------------------------
// The yearly reminder.

export interface DrillHeld {
  officeUnitId: string;
  /** The local date it started. */
  startedOn: string;
}

export interface DrillScheduled {
  officeUnitId: string;
  /** The local date it is to start. */
  date: string;
}

/**
 * The offices the section is reminded of today (in the order given): none before the reminder month;
 * from it, those with no drill started this calendar year and none scheduled for the rest of it.
 */
export function officesDueForDrill(
  officeUnitIds: readonly string[],
  held: readonly DrillHeld[],
  scheduled: readonly DrillScheduled[],
  today: string,
  policy: Pick<EscalationPolicy, 'drills'>,
): string[] {
  const { year, month } = parseLocalDate(today);
  if (month < policy.drills.remindFromMonth) return [];
  const yearOf = (date: string) => parseLocalDate(date).year;
  const covered = new Set<string>([
    ...held.filter((d) => yearOf(d.startedOn) === year).map((d) => d.officeUnitId),
    ...scheduled.filter((d) => yearOf(d.date) === year && d.date >= today).map((d) => d.officeUnitId),
  ]);
  return officeUnitIds.filter((id) => !covered.has(id));
}

// ---------------------------------------------------------------------------------------------
// A scheduled drill's day.

/** The instant a drill scheduled for `date` starts: the policy's time that day, in the bureau's zone. */
export function scheduledDrillStartsAt(date: string, policy: Pick<EscalationPolicy, 'drills'>, tz: string): Date {
  return atLocalTime(date, policy.drills.startsAt, tz);
}

export type ScheduledDrillDecision = { kind: 'wait'; startsAt: Date } | { kind: 'start'; late: boolean } | { kind: 'missed'; daysLate: number } | { kind: 'done' };

/**
 * What the daily run does with a scheduled drill now: wait for its time, start it (late when its date
 * has passed: the worker was down that day), or record it as missed when it is more than `catchUpDays`
 * late. A drill being started (`starting`) is started again: the start is idempotent, so a run that
 * died half-way completes it.
 */
export function decideScheduledDrill(
  drill: { date: string; state: ScheduledDrillState },
  now: Date,
  policy: Pick<EscalationPolicy, 'drills'>,
  tz: string,
): ScheduledDrillDecision {
  if (drill.state !== 'scheduled' && drill.state !== 'starting') return { kind: 'done' };
  const startsAt = scheduledDrillStartsAt(drill.date, policy, tz);
  if (now.getTime() < startsAt.getTime()) return { kind: 'wait', startsAt };
  const today = localDate(now, tz);
  const daysLate = daysBetween(drill.date, today);
  if (drill.state === 'scheduled' && daysLate > policy.drills.catchUpDays) return { kind: 'missed', daysLate };
  return { kind: 'start', late: daysLate > 0 };
}

export type DrillDateCheck = { ok: true } | { ok: false; reason: 'past' | 'too_far' };

/**
 * Whether a drill may be scheduled for `date`: not a day gone, nor today once the day's start time has
 * passed (it would never start), nor more than a year ahead.
 */
export function checkDrillDate(date: string, now: Date, policy: Pick<EscalationPolicy, 'drills'>, tz: string): DrillDateCheck {
  const today = localDate(now, tz);
  if (date < today) return { ok: false, reason: 'past' };
  if (date === today && now.getTime() >= scheduledDrillStartsAt(date, policy, tz).getTime()) return { ok: false, reason: 'past' };
  if (daysBetween(today, date) > MAX_DRILL_DAYS_AHEAD) return { ok: false, reason: 'too_far' };
  return { ok: true };
}

// ---------------------------------------------------------------------------------------------
// Sensitive periods (特殊敏感时间段).

export interface SensitivePeriodDates {
  startsOn: string;
  endsOn: string;
}

/** The day officers are reminded of a period: `remindDaysBefore` days before it starts. */
export function periodReminderDate(period: Pick<SensitivePeriodDates, 'startsOn'>, policy: Pick<EscalationPolicy, 'sensitivePeriods'>): string {
  return addDays(period.startsOn, -policy.sensitivePeriods.remindDaysBefore);
}

/**
 * Whether a period's reminder goes today: from its reminder date while the period has not ended, once.
 * A run missed on the reminder date (the worker was down) reminds on the next run, still before the
 * period or during it; after it, a reminder would be no use.
 */
export function periodReminderDue(
  period: SensitivePeriodDates & { remindedAt: Date | null; removedAt: Date | null },
  today: string,
  policy: Pick<EscalationPolicy, 'sensitivePeriods'>,
): boolean {
  if (period.remindedAt || period.removedAt) return false;
  return today >= periodReminderDate(period, policy) && today <= period.endsOn;
}

/** Whether `date` falls within the period, both ends included. */
export function periodCovers(period: SensitivePeriodDates, date: string): boolean {
  return period.startsOn <= date && date <= period.endsOn;
}

/** The period a date falls in: the one that started last, when periods overlap. */
export function periodOn<P extends SensitivePeriodDates>(periods: readonly P[], date: string): P | undefined {
  return [...periods].filter((p) => periodCovers(p, date)).sort((a, b) => b.startsOn.localeCompare(a.startsOn))[0];
}

export type PeriodCheck = { ok: true; name: string } | { ok: false; reason: 'name_blank' | 'name_long' | 'ends_before_start' | 'ended' | 'too_long' };

/** A new period's name and dates: a name, an end not before its start and not before today, at most a year. */
export function checkSensitivePeriod(input: { name: string } & SensitivePeriodDates, today: string): PeriodCheck {
  const name = input.name.trim();
  if (name === '') return { ok: false, reason: 'name_blank' };
  if (name.length > MAX_PERIOD_NAME) return { ok: false, reason: 'name_long' };
  if (input.endsOn < input.startsOn) return { ok: false, reason: 'ends_before_start' };
  if (input.endsOn < today) return { ok: false, reason: 'ended' };
  if (daysBetween(input.startsOn, input.endsOn) + 1 > MAX_PERIOD_DAYS) return { ok: false, reason: 'too_long' };
  return { ok: true, name };
}
