/**
 * The written report of a full incident, on the real database with the test clock: a type 十 report
 * (在特殊敏感时间段违规进入重要场所和设施) made on a day of a sensitive period, the plan activated at a
 * level, two instructions (one receipted), a proposal, three receipts from outside parties (one with a
 * reference number), a sanction, a 首报 and a 终报, closed and signed off to the end. The .docx names the
 * period in its basic facts, and shows every part in order, in Chinese, without codes or raw ids.
 * With REPORT_ARTIFACTS_DIR set (scripts/render-written-report.sh), the files are written there to be
 * rendered and looked at.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outsideContacts } from '../../src/db/schema.js';
import { HOUR, MINUTE } from '../../src/domain/index.js';
import { activatePlan, changeResponseLevel, postInstruction, postProposal, receiptMessage } from '../../src/services/command-post.service.js';
import { acknowledgeIncident, closeIncident, markStep, reportIncident, reportUpward, setRole } from '../../src/services/incident.service.js';
import { recordReceipt } from '../../src/services/outside-party.service.js';
import type { ServiceDeps } from '../../src/services/ports.js';
import { decideSanction, recordSanction } from '../../src/services/sanction.service.js';
import { addSensitivePeriod } from '../../src/services/sensitive-period.service.js';
import { exportWrittenReportDocx, signOffWrittenReport, writtenReportForIncident } from '../../src/services/written-report.service.js';
import { writtenReportDocModel, type WrittenReportDocData } from '../../src/reports/docx/written-report.docx.js';
import { docxText, makeDeps } from './helpers.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { ManualClock, seedOrg, type SeededOrg, type StaffKey } from '../helpers/fixtures.js';

let t: TestDatabase;
let org: SeededOrg;
let deps: ServiceDeps;
// 2026-11-29 10:00 in Asia/Shanghai.
const clock = new ManualClock(new Date('2026-11-29T02:00:00Z'));

beforeAll(async () => {
  t = await createTestDatabase();
  org = await seedOrg(t.db);
  deps = makeDeps(t, org, clock);
  await t.db.insert(outsideContacts).values([
    { code: 'pcs-a', party: 'police_station', name: '拱宸桥派出所', phone: '0571-88000001', officeUnitId: org.units.officeA },
    { code: 'proc', party: 'procuratorate', name: '拱墅区人民检察院', phone: '0571-88000009', officeUnitId: null },
  ]);
});
afterAll(async () => t?.drop());

const PERIOD = '冬季重大活动安保期间';

/** Builds the incident through the use cases, as people would, and returns its closed, approved report's id. */
async function fullIncident(): Promise<{ incidentId: string; reportId: string }> {
  await addSensitivePeriod(deps, org.actor('section'), { name: PERIOD, startsOn: '2026-11-28', endsOn: '2026-12-05' });
  const occurredAt = new Date(clock.now().getTime() - 40 * MINUTE);
  const { incident, steps } = await reportIncident(deps, org.actor('officerA1'), {
    type: 'sensitive_period_entry',
    subjectId: org.subjects.a1,
    officeUnitId: org.units.officeA,
    occurredAt,
    discoveredAt: new Date(clock.now().getTime() - 20 * MINUTE),
    injured: 0,
    dead: 0,
    description: '对象未经批准进入区人民政府办公区域，经劝说拒不离开',
    place: '区人民政府北门',
  });
  const id = incident.id;
  const ordinal = (key: string) => steps.find((s) => s.key === key)!.ordinal;
  clock.advance(2 * MINUTE);
  await acknowledgeIncident(deps, org.actor('section'), id);
  clock.advance(3 * MINUTE);
  await activatePlan(deps, org.actor('section'), id, 'II');
  await setRole(deps, org.actor('section'), id, 'onsite_command', org.staff.headA, true);
  clock.advance(2 * MINUTE);
  const order = await postInstruction(deps, org.actor('director'), id, 'order', '立即派员赶赴现场，劝导对象离开，必要时报警');
  clock.advance(3 * MINUTE);
  await receiptMessage(deps, org.actor('headA'), order.updateId);
  clock.advance(MINUTE);
  await postInstruction(deps, org.actor('deputy'), id, 'remark', '请管理科同步通报检察院');
  clock.advance(MINUTE);
  await changeResponseLevel(deps, org.actor('director'), id, { to: 'I', seen: 'II', reason: '对象情绪激动，现场有扩大趋势' });

  clock.advance(5 * MINUTE);
  await markStep(deps, org.actor('officerA1'), id, { key: 'contact_verify_leave' }, { kind: 'done', how: 'phone', note: '对象拒不离开' });
  clock.advance(2 * MINUTE);
  await recordReceipt(deps, org.actor('officerA1'), id, { ordinal: ordinal('dispatch_and_call_110'), party: 'police_110', method: 'phone', at: clock.now(), answeredBy: '接警员王某', reference: 'JJ-20261129-0107' });
  clock.advance(MINUTE);
  await recordReceipt(deps, org.actor('headA'), id, { ordinal: ordinal('dispatch_and_call_110'), party: 'police_station', method: 'phone', at: clock.now(), answeredBy: '值班民警李某' });
  await markStep(deps, org.actor('headA'), id, { key: 'dispatch_and_call_110' }, { kind: 'done', how: 'phone' });
  clock.advance(4 * MINUTE);
  const proposal = await postProposal(deps, org.actor('headA'), id, '对象已随民警离开，建议给予警告处罚');
  clock.advance(2 * MINUTE);
  await receiptMessage(deps, org.actor('director'), proposal.updateId);

  clock.advance(5 * MINUTE);
  await reportUpward(deps, org.actor('section'), id, { phase: 'first', how: 'phone', note: '电话报告市局值班室' });
  clock.advance(10 * MINUTE);
  await recordReceipt(deps, org.actor('section'), id, { ordinal: ordinal('notify_procuratorate'), party: 'procuratorate', method: 'written', at: clock.now(), answeredBy: '检察官赵某' });
  await markStep(deps, org.actor('section'), id, { key: 'notify_procuratorate' }, { kind: 'done', how: 'written' });
  clock.advance(HOUR);
  const sanction = await recordSanction(deps, org.actor('headA'), id, { kind: 'warning', grounds: '在敏感时间段违规进入重要场所，经劝说拒不离开', decision: 'proposed', decidedAt: clock.now() });
  clock.advance(HOUR);
  await decideSanction(deps, org.actor('section'), sanction.sanction.id, { decision: 'approved', decidedAt: clock.now() });
  await markStep(deps, org.actor('section'), id, { key: 'punish' }, { kind: 'done', how: 'written' });
  clock.advance(HOUR);
  await reportUpward(deps, org.actor('section'), id, { phase: 'final', how: 'written', note: '书面报告处置结果' });
  clock.advance(30 * MINUTE);
  await closeIncident(deps, org.actor('section'), id, {
    cause: '对象法治观念淡薄，对敏感时间段管理规定认识不足',
    lessons: '敏感时间段前的提醒谈话不够具体',
    measures: '敏感时间段前逐一谈话，每日电话核查行踪',
    openDutiesReason: '其余事项已线下办结',
  });

  const report = (await writtenReportForIncident(deps.db, id))!;
  // The sign-off chain to its end: the office submits, each level above approves.
  const signers: Record<string, StaffKey> = { office: 'headA', section: 'section', deputy_director: 'deputy', director: 'director', upper_liaison: 'upper' };
  clock.advance(HOUR);
  await signOffWrittenReport(deps, org.actor('headA'), report.report.id, { kind: 'submit' });
  for (let i = 0; i < 6; i++) {
    const view = (await writtenReportForIncident(deps.db, id))!;
    if (view.stage === 'approved') break;
    clock.advance(HOUR);
    await signOffWrittenReport(deps, org.actor(signers[view.stage]!), report.report.id, { kind: 'approve' });
  }
  return { incidentId: id, reportId: report.report.id };
}

