/**
 * The rows the accountability register (七(四)) reads besides the incident timelines: the month's
 * incidents, approved absences and the contacts logged for them, the manual findings (谎报、瞒报), and
 * the names and evidence rows a register cites.
 */
import { and, eq, gte, inArray, lt, lte } from 'drizzle-orm';
import type { Executor } from '../client.js';
import { absences, accountabilityFindings, auditLog, contactLogs, incidents, incidentSteps, incidentUpdates, staff, subjects, units } from '../schema.js';
import type { IncidentRow } from './incident.repository.js';

export type FindingRow = typeof accountabilityFindings.$inferSelect;
export type NewFindingRow = typeof accountabilityFindings.$inferInsert;

/** Real (non-drill) incidents reported in [from, to). */
export async function realIncidentsReportedBetween(db: Executor, from: Date, to: Date): Promise<IncidentRow[]> {
  return db
    .select()
    .from(incidents)
    .where(and(eq(incidents.isDrill, false), gte(incidents.reportedAt, from), lt(incidents.reportedAt, to)));
}

/** Absences overlapping the local dates [firstDay, lastDay], with their subject's office and officer. */
export async function absencesOverlapping(db: Executor, firstDay: string, lastDay: string) {
  return db
    .select({
      id: absences.id,
      subjectId: absences.subjectId,
      startsOn: absences.startsOn,
      endsOn: absences.endsOn,
      cancelledAt: absences.cancelledAt,
      officeUnitId: subjects.officeUnitId,
      responsibleStaffId: subjects.responsibleStaffId,
    })
    .from(absences)
    .innerJoin(subjects, eq(subjects.id, absences.subjectId))
    .where(and(lte(absences.startsOn, lastDay), gte(absences.endsOn, firstDay)));
}

/** The daily contacts logged for these subjects on the local dates [firstDay, lastDay]. */
export async function contactsLoggedBetween(db: Executor, subjectIds: readonly string[], firstDay: string, lastDay: string): Promise<Array<{ subjectId: string; localDate: string }>> {
  if (subjectIds.length === 0) return [];
  return db
    .select({ subjectId: contactLogs.subjectId, localDate: contactLogs.localDate })
    .from(contactLogs)
    .where(and(inArray(contactLogs.subjectId, [...subjectIds]), gte(contactLogs.localDate, firstDay), lte(contactLogs.localDate, lastDay)));
}

/** Manual findings recorded in [from, to), each with whether its incident is a drill (null: no incident). */
export async function findingsRecordedBetween(db: Executor, from: Date, to: Date): Promise<Array<{ finding: FindingRow; isDrill: boolean | null }>> {
  return db
    .select({ finding: accountabilityFindings, isDrill: incidents.isDrill })
    .from(accountabilityFindings)
    .leftJoin(incidents, eq(incidents.id, accountabilityFindings.incidentId))
    .where(and(gte(accountabilityFindings.at, from), lt(accountabilityFindings.at, to)));
}

export async function insertFinding(db: Executor, row: NewFindingRow): Promise<FindingRow> {
  const [inserted] = await db.insert(accountabilityFindings).values(row).returning();
  return inserted!;
}

/** The incident's audit row ids, oldest first. */
export async function auditIdsOfIncident(db: Executor, incidentId: string): Promise<number[]> {
  const rows = await db.select({ id: auditLog.id }).from(auditLog).where(eq(auditLog.incidentId, incidentId)).orderBy(auditLog.id);
  return rows.map((r) => Number(r.id));
}

/** Which of these audit rows belong to the incident. */
export async function auditIdsAmong(db: Executor, incidentId: string, ids: readonly number[]): Promise<number[]> {
  if (ids.length === 0) return [];
  const rows = await db
    .select({ id: auditLog.id })
    .from(auditLog)
    .where(and(eq(auditLog.incidentId, incidentId), inArray(auditLog.id, [...ids])));
  return rows.map((r) => Number(r.id));
}

/** Which of these steps belong to the incident. */
export async function stepIdsAmong(db: Executor, incidentId: string, ids: readonly string[]): Promise<string[]> {
  if (ids.length === 0) return [];
  const rows = await db
    .select({ id: incidentSteps.id })
    .from(incidentSteps)
    .where(and(eq(incidentSteps.incidentId, incidentId), inArray(incidentSteps.id, [...ids])));
  return rows.map((r) => r.id);
}

/** What a register names: units, people (with their unit), incident numbers and subject codes, by id. */
export async function registerNameRows(db: Executor, ids: { unitIds: readonly string[]; staffIds: readonly string[]; incidentIds: readonly string[]; subjectIds: readonly string[] }) {
  const [unitRows, staffRows, incidentRows, subjectRows] = await Promise.all([
    ids.unitIds.length ? db.select({ id: units.id, name: units.name, nameEn: units.nameEn }).from(units).where(inArray(units.id, [...ids.unitIds])) : Promise.resolve([]),
    ids.staffIds.length ? db.select({ id: staff.id, name: staff.name, unitId: staff.unitId }).from(staff).where(inArray(staff.id, [...ids.staffIds])) : Promise.resolve([]),
    ids.incidentIds.length ? db.select({ id: incidents.id, number: incidents.number }).from(incidents).where(inArray(incidents.id, [...ids.incidentIds])) : Promise.resolve([]),
    ids.subjectIds.length ? db.select({ id: subjects.id, code: subjects.code }).from(subjects).where(inArray(subjects.id, [...ids.subjectIds])) : Promise.resolve([]),
  ]);
  return { units: unitRows, staff: staffRows, incidents: incidentRows, subjects: subjectRows };
}

/** The steps (with their incident's type), progress reports and absences a register cites as evidence. */
export async function evidenceRows(db: Executor, ids: { stepIds: readonly string[]; updateIds: readonly string[]; absenceIds: readonly string[] }) {
  const [stepRows, updateRows, absenceRows] = await Promise.all([
    ids.stepIds.length
      ? db
          .select({ id: incidentSteps.id, key: incidentSteps.key, ordinal: incidentSteps.ordinal, type: incidents.type, scenario: incidents.scenario })
          .from(incidentSteps)
          .innerJoin(incidents, eq(incidents.id, incidentSteps.incidentId))
          .where(inArray(incidentSteps.id, [...ids.stepIds]))
      : Promise.resolve([]),
    ids.updateIds.length ? db.select({ id: incidentUpdates.id, at: incidentUpdates.at }).from(incidentUpdates).where(inArray(incidentUpdates.id, [...ids.updateIds])) : Promise.resolve([]),
    ids.absenceIds.length ? db.select({ id: absences.id, startsOn: absences.startsOn, endsOn: absences.endsOn }).from(absences).where(inArray(absences.id, [...ids.absenceIds])) : Promise.resolve([]),
  ]);
  return { steps: stepRows, updates: updateRows, absences: absenceRows };
}
