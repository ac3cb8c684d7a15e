/**
 * Subjects (社区矫正对象). Names and ID numbers are stored encrypted; these functions return the rows as
 * stored, and decrypting is the caller's (src/services/subject.service.ts).
 */
import { and, eq, inArray, ne, type SQL } from 'drizzle-orm';
import type { Executor } from '../client.js';
import { OPEN_STATUSES } from '../../domain/index.js';
import { incidents, subjects } from '../schema.js';

export type SubjectRow = typeof subjects.$inferSelect;
export type NewSubjectRow = typeof subjects.$inferInsert;

export async function findSubject(db: Executor, id: string): Promise<SubjectRow | undefined> {
  const [row] = await db.select().from(subjects).where(eq(subjects.id, id));
  return row;
}

/** Locks the subject row for the rest of the transaction, so concurrent changes of it serialise. */
export async function lockSubject(db: Executor, id: string): Promise<SubjectRow | undefined> {
  const [row] = await db.select().from(subjects).where(eq(subjects.id, id)).for('update');
  return row;
}

export async function findSubjectByCode(db: Executor, code: string): Promise<SubjectRow | undefined> {
  const [row] = await db.select().from(subjects).where(eq(subjects.code, code));
  return row;
}

/** Which subjects to list; every field given narrows the list. */
export interface SubjectFilter {
  ids?: readonly string[];
  codes?: readonly string[];
  statuses?: readonly string[];
  /** Leaves out subjects with this status (e.g. `terminated`). */
  notStatus?: string;
  officeUnitId?: string;
  responsibleStaffId?: string;
  idNumberHashes?: readonly string[];
}

/** Subjects matching the filter, by code. An empty list in the filter matches nothing. */
export async function listSubjects(db: Executor, filter: SubjectFilter = {}): Promise<SubjectRow[]> {
  const conds: SQL[] = [];
  for (const [column, values] of [
    [subjects.id, filter.ids],
    [subjects.code, filter.codes],
    [subjects.status, filter.statuses],
    [subjects.idNumberHash, filter.idNumberHashes],
  ] as const) {
    if (!values) continue;
    if (values.length === 0) return [];
    conds.push(inArray(column, [...values]));
  }
  if (filter.notStatus !== undefined) conds.push(ne(subjects.status, filter.notStatus));
  if (filter.officeUnitId !== undefined) conds.push(eq(subjects.officeUnitId, filter.officeUnitId));
  if (filter.responsibleStaffId !== undefined) conds.push(eq(subjects.responsibleStaffId, filter.responsibleStaffId));
  return db
    .select()
    .from(subjects)
    .where(conds.length ? and(...conds) : undefined)
    .orderBy(subjects.code);
}

export async function insertSubject(db: Executor, row: NewSubjectRow): Promise<SubjectRow> {
  const [inserted] = await db.insert(subjects).values(row).returning();
  return inserted!;
}

export async function updateSubject(db: Executor, id: string, patch: Partial<NewSubjectRow>): Promise<void> {
  await db.update(subjects).set(patch).where(eq(subjects.id, id));
}

/** Open real incidents of a type for the subject, by id (a drill is not about the real person). */
export async function openIncidentIdsOfSubject(db: Executor, subjectId: string, type: string): Promise<string[]> {
  const rows = await db
    .select({ id: incidents.id })
    .from(incidents)
    .where(and(eq(incidents.subjectId, subjectId), eq(incidents.type, type), eq(incidents.isDrill, false), inArray(incidents.status, [...OPEN_STATUSES])));
  return rows.map((r) => r.id);
}
