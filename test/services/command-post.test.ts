/**
 * The command loop on the real database with the test clock:
 * - activating the plan forms HQ with the plan's defaults (总指挥 the director, 副总指挥 the deputy
 *   director), keeps a commander the section had named, and is in the timeline;
 * - a 指令 goes to the on-site command and the section; a receipt ends its escalation and tells the sender;
 * - one nobody receipts escalates to its sender and the section after the bureau's interval, once;
 * - a 处置建议 goes up to HQ;
 * - the written report's .docx shows the activation and every message with its receipts.
 * Each test has its own database, so the order of the tests does not matter.
 */
import { and, eq } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { outbox, timers } from '../../src/db/schema.js';
import { pendingTimers } from '../../src/db/repositories/timer.repository.js';
import { DEFAULT_POLICY, MINUTE, resolvePolicy, type EscalationPolicy } from '../../src/domain/index.js';
import { activatePlan, changeResponseLevel, postInstruction, postProposal, receiptMessage } from '../../src/services/command-post.service.js';
import { loadIncidentCardView } from '../../src/views/incident-card-view.js';
import { currentLevelOf } from '../../src/views/command-post-view.js';
import { acknowledgeIncident, closeIncident, reportIncident, reportProgress, rolesOf, setRole, visibleTimeline } from '../../src/services/incident.service.js';
import type { ServiceDeps } from '../../src/services/ports.js';
import { fireTimer } from '../../src/services/timer.service.js';
import { exportWrittenReportDocx, writtenReportForIncident } from '../../src/services/written-report.service.js';
import { docxText, makeDeps } from '../after-incident/helpers.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { ManualClock, seedOrg, type SeededOrg, type StaffKey } from '../helpers/fixtures.js';

const opened: TestDatabase[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((t) => t.drop()));
});

async function setUp(policy: EscalationPolicy = DEFAULT_POLICY): Promise<{ t: TestDatabase; org: SeededOrg; clock: ManualClock; deps: ServiceDeps }> {
  const t = await createTestDatabase();
  opened.push(t);
  const org = await seedOrg(t.db);
  const clock = new ManualClock(new Date('2026-11-29T02:00:00Z'));
  return { t, org, clock, deps: makeDeps(t, org, clock, policy) };
}

async function report(deps: ServiceDeps, org: SeededOrg) {
  const r = await reportIncident(deps, org.actor('officerA1'), {
    type: 'violent_crime',
    subjectId: org.subjects.a1,
    officeUnitId: org.units.officeA,
    discoveredAt: deps.clock.now(),
    injured: 0,
    dead: 0,
    description: '对象持刀威胁他人',
  });
  return r.incident;
}

function keysOf(org: SeededOrg) {
  return (id: string) => (Object.keys(org.staff) as StaffKey[]).find((k) => org.staff[k] === id)!;
}

async function recipients(t: TestDatabase, org: SeededOrg, kind: string, incidentId: string): Promise<StaffKey[]> {
  const rows = await t.db.select().from(outbox).where(and(eq(outbox.kind, kind), eq(outbox.incidentId, incidentId)));
  return rows.map((r) => keysOf(org)(r.recipientStaffId)).sort();
}

