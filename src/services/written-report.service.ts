/**
 * The written report (书面报告, 五(二)) use cases: the draft opened at closing and prefilled from the
 * timeline, edits (each a new version), the sign-off chain office → section → deputy director → director
 * → upper-level agency (each decision a sign-off row, an audit entry, an incident status change where the
 * lifecycle says so, and notices to the next level), and the .docx export at any stage.
 */
import type { Executor } from '../db/client.js';
import { timelineEntries, timelinesOf, type IncidentTimelineView } from '../db/read-models/incident-timeline.js';
import { findSensitivePeriod } from '../db/repositories/sensitive-period.repository.js';
import { appendAudit } from '../db/repositories/audit.repository.js';
import { findIncident, lockIncident, updateIncident, type IncidentRow } from '../db/repositories/incident.repository.js';
import { loadOrgSnapshot } from '../db/repositories/org.repository.js';
import { enqueueNotices } from '../db/repositories/outbox.repository.js';
import { cancelTimers, insertTimers } from '../db/repositories/timer.repository.js';
import {
  countReturnsToOffice,
  documentHeading,
  findReportVersion,
  findWrittenReport,
  findWrittenReportOfIncident,
  hasCountyNotifications,
  insertReportVersion,
  insertSignoff,
  insertWrittenReport,
  lockWrittenReport,
  reportsAtStages,
  reportVersions,
  signoffsOf,
  updateWrittenReport,
  type WrittenReportRow,
  type WrittenReportSignoffRow,
  type WrittenReportVersionRow,
} from '../db/repositories/written-report.repository.js';
import { hasMessage, t, type Lang, type MessageKey } from '../i18n/index.js';
import { IllegalTransitionError, transition, type Closure, type IncidentStatus } from '../domain/incident-state.js';
import type { EpidemicScenario, IncidentType } from '../domain/incident-types.js';
import { howRepeatsStep, isRolePost } from '../domain/handling.js';
import { CONDITION_TEXT, STEP_CONDITIONS, type StepCondition } from '../domain/playbooks.js';
import { findStepUnder } from '../domain/plan-variants.js';
import { isLateReport, timerKindsClosedBy, writtenReportDueAt, writtenReportTimersAfterReturn, type EscalationPolicy, type TimerTarget } from '../domain/policy.js';
import { subjectLabel } from '../domain/pii.js';
import { canSeeOffice, type Actor } from '../domain/roles.js';
import {
  canEditAt,
  canSignAt,
  decideSignoff,
  DEFAULT_LAST_APPROVER,
  type BureauApprover,
  isReportSectionKey,
  MAX_SECTION_CHARS,
  reportSections,
  STAGE_POSITION,
  type ReportSectionKey,
  type ReportSectionSpec,
  type ReportShapeFacts,
  type SignoffDecision,
  type SignoffOutcome,
  type WrittenReportAction,
  type WrittenReportStage,
} from '../domain/written-report.js';
import { renderWrittenReportDocx, typeLabel, writtenReportFileName } from '../reports/docx/written-report.docx.js';
import { loadCommandRecord } from '../db/repositories/command-post.repository.js';
import { outsideRecordsForReport } from './outside-records.js';
import { docDateTime } from '../reports/format.js';
import { ServiceRefusal } from './errors.js';
import { noticesFor } from './notices.js';
import { emptyChange, type ServiceDeps } from './ports.js';

export type { WrittenReportRow, WrittenReportSignoffRow, WrittenReportVersionRow };

/**
 * What the written-report use cases read and write: the PostgreSQL repositories, unless the deps bring
 * others (the service tests bring in-memory ones).
 */