describe('the written report of a full incident', () => {
  it('names the sensitive period in its basic facts and shows every part, in order and in Chinese', async () => {
    const { reportId } = await fullIncident();
    const zh = await exportWrittenReportDocx(deps, org.actor('section'), reportId, 'zh');
    const en = await exportWrittenReportDocx(deps, org.actor('section'), reportId, 'en');
    expect(zh.view.stage).toBe('approved');
    const dir = process.env.REPORT_ARTIFACTS_DIR;
    if (dir) {
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'written-report-full.docx'), zh.data);
      writeFileSync(join(dir, 'written-report-full-en.docx'), en.data);
    }
    const text = docxText(zh.data);
    // 一、基本情况 names the period, with its days.
    expect(text).toMatch(/敏感时间段\t冬季重大活动安保期间（2026年11月28日至2026年12月5日）/);
    // The parts, in order.
    const order = ['一、基本情况', '二、事件经过', '应急指挥', '外部单位联系回执', '处罚情况', '审核签批'];
    const at = order.map((h) => text.indexOf(h));
    expect(at.every((x) => x >= 0)).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
    expect(text).toMatch(/将响应级别由Ⅱ级响应升级为Ⅰ级响应，理由：对象情绪激动，现场有扩大趋势。/);
    expect(text).toContain('JJ-20261129-0107');
    expect(text).toContain('接警员王某');
    expect(text).toContain('检察官赵某');
    expect(text).toContain('警告');
    // 首报 and 终报 are in the account of what was done.
    expect(text).toContain('首报');
    expect(text).toContain('终报');
    // No codes and no English words in the Chinese document (the reference number aside).
    const words = text.replaceAll('JJ-20261129-0107', '').replaceAll('SQ-A-001', '').match(/[A-Za-z]{2,}/g) ?? [];
    expect(words).toEqual([]);
    expect(docxText(en.data)).toContain(`Sensitive period`);
  });
});

