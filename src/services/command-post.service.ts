/**
 * The headquarters' command loop (三), as use cases, one transaction each:
 * - 启动预案: the section or a leader activates the plan at a response level; HQ forms with 总指挥 the
 *   director and 副总指挥 the deputy director where nobody holds the post yet (the section is its office);
 * - 批示 / 指令: a leader (or an HQ post holder) writes to the on-site command and the office, each told
 *   with a 收到 button; nobody's receipt within the bureau's interval escalates to the sender and the section;
 * - 处置建议: the on-site command writes up to HQ the same way;
 * - 收到: a receipt; the first one ends the escalation.
 * Each is in the audit trail (the timeline reads it) and on the card; they render nothing.
 */
import { appendAudit } from '../db/repositories/audit.repository.js';
import { cardHolders } from '../db/repositories/card-message.repository.js';
import {
  findActivation,
  findCommandMessage,
  insertActivation,
  insertCommandMessage,
  insertLevelChange,
  levelChangesOf,
  insertReceipt,
  isReceipted,
  loadCommandRecord,
  type CommandRecord,
  type PlanActivationRow,
} from '../db/repositories/command-post.repository.js';
import { insertIncidentUpdate, updateIncident, type IncidentRow } from '../db/repositories/incident.repository.js';
import { insertRoleAssignment, rolesOf } from '../db/repositories/incident-role.repository.js';
import { loadOrgSnapshot } from '../db/repositories/org.repository.js';
import { enqueueNotices, type NoticeDraft } from '../db/repositories/outbox.repository.js';
import { cancelTimers, insertTimers } from '../db/repositories/timer.repository.js';
import type { Executor } from '../db/client.js';
import {
  canActivatePlan,
  canChangeResponseLevel,
  canIssueOrders,
  canPropose,
  canReceipt,
  canSeeOffice,
  commandSettingsOf,
  currentResponseLevel,
  decideLevelChange,
  hqDefaults,
  isCommandMessageKind,
  isOpen,
  isResponseLevel,
  leaderTargets,
  orderAddressees,
  proposalAddressees,
  receiptTimer,
  resolveTarget,
  RECEIPT_TIMER,
  HQ_POSTS,
  type Actor,
  type CommandMessageKind,
  type HqMessageKind,
  type HqPost,
  type IncidentStatus,
  type LevelDirection,
  type OrgSnapshot,
} from '../domain/index.js';
import { ServiceRefusal } from './errors.js';
import { loadForChange, MAX_TEXT, policyOf } from './incident.service.js';
import { cardRedrawsFor, draftsFor, noticesFor } from './notices.js';
import { emptyChange, type ServiceDeps } from './ports.js';

function requireOpen(incident: IncidentRow): void {
  if (!isOpen(incident.status as IncidentStatus)) throw new ServiceRefusal('wrong_status');
}

function requireText(text: string, field: string): string {
  const trimmed = text.trim();
  if (trimmed === '' || trimmed.length > MAX_TEXT) throw new ServiceRefusal('invalid_input', field);
  return trimmed;
}

/** The command settings in force for an incident: its snapshot's, else the bureau's now (a snapshot older than them). */
async function settingsFor(deps: ServiceDeps, incident: IncidentRow) {
  const snapshot = policyOf(incident) as { command?: unknown };
  return commandSettingsOf((snapshot.command ? snapshot : await deps.policy()) as Parameters<typeof commandSettingsOf>[0]);
}

/** The response levels the bureau defines now, for the activation form. */
export async function responseLevels(deps: Pick<ServiceDeps, 'policy'>): Promise<readonly string[]> {
  return commandSettingsOf(await deps.policy()).responseLevels;
}

const section = (org: OrgSnapshot, incident: IncidentRow) =>
  resolveTarget({ kind: 'position', position: 'section', scope: 'bureau' }, { officeUnitId: incident.officeUnitId, reporterStaffId: incident.reporterStaffId }, org);

export interface ActivationResult {
  incident: IncidentRow;
  activation: PlanActivationRow;
  /** Who holds each HQ post now (the defaults where nobody did). */
  hq: Record<HqPost, string | null>;
}

/**
 * 启动预案 (三(一)): the plan is activated for the incident at a response level of the bureau's list, once.
 * HQ forms: each post nobody holds yet goes to its default (总指挥 the director, 副总指挥 the deputy
 * director); the on-site command and the groups are assigned next (指派). HQ, the section and the office
 * head are told; every other card is redrawn.
 */
