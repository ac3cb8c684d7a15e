/**
 * The written report (书面报告) rows: the report, its versions (every edit a new one), its sign-offs, and
 * what the .docx heading names.
 */
import { and, asc, eq, inArray } from 'drizzle-orm';
import type { Executor } from '../client.js';
import { countyNotifications, incidents, staff, subjects, writtenReports, writtenReportSignoffs, writtenReportVersions } from '../schema.js';
import type { IncidentRow } from './incident.repository.js';
import { findUnit, firstUnitOfKind, type UnitRow } from './org.repository.js';

export type WrittenReportRow = typeof writtenReports.$inferSelect;
export type NewWrittenReportRow = typeof writtenReports.$inferInsert;
export type WrittenReportVersionRow = typeof writtenReportVersions.$inferSelect;
export type NewWrittenReportVersionRow = typeof writtenReportVersions.$inferInsert;
export type WrittenReportSignoffRow = typeof writtenReportSignoffs.$inferSelect;
export type NewWrittenReportSignoffRow = typeof writtenReportSignoffs.$inferInsert;

export async function findWrittenReport(db: Executor, reportId: string): Promise<WrittenReportRow | undefined> {
  const [row] = await db.select().from(writtenReports).where(eq(writtenReports.id, reportId));
  return row;
}

export async function findWrittenReportOfIncident(db: Executor, incidentId: string): Promise<WrittenReportRow | undefined> {
  const [row] = await db.select().from(writtenReports).where(eq(writtenReports.incidentId, incidentId));
  return row;
}

/** Locks the report row for the rest of the transaction, so concurrent edits and sign-offs serialise. */
export async function lockWrittenReport(db: Executor, reportId: string): Promise<WrittenReportRow | undefined> {
  const [row] = await db.select().from(writtenReports).where(eq(writtenReports.id, reportId)).for('update');
  return row;
}

/** Inserts the incident's report; undefined when the incident has one already (one report per incident). */
export async function insertWrittenReport(db: Executor, row: NewWrittenReportRow): Promise<WrittenReportRow | undefined> {
  const [inserted] = await db.insert(writtenReports).values(row).onConflictDoNothing({ target: writtenReports.incidentId }).returning();
  return inserted;
}

export async function updateWrittenReport(db: Executor, reportId: string, patch: Partial<Pick<NewWrittenReportRow, 'stage' | 'currentVersion' | 'updatedAt'>>): Promise<void> {
  await db.update(writtenReports).set(patch).where(eq(writtenReports.id, reportId));
}

export async function insertReportVersion(db: Executor, row: NewWrittenReportVersionRow): Promise<void> {
  await db.insert(writtenReportVersions).values(row);
}

export async function findReportVersion(db: Executor, reportId: string, version: number): Promise<WrittenReportVersionRow | undefined> {
  const [row] = await db
    .select()
    .from(writtenReportVersions)
    .where(and(eq(writtenReportVersions.reportId, reportId), eq(writtenReportVersions.version, version)));
  return row;
}

/** Every version of the report, the first first. */
export async function reportVersions(db: Executor, reportId: string): Promise<WrittenReportVersionRow[]> {
  return db.select().from(writtenReportVersions).where(eq(writtenReportVersions.reportId, reportId)).orderBy(asc(writtenReportVersions.version));
}

export async function insertSignoff(db: Executor, row: NewWrittenReportSignoffRow): Promise<WrittenReportSignoffRow> {
  const [inserted] = await db.insert(writtenReportSignoffs).values(row).returning();
  return inserted!;
}

/** The report's sign-offs in the order given, each with the signer's name. */
export async function signoffsOf(db: Executor, reportId: string): Promise<Array<WrittenReportSignoffRow & { staffName: string }>> {
  const rows = await db
    .select({ s: writtenReportSignoffs, staffName: staff.name })
    .from(writtenReportSignoffs)
    .innerJoin(staff, eq(staff.id, writtenReportSignoffs.staffId))
    .where(eq(writtenReportSignoffs.reportId, reportId))
    .orderBy(asc(writtenReportSignoffs.at), asc(writtenReportSignoffs.id));
  return rows.map((r) => ({ ...r.s, staffName: r.staffName }));
}

/** How many times the section returned the report to the office (a return just written included). */
export async function countReturnsToOffice(db: Executor, reportId: string): Promise<number> {
  const rows = await db
    .select({ id: writtenReportSignoffs.id })
    .from(writtenReportSignoffs)
    .where(and(eq(writtenReportSignoffs.reportId, reportId), eq(writtenReportSignoffs.decision, 'returned'), eq(writtenReportSignoffs.stage, 'section')));
  return rows.length;
}

/** Reports at these stages with their incidents, the soonest due first. */
export async function reportsAtStages(db: Executor, stages: readonly string[]): Promise<Array<{ report: WrittenReportRow; incident: IncidentRow }>> {
  return db
    .select({ report: writtenReports, incident: incidents })
    .from(writtenReports)
    .innerJoin(incidents, eq(incidents.id, writtenReports.incidentId))
    .where(inArray(writtenReports.stage, [...stages]))
    .orderBy(asc(writtenReports.dueAt));
}

/** Whether other counties were named for the incident (五(一)): the report then has a section on them. */
export async function hasCountyNotifications(db: Executor, incidentId: string): Promise<boolean> {
  const rows = await db.select({ id: countyNotifications.id }).from(countyNotifications).where(eq(countyNotifications.incidentId, incidentId)).limit(1);
  return rows.length > 0;
}

/** What the .docx heading names: the bureau, the upper-level agency, the office, the reporter and the subject (still encrypted). */
export async function documentHeading(
  db: Executor,
  incident: Pick<IncidentRow, 'officeUnitId' | 'reporterStaffId' | 'subjectId'>,
): Promise<{ bureau: UnitRow | undefined; upper: UnitRow | undefined; office: UnitRow | undefined; reporterName: string; subject: { code: string; nameEnc: Buffer } | undefined }> {
  const [bureau, upper, office, [reporter], [subject]] = await Promise.all([
    firstUnitOfKind(db, 'bureau'),
    firstUnitOfKind(db, 'upper'),
    findUnit(db, incident.officeUnitId),
    db.select({ name: staff.name }).from(staff).where(eq(staff.id, incident.reporterStaffId)),
    incident.subjectId
      ? db.select({ code: subjects.code, nameEnc: subjects.nameEnc }).from(subjects).where(eq(subjects.id, incident.subjectId))
      : Promise.resolve([] as Array<{ code: string; nameEnc: Buffer }>),
  ]);
  return { bureau, upper, office, reporterName: reporter?.name ?? '', subject };
}
