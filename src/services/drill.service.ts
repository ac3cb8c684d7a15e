/**
 * Drills (演练, 七(二)). The section starts one: a real incident row flagged `is_drill`, reported through
 * the real use case so it runs through the real chain and timers (every timer and outbox row carries the
 * flag, so every message is marked 【演练】). Ending it evaluates each person's response times against the
 * deadlines and the steps missed, stops its timers, and closes it if the chain has not. Drills stay out of
 * the statistics and the register. Drills are also scheduled ahead (date, type, office): the daily run
 * starts each on its date, once. From the policy's month (the last quarter) the daily check reminds the
 * section of the offices with no drill held or scheduled in the calendar year (./drill-calendar.ts).
 */
import { loadIncidentTimeline } from '../db/read-models/incident-timeline.js';
import { appendAudit } from '../db/repositories/audit.repository.js';
import { drillForIncident, findDrill, insertDrill, lastDrillAt, lockDrill, updateDrill, type DrillRow } from '../db/repositories/drill.repository.js';
import {
  drillsStartedSince,
  findScheduledDrill,
  insertScheduledDrill,
  lockScheduledDrill,
  scheduledDrillsDueBy,
  upcomingScheduledDrills,
  updateScheduledDrill,
  type ScheduledDrillRow,
} from '../db/repositories/scheduled-drill.repository.js';
import { findIncident, lockIncident, updateIncident, type IncidentRow } from '../db/repositories/incident.repository.js';
import { actorFor, findStaffById, findUnit, firstUnitOfKind, listUnits, loadOrgSnapshot, sectionUnitId } from '../db/repositories/org.repository.js';
import { enqueueNotices } from '../db/repositories/outbox.repository.js';
import { cancelTimers } from '../db/repositories/timer.repository.js';
import { findUnitsByIds } from '../db/repositories/unit.repository.js';
import { staffNamesById } from '../db/repositories/staff.repository.js';
import { t, type Lang } from '../i18n/index.js';
import { evaluateDrill, type DrillEvaluation } from '../domain/drill.js';
import { checkDrillDate, decideScheduledDrill, officesDueForDrill, type ScheduledDrillState } from '../domain/drill-calendar.js';
import { cardHolders } from '../db/repositories/card-message.repository.js';
import { cardRedrawsFor } from './notices.js';
import { DRILL_NUMBER_PREFIX } from '../domain/incident-number.js';
import { isOpen, type IncidentStatus } from '../domain/incident-state.js';
import { criticalityOf, INCIDENT_TYPE_INFO, isEpidemicScenario, type EpidemicScenario, type IncidentType } from '../domain/incident-types.js';
import { resolveTarget } from '../domain/notifications.js';
import { findStepUnder } from '../domain/plan-variants.js';
import type { EscalationPolicy } from '../domain/policy.js';
import { TIMER_KINDS } from '../domain/policy.js';
import { isLeader, isSection, type Actor } from '../domain/roles.js';
import { atLocalTime, localDate, parseLocalDate } from '../domain/time.js';
import { renderDrillEvaluationDocx } from '../reports/docx/drill-evaluation.docx.js';
import { ServiceRefusal } from './errors.js';
import { reportIncident } from './incident.service.js';
import { emptyChange, type CommittedChange, type ServiceDeps } from './ports.js';

export interface StartDrillInput {
  type: IncidentType;
  scenario?: EpidemicScenario | null;
  /** The office the scenario happens at; its staff respond as in a real incident. */
  officeUnitId: string;
  /**
   * A key (a uuid) that makes the start idempotent: started again with the same key by the same person,
   * the drill already started is returned (a scheduled drill's start uses its row's id).
   */
  submissionKey?: string;
}

function canRunDrills(actor: Actor): boolean {
  return isSection(actor);
}

/**
 * Starts a drill: reports the scenario as an incident with `isDrill: true` (the section is the reporter,
 * the office named responds), then records the drill. Two transactions: the report use case owns its
 * own; a drill row that failed to write is found again by its incident (drillForIncident).
 */
