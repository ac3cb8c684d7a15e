/**
 * The plan the bureau edits (src/domain/playbook-edits.ts, plan-variants.ts): playbook edits applied in
 * order, an office's variant over the bureau's settings, criticalities, and the written report's last
 * approver. Pure: no database.
 */
import { describe, expect, it } from 'vitest';
import {
  applyPlaybookEdits,
  criticalityUnder,
  DEFAULT_POLICY,
  findStepUnder,
  instantiatePlaybookUnder,
  playbookFor,
  playbookEditProblems,
  playbookUnder,
  policyForOffice,
  resolvePolicy,
  scalePolicy,
  type Actor,
  type PlaybookEdit,
} from '../../src/domain/index.js';
import { decideSignoff, signoffChain, signoffWording, type SignoffContext, type WrittenReportStage } from '../../src/domain/written-report.js';

const keys = (steps: ReadonlyArray<{ key: string }>) => steps.map((s) => s.key);
const add = (key: string, after?: string): PlaybookEdit => ({ add: key, actor: 'office', text: '通知村（社区）协助查找', required: true, ...(after ? { after } : {}) });

describe('playbook edits', () => {
  const plan = playbookFor('absconding');

  it('adds a step after the one it names, or at the end', () => {
    const after = applyPlaybookEdits(plan, [add('notify_village', 'search_field')]).steps;
    expect(keys(after).slice(0, 4)).toEqual(['search_phone', 'search_system', 'search_field', 'notify_village']);
    expect(after[3]).toEqual({ key: 'notify_village', actor: 'office', required: true, text: { zh: '通知村（社区）协助查找', en: '通知村（社区）协助查找' } });
    expect(keys(applyPlaybookEdits(plan, [add('notify_village')]).steps).at(-1)).toBe('notify_village');
  });

  it('replaces only what the edit names, and can make a step unconditional or optional', () => {
    const [edited] = [applyPlaybookEdits(plan, [{ replace: 'report_section_not_found', text: '两小时内查找未果，上报管理科', condition: null, required: false }]).steps];
    const step = edited!.find((s) => s.key === 'report_section_not_found')!;
    expect(step).toEqual({ key: 'report_section_not_found', actor: 'office', required: false, text: { zh: '两小时内查找未果，上报管理科', en: '两小时内查找未果，上报管理科' } });
    const onlyEn = applyPlaybookEdits(plan, [{ replace: 'search_field', text_en: 'Field visits, two officers' }]).steps.find((s) => s.key === 'search_field')!;
    expect(onlyEn.text).toEqual({ zh: '实地查访', en: 'Field visits, two officers' });
    expect(onlyEn.actor).toBe('office');
  });

  it('removes a step, but never the report to the section', () => {
    expect(keys(applyPlaybookEdits(plan, [{ remove: 'search_system' }]).steps)).not.toContain('search_system');
    const kept = applyPlaybookEdits(plan, [{ remove: 'report_section' }], 'absconding');
    expect(keys(kept.steps)).toContain('report_section');
    expect(kept.problems).toEqual([{ playbook: 'absconding', index: 0, message: expect.stringContaining('cannot be removed') }]);
  });

  it('names every edit that does not fit the checklist, by playbook and index, and applies the rest', () => {
    const r = applyPlaybookEdits(plan, [{ replace: 'no_such_step', text: 'x' }, add('search_phone'), add('late', 'nowhere'), { remove: 'search_field' }], 'absconding');
    expect(r.problems.map((p) => [p.index, p.message])).toEqual([
      [0, "no step 'no_such_step' to replace"],
      [1, "step 'search_phone' is already in the checklist (replace it instead)"],
      [2, "no step 'nowhere' to add after"],
    ]);
    expect(keys(r.steps)).not.toContain('search_field');
    expect(playbookEditProblems({ absconding: [{ remove: 'nope' }], epidemic_s3: [{ remove: 'daily_contact' }] })).toEqual([{ playbook: 'absconding', index: 0, message: "no step 'nope' to remove" }]);
  });

  it('reach an epidemic scenario by its own key, and leave the other scenarios as the plan has them', () => {
    const policy = resolvePolicy({ playbooks: { epidemic_s3: [{ remove: 'daily_contact' }] } });
    expect(keys(playbookUnder(policy, 'epidemic', 's3'))).not.toContain('daily_contact');
    expect(playbookUnder(policy, 'epidemic', 's1')).toEqual(playbookFor('epidemic', 's1'));
  });
});

