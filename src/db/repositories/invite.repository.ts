/** Invites: single-use, expiring codes that bind a Telegram account to a seat or a staff record. */
import { eq } from 'drizzle-orm';
import type { Executor } from '../client.js';
import { invites } from '../schema.js';

export type InviteRow = typeof invites.$inferSelect;
export type NewInviteRow = typeof invites.$inferInsert;

export async function insertInvite(db: Executor, row: NewInviteRow): Promise<{ id: string }> {
  const [inserted] = await db.insert(invites).values(row).returning({ id: invites.id });
  return inserted!;
}

/** Locks an invite by its code for the rest of the transaction, so it is redeemed once. */
export async function lockInviteByCode(db: Executor, code: string): Promise<InviteRow | undefined> {
  const [row] = await db.select().from(invites).where(eq(invites.code, code)).for('update');
  return row;
}

export async function markInviteUsed(db: Executor, id: string, usedAt: Date, usedByTelegramId: number): Promise<void> {
  await db.update(invites).set({ usedAt, usedByTelegramId }).where(eq(invites.id, id));
}