export async function startDrill(deps: ServiceDeps, actor: Actor, input: StartDrillInput): Promise<{ drill: DrillRow; incident: IncidentRow }> {
  if (!canRunDrills(actor)) throw new ServiceRefusal('not_permitted');
  if (input.type === 'epidemic' && !input.scenario) throw new ServiceRefusal('invalid_input', 'scenario');
  criticalityOf(input.type, input.scenario ?? null);
  const now = deps.clock.now();
  const typeName = INCIDENT_TYPE_INFO[input.type].name.zh;
  const { incident } = await reportIncident(deps, actor, {
    type: input.type,
    scenario: input.type === 'epidemic' ? (input.scenario ?? null) : null,
    officeUnitId: input.officeUnitId,
    discoveredAt: now,
    injured: 0,
    dead: 0,
    subjectNote: t('zh', 'drill.subject_note'),
    description: t('zh', 'drill.description', { type: typeName }),
    isDrill: true,
    ...(input.submissionKey ? { submissionKey: input.submissionKey } : {}),
  });
  const drill = await deps.db.transaction(async (tx) => {
    // The incident's lock orders two starts with one key: the second finds the first's drill row.
    await lockIncident(tx, incident.id);
    const earlier = input.submissionKey ? await drillForIncident(tx, incident.id) : undefined;
    if (earlier) return earlier;
    const row = await insertDrill(tx, { incidentId: incident.id, type: input.type, startedByStaffId: actor.staffId, startedAt: now });
    await appendAudit(tx, {
      at: now,
      action: 'drill.started',
      entity: 'drill',
      entityId: row.id,
      incidentId: incident.id,
      actorStaffId: actor.staffId,
      data: { type: input.type, scenario: input.scenario ?? null, officeUnitId: input.officeUnitId },
    });
    return row;
  });
  return { drill, incident };
}

/**
 * Ends a drill: evaluates it from its timeline as it stands, cancels its remaining timers, and closes the
 * incident if the chain has not (a drill ends when the section says so, whatever stage it reached; the
 * close rules for real incidents — cause, lessons, measures — do not apply to an exercise).
 */
export async function endDrill(deps: ServiceDeps, actor: Actor, drillId: string): Promise<{ drill: DrillRow; evaluation: DrillEvaluation }> {
  if (!canRunDrills(actor)) throw new ServiceRefusal('not_permitted');
  const now = deps.clock.now();
  const result = await deps.db.transaction(async (tx) => {
    const drill = await lockDrill(tx, drillId);
    if (!drill || !drill.incidentId) throw new ServiceRefusal('not_found');
    if (drill.endedAt) throw new ServiceRefusal('already_done');
    const incident = await lockIncident(tx, drill.incidentId);
    if (!incident || !incident.isDrill) throw new ServiceRefusal('not_found');
    const timeline = (await loadIncidentTimeline(tx, incident.id))!;
    const evaluation = evaluateDrill(timeline, { startedAt: drill.startedAt, endedAt: now, sectionUnitId: await sectionUnitId(tx) });
    const cancelled = await cancelTimers(tx, { incidentId: incident.id }, TIMER_KINDS, now);
    const ended = isOpen(incident.status as IncidentStatus)
      ? await updateIncident(tx, incident.id, { status: 'closed', closure: 'resolved', closedAt: now, closedByStaffId: actor.staffId }, now)
      : incident;
    const saved = await updateDrill(tx, drillId, { endedAt: now, evaluation });
    // Every card of the drill is redrawn ended: no deadline and no button is left on any of them.
    const outbox = await enqueueNotices(tx, cardRedrawsFor(await cardHolders(tx, incident.id), ended, 'card_redraw', `drill-ended-v${ended.version}`, []));
    await appendAudit(tx, {
      at: now,
      action: 'drill.ended',
      entity: 'drill',
      entityId: drillId,
      incidentId: incident.id,
      actorStaffId: actor.staffId,
      data: { summary: evaluation.summary, closedByDrillEnd: isOpen(incident.status as IncidentStatus) },
    });
    const change: CommittedChange = { ...emptyChange(), timersCancelled: cancelled, outboxCreated: outbox };
    return { drill: saved, evaluation, change };
  });
  await deps.dispatcher.afterCommit(result.change);
  return { drill: result.drill, evaluation: result.evaluation };
}