export interface WrittenReportRepositories {
  findIncident: typeof findIncident;
  lockIncident: typeof lockIncident;
  updateIncident: typeof updateIncident;
  timelinesOf: typeof timelinesOf;
  findWrittenReport: typeof findWrittenReport;
  findWrittenReportOfIncident: typeof findWrittenReportOfIncident;
  lockWrittenReport: typeof lockWrittenReport;
  insertWrittenReport: typeof insertWrittenReport;
  updateWrittenReport: typeof updateWrittenReport;
  insertReportVersion: typeof insertReportVersion;
  findReportVersion: typeof findReportVersion;
  reportVersions: typeof reportVersions;
  insertSignoff: typeof insertSignoff;
  signoffsOf: typeof signoffsOf;
  countReturnsToOffice: typeof countReturnsToOffice;
  reportsAtStages: typeof reportsAtStages;
  hasCountyNotifications: typeof hasCountyNotifications;
  documentHeading: typeof documentHeading;
  insertTimers: typeof insertTimers;
  cancelTimers: typeof cancelTimers;
  loadOrgSnapshot: typeof loadOrgSnapshot;
  enqueueNotices: typeof enqueueNotices;
  appendAudit: typeof appendAudit;
  /** 三: the plan's activation and the command loop, for the .docx; without it (a fake), the document has no such part. */
  commandRecord?: typeof loadCommandRecord;
  /** Receipts from outside parties and sanctions, for the .docx; without it (a fake), no such part. */
  outsideRecords?: typeof outsideRecordsForReport;
  /** 十: the sensitive period a report is linked to, for the .docx's basic facts; without it (a fake), none is named. */
  sensitivePeriod?: typeof findSensitivePeriod;
}

export const postgresWrittenReportRepositories: WrittenReportRepositories = {
  findIncident,
  lockIncident,
  updateIncident,
  timelinesOf,
  findWrittenReport,
  findWrittenReportOfIncident,
  lockWrittenReport,
  insertWrittenReport,
  updateWrittenReport,
  insertReportVersion,
  findReportVersion,
  reportVersions,
  insertSignoff,
  signoffsOf,
  countReturnsToOffice,
  reportsAtStages,
  hasCountyNotifications,
  documentHeading,
  insertTimers,
  cancelTimers,
  loadOrgSnapshot,
  enqueueNotices,
  appendAudit,
  commandRecord: loadCommandRecord,
  outsideRecords: outsideRecordsForReport,
  sensitivePeriod: findSensitivePeriod,
};

/** A service's deps, with the written-report repositories to use instead of PostgreSQL's. */
export type WrittenReportDeps = ServiceDeps & { writtenReportRepositories?: WrittenReportRepositories };

const repositoriesOf = (deps: Pick<WrittenReportDeps, 'writtenReportRepositories'>): WrittenReportRepositories =>
  deps.writtenReportRepositories ?? postgresWrittenReportRepositories;

export interface SignoffView extends WrittenReportSignoffRow {
  staffName: string;
}

export interface WrittenReportView {
  report: WrittenReportRow;
  stage: WrittenReportStage;
  incident: IncidentRow;
  /** The current version's body. */
  body: Record<string, string>;
  shape: ReportShapeFacts;
  sections: ReportSectionSpec[];
  versions: Array<Pick<WrittenReportVersionRow, 'version' | 'editedByStaffId' | 'at'>>;
  signoffs: SignoffView[];
  /** The bureau's last approver, as the incident's snapshot has it. */
  lastApprover: BureauApprover;
}

/** The last approver an incident was reported under; a snapshot older than the setting has the default (the director). */
export function lastApproverOf(incident: Pick<IncidentRow, 'policy'>): BureauApprover {
  return (incident.policy as Partial<EscalationPolicy> | null)?.writtenReport?.lastApprover ?? DEFAULT_LAST_APPROVER;
}

// ---------------------------------------------------------------------------------------------
// Opening the draft

export interface OpenDraftOptions {
  /** Zone the prefill's times are written in; the deployment's TIMEZONE. */
  timeZone?: string;
  /** Language of the prefilled text; an official report is in Chinese. */
  lang?: Lang;
  /** The repositories to use instead of PostgreSQL's. */
  repositories?: WrittenReportRepositories;
}

export interface OpenedDraft {
  report: WrittenReportRow;
  /** False when a draft already existed (the call is idempotent). */
  created: boolean;
}

/**
 * Opens the written report's draft for a closed incident, prefilled from its timeline: call it inside the
 * close transaction. Idempotent (one report per incident); returns null for a false alarm, which needs no
 * report, and for an incident that is not closed. The due date follows the incident's policy snapshot;
 * its timers are written by the close use case (writtenReportTimers).
 */
