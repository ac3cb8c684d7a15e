/** Where each chat's card of an incident is (incident_cards): one message per incident per chat. */
import { and, eq, or, sql } from 'drizzle-orm';
import type { Executor } from '../client.js';
import { incidentCards, staff, wecomUsers } from '../schema.js';

export type CardMessageRow = typeof incidentCards.$inferSelect;

export async function cardMessageOf(db: Executor, incidentId: string, chatId: number): Promise<CardMessageRow | undefined> {
  const [row] = await db.select().from(incidentCards).where(and(eq(incidentCards.incidentId, incidentId), eq(incidentCards.chatId, chatId)));
  return row;
}

/** The card of this incident in this chat is now this message, drawn at this incident version. */
export async function recordCardMessage(db: Executor, incidentId: string, chatId: number, messageId: number, drawnVersion: number, now: Date): Promise<void> {
  await db
    .insert(incidentCards)
    .values({ incidentId, chatId, messageId, drawnVersion, updatedAt: now })
    .onConflictDoUpdate({ target: [incidentCards.incidentId, incidentCards.chatId], set: { messageId, drawnVersion, updatedAt: now } });
}

/** Active staff whose private chat holds a card of the incident, on Telegram or on WeCom. */
export async function cardHolders(db: Executor, incidentId: string): Promise<string[]> {
  const rows = await db
    .select({ id: staff.id })
    .from(incidentCards)
    .innerJoin(
      staff,
      or(eq(staff.chatId, incidentCards.chatId), sql`exists (select 1 from ${wecomUsers} w where w.staff_id = ${staff.id} and w.chat_key = ${incidentCards.chatId})`),
    )
    .where(and(eq(incidentCards.incidentId, incidentId), eq(staff.active, true)));
  return [...new Set(rows.map((r) => r.id))];
}
