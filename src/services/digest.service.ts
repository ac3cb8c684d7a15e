/**
 * The daily digest (18:00 by default) to the section and the leaders: open incidents, overdue steps and
 * written reports, the subjects away today with their contact status, and the subjects whose latest
 * screening found them unstable. The outbox row carries only
 * the date; the content is read when the message is drawn, so it is current when it arrives.
 *
 * It also tells the section, once a day, which notices nobody could receive in the last 24 hours
 * (undeliverable_notices): for whom, what they missed, and who in the stand-in chain could not be reached.
 */
import type { Executor } from '../db/client.js';
import { absencesOn } from '../db/repositories/absence.repository.js';
import { contactsOn } from '../db/repositories/contact-log.repository.js';
import { recordDailyRun } from '../db/repositories/daily-runs.repository.js';
import { openRealIncidents, pendingRequiredStepCounts, resolvedIncidentsWithReportStage } from '../db/repositories/incident.repository.js';
import { listUnits, loadOrgSnapshot } from '../db/repositories/org.repository.js';
import { enqueueNotices, type NoticeDraft } from '../db/repositories/outbox.repository.js';
import { listSubjects } from '../db/repositories/subject.repository.js';
import { staffNamesById } from '../db/repositories/staff.repository.js';
import { undeliverableSince } from '../db/repositories/undeliverable.repository.js';
import { addMs, DAY, localDate, resolveTarget, type Criticality, type PositionKind, type Unreceivable } from '../domain/index.js';
import { policyOf } from './incident.service.js';
import { emptyChange, type ServiceDeps } from './ports.js';
import { unstableSubjectsForDigest } from './screening.service.js';

export interface DigestData {
  date: string;
  open: Array<{ id: string; number: string; type: string; officeName: string; status: string }>;
  overdueSteps: Array<{ number: string; count: number }>;
  overdueReports: Array<{ number: string; due: Date }>;
  away: Array<{ subjectId: string; code: string; nameEnc: Buffer; officeName: string; contact: string | null }>;
  /** Subjects whose latest screening (七(一)) found them unstable; `isNew` within the last 24 hours. */
  unstable: Array<{ subjectId: string; code: string; nameEnc: Buffer; officeName: string; isNew: boolean }>;
  /** Notices nobody in the stand-in chain could receive, recorded in the last 24 hours. */
  undeliverable: UndeliverableDigest;
}

export interface UndeliverableDigest {
  /** Notices recorded. */
  notices: number;
  /** The people they were for, most missed first: how many, of which kinds, about which incidents. */
  people: Array<{ staffId: string; name: string; unitName: string; count: number; kinds: Array<{ kind: string; count: number }>; incidents: Array<{ number: string; isDrill: boolean }> }>;
  /** Everyone tried who could not receive them, with the latest reason: whom to get to bind the bot. */
  unreachable: Array<{ staffId: string; name: string; reason: Unreceivable }>;
}

/** The undeliverable notices of the 24 hours before `now`, grouped by the person each was for. */
export async function undeliverableDigest(db: Executor, now: Date): Promise<UndeliverableDigest> {
  const entries = await undeliverableSince(db, addMs(now, -DAY));
  const people = new Map<string, UndeliverableDigest['people'][number]>();
  const unreachable = new Map<string, Unreceivable>();
  for (const e of entries) {
    const p = people.get(e.intendedStaffId) ?? { staffId: e.intendedStaffId, name: e.intendedName, unitName: e.intendedUnit, count: 0, kinds: [], incidents: [] };
    p.count++;
    const k = p.kinds.find((x) => x.kind === e.kind);
    if (k) k.count++;
    else p.kinds.push({ kind: e.kind, count: 1 });
    if (e.incidentNumber && !p.incidents.some((i) => i.number === e.incidentNumber)) p.incidents.push({ number: e.incidentNumber, isDrill: e.isDrill });
    people.set(e.intendedStaffId, p);
    // Entries come oldest first: the latest reason wins.
    for (const t of e.tried) unreachable.set(t.staffId, t.reason);
  }
  const names = await staffNamesById(db, [...unreachable.keys()]);
  return {
    notices: entries.length,
    people: [...people.values()].map((p) => ({ ...p, kinds: p.kinds.sort((a, b) => b.count - a.count) })).sort((a, b) => b.count - a.count || a.name.localeCompare(b.name)),
    unreachable: [...unreachable].map(([staffId, reason]) => ({ staffId, name: names.get(staffId) ?? '', reason })).sort((a, b) => a.name.localeCompare(b.name)),
  };
}

