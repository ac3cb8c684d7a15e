/**
 * Absences (外出) and the requests that lead to them. An absence row is an approved stay: contact is owed
 * on every day in [startsOn, endsOn] of one not cancelled (an early return moves endsOn to the day of the
 * return), and the subject is away on those days before the day of the return.
 */
import { and, asc, desc, eq, gt, gte, inArray, isNull, lte, ne, or, type SQL } from 'drizzle-orm';
import type { Executor } from '../client.js';
import { absenceRequests, absences, subjects } from '../schema.js';
import type { SubjectRow } from './subject.repository.js';

export type AbsenceRow = typeof absences.$inferSelect;
export type NewAbsenceRow = typeof absences.$inferInsert;
export type AbsenceRequestRow = typeof absenceRequests.$inferSelect;
export type NewAbsenceRequestRow = typeof absenceRequests.$inferInsert;

export async function insertAbsence(db: Executor, row: NewAbsenceRow): Promise<AbsenceRow> {
  const [inserted] = await db.insert(absences).values(row).returning();
  return inserted!;
}

export async function findAbsence(db: Executor, id: string): Promise<AbsenceRow | undefined> {
  const [row] = await db.select().from(absences).where(eq(absences.id, id));
  return row;
}

export async function updateAbsence(db: Executor, id: string, patch: Partial<NewAbsenceRow>): Promise<AbsenceRow> {
  const [row] = await db.update(absences).set(patch).where(eq(absences.id, id)).returning();
  return row!;
}

/** Contact is owed on the local date (YYYY-MM-DD): the absence covers it and is not cancelled. */
const owes = (date: string): SQL => and(lte(absences.startsOn, date), gte(absences.endsOn, date), isNull(absences.cancelledAt))!;

/** Away on the local date: contact is owed, and the return (销假) was not recorded on that day or before. */
const awayOnDate = (date: string): SQL => and(owes(date), or(isNull(absences.returnedOn), gt(absences.returnedOn, date)))!;

/** The subject's latest absence they are away on at the local date, if any. */
export async function absenceOn(db: Executor, subjectId: string, date: string): Promise<AbsenceRow | undefined> {
  const [row] = await db
    .select()
    .from(absences)
    .where(and(eq(absences.subjectId, subjectId), awayOnDate(date)))
    .orderBy(desc(absences.createdAt))
    .limit(1);
  return row;
}

/**
 * Absences the subject is away on at the local date, with their subjects, by subject code (a subject with
 * two such absences comes twice). `officeUnitId` narrows to one office; `supervisedOnly` leaves out
 * terminated cases. A subject back that day (销假) is not away.
 */
export async function absencesOn(
  db: Executor,
  date: string,
  opts: { officeUnitId?: string; supervisedOnly?: boolean; subjectIds?: readonly string[] } = {},
): Promise<Array<{ absence: AbsenceRow; subject: SubjectRow }>> {
  const conds = [awayOnDate(date)];
  if (opts.officeUnitId !== undefined) conds.push(eq(subjects.officeUnitId, opts.officeUnitId));
  if (opts.supervisedOnly) conds.push(ne(subjects.status, 'terminated'));
  if (opts.subjectIds !== undefined) {
    if (opts.subjectIds.length === 0) return [];
    conds.push(inArray(absences.subjectId, [...opts.subjectIds]));
  }
  return db
    .select({ absence: absences, subject: subjects })
    .from(absences)
    .innerJoin(subjects, eq(subjects.id, absences.subjectId))
    .where(and(...conds))
    .orderBy(subjects.code);
}

export interface AwaySubjectRef {
  subjectId: string;
  officeUnitId: string;
  responsibleStaffId: string | null;
}

/** Subjects away on a local date (supervision not ended), each once, by code. */
export async function subjectsAwayOn(db: Executor, date: string): Promise<AwaySubjectRef[]> {
  const seen = new Set<string>();
  const out: AwaySubjectRef[] = [];
  for (const { subject: s } of await absencesOn(db, date, { supervisedOnly: true })) {
    if (seen.has(s.id)) continue;
    seen.add(s.id);
    out.push({ subjectId: s.id, officeUnitId: s.officeUnitId, responsibleStaffId: s.responsibleStaffId });
  }
  return out;
}

