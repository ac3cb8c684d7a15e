/**
 * Subjects within a staff member's reach: search by code, name or ID number, approved absences (外出)
 * and the daily contact they require. Names and ID numbers are decrypted here, for the chat to mask per
 * PII_MODE; they never go into audit data, logs or job payloads.
 */
import { and, desc, eq, gte, inArray, isNull, lte, ne } from 'drizzle-orm';
import { appendAudit } from '../db/repositories/audit.repository.js';
import { cancelTimers, insertTimers } from '../db/repositories/timer.repository.js';
import { absences, contactLogs, staff, subjects } from '../db/schema.js';
import {
  canSeeOffice,
  checkAbsenceDates,
  consecutiveFailedContacts,
  contactCheckTimers,
  hasBureauWideView,
  localDate,
  normaliseIdNumber,
  shouldSuggestAbsconding,
  timerKindsClosedBy,
  type Actor,
  type ContactResult,
} from '../domain/index.js';
import { ServiceRefusal } from './errors.js';
import { emptyChange, type ServiceDeps } from './ports.js';

type SubjectRow = typeof subjects.$inferSelect;
export type AbsenceRow = typeof absences.$inferSelect;
export type ContactLogRow = typeof contactLogs.$inferSelect;

/** A subject as the bot may show it: identity decrypted, to be masked by the renderer. */
export interface SubjectView {
  id: string;
  code: string;
  name: string;
  idNumber: string | null;
  officeUnitId: string;
  responsibleStaffId: string | null;
  status: string;
}

function decryptSubject(deps: Pick<ServiceDeps, 'cipher'>, row: SubjectRow): SubjectView {
  return {
    id: row.id,
    code: row.code,
    name: deps.cipher.decrypt(row.nameEnc),
    idNumber: row.idNumberEnc ? deps.cipher.decrypt(row.idNumberEnc) : null,
    officeUnitId: row.officeUnitId,
    responsibleStaffId: row.responsibleStaffId,
    status: row.status,
  };
}

/** Longest search text; anything longer is not a name or a code. */
const MAX_QUERY = 40;

/**
 * Finds subjects the actor may see (officers: their own office; the section and leaders: all): an exact
 * ID number by its keyed hash, else a code or a name containing the text. Terminated cases are left out.
 */
export async function searchSubjects(deps: Pick<ServiceDeps, 'db' | 'cipher'>, actor: Actor, query: string, limit = 8): Promise<SubjectView[]> {
  const q = query.trim();
  if (q === '' || q.length > MAX_QUERY) return [];
  const scope = [ne(subjects.status, 'terminated')];
  if (!hasBureauWideView(actor)) scope.push(eq(subjects.officeUnitId, actor.unitId));
  if (/^\d{17}[\dXx]$/.test(q)) {
    const rows = await deps.db
      .select()
      .from(subjects)
      .where(and(...scope, eq(subjects.idNumberHash, deps.cipher.lookupHash(normaliseIdNumber(q)))));
    return rows.map((r) => decryptSubject(deps, r));
  }
  // Names are encrypted, so matching happens here; a district has hundreds of subjects, not millions.
  const rows = await deps.db.select().from(subjects).where(and(...scope)).orderBy(subjects.code);
  const needle = q.toLowerCase();
  const out: SubjectView[] = [];
  for (const r of rows) {
    const view = decryptSubject(deps, r);
    if (view.code.toLowerCase().includes(needle) || view.name.toLowerCase().includes(needle)) out.push(view);
    if (out.length >= limit) break;
  }
  return out;
}

/** One subject, if the actor may see it. */
export async function getSubject(deps: Pick<ServiceDeps, 'db' | 'cipher'>, actor: Actor, subjectId: string): Promise<SubjectView> {
  const [row] = await deps.db.select().from(subjects).where(eq(subjects.id, subjectId));
  if (!row || !canSeeOffice(actor, row.officeUnitId)) throw new ServiceRefusal('not_found');
  return decryptSubject(deps, row);
}