describe('the sensitive period in the basic facts', () => {
  const base: WrittenReportDocData = {
    lang: 'zh',
    timeZone: 'Asia/Shanghai',
    now: new Date('2026-11-29T02:00:00Z'),
    authority: '拱墅区司法局',
    upperName: '杭州市司法局',
    officeName: '甲街道司法所',
    incident: {
      number: '2026-0002',
      type: 'sensitive_period_entry',
      scenario: null,
      occurredAt: null,
      discoveredAt: new Date('2026-11-29T02:00:00Z'),
      reportedAt: new Date('2026-11-29T02:00:00Z'),
      closedAt: null,
      place: null,
      injured: 0,
      dead: 0,
      reporterName: '矫正官甲一',
      subjectLabel: null,
    },
    stage: 'office',
    version: 1,
    sections: [],
    signoffs: [],
  };
  const basicRows = (d: WrittenReportDocData) => {
    const block = writtenReportDocModel(d).blocks.find((b) => b.kind === 'pairs');
    return block?.kind === 'pairs' ? block.rows.map((r) => [...r]) : [];
  };

  it('is the row after the type, with its days; absent when the report is linked to none', () => {
    const rows = basicRows({ ...base, incident: { ...base.incident, sensitivePeriod: { name: PERIOD, startsOn: '2026-12-31', endsOn: '2027-01-02' } } });
    expect(rows[2]).toEqual(['敏感时间段', '冬季重大活动安保期间（2026年12月31日至2027年1月2日）']);
    expect(basicRows(base).map((r) => r[0])).not.toContain('敏感时间段');
    const en = basicRows({ ...base, lang: 'en', incident: { ...base.incident, sensitivePeriod: { name: PERIOD, startsOn: '2026-12-31', endsOn: '2027-01-02' } } });
    expect(en[2]).toEqual(['Sensitive period', `${PERIOD} (2026-12-31 to 2027-01-02)`]);
  });
});
