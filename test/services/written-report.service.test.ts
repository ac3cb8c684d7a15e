/**
 * The written report's sign-off chain on in-memory repositories: who signs at each level, the order of
 * the levels, a return one level down with its comment, one person one level per climb, the acting
 * director, and the final 审定 — with the sign-off row, the audit entry, the outbox rows to the next
 * signer and the deadlines each step writes, and that a refusal writes nothing. The same use cases run
 * on PostgreSQL in test/after-incident (written-report, acting-holder, bot-signoff.e2e).
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY, timerKindsClosedBy, writtenReportTimersAfterReturn } from '../../src/domain/index.js';
import {
  stageAfterApproval,
  signoffWording,
  WrittenReportError,
  type SignoffDecision,
  type WrittenReportAction,
  type WrittenReportRefusal,
  type WrittenReportStage,
} from '../../src/domain/written-report.js';
import { t } from '../../src/i18n/index.js';
import { ServiceRefusal } from '../../src/services/errors.js';
import { editWrittenReport, exportWrittenReportDocx, loadWrittenReport, reportsAwaiting, signOffWrittenReport } from '../../src/services/written-report.service.js';
import { docxText } from '../after-incident/helpers.js';
import { InMemoryWrittenReports, TestClock, type Person, type Presence } from './in-memory-written-reports.js';

/** 10:00 in Shanghai. */
const T0 = new Date('2026-11-29T02:00:00Z');
const MINUTE = 60_000;

type Stage = Exclude<WrittenReportStage, 'approved'>;

/** Who passes the report on at each level when nothing else is said. */
const SIGNER: Record<Stage, Person> = { office: 'headA', section: 'section', deputy_director: 'deputy', director: 'director', upper_liaison: 'upper' };

const SUBMIT: WrittenReportAction = { kind: 'submit' };
const APPROVE: WrittenReportAction = { kind: 'approve' };
const passOn = (stage: Stage): WrittenReportAction => (stage === 'office' ? SUBMIT : APPROVE);
const returnWith = (comment: string): WrittenReportAction => ({ kind: 'return', comment });

async function setup() {
  const clock = new TestClock(T0);
  const store = new InMemoryWrittenReports(clock);
  const deps = store.deps();
  const { incident, report } = await store.closedIncident();
  const stage = () => store.report(report.id).stage as WrittenReportStage;
  /** One decision, a minute after the last: the record is read in the order the decisions were made. */
  const sign = (who: Person, action: WrittenReportAction, expectedVersion?: number) => {
    clock.advance(MINUTE);
    return signOffWrittenReport(deps, store.actor(who), report.id, action, expectedVersion);
  };
  /**
   * Passes the report up with each level's own signer until it is at `target`. The upper level's stage is
   * no longer climbed to (the director approves finally): a report is put there as one that reached it
   * before the last approver was the bureau's own.
   */
  const climbTo = async (target: WrittenReportStage, signers: Partial<Record<Stage, Person>> = {}) => {
    const upTo = target === 'upper_liaison' ? 'director' : target;
    while (stage() !== upTo) {
      const at = stage() as Stage;
      await sign(signers[at] ?? SIGNER[at], passOn(at));
    }
    if (target === 'upper_liaison') store.report(report.id).stage = 'upper_liaison';
    store.committed.length = 0;
  };
  return { clock, store, deps, incident, report, stage, sign, climbTo };
}

async function refusal(p: Promise<unknown>): Promise<WrittenReportError | ServiceRefusal> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  if (!(e instanceof WrittenReportError) && !(e instanceof ServiceRefusal)) throw new Error(`expected a refusal, got ${String(e)}`);
  return e;
}

const reasonOf = (e: WrittenReportError | ServiceRefusal) => (e instanceof WrittenReportError ? e.reason : e.code);
const recipients = (rows: ReadonlyArray<{ recipientStaffId: string }>) => rows.map((r) => r.recipientStaffId).sort();

