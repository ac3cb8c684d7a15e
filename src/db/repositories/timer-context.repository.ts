/**
 * The reads a firing timer's decision needs (decideTimer in src/domain): whether the people it would
 * tell have heard of the incident already, the written report's stage, and a subject's day.
 */
import { and, eq, inArray, isNull, ne } from 'drizzle-orm';
import type { NoticeKind } from '../../domain/index.js';
import type { Executor } from '../client.js';
import { contactLogs, outbox, subjects, writtenReports } from '../schema.js';
import { owesDailyContactOn } from './contact-duty.repository.js';

/** Kinds that tell a person about an incident: whoever had one of these has been informed. */
// Each of these tells its recipient of the incident itself: the activation and a change of level go to HQ,
// a proposal to 总指挥 and 副总指挥, so a leader who got one knows of the incident as much as one forwarded it.
const INFORMING_KINDS: readonly NoticeKind[] = ['incident_reported', 'ack_escalation', 'inform_level', 'forwarded_up', 'plan_activated', 'level_changed', 'proposal_sent'];

/** Who of these already had a message (sent or still to send) that told them about the incident; a duty group's copy is not theirs. */
export async function informedOf(db: Executor, incidentId: string, staffIds: readonly string[]): Promise<Set<string>> {
  if (staffIds.length === 0) return new Set();
  const rows = await db
    .select({ id: outbox.recipientStaffId })
    .from(outbox)
    .where(and(eq(outbox.incidentId, incidentId), inArray(outbox.recipientStaffId, [...staffIds]), inArray(outbox.kind, [...INFORMING_KINDS]), ne(outbox.status, 'dead'), isNull(outbox.recipientGroupId)));
  return new Set(rows.map((r) => r.id));
}

export async function findWrittenReportStage(db: Executor, incidentId: string): Promise<{ stage: string; dueAt: Date | null } | undefined> {
  const [row] = await db.select({ stage: writtenReports.stage, dueAt: writtenReports.dueAt }).from(writtenReports).where(eq(writtenReports.incidentId, incidentId));
  return row;
}

/** What a contact check needs of its subject: status, office and responsible officer. */
export async function findSubjectForCheck(
  db: Executor,
  subjectId: string,
): Promise<{ id: string; status: string; officeUnitId: string; responsibleStaffId: string | null } | undefined> {
  const [row] = await db
    .select({ id: subjects.id, status: subjects.status, officeUnitId: subjects.officeUnitId, responsibleStaffId: subjects.responsibleStaffId })
    .from(subjects)
    .where(eq(subjects.id, subjectId));
  return row;
}

/**
 * Whether the subject owes a contact on the local date (YYYY-MM-DD): an approved stay not returned from
 * covers it, or an epidemic 情形三 incident of theirs is open. The 18:00 checks fire for either.
 */
export function isAwayOn(db: Executor, subjectId: string, date: string): Promise<boolean> {
  return owesDailyContactOn(db, subjectId, date);
}

/** Whether any contact was logged for the subject on the local date. */
export async function hasContactOn(db: Executor, subjectId: string, date: string): Promise<boolean> {
  const [row] = await db
    .select({ id: contactLogs.id })
    .from(contactLogs)
    .where(and(eq(contactLogs.subjectId, subjectId), eq(contactLogs.localDate, date)))
    .limit(1);
  return row !== undefined;
}
