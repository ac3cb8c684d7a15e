/**
 * Incident use cases. Each is one transaction that writes the change, its audit entry, the timers it
 * creates or closes and the outbox rows for the chain; the dispatcher is told only after commit.
 */
import type { Executor } from '../db/client.js';
import { loadIncidentTimeline, timelineEntries, type TimelineEntry } from '../db/read-models/incident-timeline.js';
import { appendAudit } from '../db/repositories/audit.repository.js';
import { auditLink as auditSensitivePeriodLink, sensitivePeriodForReport } from './sensitive-period.service.js';
import { deleteRoleAssignment, findRoleAssignment, insertRoleAssignment, removeRoleHolders, rolesOf as roleRowsOf } from '../db/repositories/incident-role.repository.js';
import {
  findIncident,
  findIncidentByNumber,
  findIncidentBySubmissionKey,
  findStep as findStepRow,
  insertIncident,
  insertIncidentUpdate,
  insertSteps,
  lockIncident,
  nextIncidentSeq,
  openIncidentsPage,
  pendingRequiredStepCounts,
  updateIncident,
  updateStep,
  updateStepInState,
  upwardPhasesOf,
  type IncidentRow,
  type StepRef,
  type StepRow,
} from '../db/repositories/incident.repository.js';
import { loadOrgSnapshot } from '../db/repositories/org.repository.js';
import { enqueueNotices, type NoticeDraft } from '../db/repositories/outbox.repository.js';
import { insertSearchAttempt, searchAttemptsOf as searchAttemptRowsOf, type SearchAttemptRow } from '../db/repositories/search-attempt.repository.js';
import { activeStaffOfUnits } from '../db/repositories/staff.repository.js';
import { findSubject } from '../db/repositories/subject.repository.js';
import { informedOf } from '../db/repositories/timer-context.repository.js';
import { cancelTimers, insertTimers } from '../db/repositories/timer.repository.js';
import { abscondingThresholdTimers } from '../domain/absconding.js';
import { findUnitsOfKinds } from '../db/repositories/unit.repository.js';
import {
  canAssignRole,
  canCloseIncident,
  canHandleIncident,
  canMarkStep,
  hasBureauWideView,
  IllegalTransitionError,
  isFoundOutcome,
  isOpen,
  isSingleHolderRole,
  marksForAbscondingOutcome,
  progressTimers,
  searchStepKey,
  targetsOnClose,
  targetsOnProgress,
  writtenReportTimers,
  type AbscondingOutcome,
  type Closure,
  type Criticality,
  type IncidentEvent,
  type IncidentRole,
  type SearchMethod,
  type StepActor,
  canAcknowledge,
  canReportIncident,
  canSeeOffice,
  criticalityUnder,
  formatIncidentNumber,
  instantiatePlaybookUnder,
  isLateReport,
  targetsOnAcknowledge,
  targetsOnReport,
  timerKindsClosedBy,
  timersOnReport,
  toLocal,
  transition,
  type Actor,
  type EpidemicScenario,
  type EscalationPolicy,
  type IncidentStatus,
  type IncidentType,
  openDutiesAtClose,
  type OpenDuty,
  DEFAULT_PROGRESS_TO_LEADERS,
  FORWARD_LEVELS,
  isSection,
  leaderTargets,
  nextLevelToForward,
  progressReachesLeaders,
  resolveTarget,
  type OrgSnapshot,
  withSettingSteps,
} from '../domain/index.js';
import { nextUpwardPhases, REPORT_HOWS, UPPER_STEP, UPWARD_PHASES, type ReportHow, type UpwardPhase } from '../domain/upward-steps.js';
import { nameCountiesTx } from './county.service.js';
import { ServiceRefusal } from './errors.js';
import { cardHolders } from '../db/repositories/card-message.repository.js';
import { closingFacts } from '../db/repositories/incident.repository.js';
import { cardRedrawsFor, draftsFor, noticesFor } from './notices.js';
import { emptyChange, type CommittedChange, type ServiceDeps } from './ports.js';
import { subjectFollowsIncident } from './subject.service.js';
import { openWrittenReportDraft } from './written-report.service.js';

export { noticesFor } from './notices.js';

/**
 * What reporting, acknowledging and closing read and write in their transaction: the PostgreSQL
 * repositories, unless the deps bring others (the service tests bring in-memory ones). Naming counties
 * and opening the written report's draft belong to other use cases but run inside these transactions,
 * so they come along.
 */
export interface IncidentRepositories {
  findIncidentBySubmissionKey: typeof findIncidentBySubmissionKey;
  findSubject: typeof findSubject;
  nextIncidentSeq: typeof nextIncidentSeq;
  insertIncident: typeof insertIncident;
  insertSteps: typeof insertSteps;
  lockIncident: typeof lockIncident;
  updateIncident: typeof updateIncident;
  insertTimers: typeof insertTimers;
  cancelTimers: typeof cancelTimers;
  loadOrgSnapshot: typeof loadOrgSnapshot;
  cardHolders: typeof cardHolders;
  enqueueNotices: typeof enqueueNotices;
  appendAudit: typeof appendAudit;
  nameCounties: typeof nameCountiesTx;
  openWrittenReportDraft: typeof openWrittenReportDraft;
  /** What is still open at closing; without it (a fake), nothing is. */
  closingFacts?: typeof closingFacts;
  /** 十: the sensitive period a report falls in; without it (a fake), none. */
  sensitivePeriodForReport?: typeof sensitivePeriodForReport;
}

export const postgresIncidentRepositories: IncidentRepositories = {
  findIncidentBySubmissionKey,
  findSubject,
  nextIncidentSeq,
  insertIncident,
  insertSteps,
  lockIncident,
  updateIncident,
  insertTimers,
  cancelTimers,
  loadOrgSnapshot,
  cardHolders,
  enqueueNotices,
  appendAudit,
  nameCounties: nameCountiesTx,
  openWrittenReportDraft,
  closingFacts,
  sensitivePeriodForReport,
};