describe('who may sign at each level', () => {
  const rows: Array<[Stage, Person, 'signs' | WrittenReportRefusal | 'not_found']> = [
    ['office', 'headA', 'signs'],
    // An officer edits the draft but does not sign it.
    ['office', 'officerA1', 'not_permitted'],
    ['office', 'section', 'not_permitted'],
    ['office', 'director', 'not_permitted'],
    // Another office does not see the report at all.
    ['office', 'headB', 'not_found'],
    ['section', 'section', 'signs'],
    ['section', 'section2', 'signs'],
    ['section', 'headA', 'not_permitted'],
    ['section', 'deputy', 'not_permitted'],
    ['section', 'upper', 'not_permitted'],
    ['deputy_director', 'deputy', 'signs'],
    ['deputy_director', 'deputy2', 'signs'],
    ['deputy_director', 'section', 'not_permitted'],
    ['deputy_director', 'director', 'not_permitted'],
    ['director', 'director', 'signs'],
    // The director's acting holder, with the director there to act.
    ['director', 'deputy2', 'not_permitted'],
    ['director', 'deputy', 'not_permitted'],
    ['director', 'upper', 'not_permitted'],
    ['upper_liaison', 'upper', 'signs'],
    // A report left at the upper level: the bureau's last approver may finish it, so no one outside holds it up.
    ['upper_liaison', 'director', 'signs'],
    ['upper_liaison', 'section', 'not_permitted'],
  ];

  it.each(rows)('at %s, %s: %s', async (at, who, expected) => {
    const { store, stage, sign, climbTo } = await setup();
    await climbTo(at);
    if (expected === 'signs') {
      const { signoff, view } = await sign(who, passOn(at));
      expect(signoff).toMatchObject({ stage: at, staffId: who, decision: at === 'office' ? 'submitted' : 'approved' });
      expect(view.stage).toBe(at === 'office' ? 'section' : stageAfterApproval(at));
      expect(store.committed).toHaveLength(1);
    } else {
      const before = structuredClone(store.state);
      expect(reasonOf(await refusal(sign(who, passOn(at))))).toBe(expected);
      expect(stage()).toBe(at);
      expect(store.state).toEqual(before);
      expect(store.committed).toEqual([]);
    }
  });

  it('lists a report for whoever signs or edits at its level, and for nobody else', async () => {
    const { store, report, climbTo } = await setup();
    const waiting = async (who: Person) => (await reportsAwaiting(store.db, store.actor(who), 10, store.repositories)).map((r) => r.report.id);
    // At the office: its head signs, its officer edits.
    expect(await waiting('headA')).toEqual([report.id]);
    expect(await waiting('officerA1')).toEqual([report.id]);
    expect(await waiting('headB')).toEqual([]);
    expect(await waiting('section')).toEqual([]);
    await climbTo('director');
    expect(await waiting('director')).toEqual([report.id]);
    expect(await waiting('deputy')).toEqual([]);
    expect(await waiting('headA')).toEqual([]);
  });
});

