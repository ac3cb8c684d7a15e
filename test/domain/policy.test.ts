/**
 * Every row of the timers table in domain.md, computed by src/domain/policy.ts from given times (no
 * clock is read anywhere), with the defaults of domain.md.
 */
import { describe, expect, it } from 'vitest';
import {
  atLocalTime,
  contactCheckTimers,
  dailyContactSchedule,
  DAY,
  DEFAULT_POLICY,
  HOUR,
  isLateReport,
  MINUTE,
  nextDeadlines,
  nextLocalTime,
  progressTimers,
  resolvePolicy,
  scalePolicy,
  timerKindsClosedBy,
  timersOnReport,
  writtenReportDueAt,
  writtenReportTimers,
  writtenReportTimersAfterReturn,
  type Criticality,
  type EscalationPolicy,
  type TimerSpec,
} from '../../src/domain/index.js';

const REPORTED = new Date('2026-11-29T02:00:00Z'); // 10:00 in Shanghai
const ID = '7d1f6a4e-0000-4000-8000-000000000001';
const at = (ms: number) => new Date(REPORTED.getTime() + ms);
const onReport = (criticality: Criticality, policy: EscalationPolicy = DEFAULT_POLICY) => timersOnReport({ id: ID, criticality, reportedAt: REPORTED }, policy);
const find = (specs: TimerSpec[], kind: string, level: number) => {
  const t = specs.find((s) => s.kind === kind && s.level === level);
  if (!t) throw new Error(`no ${kind} timer at level ${level}`);
  return t;
};
const position = (p: string, scope: 'office' | 'bureau' = 'bureau') => ({ kind: 'position', position: p, scope });

describe('acknowledgement (签收): critical 5 min, standard 15 min; then deputy director; again as long, director', () => {
  it.each([
    ['critical', 5 * MINUTE],
    ['standard', 15 * MINUTE],
  ] as const)('%s', (criticality, ack) => {
    const specs = onReport(criticality);
    expect(find(specs, 'ack', 1)).toMatchObject({ dueAt: at(ack), target: position('deputy_director'), incidentId: ID });
    expect(find(specs, 'ack', 2)).toMatchObject({ dueAt: at(2 * ack), target: position('director') });
    expect(specs.filter((s) => s.kind === 'ack')).toHaveLength(2);
  });
});

describe('progress report (续报): critical every 30 min, standard every 4 h; missed: reporter, then section', () => {
  it.each([
    ['critical', 30 * MINUTE, 15 * MINUTE],
    ['standard', 4 * HOUR, 1 * HOUR],
  ] as const)('%s, first cycle counted from the report', (criticality, every, escalateAfter) => {
    const specs = onReport(criticality);
    expect(find(specs, 'progress', 0)).toMatchObject({ dueAt: at(every), target: { kind: 'reporter' }, cycle: '1' });
    expect(find(specs, 'progress', 1)).toMatchObject({ dueAt: at(every + escalateAfter), target: position('section'), cycle: '1' });
  });

  it('the next cycle is counted from the last progress report', () => {
    const last = at(20 * MINUTE);
    const [remind, escalate] = progressTimers({ id: ID, criticality: 'critical', reportedAt: REPORTED }, DEFAULT_POLICY, last, 2);
    expect(remind).toMatchObject({ level: 0, dueAt: at(50 * MINUTE), cycle: '2', dedupeKey: `progress-${ID}-2-0` });
    expect(escalate).toMatchObject({ level: 1, dueAt: at(65 * MINUTE), cycle: '2', dedupeKey: `progress-${ID}-2-1` });
  });
});

describe('report to the upper-level agency: critical within 1 h; else remind section, then deputy director', () => {
  it.each([
    ['critical', 1 * HOUR, 30 * MINUTE],
    ['standard', 4 * HOUR, 1 * HOUR],
  ] as const)('%s', (criticality, within, then) => {
    const specs = onReport(criticality);
    expect(find(specs, 'upper_report', 0)).toMatchObject({ dueAt: at(within), target: position('section') });
    expect(find(specs, 'upper_report', 1)).toMatchObject({ dueAt: at(within + then), target: position('deputy_director') });
  });
});

