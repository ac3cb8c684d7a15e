/**
 * decideTimer as a table: every timer kind, with each reason it has to stay silent and the notice it
 * sends when nothing stops it. Pure: no database, no queue, no clock but the one given.
 */
import { describe, expect, it } from 'vitest';
import {
  decideTimer,
  TIMER_KINDS,
  type IncidentTimerContext,
  type SubjectTimerContext,
  type TimerContext,
  type TimerFacts,
  type TimerKind,
} from '../../src/domain/index.js';

const MINUTE = 60_000;
/** 2026-11-29 10:00 Asia/Shanghai. */
const NOW = Date.parse('2026-11-29T02:00:00Z');
const REPORTED = NOW - 40 * MINUTE;

const facts = (kind: TimerKind, over: Partial<TimerFacts> = {}): TimerFacts => ({
  kind,
  level: 1,
  cycle: kind === 'progress' ? '1' : kind === 'contact_check' ? '2026-11-29' : null,
  subjectId: kind === 'contact_check' ? 'subject-1' : null,
  targetPosition: 'deputy_director',
  ...over,
});

const incident = (over: Partial<IncidentTimerContext> = {}): IncidentTimerContext => ({
  scope: 'incident',
  status: 'reported',
  criticality: 'critical',
  closure: null,
  policy: { upperReportSeconds: { critical: 3600, standard: 4 * 3600 }, writtenReportDueSeconds: 7 * 86_400 },
  reportedAtMs: REPORTED,
  lastProgressAtMs: null,
  closedAtMs: null,
  progressCycle: 1,
  upwardStep: 'pending',
  pendingRequiredSteps: 3,
  writtenReport: undefined,
  recipients: ['deputy', 'acting-deputy'],
  informed: new Set(),
  ...over,
});

const subject = (over: Partial<SubjectTimerContext> = {}): SubjectTimerContext => ({
  scope: 'subject',
  subject: { status: 'away', responsibleStaffId: 'officer-1' },
  awayOnDate: true,
  contactLogged: false,
  recipients: ['head-1'],
  ...over,
});

