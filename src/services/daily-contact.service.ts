/**
 * Daily contact with subjects away from home (外出) and with those an open epidemic 情形三 incident puts on
 * daily contact (四(九): "司法所应当每日与外出人员保持联系"):
 * - 09:00 local: statuses follow the absences (away only while one covers today); each officer with
 *   subjects owed contact gets ONE message listing them, a button per subject to log the contact; the
 *   day's 18:00 checks (office head, then the section) and the day's watch are written as timers.
 * - The watch, at the check time, counts each subject's days in a row without a reached contact (days,
 *   not logs): at the bureau's first threshold the absconding report is offered, prefilled, to the officer
 *   and the office head; at the second, the deputy director is told. Once per run of days.
 * - Idempotent per subject and day (outbox dedupe keys, timer dedupe keys, daily_runs).
 * - Days missed while the system was down are found at start and reported to the section.
 * - The timers of this part that are not an incident's (the watch, a stay's overdue chain, a staff
 *   member's away period) fire through fireProcessTimer.
 */
import { createHash } from 'node:crypto';
import type { Executor } from '../db/client.js';
import { subjectsAwayOn, subjectsToFollow, type AwaySubjectRef } from '../db/repositories/absence.repository.js';
import { appendAudit, type AuditEntry } from '../db/repositories/audit.repository.js';
import { subjectsOwedContactOn } from '../db/repositories/contact-duty.repository.js';
import { contactsOn } from '../db/repositories/contact-log.repository.js';
import { isDailyRunLate, lastDailyRunDate, recordDailyRun, recordMissedDailyRuns } from '../db/repositories/daily-runs.repository.js';
import { subjectsWithOpenIncident } from '../db/repositories/incident.repository.js';
import { loadOrgSnapshot } from '../db/repositories/org.repository.js';
import { contactReminderParams, enqueueNotices, type NoticeDraft } from '../db/repositories/outbox.repository.js';
import { insertProcessTimers } from '../db/repositories/process-timer.repository.js';
import { findSubject, updateSubject } from '../db/repositories/subject.repository.js';
import { claimTimer, findTimer, insertTimers, type TimerRow } from '../db/repositories/timer.repository.js';
import { ABSENCE_OVERDUE_TIMER } from '../domain/absence.js';
import { CONTACT_WATCH_TIMER, decideMissedRun } from '../domain/daily-contact.js';
import { addDays, atLocalTime, contactCheckTimers, localDate, resolveTarget, statusFollowingAbsence, type EscalationPolicy, type OrgSnapshot, type TimerTarget } from '../domain/index.js';
import { contactWatchTimer, fireAbsenceOverdue, subjectNotices, subjectTargets } from './absence.service.js';
import { runDailyDigest } from './digest.service.js';
import { emptyChange, type CommittedChange, type ServiceDeps } from './ports.js';
import { fireStaffAwayTimer, STAFF_AWAY_TIMER } from './staff.service.js';
import { missedRunsOf, type MissedRunContext } from './subject.service.js';
import type { TimerOutcome } from './timer.service.js';

/** Kinds of daily run recorded in daily_runs, with the policy time each runs at. */
export const DAILY_RUN_KINDS = ['contact_reminder', 'digest'] as const;
export type DailyRunKind = (typeof DAILY_RUN_KINDS)[number];

export function dailyRunTime(kind: DailyRunKind, policy: EscalationPolicy): string {
  return kind === 'digest' ? policy.digestAt : policy.dailyContact.reminderAt;
}

export interface ContactReminderRun {
  date: string;
  /** People who got a reminder now (not counting reminders already sent for this day). */
  officers: number;
  /** Subjects owed contact that day. */
  subjects: number;
  /** Contact checks written (the day's watch not counted). */
  timers: number;
  /** Absconding offers written now (runs of missed days at the threshold). */
  abscondingSuggestions: number;
  /** Subjects whose status followed their absences (away, or back to active). */
  statusesFollowed: number;
}

/**
 * The 09:00 run for a local date (also the manual trigger). Safe to run again the same day: a subject
 * already listed for its officer that day is not listed twice; a subject added since gets a short extra
 * message.
 */
