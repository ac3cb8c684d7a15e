/**
 * Duty groups (issue 15): issuing a single-use code in a private chat, binding a group chat with it
 * (/bindgroup), unbinding a group the bot left, and telling an unbound group once that it is not bound.
 * Which notices a bound group then gets is the domain's rule (src/domain/duty-groups.ts), applied where
 * notices are written (duty-group.repository.ts).
 */
import { randomInt } from 'node:crypto';
import type { Executor } from '../db/client.js';
import { appendAudit } from '../db/repositories/audit.repository.js';
import { findActivation } from '../db/repositories/command-post.repository.js';
import {
  activeDutyGroups,
  activeGroupOfChat,
  claimUnboundNotice,
  closeGroupOutbox,
  insertDutyGroup,
  insertGroupCode,
  lockGroupCode,
  markGroupCodeUsed,
  unbindChat,
  type DutyGroupRow,
} from '../db/repositories/duty-group.repository.js';
import { findIncidentByNumber } from '../db/repositories/incident.repository.js';
import { canSeeOffice, type Actor } from '../domain/index.js';
import {
  canBindGroup,
  canUnbindGroup,
  defaultGroupPurpose,
  GROUP_CODE_PATTERN,
  GROUP_CODE_TTL_SECONDS,
  isDutyGroupPurpose,
  type DutyGroupPurpose,
} from '../domain/duty-groups.js';
import { ServiceRefusal } from './errors.js';
import type { ServiceDeps } from './ports.js';

export interface IssuedGroupCode {
  code: string;
  purpose: DutyGroupPurpose;
  /** The HQ group's incident number. */
  incidentNumber?: string;
  expiresAt: Date;
}

/** Letters and digits that cannot be misread for one another. */
const CODE_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';

function newCode(): string {
  let code = 'G';
  for (let i = 0; i < 10; i++) code += CODE_ALPHABET[randomInt(CODE_ALPHABET.length)];
  return code;
}

/**
 * A code for /bindgroup: with an incident number, for that activated incident's HQ group; without, for
 * the section's duty group (the section) or the office's group (an office head).
 */
export async function issueGroupCode(deps: Pick<ServiceDeps, 'db' | 'clock'>, actor: Actor, req: { incidentNumber?: string } = {}): Promise<IssuedGroupCode> {
  const now = deps.clock.now();
  let purpose: DutyGroupPurpose | undefined;
  let incidentId: string | null = null;
  let incidentNumber: string | undefined;
  let activated = false;
  if (req.incidentNumber) {
    const incident = await findIncidentByNumber(deps.db, req.incidentNumber);
    if (!incident || !canSeeOffice(actor, incident.officeUnitId)) throw new ServiceRefusal('not_found');
    purpose = 'hq';
    incidentId = incident.id;
    incidentNumber = incident.number;
    activated = (await findActivation(deps.db, incident.id)) !== undefined;
    if (!activated) throw new ServiceRefusal('wrong_status', 'not_activated');
  } else purpose = defaultGroupPurpose(actor);
  if (!purpose || !canBindGroup(actor, purpose, { unitId: actor.unitId, activated })) throw new ServiceRefusal('not_permitted');
  const expiresAt = new Date(now.getTime() + GROUP_CODE_TTL_SECONDS * 1000);
  const row = await deps.db.transaction(async (tx) => {
    const inserted = await insertGroupCode(tx, { code: newCode(), purpose, unitId: actor.unitId, incidentId, issuedByStaffId: actor.staffId, createdAt: now, expiresAt });
    await appendAudit(tx, {
      at: now,
      action: 'duty_group.code_issued',
      entity: 'duty_group_code',
      entityId: inserted.id,
      incidentId,
      actorStaffId: actor.staffId,
      data: { purpose, unitId: actor.unitId },
    });
    return inserted;
  });
  return { code: row.code, purpose, ...(incidentNumber ? { incidentNumber } : {}), expiresAt };
}

/**
 * /bindgroup <code> typed in a group: the code is used once, within its time, by someone who may bind
 * that kind of group; the chat's earlier binding, if any, is replaced.
 */