describe("an office's variant (七(五))", () => {
  const bureau = resolvePolicy({ ackSeconds: { critical: 240 }, playbooks: { absconding: [add('notify_village', 'search_field')] } });

  it("sets that office's times over the bureau's, and keeps the rest of the bureau's", () => {
    const office = policyForOffice(bureau, { ackSeconds: { standard: 600 }, lateReportSeconds: 900 });
    expect(office.ackSeconds).toEqual({ critical: 240, standard: 600 });
    expect(office.lateReportSeconds).toBe(900);
    expect(office.progressSeconds).toEqual(DEFAULT_POLICY.progressSeconds);
    expect(policyForOffice(bureau, undefined)).toBe(bureau);
  });

  it("applies the office's playbook edits after the bureau's, so it may edit a step the bureau added", () => {
    const office = policyForOffice(bureau, { playbooks: { absconding: [{ replace: 'notify_village', text: '通知村委会和网格员协助查找' }, add('visit_family')] } });
    const steps = playbookUnder(office, 'absconding');
    expect(steps.find((s) => s.key === 'notify_village')!.text.zh).toBe('通知村委会和网格员协助查找');
    expect(keys(steps).at(-1)).toBe('visit_family');
    // The bureau's own plan is unchanged by the office's edits.
    expect(keys(playbookUnder(bureau, 'absconding'))).not.toContain('visit_family');
  });

  it('gives the checklist an incident starts with, conditions decided as the plan decides them', () => {
    const office = policyForOffice(bureau, { playbooks: { violent_crime: [{ replace: 'call_120', condition: null }] } });
    const steps = instantiatePlaybookUnder(office, 'violent_crime', null, { injured: 0, dead: 0 });
    expect(steps.find((s) => s.key === 'call_120')).toMatchObject({ state: 'pending', condition: null });
    const plan = instantiatePlaybookUnder(bureau, 'violent_crime', null, { injured: 0, dead: 0 });
    expect(plan.find((s) => s.key === 'call_120')).toMatchObject({ state: 'not_applicable', condition: 'casualties' });
    expect(steps.map((s) => s.ordinal)).toEqual(steps.map((_, i) => i + 1));
  });
});

describe('criticality and step words under a snapshot', () => {
  it("is the plan's unless the bureau set it; an epidemic's by scenario", () => {
    const policy = resolvePolicy({ criticality: { abnormal_petition: 'critical', epidemic: { s2: 'critical' } } });
    expect(criticalityUnder(policy, 'abnormal_petition')).toBe('critical');
    expect(criticalityUnder(policy, 'epidemic', 's2')).toBe('critical');
    expect(criticalityUnder(policy, 'epidemic', 's3')).toBe('standard');
    expect(criticalityUnder(policy, 'violent_crime')).toBe('critical');
    expect(criticalityUnder(DEFAULT_POLICY, 'abnormal_petition')).toBe('standard');
  });

  it('an older snapshot without the new settings reads as the plan', () => {
    const old = { ackSeconds: DEFAULT_POLICY.ackSeconds } as unknown as Parameters<typeof criticalityUnder>[0];
    expect(criticalityUnder(old, 'abnormal_petition')).toBe('standard');
    expect(findStepUnder(old, 'absconding', null, 'search_field')!.text.zh).toBe('实地查访');
  });

  it("a step's words come from the snapshot that added or replaced it, else from the plan", () => {
    const policy = resolvePolicy({ playbooks: { absconding: [add('notify_village'), { replace: 'search_field', text: '实地查访（两人以上）' }] } });
    expect(findStepUnder(policy, 'absconding', null, 'notify_village')!.text.zh).toBe('通知村（社区）协助查找');
    expect(findStepUnder(policy, 'absconding', null, 'search_field')!.text.zh).toBe('实地查访（两人以上）');
    expect(findStepUnder(DEFAULT_POLICY, 'absconding', null, 'notify_village')).toBeUndefined();
    expect(findStepUnder(policy, 'absconding', null, 'report_district_government')!.text.zh).toBe('向区人民政府报告');
  });

  it('a time scale leaves days, criticalities and steps alone', () => {
    const policy = resolvePolicy({ criticality: { other: 'critical' }, playbooks: { other: [add('x_step')] } });
    const scaled = scalePolicy(policy, 1 / 60);
    expect(scaled.screening).toEqual(policy.screening);
    expect(scaled.criticality).toEqual(policy.criticality);
    expect(scaled.playbooks).toEqual(policy.playbooks);
    expect(scaled.ackSeconds.critical).toBe(5);
  });

  it('refuses a criticality that is not one, and a type that is not one', () => {
    expect(() => resolvePolicy({ criticality: { other: 'urgent' } } as never)).toThrow();
    expect(() => resolvePolicy({ criticality: { robbery: 'critical' } } as never)).toThrow();
  });
});

