/**
 * WeCom's rows (issue 13): who a WeCom userid is (wecom_users, bound with an invite), the cards the
 * product sent there with their single-use response_codes (wecom_cards, wecom_card_codes), and the
 * callbacks already handled (wecom_processed_callbacks).
 */
import { and, desc, eq, gt, inArray, isNull, lt, sql } from 'drizzle-orm';
import type { Actor, PositionKind } from '../../domain/index.js';
import type { Executor } from '../client.js';
import { invites, positions, staff, wecomCardCodes, wecomCards, wecomProcessedCallbacks, wecomUsers } from '../schema.js';
import { actorFor, type StaffRow } from './org.repository.js';

export type WecomUserRow = typeof wecomUsers.$inferSelect;
export type WecomCardRow = typeof wecomCards.$inferSelect;

/** WeCom compares userids without case; they are kept lower-cased. */
export const normaliseUserId = (userid: string): string => userid.toLowerCase();

// ---------------------------------------------------------------------------------------------
// Identity

export async function findWecomUser(db: Executor, userid: string): Promise<WecomUserRow | undefined> {
  const [row] = await db.select().from(wecomUsers).where(eq(wecomUsers.userid, normaliseUserId(userid)));
  return row;
}

export async function wecomUserOfStaff(db: Executor, staffId: string): Promise<WecomUserRow | undefined> {
  const [row] = await db.select().from(wecomUsers).where(eq(wecomUsers.staffId, staffId));
  return row;
}

/** The staff member behind a WeCom userid, with their positions and their chat key. */
export async function identityByWecomUserId(db: Executor, userid: string): Promise<{ staff: StaffRow; actor: Actor; chatKey: number } | undefined> {
  const [row] = await db
    .select({ staff, chatKey: wecomUsers.chatKey })
    .from(wecomUsers)
    .innerJoin(staff, eq(staff.id, wecomUsers.staffId))
    .where(eq(wecomUsers.userid, normaliseUserId(userid)));
  if (!row) return undefined;
  return { staff: row.staff, actor: await actorFor(db, row.staff), chatKey: row.chatKey };
}

/** Binds a userid to a staff record; its chat key comes from wecom_chat_key_seq. */
export async function bindWecomUser(db: Executor, userid: string, staffId: string, now: Date): Promise<WecomUserRow> {
  const [row] = await db.insert(wecomUsers).values({ userid: normaliseUserId(userid), staffId, boundAt: now }).returning();
  return row!;
}

/** The WeCom accounts of these staff members, by staff id. */
export async function wecomUsersOfStaff(db: Executor, staffIds: readonly string[]): Promise<Map<string, WecomUserRow>> {
  if (staffIds.length === 0) return new Map();
  const rows = await db.select().from(wecomUsers).where(inArray(wecomUsers.staffId, [...staffIds]));
  return new Map(rows.map((r) => [r.staffId, r]));
}

/** Everyone bound on WeCom: the staff ids. */
export async function wecomBoundStaffIds(db: Executor): Promise<Set<string>> {
  const rows = await db.select({ id: wecomUsers.staffId }).from(wecomUsers);
  return new Set(rows.map((r) => r.id));
}

/** The WeCom userid of a chat key. */
export async function wecomUserOfChat(db: Executor, chatKey: number): Promise<WecomUserRow | undefined> {
  const [row] = await db.select().from(wecomUsers).where(eq(wecomUsers.chatKey, chatKey));
  return row;
}

/**
 * The holder of the seat who is bound nowhere yet (no Telegram account, no WeCom account): a seat
 * invite redeemed in WeCom binds them, never someone already using the bot on Telegram.
 */
export async function findSeatHolderUnbound(db: Executor, unitId: string, kind: PositionKind): Promise<{ staffId: string } | undefined> {
  const [row] = await db
    .select({ staffId: staff.id })
    .from(positions)
    .innerJoin(staff, eq(staff.id, positions.holderStaffId))
    .leftJoin(wecomUsers, eq(wecomUsers.staffId, staff.id))
    .where(and(eq(positions.unitId, unitId), eq(positions.kind, kind), isNull(staff.telegramUserId), isNull(wecomUsers.userid), eq(staff.active, true)))
    .limit(1);
  return row;
}

/** An invite redeemed in WeCom: used, by no Telegram account. */
export async function markInviteUsedOnWecom(db: Executor, inviteId: string, usedAt: Date): Promise<void> {
  await db.update(invites).set({ usedAt }).where(eq(invites.id, inviteId));
}

// ---------------------------------------------------------------------------------------------
// Messages, cards and response_codes

/** A fresh id for a message sent in WeCom (our own number: WeCom's msgid is a string). */
export async function nextWecomMessageId(db: Executor): Promise<number> {
  const [row] = await db.execute<{ id: number }>(sql`select nextval('wecom_message_id_seq')::int as id`);
  return Number(row!.id);
}

export interface NewWecomCard {
  taskId: string;
  chatKey: number;
  messageId: number;
  kind: 'card' | 'list';
  parentMessageId?: number | null;
  overflow?: ReadonlyArray<{ text: string; key: string }>;
  /** The response_code of the send, if WeCom gave one. */
  responseCode?: string | undefined;
  expiresAt: Date;
  now: Date;
}

/**
 * Records a card as the message's current one (older cards of the message become superseded), with
 * the response_code of its send.
 */