export async function runDailyContactReminders(deps: ServiceDeps, date?: string): Promise<ContactReminderRun> {
  const now = deps.clock.now();
  const day = date ?? localDate(now, deps.timeZone);
  const policy = await deps.policy();
  const result = await deps.db.transaction(async (tx) => {
    const followed = day === localDate(now, deps.timeZone) ? await followStatuses(tx, day, now) : 0;
    const owed = await subjectsOwedContactOn(tx, day);
    const org = await loadOrgSnapshot(tx);
    const bySubjectOfficer = new Map<string, string[]>();
    for (const s of owed) {
      for (const officer of resolveTarget({ kind: 'responsible_officer' }, { officeUnitId: s.officeUnitId, responsibleStaffId: s.responsibleStaffId }, org)) {
        bySubjectOfficer.set(officer, [...(bySubjectOfficer.get(officer) ?? []), s.subjectId]);
      }
    }
    const drafts: NoticeDraft[] = [];
    for (const [officer, subjectIds] of bySubjectOfficer) {
      const listed = await listedToday(tx, officer, day);
      const fresh = subjectIds.filter((id) => !listed.has(id));
      if (fresh.length === 0) continue;
      const suffix = listed.size === 0 ? '' : `-${createHash('sha256').update([...fresh].sort().join(',')).digest('hex').slice(0, 12)}`;
      drafts.push({ recipientStaffId: officer, kind: 'contact_reminder', dedupeKey: `contact_reminder-${day}-${officer}${suffix}`, params: { date: day, subjectIds: fresh } });
    }
    const reminders = await enqueueNotices(tx, drafts);
    const timers = await insertTimers(tx, owed.flatMap((s) => contactCheckTimers(s.subjectId, day, policy, deps.timeZone)));
    const watch = await insertProcessTimers(tx, [contactWatchTimer(day, policy, deps.timeZone)]);
    const offers = await missedRunNotices(tx, owed, { now, timeZone: deps.timeZone, policy }, org);
    await recordDailyRun(tx, 'contact_reminder', day, now);
    if (reminders.length) {
      await appendAudit(tx, { at: now, action: 'daily.contact_reminders', entity: 'daily_run', entityId: day, data: { officers: reminders.length, subjects: owed.length } });
    }
    const change: CommittedChange = { ...emptyChange(), timersCreated: [...timers, ...watch], outboxCreated: [...reminders, ...offers.rows] };
    return { change, run: { date: day, officers: reminders.length, subjects: owed.length, timers: timers.length, abscondingSuggestions: offers.offers, statusesFollowed: followed } };
  });
  await deps.dispatcher.afterCommit(result.change);
  return result.run;
}

/** Subjects already listed to this person for this day. */
async function listedToday(tx: Executor, staffId: string, date: string): Promise<Set<string>> {
  const params = await contactReminderParams(tx, staffId, date);
  return new Set(params.flatMap((p) => (p as { subjectIds?: string[] }).subjectIds ?? []));
}

/** Statuses follow the absences today: away while one covers today, back to active when none does. */
async function followStatuses(tx: Executor, today: string, now: Date): Promise<number> {
  const audit: AuditEntry[] = [];
  for (const s of await subjectsToFollow(tx, today)) {
    const next = statusFollowingAbsence(s.status, s.awayToday);
    if (next === s.status) continue;
    await updateSubject(tx, s.id, { status: next, updatedAt: now });
    audit.push({ at: now, action: 'subject.status', entity: 'subject', entityId: s.id, data: { from: s.status, to: next, cause: 'daily' } });
  }
  await appendAudit(tx, audit);
  return audit.length;
}

const OFFICER: TimerTarget = { kind: 'responsible_officer' };
const OFFICE_HEAD: TimerTarget = { kind: 'position', position: 'office_head', scope: 'office' };
const DEPUTY: TimerTarget = { kind: 'position', position: 'deputy_director', scope: 'bureau' };

/**
 * The notices a run of days without a reached contact calls for, once per run (the dedupe key holds the
 * run's first day): the prefilled absconding report offered to the responsible officer and the office head
 * at the bureau's first threshold (not while an absconding report is open), the deputy director told at
 * its second.
 */