/** A service's deps, with the incident repositories to use instead of PostgreSQL's. */
export type IncidentDeps = ServiceDeps & { incidentRepositories?: IncidentRepositories };

const repositoriesOf = (deps: IncidentDeps): IncidentRepositories => deps.incidentRepositories ?? postgresIncidentRepositories;

export interface IncidentReport {
  type: IncidentType;
  scenario?: EpidemicScenario | null;
  subjectId?: string | null;
  subjectNote?: string | null;
  officeUnitId: string;
  occurredAt?: Date | null;
  discoveredAt: Date;
  place?: string | null;
  latitude?: number | null;
  longitude?: number | null;
  injured: number;
  dead: number;
  description: string;
  media?: Array<{ kind: string; fileId: string }>;
  isDrill?: boolean;
  atOffice?: boolean;
  otherCounties?: string[];
  /** The form's key (a uuid): the same key submitted again returns the incident it already reported. */
  submissionKey?: string;
}

export interface ReportResult {
  incident: IncidentRow;
  steps: StepRow[];
  change: CommittedChange;
  /** True when this submission had reported the incident already: nothing new was written or sent. */
  alreadyReported?: boolean;
}

/** 上报: the incident, its checklist, its timeline entry, its deadlines and its notices, all or nothing. */
export async function reportIncident(deps: IncidentDeps, actor: Actor, report: IncidentReport): Promise<ReportResult> {
  const repo = repositoriesOf(deps);
  if (!canReportIncident(actor)) throw new ServiceRefusal('not_permitted');
  if (!canSeeOffice(actor, report.officeUnitId)) throw new ServiceRefusal('not_permitted', 'office');
  if (report.description.trim() === '') throw new ServiceRefusal('invalid_input', 'description');
  const now = deps.clock.now();
  // The office's variant over the bureau's plan (七(五)): the incident keeps it as its snapshot.
  const policy = await deps.policy(report.officeUnitId);
  const criticality = criticalityUnder(policy, report.type, report.scenario ?? null);

  const result = await deps.db.transaction(async (tx): Promise<ReportResult> => {
    if (report.submissionKey) {
      const earlier = await repo.findIncidentBySubmissionKey(tx, report.submissionKey);
      if (earlier) {
        if (earlier.reporterStaffId !== actor.staffId) throw new ServiceRefusal('not_permitted');
        return { incident: earlier, steps: [], change: emptyChange(), alreadyReported: true };
      }
    }
    if (report.subjectId) {
      const s = await repo.findSubject(tx, report.subjectId);
      if (!s || !canSeeOffice(actor, s.officeUnitId)) throw new ServiceRefusal('not_permitted', 'subject');
    }
    const year = toLocal(now, deps.timeZone).year;
    const series = report.isDrill ? 'drill' : 'real';
    const seq = await repo.nextIncidentSeq(tx, year, series);
    // 十 in a 特殊敏感时间段: the incident is linked to its period (a drill is not).
    const period = report.isDrill ? undefined : await repo.sensitivePeriodForReport?.(tx, report, deps.timeZone);
    const incident = await repo.insertIncident(tx, {
      number: formatIncidentNumber(year, seq, series),
      type: report.type,
      scenario: report.type === 'epidemic' ? (report.scenario ?? null) : null,
      criticality,
      subjectId: report.subjectId ?? null,
      subjectNote: report.subjectNote ?? null,
      officeUnitId: report.officeUnitId,
      reporterStaffId: actor.staffId,
      occurredAt: report.occurredAt ?? null,
      discoveredAt: report.discoveredAt,
      reportedAt: now,
      place: report.place ?? null,
      latitude: report.latitude ?? null,
      longitude: report.longitude ?? null,
      injured: report.injured,
      dead: report.dead,
      description: report.description,
      media: report.media ?? [],
      status: 'reported' satisfies IncidentStatus,
      isDrill: report.isDrill ?? false,
      lateReport: isLateReport(report.discoveredAt, now, policy),
      ...(period ? { sensitivePeriodId: period.id } : {}),
      submissionKey: report.submissionKey ?? null,
      policy,
      lastProgressAt: now,
    });
    const playbook = instantiatePlaybookUnder(policy, report.type, report.scenario ?? null, {
      injured: report.injured,
      dead: report.dead,
      otherCounties: (report.otherCounties?.length ?? 0) > 0,
      ...(report.atOffice === undefined ? {} : { atOffice: report.atOffice }),
    });
    // The bureau's settings may add steps (三(一): 向区人民政府报告).
    const checklist = withSettingSteps(playbook, criticality, policy.reportToDistrictGovernment ?? []);
    // Reporting through the bot is the report to the section (五(一)).
    const steps = await repo.insertSteps(
      tx,
      incident.id,
      checklist.map((s) => (s.key === 'report_section' ? { ...s, state: 'done' as const, doneByStaffId: actor.staffId, doneAt: now, how: 'bot' } : s)),
    );
    // 五(一): counties named in the report are recorded at once; notifying each is the section's step.
    if (report.otherCounties?.length) await repo.nameCounties(tx, incident.id, report.otherCounties, actor.staffId, now);
    // 脱管: the section is told at each of the bureau's thresholds out of supervision (src/domain/absconding.ts).
    const timers = await repo.insertTimers(tx, [...timersOnReport({ id: incident.id, criticality, reportedAt: now }, policyOf(incident)), ...abscondingThresholdTimers(incident, policyOf(incident))], {
      isDrill: incident.isDrill,
    });
    const org = await repo.loadOrgSnapshot(tx);
    const outbox = await repo.enqueueNotices(tx, noticesFor(org, targetsOnReport(), incident, 'incident_reported', 'new', { exclude: actor.staffId }));
    // The subject's status and duties follow (脱管; an epidemic 情形三 puts them on daily contact).
    const subjectChange = await subjectFollowsIncident(tx, { kind: 'reported' }, incident, { now, timeZone: deps.timeZone, actorStaffId: actor.staffId, policy });
    await repo.appendAudit(tx, {
      at: now,
      action: 'incident.reported',
      entity: 'incident',
      entityId: incident.id,
      incidentId: incident.id,
      actorStaffId: actor.staffId,
      data: {
        number: incident.number,
        type: incident.type,
        scenario: incident.scenario,
        subjectId: incident.subjectId,
        discoveredAt: incident.discoveredAt.toISOString(),
        lateReport: incident.lateReport,
        injured: incident.injured,
        dead: incident.dead,
        isDrill: incident.isDrill,
      },
    });
    if (period) await auditSensitivePeriodLink(tx, incident.id, period, now);
    return { incident, steps, change: { ...subjectChange, timersCreated: [...timers, ...subjectChange.timersCreated], outboxCreated: [...outbox, ...subjectChange.outboxCreated] } };
  });
  await deps.dispatcher.afterCommit(result.change);
  return result;
}