describe('the order of the levels', () => {
  it('climbs office → section → deputy director → director (the last approver), each step writing its sign-off, audit entry, notices to the next signer and nothing else', async () => {
    const { store, incident, report, stage, sign } = await setup();
    const deadlines = store.state.timers.filter((x) => x.kind === 'written_report');
    expect(deadlines.length).toBeGreaterThan(0);
    expect(store.state.audit.map((a) => a.action)).toEqual(['written_report.opened']);

    const steps: Array<[Person, Stage, WrittenReportStage, SignoffDecision, string, string, Person[]]> = [
      // who, at, next, decision, incident status after, notice kind, to whom
      ['headA', 'office', 'section', 'submitted', 'report_submitted', 'report_review_requested', ['section', 'section2']],
      ['section', 'section', 'deputy_director', 'approved', 'report_submitted', 'report_review_requested', ['deputy', 'deputy2']],
      ['deputy', 'deputy_director', 'director', 'approved', 'report_submitted', 'report_review_requested', ['director']],
      // Approved by the director: the office that wrote it and the section hear of it.
      ['director', 'director', 'approved', 'approved', 'report_approved', 'report_approved', ['headA', 'section', 'section2']],
    ];
    for (const [who, at, next, decision, status, kind, to] of steps) {
      expect(stage()).toBe(at);
      const outboxBefore = store.state.outbox.length;
      const auditBefore = store.state.audit.length;
      store.locked.length = 0;
      store.committed.length = 0;

      const { signoff, outcome, view } = await sign(who, passOn(at));

      expect(outcome).toMatchObject({ next, decision });
      expect(view.stage).toBe(next);
      expect(signoff).toMatchObject({ reportId: report.id, stage: at, decision, staffId: who, version: 1, comment: null, at: store.clock.now() });
      expect(store.incident(incident.id).status).toBe(status);
      // The report, then its incident: concurrent decisions on one report wait for each other.
      expect(store.locked).toEqual([`report:${report.id}`, `incident:${incident.id}`]);

      expect(store.state.audit.slice(auditBefore)).toEqual([
        {
          at: store.clock.now(),
          action: `written_report.${decision}`,
          entity: 'written_report',
          entityId: report.id,
          incidentId: incident.id,
          actorStaffId: who,
          data: { signoffId: signoff.id, fromStage: at, toStage: next, version: 1, incidentStatus: status },
        },
      ]);
      const written = store.state.outbox.slice(outboxBefore);
      expect(recipients(written)).toEqual(to);
      for (const row of written) {
        expect(row).toMatchObject({ kind, incidentId: incident.id, isDrill: false, status: 'pending' });
        expect(row.params).toEqual({ reportId: report.id, signoffId: signoff.id, stage: next, fromStage: at, version: 1, byStaffId: who });
      }
      const cancelled = at === 'office' ? store.state.timers.filter((x) => x.kind === 'written_report') : [];
      expect(store.committed).toEqual([{ timersCreated: [], timersCancelled: cancelled, outboxCreated: written }]);
    }

    // Submitting met the deadline: every reminder of it was closed then, and nothing since reopened one.
    expect(timerKindsClosedBy('report_submitted')).toEqual(['written_report']);
    expect(store.state.timers.filter((x) => x.kind === 'written_report').map((x) => [x.dedupeKey, x.state])).toEqual(deadlines.map((x) => [x.dedupeKey, 'cancelled']));
    const view = (await loadWrittenReport(store.db, report.id, store.repositories))!;
    expect(view.signoffs.map((s) => [s.stage, s.decision, s.staffName])).toEqual([
      ['office', 'submitted', '所长甲'],
      ['section', 'approved', '科员丙'],
      ['deputy_director', 'approved', '副局长乙'],
      ['director', 'approved', '局长甲'],
    ]);
  });

  it('refuses to skip a level, to sign a draft with a required section empty, and a card older than the draft, writing nothing', async () => {
    const { store, deps, report, sign, climbTo } = await setup();
    const before = structuredClone(store.state);
    // Only the office submits; nobody approves before it has.
    expect(reasonOf(await refusal(sign('section', APPROVE)))).toBe('not_permitted');
    expect(reasonOf(await refusal(sign('headA', APPROVE)))).toBe('wrong_stage');
    expect(reasonOf(await refusal(sign('headA', SUBMIT, 7)))).toBe('stale');
    expect(store.state).toEqual(before);

    await editWrittenReport(deps, store.actor('officerA1'), report.id, { lessons: '  ' });
    const e = await refusal(sign('headA', SUBMIT));
    expect(e).toMatchObject({ reason: 'missing_sections', detail: ['lessons'] });
    await editWrittenReport(deps, store.actor('headA'), report.id, { lessons: '活动前评估不足' });
    await climbTo('section');
    // The section rewrites too; what it passes up must still be complete.
    await editWrittenReport(deps, store.actor('section'), report.id, { cause: '' });
    expect(await refusal(sign('section', APPROVE))).toMatchObject({ reason: 'missing_sections', detail: ['cause'] });
    expect(store.report(report.id)).toMatchObject({ stage: 'section', currentVersion: 4 });
    // Each sign-off names the version it was given.
    await editWrittenReport(deps, store.actor('section'), report.id, { cause: '对象对活动安排不满' });
    expect((await sign('section', APPROVE, 5)).signoff.version).toBe(5);
  });
});

