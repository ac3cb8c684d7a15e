/**
 * The accountability register (七(四)) and the monthly statistics behind /stats. Lateness and omissions
 * are computed from the timeline rows each time (they cannot drift from the facts); false and concealed
 * reports are findings the section records, with evidence and a reason. Drill incidents never count.
 */
import type { Executor } from '../db/client.js';
import { timelinesOf } from '../db/read-models/incident-timeline.js';
import {
  absencesOverlapping,
  auditIdsAmong,
  auditIdsOfIncident,
  contactsLoggedBetween,
  evidenceRows,
  findingsRecordedBetween,
  insertFinding,
  realIncidentsReportedBetween,
  registerNameRows,
  stepIdsAmong,
  type FindingRow,
} from '../db/repositories/accountability.repository.js';
import { appendAudit } from '../db/repositories/audit.repository.js';
import { findIncident } from '../db/repositories/incident.repository.js';
import { sectionUnitId } from '../db/repositories/org.repository.js';
import { t, type Lang } from '../i18n/index.js';
import { registerCsv, statsCsv } from '../reports/csv.js';
import {
  computeStats,
  incidentFindings,
  manualFindingEntry,
  missedContactFindings,
  monthRange,
  sortRegister,
  validateManualFinding,
  type ManualRule,
  type MonthlyStats,
  type RegisterEntry,
  type RegisterEvidence,
} from '../domain/accountability.js';
import type { EpidemicScenario, IncidentType } from '../domain/incident-types.js';
import { findPlaybookStep } from '../domain/playbooks.js';
import { docDateTime, docLocalDate } from '../reports/format.js';
import type { EscalationPolicy } from '../domain/policy.js';
import { hasBureauWideView, isLeader, isSection, type Actor } from '../domain/roles.js';
import { ServiceRefusal } from './errors.js';
import type { ServiceDeps } from './ports.js';

export type { FindingRow };

export interface MonthQuery {
  /** `YYYY-MM`, local to the time zone. */
  month: string;
  timeZone: string;
  now: Date;
  /** Policy for daily contacts (check time); the deployment's current policy. */
  policy: EscalationPolicy;
}

/**
 * The register for a month: findings of the (non-drill) incidents reported in it, the daily contacts
 * owed in it and not logged, and the manual findings recorded in it. Newest first.
 */
export async function accountabilityRegister(db: Executor, q: MonthQuery): Promise<RegisterEntry[]> {
  const { from, to, firstDay, lastDay } = monthRange(q.month, q.timeZone);
  const section = await sectionUnitId(db);
  const rows = await realIncidentsReportedBetween(db, from, to);
  const timelines = await timelinesOf(db, rows);
  const entries = timelines.flatMap((t) => incidentFindings(t, { sectionUnitId: section, now: q.now }));

  const away = await absencesOverlapping(db, firstDay, lastDay);
  if (away.length) {
    const logs = await contactsLoggedBetween(db, [...new Set(away.map((a) => a.subjectId))], firstDay, lastDay);
    entries.push(...missedContactFindings(away, logs, { from: firstDay, to: lastDay }, q.policy, q.timeZone, q.now));
  }

  const manual = await findingsRecordedBetween(db, from, to);
  entries.push(...manual.filter((m) => m.isDrill !== true).map((m) => manualFindingEntry(m.finding)));
  return sortRegister(entries);
}

/** The statistics of a month, per office and per person, with the register they count. */
export async function monthlyStats(db: Executor, q: MonthQuery): Promise<{ stats: MonthlyStats; entries: RegisterEntry[] }> {
  const { from, to } = monthRange(q.month, q.timeZone);
  const rows = await realIncidentsReportedBetween(db, from, to);
  const entries = await accountabilityRegister(db, q);
  return { stats: computeStats(rows, entries), entries };
}

/** Who may see the register and the statistics: the section and leaders see all; an office head sees their office. */
export function canViewAccountability(actor: Actor): boolean {
  return hasBureauWideView(actor) || actor.positions.includes('office_head');
}

