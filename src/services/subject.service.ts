/**
 * Subjects within a staff member's reach: search by code, name or ID number, approved absences (外出)
 * and the daily contact they require. Names and ID numbers are decrypted here, for the chat to mask per
 * PII_MODE; they never go into audit data, logs or job payloads.
 */
import { absenceOn, absencesOn, insertAbsence, type AbsenceRow } from '../db/repositories/absence.repository.js';
import { appendAudit } from '../db/repositories/audit.repository.js';
import { contactsOn, insertContactLog, recentContacts, type ContactLogRow } from '../db/repositories/contact-log.repository.js';
import { findStaffById } from '../db/repositories/org.repository.js';
import { findSubject, listSubjects, lockSubject, updateSubject, type SubjectFilter, type SubjectRow } from '../db/repositories/subject.repository.js';
import { cancelTimers, insertTimers } from '../db/repositories/timer.repository.js';
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
  const scope: SubjectFilter = { notStatus: 'terminated', ...(hasBureauWideView(actor) ? {} : { officeUnitId: actor.unitId }) };
  if (/^\d{17}[\dXx]$/.test(q)) {
    const rows = await listSubjects(deps.db, { ...scope, idNumberHashes: [deps.cipher.lookupHash(normaliseIdNumber(q))] });
    return rows.map((r) => decryptSubject(deps, r));
  }
  // Names are encrypted, so matching happens here; a district has hundreds of subjects, not millions.
  const rows = await listSubjects(deps.db, scope);
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
  const row = await findSubject(deps.db, subjectId);
  if (!row || !canSeeOffice(actor, row.officeUnitId)) throw new ServiceRefusal('not_found');
  return decryptSubject(deps, row);
}

/** Several subjects by id, without a permission check: for renderers whose caller already checked. */
export async function subjectsByIds(deps: Pick<ServiceDeps, 'db' | 'cipher'>, ids: readonly string[]): Promise<Map<string, SubjectView>> {
  const rows = await listSubjects(deps.db, { ids });
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
    const subject = await lockSubject(tx, input.subjectId);
    if (!subject || !canSeeOffice(actor, subject.officeUnitId)) throw new ServiceRefusal('not_found');
    const absence = await insertAbsence(tx, {
      subjectId: subject.id,
      destination,
      startsOn: input.startsOn,
      endsOn: input.endsOn,
      approvedByStaffId: actor.staffId,
      createdByStaffId: actor.staffId,
      createdAt: now,
    });
    const coversToday = input.startsOn <= today && today <= input.endsOn;
    const created = [];
    if (coversToday) {
      await updateSubject(tx, subject.id, { status: 'away', updatedAt: now });
      const specs = contactCheckTimers(subject.id, today, policy, deps.timeZone).filter((t) => t.dueAt.getTime() > now.getTime());
      created.push(...(await insertTimers(tx, specs)));
    }
    await appendAudit(tx, {
      at: now,
      action: 'absence.registered',
      entity: 'absence',
      entityId: absence.id,
      actorStaffId: actor.staffId,
      data: { subjectId: subject.id, startsOn: input.startsOn, endsOn: input.endsOn },
    });
    return { absence, change: { ...emptyChange(), timersCreated: created } };
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
  const rows = await absencesOn(deps.db, today, hasBureauWideView(actor) ? {} : { officeUnitId: actor.unitId });
  if (rows.length === 0) return [];
  const logs = await contactsOn(deps.db, rows.map((r) => r.subject.id), today);
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
    const subject = await findSubject(tx, subjectId);
    if (!subject || !canSeeOffice(actor, subject.officeUnitId)) throw new ServiceRefusal('not_found');
    const absence = await absenceOn(tx, subjectId, today);
    const log = await insertContactLog(tx, { subjectId, absenceId: absence?.id ?? null, localDate: today, result: input.result, note, staffId: actor.staffId, at: now });
    const cancelled = await cancelTimers(tx, { subjectId, cycle: today }, timerKindsClosedBy('contact_logged'), now);
    const recent = await recentContacts(tx, subjectId, 10);
    await appendAudit(tx, {
      at: now,
      action: 'contact.logged',
      entity: 'contact_log',
      entityId: log.id,
      actorStaffId: actor.staffId,
      data: { subjectId, result: input.result, localDate: today },
    });
    const results = recent.map((r) => r.result as ContactResult);
    return {
      log,
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
  return absenceOn(deps.db, subjectId, today);
}

/** Name of a subject's responsible officer, for the subject view. */
export async function responsibleOfficerName(deps: Pick<ServiceDeps, 'db'>, staffId: string | null): Promise<string | null> {
  if (!staffId) return null;
  return (await findStaffById(deps.db, staffId))?.name ?? null;
}
