/**
 * The absence (外出) as a process, one transaction per step, each writing its audit entry, its timers and
 * its outbox rows:
 * - request (外出申请) → the level the bureau sets by length decides: 批准, or 不批准 with a reason; a
 *   request by someone of that level is approved at once. An extension (续假) is a new request linked to
 *   the stay it extends, decided by the length of the whole stay.
 * - approved → the subject is `away` while the stay covers today; the first contact reminder comes at once
 *   when approved after the day's reminder time; the overdue chain is written for the end date.
 * - 销假 (the return recorded by the officer, or the subject's 报到) ends the stay and its chain;
 *   cancelling ends it too. Overdue (逾期未归): alert, then the absconding offer, then the section.
 * The chat renders nothing here: results are rows, refusals are ServiceRefusal, notices are outbox rows.
 */
import type { Executor } from '../db/client.js';
import {
  absenceOn,
  absencesOfSubject,
  absenceRequestsOfSubject,
  extensionsOf,
  findAbsence,
  insertAbsence,
  insertAbsenceRequest,
  lockAbsenceRequest,
  pendingAbsenceRequests,
  updateAbsence,
  updateAbsenceRequest,
  type AbsenceRequestRow,
  type AbsenceRow,
} from '../db/repositories/absence.repository.js';
import { appendAudit } from '../db/repositories/audit.repository.js';
import { contactsOn, insertContactLog } from '../db/repositories/contact-log.repository.js';
import { subjectsOnEpidemicWatch } from '../db/repositories/contact-duty.repository.js';
import { subjectsWithOpenIncident } from '../db/repositories/incident.repository.js';
import { loadOrgSnapshot } from '../db/repositories/org.repository.js';
import { contactReminderParams, enqueueNotices, type NoticeDraft, type OutboxRow } from '../db/repositories/outbox.repository.js';
import { cancelProcessTimers, firedProcessTimers, insertProcessTimers, type ProcessTimerSpec } from '../db/repositories/process-timer.repository.js';
import { findSubject, lockSubject, updateSubject, type SubjectRow } from '../db/repositories/subject.repository.js';
import { cancelTimers, claimTimer, insertTimers, type TimerRow } from '../db/repositories/timer.repository.js';
import {
  ABSENCE_OVERDUE_TIMER,
  absencePhase,
  approverLevelFor,
  asNoticeKind,
  checkExtension,
  checkRequestDates,
  decideOverdue,
  mayDecideAbsence,
  mayKeepAbsences,
  OVERDUE_LEVELS,
  overdueSchedule,
  overdueTimerKey,
  stayDays,
  type AbsencePhase,
  type ApproverLevel,
  type ProcessNoticeKind,
} from '../domain/absence.js';
import { contactWatchKey, CONTACT_WATCH_TIMER, isReachedResult, remindsAtOnce } from '../domain/daily-contact.js';
import {
  addDays,
  atLocalTime,
  canSeeOffice,
  contactCheckTimers,
  hasBureauWideView,
  holdersOf,
  isSection,
  localDate,
  resolveTarget,
  statusFollowingAbsence,
  timerKindsClosedBy,
  type Actor,
  type EscalationPolicy,
  type OrgSnapshot,
  type TimerTarget,
} from '../domain/index.js';
import { ServiceRefusal } from './errors.js';
import { emptyChange, type CommittedChange, type ServiceDeps } from './ports.js';
import type { TimerOutcome } from './timer.service.js';

/** Longest free texts: a destination, a reason (事由 or 不批准的理由). */
const MAX_DESTINATION = 200;
const MAX_REASON = 500;

type Change = ReturnType<typeof emptyChange>;

function optionalText(text: string | null | undefined, max: number, field: string): string | null {
  const t = text?.trim() ?? '';
  if (t.length > max) throw new ServiceRefusal('invalid_input', field);
  return t === '' ? null : t;
}

function requiredText(text: string, max: number, field: string): string {
  const t = optionalText(text, max, field);
  if (t === null) throw new ServiceRefusal('invalid_input', field);
  return t;
}

/** One outbox draft per person about a subject, never to whoever caused it. */
export function subjectNotices(
  recipients: Iterable<string>,
  kind: ProcessNoticeKind | 'contact_reminder',
  subjectId: string,
  keyPart: string,
  opts: { params?: Record<string, unknown>; exclude?: string | null; timerId?: string | null } = {},
): NoticeDraft[] {
  const out: NoticeDraft[] = [];
  for (const recipientStaffId of new Set(recipients)) {
    if (recipientStaffId === opts.exclude) continue;
    out.push({
      recipientStaffId,
      kind: kind === 'contact_reminder' ? kind : asNoticeKind(kind),
      subjectId,
      dedupeKey: `${kind}-${keyPart}-${recipientStaffId}`,
      params: opts.params ?? {},
      timerId: opts.timerId ?? null,
    });
  }
  return out;
}

/** Who a subject's notice to a target reaches now (holder, acting holder, the next level). */
export function subjectTargets(org: OrgSnapshot, subject: Pick<SubjectRow, 'officeUnitId' | 'responsibleStaffId'>, targets: readonly TimerTarget[]): string[] {
  const ctx = { officeUnitId: subject.officeUnitId, responsibleStaffId: subject.responsibleStaffId };
  return [...new Set(targets.flatMap((t) => resolveTarget(t, ctx, org)))];
}

