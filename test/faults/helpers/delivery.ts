/**
 * Counting what reached the stand-in against what PostgreSQL says was to be sent: per recipient chat, the
 * messages the bot sent there versus the outbox rows for that chat and the incidents' cards recorded
 * there (an event goes with the person's one card of the incident: incident_cards). An extra message is
 * a duplicate; a row without its message is lost. Re-sends the product marks as such ("re-sent after a
 * recovery") are counted apart from silent duplicates.
 */
import { inArray } from 'drizzle-orm';
import { t } from '../../../src/i18n/index.js';
import type { Database } from '../../../src/db/client.js';
import { incidentCards, outbox, staff } from '../../../src/db/schema.js';
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
  const cards = await cardMessagesIn(db, [...rowsPerChat.keys()]);
  // Messages other notices put in these chats (a daily reminder at start) are theirs, not extras of ours.
  const counted = new Set(outboxIds);
  const others = people.length
    ? (await db.select({ id: outbox.id, staffId: outbox.recipientStaffId, messageId: outbox.telegramMessageId }).from(outbox).where(inArray(outbox.recipientStaffId, people.map((p) => p.id)))).filter(
        (r) => !counted.has(r.id) && r.messageId !== null,
      )
    : [];
  const othersIn = new Map<number, Set<number>>();
  for (const r of others) {
    const chat = chatOf.get(r.staffId)!;
    othersIn.set(chat, (othersIn.get(chat) ?? new Set()).add(r.messageId!));
  }
  for (const [chat, chatRows] of rowsPerChat) {
    const messages = server.botMessages(chat).filter((m) => !m.deleted && !othersIn.get(chat)?.has(m.message_id));
    const ids = new Set(messages.map((m) => m.message_id));
    for (const r of chatRows) if (r.status !== 'sent' || r.telegramMessageId === null || !ids.has(r.telegramMessageId)) lost++;
    const rowMessages = new Set(chatRows.filter((r) => r.status === 'sent').map((r) => r.telegramMessageId));
    const cardsHere = (cards.get(chat) ?? []).filter((id) => ids.has(id) && !rowMessages.has(id)).length;
    const extra = messages.length - chatRows.filter((r) => r.status === 'sent').length - cardsHere;
    if (extra > 0) {
      duplicates += extra;
      markedResends += Math.min(extra, messages.filter((m) => RESENT.some((n) => (m.text ?? '').includes(n))).length);
    }
  }
  return { rows: rows.length, sent: byStatus.sent ?? 0, lost, duplicates, markedResends, byStatus };
}

/** The card messages recorded per chat (incident_cards): one per incident the chat holds a card of. */
async function cardMessagesIn(db: Database, chats: readonly number[]): Promise<Map<number, number[]>> {
  const rows = chats.length ? await db.select({ chatId: incidentCards.chatId, messageId: incidentCards.messageId }).from(incidentCards).where(inArray(incidentCards.chatId, [...chats])) : [];
  const out = new Map<number, number[]>();
  for (const r of rows) out.set(Number(r.chatId), [...(out.get(Number(r.chatId)) ?? []), r.messageId]);
  return out;
}

/** When the stand-in accepted each bot message (ms), recorded as it happens: a message's `date` is whole seconds. */
export interface ArrivalLog {
  at(chatId: number, messageId: number): number | undefined;
  stop(): void;
}

export function recordArrivals(server: BotApiServer): ArrivalLog {
  const seen = new Map<string, number>();
  const onMessage = (m: { chat_id: number; message_id: number; from_bot: boolean }) => {
    if (m.from_bot) seen.set(`${m.chat_id}:${m.message_id}`, Date.now());
  };
  server.on('message', onMessage);
  return { at: (chatId, messageId) => seen.get(`${chatId}:${messageId}`), stop: () => server.off('message', onMessage) };
}

/** A delivery that no outbox row records: the product sent it and never learnt that it arrived. */
export interface UnrecordedDelivery {
  chatId: number;
  messageId: number;
  /** When the stand-in accepted it (ms), if the arrival log saw it. */
  at: number | undefined;
}

/**
 * Duplicates by cause. A duplicate is a second message with the same content (its first version, the
 * "re-sent" line taken out) in one chat. The Bot API has no idempotency key, so a duplicate is right only
 * after an ambiguous outcome: the product sent a message and never learnt that it arrived — a delivery
 * that no row records. `explain` names what made that outcome ambiguous (a timeout, a kill) from the
 * case's own record of its faults, or nothing; a duplicate whose unrecorded copy it cannot explain, or a
 * copy that two rows both record, is unexplained. The later copies must carry the "re-sent" line.
 */
