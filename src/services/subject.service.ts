/**
 * Subjects within a staff member's reach, and their status following events: search (by code, name, a
 * whole ID number or its last four characters), "my subjects", the timeline, 入矫, 执行地变更 and 解矫,
 * the daily contacts logged, and what an incident does to its subject (脱管 and found, a death's
 * termination, an epidemic 情形三 putting them on daily contact). Names and ID numbers are decrypted
 * here, for the chat to mask per PII_MODE; they never go into audit data, logs or job payloads.
 */
import type { Executor } from '../db/client.js';
import { absenceOn, absencesOfSubject, absencesOn, absencesOwingBetween, pendingAbsenceRequests, updateAbsenceRequest, type AbsenceRow } from '../db/repositories/absence.repository.js';
import { appendAudit } from '../db/repositories/audit.repository.js';
import { contactResultsBetween, contactsOn, insertContactLog, type ContactLogRow } from '../db/repositories/contact-log.repository.js';
import { epidemicWatchesOf } from '../db/repositories/contact-duty.repository.js';
import { subjectsWithOpenIncident } from '../db/repositories/incident.repository.js';
import type { IncidentRow } from '../db/repositories/incident.repository.js';
import { findStaffById, findUnit, loadOrgSnapshot } from '../db/repositories/org.repository.js';
import { enqueueNotices } from '../db/repositories/outbox.repository.js';
import { cancelAllSubjectTimers } from '../db/repositories/process-timer.repository.js';
import { findSubject, findSubjectByCode, insertSubject, listSubjects, lockSubject, openIncidentIdsOfSubject, updateSubject, type SubjectFilter, type SubjectRow } from '../db/repositories/subject.repository.js';
import { cancelTimers } from '../db/repositories/timer.repository.js';
import { loadSubjectTimeline, type SubjectTimelineView } from '../db/read-models/subject-timeline.js';
import { contactDays, decideMissedRun, epidemicWatchOwes, isEpidemicWatch, missedDaysInARow, streakLookback, type MissedRun } from '../domain/daily-contact.js';
import {
  addDays,
  atLocalTime,
  canSeeOffice,
  hasBureauWideView,
  idNumberProblem,
  isSection,
  keepsSubjectRecords,
  localDate,
  normaliseIdNumber,
  statusOnAbsconding,
  statusOnFound,
  subjectPiiModeFor,
  TERMINATING_STEP_KEYS,
  TERMINATION_REASONS,
  timerKindsClosedBy,
  type Actor,
  type ChatKind,
  type ContactResult,
  type EscalationPolicy,
  type PiiMode,
  type TerminationReason,
  type TimerTarget,
} from '../domain/index.js';
import { endStayTx, startTodaysDuty, subjectNotices, subjectTargets } from './absence.service.js';
import { ServiceRefusal } from './errors.js';
import { emptyChange, type CommittedChange, type ServiceDeps } from './ports.js';

export { registerAbsence, type AbsenceRequestInput as AbsenceInput } from './absence.service.js';

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

type Change = ReturnType<typeof emptyChange>;

const OFFICE_HEAD: TimerTarget = { kind: 'position', position: 'office_head', scope: 'office' };
const SECTION: TimerTarget = { kind: 'position', position: 'section', scope: 'bureau' };
const OFFICER: TimerTarget = { kind: 'responsible_officer' };

/** Longest search text; anything longer is not a name or a code. */
const MAX_QUERY = 40;

/**
 * Finds subjects the actor may see (officers: their own office; the section and leaders: all): an exact
 * ID number by its keyed hash; the last four characters of an ID number (`1234`, `123X`); else a code or
 * a name containing the text. Terminated cases are left out.
 */