describe('mandatory information and overdue steps', () => {
  it('tells the deputy director and the director by fixed times, acknowledged or not', () => {
    const specs = onReport('critical');
    expect(find(specs, 'inform', 1)).toMatchObject({ dueAt: at(15 * MINUTE), target: position('deputy_director') });
    expect(find(specs, 'inform', 2)).toMatchObject({ dueAt: at(30 * MINUTE), target: position('director') });
    expect(timerKindsClosedBy('acknowledged')).toEqual(['ack']);
    expect(timerKindsClosedBy('incident_closed')).not.toContain('inform');
  });

  it('reminds the reporter of unmarked required steps, then the section', () => {
    const specs = onReport('critical');
    expect(find(specs, 'steps_overdue', 0)).toMatchObject({ dueAt: at(2 * HOUR), target: { kind: 'reporter' } });
    expect(find(specs, 'steps_overdue', 1)).toMatchObject({ dueAt: at(3 * HOUR), target: position('section') });
  });

  it('gives every deadline a unique dedupe key without ":" (it is also the BullMQ job id)', () => {
    const specs = onReport('critical');
    const keys = specs.map((s) => s.dedupeKey);
    expect(new Set(keys).size).toBe(keys.length);
    for (const k of keys) expect(k).not.toContain(':');
    expect(find(specs, 'ack', 1).dedupeKey).toBe(`ack-${ID}-1`);
  });
});

describe('written report (书面报告): 7 days after closure, reminders 3 and 1 day before, escalation when overdue', () => {
  const closed = new Date('2026-12-01T08:00:00Z');
  const after = (ms: number) => new Date(closed.getTime() + ms);

  it('due date and the four timers: office head twice, the section when due, the deputy director a day later', () => {
    expect(writtenReportDueAt(closed, DEFAULT_POLICY)).toEqual(after(7 * DAY));
    const specs = writtenReportTimers(ID, closed, DEFAULT_POLICY);
    expect(specs).toHaveLength(4);
    expect(find(specs, 'written_report', 0)).toMatchObject({ dueAt: after(4 * DAY), target: position('office_head', 'office') });
    expect(find(specs, 'written_report', 1)).toMatchObject({ dueAt: after(6 * DAY), target: position('office_head', 'office') });
    expect(find(specs, 'written_report', 2)).toMatchObject({ dueAt: after(7 * DAY), target: position('section') });
    expect(find(specs, 'written_report', 3)).toMatchObject({ dueAt: after(8 * DAY), target: position('deputy_director'), dedupeKey: `written_report-${ID}-3` });
  });

  it('drops a reminder that would fall before the closure itself', () => {
    const policy = resolvePolicy({ writtenReportDueSeconds: 2 * 86_400 });
    const specs = writtenReportTimers(ID, closed, policy);
    expect(specs.map((s) => s.level)).toEqual([1, 2, 3]);
  });

  it('a policy snapshotted before the deputy director level still gets it, a day after the due date', () => {
    const { writtenReportEscalateSeconds: _, ...old } = DEFAULT_POLICY;
    expect(find(writtenReportTimers(ID, closed, old as EscalationPolicy), 'written_report', 3).dueAt).toEqual(after(8 * DAY));
  });

  it('returned to the office: the deadlines still ahead of the original due date come back, as a new round', () => {
    const due = after(7 * DAY);
    const specs = writtenReportTimersAfterReturn(ID, due, after(5 * DAY), DEFAULT_POLICY, 1);
    expect(specs.map((s) => [s.level, s.dueAt])).toEqual([
      [1, after(6 * DAY)],
      [2, due],
      [3, after(8 * DAY)],
    ]);
    expect(specs.map((s) => s.dedupeKey)).toEqual([1, 2, 3].map((l) => `written_report-${ID}-r1-${l}`));
    expect(specs.every((s) => s.cycle === 'r1')).toBe(true);
  });

  it('returned after the due date: the section is told at once; the deputy director still when due', () => {
    const now = after(7 * DAY + 2 * HOUR);
    const specs = writtenReportTimersAfterReturn(ID, after(7 * DAY), now, DEFAULT_POLICY, 2);
    expect(specs.map((s) => [s.level, s.dueAt, s.target])).toEqual([
      [2, now, position('section')],
      [3, after(8 * DAY), position('deputy_director')],
    ]);
    expect(writtenReportTimersAfterReturn(ID, after(7 * DAY), after(9 * DAY), DEFAULT_POLICY, 3).map((s) => s.level)).toEqual([2]);
  });
});