const skips: Array<[string, TimerFacts, TimerContext, string]> = [
  ['ack: the section acknowledged', facts('ack'), incident({ status: 'acknowledged' }), 'already acknowledged'],
  ['ack: the incident is gone', facts('ack'), { scope: 'missing' }, 'incident not found'],
  ['inform: everyone it reaches was told', facts('inform'), incident({ informed: new Set(['deputy', 'acting-deputy']) }), 'already informed'],
  ['inform: it reaches nobody new', facts('inform'), incident({ recipients: [] }), 'already informed'],
  ['progress: closed', facts('progress'), incident({ status: 'closed' }), 'incident closed'],
  ['progress: reported in this cycle', facts('progress'), incident({ status: 'acknowledged', progressCycle: 2 }), 'progress reported'],
  ['upper report: closed', facts('upper_report'), incident({ status: 'closed' }), 'incident closed'],
  ['upper report: done', facts('upper_report'), incident({ upwardStep: 'done' }), 'already reported upward'],
  ['upper report: not applicable', facts('upper_report'), incident({ upwardStep: 'not_applicable' }), 'already reported upward'],
  ['steps overdue: closed', facts('steps_overdue'), incident({ status: 'closed' }), 'incident closed'],
  ['steps overdue: all done', facts('steps_overdue'), incident({ pendingRequiredSteps: 0 }), 'steps complete'],
  ['written report: a false alarm', facts('written_report'), incident({ status: 'closed', closure: 'false_alarm' }), 'no written report for a false alarm'],
  ['written report: submitted', facts('written_report'), incident({ status: 'report_submitted' }), 'report submitted'],
  ['written report: approved', facts('written_report'), incident({ status: 'report_approved' }), 'report submitted'],
  ['written report: past the office', facts('written_report'), incident({ status: 'closed', writtenReport: { stage: 'section', dueAtMs: NOW } }), 'report submitted'],
  ['contact check on an incident', facts('contact_check'), incident(), 'contact check without a subject'],
  ['contact check: no subject on the row', facts('contact_check', { subjectId: null }), subject({ subject: undefined }), 'timer without an incident'],
  ['contact check: no date on the row', facts('contact_check', { cycle: null }), subject(), 'timer without an incident'],
  ['a subject timer of another kind', facts('ack', { subjectId: 'subject-1' }), subject(), 'timer without an incident'],
  ['contact check: subject gone', facts('contact_check'), subject({ subject: undefined }), 'subject not found'],
  ['contact check: supervision ended', facts('contact_check'), subject({ subject: { status: 'terminated', responsibleStaffId: null } }), 'supervision ended'],
  ['contact check: back home', facts('contact_check'), subject({ awayOnDate: false }), 'no longer away'],
  ['contact check: contact logged', facts('contact_check'), subject({ contactLogged: true }), 'contact logged'],
  ['command receipt: someone pressed 收到', facts('command_receipt', { cycle: 'msg-1' }), incident({ commandMessage: { fromStaffId: 'director', receipted: true } }), 'receipted'],
  ['command receipt: the incident closed', facts('command_receipt', { cycle: 'msg-1' }), incident({ status: 'closed', commandMessage: { fromStaffId: 'director', receipted: false } }), 'incident closed'],
  ['command receipt: the message is gone', facts('command_receipt', { cycle: 'msg-1' }), incident(), 'message not found'],
  ['脱管 threshold: the subject was found', facts('absconding_threshold', { cycle: '86400', level: 0 }), incident({ status: 'in_progress', subjectFound: true }), 'subject found'],
  ['脱管 threshold: the incident closed', facts('absconding_threshold', { cycle: '86400', level: 0 }), incident({ status: 'closed' }), 'incident closed'],
];

describe('decideTimer: why a deadline stays silent', () => {
  it.each(skips)('%s', (_name, timer, ctx, reason) => {
    expect(decideTimer(timer, ctx, NOW)).toEqual({ skip: reason });
  });
});

