/**
 * 处罚 as use cases: a sanction proposed or taken for an incident — a kind of the bureau's list, the
 * grounds, who proposed it, the decision (proposed / approved / rejected / executed) and its date — and
 * a later decision on it; and what /stats counts of them in a month. One transaction each, with the audit
 * entry and the redraw of every card. Renders nothing.
 */
import type { Executor } from '../db/client.js';
import { appendAudit } from '../db/repositories/audit.repository.js';
import { cardHolders } from '../db/repositories/card-message.repository.js';
import { findIncident, updateIncident, type IncidentRow } from '../db/repositories/incident.repository.js';
import { enqueueNotices } from '../db/repositories/outbox.repository.js';
import { findSanction, insertSanction, lockSanction, sanctionsOfIncident, sanctionsProposedBetween, updateSanction, type SanctionRow } from '../db/repositories/sanction.repository.js';
import { monthRange } from '../domain/accountability.js';
import { canHandleIncident, canSeeOffice, hasBureauWideView, type Actor } from '../domain/index.js';
import {
  canDecideSanction,
  canProposeSanction,
  countSanctions,
  isSanctionDecision,
  nextDecisions,
  sanctionKindsOf,
  sanctionProblem,
  type SanctionCounts,
  type SanctionDecision,
  type SanctionKindSetting,
} from '../domain/sanctions.js';
import { ServiceRefusal } from './errors.js';
import { loadForChange, policyOf } from './incident.service.js';
import { cardRedrawsFor } from './notices.js';
import { emptyChange, type ServiceDeps } from './ports.js';

/** The bureau's list for an incident: its snapshot's, else the bureau's now (a snapshot older than the list). */
export async function sanctionKindsFor(deps: Pick<ServiceDeps, 'policy'>, incident?: Pick<IncidentRow, 'policy'>): Promise<readonly SanctionKindSetting[]> {
  const snapshot = incident ? (policyOf(incident) as { sanctions?: { kinds?: SanctionKindSetting[] } }) : undefined;
  if (snapshot?.sanctions?.kinds?.length) return sanctionKindsOf(snapshot);
  return sanctionKindsOf((await deps.policy()) as { sanctions?: { kinds?: SanctionKindSetting[] } });
}

export interface SanctionInput {
  kind: string;
  grounds: string;
  decision: SanctionDecision;
  /** The decision's date (for a proposal, when it was proposed). */
  decidedAt: Date;
  submissionKey?: string | undefined;
}

async function redrawAll(tx: Executor, incident: IncidentRow) {
  return enqueueNotices(tx, cardRedrawsFor(await cardHolders(tx, incident.id), incident, 'card_redraw', `v${incident.version}`, []));
}

/**
 * Records a sanction for the incident. Whoever handles the incident may propose one; only the section
 * or a leader may record it as approved, rejected or executed. Not for a false alarm.
 */
export async function recordSanction(deps: ServiceDeps, actor: Actor, incidentId: string, input: SanctionInput): Promise<{ incident: IncidentRow; sanction: SanctionRow; created: boolean }> {
  const now = deps.clock.now();
  const result = await deps.db.transaction(async (tx) => {
    const current = await loadForChange(tx, actor, incidentId);
    if (current.closure === 'false_alarm') throw new ServiceRefusal('wrong_status');
    if (!canProposeSanction(actor, canHandleIncident(actor, current.officeUnitId))) throw new ServiceRefusal('not_permitted');
    if (input.decision !== 'proposed' && !canDecideSanction(actor)) throw new ServiceRefusal('not_permitted');
    const problem = sanctionProblem(input, await sanctionKindsFor(deps, current), now);
    if (problem) throw new ServiceRefusal('invalid_input', problem);
    const { row, inserted } = await insertSanction(tx, {
      incidentId,
      subjectId: current.subjectId,
      kind: input.kind,
      grounds: input.grounds.trim(),
      proposedByStaffId: actor.staffId,
      proposedAt: input.decision === 'proposed' ? input.decidedAt : now,
      decision: input.decision,
      decidedAt: input.decidedAt,
      decidedByStaffId: actor.staffId,
      updatedAt: now,
      submissionKey: input.submissionKey ?? null,
    });
    if (!inserted) return { incident: current, sanction: row, created: false, change: emptyChange() };
    const updated = await updateIncident(tx, incidentId, {}, now);
    await appendAudit(tx, {
      at: now,
      action: 'sanction.recorded',
      entity: 'sanction',
      entityId: row.id,
      incidentId,
      actorStaffId: actor.staffId,
      data: { kind: row.kind, decision: row.decision, decidedAt: row.decidedAt.toISOString() },
    });
    return { incident: updated, sanction: row, created: true, change: { ...emptyChange(), outboxCreated: await redrawAll(tx, updated) } };
  });
  await deps.dispatcher.afterCommit(result.change);
  return { incident: result.incident, sanction: result.sanction, created: result.created };
}