export async function openWrittenReportDraft(tx: Executor, incidentId: string, now: Date, opts: OpenDraftOptions = {}): Promise<OpenedDraft | null> {
  const repo = opts.repositories ?? postgresWrittenReportRepositories;
  const incident = await repo.findIncident(tx, incidentId);
  if (!incident || incident.closure === 'false_alarm' || !incident.closedAt) return null;
  const existing = await repo.findWrittenReportOfIncident(tx, incidentId);
  if (existing) return { report: existing, created: false };
  const body = await prefillBody(tx, incident, opts.timeZone ?? 'Asia/Shanghai', opts.lang ?? 'zh', repo);
  const report = await repo.insertWrittenReport(tx, {
    incidentId,
    stage: 'office' satisfies WrittenReportStage,
    currentVersion: 1,
    dueAt: writtenReportDueAt(incident.closedAt, incident.policy as EscalationPolicy),
    createdAt: now,
    updatedAt: now,
  });
  if (!report) {
    // A concurrent close opened it first.
    return { report: (await repo.findWrittenReportOfIncident(tx, incidentId))!, created: false };
  }
  await repo.insertReportVersion(tx, { reportId: report.id, version: 1, body, editedByStaffId: null, at: now });
  await repo.appendAudit(tx, {
    at: now,
    action: 'written_report.opened',
    entity: 'written_report',
    entityId: report.id,
    incidentId,
    data: { version: 1, dueAt: report.dueAt.toISOString(), sections: Object.keys(body) },
  });
  return { report, created: true };
}

async function shapeOf(db: Executor, incident: IncidentRow, repo: WrittenReportRepositories): Promise<ReportShapeFacts> {
  return shapeFacts(incident, await repo.hasCountyNotifications(db, incident.id));
}

function shapeFacts(incident: Pick<IncidentRow, 'type' | 'scenario' | 'injured' | 'dead'>, counties: boolean): ReportShapeFacts {
  return {
    type: incident.type as IncidentType,
    scenario: (incident.scenario as EpidemicScenario | null) ?? null,
    injured: incident.injured,
    dead: incident.dead,
    counties,
  };
}

/**
 * The draft's text from the timeline: what happened and when, who did what (acknowledgement, roles,
 * progress reports, closing), each playbook step with its time and who, and what the type asks for
 * (search attempts, casualties, counties, 情形四 screening). Cause, lessons and measures start from what
 * was entered at closing. The subject appears by code only; the .docx adds the label PII_MODE allows.
 */
export async function prefillBody(
  db: Executor,
  incident: IncidentRow,
  tz: string,
  lang: Lang,
  repo: WrittenReportRepositories = postgresWrittenReportRepositories,
): Promise<Record<string, string>> {
  // The audit trail too: 续报 and 终报 to the upper level are entries of it.
  const [timeline] = await repo.timelinesOf(db, [incident], { audit: true });
  return prefillFromTimeline(timeline!, tz, lang);
}

