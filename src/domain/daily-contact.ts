/**
 * Daily contact counted in days, not logs. A day owed a contact is missed once its check time has passed
 * (or the officer has already failed to reach the subject that day) without a reached contact; two failed
 * logs in one hour are one day. Contact is owed on a day an approved absence covers, and while an
 * epidemic 情形三 incident (外出期间红黄码, 四(九)) of the subject is open: "司法所应当每日与外出人员保持联系".
 * Pure: dates are local YYYY-MM-DD, instants are passed in.
 */
import type { EscalationPolicy } from './policy.js';
import { addDays, atLocalTime } from './time.js';

export type DailyContactSettings = EscalationPolicy['dailyContact'];

export const CONTACT_NOTICE_KINDS = [
  /** "情况异常": to the office head and the section at once, with the note. */
  'contact_abnormal',
  /** Days without a reached contact at the bureau's second threshold: to the deputy director. */
  'contact_missed_escalation',
] as const;
export type ContactNoticeKind = (typeof CONTACT_NOTICE_KINDS)[number];

/** A contact that reached the subject; "情况异常" reached them too (and raises its own alert). */
export function isReachedResult(result: string): boolean {
  return result === 'reached' || result === 'abnormal';
}

export interface ContactDay {
  date: string;
  /** Contact was owed that day (an absence covered it, or an epidemic 情形三 incident was open). */
  owed: boolean;
  /** A reached (or abnormal) contact was logged for the day. */
  reached: boolean;
  /** A failed attempt (未联系上) was logged for the day. */
  failed: boolean;
  /** The day's check time has passed. */
  checked: boolean;
}

export interface MissedRun {
  /** Days in a row, the newest owed day counted back, without a reached contact. */
  days: number;
  /** The first day of the run, or null when there is none. */
  since: string | null;
}

/**
 * Counts the missed days in a row, newest first. Today counts only once it is decided: its check has
 * passed or an attempt already failed; until then it is skipped, neither missed nor reached. A reached
 * day or a day nothing was owed ends the run.
 */
export function missedDaysInARow(daysNewestFirst: readonly ContactDay[]): MissedRun {
  let days = 0;
  let since: string | null = null;
  for (const [i, d] of daysNewestFirst.entries()) {
    if (!d.owed || d.reached) break;
    if (!d.checked && !d.failed) {
      if (i === 0) continue;
      break;
    }
    days++;
    since = d.date;
  }
  return { days, since };
}

/**
 * The days from `today` back over `lookback` days, newest first, from what is owed, what was logged and
 * which checks have passed.
 */
export function contactDays(input: {
  today: string;
  lookback: number;
  owed: (date: string) => boolean;
  logs: ReadonlyArray<{ localDate: string; result: string }>;
  checked: (date: string) => boolean;
}): ContactDay[] {
  const out: ContactDay[] = [];
  for (let i = 0; i <= input.lookback; i++) {
    const date = addDays(input.today, -i);
    const logs = input.logs.filter((l) => l.localDate === date);
    out.push({
      date,
      owed: input.owed(date),
      reached: logs.some((l) => isReachedResult(l.result)),
      failed: logs.some((l) => l.result === 'not_reached'),
      checked: input.checked(date),
    });
  }
  return out;
}

export interface StreakDecision {
  /** Offer the prefilled absconding report (the bureau's first threshold). */
  offerAbsconding: boolean;
  /** Tell the deputy director (the bureau's second threshold). */
  tellDeputyDirector: boolean;
}

/** What a run of missed days calls for; no absconding offer while an absconding report is open already. */
export function decideMissedRun(run: MissedRun, settings: Pick<DailyContactSettings, 'failuresBeforeAbsconding' | 'deputyDirectorAfterDays'>, opts: { abscondingOpen: boolean }): StreakDecision {
  return {
    offerAbsconding: !opts.abscondingOpen && run.days >= settings.failuresBeforeAbsconding,
    tellDeputyDirector: run.days >= settings.deputyDirectorAfterDays,
  };
}

/** Longest run counted back, in days: beyond it the bureau's thresholds were met long ago. */
export function streakLookback(settings: Pick<DailyContactSettings, 'failuresBeforeAbsconding' | 'deputyDirectorAfterDays'>): number {
  return Math.min(60, Math.max(settings.failuresBeforeAbsconding, settings.deputyDirectorAfterDays) + 1);
}

/** 四(九) 情形三: the incidents that put their subject on daily contact while open (a drill puts nobody). */
export function isEpidemicWatch(incident: { type: string; scenario: string | null; isDrill: boolean }): boolean {
  return incident.type === 'epidemic' && incident.scenario === 's3' && !incident.isDrill;
}

/** Whether an epidemic 情形三 incident owed the day's contact: open at the day's check. */
export function epidemicWatchOwes(incident: { reportedAt: Date; closedAt: Date | null }, checkAt: Date): boolean {
  return incident.reportedAt.getTime() <= checkAt.getTime() && (incident.closedAt === null || incident.closedAt.getTime() > checkAt.getTime());
}

/** A duty that begins after the day's reminder time gets its first reminder at once, not tomorrow. */
export function remindsAtOnce(now: Date, today: string, settings: Pick<DailyContactSettings, 'reminderAt'>, tz: string): boolean {
  return now.getTime() >= atLocalTime(today, settings.reminderAt, tz).getTime();
}

/** The day's watch: at the check time the missed days of every subject owed contact are counted. */
export const CONTACT_WATCH_TIMER = 'contact_watch';

export function contactWatchKey(date: string): string {
  return `${CONTACT_WATCH_TIMER}-${date}-0`;
}
