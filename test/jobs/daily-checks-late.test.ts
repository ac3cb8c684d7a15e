/**
 * The daily checks (screening and drill reminders, pruning) done late at start: a worker that was down
 * at 09:00 and starts later that day runs them then, once; before 09:00 it leaves them to the schedule.
 */
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dailyRuns, outbox } from '../../src/db/schema.js';
import { DAILY_CHECKS_RUN, runLateDailyChecks } from '../../src/services/daily-checks.service.js';
import type { ServiceDeps } from '../../src/services/ports.js';
import { makeDeps } from '../after-incident/helpers.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { ManualClock, seedOrg } from '../helpers/fixtures.js';

let t: TestDatabase;
let deps: ServiceDeps;
// 08:30 in Asia/Shanghai.
const clock = new ManualClock(new Date('2026-11-10T00:30:00Z'));

beforeAll(async () => {
  t = await createTestDatabase();
  const org = await seedOrg(t.db);
  deps = makeDeps(t, org, clock);
});
afterAll(async () => t?.drop());

describe('daily checks missed while no worker ran', () => {
  it('are left to the schedule before their time, run once when late, and not again that day', async () => {
    expect(await runLateDailyChecks(deps)).toBeUndefined();
    expect(await t.db.select().from(outbox).where(eq(outbox.kind, 'drill_reminder'))).toEqual([]);

    clock.advance(90 * 60_000); // 10:00
    const late = await runLateDailyChecks(deps);
    expect(late).toMatchObject({ drillReminderDue: true, drillNotices: 2 });
    const [run] = await t.db.select().from(dailyRuns).where(and(eq(dailyRuns.kind, DAILY_CHECKS_RUN), eq(dailyRuns.localDate, '2026-11-10')));
    expect(run).toBeDefined();

    clock.advance(60 * 60_000);
    expect(await runLateDailyChecks(deps)).toBeUndefined();
    expect(await t.db.select().from(outbox).where(eq(outbox.kind, 'drill_reminder'))).toHaveLength(2);
  });
});