const sends: Array<[string, TimerFacts, TimerContext, { notice: string; recipients: string[]; params: Record<string, unknown> }]> = [
  [
    'ack level 1: the deputy director, about the section',
    facts('ack', { level: 1 }),
    incident(),
    { notice: 'ack_escalation', recipients: ['deputy', 'acting-deputy'], params: { notAcknowledgedBy: ['section'], since: new Date(REPORTED).toISOString(), level: 1 } },
  ],
  [
    'ack level 2: the director, about the section and the deputy',
    facts('ack', { level: 2, targetPosition: 'director' }),
    incident({ recipients: ['director'] }),
    { notice: 'ack_escalation', recipients: ['director'], params: { notAcknowledgedBy: ['section', 'deputy_director'], since: new Date(REPORTED).toISOString(), level: 2 } },
  ],
  [
    'inform: only those not yet told, acknowledged or not',
    facts('inform'),
    incident({ status: 'acknowledged', informed: new Set(['deputy']) }),
    { notice: 'inform_level', recipients: ['acting-deputy'], params: { position: 'deputy_director', level: 1 } },
  ],
  [
    'progress level 0: the reporter, since the report',
    facts('progress', { level: 0 }),
    incident({ status: 'acknowledged' }),
    { notice: 'progress_reminder', recipients: ['deputy', 'acting-deputy'], params: { cycle: '1', last: new Date(REPORTED).toISOString(), level: 0 } },
  ],
  [
    'progress level 1: the escalation, since the last progress report',
    facts('progress', { level: 1 }),
    incident({ status: 'acknowledged', lastProgressAtMs: NOW - 5 * MINUTE }),
    { notice: 'progress_escalation', recipients: ['deputy', 'acting-deputy'], params: { cycle: '1', last: new Date(NOW - 5 * MINUTE).toISOString(), level: 1 } },
  ],
  [
    'upper report: due an hour after a critical report',
    facts('upper_report', { level: 0 }),
    incident(),
    { notice: 'upper_report_reminder', recipients: ['deputy', 'acting-deputy'], params: { due: new Date(REPORTED + 60 * MINUTE).toISOString(), level: 0 } },
  ],
  [
    'upper report: a standard incident, escalated',
    facts('upper_report', { level: 1 }),
    incident({ criticality: 'standard', upwardStep: undefined }),
    { notice: 'upper_report_escalation', recipients: ['deputy', 'acting-deputy'], params: { due: new Date(REPORTED + 240 * MINUTE).toISOString(), level: 1 } },
  ],
  [
    'steps overdue: the count of required steps pending',
    facts('steps_overdue', { level: 0 }),
    incident(),
    { notice: 'steps_overdue_reminder', recipients: ['deputy', 'acting-deputy'], params: { count: 3, level: 0 } },
  ],
  [
    'written report: due 7 days after closing, when no report row exists yet',
    facts('written_report', { level: 0 }),
    incident({ status: 'closed', closedAtMs: NOW - 6 * 86_400_000 }),
    { notice: 'written_report_reminder', recipients: ['deputy', 'acting-deputy'], params: { due: new Date(NOW + 86_400_000).toISOString(), level: 0 } },
  ],
  [
    'written report: overdue at the office, escalated, with the row’s own due time',
    facts('written_report', { level: 2 }),
    incident({ status: 'closed', writtenReport: { stage: 'office', dueAtMs: NOW - MINUTE } }),
    { notice: 'written_report_escalation', recipients: ['deputy', 'acting-deputy'], params: { due: new Date(NOW - MINUTE).toISOString(), level: 2 } },
  ],
  [
    'contact check level 0: the office head, naming the officer',
    facts('contact_check', { level: 0 }),
    subject(),
    { notice: 'contact_check_head', recipients: ['head-1'], params: { date: '2026-11-29', officerStaffId: 'officer-1', level: 0 } },
  ],
  [
    'contact check level 1: the section',
    facts('contact_check', { level: 1 }),
    subject({ recipients: ['section-1'] }),
    { notice: 'contact_check_section', recipients: ['section-1'], params: { date: '2026-11-29', officerStaffId: 'officer-1', level: 1 } },
  ],
  [
    'command receipt: nobody pressed 收到, back to its sender and to the section',
    facts('command_receipt', { cycle: 'msg-1', targetPosition: 'section' }),
    incident({ status: 'in_progress', recipients: ['section-1', 'section-2'], commandMessage: { fromStaffId: 'director', receipted: false } }),
    { notice: 'command_unreceipted', recipients: ['director', 'section-1', 'section-2'], params: { updateId: 'msg-1', level: 1 } },
  ],
  [
    '脱管 threshold: still out of supervision, the section is told',
    facts('absconding_threshold', { cycle: '86400', level: 0, targetPosition: 'section' }),
    incident({ status: 'in_progress', recipients: ['section-1'] }),
    { notice: 'absconding_threshold', recipients: ['section-1'], params: { thresholdSeconds: 86_400, level: 0 } },
  ],
];

describe('decideTimer: what a deadline sends when nothing stops it', () => {
  it.each(sends)('%s', (_name, timer, ctx, expected) => {
    expect(decideTimer(timer, ctx, NOW)).toEqual(expected);
  });

  it('covers every timer kind, both ways', () => {
    const kinds = (rows: Array<[string, TimerFacts, ...unknown[]]>) => new Set(rows.map((r) => r[1].kind));
    for (const kind of TIMER_KINDS) {
      expect(kinds(skips), `a skip for ${kind}`).toContain(kind);
      expect(kinds(sends), `a send for ${kind}`).toContain(kind);
    }
  });
});