export async function activatePlan(deps: ServiceDeps, actor: Actor, incidentId: string, level: string, expectedVersion?: number): Promise<ActivationResult> {
  if (!canActivatePlan(actor)) throw new ServiceRefusal('not_permitted');
  const now = deps.clock.now();
  const result = await deps.db.transaction(async (tx) => {
    const current = await loadForChange(tx, actor, incidentId, expectedVersion);
    requireOpen(current);
    if (!isResponseLevel(level, await settingsFor(deps, current))) throw new ServiceRefusal('invalid_input', 'level');
    const activation = await insertActivation(tx, { incidentId, level, activatedByStaffId: actor.staffId, activatedAt: now });
    if (!activation) throw new ServiceRefusal('already_done');
    const org = await loadOrgSnapshot(tx);
    const roles = await rolesOf(tx, incidentId);
    const defaults = hqDefaults(org.seats);
    const hq = {} as Record<HqPost, string | null>;
    const audit = [];
    for (const post of HQ_POSTS) {
      const holder = roles.find((r) => r.role === post)?.staffId;
      if (holder) {
        hq[post] = holder;
        continue;
      }
      hq[post] = defaults[post];
      if (!defaults[post]) continue;
      await insertRoleAssignment(tx, { incidentId, role: post, staffId: defaults[post], assignedByStaffId: actor.staffId, at: now });
      audit.push({ at: now, action: 'role.assigned', entity: 'incident', entityId: incidentId, incidentId, actorStaffId: actor.staffId, data: { role: post, staffId: defaults[post], byDefault: true } });
    }
    const updated = await updateIncident(tx, incidentId, {}, now);
    await appendAudit(tx, [
      { at: now, action: 'command.activated', entity: 'incident', entityId: incidentId, incidentId, actorStaffId: actor.staffId, data: { level, commander: hq.commander, deputyCommander: hq.deputy_commander } },
      ...audit,
    ]);
    const hqPeople = [hq.commander, hq.deputy_commander].filter((id): id is string => !!id && id !== actor.staffId);
    const chain = noticesFor(org, [{ kind: 'position', position: 'section', scope: 'bureau' }, { kind: 'position', position: 'office_head', scope: 'office' }], updated, 'plan_activated', 'activated', {
      exclude: actor.staffId,
      params: { byStaffId: actor.staffId },
    });
    const told = [...draftsFor(hqPeople.filter((id) => !chain.some((d) => d.recipientStaffId === id)), updated, 'plan_activated', 'activated', { params: { byStaffId: actor.staffId } }), ...chain];
    const outbox = await enqueueNotices(tx, [...told, ...(await redraws(tx, updated, told))]);
    return { incident: updated, activation, hq, change: { ...emptyChange(), outboxCreated: outbox } };
  });
  await deps.dispatcher.afterCommit(result.change);
  return { incident: result.incident, activation: result.activation, hq: result.hq };
}

export interface LevelChangeResult {
  incident: IncidentRow;
  from: string;
  to: string;
  direction: LevelDirection;
}

/**
 * 升级 / 降级响应: the section or a leader changes the response level of an activated plan, with a reason.
 * `seen` is the level the person saw when they chose (the form's): if someone changed it meanwhile the
 * change is refused as stale rather than made over theirs. One row and one audit entry (the timeline's
 * entry: who, when, from → to, why); HQ and the section and the office head are told, as of the
 * activation; every other card is redrawn to show the level in force.
 */