/** Subjects whose status says away or active, with whether an absence has them away on the date: for the status to follow. */
export async function subjectsToFollow(db: Executor, date: string): Promise<Array<{ id: string; status: string; awayToday: boolean }>> {
  const rows = await db.select({ id: subjects.id, status: subjects.status }).from(subjects).where(inArray(subjects.status, ['active', 'away']));
  const away = new Set((await absencesOn(db, date)).map((r) => r.subject.id));
  return rows.map((r) => ({ ...r, awayToday: away.has(r.id) }));
}

/** Absences not cancelled that owe contact on some day of [from, to], for these subjects. */
export async function absencesOwingBetween(db: Executor, subjectIds: readonly string[], from: string, to: string): Promise<AbsenceRow[]> {
  if (subjectIds.length === 0) return [];
  return db
    .select()
    .from(absences)
    .where(and(inArray(absences.subjectId, [...subjectIds]), lte(absences.startsOn, to), gte(absences.endsOn, from), isNull(absences.cancelledAt)));
}

/** A subject's absences, newest start first. */
export async function absencesOfSubject(db: Executor, subjectId: string): Promise<AbsenceRow[]> {
  return db.select().from(absences).where(eq(absences.subjectId, subjectId)).orderBy(desc(absences.startsOn), desc(absences.createdAt));
}

/** The extensions of a stay (absences that extend it), oldest first. */
export async function extensionsOf(db: Executor, absenceId: string): Promise<AbsenceRow[]> {
  return db.select().from(absences).where(eq(absences.extendsAbsenceId, absenceId)).orderBy(asc(absences.startsOn));
}

// ---------------------------------------------------------------------------------------------
// Requests (外出申请, 续假)

export async function insertAbsenceRequest(db: Executor, row: NewAbsenceRequestRow): Promise<AbsenceRequestRow> {
  const [inserted] = await db.insert(absenceRequests).values(row).returning();
  return inserted!;
}

export async function findAbsenceRequest(db: Executor, id: string): Promise<AbsenceRequestRow | undefined> {
  const [row] = await db.select().from(absenceRequests).where(eq(absenceRequests.id, id));
  return row;
}

/** Locks a request for the rest of the transaction, so it is decided once. */
export async function lockAbsenceRequest(db: Executor, id: string): Promise<AbsenceRequestRow | undefined> {
  const [row] = await db.select().from(absenceRequests).where(eq(absenceRequests.id, id)).for('update');
  return row;
}

/** Updates a request and bumps its version. */
export async function updateAbsenceRequest(db: Executor, current: Pick<AbsenceRequestRow, 'id' | 'version'>, patch: Partial<NewAbsenceRequestRow>): Promise<AbsenceRequestRow> {
  const [row] = await db
    .update(absenceRequests)
    .set({ ...patch, version: current.version + 1 })
    .where(eq(absenceRequests.id, current.id))
    .returning();
  return row!;
}

/** Requests still to decide, oldest first: of one office's subjects, at a level, or of these subjects. */
export async function pendingAbsenceRequests(
  db: Executor,
  opts: { officeUnitId?: string; level?: string; subjectIds?: readonly string[]; extendsAbsenceIds?: readonly string[] } = {},
): Promise<Array<{ request: AbsenceRequestRow; subject: SubjectRow }>> {
  const conds: SQL[] = [eq(absenceRequests.state, 'requested')];
  if (opts.officeUnitId !== undefined) conds.push(eq(subjects.officeUnitId, opts.officeUnitId));
  if (opts.level !== undefined) conds.push(eq(absenceRequests.approverLevel, opts.level));
  for (const [column, values] of [
    [absenceRequests.subjectId, opts.subjectIds],
    [absenceRequests.extendsAbsenceId, opts.extendsAbsenceIds],
  ] as const) {
    if (values === undefined) continue;
    if (values.length === 0) return [];
    conds.push(inArray(column, [...values]));
  }
  return db
    .select({ request: absenceRequests, subject: subjects })
    .from(absenceRequests)
    .innerJoin(subjects, eq(subjects.id, absenceRequests.subjectId))
    .where(and(...conds))
    .orderBy(asc(absenceRequests.requestedAt));
}

/** A subject's requests, newest first. */
export async function absenceRequestsOfSubject(db: Executor, subjectId: string): Promise<AbsenceRequestRow[]> {
  return db.select().from(absenceRequests).where(eq(absenceRequests.subjectId, subjectId)).orderBy(desc(absenceRequests.requestedAt));
}