export function policyOf(incident: Pick<IncidentRow, 'policy'>): EscalationPolicy {
  return incident.policy as EscalationPolicy;
}

/** Loads and locks an incident the actor may see, checking the card's version when one is given. */
/**
 * Every card of the incident, redrawn in place after a change: rows for the holders not told of the
 * change by a notice of its own — the actor included, whose card may be another message than the one
 * they pressed (the sender skips a card that is current already).
 */
async function redrawOthersCards(tx: Executor, incident: IncidentRow, _actor: Actor, told: readonly NoticeDraft[] = []): Promise<NoticeDraft[]> {
  return cardRedrawsFor(await cardHolders(tx, incident.id), incident, 'card_redraw', `v${incident.version}`, told);
}

export async function loadForChange(tx: Executor, actor: Actor, incidentId: string, expectedVersion?: number, lock: typeof lockIncident = lockIncident): Promise<IncidentRow> {
  const incident = await lock(tx, incidentId);
  if (!incident) throw new ServiceRefusal('not_found');
  if (!canSeeOffice(actor, incident.officeUnitId)) throw new ServiceRefusal('not_permitted');
  if (expectedVersion !== undefined && incident.version !== expectedVersion) throw new ServiceRefusal('stale');
  return incident;
}

/**
 * 签收: the section receives the report; closes the acknowledgement ladder, never the mandatory information.
 * Every card of the incident others hold is redrawn, so none keeps offering 签收.
 */
export async function acknowledgeIncident(deps: IncidentDeps, actor: Actor, incidentId: string, expectedVersion?: number): Promise<IncidentRow> {
  const repo = repositoriesOf(deps);
  if (!canAcknowledge(actor)) throw new ServiceRefusal('not_permitted');
  const now = deps.clock.now();
  const { incident, change } = await deps.db.transaction(async (tx) => {
    const current = await loadForChange(tx, actor, incidentId, expectedVersion, repo.lockIncident);
    if (current.status !== 'reported') throw new ServiceRefusal('already_done');
    const next = transition({ status: current.status as IncidentStatus, closure: null }, { kind: 'acknowledge' }, actor);
    const updated = await repo.updateIncident(tx, incidentId, { status: next.status, acknowledgedAt: now, acknowledgedByStaffId: actor.staffId }, now);
    const cancelled = await repo.cancelTimers(tx, { incidentId }, timerKindsClosedBy('acknowledged'), now);
    const org = await repo.loadOrgSnapshot(tx);
    const params = { byStaffId: actor.staffId };
    const told = noticesFor(org, targetsOnAcknowledge(), updated, 'incident_acknowledged', 'ack', { exclude: actor.staffId, params });
    const redraws = cardRedrawsFor(await repo.cardHolders(tx, incidentId), updated, 'incident_acknowledged', 'ack', told, { params });
    const outbox = await repo.enqueueNotices(tx, [...told, ...redraws]);
    await repo.appendAudit(tx, {
      at: now,
      action: 'incident.acknowledged',
      entity: 'incident',
      entityId: incidentId,
      incidentId,
      actorStaffId: actor.staffId,
      data: { lateBySeconds: Math.max(0, Math.round((now.getTime() - current.reportedAt.getTime()) / 1000) - policyOf(current).ackSeconds[current.criticality as 'critical' | 'standard']) },
    });
    return { incident: updated, change: { ...emptyChange(), timersCancelled: cancelled, outboxCreated: outbox } };
  });
  await deps.dispatcher.afterCommit(change);
  return incident;
}

export async function getIncident(deps: Pick<ServiceDeps, 'db'>, actor: Actor, id: string): Promise<IncidentRow> {
  const incident = await findIncident(deps.db, id);
  if (!incident || !canSeeOffice(actor, incident.officeUnitId)) throw new ServiceRefusal('not_found');
  return incident;
}

/**
 * The incident's timeline as entries (who did what, when, how), for someone who may see the incident by
 * unit and position, as its card: anyone else, and a number that names nothing, is `not_found`.
 */
export async function visibleTimeline(
  deps: Pick<ServiceDeps, 'db'>,
  actor: Actor,
  ref: { id: string } | { number: string },
): Promise<{ incident: IncidentRow; entries: TimelineEntry[]; staffNames: Record<string, string> }> {
  const incident = 'id' in ref ? await findIncident(deps.db, ref.id) : await findIncidentByNumber(deps.db, ref.number);
  if (!incident || !canSeeOffice(actor, incident.officeUnitId)) throw new ServiceRefusal('not_found');
  const view = await loadIncidentTimeline(deps.db, incident.id);
  if (!view) throw new ServiceRefusal('not_found');
  return { incident, entries: timelineEntries(view), staffNames: view.staffNames };
}


// ---------------------------------------------------------------------------------------------
// Working the incident: progress, checklist, roles, the absconding search, closing.

type Media = Array<{ kind: string; fileId: string }>;

/** Longest free text a use case stores (a Telegram message is at most 4096 characters). */
export const MAX_TEXT = 4000;

function requireText(text: string, field: string): string {
  const trimmed = text.trim();
  if (trimmed === '' || trimmed.length > MAX_TEXT) throw new ServiceRefusal('invalid_input', field);
  return trimmed;
}