async function missedRunNotices(
  tx: Executor,
  subjects: readonly AwaySubjectRef[],
  ctx: MissedRunContext,
  org: OrgSnapshot,
  opts: { except?: string } = {},
): Promise<{ rows: Awaited<ReturnType<typeof enqueueNotices>>; offers: number }> {
  if (subjects.length === 0) return { rows: [], offers: 0 };
  const runs = await missedRunsOf(tx, subjects.map((s) => ({ id: s.subjectId })), ctx);
  const open = await subjectsWithOpenIncident(tx, 'absconding', subjects.map((s) => s.subjectId));
  const offers: NoticeDraft[] = [];
  const escalations: NoticeDraft[] = [];
  for (const s of subjects) {
    const run = runs.get(s.subjectId)!;
    const decision = decideMissedRun(run, ctx.policy.dailyContact, { abscondingOpen: open.has(s.subjectId) });
    const params = { reason: 'no_contact', days: run.days, since: run.since };
    const key = `${s.subjectId}-${run.since}`;
    if (decision.offerAbsconding) offers.push(...subjectNotices(subjectTargets(org, s, [OFFICER, OFFICE_HEAD]), 'absconding_offer', s.subjectId, key, { params, exclude: opts.except ?? null }));
    if (decision.tellDeputyDirector) escalations.push(...subjectNotices(subjectTargets(org, s, [DEPUTY]), 'contact_missed_escalation', s.subjectId, key, { params }));
  }
  const offered = await enqueueNotices(tx, offers);
  const escalated = await enqueueNotices(tx, escalations);
  return { rows: [...offered, ...escalated], offers: offered.length };
}

/**
 * The offer for one subject, right after a contact was logged (the contact flow calls this after
 * commit): the missed days are counted and, at the threshold, the officer and the office head are offered
 * the prefilled report. `except`: who logged the contact and was just offered it in their reply. The
 * day's watch has the same dedupe keys, so nobody is offered one run twice.
 */
export async function offerAbscondingIfDue(deps: ServiceDeps, subjectId: string, opts: { except?: string } = {}): Promise<number> {
  const policy = await deps.policy();
  const now = deps.clock.now();
  const created = await deps.db.transaction(async (tx) => {
    const s = await findSubject(tx, subjectId);
    if (!s || s.status === 'terminated') return [];
    const ref = { subjectId: s.id, officeUnitId: s.officeUnitId, responsibleStaffId: s.responsibleStaffId };
    return (await missedRunNotices(tx, [ref], { now, timeZone: deps.timeZone, policy }, await loadOrgSnapshot(tx), opts)).rows;
  });
  await deps.dispatcher.afterCommit({ ...emptyChange(), outboxCreated: created });
  return created.length;
}

// ---------------------------------------------------------------------------------------------
// The timers of this part that are not an incident's.

/**
 * Fires a timer of the day's watch, a stay's overdue chain or a staff member's away period; undefined
 * for any other kind (fireTimer's). Idempotent: the row is claimed, and only the claim acts.
 */
export async function fireProcessTimer(deps: ServiceDeps, timerId: string, opts: { earlyToleranceMs?: number } = {}): Promise<TimerOutcome | undefined> {
  const row = await findTimer(deps.db, timerId);
  if (!row || (row.kind !== CONTACT_WATCH_TIMER && row.kind !== ABSENCE_OVERDUE_TIMER && row.kind !== STAFF_AWAY_TIMER)) return undefined;
  if (row.state !== 'pending') return { status: 'skipped', reason: `already ${row.state}`, outcome: `skipped: already ${row.state}` };
  if (row.dueAt.getTime() - deps.clock.now().getTime() > (opts.earlyToleranceMs ?? 1000)) return { status: 'not_due', dueAt: row.dueAt, outcome: 'not due yet' };
  if (row.kind === ABSENCE_OVERDUE_TIMER) return fireAbsenceOverdue(deps, row);
  if (row.kind === STAFF_AWAY_TIMER) return fireStaffAwayTimer(deps, row);
  return fireContactWatch(deps, row);
}