describe('activating the plan', () => {
  it('forms HQ with the plan’s defaults, at a level of the bureau’s list, once, and only by the section or a leader', async () => {
    const { t, org, clock, deps } = await setUp();
    const incident = await report(deps, org);
    clock.advance(3 * MINUTE);
    await expect(activatePlan(deps, org.actor('officerA1'), incident.id, 'II')).rejects.toMatchObject({ code: 'not_permitted' });
    await expect(activatePlan(deps, org.actor('headA'), incident.id, 'II')).rejects.toMatchObject({ code: 'not_permitted' });
    await expect(activatePlan(deps, org.actor('section'), incident.id, 'IV')).rejects.toMatchObject({ code: 'invalid_input', detail: 'level' });

    const done = await activatePlan(deps, org.actor('section'), incident.id, 'II');
    expect(done.hq).toEqual({ commander: org.staff.director, deputy_commander: org.staff.deputy });
    expect(done.activation).toMatchObject({ level: 'II', activatedByStaffId: org.staff.section, activatedAt: clock.now() });
    expect(await rolesOf(deps, incident.id)).toEqual([
      { role: 'commander', staffId: org.staff.director },
      { role: 'deputy_commander', staffId: org.staff.deputy },
    ]);
    expect(done.incident.version).toBeGreaterThan(incident.version);
    // HQ, the rest of the section and the office head hear of it; the one who activated it does not.
    expect(await recipients(t, org, 'plan_activated', incident.id)).toEqual(['deputy', 'director', 'headA', 'section2']);
    await expect(activatePlan(deps, org.actor('director'), incident.id, 'I')).rejects.toMatchObject({ code: 'already_done' });

    const { entries } = await visibleTimeline(deps, org.actor('section'), { id: incident.id });
    expect(entries.filter((e) => e.what === 'activated')).toEqual([expect.objectContaining({ staffId: org.staff.section, detail: 'II', how: 'button' })]);
    expect(entries.filter((e) => e.what === 'role_assigned').map((e) => e.role)).toEqual([
      { role: 'commander', staffId: org.staff.director },
      { role: 'deputy_commander', staffId: org.staff.deputy },
    ]);
  });

  it('keeps a commander the section named before, and takes the bureau’s own levels', async () => {
    const { org, deps } = await setUp(resolvePolicy({ command: { responseLevels: ['red', 'orange'], receiptSeconds: 600 } }));
    const incident = await report(deps, org);
    await setRole(deps, org.actor('section'), incident.id, 'commander', org.staff.section2, true);
    await expect(activatePlan(deps, org.actor('deputy'), incident.id, 'II')).rejects.toMatchObject({ code: 'invalid_input' });
    const done = await activatePlan(deps, org.actor('deputy'), incident.id, 'orange');
    expect(done.hq).toEqual({ commander: org.staff.section2, deputy_commander: org.staff.deputy });
  });
  it('once the plan is activated, HQ hears every 续报 of the incident, even of a type whose 续报 do not go to the leaders', async () => {
    const { t, org, clock, deps } = await setUp();
    const r = await reportIncident(deps, org.actor('officerA1'), {
      type: 'disruption',
      subjectId: org.subjects.a1,
      officeUnitId: org.units.officeA,
      discoveredAt: clock.now(),
      injured: 0,
      dead: 0,
      description: '对象在司法所大声吵闹',
    });
    const id = r.incident.id;
    await acknowledgeIncident(deps, org.actor('section'), id);
    await reportProgress(deps, org.actor('officerA1'), id, { text: '对象已平静' });
    // A standard type: the leaders are not in the chain of its 续报 and were not told of it.
    expect(await recipients(t, org, 'progress_reported', id)).not.toContain('director');
    clock.advance(MINUTE);
    await activatePlan(deps, org.actor('section'), id, 'III');
    clock.advance(MINUTE);
    const second = await reportProgress(deps, org.actor('officerA1'), id, { text: '对象再次吵闹，已报警' });
    const rows = await t.db.select().from(outbox).where(and(eq(outbox.kind, 'progress_reported'), eq(outbox.incidentId, id)));
    const toLeaders = rows.filter((row) => (row.params as { updateId?: string } | null)?.updateId === second.updateId).map((row) => keysOf(org)(row.recipientStaffId));
    expect(toLeaders).toEqual(expect.arrayContaining(['director', 'deputy']));
  });
});

