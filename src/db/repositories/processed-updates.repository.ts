/**
 * Handled once: an update's update_id is recorded in PostgreSQL once its handling finished, so a
 * redelivery is dropped whether it comes by webhook or polling, at once or later — and an update whose
 * handling failed because the database was away is handled when Telegram delivers it again. For an
 * update of a chat, the check and the record are part of the chat's lock, in its two round trips
 * (src/db/chat-locks.ts, `withUpdateGate`); what is here serves the rest.
 */
import { lt } from 'drizzle-orm';
import type { Executor } from '../client.js';
import { processedUpdates } from '../schema.js';

/**
 * Records an update id; true for the first delivery only. Two concurrent deliveries meet at the primary
 * key: the second waits for the first to commit and then inserts nothing. For updates that cannot be
 * serialised per chat (no chat, no sender), claimed before handling.
 */
export async function claimUpdate(db: Executor, updateId: number, now: Date): Promise<boolean> {
  const rows = await db.insert(processedUpdates).values({ updateId, receivedAt: now }).onConflictDoNothing().returning({ id: processedUpdates.updateId });
  return rows.length > 0;
}

/**
 * How long a handled update id is remembered, in milliseconds: two days. Telegram keeps an update for
 * 24 hours at most, so an older id can never be delivered again; and after a week without updates it
 * picks the next id at random, so an id remembered for longer than a week could match a new update and
 * drop it. Two days is well clear of both.
 */
export const PROCESSED_UPDATE_KEEP_MS = 2 * 86_400_000;

/** Forgets handled update ids recorded before `olderThan`. */
export async function pruneProcessedUpdates(db: Executor, olderThan: Date): Promise<number> {
  const rows = await db.delete(processedUpdates).where(lt(processedUpdates.receivedAt, olderThan)).returning({ id: processedUpdates.updateId });
  return rows.length;
}
