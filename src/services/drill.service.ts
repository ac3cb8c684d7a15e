/**
 * Drills (演练, 七(二)). The section starts one: a real incident row flagged `is_drill`, reported through
 * the real use case so it runs through the real chain and timers (every timer and outbox row carries the
 * flag, so every message is marked 【演练】). Ending it evaluates each person's response times against the
 * deadlines and the steps missed, stops its timers, and closes it if the chain has not. Drills stay out of
 * the statistics and the register. A daily check reminds the section when none has run in 11 months.
 */
import { loadIncidentTimeline } from '../db/read-models/incident-timeline.js';
import { appendAudit } from '../db/repositories/audit.repository.js';
import { findDrill, insertDrill, lastDrillAt, lockDrill, updateDrill, type DrillRow } from '../db/repositories/drill.repository.js';
import { findIncident, lockIncident, updateIncident, type IncidentRow } from '../db/repositories/incident.repository.js';
import { firstUnitOfKind, loadOrgSnapshot, sectionUnitId } from '../db/repositories/org.repository.js';
import { enqueueNotices } from '../db/repositories/outbox.repository.js';
import { cancelTimers } from '../db/repositories/timer.repository.js';
import { findUnitsByIds } from '../db/repositories/unit.repository.js';
import { staffNamesById } from '../db/repositories/staff.repository.js';
import { t, type Lang } from '../i18n/index.js';
import { drillReminderDue, evaluateDrill, type DrillEvaluation } from '../domain/drill.js';
import { cardHolders } from '../db/repositories/card-message.repository.js';
import { cardRedrawsFor } from './notices.js';
import { DRILL_NUMBER_PREFIX } from '../domain/incident-number.js';
import { isOpen, type IncidentStatus } from '../domain/incident-state.js';
import { criticalityOf, INCIDENT_TYPE_INFO, type EpidemicScenario, type IncidentType } from '../domain/incident-types.js';
import { resolveTarget } from '../domain/notifications.js';
import { findPlaybookStep } from '../domain/playbooks.js';
import { TIMER_KINDS } from '../domain/policy.js';
import { isLeader, isSection, type Actor } from '../domain/roles.js';
import { localDate } from '../domain/time.js';
import { renderDrillEvaluationDocx } from '../reports/docx/drill-evaluation.docx.js';
import { ServiceRefusal } from './errors.js';
import { reportIncident } from './incident.service.js';
import { emptyChange, type CommittedChange, type ServiceDeps } from './ports.js';

export interface StartDrillInput {
  type: IncidentType;
  scenario?: EpidemicScenario | null;
  /** The office the scenario happens at; its staff respond as in a real incident. */
  officeUnitId: string;
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
  });
  const drill = await deps.db.transaction(async (tx) => {
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
    stepText: (key) => findPlaybookStep(type, scenario, key)?.text[lang] ?? key,
  });
  // The file name keeps to ASCII (演练2026-0001 → 2026-0001): every mail client and phone takes it.
  return { filename: `drill-evaluation-${incident!.number.replace(DRILL_NUMBER_PREFIX, '')}.docx`, data };
}

/**
 * The daily check (七(二), at least one drill a year): when no drill began in the last 11 months, each
 * section holder gets a `drill_reminder`, at most once a calendar month. Returns whether one was due.
 * Call it from the daily scheduler.
 */
export async function checkDrillReminder(deps: ServiceDeps): Promise<{ due: boolean; outboxCreated: number }> {
  const now = deps.clock.now();
  const last = await lastDrillAt(deps.db);
  if (!drillReminderDue(last, now)) return { due: false, outboxCreated: 0 };
  const month = localDate(now, deps.timeZone).slice(0, 7);
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
        params: { lastDrillAt: last ? last.toISOString() : null },
      })),
    );
  });
  await deps.dispatcher.afterCommit({ ...emptyChange(), outboxCreated: rows });
  return { due: true, outboxCreated: rows.length };
}
