/**
 * The writes of the send state machine (services/notification.service.ts): claiming a row for one
 * attempt, recording how it ended, and the reads and locks a reroute needs. Each is one statement, or
 * one short transaction where it says so.
 */
import { and, eq, inArray, like, ne, sql } from 'drizzle-orm';
import type { Executor } from '../client.js';
import { incidentCards, incidents, outbox, staff } from '../schema.js';
import type { OutboxRow } from './outbox.repository.js';

export type OutboxStatus = 'pending' | 'sending' | 'sent' | 'failed' | 'dead';

/** Locks the row for a claim (one transaction with the write that follows). */
export async function lockOutboxRow(db: Executor, id: string): Promise<OutboxRow | undefined> {
  const [row] = await db.select().from(outbox).where(eq(outbox.id, id)).for('update');
  return row;
}

/** A notice's first row, locked so two of its rows failing at once do not race. */
export async function lockNoticeRoot(db: Executor, id: string): Promise<OutboxRow | undefined> {
  const [row] = await db.select().from(outbox).where(eq(outbox.id, id)).for('no key update');
  return row;
}

export async function markSending(db: Executor, id: string, attempt: number, now: Date): Promise<void> {
  await db.update(outbox).set({ status: 'sending', attempts: attempt, attemptStartedAt: now }).where(eq(outbox.id, id));
}

/** After a failed attempt: only the attempt that set `sending` moves the row on. */
export async function releaseAttempt(db: Executor, id: string, attempt: number, status: OutboxStatus, lastError: string): Promise<void> {
  await db
    .update(outbox)
    .set({ status, attemptStartedAt: null, lastError })
    .where(and(eq(outbox.id, id), eq(outbox.attempts, attempt), eq(outbox.status, 'sending')));
}

export async function markSent(db: Executor, id: string, messageId: number, sentAt: Date): Promise<void> {
  await db.update(outbox).set({ status: 'sent', telegramMessageId: messageId, sentAt, attemptStartedAt: null, lastError: null }).where(eq(outbox.id, id));
}

/** Closes a row for good (nothing to send, refused, moved elsewhere). */
export async function markDead(db: Executor, id: string, lastError: string): Promise<void> {
  await db.update(outbox).set({ status: 'dead', lastError, attemptStartedAt: null }).where(eq(outbox.id, id));
}

/** Closes a row still on its way (pending, sending, failed); false when it had already ended. */
export async function closeOpenRow(db: Executor, id: string, lastError: string): Promise<boolean> {
  const closed = await db
    .update(outbox)
    .set({ status: 'dead', lastError, attemptStartedAt: null })
    .where(and(eq(outbox.id, id), inArray(outbox.status, ['pending', 'sending', 'failed'])))
    .returning({ id: outbox.id });
  return closed.length > 0;
}

export async function setOutboxParams(db: Executor, id: string, params: Record<string, unknown>): Promise<void> {
  await db.update(outbox).set({ params }).where(eq(outbox.id, id));
}

/**
 * Stamps a row before the card that goes with its event is sent (the card is not the row's own message):
 * a later attempt that finds the stamp and no card recorded knows an earlier card may have arrived.
 */
export async function markCardAttempt(db: Executor, id: string): Promise<void> {
  await db.update(outbox).set({ params: sql`${outbox.params} || '{"cardAttempt": true}'::jsonb` }).where(eq(outbox.id, id));
}

/** Whether any other row with one of these keys is still on its way or has arrived. */
export async function anyAliveAmong(db: Executor, dedupeKeys: readonly string[], exceptId: string, alive: readonly OutboxStatus[]): Promise<boolean> {
  const rows = await db
    .select({ id: outbox.id })
    .from(outbox)
    .where(and(inArray(outbox.dedupeKey, [...dedupeKeys]), inArray(outbox.status, [...alive]), ne(outbox.id, exceptId)))
    .limit(1);
  return rows.length > 0;
}

/**
 * The same notice's rows for other people in their own right: rows written together for a change or a
 * deadline share a dedupe key up to the recipient (`<kind>-<incident>-<key>-<staff id>`). Locked, so a
 * stand-in's row can be told whom else it now also reaches.
 */
export async function lockNoticeSiblings(db: Executor, root: Pick<OutboxRow, 'id' | 'kind' | 'dedupeKey' | 'recipientStaffId'>): Promise<OutboxRow[]> {
  const suffix = `-${root.recipientStaffId}`;
  if (!root.dedupeKey.endsWith(suffix)) return [];
  const prefix = root.dedupeKey.slice(0, -suffix.length);
  const rows = await db
    .select()
    .from(outbox)
    .where(and(eq(outbox.kind, root.kind), like(outbox.dedupeKey, `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}-%`), ne(outbox.id, root.id)))
    .for('no key update');
  // Only rows of the form prefix-<staff id>, not a stand-in's (…-via-…).
  return rows.filter((r) => r.dedupeKey === `${prefix}-${r.recipientStaffId}`);
}

/** Locks a recipient's staff row for a reroute: NO KEY UPDATE, which an outbox insert's foreign-key check does not wait on. */
export async function lockRecipient(db: Executor, staffId: string): Promise<typeof staff.$inferSelect | undefined> {
  const [row] = await db.select().from(staff).where(eq(staff.id, staffId)).for('no key update');
  return row;
}

/** How every person can be reached, for walking the stand-in chain. */
export async function reachability(db: Executor): Promise<Map<string, { id: string; unitId: string | null; chatId: number | null; active: boolean; reachable: boolean }>> {
  const rows = await db.select({ id: staff.id, unitId: staff.unitId, chatId: staff.chatId, active: staff.active, reachable: staff.reachable }).from(staff);
  return new Map(rows.map((s) => [s.id, s]));
}

export async function incidentVersion(db: Executor, incidentId: string): Promise<number | undefined> {
  const [row] = await db.select({ version: incidents.version }).from(incidents).where(eq(incidents.id, incidentId));
  return row?.version;
}

/** Forgets a card message that is gone from the chat. */
export async function forgetCardMessage(db: Executor, incidentId: string, chatId: number): Promise<void> {
  await db.delete(incidentCards).where(and(eq(incidentCards.incidentId, incidentId), eq(incidentCards.chatId, chatId)));
}