export async function changeResponseLevel(
  deps: ServiceDeps,
  actor: Actor,
  incidentId: string,
  input: { to: string; seen: string; reason: string },
  expectedVersion?: number,
): Promise<LevelChangeResult> {
  if (!canChangeResponseLevel(actor)) throw new ServiceRefusal('not_permitted');
  const reason = requireText(input.reason, 'reason');
  const now = deps.clock.now();
  const result = await deps.db.transaction(async (tx) => {
    const current = await loadForChange(tx, actor, incidentId, expectedVersion);
    requireOpen(current);
    const activation = await findActivation(tx, incidentId);
    if (!activation) throw new ServiceRefusal('wrong_status', 'not_activated');
    const from = currentResponseLevel(activation.level, await levelChangesOf(tx, incidentId));
    const decision = decideLevelChange(from, { to: input.to, seen: input.seen }, await settingsFor(deps, current));
    if ('refuse' in decision) {
      if (decision.refuse === 'stale') throw new ServiceRefusal('stale');
      if (decision.refuse === 'same_level') throw new ServiceRefusal('already_done', 'level');
      throw new ServiceRefusal('invalid_input', 'level');
    }
    const update = await insertIncidentUpdate(tx, { incidentId, staffId: actor.staffId, kind: 'level_change', text: reason, at: now });
    await insertLevelChange(tx, { updateId: update.id, incidentId, fromLevel: from, toLevel: input.to, direction: decision.direction, changedByStaffId: actor.staffId, changedAt: now });
    const updated = await updateIncident(tx, incidentId, {}, now);
    const org = await loadOrgSnapshot(tx);
    const roles = await rolesOf(tx, incidentId);
    // The audience of the activation: HQ's posts as held now, the section, the office head; never the one who changed it.
    const hqPeople = [...new Set(roles.filter((r) => (HQ_POSTS as readonly string[]).includes(r.role)).map((r) => r.staffId))].filter((id) => id !== actor.staffId);
    const params = { updateId: update.id, byStaffId: actor.staffId };
    const chain = noticesFor(org, [{ kind: 'position', position: 'section', scope: 'bureau' }, { kind: 'position', position: 'office_head', scope: 'office' }], updated, 'level_changed', `l${update.id}`, {
      exclude: actor.staffId,
      params,
    });
    const told = [...draftsFor(hqPeople.filter((id) => !chain.some((d) => d.recipientStaffId === id)), updated, 'level_changed', `l${update.id}`, { params }), ...chain];
    const outbox = await enqueueNotices(tx, [...told, ...(await redraws(tx, updated, told))]);
    await appendAudit(tx, {
      at: now,
      action: 'command.level_changed',
      entity: 'incident',
      entityId: incidentId,
      incidentId,
      actorStaffId: actor.staffId,
      data: { from, to: input.to, direction: decision.direction, updateId: update.id },
    });
    return { incident: updated, from, to: input.to, direction: decision.direction, change: { ...emptyChange(), outboxCreated: outbox } };
  });
  await deps.dispatcher.afterCommit(result.change);
  return { incident: result.incident, from: result.from, to: result.to, direction: result.direction };
}

/** The response level in force for an incident (undefined before activation). */
export async function responseLevelOf(deps: Pick<ServiceDeps, 'db'>, incidentId: string): Promise<string | undefined> {
  const activation = await findActivation(deps.db, incidentId);
  return activation ? currentResponseLevel(activation.level, await levelChangesOf(deps.db, incidentId)) : undefined;
}

/** The levels a change may go to from `current`: the bureau's list in force for the incident, less the current one. */
export async function levelsToChangeTo(deps: Pick<ServiceDeps, 'policy'>, incident: IncidentRow, current: string): Promise<string[]> {
  return (await settingsFor(deps as ServiceDeps, incident)).responseLevels.filter((l) => l !== current);
}

async function redraws(tx: Executor, incident: IncidentRow, told: readonly NoticeDraft[]): Promise<NoticeDraft[]> {
  return cardRedrawsFor(await cardHolders(tx, incident.id), incident, 'card_redraw', `v${incident.version}`, told);
}

export interface PostedMessage {
  incident: IncidentRow;
  updateId: string;
  /** Who it went to. */
  addressees: string[];
}

/**
 * 批示 / 指令: a leader's typed instruction to the on-site command and to HQ's office (the section), each
 * told with 收到; unreceipted after the bureau's interval, it escalates to its sender and the section.
 */
export function postInstruction(deps: ServiceDeps, actor: Actor, incidentId: string, kind: HqMessageKind, text: string, expectedVersion?: number): Promise<PostedMessage> {
  if (kind !== 'remark' && kind !== 'order') throw new ServiceRefusal('invalid_input', 'kind');
  return postMessage(deps, actor, incidentId, kind, text, expectedVersion);
}

/** 处置建议: the on-site command's proposal up to HQ (总指挥, 副总指挥), receipted and escalated the same way. */
export function postProposal(deps: ServiceDeps, actor: Actor, incidentId: string, text: string, expectedVersion?: number): Promise<PostedMessage> {
  return postMessage(deps, actor, incidentId, 'proposal', text, expectedVersion);
}

