/**
 * The calendar on the real database with the test clock: a drill scheduled for a date starts on that
 * date at the policy's time, once, and a missed day is caught up; a sensitive period's reminder goes N
 * days before to every officer; a type 十 report during a period is linked to it. Each test has its
 * own database, so the order of the tests does not matter.
 */
import { and, eq } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { loadIncidentTimeline } from '../../src/db/read-models/incident-timeline.js';
import { auditLog, drills, incidents, outbox, scheduledDrills } from '../../src/db/schema.js';
import { DEFAULT_POLICY } from '../../src/domain/index.js';
import { runDailyChecks, runLateDailyChecks } from '../../src/services/daily-checks.service.js';
import { checkDrillReminder, listScheduledDrills, scheduleDrill, startDrill, startDueDrills } from '../../src/services/drill.service.js';
import { reportIncident } from '../../src/services/incident.service.js';
import type { ServiceDeps } from '../../src/services/ports.js';
import { addSensitivePeriod, listSensitivePeriods, remindSensitivePeriods, removeSensitivePeriod } from '../../src/services/sensitive-period.service.js';
import { makeDeps } from '../after-incident/helpers.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { ManualClock, seedOrg, type SeededOrg } from '../helpers/fixtures.js';

const opened: TestDatabase[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((t) => t.drop()));
});

async function setUp(start: string): Promise<{ t: TestDatabase; org: SeededOrg; clock: ManualClock; deps: ServiceDeps }> {
  const t = await createTestDatabase();
  opened.push(t);
  const org = await seedOrg(t.db);
  const clock = new ManualClock(new Date(start));
  return { t, org, clock, deps: makeDeps(t, org, clock, DEFAULT_POLICY) };
}

