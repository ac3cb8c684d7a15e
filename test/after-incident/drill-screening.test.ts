import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, drills, incidents, incidentSteps, incidentUpdates, outbox, subjects, timers } from '../../src/db/schema.js';
import { DAY, DEFAULT_POLICY, MINUTE } from '../../src/domain/index.js';
import { accountabilityRegister, monthlyStats } from '../../src/services/accountability.service.js';
import { checkDrillReminder, endDrill, exportDrillEvaluationDocx, startDrill } from '../../src/services/drill.service.js';
import { acknowledgeIncident } from '../../src/services/incident.service.js';
import type { ServiceDeps } from '../../src/services/ports.js';
import { logScreening, remindDueScreenings, unstableSubjectsForDigest, dueScreeningsFor } from '../../src/services/screening.service.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { ManualClock, seedOrg, type SeededOrg } from '../helpers/fixtures.js';
import { closedIncident, docxText, makeDeps } from './helpers.js';

let t: TestDatabase;
let org: SeededOrg;
let deps: ServiceDeps;
const clock = new ManualClock(new Date('2026-11-10T02:00:00Z'));
const q = () => ({ month: '2026-11', timeZone: 'Asia/Shanghai', now: clock.now(), policy: DEFAULT_POLICY });

beforeAll(async () => {
  t = await createTestDatabase();
  org = await seedOrg(t.db);
  deps = makeDeps(t, org, clock);
});
afterAll(async () => t?.drop());