describe('instructions down, proposals up', () => {
  it('an instruction is receipted: the first 收到 ends its escalation and tells the sender; each person receipts once', async () => {
    const { t, org, clock, deps } = await setUp();
    const incident = await report(deps, org);
    await activatePlan(deps, org.actor('section'), incident.id, 'I');
    await setRole(deps, org.actor('section'), incident.id, 'onsite_command', org.staff.headA, true);
    clock.advance(2 * MINUTE);

    await expect(postInstruction(deps, org.actor('officerA1'), incident.id, 'order', '立即疏散')).rejects.toMatchObject({ code: 'not_permitted' });
    await expect(postInstruction(deps, org.actor('director'), incident.id, 'order', '   ')).rejects.toMatchObject({ code: 'invalid_input' });
    const sent = await postInstruction(deps, org.actor('director'), incident.id, 'order', '立即疏散围观群众，确保人员安全');
    expect(sent.addressees.map(keysOf(org)).sort()).toEqual(['headA', 'section', 'section2']);
    expect(await recipients(t, org, 'command_issued', incident.id)).toEqual(['headA', 'section', 'section2']);
    const receiptTimers = async () => (await pendingTimers(t.db, { incidentId: incident.id })).filter((x) => x.kind === 'command_receipt');
    const [timer] = await receiptTimers();
    expect(timer).toMatchObject({ cycle: sent.updateId, dueAt: new Date(clock.now().getTime() + 15 * MINUTE) });

    // Someone of another office cannot see it; its sender does not receipt their own.
    await expect(receiptMessage(deps, org.actor('officerB1'), sent.updateId)).rejects.toMatchObject({ code: 'not_permitted' });
    await expect(receiptMessage(deps, org.actor('director'), sent.updateId)).rejects.toMatchObject({ code: 'not_permitted' });
    await expect(receiptMessage(deps, org.actor('officerA2'), sent.updateId)).rejects.toMatchObject({ code: 'not_permitted' });

    clock.advance(3 * MINUTE);
    expect(await receiptMessage(deps, org.actor('headA'), sent.updateId)).toMatchObject({ first: true, kind: 'order' });
    expect(await receiptTimers()).toEqual([]);
    expect(await recipients(t, org, 'command_receipted', incident.id)).toEqual(['director']);
    await expect(receiptMessage(deps, org.actor('headA'), sent.updateId)).rejects.toMatchObject({ code: 'already_done' });
    expect(await receiptMessage(deps, org.actor('section'), sent.updateId)).toMatchObject({ first: false });
    expect(await recipients(t, org, 'command_receipted', incident.id)).toEqual(['director']);

    // The cancelled deadline, fired anyway (a job that was already on its way), sends nothing.
    clock.set(timer!.dueAt);
    expect(await fireTimer(deps, timer!.id)).toMatchObject({ status: 'skipped' });
    expect(await recipients(t, org, 'command_unreceipted', incident.id)).toEqual([]);

    const { entries } = await visibleTimeline(deps, org.actor('section'), { id: incident.id });
    expect(entries.filter((e) => e.what === 'command_message')).toEqual([
      expect.objectContaining({ staffId: org.staff.director, detail: 'order', how: 'typed', text: '立即疏散围观群众，确保人员安全' }),
    ]);
    expect(entries.filter((e) => e.what === 'command_receipt').map((e) => e.staffId)).toEqual([org.staff.headA, org.staff.section]);
  });

  it('an instruction nobody receipts escalates to its sender and the section after the interval, once', async () => {
    const { t, org, clock, deps } = await setUp();
    const incident = await report(deps, org);
    const sent = await postInstruction(deps, org.actor('deputy'), incident.id, 'remark', '请管理科加强与公安的联络');
    // Not activated and no on-site command yet: it goes to the section alone.
    expect(sent.addressees.map(keysOf(org)).sort()).toEqual(['section', 'section2']);
    const [timer] = (await pendingTimers(t.db, { incidentId: incident.id })).filter((x) => x.kind === 'command_receipt');

    clock.set(new Date(timer!.dueAt.getTime() - 2000));
    expect(await fireTimer(deps, timer!.id)).toMatchObject({ status: 'not_due' });
    clock.set(timer!.dueAt);
    expect(await fireTimer(deps, timer!.id)).toMatchObject({ status: 'sent', notices: 3 });
    expect(await recipients(t, org, 'command_unreceipted', incident.id)).toEqual(['deputy', 'section', 'section2']);
    expect(await fireTimer(deps, timer!.id)).toMatchObject({ status: 'skipped' });
    expect(await recipients(t, org, 'command_unreceipted', incident.id)).toHaveLength(3);
    const [row] = await t.db.select().from(timers).where(eq(timers.id, timer!.id));
    expect(row).toMatchObject({ state: 'fired' });

    // Receipted late, it is still recorded; the sender is told.
    clock.advance(MINUTE);
    expect(await receiptMessage(deps, org.actor('section2'), sent.updateId)).toMatchObject({ first: true });
  });

  it('the on-site command sends a proposal up to HQ, the same way; nobody else may', async () => {
    const { t, org, deps } = await setUp();
    const incident = await report(deps, org);
    await activatePlan(deps, org.actor('director'), incident.id, 'I');
    await setRole(deps, org.actor('section'), incident.id, 'onsite_command', org.staff.headA, true);
    await expect(postProposal(deps, org.actor('officerA1'), incident.id, '建议增派警力')).rejects.toMatchObject({ code: 'not_permitted' });
    const sent = await postProposal(deps, org.actor('headA'), incident.id, '建议增派警力，联系对象家属到场劝导');
    expect(await recipients(t, org, 'proposal_sent', incident.id)).toEqual(['deputy', 'director']);
    expect((await pendingTimers(t.db, { incidentId: incident.id })).filter((x) => x.kind === 'command_receipt')).toHaveLength(1);
    await expect(receiptMessage(deps, org.actor('section'), sent.updateId)).rejects.toMatchObject({ code: 'not_permitted' });
    expect(await receiptMessage(deps, org.actor('director'), sent.updateId)).toMatchObject({ first: true, kind: 'proposal' });
    expect(await recipients(t, org, 'command_receipted', incident.id)).toEqual(['headA']);
  });
});

