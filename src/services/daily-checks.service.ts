/**
 * The daily checks that need no time of their own, run once a day next to the contact reminders: the
 * screening reminders (七(一)), the drill reminder (七(二), at least one a year), and pruning the update ids
 * the bot keeps to drop redeliveries. Each is idempotent (once per subject and due date, once per month,
 * a delete), so a second run writes nothing more, and a day missed while down is made good the next day.
 */
import { addMs, DAY } from '../domain/index.js';
import { checkDrillReminder } from './drill.service.js';
import type { ServiceDeps } from './ports.js';
import { remindDueScreenings } from './screening.service.js';
import { pruneProcessedUpdates } from './update-gate.js';

/** Days an update id is kept; Telegram redelivers an update for 24 hours at most. */
export const PROCESSED_UPDATES_KEEP_DAYS = 7;

export interface DailyChecksResult {
  screeningsDue: number;
  screeningNotices: number;
  drillReminderDue: boolean;
  drillNotices: number;
  updatesPruned: number;
}

export async function runDailyChecks(deps: ServiceDeps): Promise<DailyChecksResult> {
  const screenings = await remindDueScreenings(deps);
  const drill = await checkDrillReminder(deps);
  const updatesPruned = await pruneProcessedUpdates(deps.db, addMs(deps.clock.now(), -PROCESSED_UPDATES_KEEP_DAYS * DAY));
  return { screeningsDue: screenings.due, screeningNotices: screenings.outboxCreated, drillReminderDue: drill.due, drillNotices: drill.outboxCreated, updatesPruned };
}