/** Pure: the prefilled sections from a loaded timeline. */
function prefillFromTimeline(timeline: IncidentTimelineView, tz: string, lang: Lang): Record<string, string> {
  const { incident, steps, updates, roles, searchAttempts: attempts, countyNotifications: counties, office, subject } = timeline;
  const m = (key: MessageKey, params: Record<string, string | number | null | undefined> = {}) => t(lang, key, params);
  const at = (d: Date) => docDateTime(d, tz, lang);
  const type = incident.type as IncidentType;
  const scenario = (incident.scenario as EpidemicScenario | null) ?? null;
  const name = (id: string | null) => (id ? (timeline.staffNames[id] ?? id.slice(0, 8)) : m('wr.doc.unknown'));
  const officeName = (lang === 'en' ? office?.nameEn : null) ?? office?.name ?? '';
  const stepText = (key: string) => findStepUnder(incident.policy as EscalationPolicy, type, scenario, key)?.text[lang] ?? key;
  const howText = (how: string) => (hasMessage(`wr.how.${how}`) ? m(`wr.how.${how}` as MessageKey) : how);

  // 事件经过: the facts in time order.
  const subjectText = subject
    ? m('wr.prefill.subject', { code: subject.code }) + (incident.subjectNote ? m('wr.prefill.subject_note', { note: incident.subjectNote }) : '')
    : (incident.subjectNote ?? m('wr.doc.unknown'));
  const course: Array<{ at: Date; line: string }> = [];
  course.push({ at: incident.discoveredAt, line: m('wr.prefill.discovered', { at: at(incident.discoveredAt), office: officeName, subject: subjectText, type: typeLabel(type, scenario, lang) }) });
  const policy = timeline.policy;
  const lateMinutes = Math.round((incident.reportedAt.getTime() - incident.discoveredAt.getTime()) / 60_000);
  course.push({
    at: incident.reportedAt,
    line: isLateReport(incident.discoveredAt, incident.reportedAt, policy)
      ? m('wr.prefill.reported_late', { at: at(incident.reportedAt), name: name(incident.reporterStaffId), minutes: lateMinutes })
      : m('wr.prefill.reported', { at: at(incident.reportedAt), name: name(incident.reporterStaffId) }),
  });
  if (incident.acknowledgedAt) course.push({ at: incident.acknowledgedAt, line: m('wr.prefill.acknowledged', { at: at(incident.acknowledgedAt), name: name(incident.acknowledgedByStaffId) }) });
  for (const r of roles) {
    // One takes a post (担任总指挥) but is put in a group (编入现场处置组).
    const key = isRolePost(r.role) ? 'wr.prefill.role' : 'wr.prefill.role_member';
    course.push({ at: r.at, line: m(key, { at: at(r.at), name: name(r.staffId), role: m(`wr.role.${r.role}` as MessageKey) }) });
  }
  for (const u of updates.filter((x) => x.kind === 'progress')) course.push({ at: u.at, line: m('wr.prefill.progress', { at: at(u.at), name: name(u.staffId), text: u.text }) });
  // 上报上一级, each time with its phase (首报, 续报, 终报), how it was made and its note.
  const upperStep = steps.find((s) => s.key === 'report_upward');
  for (const e of timelineEntries(timeline).filter((x) => x.what === 'upward_report')) {
    const note = (e.detail === 'first' ? upperStep?.note : e.text)?.trim();
    course.push({
      at: e.at,
      line: m('wr.prefill.upward', {
        at: at(e.at),
        name: name(e.staffId),
        phase: hasMessage(`upward.phase.${e.detail}`) ? m(`upward.phase.${e.detail}` as MessageKey) : (e.detail ?? ''),
        how: e.means ? howText(e.means) : m('wr.doc.unknown'),
        note: note ? m('wr.prefill.upward_note', { note: note.replace(/[。.]$/, '') }) : '',
      }),
    });
  }
  if (incident.closedAt) course.push({ at: incident.closedAt, line: m('wr.prefill.closed', { at: at(incident.closedAt), name: name(incident.closedByStaffId) }) });
  course.sort((a, b) => a.at.getTime() - b.at.getTime());
  // The description as typed, closed as a sentence where the reporter left it open.
  const description = incident.description.trim();
  const closedDescription = lang === 'zh' && description && !/[。！？…）”]$/.test(description) ? `${description}。` : description;
  const courseText = [m('wr.prefill.description', { text: closedDescription }), ...course.map((c) => c.line)].join('\n');

  // 处置情况: every playbook step with its state, time and who.
  const handling = steps
    .map((s, i) => {
      const n = i + 1;
      const label = stepText(s.key);
      if (s.state === 'done') {
        return m('wr.prefill.step_done', {
          n,
          step: label,
          at: s.doneAt ? at(s.doneAt) : m('wr.doc.unknown'),
          name: name(s.doneByStaffId),
          how: s.how && !howRepeatsStep(s.key, s.how) ? m('wr.prefill.step_how', { how: howText(s.how) }) : '',
          note: s.note?.trim() ? m('wr.prefill.step_note', { note: s.note.trim() }) : '',
        }).trim();
      }
      if (s.state === 'not_applicable') {
        const cond = s.naReason?.startsWith('condition:') ? s.naReason.slice('condition:'.length) : null;
        const reason = cond && isStepConditionKey(cond) ? m('wr.prefill.na_condition', { condition: CONDITION_TEXT[cond][lang] }) : (s.naReason ?? '');
        return m('wr.prefill.step_na', { n, step: label, reason });
      }
      return m('wr.prefill.step_pending', { n, step: label });
    })
    .join('\n');

  const body: Record<string, string> = {};
  const shape = shapeFacts(incident, counties.length > 0);
  for (const spec of reportSections(shape)) {
    switch (spec.key) {
      case 'course':
        body.course = courseText;
        break;
      case 'handling':
        body.handling = handling;
        break;
      case 'search':
        body.search = attempts
          .map((a) =>
            m('wr.prefill.search', {
              at: at(a.at),
              name: name(a.staffId),
              method: m(`wr.search.${a.method}` as MessageKey),
              result: a.result,
              found: a.found ? m('wr.prefill.search_found') : '',
            }),
          )
          .join('\n');
        break;
      case 'casualties':
        body.casualties = m('wr.prefill.casualties', { injured: incident.injured, dead: incident.dead });
        break;
      case 'counties':
        body.counties = counties
          .map((c) =>
            c.notifiedAt
              ? m('wr.prefill.county_done', { county: c.county, at: at(c.notifiedAt), name: name(c.notifiedByStaffId), how: c.how ?? '', receipt: c.receipt ?? '' })
              : m('wr.prefill.county_pending', { county: c.county }),
          )
          .join('\n');
        break;
      case 'screening':
        // 情形四: what the screening steps recorded; the office completes the results.
        body.screening = steps
          .filter((s) => (s.key === 'screen_staff_subjects' || s.key === 'phone_report_screening') && s.note)
          .map((s) => m('wr.prefill.screening', { step: stepText(s.key), at: s.doneAt ? at(s.doneAt) : m('wr.doc.unknown'), name: name(s.doneByStaffId), note: s.note }))
          .join('\n');
        break;
      case 'cause':
        body.cause = incident.closeCause ?? '';
        break;
      case 'lessons':
        body.lessons = incident.closeLessons ?? '';
        break;
      case 'measures':
        body.measures = incident.closeMeasures ?? '';
        break;
    }
  }
  return body;
}

