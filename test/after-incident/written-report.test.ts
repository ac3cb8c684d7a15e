import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, incidentRoles, incidents, incidentSteps, incidentUpdates, outbox, timers, writtenReportVersions } from '../../src/db/schema.js';
import { WrittenReportError } from '../../src/domain/written-report.js';
import { ServiceRefusal } from '../../src/services/errors.js';
import type { ServiceDeps } from '../../src/services/ports.js';
import {
  approveWrittenReport,
  editWrittenReport,
  exportWrittenReportDocx,
  loadWrittenReport,
  openWrittenReportDraft,
  prefillBody,
  returnWrittenReport,
  submitWrittenReport,
} from '../../src/services/written-report.service.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { ManualClock, seedOrg, type SeededOrg } from '../helpers/fixtures.js';
import { closedIncident, docxText, makeDeps } from './helpers.js';

let t: TestDatabase;
let org: SeededOrg;
let deps: ServiceDeps;
const clock = new ManualClock(new Date('2026-11-29T02:00:00Z'));

beforeAll(async () => {
  t = await createTestDatabase();
  org = await seedOrg(t.db);
  deps = makeDeps(t, org, clock);
});
afterAll(async () => t?.drop());

const status = async (id: string) => (await t.db.select({ s: incidents.status }).from(incidents).where(eq(incidents.id, id)))[0]!.s;

