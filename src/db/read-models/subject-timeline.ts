/**
 * A subject's timeline, read once for the subject view: the incidents about the person, their absences
 * and requests (外出申请, 续假, 销假), the daily contacts, the screenings and the status changes from the
 * audit trail (脱管, found, 解矫, 执行地变更, 入矫). Plain entries, oldest first, with the names of the staff
 * they mention; no decisions and no rendering. The subject's own name stays encrypted.
 */
import { and, asc, desc, eq, inArray, like } from 'drizzle-orm';
import type { Executor } from '../client.js';
import { absenceRequests, absences, auditLog, contactLogs, incidents, screenings, staff, subjects } from '../schema.js';

export type SubjectTimelineEntry =
  | { kind: 'incident_reported'; at: Date; incidentId: string; number: string; type: string; scenario: string | null; status: string; isDrill: boolean; staffId: string }
  | { kind: 'incident_closed'; at: Date; incidentId: string; number: string; closure: string | null; staffId: string | null }
  | { kind: 'absence_requested'; at: Date; requestId: string; startsOn: string; endsOn: string; destination: string; extendsAbsenceId: string | null; level: string; staffId: string }
  | { kind: 'absence_rejected' | 'absence_withdrawn'; at: Date; requestId: string; staffId: string | null }
  | { kind: 'absence_approved'; at: Date; absenceId: string; startsOn: string; endsOn: string; destination: string; extendsAbsenceId: string | null; staffId: string | null }
  | { kind: 'absence_returned'; at: Date; absenceId: string; how: string | null; approvedEndsOn: string | null; staffId: string | null }
  | { kind: 'absence_cancelled'; at: Date; absenceId: string; reason: string | null; staffId: string | null }
  | { kind: 'contact'; at: Date; contactLogId: string; localDate: string; result: string; staffId: string }
  | { kind: 'screening'; at: Date; screeningId: string; result: string; staffId: string }
  | { kind: 'status'; at: Date; action: string; incidentId: string | null; data: Record<string, unknown>; staffId: string | null };

export interface SubjectTimelineView {
  subject: { id: string; code: string; nameEnc: Buffer; officeUnitId: string; responsibleStaffId: string | null; status: string };
  /** Oldest first; the newest `limit` entries when limited. */
  entries: SubjectTimelineEntry[];
  /** Names of everyone the entries mention, by staff id. */
  staffNames: Record<string, string>;
}

/** Status changes recorded in the trail for a subject (entity `subject`). */
const STATUS_ACTIONS = 'subject.%';

export async function loadSubjectTimeline(db: Executor, subjectId: string, opts: { limit?: number } = {}): Promise<SubjectTimelineView | undefined> {
  const [subject] = await db
    .select({ id: subjects.id, code: subjects.code, nameEnc: subjects.nameEnc, officeUnitId: subjects.officeUnitId, responsibleStaffId: subjects.responsibleStaffId, status: subjects.status })
    .from(subjects)
    .where(eq(subjects.id, subjectId));
  if (!subject) return undefined;
  const limit = opts.limit ?? 200;
  const [incidentRows, requestRows, stayRows, contactRows, screeningRows, statusRows] = await Promise.all([
    db.select().from(incidents).where(eq(incidents.subjectId, subjectId)).orderBy(desc(incidents.reportedAt)).limit(limit),
    db.select().from(absenceRequests).where(eq(absenceRequests.subjectId, subjectId)).orderBy(desc(absenceRequests.requestedAt)).limit(limit),
    db.select().from(absences).where(eq(absences.subjectId, subjectId)).orderBy(desc(absences.createdAt)).limit(limit),
    db.select().from(contactLogs).where(eq(contactLogs.subjectId, subjectId)).orderBy(desc(contactLogs.at)).limit(limit),
    db.select().from(screenings).where(eq(screenings.subjectId, subjectId)).orderBy(desc(screenings.at)).limit(limit),
    db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.entity, 'subject'), eq(auditLog.entityId, subjectId), like(auditLog.action, STATUS_ACTIONS)))
      .orderBy(desc(auditLog.id))
      .limit(limit),
  ]);

  const entries: SubjectTimelineEntry[] = [];
  for (const i of incidentRows) {
    entries.push({ kind: 'incident_reported', at: i.reportedAt, incidentId: i.id, number: i.number, type: i.type, scenario: i.scenario, status: i.status, isDrill: i.isDrill, staffId: i.reporterStaffId });
    if (i.closedAt) entries.push({ kind: 'incident_closed', at: i.closedAt, incidentId: i.id, number: i.number, closure: i.closure, staffId: i.closedByStaffId });
  }
  for (const r of requestRows) {
    entries.push({ kind: 'absence_requested', at: r.requestedAt, requestId: r.id, startsOn: r.startsOn, endsOn: r.endsOn, destination: r.destination, extendsAbsenceId: r.extendsAbsenceId, level: r.approverLevel, staffId: r.requestedByStaffId });
    if ((r.state === 'rejected' || r.state === 'withdrawn') && r.decidedAt) entries.push({ kind: r.state === 'rejected' ? 'absence_rejected' : 'absence_withdrawn', at: r.decidedAt, requestId: r.id, staffId: r.decidedByStaffId });
  }
  for (const a of stayRows) {
    entries.push({ kind: 'absence_approved', at: a.approvedAt ?? a.createdAt, absenceId: a.id, startsOn: a.startsOn, endsOn: a.approvedEndsOn ?? a.endsOn, destination: a.destination, extendsAbsenceId: a.extendsAbsenceId, staffId: a.approvedByStaffId });
    if (a.returnedAt) entries.push({ kind: 'absence_returned', at: a.returnedAt, absenceId: a.id, how: a.returnHow, approvedEndsOn: a.approvedEndsOn, staffId: a.returnedByStaffId });
    if (a.cancelledAt) entries.push({ kind: 'absence_cancelled', at: a.cancelledAt, absenceId: a.id, reason: a.cancelReason, staffId: a.cancelledByStaffId });
  }
  for (const c of contactRows) entries.push({ kind: 'contact', at: c.at, contactLogId: c.id, localDate: c.localDate, result: c.result, staffId: c.staffId });
  for (const s of screeningRows) entries.push({ kind: 'screening', at: s.at, screeningId: s.id, result: s.result, staffId: s.staffId });
  for (const a of statusRows) entries.push({ kind: 'status', at: a.at, action: a.action, incidentId: a.incidentId, data: a.data as Record<string, unknown>, staffId: a.actorStaffId });

  // Oldest first; ties keep the order written above (a request before its approval at the same instant).
  const ordered = entries.map((e, i) => ({ e, i })).sort((x, y) => x.e.at.getTime() - y.e.at.getTime() || x.i - y.i).map((x) => x.e);
  const kept = ordered.slice(-limit);
  const ids = [...new Set(kept.flatMap((e) => (e.staffId ? [e.staffId] : [])))];
  const names = ids.length ? await db.select({ id: staff.id, name: staff.name }).from(staff).where(inArray(staff.id, ids)).orderBy(asc(staff.code)) : [];
  return { subject, entries: kept, staffNames: Object.fromEntries(names.map((n) => [n.id, n.name])) };
}