function requireOpen(incident: IncidentRow): void {
  if (!isOpen(incident.status as IncidentStatus)) throw new ServiceRefusal('wrong_status');
}

function lifecycleOf(incident: IncidentRow) {
  return { status: incident.status as IncidentStatus, closure: (incident.closure as Closure | null) ?? null };
}

/** The first piece of handling work after acknowledgement moves the incident to in_progress. */
function handlingPatch(incident: IncidentRow): { status?: IncidentStatus } {
  return incident.status === 'acknowledged' ? { status: transition(lifecycleOf(incident), { kind: 'begin_handling' }).status } : {};
}

/** Applies a lifecycle event, turning the state machine's refusal into a service refusal. */
function applyEvent(incident: IncidentRow, event: IncidentEvent, actor: Actor) {
  try {
    return transition(lifecycleOf(incident), event, actor);
  } catch (e) {
    if (!(e instanceof IllegalTransitionError)) throw e;
    const code = e.reason === 'not_permitted' ? 'not_permitted' : e.reason === 'missing_text' ? 'invalid_input' : 'wrong_status';
    throw new ServiceRefusal(code, e.detail);
  }
}

/** When no required step is still pending, the overdue-steps ladder has nothing left to chase. */
async function cancelStepTimersIfComplete(tx: Executor, incidentId: string, now: Date) {
  const pending = await pendingRequiredStepCounts(tx, [incidentId]);
  return pending.has(incidentId) ? [] : cancelTimers(tx, { incidentId }, timerKindsClosedBy('steps_complete'), now);
}

async function findStep(tx: Executor, incidentId: string, ref: StepRef): Promise<StepRow> {
  const step = await findStepRow(tx, incidentId, ref);
  if (!step) throw new ServiceRefusal('not_found', 'step');
  return step;
}

export interface ProgressInput {
  text: string;
  media?: Media;
}

/**
 * 续报: the update goes into the timeline and to the chain; the current progress deadline is met, so its
 * timers close and the next cycle's open, counted from now.
 */
export async function reportProgress(
  deps: ServiceDeps,
  actor: Actor,
  incidentId: string,
  input: ProgressInput,
  expectedVersion?: number,
): Promise<{ incident: IncidentRow; updateId: string }> {
  const text = requireText(input.text, 'text');
  const now = deps.clock.now();
  const result = await deps.db.transaction(async (tx) => {
    const current = await loadForChange(tx, actor, incidentId, expectedVersion);
    if (!canHandleIncident(actor, current.officeUnitId)) throw new ServiceRefusal('not_permitted');
    requireOpen(current);
    const update = await insertIncidentUpdate(tx, { incidentId, staffId: actor.staffId, kind: 'progress', text, media: input.media ?? [], at: now });
    const cancelled = await cancelTimers(tx, { incidentId }, timerKindsClosedBy('progress_reported'), now);
    const cycle = current.progressCycle + 1;
    const created = await insertTimers(
      tx,
      progressTimers({ id: incidentId, criticality: current.criticality as Criticality, reportedAt: current.reportedAt }, policyOf(current), now, cycle),
      { isDrill: current.isDrill },
    );
    const updated = await updateIncident(tx, incidentId, { ...handlingPatch(current), lastProgressAt: now, progressCycle: cycle }, now);
    const org = await loadOrgSnapshot(tx);
    const told = await progressNotices(tx, org, updated, update.id, actor);
    const outbox = await enqueueNotices(tx, [...told, ...(await redrawOthersCards(tx, updated, actor, told))]);
    await appendAudit(tx, {
      at: now,
      action: 'incident.progress',
      entity: 'incident',
      entityId: incidentId,
      incidentId,
      actorStaffId: actor.staffId,
      data: { updateId: update.id, cycle: current.progressCycle, media: (input.media ?? []).length },
    });
    return { incident: updated, updateId: update.id, change: { ...emptyChange(), timersCreated: created, timersCancelled: cancelled, outboxCreated: outbox } };
  });
  await deps.dispatcher.afterCommit(result.change);
  return { incident: result.incident, updateId: result.updateId };
}

/**
 * A 续报's notices: the chain (targetsOnProgress), the leaders too for the criticalities the incident's
 * settings name; for the others, the leaders who have been told of the incident already, so a leader
 * who knows of it stays current. Never to its writer.
 */
async function progressNotices(tx: Executor, org: OrgSnapshot, incident: IncidentRow, updateId: string, actor: Actor): Promise<NoticeDraft[]> {
  const criticality = incident.criticality as Criticality;
  // A snapshot taken before the setting existed has none: the default applies.
  const toLeaders = policyOf(incident).progressToLeaders ?? DEFAULT_PROGRESS_TO_LEADERS;
  const params = { updateId, byStaffId: actor.staffId };
  const told = noticesFor(org, targetsOnProgress(criticality, toLeaders), incident, 'progress_reported', `u${updateId}`, { exclude: actor.staffId, params });
  if (progressReachesLeaders(criticality, toLeaders)) return told;
  const leaders = leaderTargets().flatMap((t) => resolveTarget(t, { officeUnitId: incident.officeUnitId, reporterStaffId: incident.reporterStaffId }, org));
  const chain = new Set([...told.map((d) => d.recipientStaffId), actor.staffId]);
  const informed = await informedOf(tx, incident.id, [...new Set(leaders)].filter((id) => !chain.has(id)));
  return [...told, ...draftsFor([...informed], incident, 'progress_reported', `u${updateId}`, { params })];
}

/**
 * 立即上报: the section forwards the incident to the next level of the line at once, with a note: the
 * deputy director, or the director once the deputy director knows. It counts as informing that level, so
 * its mandatory-information deadline then closes as already informed. Refused when every level knows.
 */