const isStepConditionKey = (v: string): v is StepCondition => (STEP_CONDITIONS as readonly string[]).includes(v);

// ---------------------------------------------------------------------------------------------
// Reading

export async function loadWrittenReport(
  db: Executor,
  reportId: string,
  repo: WrittenReportRepositories = postgresWrittenReportRepositories,
): Promise<WrittenReportView | undefined> {
  const report = await repo.findWrittenReport(db, reportId);
  if (!report) return undefined;
  return viewOf(db, report, repo);
}

export async function writtenReportForIncident(
  db: Executor,
  incidentId: string,
  repo: WrittenReportRepositories = postgresWrittenReportRepositories,
): Promise<WrittenReportView | undefined> {
  const report = await repo.findWrittenReportOfIncident(db, incidentId);
  return report ? viewOf(db, report, repo) : undefined;
}

async function viewOf(db: Executor, report: WrittenReportRow, repo: WrittenReportRepositories): Promise<WrittenReportView> {
  const incident = await repo.findIncident(db, report.incidentId);
  const versions = await repo.reportVersions(db, report.id);
  const signoffs = await repo.signoffsOf(db, report.id);
  const current = versions.find((v) => v.version === report.currentVersion) ?? versions[versions.length - 1];
  const shape = await shapeOf(db, incident!, repo);
  return {
    report,
    stage: report.stage as WrittenReportStage,
    incident: incident!,
    body: { ...(current?.body ?? {}) },
    shape,
    sections: reportSections(shape),
    versions: versions.map((v) => ({ version: v.version, editedByStaffId: v.editedByStaffId, at: v.at })),
    signoffs,
    lastApprover: lastApproverOf(incident!),
  };
}

/** Whether the actor may read the report: whoever sees the office, and the upper-level agency. */
export function canReadReport(actor: Actor, officeUnitId: string): boolean {
  return canSeeOffice(actor, officeUnitId) || actor.positions.includes('upper_liaison');
}

/** The body of an earlier version, to compare or restore. */
export async function reportVersionBody(
  db: Executor,
  reportId: string,
  version: number,
  repo: WrittenReportRepositories = postgresWrittenReportRepositories,
): Promise<Record<string, string> | undefined> {
  return (await repo.findReportVersion(db, reportId, version))?.body;
}

/** Reports waiting on this actor: at a stage they sign or edit. */
export async function reportsAwaiting(
  db: Executor,
  actor: Actor,
  limit = 10,
  repo: WrittenReportRepositories = postgresWrittenReportRepositories,
): Promise<Array<{ report: WrittenReportRow; incident: IncidentRow }>> {
  const rows = await repo.reportsAtStages(db, ['office', 'section', 'deputy_director', 'director', 'upper_liaison']);
  return rows
    .filter((r) => {
      const stage = r.report.stage as WrittenReportStage;
      return canSignAt(actor, stage, r.incident.officeUnitId, lastApproverOf(r.incident)) || canEditAt(actor, stage, r.incident.officeUnitId);
    })
    .slice(0, limit);
}

// ---------------------------------------------------------------------------------------------
// Editing

async function lockReport(tx: Executor, reportId: string, repo: WrittenReportRepositories): Promise<WrittenReportRow> {
  const row = await repo.lockWrittenReport(tx, reportId);
  if (!row) throw new ServiceRefusal('not_found');
  return row;
}