describe('a return', () => {
  const rows: Array<[Stage, Person, Stage, string, Person[]]> = [
    // from, by, to, incident status after, told
    ['section', 'section2', 'office', 'closed', ['headA']],
    ['deputy_director', 'deputy', 'section', 'report_submitted', ['section', 'section2']],
    ['director', 'director', 'deputy_director', 'report_submitted', ['deputy', 'deputy2']],
    ['upper_liaison', 'upper', 'director', 'report_submitted', ['director']],
  ];

  it.each(rows)('from %s by %s goes one level down, to %s, with its comment', async (from, by, to, status, told) => {
    const { store, incident, report, sign, climbTo } = await setup();
    await climbTo(from);
    const outboxBefore = store.state.outbox.length;
    const timersBefore = store.state.timers.length;

    const { signoff, view } = await sign(by, returnWith('  原因分析不够具体，请补充  '));

    expect(view.stage).toBe(to);
    expect(signoff).toMatchObject({ stage: from, decision: 'returned', comment: '原因分析不够具体，请补充', staffId: by });
    expect(view.signoffs.at(-1)).toMatchObject({ id: signoff.id, comment: '原因分析不够具体，请补充' });
    expect(store.incident(incident.id).status).toBe(status);
    const written = store.state.outbox.slice(outboxBefore);
    expect(recipients(written)).toEqual(told);
    // Ids only: the notice reads the comment from the sign-off row when it is sent, and the trail names it by id.
    for (const row of written) expect(row).toMatchObject({ kind: 'report_returned', params: { signoffId: signoff.id, stage: to, fromStage: from } });
    expect(written.some((row) => JSON.stringify(row.params).includes('原因分析'))).toBe(false);
    expect(store.state.audit.at(-1)).toEqual(expect.objectContaining({ action: 'written_report.returned', actorStaffId: by, data: { signoffId: signoff.id, fromStage: from, toStage: to, version: 1, incidentStatus: status } }));
    expect(JSON.stringify(store.state.audit.at(-1))).not.toContain('原因分析');

    // Back at the office the report is owed again: its reminders resume, counted from the original due date.
    const created = store.state.timers.slice(timersBefore);
    const expected = to === 'office' ? writtenReportTimersAfterReturn(incident.id, report.dueAt, store.clock.now(), DEFAULT_POLICY, 1) : [];
    expect(created.map((x) => [x.dedupeKey, x.dueAt])).toEqual(expected.map((x) => [x.dedupeKey, x.dueAt]));
    expect(store.committed).toEqual([{ timersCreated: created, timersCancelled: [], outboxCreated: written }]);
  });

  it('needs a comment, is not the office’s to make, and writes nothing when refused', async () => {
    const { store, sign, climbTo } = await setup();
    expect(reasonOf(await refusal(sign('headA', returnWith('请补充'))))).toBe('wrong_stage');
    await climbTo('director');
    const before = structuredClone(store.state);
    expect(reasonOf(await refusal(sign('director', returnWith('   '))))).toBe('missing_comment');
    expect(await refusal(sign('director', returnWith('长'.repeat(4001))))).toMatchObject({ code: 'invalid_input', detail: 'comment' });
    expect(reasonOf(await refusal(sign('deputy', returnWith('请补充'))))).toBe('not_permitted');
    expect(store.state).toEqual(before);
    expect(store.committed).toEqual([]);
  });

  it('to the office after the due date makes the overdue escalation due at once, and each round has deadlines of its own', async () => {
    const { clock, store, incident, report, sign, climbTo } = await setup();
    await climbTo('section');
    await sign('section', returnWith('请补充处置细节'));
    const first = store.state.timers.filter((x) => x.cycle === 'r1');
    expect(first.length).toBeGreaterThan(0);
    await climbTo('section');
    // Resubmitting closes the round's deadlines again.
    expect(store.state.timers.filter((x) => x.cycle === 'r1').every((x) => x.state === 'cancelled')).toBe(true);

    clock.advance(report.dueAt.getTime() - clock.now().getTime() + 60 * MINUTE);
    await sign('section2', returnWith('仍需补充'));
    const second = store.state.timers.filter((x) => x.cycle === 'r2');
    expect(second.map((x) => x.dedupeKey)).toEqual(writtenReportTimersAfterReturn(incident.id, report.dueAt, clock.now(), DEFAULT_POLICY, 2).map((x) => x.dedupeKey));
    expect(second.find((x) => x.level === 2)).toMatchObject({ state: 'pending', dueAt: clock.now() });
  });
});