export async function forwardToNextLevel(
  deps: ServiceDeps,
  actor: Actor,
  incidentId: string,
  note: string,
  expectedVersion?: number,
): Promise<{ incident: IncidentRow; position: 'deputy_director' | 'director'; recipients: number }> {
  const text = requireText(note, 'note');
  if (!isSection(actor)) throw new ServiceRefusal('not_permitted');
  const now = deps.clock.now();
  const result = await deps.db.transaction(async (tx) => {
    const current = await loadForChange(tx, actor, incidentId, expectedVersion);
    requireOpen(current);
    const org = await loadOrgSnapshot(tx);
    const ctx = { officeUnitId: current.officeUnitId, reporterStaffId: current.reporterStaffId };
    const levels = new Map<string, string[]>();
    for (const level of FORWARD_LEVELS) {
      const ids = resolveTarget({ kind: 'position', position: level.position, scope: 'bureau' }, ctx, org).filter((id) => id !== actor.staffId);
      const informed = await informedOf(tx, incidentId, ids);
      levels.set(level.position, ids.filter((id) => !informed.has(id)));
    }
    const next = nextLevelToForward((position) => levels.get(position) ?? []);
    if (!next) throw new ServiceRefusal('already_done');
    const update = await insertIncidentUpdate(tx, { incidentId, staffId: actor.staffId, kind: 'forward', text, at: now });
    const updated = await updateIncident(tx, incidentId, {}, now);
    const told = draftsFor(next.recipients, updated, 'forwarded_up', `f${update.id}`, { params: { position: next.position, updateId: update.id, byStaffId: actor.staffId } });
    const outbox = await enqueueNotices(tx, [...told, ...(await redrawOthersCards(tx, updated, actor, told))]);
    await appendAudit(tx, {
      at: now,
      action: 'incident.forwarded',
      entity: 'incident',
      entityId: incidentId,
      incidentId,
      actorStaffId: actor.staffId,
      data: { position: next.position, updateId: update.id, recipients: next.recipients.length },
    });
    return { incident: updated, position: next.position, recipients: next.recipients.length, change: { ...emptyChange(), outboxCreated: outbox } };
  });
  await deps.dispatcher.afterCommit(result.change);
  return { incident: result.incident, position: result.position, recipients: result.recipients };
}

export interface UpwardReportInput {
  phase: UpwardPhase;
  /** How it was made: by phone, in writing, through the system. */
  how: ReportHow;
  note?: string | null;
}

/**
 * 上报上一级 with its phase: 首报 marks the checklist step (and meets its deadline); 续报 may follow any
 * number of times, and 终报 once, which ends them. Each is in the timeline, with how it was made.
 */
export async function reportUpward(deps: ServiceDeps, actor: Actor, incidentId: string, input: UpwardReportInput, expectedVersion?: number): Promise<IncidentRow> {
  if (!(REPORT_HOWS as readonly string[]).includes(input.how) || !(UPWARD_PHASES as readonly string[]).includes(input.phase)) throw new ServiceRefusal('invalid_input', 'how');
  const note = input.note?.trim() ? requireText(input.note, 'note') : null;
  if (input.phase === 'first') {
    return (await markStep(deps, actor, incidentId, { key: UPPER_STEP }, { kind: 'done', how: input.how, ...(note ? { note } : {}) }, expectedVersion)).incident;
  }
  const now = deps.clock.now();
  const result = await deps.db.transaction(async (tx) => {
    const current = await loadForChange(tx, actor, incidentId, expectedVersion);
    requireOpen(current);
    const step = await findStep(tx, incidentId, { key: UPPER_STEP });
    if (!canMarkStep(actor, current.officeUnitId, step.actor as StepActor)) throw new ServiceRefusal('not_permitted');
    const done = await upwardPhasesOf(tx, incidentId);
    if (!nextUpwardPhases(done).includes(input.phase)) throw new ServiceRefusal(done.includes('first') ? 'already_done' : 'wrong_status', 'phase');
    const update = note ? await insertIncidentUpdate(tx, { incidentId, staffId: actor.staffId, kind: 'upward', text: note, at: now }) : undefined;
    const updated = await updateIncident(tx, incidentId, handlingPatch(current), now);
    await appendAudit(tx, {
      at: now,
      action: 'incident.upward_report',
      entity: 'incident',
      entityId: incidentId,
      incidentId,
      actorStaffId: actor.staffId,
      data: { phase: input.phase, how: input.how, ...(update ? { updateId: update.id } : {}) },
    });
    const outbox = await enqueueNotices(tx, await redrawOthersCards(tx, updated, actor));
    return { incident: updated, change: { ...emptyChange(), outboxCreated: outbox } };
  });
  await deps.dispatcher.afterCommit(result.change);
  return result.incident;
}

/** The phases of 上报上一级 that may be reported next on an incident (none once 终报 is made, or without the step). */
export async function upwardPhasesAvailable(deps: Pick<ServiceDeps, 'db'>, incidentId: string): Promise<UpwardPhase[]> {
  const step = await findStepRow(deps.db, incidentId, { key: UPPER_STEP });
  if (!step || step.state === 'not_applicable') return [];
  return nextUpwardPhases(await upwardPhasesOf(deps.db, incidentId));
}

export type { StepRef };

export type StepAction =
  | { kind: 'done'; how?: string | null; note?: string | null }
  | { kind: 'not_applicable'; reason: string }
  | { kind: 'note'; text: string };

/**
 * Marks a checklist step done or not applicable (with a reason), or adds a note. Marking 上报上一级
 * meets the upper-report deadline; the last required step meets the overdue-steps deadline.
 */
