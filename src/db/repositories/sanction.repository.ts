/** The sanctions (处罚) recorded for incidents. */
import { and, asc, eq, gte, lt } from 'drizzle-orm';
import type { Executor } from '../client.js';
import { incidents, sanctions } from '../schema.js';

export type SanctionRow = typeof sanctions.$inferSelect;

/** Writes a sanction; a submit delivered again (same submission key) returns the one already written. */
export async function insertSanction(db: Executor, row: Omit<SanctionRow, 'id'>): Promise<{ row: SanctionRow; inserted: boolean }> {
  const [inserted] = await db.insert(sanctions).values(row).onConflictDoNothing({ target: sanctions.submissionKey }).returning();
  if (inserted) return { row: inserted, inserted: true };
  const [earlier] = await db.select().from(sanctions).where(eq(sanctions.submissionKey, row.submissionKey!));
  return { row: earlier!, inserted: false };
}

/** A sanction, locked for its decision to change. */
export async function lockSanction(db: Executor, id: string): Promise<SanctionRow | undefined> {
  const [row] = await db.select().from(sanctions).where(eq(sanctions.id, id)).for('update');
  return row;
}

export async function findSanction(db: Executor, id: string): Promise<SanctionRow | undefined> {
  const [row] = await db.select().from(sanctions).where(eq(sanctions.id, id));
  return row;
}

export async function updateSanction(db: Executor, id: string, patch: Partial<Pick<SanctionRow, 'decision' | 'decidedAt' | 'decidedByStaffId' | 'updatedAt'>>): Promise<SanctionRow> {
  const [row] = await db.update(sanctions).set(patch).where(eq(sanctions.id, id)).returning();
  return row!;
}

/** An incident's sanctions, in the order they were proposed. */
export async function sanctionsOfIncident(db: Executor, incidentId: string): Promise<SanctionRow[]> {
  return db.select().from(sanctions).where(eq(sanctions.incidentId, incidentId)).orderBy(asc(sanctions.proposedAt));
}

/** Sanctions proposed within [from, to), drills left out, with their incident's office. */
export async function sanctionsProposedBetween(db: Executor, from: Date, to: Date): Promise<Array<{ sanction: SanctionRow; officeUnitId: string }>> {
  const rows = await db
    .select({ sanction: sanctions, officeUnitId: incidents.officeUnitId })
    .from(sanctions)
    .innerJoin(incidents, eq(incidents.id, sanctions.incidentId))
    .where(and(gte(sanctions.proposedAt, from), lt(sanctions.proposedAt, to), eq(incidents.isDrill, false)))
    .orderBy(asc(sanctions.proposedAt));
  return rows;
}
