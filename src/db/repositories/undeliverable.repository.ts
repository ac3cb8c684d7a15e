/**
 * Notices nobody could receive (undeliverable_notices): written once per notice by the send path, read by
 * the daily digest (who could not be reached, and what they missed) and by /metrics.
 */
import { and, eq, gt, sql } from 'drizzle-orm';
import type { NoticeKind, TriedStaff } from '../../domain/index.js';
import type { Executor } from '../client.js';
import { incidents, staff, undeliverableNotices, units } from '../schema.js';

export type UndeliverableRow = typeof undeliverableNotices.$inferSelect;

export interface UndeliverableDraft {
  rootOutboxId: string;
  kind: NoticeKind | string;
  incidentId: string | null;
  subjectId: string | null;
  intendedStaffId: string;
  tried: readonly TriedStaff[];
  isDrill: boolean;
  at: Date;
}

/** Records a notice as undeliverable; a second record of the same notice changes nothing. True when written now. */
export async function recordUndeliverable(db: Executor, d: UndeliverableDraft): Promise<boolean> {
  const rows = await db
    .insert(undeliverableNotices)
    .values({
      rootOutboxId: d.rootOutboxId,
      kind: d.kind,
      incidentId: d.incidentId,
      subjectId: d.subjectId,
      intendedStaffId: d.intendedStaffId,
      tried: d.tried.map((t) => ({ staffId: t.staffId, reason: t.reason })),
      isDrill: d.isDrill,
      createdAt: d.at,
    })
    .onConflictDoNothing({ target: undeliverableNotices.rootOutboxId })
    .returning({ id: undeliverableNotices.id });
  return rows.length > 0;
}

export async function findUndeliverable(db: Executor, rootOutboxId: string): Promise<UndeliverableRow | undefined> {
  const [row] = await db.select().from(undeliverableNotices).where(eq(undeliverableNotices.rootOutboxId, rootOutboxId));
  return row;
}

/** One record as the digest shows it: the person it was for (name and unit) and the incident's number. */
export interface UndeliverableEntry {
  kind: string;
  intendedStaffId: string;
  intendedName: string;
  intendedUnit: string;
  incidentNumber: string | null;
  isDrill: boolean;
  tried: TriedStaff[];
  at: Date;
}

/** Records written after `since`, oldest first, with names read now (the record holds ids only). */
export async function undeliverableSince(db: Executor, since: Date): Promise<UndeliverableEntry[]> {
  const rows = await db
    .select({
      kind: undeliverableNotices.kind,
      intendedStaffId: undeliverableNotices.intendedStaffId,
      intendedName: staff.name,
      intendedUnit: units.name,
      incidentNumber: incidents.number,
      isDrill: undeliverableNotices.isDrill,
      tried: undeliverableNotices.tried,
      at: undeliverableNotices.createdAt,
    })
    .from(undeliverableNotices)
    .innerJoin(staff, eq(staff.id, undeliverableNotices.intendedStaffId))
    .leftJoin(units, eq(units.id, staff.unitId))
    .leftJoin(incidents, eq(incidents.id, undeliverableNotices.incidentId))
    .where(gt(undeliverableNotices.createdAt, since))
    .orderBy(undeliverableNotices.createdAt);
  return rows.map((r) => ({ ...r, intendedUnit: r.intendedUnit ?? '', tried: (r.tried as TriedStaff[]) ?? [] }));
}

/** Records written after `since`, by notice kind (for /metrics; counts only). */
export async function undeliverableCounts(db: Executor, since: Date): Promise<Array<{ kind: string; count: number }>> {
  return db
    .select({ kind: undeliverableNotices.kind, count: sql<number>`count(*)::int` })
    .from(undeliverableNotices)
    .where(and(gt(undeliverableNotices.createdAt, since)))
    .groupBy(undeliverableNotices.kind);
}
