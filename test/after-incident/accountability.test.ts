import { and, eq, ne } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendAudit } from '../../src/db/repositories/audit.repository.js';
import { absences, auditLog, contactLogs, incidents, incidentSteps, incidentUpdates } from '../../src/db/schema.js';
import { DEFAULT_POLICY, MINUTE } from '../../src/domain/index.js';
import type { RegisterEntry } from '../../src/domain/accountability.js';
import {
  accountabilityRegister,
  monthlyStats,
  recordFinding,
  registerCsvFile,
  statsCsvFile,
} from '../../src/services/accountability.service.js';
import { acknowledgeIncident, reportIncident } from '../../src/services/incident.service.js';
import type { ServiceDeps } from '../../src/services/ports.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { ManualClock, seedOrg, type SeededOrg } from '../helpers/fixtures.js';
import { makeDeps } from './helpers.js';

let t: TestDatabase;
let org: SeededOrg;
let deps: ServiceDeps;
const T0 = new Date('2026-11-20T02:00:00Z'); // 10:00 in Shanghai
const clock = new ManualClock(T0);
const at = (min: number) => new Date(T0.getTime() + min * MINUTE);
const q = () => ({ month: '2026-11', timeZone: 'Asia/Shanghai', now: clock.now(), policy: DEFAULT_POLICY });

let lateId: string;
let onTimeId: string;
let drillId: string;
let steps: Record<string, string>;
let reportedAuditId: number;
let progressIds: string[];
let absenceId: string;

/**
 * A fabricated timeline (critical: acknowledge within 5 min, progress every 30 min, upper report within
 * 1 h; a report is late 30 min after discovery):
 *   T0−50  discovered          T0     reported (20 min late)
 *   T0+12  acknowledged (7 min late)
 *   T0+20  progress            T0+70  progress (gap 50 min: 20 min late)
 *   T0+70  reported upward (10 min late)
 *   T0+75  closed, 通报检察院 never marked
 * An on-time incident beside it, a drill with every kind of lateness, and an absence with a day unlogged.
 */
