/**
 * Counting what reached the stand-in against what PostgreSQL says was to be sent: per recipient chat, the
 * messages the bot sent there versus the outbox rows for that chat. An extra message is a duplicate; a
 * row without its message is lost. Re-sends the product marks as such ("re-sent after a recovery") are
 * counted apart from silent duplicates.
 */
import { inArray } from 'drizzle-orm';
import { t } from '../../../src/i18n/index.js';
import type { Database } from '../../../src/db/client.js';
import { outbox, staff } from '../../../src/db/schema.js';
import type { BotApiServer } from '../../../src/sandbox/bot-api-server.js';

export interface DeliveryCount {
  rows: number;
  sent: number;
  /** Rows not sent, or sent with a message id the chat does not have. */
  lost: number;
  /** Messages beyond one per row, per chat. */
  duplicates: number;
  /** Of those, carrying the "re-sent" note. */
  markedResends: number;
  byStatus: Record<string, number>;
}

const RESENT = [t('zh', 'notice.resent'), t('en', 'notice.resent')];

export async function countDelivery(db: Database, server: BotApiServer, outboxIds: readonly string[]): Promise<DeliveryCount> {
  const rows = outboxIds.length ? await db.select().from(outbox).where(inArray(outbox.id, [...outboxIds])) : [];
  const people = rows.length ? await db.select({ id: staff.id, chatId: staff.chatId }).from(staff).where(inArray(staff.id, [...new Set(rows.map((r) => r.recipientStaffId))])) : [];
  const chatOf = new Map(people.map((p) => [p.id, Number(p.chatId)]));
  const byStatus: Record<string, number> = {};
  const rowsPerChat = new Map<number, typeof rows>();
  for (const r of rows) {
    byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
    const chat = chatOf.get(r.recipientStaffId)!;
    rowsPerChat.set(chat, [...(rowsPerChat.get(chat) ?? []), r]);
  }
  let lost = 0;
  let duplicates = 0;
  let markedResends = 0;
  for (const [chat, chatRows] of rowsPerChat) {
    const messages = server.botMessages(chat).filter((m) => !m.deleted);
    const ids = new Set(messages.map((m) => m.message_id));
    for (const r of chatRows) if (r.status !== 'sent' || r.telegramMessageId === null || !ids.has(r.telegramMessageId)) lost++;
    const extra = messages.length - chatRows.filter((r) => r.status === 'sent').length;
    if (extra > 0) {
      duplicates += extra;
      markedResends += Math.min(extra, messages.filter((m) => RESENT.some((n) => (m.text ?? '').includes(n))).length);
    }
  }
  return { rows: rows.length, sent: byStatus.sent ?? 0, lost, duplicates, markedResends, byStatus };
}