const OFFICER: TimerTarget = { kind: 'responsible_officer' };
const OFFICE_HEAD: TimerTarget = { kind: 'position', position: 'office_head', scope: 'office' };
const SECTION: TimerTarget = { kind: 'position', position: 'section', scope: 'bureau' };

function levelTarget(level: ApproverLevel): TimerTarget {
  return level === 'office_head' ? OFFICE_HEAD : SECTION;
}

function merge(into: Change, more: Partial<CommittedChange>): Change {
  into.timersCreated.push(...(more.timersCreated ?? []));
  into.timersCancelled.push(...(more.timersCancelled ?? []));
  into.outboxCreated.push(...(more.outboxCreated ?? []));
  return into;
}

// ---------------------------------------------------------------------------------------------
// What a day's duty writes when it begins during the day (an absence approved, an epidemic 情形三 report).

export interface DutyContext {
  now: Date;
  timeZone: string;
  policy: EscalationPolicy;
}

/** The day's watch timer: at the check time the missed days of everyone owed contact are counted. */
export function contactWatchTimer(date: string, policy: EscalationPolicy, tz: string): ProcessTimerSpec {
  return { kind: CONTACT_WATCH_TIMER, level: 0, dueAt: atLocalTime(date, policy.dailyContact.checkAt, tz), dedupeKey: contactWatchKey(date), cycle: date, target: { date } };
}

/**
 * A subject owes a contact from today on: today's 18:00 checks still ahead, the day's watch, and — once
 * the day's reminder time has passed — the first reminder at once, to the responsible officer. The 09:00
 * run that day sees it listed and does not list it again.
 */
export async function startTodaysDuty(tx: Executor, subject: Pick<SubjectRow, 'id' | 'officeUnitId' | 'responsibleStaffId'>, ctx: DutyContext): Promise<{ timers: TimerRow[]; outbox: OutboxRow[] }> {
  const today = localDate(ctx.now, ctx.timeZone);
  const checks = contactCheckTimers(subject.id, today, ctx.policy, ctx.timeZone).filter((t) => t.dueAt.getTime() > ctx.now.getTime());
  const timers = [...(await insertTimers(tx, checks))];
  const watch = contactWatchTimer(today, ctx.policy, ctx.timeZone);
  if (watch.dueAt.getTime() > ctx.now.getTime()) timers.push(...(await insertProcessTimers(tx, [watch])));
  let outbox: OutboxRow[] = [];
  if (remindsAtOnce(ctx.now, today, ctx.policy.dailyContact, ctx.timeZone)) {
    const org = await loadOrgSnapshot(tx);
    const officers: string[] = [];
    // Whoever was reminded of the subject today already (the 09:00 run, an earlier duty) is not reminded again.
    for (const id of subjectTargets(org, subject, [OFFICER])) if (!(await remindedToday(tx, id, today, subject.id))) officers.push(id);
    outbox = await enqueueNotices(tx, subjectNotices(officers, 'contact_reminder', subject.id, `${today}-at-once-${subject.id}`, { params: { date: today, subjectIds: [subject.id] } }));
  }
  return { timers, outbox };
}

async function remindedToday(tx: Executor, staffId: string, date: string, subjectId: string): Promise<boolean> {
  return (await contactReminderParams(tx, staffId, date)).some((p) => ((p as { subjectIds?: string[] }).subjectIds ?? []).includes(subjectId));
}

/**
 * The subject's status follows the absences: `away` only while one has them away today (only active and
 * away move). Audited when it changes.
 */
export async function followAbsenceStatus(tx: Executor, subject: Pick<SubjectRow, 'id' | 'status'>, today: string, now: Date, actorStaffId: string | null, cause: string): Promise<string> {
  const awayToday = (await absenceOn(tx, subject.id, today)) !== undefined;
  const next = statusFollowingAbsence(subject.status, awayToday);
  if (next !== subject.status) {
    await updateSubject(tx, subject.id, { status: next, updatedAt: now });
    await appendAudit(tx, { at: now, action: 'subject.status', entity: 'subject', entityId: subject.id, actorStaffId, data: { from: subject.status, to: next, cause } });
  }
  return next;
}

/** Today's contact checks of a subject no longer owed a contact today are closed (the watch stays: it counts everyone). */
async function closeTodaysChecksIfDone(tx: Executor, subjectId: string, today: string, now: Date): Promise<TimerRow[]> {
  if (await absenceOn(tx, subjectId, today)) return [];
  if ((await subjectsOnEpidemicWatch(tx)).some((s) => s.subjectId === subjectId)) return [];
  return cancelTimers(tx, { subjectId, cycle: today }, timerKindsClosedBy('contact_logged'), now);
}

// ---------------------------------------------------------------------------------------------
// Request, extension, decision

export interface AbsenceRequestInput {
  subjectId: string;
  destination: string;
  /** Local dates, YYYY-MM-DD, both included. */
  startsOn: string;
  endsOn: string;
  /** 事由, optional. */
  reason?: string | null;
}

export interface AbsenceRequestResult {
  request: AbsenceRequestRow;
  /** Set when the request was approved at once: its requester is of the level that decides it. */
  absence: AbsenceRow | null;
  /** Who decides it. */
  level: ApproverLevel;
}