async function fabricate() {
  const r = await reportIncident(deps, org.actor('officerA1'), {
    type: 'violent_crime', subjectId: org.subjects.a1, officeUnitId: org.units.officeA, discoveredAt: at(-50), injured: 0, dead: 0, description: '持刀威胁',
  });
  lateId = r.incident.id;
  steps = Object.fromEntries(r.steps.map((s) => [s.key, s.id]));
  reportedAuditId = Number((await t.db.select({ id: auditLog.id }).from(auditLog).where(and(eq(auditLog.incidentId, lateId), eq(auditLog.action, 'incident.reported'))))[0]!.id);
  clock.set(at(12));
  await acknowledgeIncident(deps, org.actor('section'), lateId);
  progressIds = [];
  for (const min of [20, 70]) {
    const [u] = await t.db.insert(incidentUpdates).values({ incidentId: lateId, staffId: org.staff.officerA1, kind: 'progress', text: `续报 ${min}`, at: at(min) }).returning();
    progressIds.push(u!.id);
    await appendAudit(t.db, { at: at(min), action: 'incident.progress', entity: 'incident', entityId: lateId, incidentId: lateId, actorStaffId: org.staff.officerA1, data: { updateId: u!.id } });
  }
  // Every step done at +30 except the upper report (late, at +70) and the procuratorate (never).
  await t.db.update(incidentSteps).set({ state: 'done', doneAt: at(30), doneByStaffId: org.staff.section }).where(and(eq(incidentSteps.incidentId, lateId), eq(incidentSteps.state, 'pending')));
  await t.db.update(incidentSteps).set({ doneAt: at(70) }).where(eq(incidentSteps.id, steps.report_upward!));
  await t.db.update(incidentSteps).set({ state: 'pending', doneAt: null, doneByStaffId: null }).where(eq(incidentSteps.id, steps.notify_procuratorate!));
  await appendAudit(t.db, { at: at(70), action: 'step.done', entity: 'incident_step', entityId: steps.report_upward!, incidentId: lateId, actorStaffId: org.staff.section, data: { key: 'report_upward' } });
  await t.db.update(incidents).set({ status: 'closed', closure: 'resolved', closedAt: at(75), closedByStaffId: org.staff.headA }).where(eq(incidents.id, lateId));
  await appendAudit(t.db, { at: at(75), action: 'incident.closed', entity: 'incident', entityId: lateId, incidentId: lateId, actorStaffId: org.staff.headA });

  // On time throughout.
  clock.set(at(200));
  const ok = await reportIncident(deps, org.actor('officerB1'), {
    type: 'disruption', subjectId: org.subjects.b1, officeUnitId: org.units.officeB, discoveredAt: at(195), injured: 0, dead: 0, description: '滋扰',
  });
  onTimeId = ok.incident.id;
  clock.set(at(203));
  await acknowledgeIncident(deps, org.actor('section2'), onTimeId);
  await t.db.update(incidentSteps).set({ state: 'done', doneAt: at(210), doneByStaffId: org.staff.section2 }).where(and(eq(incidentSteps.incidentId, onTimeId), eq(incidentSteps.state, 'pending')));
  await t.db.update(incidents).set({ status: 'closed', closure: 'resolved', closedAt: at(240), closedByStaffId: org.staff.headB }).where(eq(incidents.id, onTimeId));

  // A drill, late in every way, never acknowledged, closed with steps open: it must count nowhere.
  clock.set(at(300));
  const drill = await reportIncident(deps, org.actor('section'), {
    type: 'absconding', officeUnitId: org.units.officeA, discoveredAt: at(100), injured: 0, dead: 0, description: '演练', isDrill: true,
  });
  drillId = drill.incident.id;
  await t.db.update(incidents).set({ status: 'closed', closure: 'resolved', closedAt: at(600), closedByStaffId: org.staff.section }).where(eq(incidents.id, drillId));

  // 外出 26–28 Nov; contacts logged on the 26th and 28th only.
  const [a] = await t.db.insert(absences).values({ subjectId: org.subjects.a2, destination: '上海', startsOn: '2026-11-26', endsOn: '2026-11-28' }).returning();
  absenceId = a!.id;
  for (const d of ['2026-11-26', '2026-11-28']) {
    await t.db.insert(contactLogs).values({ subjectId: org.subjects.a2, absenceId, localDate: d, result: 'reached', staffId: org.staff.officerA2, at: new Date(`${d}T03:00:00Z`) });
  }
  clock.set(new Date('2026-11-29T12:00:00Z'));
}

beforeAll(async () => {
  t = await createTestDatabase();
  org = await seedOrg(t.db);
  deps = makeDeps(t, org, clock);
  await fabricate();
});
afterAll(async () => t?.drop());

const only = (entries: RegisterEntry[], rule: string) => entries.filter((e) => e.rule === rule);