async function postMessage(deps: ServiceDeps, actor: Actor, incidentId: string, kind: CommandMessageKind, text: string, expectedVersion?: number): Promise<PostedMessage> {
  const body = requireText(text, 'text');
  const now = deps.clock.now();
  const result = await deps.db.transaction(async (tx) => {
    const current = await loadForChange(tx, actor, incidentId, expectedVersion);
    requireOpen(current);
    const roles = await rolesOf(tx, incidentId);
    if (kind === 'proposal' ? !canPropose(actor, roles) : !canIssueOrders(actor, roles)) throw new ServiceRefusal('not_permitted');
    const org = await loadOrgSnapshot(tx);
    const ctx = { officeUnitId: current.officeUnitId, reporterStaffId: current.reporterStaffId };
    const addressees =
      kind === 'proposal'
        ? proposalAddressees(roles, leaderTargets().flatMap((t) => resolveTarget(t, ctx, org)), actor.staffId)
        : orderAddressees(roles, section(org, current), actor.staffId);
    if (addressees.length === 0) throw new ServiceRefusal('invalid_input', 'addressees');
    const update = await insertIncidentUpdate(tx, { incidentId, staffId: actor.staffId, kind, text: body, at: now });
    await insertCommandMessage(tx, { updateId: update.id, incidentId, kind, fromStaffId: actor.staffId, addressees, at: now });
    const timers = await insertTimers(tx, [receiptTimer(incidentId, update.id, now, await settingsFor(deps, current))], { isDrill: current.isDrill });
    const updated = await updateIncident(tx, incidentId, {}, now);
    const noticeKind = kind === 'proposal' ? 'proposal_sent' : 'command_issued';
    const told = draftsFor(addressees, updated, noticeKind, `u${update.id}`, { params: { updateId: update.id, byStaffId: actor.staffId } });
    const outbox = await enqueueNotices(tx, [...told, ...(await redraws(tx, updated, told))]);
    await appendAudit(tx, {
      at: now,
      action: 'command.message',
      entity: 'command_message',
      entityId: update.id,
      incidentId,
      actorStaffId: actor.staffId,
      data: { kind, updateId: update.id, addressees: addressees.length },
    });
    return { incident: updated, updateId: update.id, addressees, change: { ...emptyChange(), timersCreated: timers, outboxCreated: outbox } };
  });
  await deps.dispatcher.afterCommit(result.change);
  return { incident: result.incident, updateId: result.updateId, addressees: result.addressees };
}

/**
 * 收到: the actor receipts a message addressed to them (or to the body they are in now). The first receipt
 * ends its escalation and tells its sender; every card is redrawn to show who receipted it.
 */
export async function receiptMessage(deps: ServiceDeps, actor: Actor, updateId: string): Promise<{ incident: IncidentRow; first: boolean; kind: CommandMessageKind }> {
  const now = deps.clock.now();
  const found = await findCommandMessage(deps.db, updateId);
  if (!found) throw new ServiceRefusal('not_found');
  const result = await deps.db.transaction(async (tx) => {
    const current = await loadForChange(tx, actor, found.incidentId);
    const message = (await findCommandMessage(tx, updateId))!;
    const kind = message.kind as CommandMessageKind;
    if (!isCommandMessageKind(kind)) throw new ServiceRefusal('not_found');
    const roles = await rolesOf(tx, current.id);
    if (!canReceipt(actor, { kind, fromStaffId: message.fromStaffId, addressees: message.addressees }, roles)) throw new ServiceRefusal('not_permitted');
    const first = !(await isReceipted(tx, updateId));
    const receipt = await insertReceipt(tx, { updateId, staffId: actor.staffId, at: now });
    if (!receipt) throw new ServiceRefusal('already_done');
    const cancelled = first ? await cancelTimers(tx, { incidentId: current.id, cycle: updateId }, [RECEIPT_TIMER], now) : [];
    const updated = await updateIncident(tx, current.id, {}, now);
    const told = first ? draftsFor([message.fromStaffId], updated, 'command_receipted', `r${updateId}`, { params: { updateId, byStaffId: actor.staffId } }) : [];
    const outbox = await enqueueNotices(tx, [...told, ...(await redraws(tx, updated, told))]);
    await appendAudit(tx, {
      at: now,
      action: 'command.receipted',
      entity: 'command_message',
      entityId: updateId,
      incidentId: current.id,
      actorStaffId: actor.staffId,
      data: { kind, updateId, first },
    });
    return { incident: updated, first, kind, change: { ...emptyChange(), timersCancelled: cancelled, outboxCreated: outbox } };
  });
  await deps.dispatcher.afterCommit(result.change);
  return { incident: result.incident, first: result.first, kind: result.kind };
}

/** The incident's command loop, for someone who may see the incident. */
export async function commandRecordOf(deps: Pick<ServiceDeps, 'db'>, actor: Actor, incident: IncidentRow): Promise<CommandRecord> {
  if (!canSeeOffice(actor, incident.officeUnitId)) throw new ServiceRefusal('not_found');
  return loadCommandRecord(deps.db, incident.id);
}

/** Whether the plan is activated for the incident. */
export async function isActivated(deps: Pick<ServiceDeps, 'db'>, incidentId: string): Promise<boolean> {
  return (await findActivation(deps.db, incidentId)) !== undefined;
}