/** Loads and locks a subject the actor keeps records of; refuses a case whose supervision ended or who absconded. */
async function subjectForAbsence(tx: Executor, actor: Actor, subjectId: string): Promise<SubjectRow> {
  const subject = await lockSubject(tx, subjectId);
  if (!subject || !canSeeOffice(actor, subject.officeUnitId)) throw new ServiceRefusal('not_found');
  if (!mayKeepAbsences(actor, subject.officeUnitId)) throw new ServiceRefusal('not_permitted');
  if (subject.status === 'terminated') throw new ServiceRefusal('wrong_status', 'supervision_ended');
  if (subject.status === 'absconded') throw new ServiceRefusal('wrong_status', 'absconded');
  return subject;
}

function officeHeadCanAct(org: OrgSnapshot, officeUnitId: string): boolean {
  return holdersOf('office_head', org.seats, org.staff, officeUnitId).length > 0;
}

/** Days of the stay an absence belongs to, up to and including it (an extension's predecessors counted). */
async function stayDaysUpTo(tx: Executor, absence: AbsenceRow): Promise<number> {
  let days = 0;
  let current: AbsenceRow | undefined = absence;
  for (let guard = 0; current && guard < 50; guard++) {
    days += stayDays(current.startsOn, current.endsOn);
    current = current.extendsAbsenceId ? await findAbsence(tx, current.extendsAbsenceId) : undefined;
  }
  return days;
}

/**
 * 外出申请: a request to be away, from office staff or the section. It goes to the deciding level as a
 * notice (批准 / 不批准); a requester of that level approves it at once. Refused: dates that end before
 * they start, a stay over already, longer than the bureau's longest (`too_long`), or overlapping a stay
 * or request of the subject (`overlaps`).
 */
export async function requestAbsence(deps: ServiceDeps, actor: Actor, input: AbsenceRequestInput): Promise<AbsenceRequestResult> {
  const destination = requiredText(input.destination, MAX_DESTINATION, 'destination');
  const reason = optionalText(input.reason, MAX_REASON, 'reason');
  const now = deps.clock.now();
  const today = localDate(now, deps.timeZone);
  const policy = await deps.policy();
  const problem = checkRequestDates(input.startsOn, input.endsOn, today, policy.absence);
  if (problem) throw new ServiceRefusal('invalid_input', problem);
  const result = await deps.db.transaction(async (tx) => {
    const subject = await subjectForAbsence(tx, actor, input.subjectId);
    await refuseOverlap(tx, subject.id, input.startsOn, input.endsOn);
    const level = approverLevelFor(stayDays(input.startsOn, input.endsOn), policy.absence);
    const request = await insertAbsenceRequest(tx, {
      subjectId: subject.id,
      destination,
      reason,
      startsOn: input.startsOn,
      endsOn: input.endsOn,
      approverLevel: level,
      state: 'requested',
      requestedByStaffId: actor.staffId,
      requestedAt: now,
    });
    await appendAudit(tx, {
      at: now,
      action: 'absence.requested',
      entity: 'absence_request',
      entityId: request.id,
      actorStaffId: actor.staffId,
      data: { subjectId: subject.id, startsOn: input.startsOn, endsOn: input.endsOn, level },
    });
    return submitted(tx, actor, request, subject, { now, timeZone: deps.timeZone, policy });
  });
  await deps.dispatcher.afterCommit(result.change);
  return { request: result.request, absence: result.absence, level: result.level };
}

/** A stay owing contact on any of the days, or a request still to decide for them, overlaps. */
async function refuseOverlap(tx: Executor, subjectId: string, startsOn: string, endsOn: string): Promise<void> {
  const stays = await absencesOfSubject(tx, subjectId);
  const live = stays.filter((a) => !a.cancelledAt && !(a.returnedOn && a.returnedOn <= startsOn));
  if (live.some((a) => a.startsOn <= endsOn && startsOn <= a.endsOn)) throw new ServiceRefusal('invalid_input', 'overlaps');
  const pending = await pendingAbsenceRequests(tx, { subjectIds: [subjectId] });
  if (pending.some(({ request: r }) => r.startsOn <= endsOn && startsOn <= r.endsOn)) throw new ServiceRefusal('invalid_input', 'overlaps');
}

/** After a request is written: approved at once when its requester decides at its level, else sent to that level. */
async function submitted(
  tx: Executor,
  actor: Actor,
  request: AbsenceRequestRow,
  subject: SubjectRow,
  ctx: DutyContext,
): Promise<{ request: AbsenceRequestRow; absence: AbsenceRow | null; level: ApproverLevel; change: Change }> {
  const level = request.approverLevel as ApproverLevel;
  const org = await loadOrgSnapshot(tx);
  if (mayDecideAbsence(actor, level, subject.officeUnitId, officeHeadCanAct(org, subject.officeUnitId))) {
    const approved = await approveTx(tx, actor, request, subject, ctx);
    return { request: approved.request, absence: approved.absence, level, change: approved.change };
  }
  const to = subjectTargets(org, subject, [levelTarget(level)]);
  const outbox = await enqueueNotices(
    tx,
    subjectNotices(to, 'absence_requested', subject.id, request.id, { exclude: actor.staffId, params: { requestId: request.id, level, extension: request.extendsAbsenceId !== null } }),
  );
  return { request, absence: null, level, change: merge(emptyChange(), { outboxCreated: outbox }) };
}

