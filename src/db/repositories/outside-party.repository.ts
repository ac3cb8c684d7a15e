/** The outside parties' rows: the bureau's directory, and the receipts of calls and notices to them. */
import { asc, eq, inArray } from 'drizzle-orm';
import type { Executor } from '../client.js';
import { outsideContacts, outsidePartyReceipts } from '../schema.js';

export type OutsideContactRow = typeof outsideContacts.$inferSelect;
export type OutsidePartyReceiptRow = typeof outsidePartyReceipts.$inferSelect;

/** The whole directory, in the file's order of codes. */
export async function listOutsideContacts(db: Executor): Promise<OutsideContactRow[]> {
  return db.select().from(outsideContacts).orderBy(asc(outsideContacts.code));
}

/**
 * Replaces the directory with the org file's (the file is its whole truth). Counts what changed: an
 * entry is updated only when it differs, so importing the same file twice changes nothing.
 */
export async function replaceOutsideContacts(
  db: Executor,
  entries: ReadonlyArray<Omit<OutsideContactRow, 'id'>>,
): Promise<{ created: number; updated: number; unchanged: number; removed: number }> {
  const existing = await listOutsideContacts(db);
  const byCode = new Map(existing.map((e) => [e.code, e]));
  const keep = new Set(entries.map((e) => e.code));
  const result = { created: 0, updated: 0, unchanged: 0, removed: 0 };
  for (const e of entries) {
    const prior = byCode.get(e.code);
    if (!prior) {
      await db.insert(outsideContacts).values(e);
      result.created++;
    } else if (prior.party !== e.party || prior.name !== e.name || prior.phone !== e.phone || prior.officeUnitId !== e.officeUnitId || (prior.note ?? null) !== (e.note ?? null)) {
      await db.update(outsideContacts).set(e).where(eq(outsideContacts.id, prior.id));
      result.updated++;
    } else result.unchanged++;
  }
  const gone = existing.filter((e) => !keep.has(e.code)).map((e) => e.id);
  if (gone.length) await db.delete(outsideContacts).where(inArray(outsideContacts.id, gone));
  result.removed = gone.length;
  return result;
}

/** Writes a receipt; a submit delivered again (same submission key) returns the one already written. */
export async function insertReceipt(db: Executor, row: Omit<OutsidePartyReceiptRow, 'id'>): Promise<{ row: OutsidePartyReceiptRow; inserted: boolean }> {
  const [inserted] = await db.insert(outsidePartyReceipts).values(row).onConflictDoNothing({ target: outsidePartyReceipts.submissionKey }).returning();
  if (inserted) return { row: inserted, inserted: true };
  const [earlier] = await db.select().from(outsidePartyReceipts).where(eq(outsidePartyReceipts.submissionKey, row.submissionKey!));
  return { row: earlier!, inserted: false };
}

/** An incident's receipts, oldest call first. */
export async function receiptsOfIncident(db: Executor, incidentId: string): Promise<OutsidePartyReceiptRow[]> {
  return db.select().from(outsidePartyReceipts).where(eq(outsidePartyReceipts.incidentId, incidentId)).orderBy(asc(outsidePartyReceipts.at), asc(outsidePartyReceipts.recordedAt));
}