/** The evaluation as an official .docx. */
export async function exportDrillEvaluationDocx(
  deps: Pick<ServiceDeps, 'db' | 'timeZone'>,
  actor: Actor,
  drillId: string,
  lang: Lang = 'zh',
): Promise<{ filename: string; data: Buffer }> {
  if (!isSection(actor) && !isLeader(actor)) throw new ServiceRefusal('not_permitted');
  const drill = await findDrill(deps.db, drillId);
  if (!drill || !drill.incidentId) throw new ServiceRefusal('not_found');
  if (!drill.evaluation) throw new ServiceRefusal('wrong_status', 'not ended');
  const evaluation = drill.evaluation as DrillEvaluation;
  const incident = await findIncident(deps.db, drill.incidentId);
  const ids = new Set<string>();
  for (const p of evaluation.people) ids.add(p.staffId);
  for (const f of evaluation.findings) if (f.staffId) ids.add(f.staffId);
  const unitIds = new Set(evaluation.findings.map((f) => f.unitId).filter((x): x is string => !!x));
  const [people, unitRows, bureau] = await Promise.all([staffNamesById(deps.db, [...ids]), findUnitsByIds(deps.db, [...unitIds]), firstUnitOfKind(deps.db, 'bureau')]);
  const names = new Map<string, string>([...people, ...unitRows.map((u) => [u.id, (lang === 'en' ? u.nameEn : null) ?? u.name] as const)]);
  const type = incident!.type as IncidentType;
  const scenario = (incident!.scenario as EpidemicScenario | null) ?? null;
  const data = await renderDrillEvaluationDocx({
    lang,
    timeZone: deps.timeZone,
    authority: (lang === 'en' ? bureau?.nameEn : null) ?? bureau?.name ?? '',
    incidentNumber: incident!.number,
    type,
    scenario,
    evaluation,
    names,
    stepText: (key) => findStepUnder(incident!.policy as EscalationPolicy, type, scenario, key)?.text[lang] ?? key,
  });
  // The file name keeps to ASCII (演练2026-0001 → 2026-0001): every mail client and phone takes it.
  return { filename: `drill-evaluation-${incident!.number.replace(DRILL_NUMBER_PREFIX, '')}.docx`, data };
}

/**
 * The daily check (七(二), 每年不少于一次), by calendar year: from the policy's reminder month, when an
 * office has no drill started this year and none scheduled for the rest of it, each section holder gets
 * a `drill_reminder` naming those offices, at most once a calendar month. Returns whether one was due.
 * Called from the daily checks.
 */
export async function checkDrillReminder(deps: ServiceDeps): Promise<{ due: boolean; outboxCreated: number }> {
  const now = deps.clock.now();
  const today = localDate(now, deps.timeZone);
  const policy = await deps.policy();
  const year = parseLocalDate(today).year;
  const [offices, held, scheduled, last] = await Promise.all([
    listUnits(deps.db, 'office'),
    drillsStartedSince(deps.db, atLocalTime(`${year}-01-01`, '00:00', deps.timeZone)),
    upcomingScheduledDrills(deps.db, today, 1000),
    lastDrillAt(deps.db),
  ]);
  const due = officesDueForDrill(
    offices.map((u) => u.id),
    held.map((d) => ({ officeUnitId: d.officeUnitId, startedOn: localDate(d.startedAt, deps.timeZone) })),
    scheduled.map((d) => ({ officeUnitId: d.officeUnitId, date: d.drillDate })),
    today,
    policy,
  );
  if (due.length === 0) return { due: false, outboxCreated: 0 };
  const month = today.slice(0, 7);
  const rows = await deps.db.transaction(async (tx) => {
    const org = await loadOrgSnapshot(tx);
    const recipients = resolveTarget({ kind: 'position', position: 'section', scope: 'bureau' }, { officeUnitId: null }, org);
    return enqueueNotices(
      tx,
      recipients.map((recipientStaffId) => ({
        recipientStaffId,
        kind: 'drill_reminder' as const,
        dedupeKey: `drill_reminder-${month}-${recipientStaffId}`,
        // Values only: the renderer writes the text in the recipient's language when it is sent.
        params: { lastDrillAt: last ? last.toISOString() : null, year, officeUnitIds: due },
      })),
    );
  });
  await deps.dispatcher.afterCommit({ ...emptyChange(), outboxCreated: rows });
  return { due: true, outboxCreated: rows.length };
}

// ---------------------------------------------------------------------------------------------
// Drills on the calendar: scheduled ahead by the section, started on their date by the daily run.

export interface ScheduleDrillInput {
  /** The local date it starts, `YYYY-MM-DD`; it starts at the policy's time that day. */
  date: string;
  type: IncidentType;
  scenario?: EpidemicScenario | null;
  officeUnitId: string;
}