describe('one person signs one level of a climb', () => {
  it('refuses a second signature by the same person at another level (already_signed), and lets the level’s own holder sign', async () => {
    const { store, report, sign, climbTo } = await setup();
    await climbTo('director', { deputy_director: 'deputy2' });
    // The director away: deputy2 acts for him, but has signed this climb already, as deputy director.
    store.setPresence('director', { away: true });
    expect(store.actor('deputy2')).toMatchObject({ positions: ['deputy_director', 'director'], acting: ['director'] });
    const before = structuredClone(store.state);
    const e = await refusal(sign('deputy2', APPROVE));
    expect(e).toBeInstanceOf(WrittenReportError);
    expect(e).toMatchObject({ reason: 'already_signed', stage: 'director', detail: ['deputy_director'] });
    expect(store.state).toEqual(before);

    store.setPresence('director', { away: false });
    await sign('director', APPROVE);
    const view = (await loadWrittenReport(store.db, report.id, store.repositories))!;
    expect(view.signoffs.filter((s) => s.decision === 'approved').map((s) => [s.stage, s.staffId])).toEqual([
      ['section', 'section'],
      ['deputy_director', 'deputy2'],
      ['director', 'director'],
    ]);
  });

  it('never asks the signer to sign the next level: the director away, his acting holder passing the deputy level up is not told', async () => {
    const { store, sign, climbTo } = await setup();
    await climbTo('deputy_director');
    store.setPresence('director', { away: true });
    const outboxBefore = store.state.outbox.length;
    await sign('deputy2', APPROVE);
    // He would be the director's level now, and may not sign it: the report waits for the director.
    expect(store.state.outbox.slice(outboxBefore)).toEqual([]);
    expect(reasonOf(await refusal(sign('deputy2', APPROVE)))).toBe('already_signed');
  });

  it('lets the same person sign the same level again after it came back to it', async () => {
    const { sign, climbTo } = await setup();
    await climbTo('director', { deputy_director: 'deputy2' });
    await sign('director', returnWith('请分管副局长再核'));
    expect((await sign('deputy2', APPROVE)).view.stage).toBe('director');
  });

  it('counts from the office’s last submission: a signature in an earlier climb does not bar another level', async () => {
    const { store, stage, sign, climbTo } = await setup();
    await climbTo('director', { deputy_director: 'deputy2' });
    for (const [who, to] of [['director', 'deputy_director'], ['deputy2', 'section'], ['section', 'office']] as const) {
      await sign(who, returnWith('请补充'));
      expect(stage()).toBe(to);
    }
    await climbTo('director');
    store.setPresence('director', { away: true });
    const { signoff } = await sign('deputy2', APPROVE);
    expect(signoff).toMatchObject({ stage: 'director', staffId: 'deputy2', decision: 'approved' });
  });
});

