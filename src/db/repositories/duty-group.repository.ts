/**
 * Duty groups (issue 15): the bound group chats, the codes that bind them, the groups told once that the
 * bot is not bound there, and the group copies of notices (the rule is src/domain/duty-groups.ts).
 */
import { and, eq, inArray } from 'drizzle-orm';
import { groupDedupeKey, groupMayShow, groupsMirroring, HQ_POST_ROLES, isDutyGroupPurpose, type DutyGroupPurpose, type DutyGroupRef } from '../../domain/duty-groups.js';
import type { PositionKind } from '../../domain/index.js';
import type { Executor } from '../client.js';
import { dutyGroupCodes, dutyGroups, incidentCards, incidentRoles, incidents, outbox, positions, unboundGroupNotices } from '../schema.js';
import type { NoticeDraft } from './outbox.repository.js';

export type DutyGroupRow = typeof dutyGroups.$inferSelect;
export type DutyGroupCodeRow = typeof dutyGroupCodes.$inferSelect;

export async function insertGroupCode(db: Executor, row: typeof dutyGroupCodes.$inferInsert): Promise<DutyGroupCodeRow> {
  const [inserted] = await db.insert(dutyGroupCodes).values(row).returning();
  return inserted!;
}

/** Locks a code for the rest of the transaction, so it binds one group. */
export async function lockGroupCode(db: Executor, code: string): Promise<DutyGroupCodeRow | undefined> {
  const [row] = await db.select().from(dutyGroupCodes).where(eq(dutyGroupCodes.code, code)).for('update');
  return row;
}

export async function markGroupCodeUsed(db: Executor, id: string, usedAt: Date, chatId: number): Promise<void> {
  await db.update(dutyGroupCodes).set({ usedAt, usedInChatId: chatId }).where(eq(dutyGroupCodes.id, id));
}

/** The chat's live binding, if any. */
export async function activeGroupOfChat(db: Executor, chatId: number): Promise<DutyGroupRow | undefined> {
  const [row] = await db.select().from(dutyGroups).where(and(eq(dutyGroups.chatId, chatId), eq(dutyGroups.active, true)));
  return row;
}

export async function findDutyGroup(db: Executor, id: string): Promise<DutyGroupRow | undefined> {
  const [row] = await db.select().from(dutyGroups).where(eq(dutyGroups.id, id));
  return row;
}

/** Ends the chat's live binding (bound again, or the bot left the group); the row it ended, if any. */
export async function unbindChat(db: Executor, chatId: number, at: Date): Promise<DutyGroupRow | undefined> {
  const [row] = await db
    .update(dutyGroups)
    .set({ active: false, unboundAt: at })
    .where(and(eq(dutyGroups.chatId, chatId), eq(dutyGroups.active, true)))
    .returning();
  return row;
}

/** The live bindings, oldest first. */
export function activeDutyGroups(db: Executor): Promise<DutyGroupRow[]> {
  return db.select().from(dutyGroups).where(eq(dutyGroups.active, true)).orderBy(dutyGroups.boundAt);
}

/**
 * Closes a group's copies not yet on their way (pending, or failed and waiting to retry): the group was
 * unbound, so they go nowhere. A copy being sent at this moment is left to its send, which closes it as
 * "group not bound" should it be tried again. The number closed.
 */
export async function closeGroupOutbox(db: Executor, groupId: string, reason: string): Promise<number> {
  const closed = await db
    .update(outbox)
    .set({ status: 'dead', lastError: reason, attemptStartedAt: null })
    .where(and(eq(outbox.recipientGroupId, groupId), inArray(outbox.status, ['pending', 'failed'])))
    .returning({ id: outbox.id });
  return closed.length;
}

export async function insertDutyGroup(db: Executor, row: typeof dutyGroups.$inferInsert): Promise<DutyGroupRow> {
  const [inserted] = await db.insert(dutyGroups).values(row).returning();
  // A bound group is told again should it ever be unbound.
  await db.delete(unboundGroupNotices).where(eq(unboundGroupNotices.chatId, row.chatId));
  return inserted!;
}

/** Records that an unbound group was told so; false when it had been told already. */
export async function claimUnboundNotice(db: Executor, chatId: number, at: Date): Promise<boolean> {
  const rows = await db.insert(unboundGroupNotices).values({ chatId, toldAt: at }).onConflictDoNothing().returning({ chatId: unboundGroupNotices.chatId });
  return rows.length === 1;
}

