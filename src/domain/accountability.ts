/**
 * Accountability (七(四)): late, false and concealed reports (迟报、谎报、瞒报), and duties left undone
 * (未完成的处置步骤, daily contacts not made). 漏报 keeps its own meaning, an incident never reported,
 * which no timeline shows. Lateness and omissions are computed from the timeline against the policy
 * snapshot each incident carries; false and concealed reports are findings the section records by hand.
 * Every entry names who (a person or a unit), the rule, and the timeline rows that prove it. Drill
 * incidents are left out unless asked for. Also the monthly statistics (/stats). Pure: every instant is
 * passed in.
 */
import type { Criticality } from './incident-types.js';
import type { StepActor } from './playbooks.js';
import { dailyContactSchedule, type EscalationPolicy } from './policy.js';
import { addDays, atLocalTime, daysBetween, fromLocal, localDate } from './time.js';

export const REGISTER_RULES = [
  'late_report',
  'late_ack',
  'late_progress',
  'late_upper_report',
  'missed_step',
  'missed_daily_contact',
  'false_report',
  'concealed_report',
] as const;
export type RegisterRule = (typeof REGISTER_RULES)[number];

/**
 * 迟报 late, 谎报 false, 瞒报 concealed, and 未完成 unfinished: a required step or a daily contact not done.
 * An unticked step is not 漏报 (failing to report an incident).
 */
export const REGISTER_CATEGORIES = ['late', 'false', 'concealed', 'unfinished'] as const;
export type RegisterCategory = (typeof REGISTER_CATEGORIES)[number];

export const MANUAL_RULES = ['false_report', 'concealed_report'] as const;
export type ManualRule = (typeof MANUAL_RULES)[number];

export function categoryOf(rule: RegisterRule): RegisterCategory {
  switch (rule) {
    case 'late_report':
    case 'late_ack':
    case 'late_progress':
    case 'late_upper_report':
      return 'late';
    case 'missed_step':
    case 'missed_daily_contact':
      return 'unfinished';
    case 'false_report':
      return 'false';
    case 'concealed_report':
      return 'concealed';
  }
}

/** The timeline rows an entry rests on. */
export interface RegisterEvidence {
  auditIds: number[];
  stepIds: string[];
  updateIds: string[];
  absenceIds: string[];
  /** Local dates (YYYY-MM-DD) a daily contact was owed and not logged. */
  dates: string[];
}

export const emptyEvidence = (): RegisterEvidence => ({ auditIds: [], stepIds: [], updateIds: [], absenceIds: [], dates: [] });

export interface RegisterEntry {
  rule: RegisterRule;
  category: RegisterCategory;
  incidentId: string | null;
  subjectId: string | null;
  /** The person answerable, when one is; otherwise the unit is. */
  staffId: string | null;
  unitId: string | null;
  /** When the breach happened: the deadline that passed, or the finding's time. */
  at: Date;
  deadlineAt: Date | null;
  /** When the thing was finally done; null if never (or not yet). */
  actualAt: Date | null;
  lateBySeconds: number | null;
  /** Step key for missed steps and the upper report. */
  stepKey: string | null;
  evidence: RegisterEvidence;
  /** Manual findings: the reason given and the row id. */
  reason: string | null;
  findingId: string | null;
}

// ---------------------------------------------------------------------------------------------
// Incident timeline → entries

export interface TimelineIncident {
  id: string;
  officeUnitId: string;
  reporterStaffId: string;
  criticality: Criticality;
  discoveredAt: Date;
  reportedAt: Date;
  acknowledgedAt: Date | null;
  acknowledgedByStaffId: string | null;
  closedAt: Date | null;
  closedByStaffId: string | null;
  closure: string | null;
  isDrill: boolean;
}

export interface TimelineAuditRow {
  id: number;
  at: Date;
  action: string;
  entity: string;
  entityId: string | null;
  actorStaffId: string | null;
  data: Record<string, unknown>;
}

export interface TimelineStepRow {
  id: string;
  key: string;
  actor: StepActor | string;
  required: boolean;
  state: string;
  doneAt: Date | null;
  doneByStaffId: string | null;
  /** Set on a step that applies only when something holds (casualties, a weapon…). */
  condition?: string | null;
}

export interface TimelineUpdateRow {
  id: string;
  at: Date;
  staffId: string;
  kind: string;
}