/** Who gets the digest: the section and the leaders (or whoever acts for them). */
export const DIGEST_POSITIONS: readonly PositionKind[] = ['section', 'deputy_director', 'director'];

/** Reads the digest's content for a local day, as of `now`. Drills are left out. */
export async function buildDigest(db: Executor, date: string, now: Date): Promise<DigestData> {
  const unitName = new Map((await listUnits(db)).map((u) => [u.id, u.name]));
  const open = await openRealIncidents(db);
  const pendingBy = await pendingRequiredStepCounts(db, open.map((i) => i.id));
  const overdueSteps = open
    .filter((i) => (pendingBy.get(i.id) ?? 0) > 0 && addMs(i.reportedAt, policyOf(i).stepDueSeconds[i.criticality as Criticality] * 1000) < now)
    .map((i) => ({ number: i.number, count: pendingBy.get(i.id)! }));

  const closed = await resolvedIncidentsWithReportStage(db);
  const overdueReports = closed
    .map((r) => ({ number: r.number, stage: r.stage, due: r.due ?? (r.closedAt ? addMs(r.closedAt, policyOf(r).writtenReportDueSeconds * 1000) : null) }))
    .filter((r): r is { number: string; stage: string | null; due: Date } => r.due !== null && r.due < now && (r.stage === null || r.stage === 'office'))
    .map((r) => ({ number: r.number, due: r.due }));

  const awayRows = (await absencesOn(db, date)).map(({ subject: s }) => ({ subjectId: s.id, code: s.code, nameEnc: s.nameEnc, office: s.officeUnitId }));
  const logs = await contactsOn(db, [...new Set(awayRows.map((r) => r.subjectId))], date);
  const seen = new Set<string>();
  const away = awayRows
    .filter((r) => !seen.has(r.subjectId) && seen.add(r.subjectId))
    .map((r) => ({ subjectId: r.subjectId, code: r.code, nameEnc: r.nameEnc, officeName: unitName.get(r.office) ?? '', contact: logs.find((l) => l.subjectId === r.subjectId)?.result ?? null }));

  const unstableRows = await unstableSubjectsForDigest(db, now);
  const names = new Map((await listSubjects(db, { ids: unstableRows.map((u) => u.subjectId) })).map((r) => [r.id, r.nameEnc]));
  const unstable = unstableRows
    .filter((u) => names.has(u.subjectId))
    .map((u) => ({ subjectId: u.subjectId, code: u.code, nameEnc: names.get(u.subjectId)!, officeName: unitName.get(u.officeUnitId) ?? '', isNew: u.isNew }));

  return {
    date,
    open: open.map((i) => ({ id: i.id, number: i.number, type: i.type, officeName: unitName.get(i.officeUnitId) ?? '', status: i.status })),
    overdueSteps,
    overdueReports,
    away,
    unstable,
    undeliverable: await undeliverableDigest(db, now),
  };
}

/** Writes the day's digest for each recipient (once per day and person) and records the run. */
export async function runDailyDigest(deps: ServiceDeps, date?: string): Promise<{ date: string; recipients: number }> {
  const now = deps.clock.now();
  const day = date ?? localDate(now, deps.timeZone);
  const created = await deps.db.transaction(async (tx) => {
    const org = await loadOrgSnapshot(tx);
    const ids = new Set<string>();
    for (const position of DIGEST_POSITIONS) {
      for (const id of resolveTarget({ kind: 'position', position, scope: 'bureau' }, { officeUnitId: null }, org)) ids.add(id);
    }
    const drafts: NoticeDraft[] = [...ids].map((recipientStaffId) => ({
      recipientStaffId,
      kind: 'daily_digest',
      dedupeKey: `daily_digest-${day}-${recipientStaffId}`,
      params: { date: day },
    }));
    const rows = await enqueueNotices(tx, drafts);
    await recordDailyRun(tx, 'digest', day, now);
    return rows;
  });
  await deps.dispatcher.afterCommit({ ...emptyChange(), outboxCreated: created });
  return { date: day, recipients: created.length };
}

