/** The daily contacts logged with subjects away (contact_logs), one row per attempt. */
import { and, desc, eq, gte, inArray, lte } from 'drizzle-orm';
import type { Executor } from '../client.js';
import { contactLogs } from '../schema.js';

export type ContactLogRow = typeof contactLogs.$inferSelect;
export type NewContactLogRow = typeof contactLogs.$inferInsert;

export async function insertContactLog(db: Executor, row: NewContactLogRow): Promise<ContactLogRow> {
  const [inserted] = await db.insert(contactLogs).values(row).returning();
  return inserted!;
}

/** A subject's latest contacts, newest first. */
export async function recentContacts(db: Executor, subjectId: string, limit: number): Promise<Array<Pick<ContactLogRow, 'id' | 'result' | 'at'>>> {
  return db
    .select({ id: contactLogs.id, result: contactLogs.result, at: contactLogs.at })
    .from(contactLogs)
    .where(eq(contactLogs.subjectId, subjectId))
    .orderBy(desc(contactLogs.at))
    .limit(limit);
}

/** The contacts logged for these subjects on a local date, newest first. */
export async function contactsOn(db: Executor, subjectIds: readonly string[], date: string): Promise<ContactLogRow[]> {
  if (subjectIds.length === 0) return [];
  return db
    .select()
    .from(contactLogs)
    .where(and(inArray(contactLogs.subjectId, [...subjectIds]), eq(contactLogs.localDate, date)))
    .orderBy(desc(contactLogs.at));
}

/** One contact, for the notice of a "情况异常" log (its note is read from the row, not carried in the notice). */
export async function findContactLog(db: Executor, id: string): Promise<ContactLogRow | undefined> {
  const [row] = await db.select().from(contactLogs).where(eq(contactLogs.id, id));
  return row;
}

/** What was logged for these subjects on the local dates [from, to]: the day and the result of each attempt. */
export async function contactResultsBetween(
  db: Executor,
  subjectIds: readonly string[],
  from: string,
  to: string,
): Promise<Array<Pick<ContactLogRow, 'subjectId' | 'localDate' | 'result'>>> {
  if (subjectIds.length === 0) return [];
  return db
    .select({ subjectId: contactLogs.subjectId, localDate: contactLogs.localDate, result: contactLogs.result })
    .from(contactLogs)
    .where(and(inArray(contactLogs.subjectId, [...subjectIds]), gte(contactLogs.localDate, from), lte(contactLogs.localDate, to)));
}