describe('升级 / 降级响应', () => {
  it('the section or a leader changes the level with a reason: audited, one timeline entry, HQ told, the card shows it; stale, same and unknown levels are refused', async () => {
    const { t, org, clock, deps } = await setUp();
    const incident = await report(deps, org);
    const change = (who: StaffKey, to: string, seen: string, reason = '事态扩大，围观人员增多') => changeResponseLevel(deps, org.actor(who), incident.id, { to, seen, reason });
    // Before activation there is no level to change.
    await expect(change('section', 'I', 'II')).rejects.toMatchObject({ code: 'wrong_status' });
    await activatePlan(deps, org.actor('section'), incident.id, 'II');
    clock.advance(10 * MINUTE);

    await expect(change('officerA1', 'I', 'II')).rejects.toMatchObject({ code: 'not_permitted' });
    await expect(change('headA', 'I', 'II')).rejects.toMatchObject({ code: 'not_permitted' });
    await expect(change('section', 'I', 'II', '   ')).rejects.toMatchObject({ code: 'invalid_input' });
    await expect(change('section', 'IV', 'II')).rejects.toMatchObject({ code: 'invalid_input', detail: 'level' });
    await expect(change('section', 'II', 'II')).rejects.toMatchObject({ code: 'already_done' });

    const raised = await change('director', 'I', 'II');
    expect(raised).toMatchObject({ from: 'II', to: 'I', direction: 'raise' });
    expect(raised.incident.version).toBeGreaterThan(incident.version);
    // The activation's audience, less the one who changed it: HQ (the deputy), the section, the office head.
    expect(await recipients(t, org, 'level_changed', incident.id)).toEqual(['deputy', 'headA', 'section', 'section2']);
    // Someone who chose from the card as it was (Ⅱ级) is refused, not silently applied over the change.
    await expect(change('section', 'III', 'II')).rejects.toMatchObject({ code: 'stale' });

    clock.advance(30 * MINUTE);
    expect(await change('section', 'II', 'I', '现场已控制')).toMatchObject({ from: 'I', to: 'II', direction: 'lower' });

    const { entries } = await visibleTimeline(deps, org.actor('section'), { id: incident.id });
    expect(entries.filter((e) => e.what === 'level_changed')).toEqual([
      expect.objectContaining({ staffId: org.staff.director, detail: 'raise', levels: { from: 'II', to: 'I' }, text: '事态扩大，围观人员增多', how: 'typed' }),
      expect.objectContaining({ staffId: org.staff.section, detail: 'lower', levels: { from: 'I', to: 'II' }, text: '现场已控制' }),
    ]);
    const view = (await loadIncidentCardView(t.db, incident.id, org.cipher))!;
    expect(view.commandPost?.activation?.level).toBe('II');
    expect(currentLevelOf(view.commandPost)).toBe('II');
    expect(view.commandPost?.levelChanges?.map((c) => [c.from, c.to, c.byStaffId])).toEqual([
      ['II', 'I', org.staff.director],
      ['I', 'II', org.staff.section],
    ]);
  });

  it('a closed incident’s level stays as it was', async () => {
    const { org, deps } = await setUp();
    const incident = await report(deps, org);
    await activatePlan(deps, org.actor('section'), incident.id, 'III');
    await acknowledgeIncident(deps, org.actor('section'), incident.id);
    await closeIncident(deps, org.actor('section'), incident.id, { cause: '误会', lessons: '无', measures: '无', openDutiesReason: '已线下办结' });
    await expect(changeResponseLevel(deps, org.actor('section'), incident.id, { to: 'I', seen: 'III', reason: '补调' })).rejects.toMatchObject({ code: 'wrong_status' });
  });
});