export async function recordWecomCard(db: Executor, c: NewWecomCard): Promise<void> {
  await db
    .update(wecomCards)
    .set({ supersededAt: c.now })
    .where(and(eq(wecomCards.chatKey, c.chatKey), eq(wecomCards.messageId, c.messageId), isNull(wecomCards.supersededAt)));
  await db.insert(wecomCards).values({
    taskId: c.taskId,
    chatKey: c.chatKey,
    messageId: c.messageId,
    kind: c.kind,
    parentMessageId: c.parentMessageId ?? null,
    overflow: c.overflow ?? [],
    createdAt: c.now,
  });
  if (c.responseCode) await addResponseCode(db, { code: c.responseCode, chatKey: c.chatKey, messageId: c.messageId, taskId: c.taskId, expiresAt: c.expiresAt });
}

export async function wecomCardByTask(db: Executor, taskId: string): Promise<WecomCardRow | undefined> {
  const [row] = await db.select().from(wecomCards).where(eq(wecomCards.taskId, taskId));
  return row;
}

/** The card that shows a message now, if it is a card. */
export async function currentWecomCard(db: Executor, chatKey: number, messageId: number): Promise<WecomCardRow | undefined> {
  const [row] = await db
    .select()
    .from(wecomCards)
    .where(and(eq(wecomCards.chatKey, chatKey), eq(wecomCards.messageId, messageId), isNull(wecomCards.supersededAt)))
    .orderBy(desc(wecomCards.createdAt))
    .limit(1);
  return row;
}

/**
 * A card redrawn in place: what it could not show (its 更多… list). Any doubt about an earlier update is
 * over: the card shows this one.
 */
export async function setWecomCardOverflow(db: Executor, taskId: string, overflow: ReadonlyArray<{ text: string; key: string }>): Promise<void> {
  await db.update(wecomCards).set({ overflow, updateInDoubtAt: null }).where(eq(wecomCards.taskId, taskId));
}

/**
 * An update of the card got no answer: it may have landed and spent its code. Kept in PostgreSQL so that
 * the card replacing it is marked "re-sent" by whichever process sends it. The first moment is kept.
 */
export async function markWecomCardUpdateInDoubt(db: Executor, taskId: string, now: Date): Promise<void> {
  await db
    .update(wecomCards)
    .set({ updateInDoubtAt: sql`coalesce(${wecomCards.updateInDoubtAt}, ${now.toISOString()}::timestamptz)` })
    .where(eq(wecomCards.taskId, taskId));
}

/** The card's doubt is over: its replacement went out. */
export async function clearWecomCardUpdateInDoubt(db: Executor, taskId: string): Promise<void> {
  await db.update(wecomCards).set({ updateInDoubtAt: null }).where(eq(wecomCards.taskId, taskId));
}

/** A superseded card has been pointed to its successor: it is done with. */
export async function retireWecomCard(db: Executor, taskId: string, now: Date): Promise<void> {
  await db.update(wecomCards).set({ supersededAt: now }).where(and(eq(wecomCards.taskId, taskId), isNull(wecomCards.supersededAt)));
}

/** Keeps a response_code (from a send or a callback) for its card; a code seen twice is kept once. */
export async function addResponseCode(db: Executor, c: { code: string; chatKey: number; messageId: number; taskId: string; expiresAt: Date }): Promise<void> {
  await db
    .insert(wecomCardCodes)
    .values({ responseCode: c.code, chatKey: c.chatKey, messageId: c.messageId, taskId: c.taskId, expiresAt: c.expiresAt })
    .onConflictDoNothing();
}

/**
 * Takes one unused, unexpired response_code of the card (the one that lasts least first) and marks it
 * used at once: a code is good for one update only, and one whose update may not have arrived is spent.
 */
export async function takeResponseCode(db: Executor, taskId: string, now: Date): Promise<string | undefined> {
  const rows = await db.execute<{ response_code: string }>(sql`
    update ${wecomCardCodes} set used_at = ${now.toISOString()}::timestamptz
    where response_code = (
      select response_code from ${wecomCardCodes}
      where task_id = ${taskId} and used_at is null and expires_at > ${now.toISOString()}::timestamptz
      order by expires_at asc limit 1
      for update skip locked)
    returning response_code`);
  return rows[0]?.response_code;
}

/** How many response_codes the card has left. */
export async function responseCodesLeft(db: Executor, taskId: string, now: Date): Promise<number> {
  const [row] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(wecomCardCodes)
    .where(and(eq(wecomCardCodes.taskId, taskId), isNull(wecomCardCodes.usedAt), gt(wecomCardCodes.expiresAt, now)));
  return Number(row?.n ?? 0);
}

// ---------------------------------------------------------------------------------------------
// Callbacks handled once

export async function wasWecomCallbackHandled(db: Executor, dedupKey: string): Promise<boolean> {
  const rows = await db.select({ k: wecomProcessedCallbacks.dedupKey }).from(wecomProcessedCallbacks).where(eq(wecomProcessedCallbacks.dedupKey, dedupKey)).limit(1);
  return rows.length > 0;
}

export async function recordWecomCallbackHandled(db: Executor, dedupKey: string, now: Date): Promise<void> {
  await db.insert(wecomProcessedCallbacks).values({ dedupKey, receivedAt: now }).onConflictDoNothing();
}

/**
 * How long a handled callback's key is kept, in milliseconds: two days. WeCom retries within seconds,
 * and a replay older than the timestamp window (5 min) is refused before it is looked up.
 */
export const WECOM_CALLBACK_KEEP_MS = 2 * 86_400_000;

export async function pruneWecomCallbacks(db: Executor, olderThan: Date): Promise<number> {
  const rows = await db.delete(wecomProcessedCallbacks).where(lt(wecomProcessedCallbacks.receivedAt, olderThan)).returning({ k: wecomProcessedCallbacks.dedupKey });
  return rows.length;
}