describe("the written report's last approver", () => {
  const actor = (positions: Actor['positions'], staffId: string): Actor =>
    positions.includes('upper_liaison') ? { staffId, unitId: 'upper-city', unitKind: 'upper', positions } : { staffId, unitId: 'bureau', unitKind: 'bureau', positions };
  const director = actor(['director'], 'director');
  const deputy = actor(['deputy_director'], 'deputy');
  const upper = actor(['upper_liaison'], 'upper');
  const ctx = (stage: WrittenReportStage, lastApprover?: SignoffContext['lastApprover']): SignoffContext => ({
    stage,
    officeUnitId: 'office-a',
    shape: { type: 'other', scenario: null, injured: 0, dead: 0, counties: false },
    body: { course: 'x', handling: 'x', cause: 'x', lessons: 'x', measures: 'x', casualties: 'x', counties: 'x', search: 'x', screening: 'x' },
    ...(lastApprover ? { lastApprover } : {}),
  });

  it("is the director by default: the director's approval approves the report, and no one outside the bureau signs", () => {
    expect(signoffChain()).toEqual(['office', 'section', 'deputy_director', 'director']);
    expect(decideSignoff(ctx('director'), { kind: 'approve' }, director)).toEqual({ next: 'approved', decision: 'approved', incidentEvent: { kind: 'approve_report' } });
    for (const stage of ['section', 'deputy_director', 'director'] as const) {
      expect(() => decideSignoff(ctx(stage), { kind: 'approve' }, upper)).toThrow(expect.objectContaining({ reason: 'not_permitted' }));
      expect(() => decideSignoff(ctx(stage), { kind: 'return', comment: '补充' }, upper)).toThrow(expect.objectContaining({ reason: 'not_permitted' }));
    }
    expect(signoffWording('director', 'approved')).toBe('finalised');
    expect(signoffWording('deputy_director', 'approved')).toBe('approved');
  });

  it('is a setting: with the deputy director last, the chain ends there', () => {
    expect(signoffChain('deputy_director')).toEqual(['office', 'section', 'deputy_director']);
    expect(decideSignoff(ctx('deputy_director', 'deputy_director'), { kind: 'approve' }, deputy).next).toBe('approved');
    expect(decideSignoff(ctx('deputy_director'), { kind: 'approve' }, deputy).next).toBe('director');
    expect(signoffWording('deputy_director', 'approved', 'deputy_director')).toBe('finalised');
  });

  it("a report left at the upper level's stage can be finished by the bureau's last approver", () => {
    expect(decideSignoff(ctx('upper_liaison'), { kind: 'approve' }, director).next).toBe('approved');
    expect(decideSignoff(ctx('upper_liaison'), { kind: 'approve' }, upper).next).toBe('approved');
  });

  it('cannot be set to anyone outside the bureau', () => {
    expect(() => resolvePolicy({ writtenReport: { lastApprover: 'upper_liaison' } } as never)).toThrow();
    expect(DEFAULT_POLICY.writtenReport.lastApprover).toBe('director');
  });
});