export async function searchSubjects(deps: Pick<ServiceDeps, 'db' | 'cipher'>, actor: Actor, query: string, limit = 8): Promise<SubjectView[]> {
  const q = query.trim();
  if (q === '' || q.length > MAX_QUERY) return [];
  const scope: SubjectFilter = { notStatus: 'terminated', ...(hasBureauWideView(actor) ? {} : { officeUnitId: actor.unitId }) };
  if (/^\d{17}[\dXx]$/.test(q)) {
    const rows = await listSubjects(deps.db, { ...scope, idNumberHashes: [deps.cipher.lookupHash(normaliseIdNumber(q))] });
    return rows.map((r) => decryptSubject(deps, r));
  }
  // Names and ID numbers are encrypted, so matching happens here; a district has hundreds of subjects, not millions.
  const rows = await listSubjects(deps.db, scope);
  const views = rows.map((r) => decryptSubject(deps, r));
  const out: SubjectView[] = [];
  if (/^\d{3}[\dXx]$/.test(q)) {
    const tail = q.toUpperCase();
    for (const v of views) if (v.idNumber?.toUpperCase().endsWith(tail)) out.push(v);
  }
  const needle = q.toLowerCase();
  for (const v of views) {
    if (out.length >= limit) break;
    if (out.includes(v)) continue;
    if (v.code.toLowerCase().includes(needle) || v.name.toLowerCase().includes(needle)) out.push(v);
  }
  return out.slice(0, limit);
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

/**
 * How much of this subject's name the viewer sees in a chat of this kind: the deployment's PII_MODE,
 * or the full name for the responsible officer in a private chat when the bureau allows it
 * (`subjectNames.responsibleOfficerSeesFullName`, default no).
 */
export async function subjectPiiMode(deps: Pick<ServiceDeps, 'piiMode' | 'policy'>, actor: Actor, subject: Pick<SubjectView, 'responsibleStaffId'>, chat: ChatKind): Promise<PiiMode> {
  return subjectPiiModeFor(deps.piiMode, await deps.policy(), actor, subject, chat);
}

export interface MySubject {
  subject: SubjectView;
  /** The stay they are away on today, if any. */
  absence: AbsenceRow | null;
  /** Today's latest contact, if any. */
  lastContact: ContactLogRow | null;
}

/** 我的对象: the subjects this person is the responsible officer of, supervision not ended, by code. */
export async function mySubjects(deps: Pick<ServiceDeps, 'db' | 'cipher' | 'clock' | 'timeZone'>, actor: Actor): Promise<MySubject[]> {
  const today = localDate(deps.clock.now(), deps.timeZone);
  const rows = await listSubjects(deps.db, { responsibleStaffId: actor.staffId, notStatus: 'terminated' });
  if (rows.length === 0) return [];
  const ids = rows.map((r) => r.id);
  const [away, logs] = await Promise.all([absencesOn(deps.db, today, { subjectIds: ids }), contactsOn(deps.db, ids, today)]);
  return rows.map((r) => ({
    subject: decryptSubject(deps, r),
    absence: away.find((a) => a.subject.id === r.id)?.absence ?? null,
    lastContact: logs.find((l) => l.subjectId === r.id) ?? null,
  }));
}

/** The subject's timeline (incidents, absences and requests, contacts, screenings, status changes), oldest first. */
export async function subjectTimeline(deps: Pick<ServiceDeps, 'db'>, actor: Actor, subjectId: string, opts: { limit?: number } = {}): Promise<SubjectTimelineView> {
  const row = await findSubject(deps.db, subjectId);
  if (!row || !canSeeOffice(actor, row.officeUnitId)) throw new ServiceRefusal('not_found');
  return (await loadSubjectTimeline(deps.db, subjectId, opts))!;
}

export interface AwaySubject {
  subject: SubjectView;
  absence: AbsenceRow;
  /** Today's latest contact, if any. */
  lastContact: ContactLogRow | null;
}

/** Subjects away today (an approved stay covers today, not returned), within the actor's reach, with today's contact. */
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

/** The stay a subject is away on today, if any (for the subject view). */
export async function currentAbsence(deps: Pick<ServiceDeps, 'db' | 'clock' | 'timeZone'>, subjectId: string): Promise<AbsenceRow | undefined> {
  return absenceOn(deps.db, subjectId, localDate(deps.clock.now(), deps.timeZone));
}

/** Name of a subject's responsible officer, for the subject view. */
export async function responsibleOfficerName(deps: Pick<ServiceDeps, 'db'>, staffId: string | null): Promise<string | null> {
  if (!staffId) return null;
  return (await findStaffById(deps.db, staffId))?.name ?? null;
}

// ---------------------------------------------------------------------------------------------
// Daily contact: logging one, and the days in a row without a reached contact.

export interface ContactInput {
  result: ContactResult;
  note?: string | null;
}

export interface ContactOutcome {
  log: ContactLogRow;
  /** Days in a row, today included once it has failed, without a reached contact (0 after a reached one). */
  failuresInARow: number;
  /** The run of missed days, with its first day. */
  missed: MissedRun;
  /** The run reached the bureau's threshold: offer to open an absconding incident (offerAbscondingIfDue). */
  suggestAbsconding: boolean;
  /** "情况异常": the office head and the section were alerted at once. */
  alerted: number;
}

/**
 * Logs today's contact with a subject; it meets today's 18:00 check, so those timers close. "情况异常"
 * alerts the office head and the section at once (the note is read from the log when the notice is
 * drawn). The missed days are counted again, so the reply can offer the absconding report.
 */
export async function logContact(deps: ServiceDeps, actor: Actor, subjectId: string, input: ContactInput): Promise<ContactOutcome> {
  const note = input.note?.trim() || null;
  if (note && note.length > 1000) throw new ServiceRefusal('invalid_input', 'note');
  const now = deps.clock.now();
  const today = localDate(now, deps.timeZone);
  const policy = await deps.policy();
  const result = await deps.db.transaction(async (tx) => {
    const subject = await lockSubject(tx, subjectId);
    if (!subject || !canSeeOffice(actor, subject.officeUnitId)) throw new ServiceRefusal('not_found');
    if (!keepsSubjectRecords(actor)) throw new ServiceRefusal('not_permitted');
    if (subject.status === 'terminated') throw new ServiceRefusal('wrong_status', 'supervision_ended');
    const absence = await absenceOn(tx, subjectId, today);
    const log = await insertContactLog(tx, { subjectId, absenceId: absence?.id ?? null, localDate: today, result: input.result, note, staffId: actor.staffId, at: now });
    const cancelled = await cancelTimers(tx, { subjectId, cycle: today }, timerKindsClosedBy('contact_logged'), now);
    const change = merge(emptyChange(), { timersCancelled: cancelled });
    if (input.result === 'abnormal') {
      const org = await loadOrgSnapshot(tx);
      const to = subjectTargets(org, subject, [OFFICE_HEAD, SECTION]);
      change.outboxCreated.push(...(await enqueueNotices(tx, subjectNotices(to, 'contact_abnormal', subjectId, log.id, { exclude: actor.staffId, params: { contactLogId: log.id, byStaffId: actor.staffId } }))));
    }
    await appendAudit(tx, {
      at: now,
      action: 'contact.logged',
      entity: 'contact_log',
      entityId: log.id,
      actorStaffId: actor.staffId,
      data: { subjectId, result: input.result, localDate: today },
    });
    const missed = (await missedRunsOf(tx, [subject], { now, timeZone: deps.timeZone, policy })).get(subject.id)!;
    const open = (await subjectsWithOpenIncident(tx, 'absconding', [subjectId])).has(subjectId);
    const decision = decideMissedRun(missed, policy.dailyContact, { abscondingOpen: open || subject.status === 'absconded' });
    return { log, missed, suggestAbsconding: decision.offerAbsconding, alerted: change.outboxCreated.length, change };
  });
  await deps.dispatcher.afterCommit(result.change);
  return { log: result.log, failuresInARow: result.missed.days, missed: result.missed, suggestAbsconding: result.suggestAbsconding, alerted: result.alerted };
}

export interface MissedRunContext {
  now: Date;
  timeZone: string;
  policy: EscalationPolicy;
}

/**
 * Each subject's run of days without a reached contact, counted back from today: a day counts when
 * contact was owed (an approved stay covered it, or an epidemic 情形三 incident was open at its check)
 * and its check has passed (or an attempt failed) with no reached contact logged.
 */
export async function missedRunsOf(tx: Executor, subjects: ReadonlyArray<Pick<SubjectRow, 'id'>>, ctx: MissedRunContext): Promise<Map<string, MissedRun>> {
  const today = localDate(ctx.now, ctx.timeZone);
  const lookback = streakLookback(ctx.policy.dailyContact);
  const from = addDays(today, -lookback);
  const ids = subjects.map((s) => s.id);
  const [stays, watches, logs] = await Promise.all([
    absencesOwingBetween(tx, ids, from, today),
    epidemicWatchesOf(tx, ids, atLocalTime(from, '00:00', ctx.timeZone)),
    contactResultsBetween(tx, ids, from, today),
  ]);
  const checkAt = (date: string) => atLocalTime(date, ctx.policy.dailyContact.checkAt, ctx.timeZone);
  const out = new Map<string, MissedRun>();
  for (const id of ids) {
    const mine = stays.filter((a) => a.subjectId === id);
    const epidemic = watches.filter((w) => w.subjectId === id);
    const days = contactDays({
      today,
      lookback,
      owed: (d) => mine.some((a) => a.startsOn <= d && d <= a.endsOn) || epidemic.some((w) => epidemicWatchOwes(w, checkAt(d))),
      logs: logs.filter((l) => l.subjectId === id),
      checked: (d) => checkAt(d).getTime() <= ctx.now.getTime(),
    });
    out.set(id, missedDaysInARow(days));
  }
  return out;
}

function merge(into: Change, more: Partial<CommittedChange>): Change {
  into.timersCreated.push(...(more.timersCreated ?? []));
  into.timersCancelled.push(...(more.timersCancelled ?? []));
  into.outboxCreated.push(...(more.outboxCreated ?? []));
  return into;
}

// ---------------------------------------------------------------------------------------------
// What an incident does to its subject. Called inside the incident's own transaction, so the change and
// the subject's status commit together. A drill, or an incident without a subject, does nothing.

export type IncidentSubjectEvent =
  /** Reported: absconding sets 脱管; epidemic 情形三 puts the subject on daily contact from now. */
  | { kind: 'reported' }
  /** A playbook step done: the death procedure's 终止社区矫正 ends supervision. */
  | { kind: 'step_done'; stepKey: string }
  /** 四(四): found (ordered to report, or brought back): back to the status before. */
  | { kind: 'found' }
  /** Closed as a false alarm: an absconding report undone. */
  | { kind: 'false_alarm' };

export interface IncidentSubjectContext {
  now: Date;
  timeZone: string;
  actorStaffId: string;
  /** Needed for `reported` (the day's contact times). */
  policy?: EscalationPolicy;
}

type IncidentForSubject = Pick<IncidentRow, 'id' | 'type' | 'scenario' | 'subjectId' | 'isDrill'>;

function concerns(event: IncidentSubjectEvent, incident: IncidentForSubject): boolean {
  if (!incident.subjectId || incident.isDrill) return false;
  switch (event.kind) {
    case 'reported':
      return incident.type === 'absconding' || isEpidemicWatch(incident);
    case 'step_done':
      return TERMINATING_STEP_KEYS.includes(event.stepKey);
    case 'found':
    case 'false_alarm':
      return incident.type === 'absconding';
  }
}

/** The subject's status and duties follow an incident event; returns the timers and notices to dispatch after commit. */
export async function subjectFollowsIncident(tx: Executor, event: IncidentSubjectEvent, incident: IncidentForSubject, ctx: IncidentSubjectContext): Promise<Change> {
  const change = emptyChange();
  if (!concerns(event, incident)) return change;
  const subject = await lockSubject(tx, incident.subjectId!);
  if (!subject) return change;
  const today = localDate(ctx.now, ctx.timeZone);
  const audit = (action: string, data: Record<string, unknown>) =>
    appendAudit(tx, { at: ctx.now, action, entity: 'subject', entityId: subject.id, incidentId: incident.id, actorStaffId: ctx.actorStaffId, data });
  if (event.kind === 'reported' && incident.type === 'absconding') {
    const next = statusOnAbsconding(subject.status);
    if (next) {
      await updateSubject(tx, subject.id, { status: next.status, statusBeforeAbsconding: next.before, updatedAt: ctx.now });
      await audit('subject.absconded', { from: subject.status, to: next.status });
    }
  } else if (event.kind === 'reported') {
    if (!ctx.policy || subject.status === 'terminated') return change;
    const duty = await startTodaysDuty(tx, subject, { now: ctx.now, timeZone: ctx.timeZone, policy: ctx.policy });
    merge(change, { timersCreated: duty.timers, outboxCreated: duty.outbox });
    await audit('subject.daily_contact', { cause: 'epidemic_s3', from: today });
  } else if (event.kind === 'step_done') {
    if (subject.status !== 'terminated') merge(change, await terminateTx(tx, subject, { now: ctx.now, actorStaffId: ctx.actorStaffId, reason: 'death', incidentId: incident.id }));
  } else {
    const others = await otherOpenAbsconding(tx, subject.id, incident.id);
    const awayToday = (await absenceOn(tx, subject.id, today)) !== undefined;
    const next = others ? null : statusOnFound(subject.status, subject.statusBeforeAbsconding, awayToday);
    if (next) {
      await updateSubject(tx, subject.id, { status: next, statusBeforeAbsconding: null, updatedAt: ctx.now });
      await audit(event.kind === 'found' ? 'subject.found' : 'subject.absconding_withdrawn', { from: subject.status, to: next });
    }
  }
  return change;
}

async function otherOpenAbsconding(tx: Executor, subjectId: string, incidentId: string): Promise<boolean> {
  return (await openIncidentIdsOfSubject(tx, subjectId, 'absconding')).some((id) => id !== incidentId);
}

// ---------------------------------------------------------------------------------------------
// 入矫, 执行地变更, 解矫

/**
 * 解矫 and what ends with it: every reminder and duty — pending timers of the subject, stays and
 * undecided requests — and the status `terminated` with the reason. Screenings and daily contact leave
 * terminated subjects out from then on.
 */
async function terminateTx(tx: Executor, subject: SubjectRow, ctx: { now: Date; actorStaffId: string | null; reason: TerminationReason; incidentId?: string; county?: string }): Promise<Change> {
  const change = emptyChange();
  change.timersCancelled.push(...(await cancelAllSubjectTimers(tx, subject.id, ctx.now)));
  for (const stay of await absencesOfSubject(tx, subject.id)) {
    if (!stay.cancelledAt && !stay.returnedAt) await endStayTx(tx, stay, { now: ctx.now, actorStaffId: ctx.actorStaffId, reason: 'supervision_ended' }, change);
  }
  for (const { request } of await pendingAbsenceRequests(tx, { subjectIds: [subject.id] })) {
    await updateAbsenceRequest(tx, request, { state: 'withdrawn', decidedByStaffId: ctx.actorStaffId, decidedAt: ctx.now, decisionNote: 'supervision_ended' });
  }
  await updateSubject(tx, subject.id, { status: 'terminated', terminatedAt: ctx.now, terminationReason: ctx.reason, updatedAt: ctx.now });
  await appendAudit(tx, {
    at: ctx.now,
    action: 'subject.terminated',
    entity: 'subject',
    entityId: subject.id,
    incidentId: ctx.incidentId ?? null,
    actorStaffId: ctx.actorStaffId,
    data: { from: subject.status, reason: ctx.reason, timersCancelled: change.timersCancelled.length, ...(ctx.county ? { county: ctx.county } : {}) },
  });
  return change;
}

/** 解矫 (终止社区矫正): the section ends a subject's supervision, with the reason; every reminder and duty ends. */
export async function terminateSubject(deps: ServiceDeps, actor: Actor, subjectId: string, input: { reason: TerminationReason }): Promise<SubjectView> {
  if (!(TERMINATION_REASONS as readonly string[]).includes(input.reason)) throw new ServiceRefusal('invalid_input', 'reason');
  if (!isSection(actor)) throw new ServiceRefusal('not_permitted');
  const now = deps.clock.now();
  const result = await deps.db.transaction(async (tx) => {
    const subject = await lockSubject(tx, subjectId);
    if (!subject) throw new ServiceRefusal('not_found');
    if (subject.status === 'terminated') throw new ServiceRefusal('already_done');
    const change = await terminateTx(tx, subject, { now, actorStaffId: actor.staffId, reason: input.reason });
    return { subject: (await findSubject(tx, subjectId))!, change };
  });
  await deps.dispatcher.afterCommit(result.change);
  return decryptSubject(deps, result.subject);
}

export interface AdmissionInput {
  /** The case code (letters, digits, . _ -). */
  code: string;
  name: string;
  idNumber: string;
  officeUnitId: string;
  responsibleStaffId?: string | null;
  riskLevel?: 'low' | 'normal' | 'high';
  /** 入矫 date (YYYY-MM-DD); default today. */
  admittedOn?: string;
  supervisionEndsOn?: string | null;
}

const CODE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * 入矫: a new subject of an office, registered by the section or that office's head. Refused: a code or
 * ID number already recorded, an ID number that is not well formed, a responsible officer who is not on
 * the office's active staff.
 */
export async function admitSubject(deps: ServiceDeps, actor: Actor, input: AdmissionInput): Promise<SubjectView> {
  const code = input.code.trim();
  const name = input.name.trim();
  const idNumber = normaliseIdNumber(input.idNumber);
  if (!CODE.test(code)) throw new ServiceRefusal('invalid_input', 'code');
  if (name === '' || name.length > 50) throw new ServiceRefusal('invalid_input', 'name');
  const idProblem = idNumberProblem(idNumber);
  if (idProblem) throw new ServiceRefusal('invalid_input', `id_number.${idProblem}`);
  const now = deps.clock.now();
  const admittedOn = input.admittedOn ?? localDate(now, deps.timeZone);
  if (!DATE.test(admittedOn)) throw new ServiceRefusal('invalid_input', 'admitted_on');
  if (input.supervisionEndsOn && (!DATE.test(input.supervisionEndsOn) || input.supervisionEndsOn < admittedOn)) throw new ServiceRefusal('invalid_input', 'supervision_ends_on');
  const risk = input.riskLevel ?? 'normal';
  if (!['low', 'normal', 'high'].includes(risk)) throw new ServiceRefusal('invalid_input', 'risk_level');
  const isHeadOfOffice = actor.unitId === input.officeUnitId && actor.positions.includes('office_head');
  if (!isSection(actor) && !isHeadOfOffice) throw new ServiceRefusal('not_permitted');
  const row = await deps.db.transaction(async (tx) => {
    const office = await findUnit(tx, input.officeUnitId);
    if (!office || office.kind !== 'office') throw new ServiceRefusal('invalid_input', 'office');
    if (input.responsibleStaffId) await requireOfficerOf(tx, input.responsibleStaffId, office.id);
    if (await findSubjectByCode(tx, code)) throw new ServiceRefusal('invalid_input', 'code_taken');
    const hash = deps.cipher.lookupHash(idNumber);
    if ((await listSubjects(tx, { idNumberHashes: [hash] })).length) throw new ServiceRefusal('invalid_input', 'id_number_taken');
    const inserted = await insertSubject(tx, {
      code,
      nameEnc: deps.cipher.encrypt(name),
      idNumberEnc: deps.cipher.encrypt(idNumber),
      idNumberHash: hash,
      officeUnitId: office.id,
      responsibleStaffId: input.responsibleStaffId ?? null,
      riskLevel: risk,
      admittedOn,
      supervisionEndsOn: input.supervisionEndsOn ?? null,
      status: 'active',
      createdAt: now,
      updatedAt: now,
    });
    await appendAudit(tx, {
      at: now,
      action: 'subject.admitted',
      entity: 'subject',
      entityId: inserted.id,
      actorStaffId: actor.staffId,
      data: { code, officeUnitId: office.id, responsibleStaffId: input.responsibleStaffId ?? null, admittedOn, riskLevel: risk },
    });
    return inserted;
  });
  return decryptSubject(deps, row);
}

/** A responsible officer must be an active member of the office's staff. */
export async function requireOfficerOf(tx: Executor, staffId: string, officeUnitId: string): Promise<void> {
  const person = await findStaffById(tx, staffId);
  if (!person || !person.active || person.unitId !== officeUnitId) throw new ServiceRefusal('invalid_input', 'responsible_officer');
}

export type TransferTarget =
  /** Another office of the district, optionally with the new responsible officer. */
  | { officeUnitId: string; responsibleStaffId?: string | null }
  /** Another county or district: supervision here ends (解矫, transferred out). */
  | { county: string };

/**
 * 执行地变更: the section moves a subject to another office (the new office's head and responsible
 * officer are told; stays and requests go with the subject, and every later notice reaches the new office),
 * or out of the district, which ends supervision here.
 */
export async function transferSubject(deps: ServiceDeps, actor: Actor, subjectId: string, to: TransferTarget): Promise<SubjectView> {
  if (!isSection(actor)) throw new ServiceRefusal('not_permitted');
  const now = deps.clock.now();
  const result = await deps.db.transaction(async (tx) => {
    const subject = await lockSubject(tx, subjectId);
    if (!subject) throw new ServiceRefusal('not_found');
    if (subject.status === 'terminated') throw new ServiceRefusal('wrong_status', 'supervision_ended');
    const change = emptyChange();
    if ('county' in to) {
      const county = to.county.trim();
      if (county === '' || county.length > 60) throw new ServiceRefusal('invalid_input', 'county');
      merge(change, await terminateTx(tx, subject, { now, actorStaffId: actor.staffId, reason: 'transferred_out', county }));
    } else {
      const office = await findUnit(tx, to.officeUnitId);
      if (!office || office.kind !== 'office') throw new ServiceRefusal('invalid_input', 'office');
      if (office.id === subject.officeUnitId) throw new ServiceRefusal('already_done');
      if (to.responsibleStaffId) await requireOfficerOf(tx, to.responsibleStaffId, office.id);
      const moved = { ...subject, officeUnitId: office.id, responsibleStaffId: to.responsibleStaffId ?? null };
      await updateSubject(tx, subject.id, { officeUnitId: office.id, responsibleStaffId: moved.responsibleStaffId, updatedAt: now });
      const org = await loadOrgSnapshot(tx);
      const targets = moved.responsibleStaffId ? [OFFICE_HEAD, OFFICER] : [OFFICE_HEAD];
      change.outboxCreated.push(
        ...(await enqueueNotices(
          tx,
          subjectNotices(subjectTargets(org, moved, targets), 'subject_transferred', subject.id, `${office.id}-${now.getTime()}`, { exclude: actor.staffId, params: { fromUnitId: subject.officeUnitId, toUnitId: office.id } }),
        )),
      );
      await appendAudit(tx, {
        at: now,
        action: 'subject.transferred',
        entity: 'subject',
        entityId: subject.id,
        actorStaffId: actor.staffId,
        data: { fromUnitId: subject.officeUnitId, toUnitId: office.id, responsibleStaffId: moved.responsibleStaffId },
      });
    }
    return { subject: (await findSubject(tx, subjectId))!, change };
  });
  await deps.dispatcher.afterCommit(result.change);
  return decryptSubject(deps, result.subject);
}