function refOf(row: Pick<DutyGroupRow, 'id' | 'purpose' | 'unitId' | 'incidentId'>): DutyGroupRef | undefined {
  return isDutyGroupPurpose(row.purpose) ? { id: row.id, purpose: row.purpose as DutyGroupPurpose, unitId: row.unitId, incidentId: row.incidentId } : undefined;
}

/**
 * The group copies of these notices (written with them, in the same transaction): for each notice about
 * an incident to a person a bound group mirrors, one row naming the group; and for each group that holds
 * a card of an incident the notices are about and was not given a copy, a redraw of that card. Nothing
 * when no group is bound (one small read). Stand-in rows and group rows are not copied again.
 */
export async function dutyGroupCopies(db: Executor, drafts: readonly NoticeDraft[]): Promise<NoticeDraft[]> {
  const personal = drafts.filter((d) => d.incidentId && !d.recipientGroupId && !(d.params && 'standInFor' in d.params));
  if (personal.length === 0) return [];
  const rows = await db.select().from(dutyGroups).where(eq(dutyGroups.active, true));
  const groups = rows.map(refOf).filter((g): g is DutyGroupRef => g !== undefined);
  if (groups.length === 0) return [];
  const incidentIds = [...new Set(personal.map((d) => d.incidentId!))];
  const [found, seats, hqRoles, held] = await Promise.all([
    db.select({ id: incidents.id, officeUnitId: incidents.officeUnitId, version: incidents.version }).from(incidents).where(inArray(incidents.id, incidentIds)),
    db.select().from(positions),
    db
      .select({ incidentId: incidentRoles.incidentId, staffId: incidentRoles.staffId })
      .from(incidentRoles)
      .where(and(inArray(incidentRoles.incidentId, incidentIds), inArray(incidentRoles.role, [...HQ_POST_ROLES]))),
    db
      .select({ incidentId: incidentCards.incidentId, groupId: dutyGroups.id })
      .from(incidentCards)
      .innerJoin(dutyGroups, and(eq(dutyGroups.chatId, incidentCards.chatId), eq(dutyGroups.active, true)))
      .where(inArray(incidentCards.incidentId, incidentIds)),
  ]);
  const incidentOf = new Map(found.map((i) => [i.id, i]));
  const ctx = {
    seats: seats.map((s) => ({ kind: s.kind as PositionKind, unitId: s.unitId, holderStaffId: s.holderStaffId, actingStaffId: s.actingStaffId })),
    hqPostHolders: (incidentId: string) => hqRoles.filter((r) => r.incidentId === incidentId).map((r) => r.staffId),
  };
  const out = new Map<string, NoticeDraft>();
  const given = new Set<string>();
  for (const d of personal) {
    const incident = incidentOf.get(d.incidentId!);
    if (!incident || !groupMayShow(d.kind)) continue;
    for (const g of groupsMirroring(d.recipientStaffId, incident, groups, ctx)) {
      const dedupeKey = groupDedupeKey(d.dedupeKey, d.recipientStaffId, g.id);
      given.add(`${incident.id}/${g.id}`);
      if (!out.has(dedupeKey)) out.set(dedupeKey, { ...d, recipientGroupId: g.id, dedupeKey });
    }
  }
  // A card a group holds is redrawn on any change the notices are about, as a person's is.
  const boundBy = new Map(rows.map((r) => [r.id, r.boundByStaffId]));
  for (const h of held) {
    if (given.has(`${h.incidentId}/${h.groupId}`)) continue;
    const incident = incidentOf.get(h.incidentId)!;
    const source = personal.find((d) => d.incidentId === h.incidentId)!;
    const dedupeKey = `card_redraw-${h.incidentId}-v${incident.version}-group-${h.groupId}`;
    if (out.has(dedupeKey)) continue;
    out.set(dedupeKey, {
      recipientStaffId: boundBy.get(h.groupId)!,
      recipientGroupId: h.groupId,
      kind: 'card_redraw',
      incidentId: h.incidentId,
      dedupeKey,
      params: { cardOnly: true },
      isDrill: source.isDrill ?? false,
      timerId: null,
    });
  }
  return [...out.values()];
}