export interface ExtensionInput {
  /** The new end date (YYYY-MM-DD); the extension starts the day after the stay ends. */
  endsOn: string;
  reason?: string | null;
}

/**
 * 续假: a new request linked to the stay, from the day after it ends to the new end date. Its level is
 * set by the whole stay's length. Refused when the stay was returned from or cancelled
 * (`not_extendable`), already extended (extend the latest), or the end is not later (`not_later`).
 */
export async function requestExtension(deps: ServiceDeps, actor: Actor, absenceId: string, input: ExtensionInput): Promise<AbsenceRequestResult> {
  const reason = optionalText(input.reason, MAX_REASON, 'reason');
  const now = deps.clock.now();
  const today = localDate(now, deps.timeZone);
  const policy = await deps.policy();
  const result = await deps.db.transaction(async (tx) => {
    const stay = await findAbsence(tx, absenceId);
    if (!stay) throw new ServiceRefusal('not_found');
    const subject = await subjectForAbsence(tx, actor, stay.subjectId);
    if ((await extensionsOf(tx, stay.id)).some((e) => !e.cancelledAt)) throw new ServiceRefusal('invalid_input', 'not_extendable');
    if ((await pendingAbsenceRequests(tx, { extendsAbsenceIds: [stay.id] })).length) throw new ServiceRefusal('already_done');
    const prior = await stayDaysUpTo(tx, stay);
    const problem = checkExtension(stay, input.endsOn, today, policy.absence, prior);
    if (problem) throw new ServiceRefusal('invalid_input', problem);
    const startsOn = addDays(stay.endsOn, 1);
    const level = approverLevelFor(prior + stayDays(startsOn, input.endsOn), policy.absence);
    const request = await insertAbsenceRequest(tx, {
      subjectId: subject.id,
      destination: stay.destination,
      reason,
      startsOn,
      endsOn: input.endsOn,
      extendsAbsenceId: stay.id,
      approverLevel: level,
      state: 'requested',
      requestedByStaffId: actor.staffId,
      requestedAt: now,
    });
    await appendAudit(tx, {
      at: now,
      action: 'absence.extension_requested',
      entity: 'absence_request',
      entityId: request.id,
      actorStaffId: actor.staffId,
      data: { subjectId: subject.id, extendsAbsenceId: stay.id, startsOn, endsOn: input.endsOn, level, stayDays: prior + stayDays(startsOn, input.endsOn) },
    });
    return submitted(tx, actor, request, subject, { now, timeZone: deps.timeZone, policy });
  });
  await deps.dispatcher.afterCommit(result.change);
  return { request: result.request, absence: result.absence, level: result.level };
}

export type AbsenceDecision = { approve: true } | { approve: false; reason: string };

/**
 * 批准 / 不批准. Only the level the request names decides it (the section also decides the office head's
 * level when the office has no office head who can act): any other is refused `not_permitted`
 * (`approver_level`). Not approving needs a reason, which the requester is told.
 */
export async function decideAbsenceRequest(deps: ServiceDeps, actor: Actor, requestId: string, decision: AbsenceDecision, expectedVersion?: number): Promise<AbsenceRequestResult> {
  const note = decision.approve ? null : requiredText(decision.reason, MAX_REASON, 'reason');
  const now = deps.clock.now();
  const today = localDate(now, deps.timeZone);
  const policy = await deps.policy();
  const ctx: DutyContext = { now, timeZone: deps.timeZone, policy };
  const result = await deps.db.transaction(async (tx) => {
    const request = await lockAbsenceRequest(tx, requestId);
    if (!request) throw new ServiceRefusal('not_found');
    const subject = await lockSubject(tx, request.subjectId);
    if (!subject || !canSeeOffice(actor, subject.officeUnitId)) throw new ServiceRefusal('not_found');
    if (request.state !== 'requested') throw new ServiceRefusal('already_done');
    if (expectedVersion !== undefined && request.version !== expectedVersion) throw new ServiceRefusal('stale');
    const level = request.approverLevel as ApproverLevel;
    const org = await loadOrgSnapshot(tx);
    if (!mayDecideAbsence(actor, level, subject.officeUnitId, officeHeadCanAct(org, subject.officeUnitId))) throw new ServiceRefusal('not_permitted', 'approver_level');
    if (!decision.approve) {
      const updated = await updateAbsenceRequest(tx, request, { state: 'rejected', decidedByStaffId: actor.staffId, decidedAt: now, decisionNote: note });
      const to = [request.requestedByStaffId, ...subjectTargets(org, subject, [OFFICER])];
      const outbox = await enqueueNotices(tx, subjectNotices(to, 'absence_rejected', subject.id, request.id, { exclude: actor.staffId, params: { requestId: request.id, byStaffId: actor.staffId } }));
      await appendAudit(tx, { at: now, action: 'absence.rejected', entity: 'absence_request', entityId: request.id, actorStaffId: actor.staffId, data: { subjectId: subject.id, level } });
      return { request: updated, absence: null, level, change: merge(emptyChange(), { outboxCreated: outbox }) };
    }
    if (subject.status === 'terminated') throw new ServiceRefusal('wrong_status', 'supervision_ended');
    if (subject.status === 'absconded') throw new ServiceRefusal('wrong_status', 'absconded');
    if (request.endsOn < today) throw new ServiceRefusal('invalid_input', 'ended_already');
    if (request.extendsAbsenceId) {
      const stay = await findAbsence(tx, request.extendsAbsenceId);
      if (!stay || stay.returnedAt || stay.cancelledAt) throw new ServiceRefusal('wrong_status', 'not_extendable');
    }
    const approved = await approveTx(tx, actor, request, subject, ctx);
    return { request: approved.request, absence: approved.absence, level, change: approved.change };
  });
  await deps.dispatcher.afterCommit(result.change);
  return { request: result.request, absence: result.absence, level: result.level };
}