describe('the director’s acting holder', () => {
  // How the director stands, whether deputy2 (the acting holder) may sign at the director's level, and
  // to whom the deputy director's approval sends the review request.
  const rows: Array<[string, Partial<Presence>, boolean, Person]> = [
    ['there', {}, false, 'director'],
    ['away', { away: true }, true, 'deputy2'],
    ['deactivated', { active: false }, true, 'deputy2'],
    ['unreachable (blocked the bot)', { reachable: false }, true, 'deputy2'],
    // Messages still go to him; the send machine finds he has no chat and reroutes.
    ['never bound the bot', { bound: false }, true, 'director'],
  ];

  it.each(rows)('director %s: acting holder signs %s; the review request goes to %s', async (_how, presence, signs, toldWho) => {
    const { store, incident, sign, climbTo } = await setup();
    await climbTo('deputy_director');
    store.setPresence('director', presence);
    const outboxBefore = store.state.outbox.length;
    await sign('deputy', APPROVE);
    expect(store.state.outbox.slice(outboxBefore).map((o) => [o.kind, o.recipientStaffId])).toEqual([['report_review_requested', toldWho]]);

    if (signs) {
      expect(store.actor('deputy2').acting).toEqual(['director']);
      const { signoff, view } = await sign('deputy2', APPROVE);
      expect(signoff).toMatchObject({ stage: 'director', staffId: 'deputy2', decision: 'approved' });
      expect(view.stage).toBe('approved');
      expect(store.state.audit.at(-1)).toMatchObject({ action: 'written_report.approved', actorStaffId: 'deputy2', data: { fromStage: 'director', toStage: 'approved' } });
    } else {
      expect(store.actor('deputy2').acting).toBeUndefined();
      const before = structuredClone(store.state);
      expect(reasonOf(await refusal(sign('deputy2', APPROVE)))).toBe('not_permitted');
      expect(store.state).toEqual(before);
      expect(store.incident(incident.id).status).toBe('report_submitted');
    }
  });
});

describe('the final approval', () => {
  it('is the director’s (the bureau’s last approver), recorded as an approval at its level that reads 审定, and closes the chain', async () => {
    const { store, deps, incident, report, sign, climbTo } = await setup();
    await climbTo('director');
    // The upper level neither approves nor returns at the bureau's levels: it cannot hold the report up.
    expect(reasonOf(await refusal(sign('upper', APPROVE)))).toBe('not_permitted');
    expect(reasonOf(await refusal(sign('upper', returnWith('再议'))))).toBe('not_permitted');
    const { signoff, view, outcome } = await sign('director', APPROVE);

    // The domain records the decision and the level; the wording is read from both.
    expect(signoff).toMatchObject({ stage: 'director', decision: 'approved', staffId: 'director' });
    expect(outcome).toEqual({ next: 'approved', decision: 'approved', incidentEvent: { kind: 'approve_report' } });
    expect(view.stage).toBe('approved');
    expect(store.incident(incident.id).status).toBe('report_approved');
    const wording = view.signoffs.map((s) => signoffWording(s.stage as WrittenReportStage, s.decision as SignoffDecision, view.lastApprover));
    expect(wording).toEqual(['submitted', 'approved', 'approved', 'finalised']);
    expect(wording.map((w) => t('zh', `wr.decision.${w}`))).toEqual(['提交', '同意', '同意', '审定']);
    expect(store.state.audit.at(-1)).toMatchObject({ action: 'written_report.approved', actorStaffId: 'director', data: { toStage: 'approved', incidentStatus: 'report_approved' } });

    // The document's sign-off table says the same; the upper level receives it and may download it.
    const text = docxText((await exportWrittenReportDocx(deps, store.actor('upper'), report.id)).data);
    expect(text.split('\n').find((l) => l.includes('局长甲') && l.includes('\t'))).toMatch(/^局长\t局长甲\t审定\t/);
    expect(text).toMatch(/分管副局长\t副局长乙\t同意\t/);

    // Nothing more is signed or changed.
    const before = structuredClone(store.state);
    for (const [who, action] of [['upper', APPROVE], ['upper', returnWith('再议')], ['director', APPROVE]] as const) {
      expect(reasonOf(await refusal(sign(who, action)))).toBe('already_approved');
    }
    expect(await refusal(editWrittenReport(deps, store.actor('headA'), report.id, { cause: '改' }))).toMatchObject({ code: 'wrong_status' });
    expect(store.state).toEqual(before);
  });
});