describe('daily contact while away: 09:00 local reminder; by 18:00 office head; then section', () => {
  it('09:00 Asia/Shanghai is 01:00 UTC; 18:00 is 10:00 UTC; the section an hour later', () => {
    const s = dailyContactSchedule('2026-11-29', DEFAULT_POLICY, 'Asia/Shanghai');
    expect(s.reminderAt.toISOString()).toBe('2026-11-29T01:00:00.000Z');
    expect(s.checkAt.toISOString()).toBe('2026-11-29T10:00:00.000Z');
    expect(s.sectionAt.toISOString()).toBe('2026-11-29T11:00:00.000Z');
  });

  it('the checks page the office head, then the section, keyed by subject and local date', () => {
    const [head, section] = contactCheckTimers('subj-1', '2026-11-29', DEFAULT_POLICY, 'Asia/Shanghai');
    expect(head).toMatchObject({ kind: 'contact_check', level: 0, target: position('office_head', 'office'), cycle: '2026-11-29', subjectId: 'subj-1' });
    expect(section).toMatchObject({ level: 1, target: position('section') });
    expect(head!.dedupeKey).toBe('contact_check-subj-1-2026-11-29-0');
  });

  it('uses the configured zone, not the machine zone', () => {
    expect(dailyContactSchedule('2026-07-01', DEFAULT_POLICY, 'Europe/Berlin').reminderAt.toISOString()).toBe('2026-07-01T07:00:00.000Z');
    expect(dailyContactSchedule('2026-12-01', DEFAULT_POLICY, 'Europe/Berlin').reminderAt.toISOString()).toBe('2026-12-01T08:00:00.000Z');
  });

  it('the next 09:00 after a given instant rolls to tomorrow once today is past', () => {
    expect(nextLocalTime(new Date('2026-11-29T00:30:00Z'), '09:00', 'Asia/Shanghai').toISOString()).toBe('2026-11-29T01:00:00.000Z');
    expect(nextLocalTime(new Date('2026-11-29T01:00:01Z'), '09:00', 'Asia/Shanghai').toISOString()).toBe('2026-11-30T01:00:00.000Z');
    // 23:30 UTC on the 28th is already 07:30 on the 29th in Shanghai.
    expect(nextLocalTime(new Date('2026-11-28T23:30:00Z'), '09:00', 'Asia/Shanghai').toISOString()).toBe('2026-11-29T01:00:00.000Z');
    expect(atLocalTime('2026-11-29', '00:00', 'Asia/Shanghai').toISOString()).toBe('2026-11-28T16:00:00.000Z');
  });

  it('two failed contacts in a row offer an absconding incident', () => {
    expect(DEFAULT_POLICY.dailyContact.failuresBeforeAbsconding).toBe(2);
  });
});

