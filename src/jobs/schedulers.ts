/**
 * The daily runs as BullMQ job schedulers with a time zone: 09:00 contact reminders and daily checks
 * (screenings, drill reminder, pruning), the checks again at the drills' start time (09:30, to start a
 * drill scheduled for the day), and the 18:00 digest (the times come from the deployment's
 * policy). A scheduler creates its next run only when the current one starts, so runs missed while no
 * worker was up are not replayed: daily-contact.service detects those days at start, and
 * daily-checks.service runs today's checks late if their time has passed.
 */
import { parseTimeOfDay, type EscalationPolicy } from '../domain/index.js';
import { JOB_OPTIONS, type JobName } from './catalogue.js';
import type { AnyQueue } from './queue-backend.js';

export interface DailySchedule {
  id: string;
  job: Extract<JobName, 'daily.contact_reminders' | 'daily.digest' | 'daily.checks'>;
  /** Cron with seconds: `0 <min> <hour> * * *`. */
  pattern: string;
}

/** `09:00` → `0 0 9 * * *`. */
export function dailyPattern(hhmm: string): string {
  const { hour, minute } = parseTimeOfDay(hhmm);
  return `0 ${minute} ${hour} * * *`;
}

export function dailySchedules(policy: EscalationPolicy): DailySchedule[] {
  return [
    { id: 'daily-contact-reminders', job: 'daily.contact_reminders', pattern: dailyPattern(policy.dailyContact.reminderAt) },
    { id: 'daily-digest', job: 'daily.digest', pattern: dailyPattern(policy.digestAt) },
    { id: 'daily-checks', job: 'daily.checks', pattern: dailyPattern(policy.dailyContact.reminderAt) },
    // Scheduled drills start at their own time: the checks run again then (each check is idempotent).
    ...(policy.drills.startsAt !== policy.dailyContact.reminderAt ? [{ id: 'daily-drills', job: 'daily.checks' as const, pattern: dailyPattern(policy.drills.startsAt) }] : []),
  ];
}

/**
 * Creates the schedulers, or updates one whose time or zone changed. Leaves an unchanged scheduler alone,
 * so calling this every minute (the reconciler does, to survive a wiped Redis) does not move its next run.
 */
export async function ensureDailySchedulers(queue: AnyQueue, policy: EscalationPolicy, tz: string): Promise<number> {
  const existing = new Map((await queue.getJobSchedulers(0, -1)).map((s) => [s.key, s]));
  let changed = 0;
  for (const s of dailySchedules(policy)) {
    const have = existing.get(s.id);
    if (have && have.pattern === s.pattern && have.tz === tz) continue;
    await queue.upsertJobScheduler(s.id, { pattern: s.pattern, tz }, { name: s.job, data: {}, opts: JOB_OPTIONS[s.job] });
    changed++;
  }
  return changed;
}
