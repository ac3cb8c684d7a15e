/**
 * Drills (七(二)): at least one emergency drill a year. A drill is a real incident flagged `is_drill`, run
 * through the real chain and timers; it is kept out of the statistics and the register, and evaluated on
 * its own at the end: each person's response times against the deadlines, and the steps missed.
 * The yearly reminder, by calendar year, is ./drill-calendar.ts's. Pure: the times are passed in.
 */
import { incidentFindings, progressTimes, type IncidentTimeline, type RegisterEntry } from './accountability.js';

/** The same day of the month n months later, clamped to the month's end (Jan 31 + 1 → Feb 28). */
export function addMonths(instant: Date, n: number): Date {
  const d = new Date(instant.getTime());
  const day = d.getUTCDate();
  d.setUTCDate(1);
  d.setUTCMonth(d.getUTCMonth() + n);
  const lastDay = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
  d.setUTCDate(Math.min(day, lastDay));
  return d;
}

export type DrillResponseKind = 'report' | 'acknowledge' | 'progress' | 'step' | 'close';

/** One thing a person did in the drill, timed against its deadline (null when the plan sets none). */
export interface DrillResponse {
  kind: DrillResponseKind;
  stepKey: string | null;
  /** ISO instant it was done. */
  at: string;
  seconds: number;
  deadlineSeconds: number | null;
  onTime: boolean;
}

export interface DrillPersonResult {
  staffId: string;
  responses: DrillResponse[];
  onTime: number;
  late: number;
}

export interface DrillMissedStep {
  stepId: string;
  key: string;
  actor: string;
}

/** Stored as JSON on the drill row, so instants are ISO strings. */
export interface DrillEvaluation {
  version: 1;
  incidentId: string;
  startedAt: string;
  endedAt: string;
  people: DrillPersonResult[];
  missedSteps: DrillMissedStep[];
  /** The register entries the drill would have produced were it real (迟报、未完成的处置步骤). */
  findings: Array<{ rule: string; staffId: string | null; unitId: string | null; stepKey: string | null; lateBySeconds: number | null }>;
  summary: { responses: number; onTime: number; late: number; missedSteps: number };
}

const secs = (ms: number) => Math.round(ms / 1000);

/**
 * Evaluates a drill from its timeline. Steps still open when the drill ended count as missed, whether or
 * not the chain reached closing; the deadlines are the incident's policy snapshot.
 */
export function evaluateDrill(t: IncidentTimeline, drill: { startedAt: Date; endedAt: Date; sectionUnitId: string | null }): DrillEvaluation {
  const { incident: inc, policy } = t;
  const c = inc.criticality;
  const byPerson = new Map<string, DrillResponse[]>();
  const add = (staffId: string | null, r: Omit<DrillResponse, 'onTime'>) => {
    if (!staffId) return;
    const list = byPerson.get(staffId) ?? byPerson.set(staffId, []).get(staffId)!;
    list.push({ ...r, onTime: r.deadlineSeconds === null || r.seconds <= r.deadlineSeconds });
  };

  add(inc.reporterStaffId, {
    kind: 'report',
    stepKey: null,
    at: inc.reportedAt.toISOString(),
    seconds: secs(inc.reportedAt.getTime() - inc.discoveredAt.getTime()),
    deadlineSeconds: policy.lateReportSeconds,
  });
  if (inc.acknowledgedAt) {
    add(inc.acknowledgedByStaffId, {
      kind: 'acknowledge',
      stepKey: null,
      at: inc.acknowledgedAt.toISOString(),
      seconds: secs(inc.acknowledgedAt.getTime() - inc.reportedAt.getTime()),
      deadlineSeconds: policy.ackSeconds[c],
    });
  }
  let prev = inc.reportedAt;
  for (const p of progressTimes(t.updates)) {
    add(p.staffId, { kind: 'progress', stepKey: null, at: p.at.toISOString(), seconds: secs(p.at.getTime() - prev.getTime()), deadlineSeconds: policy.progressSeconds[c] });
    prev = p.at;
  }
  for (const s of t.steps) {
    if (s.state !== 'done' || !s.doneAt) continue;
    // Reporting to the section is the report itself, already timed above.
    if (s.key === 'report_section' && s.doneByStaffId === inc.reporterStaffId && s.doneAt.getTime() === inc.reportedAt.getTime()) continue;
    add(s.doneByStaffId, {
      kind: 'step',
      stepKey: s.key,
      at: s.doneAt.toISOString(),
      seconds: secs(s.doneAt.getTime() - inc.reportedAt.getTime()),
      deadlineSeconds: s.key === 'report_upward' ? policy.upperReportSeconds[c] : policy.stepDueSeconds[c],
    });
  }
  if (inc.closedAt) {
    add(inc.closedByStaffId, { kind: 'close', stepKey: null, at: inc.closedAt.toISOString(), seconds: secs(inc.closedAt.getTime() - inc.reportedAt.getTime()), deadlineSeconds: null });
  }

  const endedIncident = { ...inc, isDrill: true, closedAt: inc.closedAt ?? drill.endedAt, closure: inc.closure ?? 'resolved' };
  const findings: RegisterEntry[] = incidentFindings({ ...t, incident: endedIncident }, { sectionUnitId: drill.sectionUnitId, now: drill.endedAt }, { includeDrills: true });
  // A conditional step still pending did not apply in the scenario played (nobody was hurt, say): it is
  // not a step missed. Only unconditional steps left open count.
  const missedSteps = findings
    .filter((f) => f.rule === 'missed_step')
    .map((f) => t.steps.find((s) => s.key === f.stepKey)!)
    .filter((step) => !step.condition)
    .map((step) => ({ stepId: step.id, key: step.key, actor: String(step.actor) }));

  const people: DrillPersonResult[] = [...byPerson].map(([staffId, responses]) => ({
    staffId,
    responses: responses.sort((a, b) => a.at.localeCompare(b.at)),
    onTime: responses.filter((r) => r.onTime).length,
    late: responses.filter((r) => !r.onTime).length,
  }));
  const all = people.flatMap((p) => p.responses);
  return {
    version: 1,
    incidentId: inc.id,
    startedAt: drill.startedAt.toISOString(),
    endedAt: drill.endedAt.toISOString(),
    people,
    missedSteps,
    findings: findings.map((f) => ({ rule: f.rule, staffId: f.staffId, unitId: f.unitId, stepKey: f.stepKey, lateBySeconds: f.lateBySeconds })),
    summary: { responses: all.length, onTime: all.filter((r) => r.onTime).length, late: all.filter((r) => !r.onTime).length, missedSteps: missedSteps.length },
  };
}