export async function markStep(
  deps: ServiceDeps,
  actor: Actor,
  incidentId: string,
  ref: StepRef,
  action: StepAction,
  expectedVersion?: number,
): Promise<{ incident: IncidentRow; step: StepRow }> {
  const text = action.kind === 'not_applicable' ? requireText(action.reason, 'reason') : action.kind === 'note' ? requireText(action.text, 'note') : null;
  const note = action.kind === 'done' && action.note ? requireText(action.note, 'note') : null;
  const now = deps.clock.now();
  const result = await deps.db.transaction(async (tx) => {
    const current = await loadForChange(tx, actor, incidentId, expectedVersion);
    requireOpen(current);
    const step = await findStep(tx, incidentId, ref);
    if (!canMarkStep(actor, current.officeUnitId, step.actor as StepActor)) throw new ServiceRefusal('not_permitted');
    if (action.kind !== 'note' && step.state !== 'pending') throw new ServiceRefusal('already_done');
    let patch: Partial<StepRow>;
    if (action.kind === 'done') patch = { state: 'done', how: action.how ?? null, doneByStaffId: actor.staffId, doneAt: now, ...(note ? { note } : {}) };
    else if (action.kind === 'not_applicable') patch = { state: 'not_applicable', naReason: text, doneByStaffId: actor.staffId, doneAt: now };
    else patch = { note: text };
    const saved = await updateStep(tx, step.id, patch);
    if (action.kind === 'note' || note) {
      await insertIncidentUpdate(tx, { incidentId, staffId: actor.staffId, kind: 'step_note', text: (text ?? note)!, at: now });
    }
    const cancelled = [];
    if (action.kind !== 'note') {
      if (step.key === 'report_upward') cancelled.push(...(await cancelTimers(tx, { incidentId }, timerKindsClosedBy('upper_reported'), now)));
      cancelled.push(...(await cancelStepTimersIfComplete(tx, incidentId, now)));
    }
    // 终止社区矫正 done: the subject's supervision ends, and every reminder with it.
    if (action.kind === 'done') cancelled.push(...(await subjectFollowsIncident(tx, { kind: 'step_done', stepKey: step.key }, current, { now, timeZone: deps.timeZone, actorStaffId: actor.staffId })).timersCancelled);
    const updated = await updateIncident(tx, incidentId, handlingPatch(current), now);
    await appendAudit(tx, {
      at: now,
      action: `step.${action.kind}`,
      entity: 'incident_step',
      entityId: step.id,
      incidentId,
      actorStaffId: actor.staffId,
      data: { key: step.key, ordinal: step.ordinal, ...(action.kind === 'done' ? { how: action.how ?? null } : {}) },
    });
    const outbox = await enqueueNotices(tx, await redrawOthersCards(tx, updated, actor));
    return { incident: updated, step: saved, change: { ...emptyChange(), timersCancelled: cancelled, outboxCreated: outbox } };
  });
  await deps.dispatcher.afterCommit(result.change);
  return { incident: result.incident, step: result.step };
}

/** 上报上一级: the section reports to the upper-level agency (by phone, in writing…). */
export function markUpperReported(deps: ServiceDeps, actor: Actor, incidentId: string, how: string, expectedVersion?: number) {
  return markStep(deps, actor, incidentId, { key: 'report_upward' }, { kind: 'done', how }, expectedVersion);
}

/** 通报检察院: the procuratorate of the place of execution is notified. */
export function markProcuratorateNotified(deps: ServiceDeps, actor: Actor, incidentId: string, how: string, expectedVersion?: number) {
  return markStep(deps, actor, incidentId, { key: 'notify_procuratorate' }, { kind: 'done', how }, expectedVersion);
}

export interface AssignableStaff {
  id: string;
  name: string;
  unitId: string;
}

/** Who may be given an HQ role on an incident: active staff of its office, of the section and of the bureau. */
export async function assignableStaff(deps: Pick<ServiceDeps, 'db'>, officeUnitId: string): Promise<AssignableStaff[]> {
  const hq = await findUnitsOfKinds(deps.db, ['bureau', 'section']);
  return activeStaffOfUnits(deps.db, [officeUnitId, ...hq.map((u) => u.id)]);
}

export interface RoleAssignment {
  role: IncidentRole;
  staffId: string;
}

export async function rolesOf(deps: Pick<ServiceDeps, 'db'>, incidentId: string): Promise<RoleAssignment[]> {
  const rows = await roleRowsOf(deps.db, incidentId);
  return rows.map((r) => ({ role: r.role as IncidentRole, staffId: r.staffId }));
}

/** 指派: gives (or takes back) an HQ role; a new commander replaces the previous one. */
export async function setRole(
  deps: ServiceDeps,
  actor: Actor,
  incidentId: string,
  role: IncidentRole,
  staffId: string,
  assigned: boolean,
  expectedVersion?: number,
): Promise<IncidentRow> {
  const now = deps.clock.now();
  const { incident, change } = await deps.db.transaction(async (tx) => {
    const current = await loadForChange(tx, actor, incidentId, expectedVersion);
    requireOpen(current);
    if (!canAssignRole(actor, current.officeUnitId, role)) throw new ServiceRefusal('not_permitted');
    const candidates = await assignableStaff({ db: tx as ServiceDeps['db'] }, current.officeUnitId);
    if (assigned && !candidates.some((c) => c.id === staffId)) throw new ServiceRefusal('invalid_input', 'staff');
    const existing = await findRoleAssignment(tx, incidentId, role, staffId);
    if (assigned === (existing !== undefined)) throw new ServiceRefusal('already_done');
    const audit = [];
    const notices: NoticeDraft[] = [];
    if (assigned) {
      if (isSingleHolderRole(role)) {
        for (const replaced of await removeRoleHolders(tx, incidentId, role)) audit.push({ action: 'role.removed', staffId: replaced });
      }
      const given = await insertRoleAssignment(tx, { incidentId, role, staffId, assignedByStaffId: actor.staffId, at: now });
      audit.push({ action: 'role.assigned', staffId });
      // The assignee is told, with the card; someone who took a role themselves knows already.
      if (staffId !== actor.staffId) {
        notices.push({
          recipientStaffId: staffId,
          kind: 'role_assigned',
          incidentId,
          dedupeKey: `role_assigned-${incidentId}-${given.id}`,
          params: { role, byStaffId: actor.staffId },
          isDrill: current.isDrill,
        });
      }
    } else {
      await deleteRoleAssignment(tx, existing!.id);
      audit.push({ action: 'role.removed', staffId });
    }
    const updated = await updateIncident(tx, incidentId, handlingPatch(current), now);
    await appendAudit(
      tx,
      audit.map((a) => ({ at: now, action: a.action, entity: 'incident', entityId: incidentId, incidentId, actorStaffId: actor.staffId, data: { role, staffId: a.staffId } })),
    );
    const outbox = await enqueueNotices(tx, [...notices, ...(await redrawOthersCards(tx, updated, actor, notices))]);
    return { incident: updated, change: { ...emptyChange(), outboxCreated: outbox } };
  });
  await deps.dispatcher.afterCommit(change);
  return incident;
}