// One harness and one database for the whole file, and steps that stand on what the steps before
// them left: they keep their order when the suite is shuffled (the files still run in any order).
describe('drill-screening, in order', { shuffle: false }, () => {
  describe('drills', () => {
    it('the section is reminded in the last quarter of offices with no drill this year, once a month', async () => {
      const first = await checkDrillReminder(deps);
      expect(first).toEqual({ due: true, outboxCreated: 2 });
      const rows = await t.db.select().from(outbox).where(eq(outbox.kind, 'drill_reminder'));
      expect(rows.map((r) => r.recipientStaffId).sort()).toEqual([org.staff.section, org.staff.section2].sort());
      // Values only: the text is written at send time, in each recipient's language.
      expect(rows[0]!.params).toEqual({ lastDrillAt: null, year: 2026, officeUnitIds: [org.units.officeA, org.units.officeB] });
      expect(await checkDrillReminder(deps)).toEqual({ due: true, outboxCreated: 0 }); // same month: nothing more
    });

    it('a drill runs through the real chain, leaves the statistics and the register unchanged, and is evaluated', async () => {
      // A real incident this month, so the statistics are not empty.
      await closedIncident(deps, org, clock);
      const before = await monthlyStats(t.db, q());
      expect(before.stats.offices.length).toBeGreaterThan(0);

      await expect(startDrill(deps, org.actor('officerA1'), { type: 'violent_crime', officeUnitId: org.units.officeA })).rejects.toMatchObject({ code: 'not_permitted' });
      clock.advance(DAY);
      const start = clock.now();
      const { drill, incident } = await startDrill(deps, org.actor('section'), { type: 'violent_crime', officeUnitId: org.units.officeA });
      expect(incident.isDrill).toBe(true);
      expect(incident.description).toContain('【演练】');
      // The real timers and the real notices, each flagged so every message is marked 【演练】.
      const drillTimers = await t.db.select().from(timers).where(eq(timers.incidentId, incident.id));
      expect(drillTimers.map((x) => x.kind)).toEqual(expect.arrayContaining(['ack', 'inform', 'progress', 'upper_report', 'steps_overdue']));
      expect(drillTimers.every((x) => x.isDrill)).toBe(true);
      const notices = await t.db.select().from(outbox).where(eq(outbox.incidentId, incident.id));
      expect(notices.length).toBeGreaterThan(0);
      expect(notices.every((n) => n.isDrill)).toBe(true);

      // The section acknowledges 8 minutes in (deadline 5), the office reports progress, marks some steps.
      clock.advance(8 * MINUTE);
      await acknowledgeIncident(deps, org.actor('section2'), incident.id);
      clock.advance(10 * MINUTE);
      await t.db.insert(incidentUpdates).values({ incidentId: incident.id, staffId: org.staff.officerA1, kind: 'progress', text: '已到达现场', at: clock.now() });
      await t.db
        .update(incidentSteps)
        .set({ state: 'done', doneAt: clock.now(), doneByStaffId: org.staff.officerA1 })
        .where(and(eq(incidentSteps.incidentId, incident.id), eq(incidentSteps.key, 'call_110')));
      clock.advance(20 * MINUTE);

      const { evaluation, drill: ended } = await endDrill(deps, org.actor('section'), drill.id);
      expect(ended.endedAt).toEqual(clock.now());
      expect(evaluation.startedAt).toBe(start.toISOString());
      const ack = evaluation.people.find((p) => p.staffId === org.staff.section2)!;
      expect(ack.responses).toEqual([expect.objectContaining({ kind: 'acknowledge', seconds: 8 * 60, deadlineSeconds: 5 * 60, onTime: false })]);
      const officer = evaluation.people.find((p) => p.staffId === org.staff.officerA1)!;
      expect(officer.responses.map((r) => [r.kind, r.stepKey, r.onTime])).toEqual([
        ['progress', null, true],
        ['step', 'call_110', true],
      ]);
      expect(evaluation.missedSteps.map((s) => s.key)).toEqual(expect.arrayContaining(['go_to_scene', 'assist_police_counsel', 'punish', 'report_upward', 'notify_procuratorate']));
      expect(evaluation.missedSteps.map((s) => s.key)).not.toContain('call_110');
      expect(evaluation.findings.map((f) => f.rule)).toContain('late_ack');
      expect(evaluation.summary).toMatchObject({ late: 1, missedSteps: evaluation.missedSteps.length });
      expect((await t.db.select().from(drills).where(eq(drills.id, drill.id)))[0]!.evaluation).toEqual(evaluation);

      // Its timers stop; the incident is closed; a second end is refused.
      const pending = await t.db.select().from(timers).where(and(eq(timers.incidentId, incident.id), eq(timers.state, 'pending')));
      expect(pending).toEqual([]);
      expect((await t.db.select({ s: incidents.status }).from(incidents).where(eq(incidents.id, incident.id)))[0]!.s).toBe('closed');
      await expect(endDrill(deps, org.actor('section'), drill.id)).rejects.toMatchObject({ code: 'already_done' });
      expect(await t.db.select().from(auditLog).where(and(eq(auditLog.incidentId, incident.id), eq(auditLog.action, 'drill.ended')))).toHaveLength(1);

      const after = await monthlyStats(t.db, q());
      expect(after.stats).toEqual(before.stats);
      expect(await accountabilityRegister(t.db, q())).toEqual(before.entries);

      const doc = await exportDrillEvaluationDocx(deps, org.actor('director'), drill.id);
      expect(doc.filename).toBe(`drill-evaluation-${incident.number.replace("演练", "")}.docx`);
      const text = docxText(doc.data);
      expect(text).toContain('“行凶犯罪或以要挟为目的的自伤”突发事件应急处置演练评估报告');
      expect(text).toContain('一、人员响应情况');
      expect(text).toMatch(/Section Two\t签收\t8分钟\t5分钟\t超时/);
      expect(text).toMatch(/矫正官甲一\t处置步骤：立即向公安“110”或执行地派出所报警\t18分钟\t2小时0分\t按时/);
      expect(text).toContain('二、遗漏步骤');
      expect(text).toContain('通报执行地人民检察院');
      expect(text).toContain('超时签收');
      await expect(exportDrillEvaluationDocx(deps, org.actor('officerA1'), drill.id)).rejects.toMatchObject({ code: 'not_permitted' });

      // A drill was run at office A: office B is still due this year; both are covered by drills in 2027
      // only from the last quarter of 2027 on, by calendar year.
      expect(await checkDrillReminder(deps)).toEqual({ due: true, outboxCreated: 0 });
      clock.set(new Date('2027-09-30T02:00:00Z'));
      expect((await checkDrillReminder(deps)).due).toBe(false);
      clock.set(new Date('2027-10-01T02:00:00Z'));
      expect((await checkDrillReminder(deps)).due).toBe(true);
      clock.set(new Date('2026-11-11T02:40:00Z'));
    });
  });

  describe('screening', () => {
    it('reminds the responsible officer of a subject who is due, once per due date; unstable raises the risk and reaches the digest', async () => {
      const now = clock.now();
      await t.db.update(subjects).set({ riskLevel: 'normal', lastScreenedAt: new Date(now.getTime() - 31 * DAY) }).where(eq(subjects.id, org.subjects.a1));
      await t.db.update(subjects).set({ riskLevel: 'high', lastScreenedAt: new Date(now.getTime() - 3 * DAY) }).where(eq(subjects.id, org.subjects.a2));
      await t.db.update(subjects).set({ riskLevel: 'low', lastScreenedAt: new Date(now.getTime() - 80 * DAY) }).where(eq(subjects.id, org.subjects.b1));

      expect(await remindDueScreenings(deps)).toEqual({ due: 1, outboxCreated: 1 });
      const [row] = await t.db.select().from(outbox).where(eq(outbox.kind, 'screening_due'));
      expect(row).toMatchObject({ recipientStaffId: org.staff.officerA1, subjectId: org.subjects.a1 });
      expect(JSON.stringify(row!.params)).not.toContain('张三');
      expect(await remindDueScreenings(deps)).toEqual({ due: 1, outboxCreated: 0 }); // the daily check ran twice
      expect((await dueScreeningsFor(deps, org.actor('officerA1'))).map((d) => d.subjectId)).toEqual([org.subjects.a1]);
      expect(await dueScreeningsFor(deps, org.actor('officerB1'))).toEqual([]);

      await expect(logScreening(deps, org.actor('officerB1'), { subjectId: org.subjects.a1, result: 'stable', note: '' })).rejects.toMatchObject({ code: 'not_found' });
      clock.advance(MINUTE);
      const logged = await logScreening(deps, org.actor('officerA1'), { subjectId: org.subjects.a1, result: 'unstable', note: '近期与家人争吵，情绪激动' });
      expect(logged).toMatchObject({ riskBefore: 'normal', riskAfter: 'high' });
      const [s] = await t.db.select().from(subjects).where(eq(subjects.id, org.subjects.a1));
      expect(s).toMatchObject({ riskLevel: 'high', lastScreenedAt: clock.now() });
      const [audit] = await t.db.select().from(auditLog).where(eq(auditLog.action, 'screening.logged'));
      expect(audit!.data).toMatchObject({ result: 'unstable', riskBefore: 'normal', riskAfter: 'high' });
      expect(JSON.stringify(audit!.data)).not.toContain('情绪');
      expect(await remindDueScreenings(deps)).toEqual({ due: 0, outboxCreated: 0 });

      const digest = await unstableSubjectsForDigest(t.db, clock.now());
      expect(digest).toEqual([expect.objectContaining({ subjectId: org.subjects.a1, code: 'SQ-A-001', riskLevel: 'high', isNew: true, screenedByStaffId: org.staff.officerA1 })]);

      // A week later the high-risk interval has passed; a stable screening takes the subject off the digest.
      clock.advance(7 * DAY);
      expect((await remindDueScreenings(deps)).due).toBe(2); // a1 (high, 7 days) and a2 (high, 3+7 days)
      expect((await unstableSubjectsForDigest(t.db, clock.now()))[0]!.isNew).toBe(false);
      await logScreening(deps, org.actor('headA'), { subjectId: org.subjects.a1, result: 'stable', note: '情绪平稳' });
      expect(await unstableSubjectsForDigest(t.db, clock.now())).toEqual([]);
      expect((await t.db.select().from(subjects).where(eq(subjects.id, org.subjects.a1)))[0]!.riskLevel).toBe('high'); // lowering is a decision
    });
  });
});
