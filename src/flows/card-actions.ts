/**
 * What the incident card's buttons do. Every press is checked again here and in the service: the
 * incident exists, this person may see it and do this to it (by unit and position), and the card was
 * drawn at the incident's current version. A refused press is answered and written to the audit trail.
 */
import { findIncident, stepsOf, type IncidentRow } from '../db/repositories/incident.repository.js';
import { appendAudit } from '../db/repositories/audit.repository.js';
import {
  canAssignAnyRole,
  canCloseIncident,
  canHandleIncident,
  canMarkStep,
  canSeeOffice,
  formatLocal,
  isOpen,
  isSection,
  type IncidentStatus,
  type StepActor,
} from '../domain/index.js';
import type { ButtonAction } from './actions.js';
import { whoOf, type Conversation } from './conversation.js';
import { t, type MessageKey, type Params } from '../i18n/index.js';
import { PROCURATORATE_STEP, REPORT_HOWS, UPPER_STEP } from '../domain/upward-steps.js';
import { ServiceRefusal } from '../services/errors.js';
import { acknowledgeIncident, getIncident, markProcuratorateNotified, markStep, markUpperReported, openDutiesOf } from '../services/incident.service.js';
import { escapeHtml } from '../i18n/markup.js';
import { stepText } from '../views/labels.js';
import { assignFlow } from './assign.flow.js';
import { closeFlow, falseAlarmFlow } from './close.flow.js';
import type { FlowEngine } from './engine.js';
import { refusalKey, refusalReason } from './refusals.js';
import { progressFlow } from './progress.flow.js';
import { searchFlow } from './search.flow.js';
import { stepNoteFlow } from './step-note.flow.js';

export const CARD_ACTIONS = ['card', 'ack', 'prog', 'asgn', 'upper', 'proc', 'close', 'falarm', 'step', 'sdone', 'sna', 'snote', 'search'] as const;

export type RefusalReason =
  | 'malformed'
  | 'not_found'
  | 'not_permitted'
  | 'stale'
  | 'already_done'
  | 'wrong_status'
  | 'invalid_input'
  | 'stale_flow'
  | 'unknown_action'
  | 'wrong_chat';

/** Card presses that open a form: forms belong in the private chat, not in a group. */
const FORM_ACTIONS: ReadonlySet<string> = new Set(['prog', 'asgn', 'close', 'falarm', 'search', 'sna', 'snote']);

/** A press that changes nothing; the router answers it with `key` and audits it with `reason`. */
export class CallbackRefused extends Error {
  override readonly name = 'CallbackRefused';
  constructor(
    readonly reason: RefusalReason,
    readonly key: MessageKey,
    readonly incidentId?: string,
    /** Values for the answer's text (`{time}`). */
    readonly params?: Params,
  ) {
    super(`callback refused: ${reason}`);
  }
}

/**
 * The incident a press names, if this person may see it (and, with `open`, while it is open); otherwise
 * the press is refused as the card's own buttons are: a bad button, not found, or the wrong status.
 */
export async function pressedIncident(conv: Conversation, cb: ButtonAction, opts: { open?: boolean } = {}): Promise<IncidentRow> {
  if (!cb.i) throw new CallbackRefused('malformed', 'refuse.bad_button');
  let incident: IncidentRow;
  try {
    incident = await getIncident(conv.deps, whoOf(conv).actor, cb.i);
  } catch (err) {
    if (err instanceof ServiceRefusal) throw new CallbackRefused('not_found', 'refuse.not_found');
    throw err;
  }
  if (opts.open && !isOpen(incident.status as IncidentStatus)) throw new CallbackRefused('wrong_status', 'refuse.wrong_status', incident.id);
  return incident;
}

/** Writes `callback.refused` with what was pressed and why; never the raw text of a message. */
export async function auditRefusal(conv: Conversation, cb: ButtonAction | undefined, reason: RefusalReason, raw?: string): Promise<void> {
  await appendAudit(conv.deps.db, {
    at: conv.deps.clock.now(),
    action: 'callback.refused',
    entity: 'callback',
    entityId: cb?.i ?? null,
    incidentId: cb && CARD_ACTIONS.includes(cb.a as (typeof CARD_ACTIONS)[number]) && reason !== 'not_found' && reason !== 'not_permitted' ? (cb.i ?? null) : null,
    actorStaffId: conv.who?.staff.id ?? null,
    actorTelegramId: conv.channel === 'telegram' ? conv.userId : null,
    data: { reason, action: cb?.a ?? null, key: cb?.k ?? null, version: cb?.v ?? null, ...(raw !== undefined ? { raw: raw.slice(0, 64) } : {}) },
  });
}