/** Several subjects by id, without a permission check: for renderers whose caller already checked. */
export async function subjectsByIds(deps: Pick<ServiceDeps, 'db' | 'cipher'>, ids: readonly string[]): Promise<Map<string, SubjectView>> {
  if (ids.length === 0) return new Map();
  const rows = await deps.db.select().from(subjects).where(inArray(subjects.id, [...ids]));
  return new Map(rows.map((r) => [r.id, decryptSubject(deps, r)]));
}

export interface AbsenceInput {
  subjectId: string;
  destination: string;
  /** Local dates, YYYY-MM-DD. */
  startsOn: string;
  endsOn: string;
}

/**
 * Registers an approved absence. Daily contact is owed for each day of it; when it covers today, today's
 * 18:00 check is written now, since the 09:00 run that writes it may already have passed.
 */
export async function registerAbsence(deps: ServiceDeps, actor: Actor, input: AbsenceInput): Promise<AbsenceRow> {
  const destination = input.destination.trim();
  if (destination === '' || destination.length > 200) throw new ServiceRefusal('invalid_input', 'destination');
  const now = deps.clock.now();
  const today = localDate(now, deps.timeZone);
  const problem = checkAbsenceDates(input.startsOn, input.endsOn, today);
  if (problem) throw new ServiceRefusal('invalid_input', problem);
  const policy = await deps.policy();
  const result = await deps.db.transaction(async (tx) => {
    const [subject] = await tx.select().from(subjects).where(eq(subjects.id, input.subjectId)).for('update');
    if (!subject || !canSeeOffice(actor, subject.officeUnitId)) throw new ServiceRefusal('not_found');
    const [absence] = await tx
      .insert(absences)
      .values({ subjectId: subject.id, destination, startsOn: input.startsOn, endsOn: input.endsOn, approvedByStaffId: actor.staffId, createdByStaffId: actor.staffId, createdAt: now })
      .returning();
    const coversToday = input.startsOn <= today && today <= input.endsOn;
    const created = [];
    if (coversToday) {
      await tx.update(subjects).set({ status: 'away', updatedAt: now }).where(eq(subjects.id, subject.id));
      const specs = contactCheckTimers(subject.id, today, policy, deps.timeZone).filter((t) => t.dueAt.getTime() > now.getTime());
      created.push(...(await insertTimers(tx, specs)));
    }
    await appendAudit(tx, {
      at: now,
      action: 'absence.registered',
      entity: 'absence',
      entityId: absence!.id,
      actorStaffId: actor.staffId,
      data: { subjectId: subject.id, startsOn: input.startsOn, endsOn: input.endsOn },
    });
    return { absence: absence!, change: { ...emptyChange(), timersCreated: created } };
  });
  await deps.dispatcher.afterCommit(result.change);
  return result.absence;
}

export interface AwaySubject {
  subject: SubjectView;
  absence: AbsenceRow;
  /** Today's latest contact, if any. */
  lastContact: ContactLogRow | null;
}

/** Subjects away today (an approved absence covers today), within the actor's reach, with today's contact. */
export async function listAwayToday(deps: Pick<ServiceDeps, 'db' | 'cipher' | 'clock' | 'timeZone'>, actor: Actor): Promise<AwaySubject[]> {
  const today = localDate(deps.clock.now(), deps.timeZone);
  const conds = [lte(absences.startsOn, today), gte(absences.endsOn, today), isNull(absences.cancelledAt)];
  if (!hasBureauWideView(actor)) conds.push(eq(subjects.officeUnitId, actor.unitId));
  const rows = await deps.db
    .select({ absence: absences, subject: subjects })
    .from(absences)
    .innerJoin(subjects, eq(subjects.id, absences.subjectId))
    .where(and(...conds))
    .orderBy(subjects.code);
  if (rows.length === 0) return [];
  const logs = await deps.db
    .select()
    .from(contactLogs)
    .where(and(inArray(contactLogs.subjectId, rows.map((r) => r.subject.id)), eq(contactLogs.localDate, today)))
    .orderBy(desc(contactLogs.at));
  const seen = new Set<string>();
  return rows
    .filter((r) => !seen.has(r.subject.id) && seen.add(r.subject.id))
    .map((r) => ({ subject: decryptSubject(deps, r.subject), absence: r.absence, lastContact: logs.find((l) => l.subjectId === r.subject.id) ?? null }));
}