export interface IncidentTimeline {
  incident: TimelineIncident;
  /** The incident's policy snapshot, not today's policy. */
  policy: EscalationPolicy;
  audit: readonly TimelineAuditRow[];
  steps: readonly TimelineStepRow[];
  updates: readonly TimelineUpdateRow[];
}

export interface RegisterContext {
  /** The corrections section's unit: late acknowledgements and section steps are its to answer for. */
  sectionUnitId: string | null;
  /** Open incidents are judged up to now. */
  now: Date;
}

const secs = (ms: number) => Math.round(ms / 1000);
const ms = (s: number) => s * 1000;

function entry(e: Partial<RegisterEntry> & Pick<RegisterEntry, 'rule' | 'at'>): RegisterEntry {
  return {
    category: categoryOf(e.rule),
    incidentId: null,
    subjectId: null,
    staffId: null,
    unitId: null,
    deadlineAt: null,
    actualAt: null,
    lateBySeconds: null,
    stepKey: null,
    evidence: emptyEvidence(),
    reason: null,
    findingId: null,
    ...e,
  };
}

/** Audit rows about one step, however the writer keyed them (by step id in entityId or data, or by key). */
function auditIdsForStep(audit: readonly TimelineAuditRow[], step: TimelineStepRow): number[] {
  return audit
    .filter((a) => a.entityId === step.id || a.data.stepId === step.id || (a.data.key === step.key && /step/.test(a.action)))
    .map((a) => a.id);
}

function auditIdsFor(audit: readonly TimelineAuditRow[], pattern: RegExp): number[] {
  return audit.filter((a) => pattern.test(a.action)).map((a) => a.id);
}

/** The progress reports (续报) of an incident, in time order. */
export function progressTimes(updates: readonly TimelineUpdateRow[]): TimelineUpdateRow[] {
  return updates.filter((u) => u.kind === 'progress').sort((a, b) => a.at.getTime() - b.at.getTime());
}

/**
 * What the timeline of one incident shows: late report, late acknowledgement, each missed progress
 * deadline, a late upper report, and each required step left open at closing. Drills return nothing
 * unless `includeDrills` (the drill evaluation uses the same rules).
 */
