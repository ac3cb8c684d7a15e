/**
 * Progress up the line as rules: who a 续报 goes to by criticality and the bureau's setting; which level
 * 立即上报 goes to; which phase of 上报上一级 may come next; and the mandatory-information deadline of a
 * level that was forwarded to closing as already informed.
 */
import { describe, expect, it } from 'vitest';
import {
  decideTimer,
  DEFAULT_POLICY,
  DISTRICT_GOVERNMENT_STEP,
  findPlaybookStep,
  instantiatePlaybook,
  withSettingSteps,
  nextLevelToForward,
  progressReachesLeaders,
  resolvePolicy,
  targetsOnProgress,
  type IncidentTimerContext,
  type TimerFacts,
} from '../../src/domain/index.js';
import { nextUpwardPhases } from '../../src/domain/upward-steps.js';

const positions = (targets: ReturnType<typeof targetsOnProgress>) => targets.map((t) => (t.kind === 'position' ? t.position : t.kind));

describe('who a 续报 goes to', () => {
  it('reaches the leaders for a critical incident by default, not for a standard one', () => {
    expect(positions(targetsOnProgress('critical', DEFAULT_POLICY.progressToLeaders))).toEqual(['section', 'office_head', 'reporter', 'deputy_director', 'director']);
    expect(positions(targetsOnProgress('standard', DEFAULT_POLICY.progressToLeaders))).toEqual(['section', 'office_head', 'reporter']);
  });

  it('follows the criticalities the bureau chose', () => {
    const both = resolvePolicy({ progressToLeaders: ['critical', 'standard'] });
    expect(progressReachesLeaders('standard', both.progressToLeaders)).toBe(true);
    const none = resolvePolicy({ progressToLeaders: [] });
    expect(positions(targetsOnProgress('critical', none.progressToLeaders))).toEqual(['section', 'office_head', 'reporter']);
  });

  it('takes the default when a snapshot predates the setting', () => {
    expect(progressReachesLeaders('critical')).toBe(true);
    expect(progressReachesLeaders('standard')).toBe(false);
    expect(resolvePolicy().progressToLeaders).toEqual(['critical']);
  });
});

describe('立即上报: the next level', () => {
  it('is the deputy director, then the director once the deputy director knows, then none', () => {
    const uninformed = (left: Record<string, string[]>) => (p: 'deputy_director' | 'director') => left[p] ?? [];
    expect(nextLevelToForward(uninformed({ deputy_director: ['d'], director: ['x'] }))).toEqual({ position: 'deputy_director', recipients: ['d'] });
    expect(nextLevelToForward(uninformed({ deputy_director: [], director: ['x'] }))).toEqual({ position: 'director', recipients: ['x'] });
    expect(nextLevelToForward(uninformed({}))).toBeUndefined();
  });
});

describe('上报上一级: the phases', () => {
  it.each([
    [[], ['first']],
    [['first'], ['progress', 'final']],
    [['first', 'progress', 'progress'], ['progress', 'final']],
    [['first', 'progress', 'final'], []],
  ] as const)('after %j comes %j', (done, next) => {
    expect(nextUpwardPhases(done)).toEqual(next);
  });
});

describe('the inform deadline of a level forwarded to', () => {
  const facts: TimerFacts = { kind: 'inform', level: 1, cycle: null, subjectId: null, targetPosition: 'deputy_director' };
  const ctx = (informed: string[]): IncidentTimerContext => ({
    scope: 'incident',
    status: 'acknowledged',
    criticality: 'critical',
    closure: null,
    policy: DEFAULT_POLICY,
    reportedAtMs: 0,
    lastProgressAtMs: null,
    closedAtMs: null,
    progressCycle: 1,
    upwardStep: 'pending',
    pendingRequiredSteps: 3,
    writtenReport: undefined,
    recipients: ['deputy'],
    informed: new Set(informed),
  });

  it('skips as already informed; without the forward it tells the level', () => {
    expect(decideTimer(facts, ctx(['deputy']), 900_000)).toEqual({ skip: 'already informed' });
    expect(decideTimer(facts, ctx([]), 900_000)).toMatchObject({ notice: 'inform_level', recipients: ['deputy'] });
  });
});

describe('向区人民政府报告 (三(一)), where the bureau\'s settings ask for it', () => {
  const playbook = instantiatePlaybook('violent_crime', null, { injured: 0, dead: 0 });

  it('is a section step of its own after the playbook\'s, for the criticalities named', () => {
    const steps = withSettingSteps(playbook, 'critical', ['critical']);
    expect(steps).toHaveLength(playbook.length + 1);
    expect(steps.at(-1)).toMatchObject({ key: DISTRICT_GOVERNMENT_STEP.key, ordinal: playbook.length + 1, actor: 'section', state: 'pending', required: true });
    expect(findPlaybookStep('violent_crime', null, DISTRICT_GOVERNMENT_STEP.key)?.text.zh).toBe('向区人民政府报告');
  });

  it('is not there by default, nor for a criticality not named', () => {
    expect(DEFAULT_POLICY.reportToDistrictGovernment).toEqual([]);
    expect(withSettingSteps(playbook, 'critical', DEFAULT_POLICY.reportToDistrictGovernment)).toEqual(playbook);
    expect(withSettingSteps(playbook, 'standard', ['critical'])).toEqual(playbook);
  });
});