// One harness and one database for the whole file, and steps that stand on what the steps before
// them left: they keep their order when the suite is shuffled (the files still run in any order).
describe('written-report, in order', { shuffle: false }, () => {
  describe('opening the draft at closing', () => {
    it('prefills the course, the steps with times and names, and the closing texts; a second call changes nothing', async () => {
      const { incident, report } = await closedIncident(deps, org, clock);
      expect(report).not.toBeNull();
      expect(report!.stage).toBe('office');
      const view = (await loadWrittenReport(t.db, report!.id))!;
      expect(view.body.course).toContain('矫正官甲一');
      expect(view.body.course).toContain('2026年11月29日 10:00'); // discovered, in Shanghai time
      expect(view.body.course).toContain('科员丙签收');
      expect(view.body.handling).toMatch(/1\. 维护现场秩序.*已完成（2026年11月29日 10:23，科员丙，电话）/);
      expect(view.body.cause).toBe('对象对公益活动安排不满');
      expect(view.body.measures).toContain('专人看护');
      expect(view.sections.map((s) => s.key)).toEqual(['course', 'handling', 'cause', 'lessons', 'measures']);
      const again = await t.db.transaction((tx) => openWrittenReportDraft(tx, incident.id, clock.now()));
      expect(again).toMatchObject({ created: false, report: { id: report!.id } });
      const audit = await t.db.select().from(auditLog).where(and(eq(auditLog.incidentId, incident.id), eq(auditLog.action, 'written_report.opened')));
      expect(audit).toHaveLength(1);
    });

    it('says who took a post (担任总指挥) and who was put in a group (编入现场处置组), and how each step was done, in Chinese', async () => {
    const { incident } = await closedIncident(deps, org, clock);
    const at = clock.now();
    await t.db.insert(incidentRoles).values([
      { incidentId: incident.id, role: 'commander', staffId: org.staff.director, assignedByStaffId: org.staff.section, at },
      { incidentId: incident.id, role: 'group_onsite', staffId: org.staff.officerA1, assignedByStaffId: org.staff.headA, at },
    ]);
    await t.db.update(incidentSteps).set({ how: 'bot' }).where(and(eq(incidentSteps.incidentId, incident.id), eq(incidentSteps.ordinal, 2)));
    const [row] = await t.db.select().from(incidents).where(eq(incidents.id, incident.id));
    const body = await prefillBody(t.db, row!, 'Asia/Shanghai', 'zh');
    expect(body.course).toContain('局长甲担任总指挥。');
    expect(body.course).toContain('矫正官甲一编入现场处置组。');
    expect(body.course).not.toContain('担任现场处置组');
    expect(body.handling).toMatch(/2\. .*：已完成（.*，科员丙，通过本系统）/);
    expect(body.handling).not.toMatch(/phone|bot/);
  });

  it('opens nothing for a false alarm', async () => {
      const { incident } = await closedIncident(deps, org, clock);
      await t.db.update(incidents).set({ closure: 'false_alarm' }).where(eq(incidents.id, incident.id));
      await t.db.execute(`delete from written_report_versions where report_id in (select id from written_reports where incident_id = '${incident.id}')`);
      await t.db.execute(`delete from written_reports where incident_id = '${incident.id}'`);
      expect(await t.db.transaction((tx) => openWrittenReportDraft(tx, incident.id, clock.now()))).toBeNull();
    });
  });

  describe('the sign-off chain', () => {
    it('goes office → section → deputy director → director (the bureau’s last approver), moving the incident and recording each level', async () => {
      const { incident, report } = await closedIncident(deps, org, clock);
      const id = report!.id;
      expect(await status(incident.id)).toBe('closed');
      expect((await t.db.select().from(timers).where(and(eq(timers.incidentId, incident.id), eq(timers.kind, 'written_report')))).every((x) => x.state === 'pending')).toBe(true);

      clock.advance(60_000);
      const sub = await submitWrittenReport(deps, org.actor('headA'), id);
      expect(sub.view.stage).toBe('section');
      expect(await status(incident.id)).toBe('report_submitted');
      // Submitting meets the written report's deadline: its reminders are cancelled.
      const wrTimers = await t.db.select().from(timers).where(and(eq(timers.incidentId, incident.id), eq(timers.kind, 'written_report')));
      expect(wrTimers.length).toBeGreaterThan(0);
      expect(wrTimers.every((x) => x.state === 'cancelled')).toBe(true);
      const toSection = await t.db.select().from(outbox).where(and(eq(outbox.incidentId, incident.id), eq(outbox.kind, 'report_review_requested')));
      expect(toSection.map((r) => r.recipientStaffId).sort()).toEqual([org.staff.section, org.staff.section2].sort());

      for (const [who, next] of [
        ['section', 'deputy_director'],
        ['deputy', 'director'],
      ] as const) {
        clock.advance(60_000);
        const r = await approveWrittenReport(deps, org.actor(who), id);
        expect(r.view.stage).toBe(next);
        expect(await status(incident.id)).toBe('report_submitted');
      }
      // The upper-level agency cannot hold the report up: it neither approves nor returns at the bureau's levels.
      await expect(approveWrittenReport(deps, org.actor('upper'), id)).rejects.toMatchObject({ name: 'WrittenReportError', reason: 'not_permitted' });
      await expect(returnWrittenReport(deps, org.actor('upper'), id, '退回')).rejects.toMatchObject({ name: 'WrittenReportError', reason: 'not_permitted' });
      clock.advance(60_000);
      const done = await approveWrittenReport(deps, org.actor('director'), id);
      expect(done.view.stage).toBe('approved');
      expect(await status(incident.id)).toBe('report_approved');
      expect(done.view.signoffs.map((s) => [s.stage, s.decision, s.staffName])).toEqual([
        ['office', 'submitted', '所长甲'],
        ['section', 'approved', '科员丙'],
        ['deputy_director', 'approved', '副局长乙'],
        ['director', 'approved', '局长甲'],
      ]);
      const audit = await t.db.select().from(auditLog).where(and(eq(auditLog.incidentId, incident.id), eq(auditLog.entity, 'written_report')));
      expect(audit.map((a) => a.action)).toEqual([
        'written_report.opened',
        'written_report.submitted',
        'written_report.approved',
        'written_report.approved',
        'written_report.approved',
      ]);
      const approvedNotice = await t.db.select().from(outbox).where(and(eq(outbox.incidentId, incident.id), eq(outbox.kind, 'report_approved')));
      expect(approvedNotice.map((r) => r.recipientStaffId)).toContain(org.staff.headA);
      await expect(approveWrittenReport(deps, org.actor('upper'), id)).rejects.toMatchObject({ name: 'WrittenReportError', reason: 'already_approved' });
    });

    it('a return goes back one level with the comment and comes back up; a return to the office reopens it for editing as a new version', async () => {
      const { incident, report } = await closedIncident(deps, org, clock);
      const id = report!.id;
      await submitWrittenReport(deps, org.actor('headA'), id);
      await approveWrittenReport(deps, org.actor('section'), id);
      await approveWrittenReport(deps, org.actor('deputy'), id);

      clock.advance(60_000);
      const back = await returnWrittenReport(deps, org.actor('director'), id, '原因分析不够具体，请补充');
      expect(back.view.stage).toBe('deputy_director'); // one level, not to the start
      expect(back.signoff).toMatchObject({ decision: 'returned', stage: 'director', comment: '原因分析不够具体，请补充' });
      expect(await status(incident.id)).toBe('report_submitted');
      const returned = await t.db.select().from(outbox).where(and(eq(outbox.incidentId, incident.id), eq(outbox.kind, 'report_returned')));
      expect(returned.map((r) => r.recipientStaffId)).toEqual([org.staff.deputy]);
      expect(returned[0]!.params).toMatchObject({ signoffId: back.signoff.id, stage: 'deputy_director' });

      // The deputy cannot fix the text; it returns to the section, which returns to the office.
      await expect(editWrittenReport(deps, org.actor('deputy'), id, { cause: 'x' })).rejects.toMatchObject({ code: 'not_permitted' });
      expect((await returnWrittenReport(deps, org.actor('deputy'), id, '请管理科核实')).view.stage).toBe('section');
      expect((await returnWrittenReport(deps, org.actor('section'), id, '请司法所补充原因')).view.stage).toBe('office');
      expect(await status(incident.id)).toBe('closed');

      clock.advance(60_000);
      const before = (await loadWrittenReport(t.db, id))!.report.currentVersion;
      const edited = await editWrittenReport(deps, org.actor('officerA1'), id, { cause: '对象对活动安排不满，且近期家庭矛盾激化' }, before);
      expect(edited.report.currentVersion).toBe(before + 1);
      expect(edited.body.cause).toContain('家庭矛盾');
      const versions = await t.db.select().from(writtenReportVersions).where(eq(writtenReportVersions.reportId, id));
      expect(versions.find((v) => v.version === before)!.body.cause).toBe('对象对公益活动安排不满'); // the old version is kept
      await expect(editWrittenReport(deps, org.actor('officerA1'), id, { cause: 'stale' }, before)).rejects.toMatchObject({ code: 'stale' });

      // An officer edits but does not sign; the head resubmits and it climbs back up.
      await expect(submitWrittenReport(deps, org.actor('officerA1'), id)).rejects.toBeInstanceOf(WrittenReportError);
      clock.advance(60_000);
      await submitWrittenReport(deps, org.actor('headA'), id);
      expect(await status(incident.id)).toBe('report_submitted');
      for (const who of ['section', 'deputy'] as const) {
        clock.advance(60_000);
        await approveWrittenReport(deps, org.actor(who), id);
      }
      clock.advance(60_000);
      const final = await approveWrittenReport(deps, org.actor('director'), id);
      expect(final.view.stage).toBe('approved');
      expect(final.view.signoffs.at(-1)).toMatchObject({ version: before + 1, decision: 'approved' });
      expect(await status(incident.id)).toBe('report_approved');
    });

    it('refuses the wrong person, a return without a comment, and a submission with a required section empty', async () => {
      const { report } = await closedIncident(deps, org, clock);
      const id = report!.id;
      await expect(approveWrittenReport(deps, org.actor('section'), id)).rejects.toMatchObject({ reason: 'not_permitted' });
      await expect(submitWrittenReport(deps, org.actor('headB'), id)).rejects.toMatchObject({ name: 'ServiceRefusal', code: 'not_found' });
      await editWrittenReport(deps, org.actor('headA'), id, { lessons: '   ' });
      await expect(submitWrittenReport(deps, org.actor('headA'), id)).rejects.toMatchObject({ reason: 'missing_sections', detail: ['lessons'] });
      await editWrittenReport(deps, org.actor('headA'), id, { lessons: '加强活动前评估' });
      await submitWrittenReport(deps, org.actor('headA'), id);
      await expect(returnWrittenReport(deps, org.actor('section'), id, '  ')).rejects.toMatchObject({ reason: 'missing_comment' });
      await expect(approveWrittenReport(deps, org.actor('director'), id)).rejects.toMatchObject({ reason: 'not_permitted' });
      await expect(editWrittenReport(deps, org.actor('section'), id, { screening: 'x' })).rejects.toBeInstanceOf(ServiceRefusal);
    });

    it('epidemic scenario 四 needs the screening results before it can be submitted', async () => {
      const { incident, report } = await closedIncident(deps, org, clock, { type: 'epidemic', scenario: 's4' });
      const view = (await loadWrittenReport(t.db, report!.id))!;
      expect(view.sections.map((s) => s.key)).toContain('screening');
      expect(view.body.screening).toBe('');
      await expect(submitWrittenReport(deps, org.actor('headA'), report!.id)).rejects.toMatchObject({ reason: 'missing_sections', detail: ['screening'] });
      await editWrittenReport(deps, org.actor('headA'), report!.id, { screening: '排查工作人员 6 名、对象 12 名，均未发现异常' });
      await submitWrittenReport(deps, org.actor('headA'), report!.id);
      expect(await status(incident.id)).toBe('report_submitted');

      // A note on the screening step is carried into the prefill.
      const other = await closedIncident(deps, org, clock, { type: 'epidemic', scenario: 's4' });
      await t.db.execute(`delete from written_report_versions where report_id = '${other.report!.id}'`);
      await t.db.execute(`delete from written_reports where id = '${other.report!.id}'`);
      await t.db
        .update(incidentSteps)
        .set({ note: '已排查工作人员 5 名，均为阴性' })
        .where(and(eq(incidentSteps.incidentId, other.incident.id), eq(incidentSteps.key, 'screen_staff_subjects')));
      const reopened = await t.db.transaction((tx) => openWrittenReportDraft(tx, other.incident.id, clock.now()));
      expect((await loadWrittenReport(t.db, reopened!.report.id))!.body.screening).toContain('已排查工作人员 5 名');
    });
  });

  describe('the .docx', () => {
    it('is an official document with the number, the sections with 一、二、三 headings, and the sign-offs with names and times', async () => {
      const { incident, report } = await closedIncident(deps, org, clock);
      await t.db.insert(incidentUpdates).values({ incidentId: incident.id, staffId: org.staff.officerA1, kind: 'progress', text: '对象已被劝离现场', at: incident.reportedAt });
      const id = report!.id;
      const draft = await exportWrittenReportDocx(deps, org.actor('headA'), id);
      const draftText = docxText(draft.data);
      expect(draft.filename).toBe(`written-report-${incident.number}-v1.docx`);
      expect(draftText).toContain('拱墅区司法局');
      expect(draftText).toMatch(/矫报〔2026〕\d+号/);
      expect(draftText).toContain(`关于${incident.number}号“严重滋扰管理秩序”事件处置情况的书面报告`);
      expect(draftText).toContain('审核稿：第 1 版，当前在司法所');
      expect(draftText).toContain('杭州市司法局：');
      expect(draftText).toContain('一、基本情况');
      expect(draftText).toContain('二、事件经过');
      expect(draftText).toContain('三、处置情况');
      expect(draftText).toContain('四、原因分析');
      expect(draftText).toContain('五、经验教训');
      expect(draftText).toContain('六、改进措施');
      expect(draftText).toContain('七、审核签批');
      expect(draftText).toContain('（尚未签批）');
      expect(draftText).toContain('张*（SQ-A-001）'); // masked per PII_MODE
      expect(draftText).not.toContain('张三');

      clock.set(new Date('2026-12-01T01:30:00Z'));
      await submitWrittenReport(deps, org.actor('headA'), id);
      clock.set(new Date('2026-12-01T03:05:00Z'));
      await returnWrittenReport(deps, org.actor('section'), id, '请补充处置细节');
      clock.set(new Date('2026-12-01T06:00:00Z'));
      await submitWrittenReport(deps, org.actor('headA'), id);
      clock.set(new Date('2026-12-02T02:15:00Z'));
      await approveWrittenReport(deps, org.actor('section'), id);
      const mid = docxText((await exportWrittenReportDocx(deps, org.actor('deputy'), id, 'zh')).data);
      expect(mid).toContain('当前在分管副局长');
      const row = (text: string) => mid.split('\n').find((l) => l.includes(text) && l.includes('\t'));
      expect(row('2026年12月1日 09:30')).toMatch(/司法所\t所长甲\t提交\t\t2026年12月1日 09:30\t1/);
      expect(row('2026年12月1日 11:05')).toMatch(/社区矫正管理科\t科员丙\t退回修改\t请补充处置细节\t2026年12月1日 11:05\t1/);
      expect(row('2026年12月2日 10:15')).toMatch(/社区矫正管理科\t科员丙\t同意\t\t2026年12月2日 10:15/);

      await approveWrittenReport(deps, org.actor('deputy'), id);
      clock.set(new Date('2026-12-03T08:00:00Z'));
      await approveWrittenReport(deps, org.actor('director'), id);
      // The upper-level agency receives the approved report: it may download it.
      const final = docxText((await exportWrittenReportDocx(deps, org.actor('upper'), id)).data);
      expect(final).toContain('定稿：第 1 版');
      // Each level's approval reads 同意; the last, the director's (the bureau's last approver), is recorded as 审定.
      const finalRow = final.split('\n').find((l) => l.includes('局长甲') && l.includes('\t'));
      expect(finalRow).toMatch(/^局长\t局长甲\t审定\t/);
      expect(final).toMatch(/分管副局长\t副局长乙\t同意\t/);
      expect(final).toContain('2026年12月3日 16:00');
      expect(final).toContain('2026年12月3日'); // signature date: the final approval
      expect(final).toContain('抄送：执行地人民检察院');

      const en = docxText((await exportWrittenReportDocx(deps, org.actor('section2'), id, 'en')).data);
      expect(en).toContain('1. Basic facts');
      expect(en).toContain('Sign-offs');

      // Someone from another office may not download it.
      await expect(exportWrittenReportDocx(deps, org.actor('headB'), id)).rejects.toMatchObject({ code: 'not_found' });
    });
  });
});