export function incidentFindings(t: IncidentTimeline, ctx: RegisterContext, opts: { includeDrills?: boolean } = {}): RegisterEntry[] {
  const { incident: inc, policy, audit } = t;
  if (inc.isDrill && !opts.includeDrills) return [];
  const c = inc.criticality;
  const out: RegisterEntry[] = [];
  const base = { incidentId: inc.id };
  const end = inc.closedAt ?? ctx.now;
  const reportedAudit = auditIdsFor(audit, /^incident\.reported$/);

  // 迟报: discovered → reported beyond the threshold.
  const reportDelay = inc.reportedAt.getTime() - inc.discoveredAt.getTime();
  if (reportDelay > ms(policy.lateReportSeconds)) {
    const deadlineAt = new Date(inc.discoveredAt.getTime() + ms(policy.lateReportSeconds));
    out.push(
      entry({
        ...base,
        rule: 'late_report',
        staffId: inc.reporterStaffId,
        unitId: inc.officeUnitId,
        at: deadlineAt,
        deadlineAt,
        actualAt: inc.reportedAt,
        lateBySeconds: secs(inc.reportedAt.getTime() - deadlineAt.getTime()),
        evidence: { ...emptyEvidence(), auditIds: reportedAudit },
      }),
    );
  }

  // Late acknowledgement (签收): the section answers for it. Closing an unacknowledged report ends the wait.
  const ackDeadline = new Date(inc.reportedAt.getTime() + ms(policy.ackSeconds[c]));
  const ackedAt = inc.acknowledgedAt ?? inc.closedAt;
  const ackEnd = ackedAt ?? ctx.now;
  if (ackEnd.getTime() > ackDeadline.getTime()) {
    out.push(
      entry({
        ...base,
        rule: 'late_ack',
        staffId: inc.acknowledgedByStaffId,
        unitId: ctx.sectionUnitId,
        at: ackDeadline,
        deadlineAt: ackDeadline,
        actualAt: ackedAt,
        lateBySeconds: secs(ackEnd.getTime() - ackDeadline.getTime()),
        evidence: { ...emptyEvidence(), auditIds: [...reportedAudit, ...auditIdsFor(audit, inc.acknowledgedAt ? /^incident\.acknowledged$/ : /^incident\.(closed|false_alarm)$/)] },
      }),
    );
  }

  // Late progress reports (续报): every gap longer than the interval while the incident was open.
  const progress = progressTimes(t.updates);
  const interval = ms(policy.progressSeconds[c]);
  let prev: { at: Date; id: string | null } = { at: inc.reportedAt, id: null };
  for (const next of [...progress.filter((p) => p.at.getTime() <= end.getTime()), null]) {
    const nextAt = next ? next.at : end;
    const deadlineAt = new Date(prev.at.getTime() + interval);
    if (nextAt.getTime() > deadlineAt.getTime()) {
      const updateIds = [prev.id, next?.id ?? null].filter((x): x is string => x !== null);
      out.push(
        entry({
          ...base,
          rule: 'late_progress',
          staffId: inc.reporterStaffId,
          unitId: inc.officeUnitId,
          at: deadlineAt,
          deadlineAt,
          actualAt: next ? next.at : null,
          lateBySeconds: secs(nextAt.getTime() - deadlineAt.getTime()),
          evidence: {
            ...emptyEvidence(),
            updateIds,
            auditIds: audit
              .filter((a) => (a.data.updateId !== undefined && updateIds.includes(String(a.data.updateId))) || (prev.id === null && a.action === 'incident.reported'))
              .map((a) => a.id),
          },
        }),
      );
    }
    if (next) prev = { at: next.at, id: next.id };
  }

  // The report to the upper-level agency, due within its own deadline.
  const upper = t.steps.find((s) => s.key === 'report_upward');
  if (upper && upper.state !== 'not_applicable') {
    const deadlineAt = new Date(inc.reportedAt.getTime() + ms(policy.upperReportSeconds[c]));
    const doneAt = upper.state === 'done' ? upper.doneAt : null;
    const judgedAt = doneAt ?? (inc.closedAt ? null : ctx.now);
    if (judgedAt && judgedAt.getTime() > deadlineAt.getTime()) {
      out.push(
        entry({
          ...base,
          rule: 'late_upper_report',
          staffId: upper.doneByStaffId,
          unitId: ctx.sectionUnitId,
          at: deadlineAt,
          deadlineAt,
          actualAt: doneAt,
          lateBySeconds: secs(judgedAt.getTime() - deadlineAt.getTime()),
          stepKey: upper.key,
          evidence: { ...emptyEvidence(), stepIds: [upper.id], auditIds: auditIdsForStep(audit, upper) },
        }),
      );
    }
  }

  // 未完成的处置步骤: a required step neither done nor marked not applicable before closing. A false alarm owes no steps.
  if (inc.closedAt && inc.closure !== 'false_alarm') {
    const closedAt = inc.closedAt;
    for (const s of t.steps) {
      if (!s.required || s.state === 'not_applicable') continue;
      const doneInTime = s.state === 'done' && s.doneAt !== null && s.doneAt.getTime() <= closedAt.getTime();
      if (doneInTime) continue;
      out.push(
        entry({
          ...base,
          rule: 'missed_step',
          staffId: null,
          unitId: s.actor === 'section' ? ctx.sectionUnitId : inc.officeUnitId,
          at: closedAt,
          deadlineAt: closedAt,
          actualAt: s.state === 'done' ? s.doneAt : null,
          stepKey: s.key,
          evidence: { ...emptyEvidence(), stepIds: [s.id], auditIds: [...auditIdsForStep(audit, s), ...auditIdsFor(audit, /^incident\.closed$/)] },
        }),
      );
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Daily contacts owed while a subject is away (外出)

export interface AbsenceFacts {
  id: string;
  subjectId: string;
  officeUnitId: string;
  responsibleStaffId: string | null;
  startsOn: string;
  endsOn: string;
  cancelledAt: Date | null;
}

export interface ContactFacts {
  subjectId: string;
  localDate: string;
}

/**
 * Every day of an approved absence whose check time has passed with no contact logged, within
 * [from, to] (local dates, inclusive). The responsible officer answers for it, with their office.
 */
export function missedContactFindings(
  absences: readonly AbsenceFacts[],
  contacts: readonly ContactFacts[],
  range: { from: string; to: string },
  policy: EscalationPolicy,
  timeZone: string,
  now: Date,
): RegisterEntry[] {
  const logged = new Set(contacts.map((c) => `${c.subjectId}|${c.localDate}`));
  const out: RegisterEntry[] = [];
  for (const a of absences) {
    const first = a.startsOn > range.from ? a.startsOn : range.from;
    const last = a.endsOn < range.to ? a.endsOn : range.to;
    const n = daysBetween(first, last);
    for (let i = 0; i <= n; i++) {
      const day = addDays(first, i);
      const { checkAt } = dailyContactSchedule(day, policy, timeZone);
      if (checkAt.getTime() > now.getTime()) break;
      if (a.cancelledAt && a.cancelledAt.getTime() <= checkAt.getTime()) break;
      if (logged.has(`${a.subjectId}|${day}`)) continue;
      out.push(
        entry({
          rule: 'missed_daily_contact',
          subjectId: a.subjectId,
          staffId: a.responsibleStaffId,
          unitId: a.officeUnitId,
          at: checkAt,
          deadlineAt: checkAt,
          evidence: { ...emptyEvidence(), absenceIds: [a.id], dates: [day] },
        }),
      );
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Manual findings (谎报、瞒报)

export interface ManualFindingFacts {
  id: string;
  incidentId: string | null;
  rule: string;
  subjectStaffId: string | null;
  subjectUnitId: string | null;
  reason: string;
  evidence: unknown;
  at: Date;
}

export function manualFindingEntry(f: ManualFindingFacts): RegisterEntry {
  const rule = (MANUAL_RULES as readonly string[]).includes(f.rule) ? (f.rule as ManualRule) : 'false_report';
  const ev = (f.evidence ?? {}) as Partial<RegisterEvidence>;
  return entry({
    rule,
    incidentId: f.incidentId,
    staffId: f.subjectStaffId,
    unitId: f.subjectUnitId,
    at: f.at,
    reason: f.reason,
    findingId: f.id,
    evidence: {
      auditIds: Array.isArray(ev.auditIds) ? ev.auditIds.map(Number) : [],
      stepIds: Array.isArray(ev.stepIds) ? ev.stepIds.map(String) : [],
      updateIds: Array.isArray(ev.updateIds) ? ev.updateIds.map(String) : [],
      absenceIds: Array.isArray(ev.absenceIds) ? ev.absenceIds.map(String) : [],
      dates: Array.isArray(ev.dates) ? ev.dates.map(String) : [],
    },
  });
}

/** A manual finding needs a reason and at least one timeline row as evidence. */
export function validateManualFinding(input: { rule: string; reason: string; evidence: RegisterEvidence; staffId: string | null; unitId: string | null }): string[] {
  const problems: string[] = [];
  if (!(MANUAL_RULES as readonly string[]).includes(input.rule)) problems.push('rule');
  if (input.reason.trim() === '') problems.push('reason');
  const ev = input.evidence;
  if (ev.auditIds.length + ev.stepIds.length + ev.updateIds.length + ev.absenceIds.length === 0) problems.push('evidence');
  if (!input.staffId && !input.unitId) problems.push('who');
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Months and statistics

export const MONTH_PATTERN = /^(\d{4})-(0[1-9]|1[0-2])$/;

/** The instants a local month spans: [from, to). */
export function monthRange(month: string, timeZone: string): { from: Date; to: Date; firstDay: string; lastDay: string } {
  const m = MONTH_PATTERN.exec(month);
  if (!m) throw new RangeError(`not a YYYY-MM month: ${month}`);
  const year = Number(m[1]);
  const mon = Number(m[2]);
  const firstDay = `${m[1]}-${m[2]}-01`;
  const next = mon === 12 ? `${year + 1}-01-01` : `${year}-${String(mon + 1).padStart(2, '0')}-01`;
  return {
    from: fromLocal({ year, month: mon, day: 1, hour: 0, minute: 0 }, timeZone),
    to: atLocalTime(next, '00:00', timeZone),
    firstDay,
    lastDay: addDays(next, -1),
  };
}

/** `YYYY-MM` of an instant in the zone. */
export function monthOf(instant: Date, timeZone: string): string {
  return localDate(instant, timeZone).slice(0, 7);
}

/** The month before, e.g. for the /stats month choice. */
export function previousMonth(month: string): string {
  const m = MONTH_PATTERN.exec(month);
  if (!m) throw new RangeError(`not a YYYY-MM month: ${month}`);
  const y = Number(m[1]);
  const mon = Number(m[2]);
  return mon === 1 ? `${y - 1}-12` : `${y}-${String(mon - 1).padStart(2, '0')}`;
}

export interface StatsIncident {
  id: string;
  officeUnitId: string;
  reporterStaffId: string;
  acknowledgedByStaffId: string | null;
  closedByStaffId: string | null;
  discoveredAt: Date;
  reportedAt: Date;
  acknowledgedAt: Date | null;
  closedAt: Date | null;
  isDrill: boolean;
}

export interface DurationStats {
  count: number;
  medianSeconds: number | null;
  worstSeconds: number | null;
}

export type RegisterCounts = Record<RegisterCategory, number> & { total: number };

export interface StatsRow {
  scope: 'office' | 'person';
  /** Unit id for offices, staff id for people. */
  id: string;
  incidents: number;
  toReport: DurationStats;
  toAcknowledge: DurationStats;
  toClose: DurationStats;
  register: RegisterCounts;
}

export interface MonthlyStats {
  offices: StatsRow[];
  people: StatsRow[];
}

export function durationStats(seconds: readonly number[]): DurationStats {
  if (seconds.length === 0) return { count: 0, medianSeconds: null, worstSeconds: null };
  const s = [...seconds].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  const median = s.length % 2 === 1 ? s[mid]! : Math.round((s[mid - 1]! + s[mid]!) / 2);
  return { count: s.length, medianSeconds: median, worstSeconds: s[s.length - 1]! };
}

const emptyCounts = (): RegisterCounts => ({ late: 0, false: 0, concealed: 0, unfinished: 0, total: 0 });

/**
 * Per office: its incidents' times to report, acknowledge and close. Per person: the times of what they
 * did — the incidents they reported, acknowledged and closed. Register counts go to whoever an entry
 * names. Drill incidents (and entries about them) never count.
 */
export function computeStats(incidents: readonly StatsIncident[], entries: readonly RegisterEntry[]): MonthlyStats {
  const real = incidents.filter((i) => !i.isDrill);
  const drillIds = new Set(incidents.filter((i) => i.isDrill).map((i) => i.id));
  const counted = entries.filter((e) => !e.incidentId || !drillIds.has(e.incidentId));
  const d = (a: Date | null, b: Date | null) => (a && b ? [secs(b.getTime() - a.getTime())] : []);

  const offices = new Map<string, { incidents: StatsIncident[]; counts: RegisterCounts }>();
  const people = new Map<string, { reported: StatsIncident[]; acked: StatsIncident[]; closed: StatsIncident[]; counts: RegisterCounts }>();
  const office = (id: string) => offices.get(id) ?? offices.set(id, { incidents: [], counts: emptyCounts() }).get(id)!;
  const person = (id: string) => people.get(id) ?? people.set(id, { reported: [], acked: [], closed: [], counts: emptyCounts() }).get(id)!;

  for (const i of real) {
    office(i.officeUnitId).incidents.push(i);
    person(i.reporterStaffId).reported.push(i);
    if (i.acknowledgedByStaffId) person(i.acknowledgedByStaffId).acked.push(i);
    if (i.closedByStaffId) person(i.closedByStaffId).closed.push(i);
  }
  for (const e of counted) {
    if (e.unitId) {
      const c = office(e.unitId).counts;
      c[e.category]++;
      c.total++;
    }
    if (e.staffId) {
      const c = person(e.staffId).counts;
      c[e.category]++;
      c.total++;
    }
  }
  // An office is timed on all its incidents; a person on what they reported, acknowledged and closed.
  const row = (scope: StatsRow['scope'], id: string, reported: readonly StatsIncident[], acked: readonly StatsIncident[], closed: readonly StatsIncident[], register: StatsRow['register']): StatsRow => ({
    scope,
    id,
    incidents: reported.length,
    toReport: durationStats(reported.flatMap((i) => d(i.discoveredAt, i.reportedAt))),
    toAcknowledge: durationStats(acked.flatMap((i) => d(i.reportedAt, i.acknowledgedAt))),
    toClose: durationStats(closed.flatMap((i) => d(i.reportedAt, i.closedAt))),
    register,
  });
  const officeRows = [...offices].map(([id, o]) => row('office', id, o.incidents, o.incidents, o.incidents, o.counts));
  const personRows = [...people].map(([id, p]) => row('person', id, p.reported, p.acked, p.closed, p.counts));
  const order = (a: StatsRow, b: StatsRow) => b.incidents - a.incidents || b.register.total - a.register.total || a.id.localeCompare(b.id);
  return { offices: officeRows.sort(order), people: personRows.sort(order) };
}

/** Entries in time order, the newest first, for the register view. */
export function sortRegister(entries: readonly RegisterEntry[]): RegisterEntry[] {
  return [...entries].sort((a, b) => b.at.getTime() - a.at.getTime() || a.rule.localeCompare(b.rule));
}
