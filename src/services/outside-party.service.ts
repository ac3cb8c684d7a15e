/**
 * Receipts from outside parties (四, 五), as use cases: a step that calls or notifies 110, 120, the police
 * station, the procuratorate, the petitions office, epidemic control, the deciding authority or another
 * county records each call — how (电话/书面/当面/系统), when, who answered, and the reference number
 * (接警单号…) if there is one — in one transaction with its audit entry and the redraw of the other cards.
 * The bureau's directory says which number a step offers for the incident's office. Renders nothing.
 */
import { appendAudit } from '../db/repositories/audit.repository.js';
import { cardHolders } from '../db/repositories/card-message.repository.js';
import { findStep, updateIncident, type IncidentRow } from '../db/repositories/incident.repository.js';
import { enqueueNotices } from '../db/repositories/outbox.repository.js';
import { insertReceipt, listOutsideContacts, receiptsOfIncident, type OutsidePartyReceiptRow } from '../db/repositories/outside-party.repository.js';
import type { Executor } from '../db/client.js';
import { canMarkStep, canSeeOffice, isOpen, type Actor, type IncidentStatus, type StepActor } from '../domain/index.js';
import {
  contactsFor,
  contactsForStep,
  isOutsideParty,
  partiesOfStep,
  receiptProblem,
  type DirectoryEntry,
  type OfferedContact,
  type OutsideParty,
  type ReceiptMethod,
} from '../domain/outside-parties.js';
import { ServiceRefusal } from './errors.js';
import { loadForChange } from './incident.service.js';
import { cardRedrawsFor } from './notices.js';
import { emptyChange, type ServiceDeps } from './ports.js';

/** The bureau's directory, as the rules read it. */
export async function outsideDirectory(db: Executor): Promise<DirectoryEntry[]> {
  return (await listOutsideContacts(db)).filter((r) => isOutsideParty(r.party)).map((r) => ({ party: r.party as OutsideParty, name: r.name, phone: r.phone, officeUnitId: r.officeUnitId, note: r.note }));
}

/** The contacts a step offers for an incident of this office (the office's own, the bureau's, or 110 and 120). */
export async function contactsOfStep(deps: Pick<ServiceDeps, 'db'>, officeUnitId: string, stepKey: string, party?: OutsideParty): Promise<OfferedContact[]> {
  const directory = await outsideDirectory(deps.db);
  return party ? contactsFor(party, officeUnitId, directory) : contactsForStep(stepKey, officeUnitId, directory);
}

export interface ReceiptInput {
  /** The step, by ordinal on the incident's checklist. */
  ordinal: number;
  party: OutsideParty;
  method: ReceiptMethod;
  at: Date;
  answeredBy: string;
  reference?: string | null;
  /** The form's key: the same submit delivered again records nothing new. */
  submissionKey?: string | undefined;
}

/**
 * 回执: records one call or notice for a step of the incident. Whoever may mark the step may record it;
 * a step marked not applicable takes none. The offered contact (the directory's, at this moment) is
 * kept with it. The step itself is marked with `markStep` (incident.service), as the user chooses.
 */
export async function recordReceipt(deps: ServiceDeps, actor: Actor, incidentId: string, input: ReceiptInput): Promise<{ incident: IncidentRow; receipt: OutsidePartyReceiptRow; created: boolean }> {
  const now = deps.clock.now();
  const result = await deps.db.transaction(async (tx) => {
    const current = await loadForChange(tx, actor, incidentId);
    if (!isOpen(current.status as IncidentStatus)) throw new ServiceRefusal('wrong_status');
    const step = await findStep(tx, incidentId, { ordinal: input.ordinal });
    if (!step) throw new ServiceRefusal('not_found', 'step');
    if (!canMarkStep(actor, current.officeUnitId, step.actor as StepActor)) throw new ServiceRefusal('not_permitted');
    if (step.state === 'not_applicable') throw new ServiceRefusal('wrong_status', 'step');
    const problem = receiptProblem({ party: input.party, method: input.method, at: input.at, answeredBy: input.answeredBy, reference: input.reference ?? null }, step.key, now);
    if (problem) throw new ServiceRefusal('invalid_input', problem);
    const [offered] = contactsFor(input.party, current.officeUnitId, await outsideDirectory(tx));
    const reference = input.reference?.trim() || null;
    const { row, inserted } = await insertReceipt(tx, {
      incidentId,
      stepKey: step.key,
      party: input.party,
      method: input.method,
      at: input.at,
      answeredBy: input.answeredBy.trim(),
      reference,
      contactName: offered?.name ?? null,
      contactPhone: offered?.phone ?? null,
      recordedByStaffId: actor.staffId,
      recordedAt: now,
      submissionKey: input.submissionKey ?? null,
    });
    if (!inserted) return { incident: current, receipt: row, created: false, change: emptyChange() };
    const updated = await updateIncident(tx, incidentId, {}, now);
    // Ids and facts only: who answered stays in the receipt, not in the audit data.
    await appendAudit(tx, {
      at: now,
      action: 'receipt.recorded',
      entity: 'outside_party_receipt',
      entityId: row.id,
      incidentId,
      actorStaffId: actor.staffId,
      data: { stepKey: step.key, ordinal: step.ordinal, party: input.party, method: input.method, at: input.at.toISOString(), reference: reference !== null },
    });
    const outbox = await enqueueNotices(tx, cardRedrawsFor(await cardHolders(tx, incidentId), updated, 'card_redraw', `v${updated.version}`, []));
    return { incident: updated, receipt: row, created: true, change: { ...emptyChange(), outboxCreated: outbox } };
  });
  await deps.dispatcher.afterCommit(result.change);
  return { incident: result.incident, receipt: result.receipt, created: result.created };
}

/** An incident's receipts, for whoever may see the incident. */
export async function receiptsOf(deps: Pick<ServiceDeps, 'db'>, actor: Actor, incident: Pick<IncidentRow, 'id' | 'officeUnitId'>): Promise<OutsidePartyReceiptRow[]> {
  if (!canSeeOffice(actor, incident.officeUnitId)) throw new ServiceRefusal('not_found');
  return receiptsOfIncident(deps.db, incident.id);
}

/** The parties a step of this incident calls; a refusal for a step that calls none. */
export function partiesOrRefuse(stepKey: string): readonly OutsideParty[] {
  const parties = partiesOfStep(stepKey);
  if (parties.length === 0) throw new ServiceRefusal('invalid_input', 'step');
  return parties;
}

