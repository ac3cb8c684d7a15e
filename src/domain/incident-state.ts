/**
 * The incident lifecycle as an explicit state machine:
 * reported → acknowledged → in_progress → closed → report_submitted → report_approved.
 * A false alarm is closed by the section alone, with a reason, and needs no written report.
 */
import type { Actor } from './roles.js';
import { canAcknowledge, isSection } from './roles.js';

export const INCIDENT_STATUSES = ['reported', 'acknowledged', 'in_progress', 'closed', 'report_submitted', 'report_approved'] as const;
export type IncidentStatus = (typeof INCIDENT_STATUSES)[number];

export type Closure = 'resolved' | 'false_alarm';

export type IncidentEvent =
  | { kind: 'acknowledge' }
  | { kind: 'begin_handling' }
  | { kind: 'close'; cause: string; lessons: string; measures: string }
  | { kind: 'close_false_alarm'; reason: string }
  | { kind: 'submit_report' }
  | { kind: 'return_report' }
  | { kind: 'approve_report' };

export type IncidentEventKind = IncidentEvent['kind'];

export interface LifecycleState {
  status: IncidentStatus;
  closure: Closure | null;
}

export type TransitionRefusal =
  | 'wrong_status'
  | 'not_permitted'
  | 'missing_text'
  | 'false_alarm_has_no_report';

export class IllegalTransitionError extends Error {
  override readonly name = 'IllegalTransitionError';
  constructor(
    readonly from: IncidentStatus,
    readonly event: IncidentEventKind,
    readonly reason: TransitionRefusal,
    readonly detail?: string,
  ) {
    super(`cannot ${event} an incident that is ${from}: ${reason}${detail ? ` (${detail})` : ''}`);
  }
}

/** From which statuses each event is legal. */
export const TRANSITIONS: Readonly<Record<IncidentEventKind, { from: readonly IncidentStatus[]; to: IncidentStatus }>> = {
  acknowledge: { from: ['reported'], to: 'acknowledged' },
  begin_handling: { from: ['acknowledged'], to: 'in_progress' },
  close: { from: ['acknowledged', 'in_progress'], to: 'closed' },
  close_false_alarm: { from: ['reported', 'acknowledged', 'in_progress'], to: 'closed' },
  submit_report: { from: ['closed'], to: 'report_submitted' },
  return_report: { from: ['report_submitted'], to: 'closed' },
  approve_report: { from: ['report_submitted'], to: 'report_approved' },
};

export const OPEN_STATUSES: readonly IncidentStatus[] = ['reported', 'acknowledged', 'in_progress'];

export function isOpen(status: IncidentStatus): boolean {
  return OPEN_STATUSES.includes(status);
}

const blank = (s: string) => s.trim().length === 0;

/**
 * Applies an event, or throws IllegalTransitionError saying which transition and why.
 * The actor is checked for events whose permission is part of the plan.
 */
export function transition(state: LifecycleState, event: IncidentEvent, actor?: Actor): LifecycleState {
  const rule = TRANSITIONS[event.kind];
  const refuse = (reason: TransitionRefusal, detail?: string): never => {
    throw new IllegalTransitionError(state.status, event.kind, reason, detail);
  };
  if (!rule.from.includes(state.status)) refuse('wrong_status', `allowed from ${rule.from.join(', ')}`);
  if (state.closure === 'false_alarm' && (event.kind === 'submit_report' || event.kind === 'approve_report' || event.kind === 'return_report')) {
    refuse('false_alarm_has_no_report');
  }
  switch (event.kind) {
    case 'acknowledge':
      if (actor && !canAcknowledge(actor)) refuse('not_permitted', 'only the section or a leader acknowledges');
      return { status: rule.to, closure: null };
    case 'close': {
      const missing = (['cause', 'lessons', 'measures'] as const).filter((k) => blank(event[k]));
      if (missing.length) refuse('missing_text', missing.join(', '));
      return { status: rule.to, closure: 'resolved' };
    }
    case 'close_false_alarm':
      if (actor && !isSection(actor)) refuse('not_permitted', 'only the section closes a false alarm');
      if (blank(event.reason)) refuse('missing_text', 'reason');
      return { status: rule.to, closure: 'false_alarm' };
    default:
      return { status: rule.to, closure: state.closure };
  }
}

export function canTransition(state: LifecycleState, event: IncidentEvent, actor?: Actor): boolean {
  try {
    transition(state, event, actor);
    return true;
  } catch (e) {
    if (e instanceof IllegalTransitionError) return false;
    throw e;
  }
}