/**
 * Changes sections of the draft; the result is a new version (the old ones stay). Only the level that
 * holds the draft edits it (the office, or the section at its stage). `expectedVersion` guards against
 * overwriting an edit the person has not seen.
 */
export async function editWrittenReport(
  deps: WrittenReportDeps,
  actor: Actor,
  reportId: string,
  patch: Partial<Record<ReportSectionKey, string>>,
  expectedVersion?: number,
): Promise<WrittenReportView> {
  const now = deps.clock.now();
  const keys = Object.keys(patch);
  if (keys.length === 0) throw new ServiceRefusal('invalid_input', 'sections');
  for (const k of keys) {
    if (!isReportSectionKey(k)) throw new ServiceRefusal('invalid_input', k);
    if ((patch[k] ?? '').length > MAX_SECTION_CHARS) throw new ServiceRefusal('invalid_input', k);
  }
  const repo = repositoriesOf(deps);
  await deps.db.transaction(async (tx) => {
    const report = await lockReport(tx, reportId, repo);
    const incident = await repo.lockIncident(tx, report.incidentId);
    if (!incident || !canReadReport(actor, incident.officeUnitId)) throw new ServiceRefusal('not_found');
    const stage = report.stage as WrittenReportStage;
    if (!canEditAt(actor, stage, incident.officeUnitId)) throw new ServiceRefusal(stage === 'approved' ? 'wrong_status' : 'not_permitted');
    if (expectedVersion !== undefined && expectedVersion !== report.currentVersion) throw new ServiceRefusal('stale');
    const shape = await shapeOf(tx, incident, repo);
    const allowed = new Set(reportSections(shape).map((s) => s.key));
    for (const k of keys) if (!allowed.has(k as ReportSectionKey)) throw new ServiceRefusal('invalid_input', k);
    const current = await repo.findReportVersion(tx, reportId, report.currentVersion);
    const body: Record<string, string> = { ...(current?.body ?? {}) };
    const changed: string[] = [];
    for (const k of keys) {
      const text = (patch[k as ReportSectionKey] ?? '').trim();
      if (body[k] !== text) {
        body[k] = text;
        changed.push(k);
      }
    }
    if (changed.length === 0) return;
    const version = report.currentVersion + 1;
    await repo.insertReportVersion(tx, { reportId, version, body, editedByStaffId: actor.staffId, at: now });
    await repo.updateWrittenReport(tx, reportId, { currentVersion: version, updatedAt: now });
    await repo.appendAudit(tx, {
      at: now,
      action: 'written_report.edited',
      entity: 'written_report',
      entityId: reportId,
      incidentId: report.incidentId,
      actorStaffId: actor.staffId,
      data: { version, stage, sections: changed },
    });
  });
  return (await loadWrittenReport(deps.db, reportId, repo))!;
}

// ---------------------------------------------------------------------------------------------
// The sign-off chain

export interface SignoffResult {
  view: WrittenReportView;
  signoff: WrittenReportSignoffRow;
  outcome: SignoffOutcome;
}

function stageTarget(stage: WrittenReportStage): TimerTarget[] {
  if (stage === 'approved') {
    return [
      { kind: 'position', position: 'office_head', scope: 'office' },
      { kind: 'position', position: 'section', scope: 'bureau' },
    ];
  }
  return [{ kind: 'position', position: STAGE_POSITION[stage], scope: stage === 'office' ? 'office' : 'bureau' }];
}

/**
 * One level's decision: the office submits; each level above approves (up one level) or returns (down one
 * level, with a comment). Writes the sign-off, moves the stage, moves the incident (closed →
 * report_submitted → report_approved, or back to closed when returned to the office), closes the
 * written-report deadlines on submission and opens them again when it comes back to the office, tells
 * the next level, and appends the audit entry.
 * Throws WrittenReportError (not permitted, wrong stage, missing sections or comment) or ServiceRefusal.
 */