/** Narrows what an office head sees to their own office and its people. */
export function visibleRegister(actor: Actor, entries: readonly RegisterEntry[], staffUnit: ReadonlyMap<string, string>): RegisterEntry[] {
  if (hasBureauWideView(actor)) return [...entries];
  return entries.filter((e) => e.unitId === actor.unitId || (e.staffId !== null && staffUnit.get(e.staffId) === actor.unitId));
}

export function visibleStats(actor: Actor, stats: MonthlyStats, staffUnit: ReadonlyMap<string, string>): MonthlyStats {
  if (hasBureauWideView(actor)) return stats;
  return {
    offices: stats.offices.filter((r) => r.id === actor.unitId),
    people: stats.people.filter((r) => staffUnit.get(r.id) === actor.unitId),
  };
}

export interface ManualFindingInput {
  incidentId: string | null;
  rule: ManualRule;
  staffId: string | null;
  unitId: string | null;
  reason: string;
  evidence: RegisterEvidence;
}

/**
 * 谎报、瞒报: the section (or a leader) records a finding by hand. The evidence must name timeline rows;
 * when it names an incident, the incident's audit rows are checked to belong to it.
 */
export async function recordFinding(deps: ServiceDeps, actor: Actor, input: ManualFindingInput): Promise<FindingRow> {
  if (!isSection(actor) && !isLeader(actor)) throw new ServiceRefusal('not_permitted');
  const problems = validateManualFinding(input);
  if (problems.length) throw new ServiceRefusal('invalid_input', problems.join(','));
  if (input.reason.length > 2000) throw new ServiceRefusal('invalid_input', 'reason');
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    if (input.incidentId) {
      const inc = await findIncident(tx, input.incidentId);
      if (!inc) throw new ServiceRefusal('not_found', 'incident');
      if (inc.isDrill) throw new ServiceRefusal('invalid_input', 'drill');
      if (input.evidence.auditIds.length) {
        const own = await auditIdsAmong(tx, input.incidentId, input.evidence.auditIds);
        if (own.length !== new Set(input.evidence.auditIds).size) throw new ServiceRefusal('invalid_input', 'evidence');
      }
      if (input.evidence.stepIds.length) {
        const own = await stepIdsAmong(tx, input.incidentId, input.evidence.stepIds);
        if (own.length !== new Set(input.evidence.stepIds).size) throw new ServiceRefusal('invalid_input', 'evidence');
      }
    }
    const row = await insertFinding(tx, {
      incidentId: input.incidentId,
      rule: input.rule,
      subjectStaffId: input.staffId,
      subjectUnitId: input.unitId,
      reason: input.reason.trim(),
      evidence: input.evidence,
      recordedByStaffId: actor.staffId,
      at: now,
    });
    await appendAudit(tx, {
      at: now,
      action: 'accountability.finding',
      entity: 'accountability_finding',
      entityId: row.id,
      incidentId: input.incidentId,
      actorStaffId: actor.staffId,
      data: { rule: input.rule, staffId: input.staffId, unitId: input.unitId, evidence: input.evidence },
    });
    return row;
  });
}

/** Names for the units, people, incidents and subjects a set of entries and rows mention. */
export async function namesFor(db: Executor, entries: readonly RegisterEntry[], stats?: MonthlyStats, lang: Lang = 'zh') {
  const unitIds = new Set<string>();
  const staffIds = new Set<string>();
  const incidentIds = new Set<string>();
  const subjectIds = new Set<string>();
  for (const e of entries) {
    if (e.unitId) unitIds.add(e.unitId);
    if (e.staffId) staffIds.add(e.staffId);
    if (e.incidentId) incidentIds.add(e.incidentId);
    if (e.subjectId) subjectIds.add(e.subjectId);
  }
  for (const r of stats?.offices ?? []) unitIds.add(r.id);
  for (const r of stats?.people ?? []) staffIds.add(r.id);
  const { units: u, staff: st, incidents: inc, subjects: sub } = await registerNameRows(db, {
    unitIds: [...unitIds],
    staffIds: [...staffIds],
    incidentIds: [...incidentIds],
    subjectIds: [...subjectIds],
  });
  const unitName = new Map(u.map((x) => [x.id, (lang === 'en' ? x.nameEn : null) ?? x.name]));
  const staffName = new Map(st.map((x) => [x.id, x.name]));
  const staffUnit = new Map(st.map((x) => [x.id, x.unitId]));
  const numbers = new Map(inc.map((x) => [x.id, x.number]));
  const codes = new Map(sub.map((x) => [x.id, x.code]));
  return {
    unit: (id: string) => unitName.get(id) ?? id.slice(0, 8),
    staff: (id: string) => staffName.get(id) ?? id.slice(0, 8),
    incidentNumber: (id: string) => numbers.get(id) ?? id.slice(0, 8),
    subjectCode: (id: string) => codes.get(id) ?? id.slice(0, 8),
    staffUnit,
  };
}

