/**
 * Every status × every event: the allowed transitions reach the expected status; every other pair is
 * refused with an IllegalTransitionError that names the status, the event and the reason.
 */
import { describe, expect, it } from 'vitest';
import {
  canTransition,
  IllegalTransitionError,
  INCIDENT_STATUSES,
  isOpen,
  transition,
  type Actor,
  type IncidentEvent,
  type IncidentEventKind,
  type IncidentStatus,
  type LifecycleState,
  type PositionKind,
} from '../../src/domain/index.js';

const EVENTS: Record<IncidentEventKind, IncidentEvent> = {
  acknowledge: { kind: 'acknowledge' },
  begin_handling: { kind: 'begin_handling' },
  close: { kind: 'close', cause: '对象情绪失控', lessons: '需加强走访', measures: '每周谈话一次' },
  close_false_alarm: { kind: 'close_false_alarm', reason: '经核实系误报' },
  submit_report: { kind: 'submit_report' },
  return_report: { kind: 'return_report' },
  approve_report: { kind: 'approve_report' },
};

// reported → acknowledged → in_progress → closed → report_submitted → report_approved, written from the issue.
const ALLOWED: Array<[IncidentStatus, IncidentEventKind, IncidentStatus]> = [
  ['reported', 'acknowledge', 'acknowledged'],
  ['acknowledged', 'begin_handling', 'in_progress'],
  ['acknowledged', 'close', 'closed'],
  ['in_progress', 'close', 'closed'],
  ['reported', 'close_false_alarm', 'closed'],
  ['acknowledged', 'close_false_alarm', 'closed'],
  ['in_progress', 'close_false_alarm', 'closed'],
  ['closed', 'submit_report', 'report_submitted'],
  ['report_submitted', 'return_report', 'closed'],
  ['report_submitted', 'approve_report', 'report_approved'],
];

const actor = (...positions: PositionKind[]): Actor => ({ staffId: 's1', unitId: 'u1', unitKind: 'section', positions });
const SECTION = actor('section');

const pairs = INCIDENT_STATUSES.flatMap((status) => (Object.keys(EVENTS) as IncidentEventKind[]).map((event) => [status, event] as const));

function refusal(fn: () => unknown): IllegalTransitionError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(IllegalTransitionError);
    return e as IllegalTransitionError;
  }
  throw new Error('expected the transition to be refused');
}

describe('incident state machine', () => {
  it.each(pairs)('%s + %s', (status, event) => {
    const allowed = ALLOWED.find(([from, ev]) => from === status && ev === event);
    const state: LifecycleState = { status, closure: status === 'reported' || status === 'acknowledged' || status === 'in_progress' ? null : 'resolved' };
    if (allowed) {
      expect(transition(state, EVENTS[event], SECTION).status).toBe(allowed[2]);
      expect(canTransition(state, EVENTS[event], SECTION)).toBe(true);
    } else {
      const e = refusal(() => transition(state, EVENTS[event], SECTION));
      expect(e).toMatchObject({ name: 'IllegalTransitionError', from: status, event, reason: 'wrong_status' });
      expect(e.message).toContain(event);
      expect(e.message).toContain(status);
      expect(canTransition(state, EVENTS[event], SECTION)).toBe(false);
    }
  });

  it('has exactly the allowed transitions listed (no more)', () => {
    const legal = pairs.filter(([status, event]) =>
      canTransition({ status, closure: isOpen(status) ? null : 'resolved' }, EVENTS[event], SECTION),
    );
    expect(legal.map(([s, e]) => `${s}+${e}`).sort()).toEqual(ALLOWED.map(([s, e]) => `${s}+${e}`).sort());
  });

  it('records the closure: resolved or false alarm', () => {
    expect(transition({ status: 'in_progress', closure: null }, EVENTS.close)).toEqual({ status: 'closed', closure: 'resolved' });
    expect(transition({ status: 'reported', closure: null }, EVENTS.close_false_alarm, SECTION)).toEqual({ status: 'closed', closure: 'false_alarm' });
    expect(transition({ status: 'closed', closure: 'resolved' }, EVENTS.submit_report)).toEqual({ status: 'report_submitted', closure: 'resolved' });
  });
});

describe('false alarm', () => {
  it.each([
    ['officer', actor('officer')],
    ['office head', actor('office_head')],
    ['deputy director', actor('deputy_director')],
    ['director', actor('director')],
    ['upper liaison', actor('upper_liaison')],
  ] as const)('is refused to the %s', (_, who) => {
    const e = refusal(() => transition({ status: 'reported', closure: null }, EVENTS.close_false_alarm, who));
    expect(e).toMatchObject({ from: 'reported', event: 'close_false_alarm', reason: 'not_permitted' });
  });

  it.each(['', '   ', '\n\t'])('needs a reason (%j refused)', (reason) => {
    const e = refusal(() => transition({ status: 'acknowledged', closure: null }, { kind: 'close_false_alarm', reason }, SECTION));
    expect(e).toMatchObject({ reason: 'missing_text', detail: 'reason' });
  });

  it('a section member who is also a leader may close it', () => {
    expect(transition({ status: 'in_progress', closure: null }, EVENTS.close_false_alarm, actor('section', 'deputy_director')).closure).toBe('false_alarm');
  });

  it.each(['submit_report', 'approve_report', 'return_report'] as const)('has no written report: %s refused', (event) => {
    const status: IncidentStatus = event === 'submit_report' ? 'closed' : 'report_submitted';
    const e = refusal(() => transition({ status, closure: 'false_alarm' }, EVENTS[event], SECTION));
    expect(e).toMatchObject({ from: status, event, reason: 'false_alarm_has_no_report' });
  });
});

describe('closing', () => {
  it.each(['cause', 'lessons', 'measures'] as const)('needs a non-blank %s', (field) => {
    const event = { ...EVENTS.close, [field]: '  ' } as IncidentEvent;
    const e = refusal(() => transition({ status: 'in_progress', closure: null }, event, SECTION));
    expect(e).toMatchObject({ from: 'in_progress', event: 'close', reason: 'missing_text', detail: field });
  });

  it('names every missing text at once', () => {
    const e = refusal(() => transition({ status: 'acknowledged', closure: null }, { kind: 'close', cause: '', lessons: ' ', measures: '' }));
    expect(e.detail).toBe('cause, lessons, measures');
  });
});

describe('acknowledging', () => {
  it.each([
    ['section', true],
    ['deputy_director', true],
    ['director', true],
    ['officer', false],
    ['office_head', false],
    ['upper_liaison', false],
  ] as const)('by %s: allowed = %s', (position, ok) => {
    const state: LifecycleState = { status: 'reported', closure: null };
    if (ok) expect(transition(state, EVENTS.acknowledge, actor(position)).status).toBe('acknowledged');
    else expect(refusal(() => transition(state, EVENTS.acknowledge, actor(position)))).toMatchObject({ reason: 'not_permitted', event: 'acknowledge' });
  });
});