export async function signOffWrittenReport(
  deps: WrittenReportDeps,
  actor: Actor,
  reportId: string,
  action: WrittenReportAction,
  expectedVersion?: number,
): Promise<SignoffResult> {
  const now = deps.clock.now();
  const comment = action.kind === 'return' ? action.comment.trim() : null;
  if (comment !== null && comment.length > MAX_SECTION_CHARS) throw new ServiceRefusal('invalid_input', 'comment');
  const repo = repositoriesOf(deps);
  const result = await deps.db.transaction(async (tx) => {
    const report = await lockReport(tx, reportId, repo);
    const incident = await repo.lockIncident(tx, report.incidentId);
    if (!incident || !canReadReport(actor, incident.officeUnitId)) throw new ServiceRefusal('not_found');
    if (expectedVersion !== undefined && expectedVersion !== report.currentVersion) throw new ServiceRefusal('stale');
    const stage = report.stage as WrittenReportStage;
    const current = await repo.findReportVersion(tx, reportId, report.currentVersion);
    const shape = await shapeOf(tx, incident, repo);
    const signoffs = (await repo.signoffsOf(tx, reportId)).map((s) => ({ stage: s.stage as WrittenReportStage, staffId: s.staffId, decision: s.decision as SignoffDecision }));
    const outcome = decideSignoff({ stage, officeUnitId: incident.officeUnitId, shape, body: current?.body ?? {}, signoffs, lastApprover: lastApproverOf(incident) }, action, actor);

    let incidentStatus = incident.status;
    if (outcome.incidentEvent) {
      try {
        const next = transition({ status: incident.status as IncidentStatus, closure: (incident.closure as Closure | null) ?? null }, outcome.incidentEvent, actor);
        incidentStatus = next.status;
      } catch (e) {
        if (e instanceof IllegalTransitionError) throw new ServiceRefusal('wrong_status', e.message);
        throw e;
      }
      await repo.updateIncident(tx, incident.id, { status: incidentStatus }, now);
    }

    const decision: SignoffDecision = outcome.decision;
    const signoff = await repo.insertSignoff(tx, { reportId, version: report.currentVersion, stage, decision, comment, staffId: actor.staffId, at: now });
    await repo.updateWrittenReport(tx, reportId, { stage: outcome.next, updatedAt: now });

    const cancelled = decision === 'submitted' ? await repo.cancelTimers(tx, { incidentId: incident.id }, timerKindsClosedBy('report_submitted'), now) : [];
    // Back at the office the report is owed again: its reminders resume, counted from the original due date.
    const created =
      decision === 'returned' && outcome.next === 'office'
        ? await repo.insertTimers(tx, writtenReportTimersAfterReturn(incident.id, report.dueAt, now, incident.policy as EscalationPolicy, await repo.countReturnsToOffice(tx, reportId)), {
            isDrill: incident.isDrill,
          })
        : [];
    const org = await repo.loadOrgSnapshot(tx);
    const kind = decision === 'returned' ? 'report_returned' : outcome.next === 'approved' ? 'report_approved' : 'report_review_requested';
    const outbox = await repo.enqueueNotices(
      tx,
      noticesFor(org, stageTarget(outcome.next), incident, kind, `wr${signoff.id}`, {
        exclude: actor.staffId,
        // Ids only: the notice reads a return's comment from the sign-off row when it is sent.
        params: { reportId, signoffId: signoff.id, stage: outcome.next, fromStage: stage, version: report.currentVersion, byStaffId: actor.staffId },
      }),
    );
    await repo.appendAudit(tx, {
      at: now,
      action: `written_report.${decision}`,
      entity: 'written_report',
      entityId: reportId,
      incidentId: incident.id,
      actorStaffId: actor.staffId,
      // The comment stays in the sign-off row; the audit names it by id.
      data: { signoffId: signoff.id, fromStage: stage, toStage: outcome.next, version: report.currentVersion, incidentStatus },
    });
    return { signoff, outcome, change: { ...emptyChange(), timersCreated: created, timersCancelled: cancelled, outboxCreated: outbox } };
  });
  await deps.dispatcher.afterCommit(result.change);
  return { view: (await loadWrittenReport(deps.db, reportId, repo))!, signoff: result.signoff, outcome: result.outcome };
}

export const submitWrittenReport = (deps: WrittenReportDeps, actor: Actor, reportId: string, expectedVersion?: number) =>
  signOffWrittenReport(deps, actor, reportId, { kind: 'submit' }, expectedVersion);
export const approveWrittenReport = (deps: WrittenReportDeps, actor: Actor, reportId: string, expectedVersion?: number) =>
  signOffWrittenReport(deps, actor, reportId, { kind: 'approve' }, expectedVersion);
export const returnWrittenReport = (deps: WrittenReportDeps, actor: Actor, reportId: string, comment: string, expectedVersion?: number) =>
  signOffWrittenReport(deps, actor, reportId, { kind: 'return', comment }, expectedVersion);