export interface CloseInput {
  cause: string;
  lessons: string;
  measures: string;
  /** Why the incident is closed with duties still open (openDutiesAtClose); required when there are any. */
  openDutiesReason?: string | null;
}

/** What is still open on an incident, for the close form to list. */
export async function openDutiesOf(deps: IncidentDeps, incident: IncidentRow): Promise<OpenDuty[]> {
  const repo = repositoriesOf(deps);
  return repo.closingFacts ? openDutiesAtClose(await repo.closingFacts(deps.db, incident)) : [];
}

/**
 * 结案 (五(三)): establishes cause, lessons and measures; the running deadlines close and the written
 * report's deadlines open, with its draft prefilled from the timeline (edited in its own flow).
 */
export async function closeIncident(deps: IncidentDeps, actor: Actor, incidentId: string, input: CloseInput, expectedVersion?: number): Promise<IncidentRow> {
  const repo = repositoriesOf(deps);
  const texts = { cause: input.cause.trim(), lessons: input.lessons.trim(), measures: input.measures.trim() };
  for (const [k, v] of Object.entries(texts)) if (v.length > MAX_TEXT) throw new ServiceRefusal('invalid_input', k);
  const now = deps.clock.now();
  const result = await deps.db.transaction(async (tx) => {
    const current = await loadForChange(tx, actor, incidentId, expectedVersion, repo.lockIncident);
    if (!canCloseIncident(actor, current.officeUnitId)) throw new ServiceRefusal('not_permitted');
    const duties = repo.closingFacts ? openDutiesAtClose(await repo.closingFacts(tx, current)) : [];
    const dutiesReason = input.openDutiesReason?.trim() ?? '';
    if (duties.length > 0 && !dutiesReason) throw new ServiceRefusal('invalid_input', 'open_duties');
    if (dutiesReason.length > MAX_TEXT) throw new ServiceRefusal('invalid_input', 'open_duties');
    const next = applyEvent(current, { kind: 'close', ...texts }, actor);
    const updated = await repo.updateIncident(
      tx,
      incidentId,
      { status: next.status, closure: next.closure, closedAt: now, closedByStaffId: actor.staffId, closeCause: texts.cause, closeLessons: texts.lessons, closeMeasures: texts.measures },
      now,
    );
    const cancelled = await repo.cancelTimers(tx, { incidentId }, timerKindsClosedBy('incident_closed'), now);
    const created = await repo.insertTimers(tx, writtenReportTimers(incidentId, now, policyOf(current)), { isDrill: current.isDrill });
    await repo.openWrittenReportDraft(tx, incidentId, now, { timeZone: deps.timeZone });
    const org = await repo.loadOrgSnapshot(tx);
    const params = { byStaffId: actor.staffId, closure: 'resolved' };
    const told = noticesFor(org, targetsOnClose(), updated, 'incident_closed', 'closed', { exclude: actor.staffId, params });
    const redraws = cardRedrawsFor(await repo.cardHolders(tx, incidentId), updated, 'incident_closed', 'closed', told, { params });
    const outbox = await repo.enqueueNotices(tx, [...told, ...redraws]);
    await repo.appendAudit(tx, {
      at: now,
      action: 'incident.closed',
      entity: 'incident',
      entityId: incidentId,
      incidentId,
      actorStaffId: actor.staffId,
      data: { closure: 'resolved', ...(duties.length ? { openDuties: duties, openDutiesReason: dutiesReason } : {}) },
    });
    return { incident: updated, change: { ...emptyChange(), timersCreated: created, timersCancelled: cancelled, outboxCreated: outbox } };
  });
  await deps.dispatcher.afterCommit(result.change);
  return result.incident;
}

/** 误报: the section alone closes a false alarm, with a reason; no written report follows. */
export async function closeFalseAlarm(deps: IncidentDeps, actor: Actor, incidentId: string, reason: string, expectedVersion?: number): Promise<IncidentRow> {
  const repo = repositoriesOf(deps);
  const text = requireText(reason, 'reason');
  const now = deps.clock.now();
  const result = await deps.db.transaction(async (tx) => {
    const current = await loadForChange(tx, actor, incidentId, expectedVersion, repo.lockIncident);
    const next = applyEvent(current, { kind: 'close_false_alarm', reason: text }, actor);
    const updated = await repo.updateIncident(tx, incidentId, { status: next.status, closure: next.closure, closedAt: now, closedByStaffId: actor.staffId, falseAlarmReason: text }, now);
    await subjectFollowsIncident(tx, { kind: 'false_alarm' }, current, { now, timeZone: deps.timeZone, actorStaffId: actor.staffId });
    const cancelled = await repo.cancelTimers(tx, { incidentId }, timerKindsClosedBy('incident_closed'), now);
    const org = await repo.loadOrgSnapshot(tx);
    const params = { byStaffId: actor.staffId, closure: 'false_alarm' };
    const told = noticesFor(org, targetsOnClose(), updated, 'incident_closed', 'closed', { exclude: actor.staffId, params });
    const redraws = cardRedrawsFor(await repo.cardHolders(tx, incidentId), updated, 'incident_closed', 'closed', told, { params });
    const outbox = await repo.enqueueNotices(tx, [...told, ...redraws]);
    await repo.appendAudit(tx, { at: now, action: 'incident.false_alarm', entity: 'incident', entityId: incidentId, incidentId, actorStaffId: actor.staffId, data: { closure: 'false_alarm' } });
    return { incident: updated, change: { ...emptyChange(), timersCancelled: cancelled, outboxCreated: outbox } };
  });
  await deps.dispatcher.afterCommit(result.change);
  return result.incident;
}