/** 批准: shorthand for decideAbsenceRequest(…, { approve: true }). */
export function approveAbsenceRequest(deps: ServiceDeps, actor: Actor, requestId: string, expectedVersion?: number): Promise<AbsenceRequestResult> {
  return decideAbsenceRequest(deps, actor, requestId, { approve: true }, expectedVersion);
}

/** 不批准, with the reason the requester is told. */
export function rejectAbsenceRequest(deps: ServiceDeps, actor: Actor, requestId: string, reason: string, expectedVersion?: number): Promise<AbsenceRequestResult> {
  return decideAbsenceRequest(deps, actor, requestId, { approve: false, reason }, expectedVersion);
}

/**
 * The approval's writes: the absence (approved by the decider), the extended stay's chain replaced by the
 * new end's, the subject `away` and today's duty when it covers today, and the requester told.
 */
async function approveTx(tx: Executor, actor: Actor, request: AbsenceRequestRow, subject: SubjectRow, ctx: DutyContext): Promise<{ request: AbsenceRequestRow; absence: AbsenceRow; change: Change }> {
  const { now, policy, timeZone } = ctx;
  const today = localDate(now, timeZone);
  const change = emptyChange();
  const absence = await insertAbsence(tx, {
    subjectId: subject.id,
    destination: request.destination,
    startsOn: request.startsOn,
    endsOn: request.endsOn,
    approvedByStaffId: actor.staffId,
    createdByStaffId: request.requestedByStaffId,
    createdAt: now,
    approvedAt: now,
    approvedEndsOn: request.endsOn,
    extendsAbsenceId: request.extendsAbsenceId,
  });
  const updated = await updateAbsenceRequest(tx, request, { state: 'approved', decidedByStaffId: actor.staffId, decidedAt: now, absenceId: absence.id });
  if (request.extendsAbsenceId) change.timersCancelled.push(...(await cancelProcessTimers(tx, ABSENCE_OVERDUE_TIMER, { cycle: request.extendsAbsenceId }, now)));
  change.timersCreated.push(...(await insertProcessTimers(tx, overdueTimers(absence, policy, timeZone))));
  if (absence.startsOn <= today && today <= absence.endsOn) {
    await followAbsenceStatus(tx, subject, today, now, actor.staffId, 'absence.approved');
    // Idempotent: an extension approved late, after the stay it extends ended, owes today's contact too.
    const duty = await startTodaysDuty(tx, subject, ctx);
    merge(change, { timersCreated: duty.timers, outboxCreated: duty.outbox });
  }
  const org = await loadOrgSnapshot(tx);
  const to = [request.requestedByStaffId, ...subjectTargets(org, subject, [OFFICER])];
  change.outboxCreated.push(...(await enqueueNotices(tx, subjectNotices(to, 'absence_approved', subject.id, request.id, { exclude: actor.staffId, params: { requestId: request.id, absenceId: absence.id, byStaffId: actor.staffId } }))));
  await appendAudit(tx, {
    at: now,
    action: 'absence.approved',
    entity: 'absence',
    entityId: absence.id,
    actorStaffId: actor.staffId,
    data: { subjectId: subject.id, requestId: request.id, startsOn: absence.startsOn, endsOn: absence.endsOn, level: request.approverLevel, extendsAbsenceId: request.extendsAbsenceId },
  });
  return { request: updated, absence, change };
}

function overdueTimers(absence: Pick<AbsenceRow, 'id' | 'subjectId' | 'endsOn'>, policy: EscalationPolicy, tz: string): ProcessTimerSpec[] {
  return overdueSchedule(absence.endsOn, policy.absence, tz).map((dueAt, level) => ({
    kind: ABSENCE_OVERDUE_TIMER,
    level,
    dueAt,
    dedupeKey: overdueTimerKey(absence.id, level),
    subjectId: absence.subjectId,
    cycle: absence.id,
    target: { absenceId: absence.id },
  }));
}

/** 撤回: the requester (or anyone who keeps the subject's records) withdraws a request not yet decided. */
export async function withdrawAbsenceRequest(deps: ServiceDeps, actor: Actor, requestId: string, reason?: string | null): Promise<AbsenceRequestRow> {
  const note = optionalText(reason, MAX_REASON, 'reason');
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    const request = await lockAbsenceRequest(tx, requestId);
    if (!request) throw new ServiceRefusal('not_found');
    const subject = await findSubject(tx, request.subjectId);
    if (!subject || !canSeeOffice(actor, subject.officeUnitId)) throw new ServiceRefusal('not_found');
    if (!mayKeepAbsences(actor, subject.officeUnitId)) throw new ServiceRefusal('not_permitted');
    if (request.state !== 'requested') throw new ServiceRefusal('already_done');
    const updated = await updateAbsenceRequest(tx, request, { state: 'withdrawn', decidedByStaffId: actor.staffId, decidedAt: now, decisionNote: note });
    await appendAudit(tx, { at: now, action: 'absence.withdrawn', entity: 'absence_request', entityId: request.id, actorStaffId: actor.staffId, data: { subjectId: subject.id } });
    return updated;
  });
}

