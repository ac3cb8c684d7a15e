/** Approved absences (外出): daily contact is owed for every day an absence not cancelled covers. */
import { and, desc, eq, gte, isNull, lte, ne, type SQL } from 'drizzle-orm';
import type { Executor } from '../client.js';
import { absences, subjects } from '../schema.js';
import type { SubjectRow } from './subject.repository.js';

export type AbsenceRow = typeof absences.$inferSelect;
export type NewAbsenceRow = typeof absences.$inferInsert;

export async function insertAbsence(db: Executor, row: NewAbsenceRow): Promise<AbsenceRow> {
  const [inserted] = await db.insert(absences).values(row).returning();
  return inserted!;
}

/** Covers the local date (YYYY-MM-DD) and is not cancelled. */
const covers = (date: string): SQL => and(lte(absences.startsOn, date), gte(absences.endsOn, date), isNull(absences.cancelledAt))!;

/** The subject's latest absence covering the local date, if any. */
export async function absenceOn(db: Executor, subjectId: string, date: string): Promise<AbsenceRow | undefined> {
  const [row] = await db
    .select()
    .from(absences)
    .where(and(eq(absences.subjectId, subjectId), covers(date)))
    .orderBy(desc(absences.createdAt))
    .limit(1);
  return row;
}

/**
 * Absences covering the local date with their subjects, by subject code (a subject with two such absences
 * comes twice). `officeUnitId` narrows to one office; `supervisedOnly` leaves out terminated cases.
 */
export async function absencesOn(
  db: Executor,
  date: string,
  opts: { officeUnitId?: string; supervisedOnly?: boolean } = {},
): Promise<Array<{ absence: AbsenceRow; subject: SubjectRow }>> {
  const conds = [covers(date)];
  if (opts.officeUnitId !== undefined) conds.push(eq(subjects.officeUnitId, opts.officeUnitId));
  if (opts.supervisedOnly) conds.push(ne(subjects.status, 'terminated'));
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

/** Subjects an approved, not cancelled absence covers on a local date (supervision not ended), each once, by code. */
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