describe('the written report', () => {
  it('shows the activation, HQ and every instruction and proposal with who receipted it when', async () => {
    const { org, clock, deps } = await setUp();
    const incident = await report(deps, org);
    await acknowledgeIncident(deps, org.actor('section'), incident.id);
    clock.advance(MINUTE);
    await activatePlan(deps, org.actor('section'), incident.id, 'II');
    await setRole(deps, org.actor('section'), incident.id, 'onsite_command', org.staff.headA, true);
    clock.advance(MINUTE);
    const order = await postInstruction(deps, org.actor('director'), incident.id, 'order', '立即疏散围观群众');
    clock.advance(MINUTE);
    await receiptMessage(deps, org.actor('headA'), order.updateId);
    await postProposal(deps, org.actor('headA'), incident.id, '建议联系家属到场');
    clock.advance(MINUTE);
    await closeIncident(deps, org.actor('section'), incident.id, { cause: '对象情绪失控', lessons: '排查不够', measures: '加强走访', openDutiesReason: '其余事项已线下办结' });
    const written = (await writtenReportForIncident(deps.db, incident.id))!;

    const text = docxText((await exportWrittenReportDocx(deps, org.actor('headA'), written.report.id, 'zh')).data);
    expect(text).toContain('应急指挥');
    expect(text).toContain('科员丙启动预案，响应级别：Ⅱ级响应。');
    expect(text).toContain('总指挥：局长甲；副总指挥：副局长乙；办公室：社区矫正管理科。');
    expect(text).toContain('立即疏散围观群众');
    expect(text).toContain('所长甲（');
    expect(text).toContain('建议联系家属到场');
    expect(text).toContain('处置建议');
    expect(text).toContain('无人收到');

    const en = docxText((await exportWrittenReportDocx(deps, org.actor('section2'), written.report.id, 'en')).data);
    expect(en).toContain('Level II response');
  });
});