function refusalFrom(err: ServiceRefusal, incidentId: string): CallbackRefused {
  return new CallbackRefused(refusalReason(err), refusalKey(err), incidentId);
}

/** Runs a service call for a card press; its refusals become answered, audited refusals. */
async function serviceCall(incidentId: string, fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof ServiceRefusal) throw refusalFrom(err, incidentId);
    throw err;
  }
}

function stepOrdinal(cb: ButtonAction): number {
  const n = Number(cb.k);
  if (!Number.isInteger(n) || n < 1 || n > 100) throw new CallbackRefused('malformed', 'refuse.bad_button');
  return n;
}

/**
 * Loads the pressed incident and checks reach. A card drawn before someone else's change is not a reason
 * to refuse: the press acts on the incident as it is now, the checks below and in the service decide
 * whether the action still applies, and the card is redrawn. Only what no longer applies is refused.
 */
async function loadPressed(conv: Conversation, cb: ButtonAction): Promise<{ incident: IncidentRow; outOfDate: boolean }> {
  if (!cb.i) throw new CallbackRefused('malformed', 'refuse.bad_button');
  const incident = await findIncident(conv.deps.db, cb.i);
  // Another office's incident looks the same as one that does not exist.
  if (!incident || !canSeeOffice(whoOf(conv).actor, incident.officeUnitId)) throw new CallbackRefused('not_found', 'refuse.not_found');
  return { incident, outOfDate: cb.a !== 'card' && cb.v !== undefined && cb.v !== incident.version };
}

/**
 * A 签收 press on an incident already acknowledged is told by whom: "you, at 10:05", or someone else.
 * Any other press that the card was out of date.
 */
function refusedPress(conv: Conversation, cb: ButtonAction, incident: IncidentRow, reason: 'stale' | 'already_done'): CallbackRefused {
  if (cb.a !== 'ack' || incident.status === 'reported') return new CallbackRefused(reason, 'refuse.stale', incident.id);
  if (incident.acknowledgedByStaffId === whoOf(conv).actor.staffId && incident.acknowledgedAt) {
    const time = formatLocal(incident.acknowledgedAt, conv.deps.timeZone, conv.deps.clock.now());
    return new CallbackRefused(reason, 'refuse.already_acked_by_you', incident.id, { time });
  }
  return new CallbackRefused(reason, 'refuse.already_done', incident.id);
}

