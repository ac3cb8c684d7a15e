/**
 * Daily contact with subjects away from home (外出; epidemic 情形三 makes it mandatory, the system applies
 * it to every approved absence):
 * - 09:00 local: each officer with subjects away gets ONE message listing them, a button per subject to
 *   log the contact; the day's 18:00 checks are written as timers (office head, then the section).
 * - Two failed contacts in a row: offer to open an absconding incident, prefilled.
 * - Idempotent per subject and day (outbox dedupe keys, timer dedupe keys, daily_runs).
 * - Days missed while the system was down are found at start and reported to the section.
 */
import { createHash } from 'node:crypto';
import type { Executor } from '../db/client.js';
import { subjectsAwayOn, type AwaySubjectRef } from '../db/repositories/absence.repository.js';
import { appendAudit } from '../db/repositories/audit.repository.js';
import { contactsOn, recentContacts } from '../db/repositories/contact-log.repository.js';
import { isDailyRunLate, lastDailyRunDate, recordDailyRun, recordMissedDailyRuns } from '../db/repositories/daily-runs.repository.js';
import { subjectsWithOpenIncident } from '../db/repositories/incident.repository.js';
import { loadOrgSnapshot } from '../db/repositories/org.repository.js';
import { contactReminderParams, enqueueNotices, type NoticeDraft } from '../db/repositories/outbox.repository.js';
import { findSubject } from '../db/repositories/subject.repository.js';
import { insertTimers } from '../db/repositories/timer.repository.js';
import {
  addDays,
  atLocalTime,
  contactCheckTimers,
  localDate,
  resolveTarget,
  shouldSuggestAbsconding,
  type ContactResult,
  type EscalationPolicy,
  type OrgSnapshot,
} from '../domain/index.js';
import { runDailyDigest } from './digest.service.js';
import { emptyChange, type CommittedChange, type ServiceDeps } from './ports.js';

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
  subjects: number;
  timers: number;
  abscondingSuggestions: number;
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
    const away = await subjectsAwayOn(tx, day);
    const org = await loadOrgSnapshot(tx);
    const bySubjectOfficer = new Map<string, string[]>();
    for (const s of away) {
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
    const timers = await insertTimers(tx, away.flatMap((s) => contactCheckTimers(s.subjectId, day, policy, deps.timeZone)));
    const suggestions = await abscondingSuggestionDrafts(tx, away, policy, org);
    const offered = await enqueueNotices(tx, suggestions);
    await recordDailyRun(tx, 'contact_reminder', day, now);
    if (reminders.length) {
      await appendAudit(tx, { at: now, action: 'daily.contact_reminders', entity: 'daily_run', entityId: day, data: { officers: reminders.length, subjects: away.length } });
    }
    const change: CommittedChange = { ...emptyChange(), timersCreated: timers, outboxCreated: [...reminders, ...offered] };
    return { change, run: { date: day, officers: reminders.length, subjects: away.length, timers: timers.length, abscondingSuggestions: offered.length } };
  });
  await deps.dispatcher.afterCommit(result.change);
  return result.run;
}

/** Subjects already listed to this person for this day. */
async function listedToday(tx: Executor, staffId: string, date: string): Promise<Set<string>> {
  const params = await contactReminderParams(tx, staffId, date);
  return new Set(params.flatMap((p) => (p as { subjectIds?: string[] }).subjectIds ?? []));
}

/**
 * Subjects whose last contacts failed `failuresBeforeAbsconding` times in a row and who have no open
 * absconding incident: the responsible officer and the office head are offered to open one. One offer
 * per streak (the dedupe key holds the latest failed log's id).
 */
async function abscondingSuggestionDrafts(tx: Executor, away: readonly AwaySubjectRef[], policy: EscalationPolicy, org: OrgSnapshot): Promise<NoticeDraft[]> {
  const n = policy.dailyContact.failuresBeforeAbsconding;
  if (away.length === 0) return [];
  const alreadyOpen = await subjectsWithOpenIncident(tx, 'absconding', away.map((s) => s.subjectId));
  const drafts: NoticeDraft[] = [];
  for (const s of away) {
    if (alreadyOpen.has(s.subjectId)) continue;
    const recent = await recentContacts(tx, s.subjectId, Math.max(n, 10));
    if (!shouldSuggestAbsconding(recent.map((r) => r.result as ContactResult), n)) continue;
    const latest = recent[0]!;
    const ctx = { officeUnitId: s.officeUnitId, responsibleStaffId: s.responsibleStaffId };
    const to = new Set([...resolveTarget({ kind: 'responsible_officer' }, ctx, org), ...resolveTarget({ kind: 'position', position: 'office_head', scope: 'office' }, ctx, org)]);
    for (const recipientStaffId of to) {
      drafts.push({
        recipientStaffId,
        kind: 'absconding_suggestion',
        subjectId: s.subjectId,
        dedupeKey: `absconding_suggestion-${s.subjectId}-${latest.id}-${recipientStaffId}`,
        params: { count: n, last: latest.at.toISOString() },
      });
    }
  }
  return drafts;
}

/**
 * The offer for one subject, right after a failed contact was logged (the contact flow calls this after
 * commit): as notices with the 🚨 button to the responsible officer and the office head. `except`: who
 * logged the contact and was just offered it in their reply. The 09:00 run's offer for the same streak
 * has the same dedupe keys, so the office head is not offered it twice (the one who logged it is offered
 * it again at 09:00 as a notice, as before: their reply is not an outbox row).
 */
export async function offerAbscondingIfDue(deps: ServiceDeps, subjectId: string, opts: { except?: string } = {}): Promise<number> {
  const policy = await deps.policy();
  const created = await deps.db.transaction(async (tx) => {
    const s = await findSubject(tx, subjectId);
    if (!s) return [];
    const away = { subjectId: s.id, officeUnitId: s.officeUnitId, responsibleStaffId: s.responsibleStaffId };
    const drafts = await abscondingSuggestionDrafts(tx, [away], policy, await loadOrgSnapshot(tx));
    return enqueueNotices(tx, drafts.filter((d) => d.recipientStaffId !== opts.except));
  });
  await deps.dispatcher.afterCommit({ ...emptyChange(), outboxCreated: created });
  return created.length;
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