/** Schedules a drill: the section only, a date to come, an office of the bureau. */
export async function scheduleDrill(deps: ServiceDeps, actor: Actor, input: ScheduleDrillInput): Promise<ScheduledDrillRow> {
  if (!canRunDrills(actor)) throw new ServiceRefusal('not_permitted');
  if (!Object.hasOwn(INCIDENT_TYPE_INFO, input.type)) throw new ServiceRefusal('invalid_input', 'type');
  if (input.type === 'epidemic' && !(input.scenario && isEpidemicScenario(input.scenario))) throw new ServiceRefusal('invalid_input', 'scenario');
  const now = deps.clock.now();
  const policy = await deps.policy();
  const check = checkDrillDate(input.date, now, policy, deps.timeZone);
  if (!check.ok) throw new ServiceRefusal('invalid_input', `date_${check.reason}`);
  const office = await findUnit(deps.db, input.officeUnitId);
  if (!office || office.kind !== 'office') throw new ServiceRefusal('invalid_input', 'office');
  return deps.db.transaction(async (tx) => {
    const row = await insertScheduledDrill(tx, {
      drillDate: input.date,
      type: input.type,
      scenario: input.type === 'epidemic' ? (input.scenario ?? null) : null,
      officeUnitId: input.officeUnitId,
      scheduledByStaffId: actor.staffId,
      scheduledAt: now,
    });
    await appendAudit(tx, {
      at: now,
      action: 'drill.scheduled',
      entity: 'scheduled_drill',
      entityId: row.id,
      actorStaffId: actor.staffId,
      data: { date: input.date, type: input.type, scenario: row.scenario, officeUnitId: input.officeUnitId },
    });
    return row;
  });
}

/** Cancels a scheduled drill that has not started; the section only. */
export async function cancelScheduledDrill(deps: ServiceDeps, actor: Actor, scheduledDrillId: string): Promise<ScheduledDrillRow> {
  if (!canRunDrills(actor)) throw new ServiceRefusal('not_permitted');
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    const row = await lockScheduledDrill(tx, scheduledDrillId);
    if (!row) throw new ServiceRefusal('not_found');
    if (row.state !== 'scheduled') throw new ServiceRefusal('already_done');
    const saved = await updateScheduledDrill(tx, row.id, { state: 'cancelled' satisfies ScheduledDrillState, cancelledAt: now, cancelledByStaffId: actor.staffId });
    await appendAudit(tx, { at: now, action: 'drill.schedule_cancelled', entity: 'scheduled_drill', entityId: row.id, actorStaffId: actor.staffId, data: { date: row.drillDate } });
    return saved;
  });
}

/** The drills to come (today's not yet started among them), soonest first: the section and the leaders see them. */
export async function listScheduledDrills(deps: Pick<ServiceDeps, 'db' | 'clock' | 'timeZone'>, actor: Actor): Promise<ScheduledDrillRow[]> {
  if (!isSection(actor) && !isLeader(actor)) throw new ServiceRefusal('not_permitted');
  return upcomingScheduledDrills(deps.db, localDate(deps.clock.now(), deps.timeZone));
}

export interface DueDrillsResult {
  started: Array<{ scheduledDrillId: string; drillId: string; incidentId: string; late: boolean }>;
  missed: string[];
  /** Due but nobody of the section could report it (no section holder is active): tried again on the next run. */
  noStarter: string[];
}

/**
 * Starts every scheduled drill whose day and time have come, through the drill use case (the same
 * chain, timers and 【演练】 notices as a drill started by hand). Idempotent: a drill is started once
 * however often this runs — the row's state moves forward under its lock, and the start itself is keyed
 * by the row's id, so a run that died after reporting it completes it without a second incident. A day
 * missed while no worker ran is caught up on the next run (at start, or the next day), up to the
 * policy's `catchUpDays`; older ones are recorded as missed and the yearly reminder takes over.
 */