/** The day's watch: the missed days of everyone owed contact that day are counted, and the thresholds act. */
async function fireContactWatch(deps: ServiceDeps, row: TimerRow): Promise<TimerOutcome> {
  const now = deps.clock.now();
  const policy = await deps.policy();
  const date = row.cycle ?? localDate(row.dueAt, deps.timeZone);
  const result = await deps.db.transaction(async (tx) => {
    const claimed = await claimTimer(tx, row.id, now, 'counted');
    if (!claimed) return undefined;
    const owed = await subjectsOwedContactOn(tx, date);
    const notices = await missedRunNotices(tx, owed, { now, timeZone: deps.timeZone, policy }, await loadOrgSnapshot(tx));
    await appendAudit(tx, { at: now, action: 'timer.fired', entity: 'timer', entityId: row.id, data: { kind: row.kind, date, subjects: owed.length, notices: notices.rows.length } });
    return notices.rows;
  });
  if (!result) return { status: 'skipped', reason: 'already fired', outcome: 'skipped: already fired' };
  await deps.dispatcher.afterCommit({ ...emptyChange(), outboxCreated: result });
  return result.length ? { status: 'sent', notices: result.length, outcome: 'sent' } : { status: 'skipped', reason: 'no run of missed days', outcome: 'skipped: no run of missed days' };
}

// ---------------------------------------------------------------------------------------------
// Missed days. BullMQ's job schedulers do not replay runs missed while no worker was up, so at start
// each daily run's history is compared with the calendar.

export interface MissedDaysReport {
  missed: Record<DailyRunKind, string[]>;
  /** Today's runs done late at start because their time had passed. */
  ranLate: DailyRunKind[];
}

/**
 * Finds the days, since the last recorded run, on which a daily run should have happened and did not;
 * records them as missed and tells the section (with, for contact reminders, how many subject-days
 * away have no contact logged). Today's run is done now if its time has passed. Idempotent: days already
 * recorded are not reported twice, and a second process at start finds nothing left.
 */
export async function detectMissedDailyRuns(deps: ServiceDeps, opts: { lookbackDays?: number } = {}): Promise<MissedDaysReport> {
  const now = deps.clock.now();
  const today = localDate(now, deps.timeZone);
  const policy = await deps.policy();
  const report: MissedDaysReport = { missed: { contact_reminder: [], digest: [] }, ranLate: [] };
  const lookback = opts.lookbackDays ?? 31;

  for (const kind of DAILY_RUN_KINDS) {
    const last = await lastDailyRunDate(deps.db, kind);
    if (last) {
      const first = [addDays(last, 1), addDays(today, -lookback)].sort().at(-1)!;
      const candidates: string[] = [];
      for (let d = first; d < today; d = addDays(d, 1)) candidates.push(d);
      if (candidates.length) {
        const created = await deps.db.transaction(async (tx) => {
          const dates = (await recordMissedDailyRuns(tx, kind, candidates, now)).sort();
          if (dates.length === 0) return { dates, rows: [] };
          const extra = kind === 'contact_reminder' ? { subjectDaysWithoutContact: await subjectDaysWithoutContact(tx, dates) } : {};
          const org = await loadOrgSnapshot(tx);
          const section = resolveTarget({ kind: 'position', position: 'section', scope: 'bureau' }, { officeUnitId: null }, org);
          const rows = await enqueueNotices(
            tx,
            section.map((recipientStaffId) => ({
              recipientStaffId,
              kind: 'missed_days' as const,
              dedupeKey: `missed_days-${kind}-${dates[0]}-${dates.at(-1)}-${recipientStaffId}`,
              params: { what: kind, dates, ...extra },
            })),
          );
          await appendAudit(tx, { at: now, action: 'daily.missed', entity: 'daily_run', entityId: kind, data: { kind, dates, ...extra } });
          return { dates, rows };
        });
        report.missed[kind] = created.dates;
        await deps.dispatcher.afterCommit({ ...emptyChange(), outboxCreated: created.rows });
      }
    }
    // Today's run, if its time has passed and it has not run: late is better than never.
    if (await isDailyRunLate(deps.db, kind, today, atLocalTime(today, dailyRunTime(kind, policy), deps.timeZone), now)) {
      if (kind === 'contact_reminder') await runDailyContactReminders(deps, today);
      else await runDailyDigest(deps, today);
      report.ranLate.push(kind);
    }
  }
  return report;
}

/** Subject-days away, on the given dates, with no contact logged. */
async function subjectDaysWithoutContact(tx: Executor, dates: readonly string[]): Promise<number> {
  let n = 0;
  for (const date of dates) {
    const away = await subjectsAwayOn(tx, date);
    if (away.length === 0) continue;
    const logged = new Set((await contactsOn(tx, away.map((s) => s.subjectId), date)).map((c) => c.subjectId));
    n += away.length - logged.size;
  }
  return n;
}