// ---------------------------------------------------------------------------------------------
// The end of a stay: 销假, or cancelled.

/** The stays of one chain (the stay and its extensions), in order. */
async function chainOf(tx: Executor, absence: AbsenceRow): Promise<AbsenceRow[]> {
  let root = absence;
  for (let guard = 0; root.extendsAbsenceId && guard < 50; guard++) {
    const prev = await findAbsence(tx, root.extendsAbsenceId);
    if (!prev) break;
    root = prev;
  }
  const chain = [root];
  for (let guard = 0; guard < 50; guard++) {
    const next = (await extensionsOf(tx, chain.at(-1)!.id)).find((e) => !e.cancelledAt);
    if (!next) break;
    chain.push(next);
  }
  return chain;
}

export type ReturnHow = 'officer_recorded' | 'subject_reported';

export interface ReturnInput {
  /** The officer records the return, or the subject reported in person (报到). */
  how: ReturnHow;
  /** When the subject came back; default now. */
  at?: Date;
}

export interface ReturnResult {
  absence: AbsenceRow;
  /** The subject's status now. */
  status: string;
  /** Whether the overdue chain had begun (those it alerted were told of the return). */
  wasOverdue: boolean;
}

/**
 * 销假: the subject is back. The stay (and any extension of it) ends: a return before the end date ends
 * it that day, extensions not begun are cancelled and undecided ones withdrawn, the overdue chain closes,
 * the subject is no longer away, and the day's contact is the return itself. Those the chain already
 * alerted are told.
 */
export async function recordReturn(deps: ServiceDeps, actor: Actor, absenceId: string, input: ReturnInput): Promise<ReturnResult> {
  const now = deps.clock.now();
  const at = input.at ?? now;
  if (at.getTime() > now.getTime() + 5 * 60_000) throw new ServiceRefusal('invalid_input', 'at');
  if (input.how !== 'officer_recorded' && input.how !== 'subject_reported') throw new ServiceRefusal('invalid_input', 'how');
  const today = localDate(now, deps.timeZone);
  const returnedOn = localDate(at, deps.timeZone);
  const result = await deps.db.transaction(async (tx) => {
    const first = await findAbsence(tx, absenceId);
    if (!first) throw new ServiceRefusal('not_found');
    const subject = await lockSubject(tx, first.subjectId);
    if (!subject || !canSeeOffice(actor, subject.officeUnitId)) throw new ServiceRefusal('not_found');
    if (!mayKeepAbsences(actor, subject.officeUnitId)) throw new ServiceRefusal('not_permitted');
    const chain = await chainOf(tx, first);
    if (chain.some((a) => a.returnedAt)) throw new ServiceRefusal('already_done');
    if (chain[0]!.cancelledAt) throw new ServiceRefusal('wrong_status', 'cancelled');
    if (returnedOn < chain[0]!.startsOn) throw new ServiceRefusal('wrong_status', 'not_begun');
    const change = emptyChange();
    // The stay the return falls in (the last one begun), and the extensions after it, not begun.
    const index = chain.reduce((found, a, i) => (a.startsOn <= returnedOn ? i : found), 0);
    const stay = chain[index]!;
    for (const later of chain.slice(index + 1)) {
      await updateAbsence(tx, later.id, { cancelledAt: now, cancelledByStaffId: actor.staffId, cancelReason: 'returned_early' });
    }
    for (const { request } of await pendingAbsenceRequests(tx, { extendsAbsenceIds: chain.map((a) => a.id) })) {
      await updateAbsenceRequest(tx, request, { state: 'withdrawn', decidedByStaffId: actor.staffId, decidedAt: now, decisionNote: 'returned' });
    }
    const endsOn = returnedOn < stay.endsOn ? returnedOn : stay.endsOn;
    const returned = await updateAbsence(tx, stay.id, { returnedAt: at, returnedOn, returnedByStaffId: actor.staffId, returnHow: input.how, endsOn });
    // The return is the day's contact: the subject was seen (报到) or the officer spoke with them.
    if (returnedOn <= endsOn && !(await contactsOn(tx, [subject.id], returnedOn)).some((c) => isReachedResult(c.result))) {
      await insertContactLog(tx, { subjectId: subject.id, absenceId: stay.id, localDate: returnedOn, result: 'reached', note: null, staffId: actor.staffId, at });
    }
    const fired = (await Promise.all(chain.map((a) => firedProcessTimers(tx, ABSENCE_OVERDUE_TIMER, a.id)))).flat().filter((t) => t.outcome === 'sent');
    for (const a of chain) change.timersCancelled.push(...(await cancelProcessTimers(tx, ABSENCE_OVERDUE_TIMER, { cycle: a.id }, now)));
    if (returnedOn === today) {
      change.timersCancelled.push(...(await cancelTimers(tx, { subjectId: subject.id, cycle: today }, timerKindsClosedBy('contact_logged'), now)));
    }
    const status = await followAbsenceStatus(tx, subject, today, now, actor.staffId, 'absence.returned');
    if (fired.length) {
      const org = await loadOrgSnapshot(tx);
      const targets: TimerTarget[] = [OFFICER, OFFICE_HEAD, ...(fired.some((t) => t.level >= OVERDUE_LEVELS.section) ? [SECTION] : [])];
      change.outboxCreated.push(
        ...(await enqueueNotices(tx, subjectNotices(subjectTargets(org, subject, targets), 'absence_returned', subject.id, stay.id, { exclude: actor.staffId, params: { absenceId: stay.id, byStaffId: actor.staffId } }))),
      );
    }
    await appendAudit(tx, {
      at: now,
      action: 'absence.returned',
      entity: 'absence',
      entityId: stay.id,
      actorStaffId: actor.staffId,
      data: { subjectId: subject.id, how: input.how, returnedAt: at.toISOString(), returnedOn, approvedEndsOn: stay.approvedEndsOn ?? stay.endsOn, overdue: fired.length > 0 },
    });
    return { absence: returned, status, wasOverdue: fired.length > 0, change };
  });
  await deps.dispatcher.afterCommit(result.change);
  return { absence: result.absence, status: result.status, wasOverdue: result.wasOverdue };
}