describe('a drill scheduled for a date', () => {
  it('starts on that date at 09:30 (Shanghai) through the drill use case, not before, and once however often the run comes', async () => {
    const { t, org, clock, deps } = await setUp('2026-11-29T02:00:00Z');
    await expect(scheduleDrill(deps, org.actor('officerA1'), { date: '2026-12-10', type: 'violent_crime', officeUnitId: org.units.officeA })).rejects.toMatchObject({ code: 'not_permitted' });
    await expect(scheduleDrill(deps, org.actor('director'), { date: '2026-12-10', type: 'violent_crime', officeUnitId: org.units.officeA })).rejects.toMatchObject({ code: 'not_permitted' });
    await expect(scheduleDrill(deps, org.actor('section'), { date: '2026-11-28', type: 'violent_crime', officeUnitId: org.units.officeA })).rejects.toMatchObject({ code: 'invalid_input', detail: 'date_past' });
    const row = await scheduleDrill(deps, org.actor('section'), { date: '2026-12-10', type: 'violent_crime', officeUnitId: org.units.officeA });
    expect((await listScheduledDrills(deps, org.actor('director'))).map((r) => r.id)).toEqual([row.id]);
    const drillIncidents = () => t.db.select().from(incidents).where(eq(incidents.isDrill, true));

    for (const at of ['2026-12-09T02:00:00Z', '2026-12-10T01:00:00Z', '2026-12-10T01:29:00Z']) {
      clock.set(new Date(at)); // the day before; 09:00 and 09:29 on the day
      expect((await runDailyChecks(deps)).drillsStarted).toBe(0);
    }
    expect(await drillIncidents()).toEqual([]);

    clock.set(new Date('2026-12-10T01:30:00Z')); // 09:30, the second daily run of the checks
    expect((await runDailyChecks(deps)).drillsStarted).toBe(1);
    const [incident] = await drillIncidents();
    expect(incident).toMatchObject({ officeUnitId: org.units.officeA, type: 'violent_crime', reporterStaffId: org.staff.section, isDrill: true });
    expect(incident!.reportedAt).toEqual(new Date('2026-12-10T01:30:00Z'));
    // Its notices go as a drill's: every one flagged, so every message says 【演练】.
    const notices = await t.db.select().from(outbox).where(eq(outbox.incidentId, incident!.id));
    expect(notices.length).toBeGreaterThan(0);
    expect(notices.every((n) => n.isDrill)).toBe(true);
    const [saved] = await t.db.select().from(scheduledDrills).where(eq(scheduledDrills.id, row.id));
    expect(saved).toMatchObject({ state: 'started', incidentId: incident!.id, starterStaffId: org.staff.section });

    // Twice more, and late the same day (a restart): nothing more.
    expect((await runDailyChecks(deps)).drillsStarted).toBe(0);
    clock.set(new Date('2026-12-10T06:00:00Z'));
    expect(await startDueDrills(deps)).toEqual({ started: [], missed: [], noStarter: [] });
    expect(await drillIncidents()).toHaveLength(1);
    expect(await t.db.select().from(drills)).toHaveLength(1);
    expect(await t.db.select().from(auditLog).where(eq(auditLog.action, 'drill.schedule_started'))).toHaveLength(1);
    // No longer upcoming.
    expect(await listScheduledDrills(deps, org.actor('section'))).toEqual([]);

    // Scheduled, then held, it covers office A for 2026: the yearly reminder (sent once this month, by the
    // first run) names office B only.
    expect(await checkDrillReminder(deps)).toEqual({ due: true, outboxCreated: 0 });
    const reminders = await t.db.select().from(outbox).where(eq(outbox.kind, 'drill_reminder'));
    expect(reminders.map((r) => r.params)).toEqual([expect.objectContaining({ year: 2026, officeUnitIds: [org.units.officeB] }), expect.objectContaining({ year: 2026, officeUnitIds: [org.units.officeB] })]);
  });

  it('whose day passed while no worker ran starts at the next start-up; one more than the catch-up days late is recorded as missed', async () => {
    const { t, org, clock, deps } = await setUp('2026-11-29T02:00:00Z');
    const late = await scheduleDrill(deps, org.actor('section2'), { date: '2026-12-11', type: 'epidemic', scenario: 's1', officeUnitId: org.units.officeB });
    const old = await scheduleDrill(deps, org.actor('section'), { date: '2026-12-02', type: 'disruption', officeUnitId: org.units.officeA });

    // The worker was down from before 2026-12-02 until 08:30 on 2026-12-12: today's checks are not due yet,
    // but the start-up catches up the drill of the 11th; the one of the 2nd is 10 days late.
    clock.set(new Date('2026-12-12T00:30:00Z'));
    expect(await runLateDailyChecks(deps)).toBeUndefined();
    const rows = new Map((await t.db.select().from(scheduledDrills)).map((r) => [r.id, r]));
    expect(rows.get(late.id)).toMatchObject({ state: 'started', starterStaffId: org.staff.section2 });
    expect(rows.get(old.id)).toMatchObject({ state: 'missed', incidentId: null });
    const [incident] = await t.db.select().from(incidents).where(eq(incidents.isDrill, true));
    expect(incident).toMatchObject({ type: 'epidemic', scenario: 's1', officeUnitId: org.units.officeB });
    const [started] = await t.db.select().from(auditLog).where(eq(auditLog.action, 'drill.schedule_started'));
    expect(started!.data).toMatchObject({ late: true });

    expect(await startDueDrills(deps)).toEqual({ started: [], missed: [], noStarter: [] });
    expect(await t.db.select().from(incidents).where(eq(incidents.isDrill, true))).toHaveLength(1);
  });

  it('whose start died half-way (reported, not yet recorded) is completed by the next run without a second incident', async () => {
    const { t, org, clock, deps } = await setUp('2026-11-29T02:00:00Z');
    const row = await scheduleDrill(deps, org.actor('section'), { date: '2026-12-10', type: 'violent_crime', officeUnitId: org.units.officeA });
    clock.set(new Date('2026-12-10T01:30:00Z'));
    // What a run that died after the report leaves: the row claimed, the drill reported under its key.
    await t.db.update(scheduledDrills).set({ state: 'starting', starterStaffId: org.staff.section }).where(eq(scheduledDrills.id, row.id));
    const first = await startDrill(deps, org.actor('section'), { type: 'violent_crime', officeUnitId: org.units.officeA, submissionKey: row.id });

    const r = await startDueDrills(deps);
    expect(r.started).toEqual([{ scheduledDrillId: row.id, drillId: first.drill.id, incidentId: first.incident.id, late: false }]);
    expect(await t.db.select().from(incidents).where(eq(incidents.isDrill, true))).toHaveLength(1);
    expect(await t.db.select().from(drills)).toHaveLength(1);
    const [saved] = await t.db.select().from(scheduledDrills).where(eq(scheduledDrills.id, row.id));
    expect(saved).toMatchObject({ state: 'started', drillId: first.drill.id });
  });
});