export interface DuplicateCauses {
  duplicates: number;
  /** Later copies carrying the "re-sent" line, and those without it. */
  marked: number;
  unmarked: number;
  /** Duplicates by cause (`explain`'s words), unexplained ones under "unexplained". */
  byCause: Record<string, number>;
  unexplained: number;
  /** Ambiguous outcomes that delivered: messages no row records, by cause, whether or not a duplicate followed. */
  ambiguous: number;
  ambiguousByCause: Record<string, number>;
  /** A few of the unexplained or unmarked, to read in the figure's data. */
  examples: string[];
}

export async function duplicatesByCause(
  db: Database,
  server: BotApiServer,
  outboxIds: readonly string[],
  arrivals: ArrivalLog,
  explain: (d: UnrecordedDelivery) => string | undefined,
): Promise<DuplicateCauses> {
  const rows = outboxIds.length ? await db.select({ recipient: outbox.recipientStaffId, messageId: outbox.telegramMessageId }).from(outbox).where(inArray(outbox.id, [...outboxIds])) : [];
  const people = rows.length ? await db.select({ id: staff.id, chatId: staff.chatId }).from(staff).where(inArray(staff.id, [...new Set(rows.map((r) => r.recipient))])) : [];
  const chatOf = new Map(people.map((p) => [p.id, Number(p.chatId)]));
  const recordedBy = new Map<string, number>();
  for (const r of rows) if (r.messageId !== null) recordedBy.set(`${chatOf.get(r.recipient)}:${r.messageId}`, (recordedBy.get(`${chatOf.get(r.recipient)}:${r.messageId}`) ?? 0) + 1);
  // An incident's card, recorded in its chat, is a delivery the product knows of too.
  for (const [chat, ids] of await cardMessagesIn(db, [...new Set(chatOf.values())])) for (const id of ids) recordedBy.set(`${chat}:${id}`, (recordedBy.get(`${chat}:${id}`) ?? 0) + 1);
  const out: DuplicateCauses = { duplicates: 0, marked: 0, unmarked: 0, byCause: {}, unexplained: 0, ambiguous: 0, ambiguousByCause: {}, examples: [] };
  const bump = (m: Record<string, number>, k: string, by = 1) => (m[k] = (m[k] ?? 0) + by);
  const strip = (text: string) => RESENT.reduce((s, n) => s.split(n).join(''), text).trim();
  for (const chatId of new Set(chatOf.values())) {
    const messages = server.botMessages(chatId).filter((m) => !m.deleted);
    const groups = new Map<string, typeof messages>();
    for (const m of messages) {
      const first = m.history[0]?.text ?? m.history[0]?.caption ?? m.text ?? m.caption ?? '';
      const key = strip(first);
      groups.set(key, [...(groups.get(key) ?? []), m]);
    }
    for (const group of groups.values()) {
      const unrecorded = group.filter((m) => !recordedBy.has(`${chatId}:${m.message_id}`));
      const causes = unrecorded.map((m) => explain({ chatId, messageId: m.message_id, at: arrivals.at(chatId, m.message_id) }));
      for (const c of causes) {
        out.ambiguous++;
        bump(out.ambiguousByCause, c ?? 'unexplained');
      }
      if (group.length < 2) continue;
      const sorted = [...group].sort((a, b) => a.message_id - b.message_id);
      const extra = sorted.length - 1;
      out.duplicates += extra;
      for (const m of sorted.slice(1)) {
        const isMarked = RESENT.some((n) => (m.text ?? m.caption ?? '').includes(n));
        if (isMarked) out.marked++;
        else {
          out.unmarked++;
          if (out.examples.length < 5) out.examples.push(`chat ${chatId} message ${m.message_id}: a copy without the "re-sent" line`);
        }
      }
      // Each unrecorded copy is one delivery too many; so is each further copy that a row records.
      const recordedTwice = Math.max(0, group.length - unrecorded.length - 1);
      const attributed = causes.slice(0, extra);
      for (const c of attributed) bump(out.byCause, c ?? 'unexplained');
      if (recordedTwice) bump(out.byCause, 'recorded by two rows', recordedTwice);
      const unexplainedHere = attributed.filter((c) => c === undefined).length + recordedTwice;
      out.unexplained += unexplainedHere;
      if (unexplainedHere && out.examples.length < 5) out.examples.push(`chat ${chatId}: ${group.length} copies, ${unexplainedHere} not after an ambiguous outcome`);
    }
  }
  return out;
}

/** "3 after a timeout, 1 unexplained" */
export const describeCauses = (m: Record<string, number>): string =>
  Object.entries(m)
    .map(([k, v]) => `${v} ${k}`)
    .join(', ') || 'none';
