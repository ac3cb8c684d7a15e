/** 处罚 and 脱管: the bureau's list, the decisions, the counts, the time out of supervision and its thresholds. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY, HOUR, resolvePolicy, timerKindsClosedBy } from '../../src/domain/index.js';
import { abscondingThresholdTimers } from '../../src/domain/absconding.js';
import {
  abscondingThresholdsOf,
  countSanctions,
  decideAbscondingThreshold,
  nextDecisions,
  outOfSupervision,
  sanctionKindsOf,
  sanctionProblem,
} from '../../src/domain/sanctions.js';
import { decideTimer, type IncidentTimerContext } from '../../src/domain/timer-decision.js';

const now = new Date('2026-11-29T02:00:00Z');

describe("the bureau's list", () => {
  it("is the plan's measures by default, and the bureau's own when the policy names them", () => {
    expect(sanctionKindsOf(DEFAULT_POLICY).map((k) => k.code)).toEqual(['admonition', 'warning', 'public_security_penalty', 'revoke_probation', 'revoke_parole', 'commit_to_prison']);
    const own = resolvePolicy({ sanctions: { kinds: [{ code: 'admonition' }, { code: 'talk', name: '约谈', name_en: 'Talk' }] } });
    expect(sanctionKindsOf(own)).toEqual([{ code: 'admonition' }, { code: 'talk', name: '约谈', name_en: 'Talk' }]);
    // A snapshot from before the list: the plan's.
    expect(sanctionKindsOf({})).toHaveLength(6);
  });

  it('a sanction needs a kind of the list, grounds, a known decision and a date not ahead', () => {
    const kinds = sanctionKindsOf(DEFAULT_POLICY);
    const ok = { kind: 'warning', grounds: '脱管两日', decision: 'proposed', decidedAt: now };
    expect(sanctionProblem(ok, kinds, now)).toBeUndefined();
    expect(sanctionProblem({ ...ok, kind: 'fine' }, kinds, now)).toBe('kind');
    expect(sanctionProblem({ ...ok, grounds: ' ' }, kinds, now)).toBe('grounds');
    expect(sanctionProblem({ ...ok, decision: 'maybe' }, kinds, now)).toBe('decision');
    expect(sanctionProblem({ ...ok, decidedAt: new Date(now.getTime() + HOUR) }, kinds, now)).toBe('at');
  });
});

describe('decisions', () => {
  it('a proposal is approved, rejected or executed; an approved one executed or rejected; the rest are final', () => {
    expect(nextDecisions('proposed')).toEqual(['approved', 'rejected', 'executed']);
    expect(nextDecisions('approved')).toEqual(['executed', 'rejected']);
    expect(nextDecisions('executed')).toEqual([]);
    expect(nextDecisions('rejected')).toEqual([]);
  });

  it('are counted by kind, in the list order, and by where they stand', () => {
    const c = countSanctions(
      [
        { kind: 'warning', decision: 'executed' },
        { kind: 'admonition', decision: 'executed' },
        { kind: 'warning', decision: 'proposed' },
        { kind: 'talk', decision: 'rejected' },
      ],
      sanctionKindsOf(DEFAULT_POLICY),
    );
    expect(c.total).toBe(4);
    expect(c.byKind).toEqual([
      { kind: 'admonition', count: 1 },
      { kind: 'warning', count: 2 },
      { kind: 'talk', count: 1 },
    ]);
    expect(c.byDecision).toEqual({ proposed: 1, approved: 0, rejected: 1, executed: 2 });
  });
});

describe('脱管', () => {
  const incident = { id: '00000000-0000-4000-8000-000000000001', type: 'absconding', status: 'in_progress', discoveredAt: new Date('2026-11-28T02:00:00Z'), closedAt: null, closure: null };

  it('the time out of supervision runs from the discovered-at until found or closed', () => {
    expect(outOfSupervision(incident, null, now)).toEqual({ since: incident.discoveredAt, until: null, seconds: 24 * 3600, ongoing: true });
    const found = new Date('2026-11-28T14:00:00Z');
    expect(outOfSupervision(incident, found, now)).toMatchObject({ until: found, seconds: 12 * 3600, ongoing: false });
    const closedAt = new Date('2026-11-28T20:00:00Z');
    expect(outOfSupervision({ ...incident, status: 'closed', closedAt }, null, now)).toMatchObject({ until: closedAt, ongoing: false });
    expect(outOfSupervision({ ...incident, type: 'disruption' }, null, now)).toBeUndefined();
    expect(outOfSupervision({ ...incident, closure: 'false_alarm' }, null, now)).toBeUndefined();
  });

  it('the thresholds are 24 h and 72 h by default, the bureau may set its own, and each is a timer from the discovered-at', () => {
    expect(abscondingThresholdsOf(DEFAULT_POLICY)).toEqual([86_400, 259_200]);
    expect(abscondingThresholdsOf(resolvePolicy({ absconding: { thresholdsSeconds: [43_200, 43_200, 7200] } }))).toEqual([7200, 43_200]);
    const timers = abscondingThresholdTimers(incident, DEFAULT_POLICY);
    expect(timers.map((t) => [t.kind, t.level, t.dueAt.toISOString(), t.cycle, t.target])).toEqual([
      ['absconding_threshold', 0, '2026-11-29T02:00:00.000Z', '86400', { kind: 'position', position: 'section', scope: 'bureau' }],
      ['absconding_threshold', 1, '2026-12-01T02:00:00.000Z', '259200', { kind: 'position', position: 'section', scope: 'bureau' }],
    ]);
    expect(new Set(timers.map((t) => t.dedupeKey)).size).toBe(2);
    expect(timers.every((t) => !t.dedupeKey.includes(':'))).toBe(true);
    expect(abscondingThresholdTimers({ ...incident, type: 'disruption' }, DEFAULT_POLICY)).toEqual([]);
  });

  it('closing and finding cancel them', () => {
    expect(timerKindsClosedBy('incident_closed')).toContain('absconding_threshold');
    expect(timerKindsClosedBy('subject_found')).toEqual(['absconding_threshold']);
  });

  it('a threshold tells the section while the subject is out, and skips once found or closed', () => {
    expect(decideAbscondingThreshold({ open: true, found: false })).toEqual({ notify: true });
    expect(decideAbscondingThreshold({ open: true, found: true })).toEqual({ skip: 'subject found' });
    expect(decideAbscondingThreshold({ open: false, found: false })).toEqual({ skip: 'incident closed' });
    const ctx: IncidentTimerContext = {
      scope: 'incident',
      status: 'in_progress',
      criticality: 'critical',
      closure: null,
      policy: DEFAULT_POLICY,
      reportedAtMs: now.getTime(),
      lastProgressAtMs: null,
      closedAtMs: null,
      progressCycle: 1,
      upwardStep: 'pending',
      pendingRequiredSteps: 3,
      writtenReport: undefined,
      recipients: ['section-1'],
      informed: new Set(),
    };
    const facts = { kind: 'absconding_threshold' as const, level: 0, cycle: '86400', subjectId: null, targetPosition: 'section' as const };
    expect(decideTimer(facts, ctx, now.getTime())).toEqual({ notice: 'absconding_threshold', recipients: ['section-1'], params: { thresholdSeconds: 86_400, level: 0 } });
    expect(decideTimer(facts, { ...ctx, subjectFound: true }, now.getTime())).toEqual({ skip: 'subject found' });
    expect(decideTimer(facts, { ...ctx, status: 'closed' }, now.getTime())).toEqual({ skip: 'incident closed' });
  });
});