describe('a sensitive period', () => {
  it('reminds every officer and office head N days before it starts (3 by default), once; only the section keeps the list', async () => {
    const { t, org, clock, deps } = await setUp('2026-09-20T02:00:00Z');
    const input = { name: '国庆假期', startsOn: '2026-10-01', endsOn: '2026-10-07' };
    await expect(addSensitivePeriod(deps, org.actor('officerA1'), input)).rejects.toMatchObject({ code: 'not_permitted' });
    await expect(addSensitivePeriod(deps, org.actor('director'), input)).rejects.toMatchObject({ code: 'not_permitted' });
    await expect(listSensitivePeriods(deps, org.actor('headA'))).rejects.toMatchObject({ code: 'not_permitted' });
    const { period, reminded } = await addSensitivePeriod(deps, org.actor('section'), input);
    expect(reminded).toBe(0);
    expect((await listSensitivePeriods(deps, org.actor('deputy'))).map((p) => p.name)).toEqual(['国庆假期']);
    const reminders = () => t.db.select().from(outbox).where(eq(outbox.kind, 'sensitive_period_reminder'));

    clock.set(new Date('2026-09-27T01:00:00Z'));
    expect((await runDailyChecks(deps)).periodNotices).toBe(0);
    clock.set(new Date('2026-09-28T01:00:00Z')); // 09:00, three days before
    expect((await runDailyChecks(deps)).periodNotices).toBe(5);
    const rows = await reminders();
    expect(rows.map((r) => r.recipientStaffId).sort()).toEqual([org.staff.officerA1, org.staff.officerA2, org.staff.officerB1, org.staff.headA, org.staff.headB].sort());
    // Ids only: the name is read from the period when the notice is drawn.
    expect(rows.every((r) => JSON.stringify(r.params) === JSON.stringify({ periodId: period.id }))).toBe(true);

    clock.set(new Date('2026-09-29T01:00:00Z'));
    expect((await runDailyChecks(deps)).periodNotices).toBe(0);
    expect(await remindSensitivePeriods(deps)).toEqual({ periods: 0, notices: 0 });
    expect(await reminders()).toHaveLength(5);

    await removeSensitivePeriod(deps, org.actor('section'), period.id);
    expect(await listSensitivePeriods(deps, org.actor('section'))).toEqual([]);
  });

  it('added at short notice reminds at once', async () => {
    const { org, deps } = await setUp('2026-09-30T02:00:00Z');
    const r = await addSensitivePeriod(deps, org.actor('section'), { name: '国庆假期', startsOn: '2026-10-01', endsOn: '2026-10-07' });
    expect(r.reminded).toBe(5);
  });

  it('is linked to a type 十 report made during it: on the incident and in its timeline; other reports are not', async () => {
    const { t, org, clock, deps } = await setUp('2026-09-20T02:00:00Z');
    const { period } = await addSensitivePeriod(deps, org.actor('section'), { name: '国庆假期', startsOn: '2026-10-01', endsOn: '2026-10-07' });
    const report = (type: 'sensitive_period_entry' | 'disruption') =>
      reportIncident(deps, org.actor('officerA1'), {
        type,
        subjectId: org.subjects.a1,
        officeUnitId: org.units.officeA,
        discoveredAt: clock.now(),
        injured: 0,
        dead: 0,
        description: '未经允许进入活动举办场所',
      });

    clock.set(new Date('2026-10-03T02:00:00Z'));
    const during = (await report('sensitive_period_entry')).incident;
    expect(during.sensitivePeriodId).toBe(period.id);
    const timeline = (await loadIncidentTimeline(t.db, during.id))!;
    expect(timeline.incident.sensitivePeriodId).toBe(period.id);
    expect(timeline.audit.filter((a) => a.action === 'incident.sensitive_period').map((a) => a.data)).toEqual([{ sensitivePeriodId: period.id, startsOn: '2026-10-01', endsOn: '2026-10-07' }]);
    expect((await report('disruption')).incident.sensitivePeriodId).toBeNull();

    clock.set(new Date('2026-10-08T02:00:00Z')); // the day after
    expect((await report('sensitive_period_entry')).incident.sensitivePeriodId).toBeNull();

    // A period added after a report on its days links it then.
    clock.set(new Date('2026-11-05T02:00:00Z'));
    const before = (await report('sensitive_period_entry')).incident;
    const added = await addSensitivePeriod(deps, org.actor('section'), { name: '进博会', startsOn: '2026-11-04', endsOn: '2026-11-10' });
    expect(added.linked).toBe(1);
    const [linked] = await t.db.select().from(incidents).where(eq(incidents.id, before.id));
    expect(linked!.sensitivePeriodId).toBe(added.period.id);
    expect(await t.db.select().from(auditLog).where(and(eq(auditLog.incidentId, before.id), eq(auditLog.action, 'incident.sensitive_period')))).toHaveLength(1);
  });
});
