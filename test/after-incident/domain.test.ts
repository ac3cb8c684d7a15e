/** The pure rules of issue 5, with injected times: no database. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  computeStats,
  durationStats,
  incidentFindings,
  missedContactFindings,
  monthRange,
  previousMonth,
  type IncidentTimeline,
} from '../../src/domain/accountability.js';
import { addMonths, evaluateDrill } from '../../src/domain/drill.js';
import { DEFAULT_POLICY, MINUTE, type Actor } from '../../src/domain/index.js';
import { riskAfterScreening, screeningDueDate, isScreeningDue, screeningIntervalDays } from '../../src/domain/prevention.js';
import {
  canSendBackRelease,
  MAX_SEND_BACK_COMMENT_CHARS,
  nextReleaseState,
  ReleaseError,
  type ReleaseAction,
  type ReleaseState,
} from '../../src/domain/public-release.js';
import {
  canEditAt,
  chineseNumeral,
  decideSignoff,
  missingSections,
  reportSections,
  WrittenReportError,
  type ReportShapeFacts,
  type WrittenReportStage,
} from '../../src/domain/written-report.js';

const OFFICE = 'office-a';
const actor = (positions: Actor['positions'], unitId = 'bureau'): Actor => ({ staffId: `s-${positions.join('-')}-${unitId}`, unitId, unitKind: unitId === OFFICE ? 'office' : 'bureau', positions });
const head = actor(['office_head'], OFFICE);
const officer = actor(['officer'], OFFICE);
const otherHead = actor(['office_head'], 'office-b');
const section = actor(['section'], 'section');
const deputy = actor(['deputy_director']);
const director = actor(['director']);
const upper = actor(['upper_liaison'], 'upper');
const reviewer = actor(['info_reviewer'], 'dept');

const shape: ReportShapeFacts = { type: 'disruption', scenario: null, injured: 0, dead: 0, counties: false };
const full = { course: 'c', handling: 'h', cause: 'x', lessons: 'y', measures: 'z' };

describe('written report: the sign-off chain', () => {
  const ctx = (stage: WrittenReportStage, body: Record<string, string> = full) => ({ stage, officeUnitId: OFFICE, shape, body });

  it('climbs one level per approval and moves the incident at submission and at the end', () => {
    expect(decideSignoff(ctx('office'), { kind: 'submit' }, head)).toEqual({ next: 'section', decision: 'submitted', incidentEvent: { kind: 'submit_report' } });
    expect(decideSignoff(ctx('section'), { kind: 'approve' }, section)).toEqual({ next: 'deputy_director', decision: 'approved', incidentEvent: null });
    expect(decideSignoff(ctx('deputy_director'), { kind: 'approve' }, deputy).next).toBe('director');
    // The director is the bureau's last approver by default: the upper-level agency receives the report, it does not hold it.
    expect(decideSignoff(ctx('director'), { kind: 'approve' }, director)).toEqual({ next: 'approved', decision: 'approved', incidentEvent: { kind: 'approve_report' } });
    // A report that reached the upper level's stage before that is still signed off there.
    expect(decideSignoff(ctx('upper_liaison'), { kind: 'approve' }, upper)).toEqual({ next: 'approved', decision: 'approved', incidentEvent: { kind: 'approve_report' } });
  });

  it('a return goes down exactly one level; back at the office the incident returns to closed', () => {
    expect(decideSignoff(ctx('director'), { kind: 'return', comment: '补充' }, director)).toEqual({ next: 'deputy_director', decision: 'returned', incidentEvent: null });
    expect(decideSignoff(ctx('upper_liaison'), { kind: 'return', comment: '补充' }, upper).next).toBe('director');
    expect(decideSignoff(ctx('section'), { kind: 'return', comment: '补充' }, section)).toEqual({ next: 'office', decision: 'returned', incidentEvent: { kind: 'return_report' } });
  });

  it('refuses the wrong level, a blank comment, a missing section and an approved report', () => {
    const reason = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return e instanceof WrittenReportError ? [e.reason, ...e.detail] : e;
      }
      return 'no error';
    };
    expect(reason(() => decideSignoff(ctx('office'), { kind: 'submit' }, officer))).toEqual(['not_permitted']);
    expect(reason(() => decideSignoff(ctx('office'), { kind: 'submit' }, otherHead))).toEqual(['not_permitted']);
    expect(reason(() => decideSignoff(ctx('section'), { kind: 'approve' }, deputy))).toEqual(['not_permitted']);
    expect(reason(() => decideSignoff(ctx('section'), { kind: 'submit' }, section))).toEqual(['wrong_stage']);
    expect(reason(() => decideSignoff(ctx('office'), { kind: 'approve' }, head))).toEqual(['wrong_stage']);
    expect(reason(() => decideSignoff(ctx('deputy_director'), { kind: 'return', comment: ' ' }, deputy))).toEqual(['missing_comment']);
    expect(reason(() => decideSignoff(ctx('office', { ...full, cause: '' }), { kind: 'submit' }, head))).toEqual(['missing_sections', 'cause']);
    expect(reason(() => decideSignoff(ctx('approved'), { kind: 'approve' }, upper))).toEqual(['already_approved']);
  });

  it('the sections follow the type: search for absconding, casualties, counties, screening for epidemic 四', () => {
    expect(reportSections(shape).map((s) => s.key)).toEqual(['course', 'handling', 'cause', 'lessons', 'measures']);
    expect(reportSections({ ...shape, type: 'absconding', counties: true }).map((s) => s.key)).toEqual(['course', 'handling', 'search', 'counties', 'cause', 'lessons', 'measures']);
    expect(reportSections({ ...shape, injured: 2 }).map((s) => s.key)).toContain('casualties');
    expect(reportSections({ ...shape, type: 'epidemic', scenario: 's4' }).map((s) => s.key)).toContain('screening');
    expect(reportSections({ ...shape, type: 'epidemic', scenario: 's2' }).map((s) => s.key)).not.toContain('screening');
    expect(missingSections({ ...shape, type: 'epidemic', scenario: 's4' }, full)).toEqual(['screening']);
  });

  it('the office edits at its stage, the section at its own; leaders never', () => {
    expect(canEditAt(officer, 'office', OFFICE)).toBe(true);
    expect(canEditAt(otherHead, 'office', OFFICE)).toBe(false);
    expect(canEditAt(section, 'office', OFFICE)).toBe(false);
    expect(canEditAt(section, 'section', OFFICE)).toBe(true);
    expect(canEditAt(director, 'director', OFFICE)).toBe(false);
  });

  it('numbers headings the Chinese way', () => {
    expect([1, 2, 9, 10, 11, 20, 23].map(chineseNumeral)).toEqual(['一', '二', '九', '十', '十一', '二十', '二十三']);
  });
});

describe('public release', () => {
  const draft = { state: 'draft' as ReleaseState, reviewedAt: null, approvedAt: null };
  const at = new Date('2026-11-29T02:00:00Z');

  it('goes draft → reviewed → approved → released with the right people', () => {
    expect(nextReleaseState(draft, 'review', reviewer)).toBe('reviewed');
    expect(nextReleaseState({ state: 'reviewed', reviewedAt: at, approvedAt: null }, 'approve', deputy)).toBe('approved');
    expect(nextReleaseState({ state: 'approved', reviewedAt: at, approvedAt: at }, 'release', section)).toBe('released');
  });

  it('never releases without both the review and the approval, whatever the order of attempts', () => {
    const actions: ReleaseAction[] = ['edit', 'review', 'approve', 'release'];
    const people = [reviewer, deputy, director, section, officer];
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom(...actions), fc.constantFrom(...people)), { maxLength: 12 }), (attempts) => {
        let s = { state: 'draft' as ReleaseState, reviewedAt: null as Date | null, approvedAt: null as Date | null };
        for (const [action, who] of attempts) {
          try {
            const next = nextReleaseState(s, action, who);
            if (action === 'edit') s = { state: next, reviewedAt: null, approvedAt: null };
            if (action === 'review') s = { ...s, state: next, reviewedAt: at };
            if (action === 'approve') s = { ...s, state: next, approvedAt: at };
            if (action === 'release') {
              expect(s.reviewedAt).not.toBeNull();
              expect(s.approvedAt).not.toBeNull();
              expect(who.positions.some((p) => p === 'section' || p === 'director' || p === 'deputy_director')).toBe(true);
              s = { ...s, state: next };
            }
          } catch (e) {
            expect(e).toBeInstanceOf(ReleaseError);
          }
        }
      }),
    );
  });
});

describe('public release: sending back with a comment (退回修改)', () => {
  const at = new Date('2026-11-29T02:00:00Z');
  const facts = {
    draft: { state: 'draft', reviewedAt: null, approvedAt: null },
    reviewed: { state: 'reviewed', reviewedAt: at, approvedAt: null },
    approved: { state: 'approved', reviewedAt: at, approvedAt: at },
    released: { state: 'released', reviewedAt: at, approvedAt: at },
  } satisfies Record<ReleaseState, { state: ReleaseState; reviewedAt: Date | null; approvedAt: Date | null }>;
  const refusal = (f: (typeof facts)[ReleaseState], who: Actor, comment?: string) => {
    try {
      nextReleaseState(f, 'send_back', who, comment);
    } catch (e) {
      expect(e).toBeInstanceOf(ReleaseError);
      expect(e).toMatchObject({ action: 'send_back', state: f.state });
      return (e as ReleaseError).reason;
    }
    return null;
  };

  it('the reviewer sends back a draft, a leader a reviewed one; either goes back to draft', () => {
    expect(nextReleaseState(facts.draft, 'send_back', reviewer, '时间表述不准确')).toBe('draft');
    expect(nextReleaseState(facts.reviewed, 'send_back', deputy, '请删去对象住址')).toBe('draft');
    expect(nextReleaseState(facts.reviewed, 'send_back', director, '口径需与宣传部一致')).toBe('draft');
    expect(canSendBackRelease(reviewer, 'draft')).toBe(true);
    expect(canSendBackRelease(director, 'reviewed')).toBe(true);
  });

  it('is not the reviewer’s once reviewed, nor a leader’s before the review', () => {
    expect(refusal(facts.reviewed, reviewer, '意见')).toBe('wrong_state');
    expect(refusal(facts.draft, deputy, '意见')).toBe('wrong_state');
    expect(refusal(facts.draft, director, '意见')).toBe('wrong_state');
    expect(canSendBackRelease(reviewer, 'reviewed')).toBe(false);
    expect(canSendBackRelease(deputy, 'draft')).toBe(false);
  });

  it('is refused to anyone who neither reviews nor approves, in any open state', () => {
    for (const who of [section, officer, head, upper]) {
      expect(refusal(facts.draft, who, '意见')).toBe('not_permitted');
      expect(refusal(facts.reviewed, who, '意见')).toBe('not_permitted');
      expect(canSendBackRelease(who, 'draft')).toBe(false);
    }
  });

  it('nobody sends back an approved or a released one', () => {
    for (const who of [reviewer, deputy, director, section]) {
      expect(refusal(facts.approved, who, '意见')).toBe('already_approved');
      expect(refusal(facts.released, who, '意见')).toBe('already_released');
      expect(canSendBackRelease(who, 'approved')).toBe(false);
      expect(canSendBackRelease(who, 'released')).toBe(false);
    }
  });

  it('needs a reason: not empty after trimming, and not longer than the limit', () => {
    expect(refusal(facts.draft, reviewer)).toBe('empty_comment');
    expect(refusal(facts.draft, reviewer, '')).toBe('empty_comment');
    expect(refusal(facts.reviewed, director, ' \n\t ')).toBe('empty_comment');
    expect(refusal(facts.draft, reviewer, '改'.repeat(MAX_SEND_BACK_COMMENT_CHARS + 1))).toBe('comment_too_long');
    // The limit is on the trimmed reason: surrounding spaces do not count.
    expect(refusal(facts.draft, reviewer, `  ${'改'.repeat(MAX_SEND_BACK_COMMENT_CHARS)}  `)).toBeNull();
  });

  it('a draft sent back cannot be passed as it stands: the drafter edits it first', () => {
    const returned = { ...facts.draft, returnedAt: at };
    expect(() => nextReleaseState(returned, 'review', reviewer)).toThrow(expect.objectContaining({ reason: 'awaiting_edit' }) as Error);
    // Editing is what clears the mark (the service does), and then the review goes ahead.
    expect(nextReleaseState(returned, 'edit', section)).toBe('draft');
    expect(nextReleaseState({ ...returned, returnedAt: null }, 'review', reviewer)).toBe('reviewed');
  });

  it('checks who and when before the reason: the wrong person hears that, not that the reason is missing', () => {
    expect(refusal(facts.draft, section, '')).toBe('not_permitted');
    expect(refusal(facts.approved, director, '')).toBe('already_approved');
  });
});

describe('accountability', () => {
  const T0 = new Date('2026-11-20T02:00:00Z');
  const m = (n: number) => new Date(T0.getTime() + n * MINUTE);
  const timeline = (over: Partial<IncidentTimeline['incident']> = {}, extra: Partial<IncidentTimeline> = {}): IncidentTimeline => ({
    incident: {
      id: 'i1',
      officeUnitId: OFFICE,
      reporterStaffId: 'rep',
      criticality: 'standard',
      discoveredAt: m(-10),
      reportedAt: T0,
      acknowledgedAt: m(10),
      acknowledgedByStaffId: 'sec',
      closedAt: m(120),
      closedByStaffId: 'head',
      closure: 'resolved',
      isDrill: false,
      ...over,
    },
    policy: DEFAULT_POLICY, // standard: ack 15 min, progress 4 h, upper report 4 h, late report 30 min
    audit: [{ id: 1, at: T0, action: 'incident.reported', entity: 'incident', entityId: 'i1', actorStaffId: 'rep', data: {} }],
    steps: [{ id: 'st1', key: 'report_upward', actor: 'section', required: true, state: 'done', doneAt: m(60), doneByStaffId: 'sec' }],
    updates: [],
    ...extra,
  });
  const ctx = { sectionUnitId: 'section', now: m(1000) };

  it('an incident on time has no entries; a drill has none even when late', () => {
    expect(incidentFindings(timeline(), ctx)).toEqual([]);
    expect(incidentFindings(timeline({ isDrill: true, discoveredAt: m(-600) }), ctx)).toEqual([]);
    expect(incidentFindings(timeline({ isDrill: true, discoveredAt: m(-600) }), ctx, { includeDrills: true }).map((e) => e.rule)).toEqual(['late_report']);
  });

  it('judges an open incident up to now: no acknowledgement yet is late once the deadline passed', () => {
    const open = timeline({ acknowledgedAt: null, acknowledgedByStaffId: null, closedAt: null, closure: null });
    expect(incidentFindings(open, { ...ctx, now: m(14) })).toEqual([]);
    const late = incidentFindings(open, { ...ctx, now: m(20) });
    expect(late.map((e) => [e.rule, e.actualAt, e.lateBySeconds])).toEqual([['late_ack', null, 5 * 60]]);
  });

  it('counts each missed progress deadline, including one missed before closing', () => {
    const t = timeline({ closedAt: m(600) }, { updates: [{ id: 'u1', at: m(200), staffId: 'rep', kind: 'progress' }] });
    const late = incidentFindings(t, ctx).filter((e) => e.rule === 'late_progress');
    // 0 → 200: fine (4 h); 200 → close at 600: 400 min > 240.
    expect(late.map((e) => [e.deadlineAt, e.actualAt, e.lateBySeconds, e.evidence.updateIds])).toEqual([[m(440), null, 160 * 60, ['u1']]]);
  });

  it('a required step left pending or done after closing is missed; not applicable and optional steps are not; a false alarm owes none', () => {
    const steps = [
      { id: 'a', key: 'report_upward', actor: 'section', required: true, state: 'done', doneAt: m(60), doneByStaffId: 's' },
      { id: 'b', key: 'notify_procuratorate', actor: 'section', required: true, state: 'pending', doneAt: null, doneByStaffId: null },
      { id: 'c', key: 'call_110', actor: 'office', required: true, state: 'done', doneAt: m(130), doneByStaffId: 'o' },
      { id: 'd', key: 'call_120', actor: 'either', required: true, state: 'not_applicable', doneAt: null, doneByStaffId: null },
      { id: 'e', key: 'punish', actor: 'section', required: false, state: 'pending', doneAt: null, doneByStaffId: null },
    ];
    const missed = incidentFindings(timeline({}, { steps }), ctx).filter((e) => e.rule === 'missed_step');
    expect(missed.map((e) => [e.stepKey, e.unitId, e.evidence.stepIds])).toEqual([
      ['notify_procuratorate', 'section', ['b']],
      ['call_110', OFFICE, ['c']],
    ]);
    expect(incidentFindings(timeline({ closure: 'false_alarm' }, { steps }), ctx).filter((e) => e.rule === 'missed_step')).toEqual([]);
  });

  it('missed daily contacts: each day whose 18:00 check passed without a log, within the range and the absence', () => {
    const absence = { id: 'ab', subjectId: 'sub', officeUnitId: OFFICE, responsibleStaffId: 'off', startsOn: '2026-10-30', endsOn: '2026-11-04', cancelledAt: null };
    const logs = [{ subjectId: 'sub', localDate: '2026-11-02' }];
    const now = new Date('2026-11-03T09:00:00Z'); // 17:00 in Shanghai: the 3rd's check has not come
    const found = missedContactFindings([absence], logs, { from: '2026-11-01', to: '2026-11-30' }, DEFAULT_POLICY, 'Asia/Shanghai', now);
    expect(found.map((e) => e.evidence.dates[0])).toEqual(['2026-11-01']);
    const cancelled = missedContactFindings([{ ...absence, cancelledAt: new Date('2026-11-01T03:00:00Z') }], [], { from: '2026-11-01', to: '2026-11-30' }, DEFAULT_POLICY, 'Asia/Shanghai', now);
    expect(cancelled).toEqual([]);
  });

  it('statistics: median and worst; drills and their entries never count', () => {
    expect(durationStats([])).toEqual({ count: 0, medianSeconds: null, worstSeconds: null });
    expect(durationStats([300, 60, 120])).toEqual({ count: 3, medianSeconds: 120, worstSeconds: 300 });
    expect(durationStats([60, 120])).toEqual({ count: 2, medianSeconds: 90, worstSeconds: 120 });
    const base = { officeUnitId: OFFICE, reporterStaffId: 'rep', acknowledgedByStaffId: 'sec', closedByStaffId: 'head', discoveredAt: m(-5), reportedAt: T0, acknowledgedAt: m(3), closedAt: m(60) };
    const stats = computeStats(
      [
        { ...base, id: 'i1', isDrill: false },
        { ...base, id: 'd1', isDrill: true, discoveredAt: m(-500) },
      ],
      [
        { ...incidentFindings(timeline({ discoveredAt: m(-100) }), ctx)[0]!, incidentId: 'i1' },
        { ...incidentFindings(timeline({ discoveredAt: m(-100) }), ctx)[0]!, incidentId: 'd1' },
      ],
    );
    expect(stats.offices).toEqual([
      { scope: 'office', id: OFFICE, incidents: 1, toReport: { count: 1, medianSeconds: 300, worstSeconds: 300 }, toAcknowledge: { count: 1, medianSeconds: 180, worstSeconds: 180 }, toClose: { count: 1, medianSeconds: 3600, worstSeconds: 3600 }, register: { late: 1, false: 0, concealed: 0, unfinished: 0, total: 1 } },
    ]);
    expect(stats.people.find((p) => p.id === 'sec')!.toAcknowledge.count).toBe(1);
  });

  it('months are local: November in Shanghai starts at 16:00 UTC on 31 October', () => {
    expect(monthRange('2026-11', 'Asia/Shanghai')).toEqual({
      from: new Date('2026-10-31T16:00:00Z'),
      to: new Date('2026-11-30T16:00:00Z'),
      firstDay: '2026-11-01',
      lastDay: '2026-11-30',
    });
    expect(monthRange('2026-12', 'Asia/Shanghai').lastDay).toBe('2026-12-31');
    expect(previousMonth('2026-01')).toBe('2025-12');
    expect(() => monthRange('2026-13', 'Asia/Shanghai')).toThrow(RangeError);
  });
});

describe('drills', () => {
  // The yearly reminder follows the calendar year: test/domain/drill-calendar.test.ts.
  it('a month later is the same day, clamped to the month end', () => {
    expect(addMonths(new Date('2026-01-31T02:00:00Z'), 1).toISOString()).toBe('2026-02-28T02:00:00.000Z');
  });

  it('evaluates each person against the deadlines and lists the steps left open at the end', () => {
    const T0 = new Date('2026-11-20T02:00:00Z');
    const m = (n: number) => new Date(T0.getTime() + n * MINUTE);
    const ev = evaluateDrill(
      {
        incident: { id: 'd', officeUnitId: OFFICE, reporterStaffId: 'sec', criticality: 'critical', discoveredAt: T0, reportedAt: T0, acknowledgedAt: m(4), acknowledgedByStaffId: 'sec2', closedAt: null, closedByStaffId: null, closure: null, isDrill: true },
        policy: DEFAULT_POLICY,
        audit: [],
        steps: [
          { id: 's1', key: 'call_110', actor: 'office', required: true, state: 'done', doneAt: m(150), doneByStaffId: 'off' },
          { id: 's2', key: 'notify_procuratorate', actor: 'section', required: true, state: 'pending', doneAt: null, doneByStaffId: null },
        ],
        updates: [{ id: 'u', at: m(45), staffId: 'off', kind: 'progress' }],
      },
      { startedAt: T0, endedAt: m(160), sectionUnitId: 'section' },
    );
    const off = ev.people.find((p) => p.staffId === 'off')!;
    expect(off.responses.map((r) => [r.kind, r.seconds / 60, r.deadlineSeconds! / 60, r.onTime])).toEqual([
      ['progress', 45, 30, false],
      ['step', 150, 120, false],
    ]);
    expect(ev.people.find((p) => p.staffId === 'sec2')!.responses[0]).toMatchObject({ kind: 'acknowledge', onTime: true });
    expect(ev.missedSteps).toEqual([{ stepId: 's2', key: 'notify_procuratorate', actor: 'section' }]);
    expect(ev.summary).toEqual({ responses: 4, onTime: 2, late: 2, missedSteps: 1 });
  });
});

describe('prevention', () => {
  const tz = 'Asia/Shanghai';
  it('the interval follows the risk level; never screened is due at once', () => {
    expect([screeningIntervalDays('high'), screeningIntervalDays('normal'), screeningIntervalDays('low')]).toEqual([7, 30, 90]);
    const created = new Date('2026-11-01T02:00:00Z');
    expect(screeningDueDate({ riskLevel: 'normal', lastScreenedAt: null, createdAt: created }, tz)).toBe('2026-11-01');
    // Screened at 23:30 local on the 1st: the interval counts from that local day.
    const due = screeningDueDate({ riskLevel: 'high', lastScreenedAt: new Date('2026-11-01T15:30:00Z'), createdAt: created }, tz);
    expect(due).toBe('2026-11-08');
    expect(isScreeningDue(due, new Date('2026-11-07T15:59:00Z'), tz)).toBe(false);
    expect(isScreeningDue(due, new Date('2026-11-07T16:00:00Z'), tz)).toBe(true);
  });

  it('unstable raises the risk one level; stable and watch leave it', () => {
    expect(riskAfterScreening('low', 'unstable')).toBe('normal');
    expect(riskAfterScreening('normal', 'unstable')).toBe('high');
    expect(riskAfterScreening('high', 'unstable')).toBe('high');
    expect(riskAfterScreening('high', 'stable')).toBe('high');
    expect(riskAfterScreening('normal', 'watch')).toBe('normal');
  });
});