/** A later decision on a sanction (approved, rejected, executed), by the section or a leader, with its date. */
export async function decideSanction(deps: ServiceDeps, actor: Actor, sanctionId: string, input: { decision: SanctionDecision; decidedAt: Date }): Promise<SanctionRow> {
  const now = deps.clock.now();
  if (!isSanctionDecision(input.decision)) throw new ServiceRefusal('invalid_input', 'decision');
  if (input.decidedAt.getTime() - now.getTime() > 5 * 60_000) throw new ServiceRefusal('invalid_input', 'at');
  const result = await deps.db.transaction(async (tx) => {
    const found = await lockSanction(tx, sanctionId);
    if (!found) throw new ServiceRefusal('not_found');
    const incident = await loadForChange(tx, actor, found.incidentId);
    if (!canDecideSanction(actor)) throw new ServiceRefusal('not_permitted');
    if (!nextDecisions(found.decision as SanctionDecision).includes(input.decision)) throw new ServiceRefusal('already_done');
    const saved = await updateSanction(tx, sanctionId, { decision: input.decision, decidedAt: input.decidedAt, decidedByStaffId: actor.staffId, updatedAt: now });
    const updated = await updateIncident(tx, incident.id, {}, now);
    await appendAudit(tx, {
      at: now,
      action: 'sanction.decided',
      entity: 'sanction',
      entityId: sanctionId,
      incidentId: incident.id,
      actorStaffId: actor.staffId,
      data: { kind: saved.kind, from: found.decision, decision: saved.decision, decidedAt: saved.decidedAt.toISOString() },
    });
    return { sanction: saved, change: { ...emptyChange(), outboxCreated: await redrawAll(tx, updated) } };
  });
  await deps.dispatcher.afterCommit(result.change);
  return result.sanction;
}

/** An incident's sanctions, for whoever may see the incident. */
export async function sanctionsOf(deps: Pick<ServiceDeps, 'db'>, actor: Actor, incident: Pick<IncidentRow, 'id' | 'officeUnitId'>): Promise<SanctionRow[]> {
  if (!canSeeOffice(actor, incident.officeUnitId)) throw new ServiceRefusal('not_found');
  return sanctionsOfIncident(deps.db, incident.id);
}

/** The sanction a press names, with its incident, if this person may see it. */
export async function findSanctionFor(deps: Pick<ServiceDeps, 'db'>, actor: Actor, sanctionId: string): Promise<{ sanction: SanctionRow; incident: IncidentRow }> {
  const sanction = await findSanction(deps.db, sanctionId);
  const incident = sanction ? await findIncident(deps.db, sanction.incidentId) : undefined;
  if (!sanction || !incident || !canSeeOffice(actor, incident.officeUnitId)) throw new ServiceRefusal('not_found');
  return { sanction, incident };
}

/**
 * /stats: the sanctions proposed in a month (drills left out), counted by kind and by where they stand
 * now; the section and the leaders see the bureau's, an office its own.
 */
export async function monthlySanctionCounts(deps: Pick<ServiceDeps, 'db' | 'policy'>, actor: Actor, q: { month: string; timeZone: string }): Promise<SanctionCounts> {
  const { from, to } = monthRange(q.month, q.timeZone);
  const rows = await sanctionsProposedBetween(deps.db, from, to);
  const visible = rows.filter((r) => hasBureauWideView(actor) || r.officeUnitId === actor.unitId);
  const facts = visible.flatMap(({ sanction: s }) => (isSanctionDecision(s.decision) ? [{ kind: s.kind, decision: s.decision }] : []));
  return countSanctions(facts, await sanctionKindsFor(deps));
}