export async function handleCardAction(conv: Conversation, cb: ButtonAction, engine: FlowEngine): Promise<void> {
  const { actor } = whoOf(conv);
  const deps = conv.deps;
  const { incident, outOfDate } = await loadPressed(conv, cb);
  const id = incident.id;
  // The version the service checks: the one just loaded, so a change in between is still caught.
  const version = incident.version;
  /** Before a form opens from an out-of-date card, the card shows what changed. */
  const refreshFirst = async () => {
    if (outOfDate) await conv.redrawCard(id);
  };
  const office = incident.officeUnitId;
  const deny = () => new CallbackRefused('not_permitted', 'refuse.not_permitted', id);
  if (FORM_ACTIONS.has(cb.a) && conv.chatKind !== 'private') throw new CallbackRefused('wrong_chat', 'group.use_private', id);

  switch (cb.a) {
    case 'card':
      await conv.answer();
      if (cb.k === 'open') await conv.sendCard(id);
      else await conv.redrawCard(id);
      return;

    case 'ack':
      try {
        await serviceCall(id, () => acknowledgeIncident(deps, actor, id, version));
      } catch (err) {
        if (err instanceof CallbackRefused && (err.reason === 'stale' || err.reason === 'already_done')) {
          const now = await findIncident(deps.db, id);
          throw now ? refusedPress(conv, cb, now, err.reason) : err;
        }
        throw err;
      }
      await conv.answer(t(conv.lang, 'card.acked'));
      await conv.redrawCard(id);
      return;

    case 'step': {
      const ordinal = stepOrdinal(cb);
      const step = (await stepsOf(deps.db, id)).find((s) => s.ordinal === ordinal);
      if (!step) throw new CallbackRefused('malformed', 'refuse.bad_button', id);
      if (!canMarkStep(actor, office, step.actor as StepActor)) throw deny();
      if (step.state !== 'pending') throw new CallbackRefused('already_done', 'refuse.already_done', id);
      await conv.answer();
      await conv.redrawCard(id, { focus: { kind: 'step', ordinal } });
      return;
    }

    case 'sdone': {
      const ordinal = stepOrdinal(cb);
      await serviceCall(id, () => markStep(deps, actor, id, { ordinal }, { kind: 'done' }, version));
      await conv.answer(t(conv.lang, 'card.marked'));
      await conv.redrawCard(id);
      return;
    }

    case 'sna':
    case 'snote': {
      const ordinal = stepOrdinal(cb);
      const step = (await stepsOf(deps.db, id)).find((s) => s.ordinal === ordinal);
      if (!step) throw new CallbackRefused('malformed', 'refuse.bad_button', id);
      if (!canMarkStep(actor, office, step.actor as StepActor)) throw deny();
      if (cb.a === 'sna' && step.state !== 'pending') throw new CallbackRefused('already_done', 'refuse.already_done', id);
      await conv.answer();
      await refreshFirst();
      await engine.start(conv, stepNoteFlow, 'text', {
        incidentId: id,
        ordinal,
        kind: cb.a === 'sna' ? 'not_applicable' : 'note',
        type: incident.type,
        scenario: incident.scenario,
        key: step.key,
      });
      return;
    }

    case 'upper':
    case 'proc': {
      const key = cb.a === 'upper' ? UPPER_STEP : PROCURATORATE_STEP;
      const step = (await stepsOf(deps.db, id)).find((s) => s.key === key);
      if (!step) throw new CallbackRefused('malformed', 'refuse.bad_button', id);
      if (!canMarkStep(actor, office, step.actor as StepActor)) throw deny();
      if (step.state !== 'pending') throw new CallbackRefused('already_done', 'refuse.already_done', id);
      if (!cb.k) {
        await conv.answer();
        await conv.redrawCard(id, { focus: { kind: 'how', action: cb.a } });
        return;
      }
      if (!(REPORT_HOWS as readonly string[]).includes(cb.k)) throw new CallbackRefused('malformed', 'refuse.bad_button', id);
      const how = cb.k;
      await serviceCall(id, () => (cb.a === 'upper' ? markUpperReported(deps, actor, id, how, version) : markProcuratorateNotified(deps, actor, id, how, version)));
      await conv.answer(t(conv.lang, 'card.marked'));
      await conv.redrawCard(id);
      return;
    }

    case 'prog':
      if (!canHandleIncident(actor, office)) throw deny();
      await conv.answer();
      await refreshFirst();
      await engine.start(conv, progressFlow, 'text', { incidentId: id, number: incident.number, media: [] });
      return;

    case 'asgn':
      if (!canAssignAnyRole(actor, office)) throw deny();
      await conv.answer();
      await engine.start(conv, assignFlow, 'role', { incidentId: id, number: incident.number, page: 0 }, { edit: true });
      return;

    case 'close':
      if (!canCloseIncident(actor, office)) throw deny();
      await conv.answer();
      await refreshFirst();
      {
        const duties = (await openDutiesOf(deps, incident)).map((d) =>
          d.kind === 'step' ? `· ${d.ordinal}. ${escapeHtml(stepText(incident.type, incident.scenario, d.key, conv.lang, incident.policy))}` : `· ${t(conv.lang, 'close.duty_subject_missing')}`,
        );
        await engine.start(conv, closeFlow, duties.length ? 'duties' : 'cause', { incidentId: id, number: incident.number, duties });
      }
      return;

    case 'falarm':
      if (!isSection(actor)) throw deny();
      await conv.answer();
      await refreshFirst();
      await engine.start(conv, falseAlarmFlow, 'reason', { incidentId: id, number: incident.number });
      return;

    case 'search':
      if (incident.type !== 'absconding') throw new CallbackRefused('malformed', 'refuse.bad_button', id);
      if (!canMarkStep(actor, office, 'office')) throw deny();
      await conv.answer();
      await refreshFirst();
      await engine.start(conv, searchFlow, 'menu', { incidentId: id, number: incident.number });
      return;

    default:
      throw new CallbackRefused('unknown_action', 'refuse.bad_button');
  }
}