describe('late report (迟报): more than 30 min after discovery', () => {
  const discovered = new Date('2026-11-29T01:00:00Z');
  it.each([
    [29 * MINUTE, false],
    [30 * MINUTE, false],
    [30 * MINUTE + 1000, true],
    [3 * HOUR, true],
  ])('reported %d ms after discovery: late = %s', (ms, late) => {
    expect(isLateReport(discovered, new Date(discovered.getTime() + ms), DEFAULT_POLICY)).toBe(late);
  });

  it('follows the policy threshold', () => {
    expect(isLateReport(discovered, new Date(discovered.getTime() + 11 * MINUTE), resolvePolicy({ lateReportSeconds: 600 }))).toBe(true);
  });
});

describe('policy snapshot', () => {
  it('overrides make a new policy and leave the defaults and an existing snapshot alone', () => {
    const defaults = structuredClone(DEFAULT_POLICY);
    // What an incident row holds: the policy at report time, as JSON.
    const snapshot = JSON.parse(JSON.stringify(resolvePolicy({}))) as EscalationPolicy;
    const frozen = structuredClone(snapshot);
    const edited = resolvePolicy({ ackSeconds: { critical: 60 }, dailyContact: { reminderAt: '08:30' } });

    expect(edited.ackSeconds).toEqual({ critical: 60, standard: 900 });
    expect(edited.dailyContact).toEqual({ ...DEFAULT_POLICY.dailyContact, reminderAt: '08:30' });
    expect(snapshot).toEqual(frozen);
    expect(DEFAULT_POLICY).toEqual(defaults);
    // The running incident's deadlines come from its snapshot, not from the edited policy.
    expect(find(onReport('critical', snapshot), 'ack', 1).dueAt).toEqual(at(5 * MINUTE));
    expect(find(onReport('critical', edited), 'ack', 1).dueAt).toEqual(at(60 * 1000));
  });

  it('overriding from a base does not change the base', () => {
    const base = resolvePolicy({ progressSeconds: { standard: 7200 } });
    const copy = structuredClone(base);
    resolvePolicy({ progressSeconds: { standard: 60 } }, base);
    expect(base).toEqual(copy);
  });

  it('refuses invalid overrides', () => {
    expect(() => resolvePolicy({ ackSeconds: { critical: -5 } })).toThrow();
    expect(() => resolvePolicy({ dailyContact: { reminderAt: '9am' } })).toThrow();
  });
});

describe('scalePolicy (the sandbox turns minutes into seconds)', () => {
  const scaled = scalePolicy(DEFAULT_POLICY, 1 / 60);

  it('divides every duration and keeps counts, times of day and the version', () => {
    expect(scaled.ackSeconds).toEqual({ critical: 5, standard: 15 });
    expect(scaled.progressSeconds).toEqual({ critical: 30, standard: 240 });
    expect(scaled.writtenReportDueSeconds).toBe(10_080);
    expect(scaled.writtenReportRemindBeforeSeconds).toEqual([4320, 1440]);
    expect(scaled.lateReportSeconds).toBe(30);
    expect(scaled.dailyContact).toEqual({ reminderAt: '09:00', checkAt: '18:00', sectionAfterSeconds: 60, failuresBeforeAbsconding: 2, deputyDirectorAfterDays: 3 });
    expect(scaled.digestAt).toBe('18:00');
    expect(scaled.version).toBe(1);
  });

  it('never scales a duration to zero', () => {
    const tiny = scalePolicy(DEFAULT_POLICY, 1 / 100_000);
    expect(tiny.ackSeconds.critical).toBe(1);
  });

  it('the deadlines shrink with it', () => {
    expect(find(onReport('critical', scaled), 'ack', 1).dueAt).toEqual(at(5000));
  });
});

describe('what is due next, to whom', () => {
  it('orders pending deadlines and marks the overdue ones', () => {
    const specs = onReport('critical');
    const next = nextDeadlines(specs, at(6 * MINUTE), 3);
    expect(next.map((t) => [t.kind, t.level, t.overdue])).toEqual([
      ['ack', 1, true],
      ['ack', 2, false],
      ['inform', 1, false],
    ]);
    expect(next[0]!.target).toEqual(position('deputy_director'));
  });
});