export async function startDueDrills(deps: ServiceDeps): Promise<DueDrillsResult> {
  const now = deps.clock.now();
  const policy = await deps.policy();
  const result: DueDrillsResult = { started: [], missed: [], noStarter: [] };
  const failures: unknown[] = [];
  for (const due of await scheduledDrillsDueBy(deps.db, localDate(now, deps.timeZone))) {
    const decision = decideScheduledDrill({ date: due.drillDate, state: due.state as ScheduledDrillState }, now, policy, deps.timeZone);
    if (decision.kind === 'wait' || decision.kind === 'done') continue;
    if (decision.kind === 'missed') {
      const marked = await deps.db.transaction(async (tx) => {
        const row = await lockScheduledDrill(tx, due.id);
        if (!row || row.state !== 'scheduled') return false;
        await updateScheduledDrill(tx, row.id, { state: 'missed' satisfies ScheduledDrillState });
        await appendAudit(tx, { at: now, action: 'drill.schedule_missed', entity: 'scheduled_drill', entityId: row.id, data: { date: row.drillDate, daysLate: decision.daysLate } });
        return true;
      });
      if (marked) result.missed.push(due.id);
      continue;
    }
    try {
      const started = await startScheduledDrill(deps, due.id, decision.late);
      if (started === 'no_starter') result.noStarter.push(due.id);
      else if (started) result.started.push({ scheduledDrillId: due.id, ...started, late: decision.late });
    } catch (err) {
      failures.push(err);
    }
  }
  // One drill that cannot start does not hold up the others; the run is retried for it.
  if (failures.length) throw new AggregateError(failures, `${failures.length} scheduled drill(s) could not start`);
  return result;
}

async function startScheduledDrill(deps: ServiceDeps, id: string, late: boolean): Promise<{ drillId: string; incidentId: string } | 'no_starter' | undefined> {
  const now = deps.clock.now();
  // 1. Claim it, fixing who it is reported as, so a second try reports as the same person (the key's owner).
  const claimed = await deps.db.transaction(async (tx) => {
    const row = await lockScheduledDrill(tx, id);
    if (!row || (row.state !== 'scheduled' && row.state !== 'starting')) return undefined;
    const starter = row.starterStaffId ?? (await sectionStarter(tx, row));
    if (!starter) return 'no_starter' as const;
    if (row.state === 'scheduled') await updateScheduledDrill(tx, row.id, { state: 'starting' satisfies ScheduledDrillState, starterStaffId: starter });
    return { row, starter };
  });
  if (!claimed || claimed === 'no_starter') return claimed;
  const staff = await findStaffById(deps.db, claimed.starter);
  if (!staff) return undefined;
  const seated = await actorFor(deps.db, staff);
  // The section decided this drill when it scheduled it; the person it is reported as keeps the part
  // even if they left the section since the start was begun (the report's key is theirs).
  const actor = isSection(seated) ? seated : { ...seated, positions: [...seated.positions, 'section' as const] };
  const { row } = claimed;
  // 2. The drill, as the section starts one by hand; keyed by the row, so it is reported once.
  const { drill, incident } = await startDrill(deps, actor, {
    type: row.type as IncidentType,
    scenario: (row.scenario as EpidemicScenario | null) ?? null,
    officeUnitId: row.officeUnitId,
    submissionKey: row.id,
  });
  // 3. Recorded as started.
  await deps.db.transaction(async (tx) => {
    const current = await lockScheduledDrill(tx, id);
    if (!current || current.state !== 'starting') return;
    await updateScheduledDrill(tx, id, { state: 'started' satisfies ScheduledDrillState, drillId: drill.id, incidentId: incident.id, startedAt: now });
    await appendAudit(tx, {
      at: now,
      action: 'drill.schedule_started',
      entity: 'scheduled_drill',
      entityId: id,
      incidentId: incident.id,
      actorStaffId: claimed.starter,
      data: { date: row.drillDate, drillId: drill.id, late },
    });
  });
  return { drillId: drill.id, incidentId: incident.id };
}

/**
 * Who a scheduled drill is reported as: whoever scheduled it while they are still of the section and
 * active, else the first section holder who is (a drill has a reporter, and the section starts drills).
 */
async function sectionStarter(tx: Parameters<Parameters<ServiceDeps['db']['transaction']>[0]>[0], row: ScheduledDrillRow): Promise<string | undefined> {
  const org = await loadOrgSnapshot(tx);
  const candidates = [row.scheduledByStaffId, ...org.seats.filter((s) => s.kind === 'section').flatMap((s) => [s.holderStaffId, s.actingStaffId])];
  for (const id of new Set(candidates)) {
    if (!id || !org.staff.get(id)?.active) continue;
    const staff = await findStaffById(tx, id);
    if (staff && isSection(await actorFor(tx, staff))) return id;
  }
  return undefined;
}

/** A scheduled drill by id, for the section and the leaders. */
export async function getScheduledDrill(deps: Pick<ServiceDeps, 'db'>, actor: Actor, id: string): Promise<ScheduledDrillRow> {
  if (!isSection(actor) && !isLeader(actor)) throw new ServiceRefusal('not_permitted');
  const row = await findScheduledDrill(deps.db, id);
  if (!row) throw new ServiceRefusal('not_found');
  return row;
}