/**
 * Cancels a stay (a mistaken or abandoned one): it owes no contact any more, its extensions and
 * undecided extension requests go with it, its chain closes, and the subject's status follows.
 */
export async function cancelAbsence(deps: ServiceDeps, actor: Actor, absenceId: string, reason?: string | null): Promise<AbsenceRow> {
  const note = optionalText(reason, MAX_REASON, 'reason');
  const now = deps.clock.now();
  const today = localDate(now, deps.timeZone);
  const result = await deps.db.transaction(async (tx) => {
    const absence = await findAbsence(tx, absenceId);
    if (!absence) throw new ServiceRefusal('not_found');
    const subject = await lockSubject(tx, absence.subjectId);
    if (!subject || !canSeeOffice(actor, subject.officeUnitId)) throw new ServiceRefusal('not_found');
    if (!mayKeepAbsences(actor, subject.officeUnitId)) throw new ServiceRefusal('not_permitted');
    if (absence.cancelledAt || absence.returnedAt) throw new ServiceRefusal('already_done');
    const change = emptyChange();
    const ended = await endStayTx(tx, absence, { now, actorStaffId: actor.staffId, reason: note ?? 'cancelled' }, change);
    // An extension cancelled: the stay it extended ends on its own date again, and its chain is watched again.
    const before = absence.extendsAbsenceId ? await findAbsence(tx, absence.extendsAbsenceId) : undefined;
    if (before && !before.returnedAt && !before.cancelledAt) {
      const again = overdueTimers(before, await deps.policy(), deps.timeZone).map((t) => ({ ...t, dedupeKey: `${t.dedupeKey}-after-${absence.id}`, dueAt: t.dueAt.getTime() < now.getTime() ? now : t.dueAt }));
      change.timersCreated.push(...(await insertProcessTimers(tx, again)));
    }
    change.timersCancelled.push(...(await closeTodaysChecksIfDone(tx, subject.id, today, now)));
    await followAbsenceStatus(tx, subject, today, now, actor.staffId, 'absence.cancelled');
    await appendAudit(tx, { at: now, action: 'absence.cancelled', entity: 'absence', entityId: absence.id, actorStaffId: actor.staffId, data: { subjectId: subject.id, with: ended.length - 1 } });
    return { absence: ended[0]!, change };
  });
  await deps.dispatcher.afterCommit(result.change);
  return result.absence;
}