export interface ContactInput {
  result: ContactResult;
  note?: string | null;
}

export interface ContactOutcome {
  log: ContactLogRow;
  /** Failed contacts in a row, this one included. */
  failuresInARow: number;
  /** Failed contacts in a row reached the policy's threshold: offer to open an absconding incident. */
  suggestAbsconding: boolean;
}

/** Logs today's contact with a subject; it meets today's 18:00 check, so those timers close. */
export async function logContact(deps: ServiceDeps, actor: Actor, subjectId: string, input: ContactInput): Promise<ContactOutcome> {
  const note = input.note?.trim() || null;
  if (note && note.length > 1000) throw new ServiceRefusal('invalid_input', 'note');
  const now = deps.clock.now();
  const today = localDate(now, deps.timeZone);
  const policy = await deps.policy();
  const result = await deps.db.transaction(async (tx) => {
    const [subject] = await tx.select().from(subjects).where(eq(subjects.id, subjectId));
    if (!subject || !canSeeOffice(actor, subject.officeUnitId)) throw new ServiceRefusal('not_found');
    const [absence] = await tx
      .select({ id: absences.id })
      .from(absences)
      .where(and(eq(absences.subjectId, subjectId), lte(absences.startsOn, today), gte(absences.endsOn, today), isNull(absences.cancelledAt)))
      .limit(1);
    const [log] = await tx
      .insert(contactLogs)
      .values({ subjectId, absenceId: absence?.id ?? null, localDate: today, result: input.result, note, staffId: actor.staffId, at: now })
      .returning();
    const cancelled = await cancelTimers(tx, { subjectId, cycle: today }, timerKindsClosedBy('contact_logged'), now);
    const recent = await tx.select({ result: contactLogs.result }).from(contactLogs).where(eq(contactLogs.subjectId, subjectId)).orderBy(desc(contactLogs.at)).limit(10);
    await appendAudit(tx, {
      at: now,
      action: 'contact.logged',
      entity: 'contact_log',
      entityId: log!.id,
      actorStaffId: actor.staffId,
      data: { subjectId, result: input.result, localDate: today },
    });
    const results = recent.map((r) => r.result as ContactResult);
    return {
      log: log!,
      failuresInARow: consecutiveFailedContacts(results),
      suggestAbsconding: shouldSuggestAbsconding(results, policy.dailyContact.failuresBeforeAbsconding),
      change: { ...emptyChange(), timersCancelled: cancelled },
    };
  });
  await deps.dispatcher.afterCommit(result.change);
  return { log: result.log, failuresInARow: result.failuresInARow, suggestAbsconding: result.suggestAbsconding };
}

/** The active absence of a subject today, if any (for the subject view). */
export async function currentAbsence(deps: Pick<ServiceDeps, 'db' | 'clock' | 'timeZone'>, subjectId: string): Promise<AbsenceRow | undefined> {
  const today = localDate(deps.clock.now(), deps.timeZone);
  const [row] = await deps.db
    .select()
    .from(absences)
    .where(and(eq(absences.subjectId, subjectId), lte(absences.startsOn, today), gte(absences.endsOn, today), isNull(absences.cancelledAt)))
    .orderBy(desc(absences.createdAt))
    .limit(1);
  return row;
}

/** Name of a subject's responsible officer, for the subject view. */
export async function responsibleOfficerName(deps: Pick<ServiceDeps, 'db'>, staffId: string | null): Promise<string | null> {
  if (!staffId) return null;
  const [row] = await deps.db.select({ name: staff.name }).from(staff).where(eq(staff.id, staffId));
  return row?.name ?? null;
}
