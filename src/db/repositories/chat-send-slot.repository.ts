/**
 * The chats' send lines on the Redis-less backend (src/jobs/send-slots.ts decides; this stores): one row
 * per chat, written by compare-and-set on `version` so that no transaction is held while a process
 * decides; the overall line in the row of chat 0, under a row lock. And where each outbox row goes, for the send scheduler
 * to reserve its chat's slot.
 */
import { and, eq, inArray, lt, sql } from 'drizzle-orm';
import type { Database, Executor } from '../client.js';
import { chatSendSlots, dutyGroups, incidentCards, incidents, outbox, staff, wecomUsers } from '../schema.js';

export interface StoredChatLine {
  line: unknown;
  version: number;
}

/** The chat's line, or undefined when it has none (or it expired). */
export async function readChatLine(db: Executor, chatId: number): Promise<StoredChatLine | undefined> {
  const [row] = await db
    .select({ line: chatSendSlots.line, version: chatSendSlots.version, live: sql<boolean>`${chatSendSlots.expiresAt} > now()` })
    .from(chatSendSlots)
    .where(eq(chatSendSlots.chatId, chatId));
  if (!row) return undefined;
  // An expired line is read as empty, at its version: the write after it still compares.
  return { line: row.live ? row.line : null, version: Number(row.version) };
}

/**
 * Writes the line if it is still at `version` (undefined: if the chat has no row yet). False when another
 * process wrote it first.
 */
export async function writeChatLine(db: Executor, chatId: number, version: number | undefined, line: unknown, ttlMs: number): Promise<boolean> {
  const expiresAt = sql`now() + ${`${Math.max(1, Math.ceil(ttlMs))} milliseconds`}::interval`;
  if (version === undefined) {
    const inserted = await db
      .insert(chatSendSlots)
      .values({ chatId, line, version: 1, expiresAt })
      .onConflictDoNothing({ target: chatSendSlots.chatId })
      .returning({ chatId: chatSendSlots.chatId });
    return inserted.length === 1;
  }
  const updated = await db
    .update(chatSendSlots)
    .set({ line, version: version + 1, expiresAt })
    .where(and(eq(chatSendSlots.chatId, chatId), eq(chatSendSlots.version, version)))
    .returning({ chatId: chatSendSlots.chatId });
  return updated.length === 1;
}

/**
 * The overall send line (every chat together, src/jobs/overall-line.ts) is kept in the row of chat 0: no
 * Telegram chat has id 0 (people's are positive, groups' and channels' negative).
 */
export const OVERALL_LINE_CHAT_ID = 0;

/** What a change of the overall line decided: its result, and the line to store (none: unchanged). */
export interface OverallLineChange<T> {
  result: T;
  line?: unknown;
  /** How long the stored line is worth keeping (ms). */
  ttlMs: number;
}

/**
 * Runs `decide` on the overall line (null when it has none, or it expired) under a lock of its row, and
 * stores what it decided. Every sender of the deployment meets on this one row, where compare-and-set
 * would mostly retry; a lock held for one decision queues them instead. `decide` must not await.
 */
export async function changeOverallLine<T>(db: Database, decide: (line: unknown) => OverallLineChange<T>): Promise<T> {
  const lockRow = (tx: Executor) =>
    tx
      .select({ line: chatSendSlots.line, live: sql<boolean>`${chatSendSlots.expiresAt} > now()` })
      .from(chatSendSlots)
      .where(eq(chatSendSlots.chatId, OVERALL_LINE_CHAT_ID))
      .for('update');
  return db.transaction(async (tx) => {
    let [row] = await lockRow(tx);
    if (!row) {
      await tx.insert(chatSendSlots).values({ chatId: OVERALL_LINE_CHAT_ID, line: {}, version: 0, expiresAt: sql`now()` }).onConflictDoNothing({ target: chatSendSlots.chatId });
      [row] = await lockRow(tx);
    }
    const change = decide(row?.live ? row.line : null);
    if (change.line !== undefined) {
      await tx
        .update(chatSendSlots)
        .set({ line: change.line, version: sql`${chatSendSlots.version} + 1`, expiresAt: sql`now() + ${`${Math.max(1, Math.ceil(change.ttlMs))} milliseconds`}::interval` })
        .where(eq(chatSendSlots.chatId, OVERALL_LINE_CHAT_ID));
    }
    return change.result;
  });
}

/** Deletes lines that expired; returns how many. */
export async function pruneChatLines(db: Executor): Promise<number> {
  const gone = await db.delete(chatSendSlots).where(lt(chatSendSlots.expiresAt, sql`now()`)).returning({ chatId: chatSendSlots.chatId });
  return gone.length;
}

/** Where an outbox row is to be sent, as far as the scheduler needs it: the recipient's Telegram chat, unless WeCom is where they are reached. */
export interface SendChat {
  outboxId: string;
  /** The recipient's Telegram chat; null without one. */
  chatId: number | null;
  /** Bound on WeCom and preferring it: a deployment with WeCom reaches them there. */
  prefersWecom: boolean;
  /** The row's kind, and whether it is about an incident. */
  kind: string;
  aboutIncident: boolean;
  incidentId: string | null;
  /** The chat holds the incident's card drawn at its latest version (nothing to bring up to date first). */
  holdsCurrentCard: boolean;
}

export async function sendChatsOf(db: Executor, outboxIds: readonly string[]): Promise<SendChat[]> {
  if (outboxIds.length === 0) return [];
  const rows = await db
    .select({
      outboxId: outbox.id,
      // A duty group's row goes to the group's chat (negative: the per-group interval applies).
      chatId: sql<number | null>`coalesce(${dutyGroups.chatId}, ${staff.chatId})`,
      prefersWecom: sql<boolean>`${dutyGroups.id} is null and ${staff.preferredChannel} = 'wecom' and ${wecomUsers.staffId} is not null`,
      kind: outbox.kind,
      incidentId: outbox.incidentId,
      aboutIncident: sql<boolean>`${outbox.incidentId} is not null`,
      holdsCurrentCard: sql<boolean>`exists (select 1 from ${incidentCards} join ${incidents} on ${incidents.id} = ${incidentCards.incidentId}
        where ${incidentCards.incidentId} = ${outbox.incidentId} and ${incidentCards.chatId} = coalesce(${dutyGroups.chatId}, ${staff.chatId})
          and ${incidentCards.drawnVersion} >= ${incidents.version})`,
    })
    .from(outbox)
    .innerJoin(staff, eq(staff.id, outbox.recipientStaffId))
    .leftJoin(dutyGroups, eq(dutyGroups.id, outbox.recipientGroupId))
    .leftJoin(wecomUsers, eq(wecomUsers.staffId, staff.id))
    .where(inArray(outbox.id, [...outboxIds]));
  return rows.map((r) => ({
    outboxId: r.outboxId,
    chatId: r.chatId === null ? null : Number(r.chatId),
    prefersWecom: r.prefersWecom === true,
    kind: r.kind,
    incidentId: r.incidentId,
    aboutIncident: r.aboutIncident === true,
    holdsCurrentCard: r.holdsCurrentCard === true,
  }));
}