export async function bindDutyGroup(deps: Pick<ServiceDeps, 'db' | 'clock'>, actor: Actor, code: string, chatId: number): Promise<DutyGroupRow> {
  const trimmed = code.trim().toUpperCase();
  if (!GROUP_CODE_PATTERN.test(trimmed)) throw new ServiceRefusal('not_found');
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    const row = await lockGroupCode(tx, trimmed);
    if (!row || !isDutyGroupPurpose(row.purpose)) throw new ServiceRefusal('not_found');
    if (row.usedAt) throw new ServiceRefusal('already_done');
    if (row.expiresAt.getTime() <= now.getTime()) throw new ServiceRefusal('expired');
    const activated = row.incidentId ? (await findActivation(tx, row.incidentId)) !== undefined : false;
    if (!canBindGroup(actor, row.purpose, { unitId: row.unitId, activated })) throw new ServiceRefusal('not_permitted');
    const replaced = await unbindChat(tx, chatId, now);
    const group = await insertDutyGroup(tx, { chatId, purpose: row.purpose, unitId: row.unitId, incidentId: row.incidentId, boundByStaffId: actor.staffId, boundAt: now });
    await markGroupCodeUsed(tx, row.id, now, chatId);
    await appendAudit(tx, {
      at: now,
      action: 'duty_group.bound',
      entity: 'duty_group',
      entityId: group.id,
      incidentId: row.incidentId,
      actorStaffId: actor.staffId,
      data: { purpose: row.purpose, unitId: row.unitId, codeId: row.id, ...(replaced ? { replaced: replaced.id } : {}) },
    });
    return group;
  });
}

/** The chat's live binding, if any. */
export function dutyGroupOfChat(deps: Pick<ServiceDeps, 'db'>, chatId: number): Promise<DutyGroupRow | undefined> {
  return activeGroupOfChat(deps.db, chatId);
}

/** An ended binding's copies not yet sent are closed ("group unbound") and the end is audited; returns how many were closed. */
async function closeBinding(
  tx: Executor,
  ended: DutyGroupRow,
  now: Date,
  who: { actorStaffId?: string; actorTelegramId?: number | null },
  data: Record<string, unknown>,
): Promise<number> {
  const closedNotices = await closeGroupOutbox(tx, ended.id, 'group unbound');
  await appendAudit(tx, { at: now, action: 'duty_group.unbound', entity: 'duty_group', entityId: ended.id, incidentId: ended.incidentId, ...who, data: { ...data, closedNotices } });
  return closedNotices;
}

/** The bot left the group, or was removed: the binding ends (nothing is sent there any more). */
export async function unbindDutyGroup(deps: Pick<ServiceDeps, 'db' | 'clock'>, chatId: number, reason: 'bot_removed', by?: { telegramUserId?: number }): Promise<boolean> {
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    const ended = await unbindChat(tx, chatId, now);
    if (!ended) return false;
    await closeBinding(tx, ended, now, { actorTelegramId: by?.telegramUserId ?? null }, { reason });
    return true;
  });
}

/** The bound groups this person may unbind (for the private chat's /unbindgroup list). */
export async function groupsUnbindableBy(deps: Pick<ServiceDeps, 'db'>, actor: Actor): Promise<DutyGroupRow[]> {
  return (await activeDutyGroups(deps.db)).filter((g) => isDutyGroupPurpose(g.purpose) && canUnbindGroup(actor, { purpose: g.purpose, unitId: g.unitId }));
}

/**
 * /unbindgroup: typed in the group, or in the private chat with the group's number. The binding ends,
 * audited; the group's copies not yet sent are closed ("group unbound"), nothing new is written for it,
 * and the group is then refused like any group the bot was never bound to (told so once).
 */
export async function unbindDutyGroupByCommand(
  deps: Pick<ServiceDeps, 'db' | 'clock'>,
  actor: Actor,
  chatId: number,
  from: 'group' | 'private',
): Promise<{ group: DutyGroupRow; closedNotices: number }> {
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    const group = await activeGroupOfChat(tx, chatId);
    if (!group || !isDutyGroupPurpose(group.purpose)) throw new ServiceRefusal('not_found');
    if (!canUnbindGroup(actor, { purpose: group.purpose, unitId: group.unitId })) throw new ServiceRefusal('not_permitted');
    const ended = await unbindChat(tx, chatId, now);
    if (!ended) throw new ServiceRefusal('already_done');
    const closedNotices = await closeBinding(tx, ended, now, { actorStaffId: actor.staffId }, { reason: 'command', from, purpose: ended.purpose, unitId: ended.unitId });
    return { group: ended, closedNotices };
  });
}

/** Whether an unbound group is to be told it is not bound: once, then never again (until bound and unbound). */
export function firstTimeUnbound(deps: Pick<ServiceDeps, 'db' | 'clock'>, chatId: number): Promise<boolean> {
  return claimUnboundNotice(deps.db, chatId, deps.clock.now());
}
