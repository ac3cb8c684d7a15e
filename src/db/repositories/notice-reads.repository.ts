/**
 * What drawing a notice reads, beyond the incident's card: names of the people it mentions, the update
 * or sign-off it is about, the steps still open, the subjects on a contact reminder. Ids in, plain rows
 * out; the renderer decides the words.
 */
import { and, eq, gte, inArray, isNull, lte } from 'drizzle-orm';
import type { Executor } from '../client.js';
import { absences, incidentSteps, incidentUpdates, publicReleases, subjects, units, writtenReportSignoffs } from '../schema.js';

export { staffNamesById } from './staff.repository.js';

export async function findIncidentUpdate(db: Executor, id: string): Promise<typeof incidentUpdates.$inferSelect | undefined> {
  const [row] = await db.select().from(incidentUpdates).where(eq(incidentUpdates.id, id));
  return row;
}

/** Required steps still pending, in playbook order. */
export async function pendingRequiredSteps(db: Executor, incidentId: string): Promise<Array<{ key: string; ordinal: number }>> {
  return db
    .select({ key: incidentSteps.key, ordinal: incidentSteps.ordinal })
    .from(incidentSteps)
    .where(and(eq(incidentSteps.incidentId, incidentId), eq(incidentSteps.required, true), eq(incidentSteps.state, 'pending')))
    .orderBy(incidentSteps.ordinal);
}

/** The comment of a written-report sign-off (a return's reason). */
export async function signoffComment(db: Executor, signoffId: string): Promise<string | null | undefined> {
  const [row] = await db.select({ comment: writtenReportSignoffs.comment }).from(writtenReportSignoffs).where(eq(writtenReportSignoffs.id, signoffId));
  return row?.comment;
}

/** Why a public release was sent back. */
export async function releaseReturnComment(db: Executor, releaseId: string): Promise<string | null | undefined> {
  const [row] = await db.select({ comment: publicReleases.returnComment }).from(publicReleases).where(eq(publicReleases.id, releaseId));
  return row?.comment;
}

/** A subject as a notice names them: code, encrypted name, office, responsible officer. */
export async function subjectForNotice(
  db: Executor,
  id: string,
): Promise<{ code: string; nameEnc: Buffer; officeUnitId: string; responsibleStaffId: string | null } | undefined> {
  const [row] = await db
    .select({ code: subjects.code, nameEnc: subjects.nameEnc, officeUnitId: subjects.officeUnitId, responsibleStaffId: subjects.responsibleStaffId })
    .from(subjects)
    .where(eq(subjects.id, id));
  return row;
}

export async function unitNames(db: Executor, id: string): Promise<{ name: string; nameEn: string | null } | undefined> {
  const [row] = await db.select({ name: units.name, nameEn: units.nameEn }).from(units).where(eq(units.id, id));
  return row;
}

/** Of these subjects, those away on the local date (an absence not cancelled covers it), by code, once each. */
export async function subjectsAwayAmong(db: Executor, ids: readonly string[], date: string): Promise<Array<{ id: string; code: string; nameEnc: Buffer; endsOn: string }>> {
  if (ids.length === 0) return [];
  const rows = await db
    .select({ id: subjects.id, code: subjects.code, nameEnc: subjects.nameEnc, endsOn: absences.endsOn })
    .from(subjects)
    .innerJoin(absences, and(eq(absences.subjectId, subjects.id), lte(absences.startsOn, date), gte(absences.endsOn, date), isNull(absences.cancelledAt)))
    .where(inArray(subjects.id, [...ids]))
    .orderBy(subjects.code);
  const seen = new Set<string>();
  return rows.filter((r) => !seen.has(r.id) && seen.add(r.id));
}
