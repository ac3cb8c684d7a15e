/**
 * Who owes a daily contact besides an absence: the subjects of epidemic 情形三 incidents (外出期间红黄码),
 * while the incident is open (四(九): "司法所应当每日与外出人员保持联系"). Drills put nobody on contact.
 */
import { and, eq, gte, inArray, isNotNull, isNull, ne, or } from 'drizzle-orm';
import type { Executor } from '../client.js';
import { incidents, subjects } from '../schema.js';
import type { AwaySubjectRef } from './absence.repository.js';
import { absencesOn } from './absence.repository.js';

const epidemicWatch = and(eq(incidents.type, 'epidemic'), eq(incidents.scenario, 's3'), eq(incidents.isDrill, false), isNotNull(incidents.subjectId));

/** Subjects of open epidemic 情形三 incidents whose supervision has not ended, each once. */
export async function subjectsOnEpidemicWatch(db: Executor): Promise<AwaySubjectRef[]> {
  const rows = await db
    .selectDistinct({ subjectId: subjects.id, officeUnitId: subjects.officeUnitId, responsibleStaffId: subjects.responsibleStaffId, code: subjects.code })
    .from(incidents)
    .innerJoin(subjects, eq(subjects.id, incidents.subjectId))
    .where(and(epidemicWatch, isNull(incidents.closedAt), ne(subjects.status, 'terminated')))
    .orderBy(subjects.code);
  return rows.map(({ subjectId, officeUnitId, responsibleStaffId }) => ({ subjectId, officeUnitId, responsibleStaffId }));
}

/** The epidemic 情形三 incidents of these subjects open at some time since `since` (reported, closed). */
export async function epidemicWatchesOf(
  db: Executor,
  subjectIds: readonly string[],
  since: Date,
): Promise<Array<{ id: string; subjectId: string; reportedAt: Date; closedAt: Date | null }>> {
  if (subjectIds.length === 0) return [];
  const rows = await db
    .select({ id: incidents.id, subjectId: incidents.subjectId, reportedAt: incidents.reportedAt, closedAt: incidents.closedAt })
    .from(incidents)
    .where(and(epidemicWatch, inArray(incidents.subjectId, [...subjectIds]), or(isNull(incidents.closedAt), gte(incidents.closedAt, since))));
  return rows.map((r) => ({ ...r, subjectId: r.subjectId! }));
}

/** Everyone owed a contact on the local date: away on an absence, or on an epidemic watch; each once, absences first. */
export async function subjectsOwedContactOn(db: Executor, date: string): Promise<AwaySubjectRef[]> {
  const seen = new Set<string>();
  const out: AwaySubjectRef[] = [];
  const away = (await absencesOn(db, date, { supervisedOnly: true })).map(({ subject: s }) => ({ subjectId: s.id, officeUnitId: s.officeUnitId, responsibleStaffId: s.responsibleStaffId }));
  for (const s of [...away, ...(await subjectsOnEpidemicWatch(db))]) {
    if (seen.has(s.subjectId)) continue;
    seen.add(s.subjectId);
    out.push(s);
  }
  return out;
}

/** Whether the subject owes a contact on the local date: away on an absence, or an epidemic 情形三 incident open. */
export async function owesDailyContactOn(db: Executor, subjectId: string, date: string): Promise<boolean> {
  if ((await absencesOn(db, date, { subjectIds: [subjectId] })).length > 0) return true;
  return (await subjectsOnEpidemicWatch(db)).some((s) => s.subjectId === subjectId);
}