// One harness and one database for the whole file, and steps that stand on what the steps before
// them left: they keep their order when the suite is shuffled (the files still run in any order).
describe('accountability, in order', { shuffle: false }, () => {
  describe('the accountability register', () => {
    it('finds each kind of lateness in the timeline, with who and the evidence', async () => {
      const reg = await accountabilityRegister(t.db, q());
      expect(reg.every((e) => e.incidentId !== drillId)).toBe(true);
      expect(reg.every((e) => e.incidentId !== onTimeId)).toBe(true);

      const [lateReport] = only(reg, 'late_report');
      expect(lateReport).toMatchObject({ category: 'late', incidentId: lateId, staffId: org.staff.officerA1, unitId: org.units.officeA, lateBySeconds: 20 * 60 });
      expect(lateReport!.evidence.auditIds).toEqual([reportedAuditId]);

      const [lateAck] = only(reg, 'late_ack');
      expect(lateAck).toMatchObject({ incidentId: lateId, unitId: org.units.section, staffId: org.staff.section, lateBySeconds: 7 * 60 });
      const ackAudit = await t.db.select({ id: auditLog.id }).from(auditLog).where(and(eq(auditLog.incidentId, lateId), eq(auditLog.action, 'incident.acknowledged')));
      expect(lateAck!.evidence.auditIds).toEqual([reportedAuditId, Number(ackAudit[0]!.id)]);

      const lateProgress = only(reg, 'late_progress');
      expect(lateProgress).toHaveLength(1);
      expect(lateProgress[0]).toMatchObject({ staffId: org.staff.officerA1, unitId: org.units.officeA, lateBySeconds: 20 * 60, actualAt: at(70), deadlineAt: at(50) });
      expect(lateProgress[0]!.evidence.updateIds).toEqual(progressIds);
      expect(lateProgress[0]!.evidence.auditIds).toHaveLength(2);

      const [upper] = only(reg, 'late_upper_report');
      expect(upper).toMatchObject({ stepKey: 'report_upward', staffId: org.staff.section, unitId: org.units.section, lateBySeconds: 10 * 60 });
      expect(upper!.evidence.stepIds).toEqual([steps.report_upward]);
      expect(upper!.evidence.auditIds).toHaveLength(1);

      const missed = only(reg, 'missed_step');
      expect(missed.map((m) => m.stepKey)).toEqual(['notify_procuratorate']);
      // An unticked step is 未完成的处置步骤, not 漏报 (failing to report an incident).
      expect(missed[0]).toMatchObject({ category: 'unfinished', unitId: org.units.section, at: at(75) });
      expect(missed[0]!.evidence.stepIds).toEqual([steps.notify_procuratorate]);

      const contact = only(reg, 'missed_daily_contact');
      expect(contact).toHaveLength(1);
      expect(contact[0]).toMatchObject({ subjectId: org.subjects.a2, staffId: org.staff.officerA2, unitId: org.units.officeA });
      expect(contact[0]!.evidence).toMatchObject({ absenceIds: [absenceId], dates: ['2026-11-27'] });
      expect(contact[0]!.at.toISOString()).toBe('2026-11-27T10:00:00.000Z'); // the 18:00 check in Shanghai
    });

    it('adds a false or concealed report by hand, with evidence and a reason; only the section or a leader may', async () => {
      const input = {
        incidentId: lateId,
        rule: 'concealed_report' as const,
        staffId: org.staff.officerA1,
        unitId: org.units.officeA,
        reason: '续报中隐瞒了对象持刀的事实',
        evidence: { auditIds: [reportedAuditId], stepIds: [], updateIds: [progressIds[0]!], absenceIds: [], dates: [] },
      };
      await expect(recordFinding(deps, org.actor('headA'), input)).rejects.toMatchObject({ code: 'not_permitted' });
      await expect(recordFinding(deps, org.actor('section'), { ...input, reason: ' ' })).rejects.toMatchObject({ code: 'invalid_input' });
      await expect(recordFinding(deps, org.actor('section'), { ...input, evidence: { ...input.evidence, auditIds: [], updateIds: [] } })).rejects.toMatchObject({ code: 'invalid_input' });
      const otherAudit = await t.db.select({ id: auditLog.id }).from(auditLog).where(ne(auditLog.incidentId, lateId)).limit(1);
      await expect(recordFinding(deps, org.actor('section'), { ...input, evidence: { ...input.evidence, auditIds: [Number(otherAudit[0]!.id)] } })).rejects.toMatchObject({ detail: 'evidence' });
      await expect(recordFinding(deps, org.actor('section'), { ...input, incidentId: drillId })).rejects.toMatchObject({ detail: 'drill' });

      const row = await recordFinding(deps, org.actor('section'), input);
      const reg = await accountabilityRegister(t.db, q());
      const [found] = only(reg, 'concealed_report');
      expect(found).toMatchObject({ category: 'concealed', findingId: row.id, reason: '续报中隐瞒了对象持刀的事实', staffId: org.staff.officerA1 });
      expect(found!.evidence.auditIds).toEqual([reportedAuditId]);
      const audit = await t.db.select().from(auditLog).where(eq(auditLog.action, 'accountability.finding'));
      expect(audit).toHaveLength(1);
    });
  });

  describe('/stats', () => {
    it('per office and per person: incidents, median and worst times, register counts; drills left out', async () => {
      const { stats } = await monthlyStats(t.db, q());
      const officeA = stats.offices.find((r) => r.id === org.units.officeA)!;
      expect(officeA.incidents).toBe(1);
      expect(officeA.toReport).toEqual({ count: 1, medianSeconds: 50 * 60, worstSeconds: 50 * 60 });
      expect(officeA.toAcknowledge.worstSeconds).toBe(12 * 60);
      expect(officeA.toClose.worstSeconds).toBe(75 * 60);
      expect(officeA.register).toMatchObject({ late: 2, unfinished: 1, concealed: 1, false: 0, total: 4 });
      const officeB = stats.offices.find((r) => r.id === org.units.officeB)!;
      expect(officeB).toMatchObject({ incidents: 1, register: { total: 0 } });
      const section = stats.offices.find((r) => r.id === org.units.section)!;
      expect(section).toMatchObject({ incidents: 0, register: { late: 2, unfinished: 1, total: 3 } });

      const officer = stats.people.find((r) => r.id === org.staff.officerA1)!;
      expect(officer).toMatchObject({ incidents: 1, register: { late: 2, concealed: 1 } });
      const sectionPerson = stats.people.find((r) => r.id === org.staff.section)!;
      expect(sectionPerson.toAcknowledge).toEqual({ count: 1, medianSeconds: 12 * 60, worstSeconds: 12 * 60 });
      const both = stats.people.find((r) => r.id === org.staff.section2)!;
      expect(both.toAcknowledge.worstSeconds).toBe(3 * 60);
      // The drill's reporter (the section) reported nothing real.
      expect(sectionPerson.incidents).toBe(0);
    });

    it('exports CSV, narrowed for an office head to their own office', async () => {
      const csv = (await statsCsvFile(deps, org.actor('section'), '2026-11')).data.toString('utf8');
      expect(csv.charCodeAt(0)).toBe(0xfeff);
      const lines = csv.slice(1).trim().split('\r\n');
      expect(lines[0]).toBe('范围,名称,事件数,上报用时中位数（分钟）,上报用时最长（分钟）,签收用时中位数（分钟）,签收用时最长（分钟）,结案用时中位数（分钟）,结案用时最长（分钟）,迟报,谎报,瞒报,未完成,台账合计');
      expect(lines).toContain('单位,甲街道司法所,1,50.0,50.0,12.0,12.0,75.0,75.0,2,0,1,1,4');
      expect(lines.some((l) => l.startsWith('个人,矫正官甲一,1,50.0'))).toBe(true);

      const head = (await statsCsvFile(deps, org.actor('headB'), '2026-11')).data.toString('utf8');
      expect(head).toContain('乙街道司法所');
      expect(head).not.toContain('甲街道司法所');
      await expect(statsCsvFile(deps, org.actor('officerA1'), '2026-11')).rejects.toMatchObject({ code: 'not_permitted' });

      const reg = (await registerCsvFile(deps, org.actor('section'), '2026-11', 'en')).data.toString('utf8');
      expect(reg).toContain('Evidence: audit rows');
      expect(reg).toContain('no daily contact logged with a subject away');
      expect(reg).toContain('2026-11-27');
    });

    it('the register CSV names its evidence as a reader knows it: steps, progress reports and absences, never their ids', async () => {
      const csv = (await registerCsvFile(deps, org.actor('section'), '2026-11', 'zh')).data.toString('utf8');
      expect(csv).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-/);
      const rows = csv.slice(1).trim().split('\r\n');
      const missed = rows.find((r) => r.includes('结案时仍有未完成的处置步骤'))!;
      expect(missed).toMatch(/^未完成,/);
      expect(missed).toMatch(/第 \d+ 步：通报执行地人民检察院/);
      const upper = rows.find((r) => r.includes('超时上报上一级'))!;
      expect(upper).toMatch(/第 \d+ 步：上报上一级社区矫正机构/);
      const progress = rows.find((r) => r.includes('未按时续报'))!;
      expect(progress).toMatch(/2026年11月\d+日 \d\d:\d\d 续报/);
      const contact = rows.find((r) => r.includes('外出对象当日未联系'))!;
      expect(contact).toMatch(/外出 2026年11月\d+日 至 2026年\d+月\d+日/);
      expect(csv).not.toContain('漏报');
      for (const id of [steps.notify_procuratorate!, steps.report_upward!, ...progressIds, absenceId]) expect(csv).not.toContain(id);
    });

    it('an empty month is empty', async () => {
      const { stats, entries } = await monthlyStats(t.db, { ...q(), month: '2026-10' });
      expect(stats).toEqual({ offices: [], people: [] });
      expect(entries).toEqual([]);
    });
  });
});