export interface SearchAttemptInput {
  method: SearchMethod;
  result: string;
  found: boolean;
  at: Date;
}

function requireAbsconding(incident: IncidentRow): void {
  if (incident.type !== 'absconding') throw new ServiceRefusal('wrong_status', 'not an absconding incident');
}

/** 四(四): one attempt to find the subject, with its method, result and time; the method's step is done. */
export async function recordSearchAttempt(
  deps: ServiceDeps,
  actor: Actor,
  incidentId: string,
  input: SearchAttemptInput,
  expectedVersion?: number,
): Promise<{ incident: IncidentRow; attempt: SearchAttemptRow }> {
  const resultText = requireText(input.result, 'result');
  const now = deps.clock.now();
  if (input.at.getTime() > now.getTime() + 5 * 60_000) throw new ServiceRefusal('invalid_input', 'at');
  const result = await deps.db.transaction(async (tx) => {
    const current = await loadForChange(tx, actor, incidentId, expectedVersion);
    requireAbsconding(current);
    requireOpen(current);
    if (!canMarkStep(actor, current.officeUnitId, 'office')) throw new ServiceRefusal('not_permitted');
    const attempt = await insertSearchAttempt(tx, { incidentId, method: input.method, result: resultText, found: input.found, staffId: actor.staffId, at: input.at });
    await updateStepInState(tx, incidentId, searchStepKey(input.method), 'pending', { state: 'done', how: input.method, note: resultText, doneByStaffId: actor.staffId, doneAt: input.at });
    const cancelled = await cancelStepTimersIfComplete(tx, incidentId, now);
    const updated = await updateIncident(tx, incidentId, handlingPatch(current), now);
    await appendAudit(tx, {
      at: now,
      action: 'search.attempt',
      entity: 'search_attempt',
      entityId: attempt.id,
      incidentId,
      actorStaffId: actor.staffId,
      data: { method: input.method, found: input.found, at: input.at.toISOString() },
    });
    const outbox = await enqueueNotices(tx, await redrawOthersCards(tx, updated, actor));
    return { incident: updated, attempt, change: { ...emptyChange(), timersCancelled: cancelled, outboxCreated: outbox } };
  });
  await deps.dispatcher.afterCommit(result.change);
  return { incident: result.incident, attempt: result.attempt };
}

export async function searchAttemptsOf(deps: Pick<ServiceDeps, 'db'>, incidentId: string): Promise<SearchAttemptRow[]> {
  return searchAttemptRowsOf(deps.db, incidentId);
}

/** Where the search ends or turns: found (ordered to report / brought back), not found, or it may escalate. */
export async function recordAbscondingOutcome(
  deps: ServiceDeps,
  actor: Actor,
  incidentId: string,
  outcome: AbscondingOutcome,
  expectedVersion?: number,
): Promise<IncidentRow> {
  const now = deps.clock.now();
  const result = await deps.db.transaction(async (tx) => {
    const current = await loadForChange(tx, actor, incidentId, expectedVersion);
    requireAbsconding(current);
    requireOpen(current);
    let applied = 0;
    for (const mark of marksForAbscondingOutcome(outcome)) {
      const step = await findStepRow(tx, incidentId, { key: mark.key });
      if (!step || step.state !== 'pending') continue;
      if (!canMarkStep(actor, current.officeUnitId, step.actor as StepActor)) throw new ServiceRefusal('not_permitted');
      await updateStep(tx, step.id, { state: mark.state, how: mark.how ?? null, naReason: mark.naReason ?? null, doneByStaffId: actor.staffId, doneAt: now });
      applied++;
    }
    if (applied === 0) throw new ServiceRefusal('already_done');
    if (isFoundOutcome(outcome)) await subjectFollowsIncident(tx, { kind: 'found' }, current, { now, timeZone: deps.timeZone, actorStaffId: actor.staffId });
    const cancelled = [
      ...(await cancelStepTimersIfComplete(tx, incidentId, now)),
      ...(isFoundOutcome(outcome) ? await cancelTimers(tx, { incidentId }, timerKindsClosedBy('subject_found'), now) : []),
    ];
    const updated = await updateIncident(tx, incidentId, handlingPatch(current), now);
    await appendAudit(tx, {
      at: now,
      action: 'absconding.outcome',
      entity: 'incident',
      entityId: incidentId,
      incidentId,
      actorStaffId: actor.staffId,
      data: { outcome, found: isFoundOutcome(outcome) },
    });
    // 查找未果，报管理科: the section hears of it at once; everyone else's card shows it.
    const told =
      outcome === 'not_found'
        ? noticesFor(await loadOrgSnapshot(tx), [{ kind: 'position', position: 'section', scope: 'bureau' }], updated, 'search_failed', 'not-found', { exclude: actor.staffId, params: { byStaffId: actor.staffId } })
        : [];
    const outbox = await enqueueNotices(tx, [...told, ...(await redrawOthersCards(tx, updated, actor, told))]);
    return { incident: updated, change: { ...emptyChange(), timersCancelled: cancelled, outboxCreated: outbox } };
  });
  await deps.dispatcher.afterCommit(result.change);
  return result.incident;
}

/** /incidents: the open incidents the actor may see, newest first; one extra row says whether there is a next page. */
export async function listVisibleIncidents(
  deps: Pick<ServiceDeps, 'db'>,
  actor: Actor,
  page: number,
  pageSize = 8,
): Promise<{ items: IncidentRow[]; hasMore: boolean }> {
  const rows = await openIncidentsPage(deps.db, {
    ...(hasBureauWideView(actor) ? {} : { officeUnitId: actor.unitId }),
    limit: pageSize + 1,
    offset: Math.max(0, page) * pageSize,
  });
  return { items: rows.slice(0, pageSize), hasMore: rows.length > pageSize };
}