/** Cancels a stay and what follows it (extensions, undecided extension requests) and closes their chains; returns the stays cancelled. */
export async function endStayTx(tx: Executor, absence: AbsenceRow, ctx: { now: Date; actorStaffId: string | null; reason: string }, change: Change): Promise<AbsenceRow[]> {
  const out: AbsenceRow[] = [];
  const queue: AbsenceRow[] = [absence];
  for (let guard = 0; queue.length && guard < 50; guard++) {
    const a = queue.shift()!;
    if (a.cancelledAt || a.returnedAt) continue;
    out.push(await updateAbsence(tx, a.id, { cancelledAt: ctx.now, cancelledByStaffId: ctx.actorStaffId, cancelReason: ctx.reason }));
    change.timersCancelled.push(...(await cancelProcessTimers(tx, ABSENCE_OVERDUE_TIMER, { cycle: a.id }, ctx.now)));
    queue.push(...(await extensionsOf(tx, a.id)));
    for (const { request } of await pendingAbsenceRequests(tx, { extendsAbsenceIds: [a.id] })) {
      await updateAbsenceRequest(tx, request, { state: 'withdrawn', decidedByStaffId: ctx.actorStaffId, decidedAt: ctx.now, decisionNote: ctx.reason });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The overdue chain, when one of its timers falls due.

/**
 * Fires one level of a stay's overdue chain (the timer row is claimed, so a job delivered twice sends
 * nothing twice): the officer and the office head alerted, then the absconding report offered, then the
 * section told — unless the subject came back, the stay was extended or cancelled, supervision ended, or
 * absconding is reported already.
 */
export async function fireAbsenceOverdue(deps: ServiceDeps, row: TimerRow): Promise<TimerOutcome> {
  const now = deps.clock.now();
  const absenceId = row.cycle ?? '';
  const result = await deps.db.transaction(async (tx) => {
    const absence = absenceId ? await findAbsence(tx, absenceId) : undefined;
    const subject = absence ? await lockSubject(tx, absence.subjectId) : undefined;
    const extended = absence ? (await extensionsOf(tx, absence.id)).some((e) => !e.cancelledAt) : false;
    const abscondingOpen = subject ? (await subjectsWithOpenIncident(tx, 'absconding', [subject.id])).has(subject.id) : false;
    const decision = decideOverdue(row.level, {
      found: absence !== undefined,
      returned: !!absence?.returnedAt,
      cancelled: !!absence?.cancelledAt,
      extended,
      subjectStatus: subject?.status,
      abscondingOpen,
    });
    const outcome = 'skip' in decision ? `skipped: ${decision.skip}` : 'sent';
    const claimed = await claimTimer(tx, row.id, now, outcome);
    if (!claimed) return { outcome: 'skipped: already fired', skipped: 'already fired', rows: [] as OutboxRow[] };
    if ('skip' in decision) return { outcome, skipped: decision.skip, rows: [] as OutboxRow[] };
    const org = await loadOrgSnapshot(tx);
    const targets = decision.to === 'section' ? [SECTION] : [OFFICER, OFFICE_HEAD];
    const params = decision.notice === 'absconding_offer' ? { reason: 'absence_overdue', absenceId: absence!.id, endsOn: absence!.endsOn } : { absenceId: absence!.id, endsOn: absence!.endsOn, level: row.level };
    const rows = await enqueueNotices(tx, subjectNotices(subjectTargets(org, subject!, targets), decision.notice, subject!.id, row.dedupeKey, { params, timerId: row.id }));
    await appendAudit(tx, {
      at: now,
      action: 'timer.fired',
      entity: 'timer',
      entityId: row.id,
      data: { kind: row.kind, level: row.level, subjectId: subject!.id, absenceId: absence!.id, dueAt: row.dueAt.toISOString(), recipients: rows.map((r) => r.recipientStaffId) },
    });
    return { outcome, skipped: undefined, rows };
  });
  await deps.dispatcher.afterCommit({ ...emptyChange(), outboxCreated: result.rows });
  if (result.skipped !== undefined) return { status: 'skipped', reason: result.skipped, outcome: result.outcome };
  return { status: 'sent', notices: result.rows.length, outcome: result.outcome };
}

// ---------------------------------------------------------------------------------------------
// Reads for the chat

export interface AbsenceView {
  absence: AbsenceRow;
  phase: AbsencePhase;
}

function viewOf(absence: AbsenceRow, today: string): AbsenceView {
  return { absence, phase: absencePhase({ ...absence, tracked: absence.approvedAt !== null }, today) };
}

/** A subject's stays (newest first, each with its phase today) and requests, if the actor may see the subject. */
export async function absencesOf(deps: Pick<ServiceDeps, 'db' | 'clock' | 'timeZone'>, actor: Actor, subjectId: string): Promise<{ absences: AbsenceView[]; requests: AbsenceRequestRow[] }> {
  const subject = await findSubject(deps.db, subjectId);
  if (!subject || !canSeeOffice(actor, subject.officeUnitId)) throw new ServiceRefusal('not_found');
  const today = localDate(deps.clock.now(), deps.timeZone);
  const [stays, requests] = await Promise.all([absencesOfSubject(deps.db, subjectId), absenceRequestsOfSubject(deps.db, subjectId)]);
  return { absences: stays.map((a) => viewOf(a, today)), requests };
}

/** One stay with its phase today, if the actor may see its subject. */
export async function getAbsence(deps: Pick<ServiceDeps, 'db' | 'clock' | 'timeZone'>, actor: Actor, absenceId: string): Promise<AbsenceView> {
  const absence = await findAbsence(deps.db, absenceId);
  const subject = absence ? await findSubject(deps.db, absence.subjectId) : undefined;
  if (!absence || !subject || !canSeeOffice(actor, subject.officeUnitId)) throw new ServiceRefusal('not_found');
  return viewOf(absence, localDate(deps.clock.now(), deps.timeZone));
}

/**
 * Requests waiting for this actor's decision, oldest first: an office head's, at their level for their
 * office; the section's, at its level, and at the office head's for offices without one who can act.
 */
export async function requestsToDecide(deps: Pick<ServiceDeps, 'db'>, actor: Actor): Promise<Array<{ request: AbsenceRequestRow; subject: SubjectRow }>> {
  const pending = await pendingAbsenceRequests(deps.db, hasBureauWideView(actor) ? {} : { officeUnitId: actor.unitId });
  if (pending.length === 0) return [];
  const org = await loadOrgSnapshot(deps.db);
  return pending.filter(({ request, subject }) => mayDecideAbsence(actor, request.approverLevel as ApproverLevel, subject.officeUnitId, officeHeadCanAct(org, subject.officeUnitId)));
}

/** Whether the actor may decide requests at all (for the chat's menus). */
export function decidesAbsences(actor: Actor): boolean {
  return isSection(actor) || actor.positions.includes('office_head');
}

// ---------------------------------------------------------------------------------------------
// The first process before it: an absence registered in one step.

/**
 * The form /away used before the request process: a request, approved at once when its requester
 * decides at its level (an office head, up to the bureau's days), otherwise sent to that level.
 */
export function registerAbsence(deps: ServiceDeps, actor: Actor, input: AbsenceRequestInput): Promise<AbsenceRequestResult> {
  return requestAbsence(deps, actor, input);
}