// ---------------------------------------------------------------------------------------------
// The .docx

export interface ExportedFile {
  filename: string;
  data: Buffer;
}

/** The report as an official .docx at whatever stage it is; the subject is labelled per PII_MODE. */
export async function exportWrittenReportDocx(
  deps: Pick<WrittenReportDeps, 'db' | 'clock' | 'timeZone' | 'piiMode' | 'cipher' | 'writtenReportRepositories'>,
  actor: Actor,
  reportId: string,
  lang: Lang = 'zh',
): Promise<ExportedFile & { view: WrittenReportView }> {
  const repo = repositoriesOf(deps);
  const view = await loadWrittenReport(deps.db, reportId, repo);
  if (!view || !canReadReport(actor, view.incident.officeUnitId)) throw new ServiceRefusal('not_found');
  const inc = view.incident;
  const { bureau, upper, office, reporterName, subject: s } = await repo.documentHeading(deps.db, inc);
  const subject = s ? subjectLabel({ code: s.code, name: deps.cipher.decrypt(s.nameEnc) }, deps.piiMode, 'private') : inc.subjectNote;
  const unitName = (u: typeof bureau) => (u ? ((lang === 'en' ? u.nameEn : null) ?? u.name) : '');
  const command = await commandPart(deps.db, inc.id, repo);
  const period = inc.sensitivePeriodId && repo.sensitivePeriod ? await repo.sensitivePeriod(deps.db, inc.sensitivePeriodId) : undefined;
  const data = await renderWrittenReportDocx({
    lang,
    timeZone: deps.timeZone,
    now: deps.clock.now(),
    authority: unitName(bureau),
    upperName: unitName(upper),
    officeName: unitName(office),
    incident: {
      number: inc.number,
      type: inc.type as IncidentType,
      scenario: (inc.scenario as EpidemicScenario | null) ?? null,
      occurredAt: inc.occurredAt,
      discoveredAt: inc.discoveredAt,
      reportedAt: inc.reportedAt,
      closedAt: inc.closedAt,
      place: inc.place,
      injured: inc.injured,
      dead: inc.dead,
      reporterName,
      subjectLabel: subject,
      ...(period ? { sensitivePeriod: { name: period.name, startsOn: period.startsOn, endsOn: period.endsOn } } : {}),
    },
    stage: view.stage,
    lastApprover: view.lastApprover,
    version: view.report.currentVersion,
    sections: view.sections.map((s) => ({ key: s.key, text: view.body[s.key] ?? '' })),
    signoffs: view.signoffs.map((s) => ({
      stage: s.stage as WrittenReportStage,
      decision: s.decision as SignoffDecision,
      comment: s.comment,
      name: s.staffName,
      at: s.at,
      version: s.version,
    })),
    ...(command ? { command } : {}),
    ...(repo.outsideRecords ? { outside: await repo.outsideRecords(deps.db, inc) } : {}),
  });
  return { filename: writtenReportFileName(inc.number, view.report.currentVersion), data, view };
}

/** 三 for the .docx: the activation, who held HQ's posts, every instruction and proposal with its receipts, by name. */
async function commandPart(db: Executor, incidentId: string, repo: WrittenReportRepositories) {
  if (!repo.commandRecord) return undefined;
  const record = await repo.commandRecord(db, incidentId);
  const [timeline] = await repo.timelinesOf(db, [(await repo.findIncident(db, incidentId))!], { audit: false });
  const names = { ...(timeline?.staffNames ?? {}), ...record.staffNames };
  const nameOf = (id: string | undefined) => (id ? (names[id] ?? null) : null);
  const post = (role: string) => nameOf(timeline?.roles.find((r) => r.role === role)?.staffId);
  const a = record.activation;
  return {
    activation: a ? { level: a.level, name: nameOf(a.activatedByStaffId) ?? '', at: a.activatedAt } : null,
    levelChanges: record.levelChanges.map((c) => ({ at: c.at, name: nameOf(c.byStaffId) ?? '', from: c.fromLevel, to: c.toLevel, direction: c.direction, reason: c.reason })),
    commander: post('commander'),
    deputy: post('deputy_commander'),
    onsite: post('onsite_command'),
    messages: record.messages.map((m) => ({ at: m.at, kind: m.kind, from: nameOf(m.fromStaffId) ?? '', text: m.text, receipts: m.receipts.map((r) => ({ name: nameOf(r.staffId) ?? '', at: r.at })) })),
  };
}