/** The steps, progress reports and absences a set of entries cites, as a reader knows them (never their ids). */
export async function evidenceNames(db: Executor, entries: readonly RegisterEntry[], lang: Lang, timeZone: string) {
  const stepIds = [...new Set(entries.flatMap((e) => e.evidence.stepIds))];
  const updateIds = [...new Set(entries.flatMap((e) => e.evidence.updateIds))];
  const absenceIds = [...new Set(entries.flatMap((e) => e.evidence.absenceIds))];
  const { steps: st, updates: up, absences: ab } = await evidenceRows(db, { stepIds, updateIds, absenceIds });
  const steps = new Map(
    st.map((s) => {
      const text = findPlaybookStep(s.type as IncidentType, (s.scenario as EpidemicScenario | null) ?? null, s.key)?.text[lang] ?? s.key;
      return [s.id, t(lang, 'acct.csv.step', { ordinal: s.ordinal, step: text })];
    }),
  );
  const updates = new Map(up.map((u) => [u.id, t(lang, 'acct.csv.update', { at: docDateTime(u.at, timeZone, lang) })]));
  const away = new Map(ab.map((a) => [a.id, t(lang, 'acct.csv.absence', { start: docLocalDate(a.startsOn, lang), end: docLocalDate(a.endsOn, lang) })]));
  return {
    step: (id: string) => steps.get(id) ?? id,
    update: (id: string) => updates.get(id) ?? id,
    absence: (id: string) => away.get(id) ?? id,
  };
}

/** /stats as a CSV document, narrowed to what the actor may see. */
export async function statsCsvFile(deps: Pick<ServiceDeps, 'db' | 'clock' | 'timeZone' | 'policy'>, actor: Actor, month: string, lang: Lang = 'zh'): Promise<{ filename: string; data: Buffer }> {
  if (!canViewAccountability(actor)) throw new ServiceRefusal('not_permitted');
  const { stats, entries } = await monthlyStats(deps.db, { month, timeZone: deps.timeZone, now: deps.clock.now(), policy: await deps.policy() });
  const names = await namesFor(deps.db, entries, stats, lang);
  const visible = visibleStats(actor, stats, names.staffUnit);
  return { filename: t(lang, 'stats.csv.filename', { month }), data: Buffer.from(statsCsv(visible, names, lang), 'utf8') };
}

/** The register of a month as a CSV document, narrowed to what the actor may see. */
export async function registerCsvFile(deps: Pick<ServiceDeps, 'db' | 'clock' | 'timeZone' | 'policy'>, actor: Actor, month: string, lang: Lang = 'zh'): Promise<{ filename: string; data: Buffer }> {
  if (!canViewAccountability(actor)) throw new ServiceRefusal('not_permitted');
  const entries = await accountabilityRegister(deps.db, { month, timeZone: deps.timeZone, now: deps.clock.now(), policy: await deps.policy() });
  const names = await namesFor(deps.db, entries, undefined, lang);
  const visible = visibleRegister(actor, entries, names.staffUnit);
  const evidence = await evidenceNames(deps.db, visible, lang, deps.timeZone);
  return { filename: t(lang, 'acct.csv.filename', { month }), data: Buffer.from(registerCsv(visible, { ...names, ...evidence, timeZone: deps.timeZone }, lang), 'utf8') };
}

/** The audit rows of an incident, as evidence to pick from for a manual finding. */
export async function incidentAuditIds(db: Executor, incidentId: string): Promise<number[]> {
  return auditIdsOfIncident(db, incidentId);
}
