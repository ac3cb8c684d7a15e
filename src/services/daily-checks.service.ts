/**
 * The daily checks that need no time of their own, run once a day next to the contact reminders: the
 * screening reminders (七(一)), the drill reminder (七(二), at least one a year), and pruning the update ids
 * the bot keeps to drop redeliveries; and the calendar: scheduled drills whose time has come are started,
 * and officers are reminded of a sensitive period ahead. Each is idempotent (once per subject and due date, once per month,
 * a delete), so a second run writes nothing more. Each run is recorded in daily_runs (kind `checks`), so
 * a worker that starts after today's time and finds no run does it then (runLateDailyChecks).
 */
import { isDailyRunLate, recordDailyRun } from '../db/repositories/daily-runs.repository.js';
import { addMs, atLocalTime, localDate } from '../domain/index.js';
import { checkDrillReminder, startDueDrills } from './drill.service.js';
import { remindSensitivePeriods } from './sensitive-period.service.js';
import type { ServiceDeps } from './ports.js';
import { remindDueScreenings } from './screening.service.js';
import { PROCESSED_UPDATE_KEEP_MS, pruneProcessedUpdates } from '../db/repositories/processed-updates.repository.js';

/** The daily_runs kind of these checks. */
export const DAILY_CHECKS_RUN = 'checks';

export interface DailyChecksResult {
  screeningsDue: number;
  screeningNotices: number;
  drillReminderDue: boolean;
  drillNotices: number;
  updatesPruned: number;
  /** Scheduled drills started by this run (their time had come). */
  drillsStarted: number;
  /** Officers reminded of a sensitive period ahead. */
  periodNotices: number;
}

export async function runDailyChecks(deps: ServiceDeps): Promise<DailyChecksResult> {
  const now = deps.clock.now();
  const screenings = await remindDueScreenings(deps);
  const drill = await checkDrillReminder(deps);
  const periods = await remindSensitivePeriods(deps);
  const updatesPruned = await pruneProcessedUpdates(deps.db, addMs(now, -PROCESSED_UPDATE_KEEP_MS));
  await recordDailyRun(deps.db, DAILY_CHECKS_RUN, localDate(now, deps.timeZone), now);
  // Last: a drill that could not start throws once all were tried, and the job is retried.
  const drillsStarted = (await startDueDrills(deps)).started.length;
  return { screeningsDue: screenings.due, screeningNotices: screenings.outboxCreated, drillReminderDue: drill.due, drillNotices: drill.outboxCreated, updatesPruned, drillsStarted, periodNotices: periods.notices };
}

/**
 * Today's checks, done now if their time (the contact reminder's) has passed and no run is recorded:
 * a worker that was down at 09:00 reminds of due screenings the same day, not the next. Undefined when
 * nothing was late.
 */
export async function runLateDailyChecks(deps: ServiceDeps): Promise<DailyChecksResult | undefined> {
  const now = deps.clock.now();
  const today = localDate(now, deps.timeZone);
  const policy = await deps.policy();
  const late = await isDailyRunLate(deps.db, DAILY_CHECKS_RUN, today, atLocalTime(today, policy.dailyContact.reminderAt, deps.timeZone), now);
  if (late) return runDailyChecks(deps);
  // Scheduled drills start at a time of their own (the checks run again then): one whose time passed
  // while no worker was up starts now, not on tomorrow's run.
  await startDueDrills(deps);
  return undefined;
}
