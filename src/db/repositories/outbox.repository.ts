import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import type { NoticeKind } from '../../domain/index.js';
import type { Executor } from '../client.js';
import { outbox } from '../schema.js';
import { dutyGroupCopies } from './duty-group.repository.js';

export type OutboxRow = typeof outbox.$inferSelect;

export interface NoticeDraft {
  recipientStaffId: string;
  /** A duty group the row goes to, mirroring `recipientStaffId`'s notice (duty-group.repository.ts). */
  recipientGroupId?: string | null;
  kind: NoticeKind;
  /** Unique per message: a retried or repeated cause writes nothing twice. */
  dedupeKey: string;
  incidentId?: string | null;
  subjectId?: string | null;
  timerId?: string | null;
  /** Ids and small values only; the text is rendered at send time in the recipient's language. */
  params?: Record<string, unknown>;
  isDrill?: boolean;
  notBefore?: Date | null;
}

export async function enqueueNotices(db: Executor, personal: readonly NoticeDraft[]): Promise<OutboxRow[]> {
  if (personal.length === 0) return [];
  // The bound duty groups' copies go with the people's notices, in the same statement.
  const drafts = [...personal, ...(await dutyGroupCopies(db, personal))];
  return db
    .insert(outbox)
    .values(
      drafts.map((d) => ({
        recipientStaffId: d.recipientStaffId,
        recipientGroupId: d.recipientGroupId ?? null,
        kind: d.kind,
        dedupeKey: d.dedupeKey.replace(/:/g, '-'),
        incidentId: d.incidentId ?? null,
        subjectId: d.subjectId ?? null,
        timerId: d.timerId ?? null,
        params: d.params ?? {},
        isDrill: d.isDrill ?? false,
        notBefore: d.notBefore ?? null,
      })),
    )
    .onConflictDoNothing({ target: outbox.dedupeKey })
    .returning();
}

export async function findOutbox(db: Executor, id: string): Promise<OutboxRow | undefined> {
  const [row] = await db.select().from(outbox).where(eq(outbox.id, id));
  return row;
}

export async function pendingOutbox(db: Executor, limit = 500): Promise<OutboxRow[]> {
  return db.select().from(outbox).where(inArray(outbox.status, ['pending', 'sending'])).orderBy(outbox.createdAt).limit(limit);
}

export async function outboxFor(db: Executor, opts: { incidentId?: string; recipientStaffId?: string }): Promise<OutboxRow[]> {
  const conds = [];
  if (opts.incidentId) conds.push(eq(outbox.incidentId, opts.incidentId));
  if (opts.recipientStaffId) conds.push(eq(outbox.recipientStaffId, opts.recipientStaffId));
  return db.select().from(outbox).where(and(...conds)).orderBy(outbox.createdAt);
}

/** The params of the contact reminders written to this person for a local date. */
export async function contactReminderParams(db: Executor, recipientStaffId: string, date: string): Promise<unknown[]> {
  const rows = await db
    .select({ params: outbox.params })
    .from(outbox)
    .where(and(eq(outbox.recipientStaffId, recipientStaffId), eq(outbox.kind, 'contact_reminder'), sql`${outbox.params}->>'date' = ${date}`));
  return rows.map((r) => r.params);
}

/**
 * Rows still to send (pending, sending, or failed for now), oldest first, for the relay. Rows younger
 * than a second are the dispatcher's to enqueue; counting them would be false drift.
 */
export async function outboxToRelay(db: Executor, limit: number): Promise<Array<Pick<OutboxRow, 'id' | 'kind' | 'timerId' | 'notBefore'>>> {
  return db
    .select({ id: outbox.id, kind: outbox.kind, timerId: outbox.timerId, notBefore: outbox.notBefore })
    .from(outbox)
    .where(and(inArray(outbox.status, ['pending', 'sending', 'failed']), sql`${outbox.createdAt} < now() - interval '1 second'`))
    .orderBy(asc(outbox.createdAt))
    .limit(limit);
}
