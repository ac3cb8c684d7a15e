/**
 * 特殊敏感时间段 (type 十's sensitive periods), kept by the section: name, first and last day. Before each
 * (the policy's `remindDaysBefore` days), every officer and office head is reminded to check their
 * subjects, once per period. A type 十 report whose day falls in a period is linked to it: at report
 * time (incident.service), and, for a period added later, when it is added. The leaders may see the list.
 */
import type { Executor } from '../db/client.js';
import { appendAudit } from '../db/repositories/audit.repository.js';
import { loadOrgSnapshot } from '../db/repositories/org.repository.js';
import { enqueueNotices, type NoticeDraft } from '../db/repositories/outbox.repository.js';
import {
  claimPeriodReminder,
  currentSensitivePeriods,
  insertSensitivePeriod,
  linkIncidentToPeriod,
  lockSensitivePeriod,
  sensitivePeriodsCovering,
  unlinkedIncidentsOfType,
  updateSensitivePeriod,
  type SensitivePeriodRow,
} from '../db/repositories/sensitive-period.repository.js';
import { checkSensitivePeriod, periodCovers, periodOn, periodReminderDue } from '../domain/drill-calendar.js';
import { holdersOf, isLeader, isSection, type Actor } from '../domain/roles.js';
import { localDate } from '../domain/time.js';
import { ServiceRefusal } from './errors.js';
import { emptyChange, type ServiceDeps } from './ports.js';

/** The incident type a period is linked to: 十, 在特殊敏感时间段违规进入重要场所和设施. */
export const SENSITIVE_PERIOD_TYPE = 'sensitive_period_entry';

export interface SensitivePeriodInput {
  name: string;
  /** Local dates, `YYYY-MM-DD`, both included. */
  startsOn: string;
  endsOn: string;
}

/** The periods not over yet, soonest first: the section and the leaders see them. */
export async function listSensitivePeriods(deps: Pick<ServiceDeps, 'db' | 'clock' | 'timeZone'>, actor: Actor): Promise<SensitivePeriodRow[]> {
  if (!isSection(actor) && !isLeader(actor)) throw new ServiceRefusal('not_permitted');
  return currentSensitivePeriods(deps.db, localDate(deps.clock.now(), deps.timeZone));
}

/**
 * Adds a period (the section only). Type 十 reports already made on its days are linked to it; when its
 * reminder day has come already (a period added at short notice), the officers are reminded now.
 */
export async function addSensitivePeriod(deps: ServiceDeps, actor: Actor, input: SensitivePeriodInput): Promise<{ period: SensitivePeriodRow; linked: number; reminded: number }> {
  if (!isSection(actor)) throw new ServiceRefusal('not_permitted');
  const now = deps.clock.now();
  const today = localDate(now, deps.timeZone);
  const check = checkSensitivePeriod(input, today);
  if (!check.ok) throw new ServiceRefusal('invalid_input', check.reason);
  const { period, linked } = await deps.db.transaction(async (tx) => {
    const period = await insertSensitivePeriod(tx, { name: check.name, startsOn: input.startsOn, endsOn: input.endsOn, createdByStaffId: actor.staffId, createdAt: now });
    await appendAudit(tx, {
      at: now,
      action: 'sensitive_period.added',
      entity: 'sensitive_period',
      entityId: period.id,
      actorStaffId: actor.staffId,
      data: { startsOn: period.startsOn, endsOn: period.endsOn },
    });
    let linked = 0;
    for (const i of await unlinkedIncidentsOfType(tx, SENSITIVE_PERIOD_TYPE)) {
      if (!periodCovers(period, localDate(i.occurredAt ?? i.discoveredAt, deps.timeZone))) continue;
      if (await linkIncidentToPeriod(tx, i.id, period.id)) {
        await auditLink(tx, i.id, period, now);
        linked++;
      }
    }
    return { period, linked };
  });
  const policy = await deps.policy();
  const reminded = periodReminderDue(period, today, policy) ? (await remindSensitivePeriods(deps)).notices : 0;
  return { period, linked, reminded };
}

/** Removes a period (the section only). Incidents linked to it stay linked: what was, was. */
export async function removeSensitivePeriod(deps: ServiceDeps, actor: Actor, periodId: string): Promise<SensitivePeriodRow> {
  if (!isSection(actor)) throw new ServiceRefusal('not_permitted');
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    const period = await lockSensitivePeriod(tx, periodId);
    if (!period) throw new ServiceRefusal('not_found');
    if (period.removedAt) throw new ServiceRefusal('already_done');
    const saved = await updateSensitivePeriod(tx, period.id, { removedAt: now, removedByStaffId: actor.staffId });
    await appendAudit(tx, { at: now, action: 'sensitive_period.removed', entity: 'sensitive_period', entityId: period.id, actorStaffId: actor.staffId, data: {} });
    return saved;
  });
}

/**
 * The daily check: each period whose reminder day has come (and that has not ended) reminds every
 * officer and office head, once — the period's row records it in the same transaction, and each
 * notice's key is the period's and the person's, so a second or late run sends nothing twice.
 */
export async function remindSensitivePeriods(deps: ServiceDeps): Promise<{ periods: number; notices: number }> {
  const now = deps.clock.now();
  const today = localDate(now, deps.timeZone);
  const policy = await deps.policy();
  const due = (await currentSensitivePeriods(deps.db, today)).filter((p) => periodReminderDue(p, today, policy));
  let periods = 0;
  let notices = 0;
  for (const period of due) {
    const rows = await deps.db.transaction(async (tx) => {
      if (!(await claimPeriodReminder(tx, period.id, now))) return undefined;
      const org = await loadOrgSnapshot(tx);
      const recipients = [...new Set([...holdersOf('officer', org.seats, org.staff), ...holdersOf('office_head', org.seats, org.staff)])];
      const drafts: NoticeDraft[] = recipients.map((recipientStaffId) => ({
        recipientStaffId,
        kind: 'sensitive_period_reminder',
        dedupeKey: `sensitive_period_reminder-${period.id}-${recipientStaffId}`,
        params: { periodId: period.id },
      }));
      const written = await enqueueNotices(tx, drafts);
      await appendAudit(tx, { at: now, action: 'sensitive_period.reminded', entity: 'sensitive_period', entityId: period.id, data: { recipients: written.length, late: today > period.startsOn } });
      return written;
    });
    if (!rows) continue;
    periods++;
    notices += rows.length;
    await deps.dispatcher.afterCommit({ ...emptyChange(), outboxCreated: rows });
  }
  return { periods, notices };
}

/**
 * The period a type 十 report falls in, by the day it happened (else the day it was found), for the
 * report use case to store on the incident. Undefined for another type, or a day in no period.
 */
export async function sensitivePeriodForReport(tx: Executor, report: { type: string; occurredAt?: Date | null; discoveredAt: Date }, timeZone: string): Promise<SensitivePeriodRow | undefined> {
  if (report.type !== SENSITIVE_PERIOD_TYPE) return undefined;
  const day = localDate(report.occurredAt ?? report.discoveredAt, timeZone);
  return periodOn(await sensitivePeriodsCovering(tx, day), day);
}

/** The link in the incident's trail (its timeline): which period, by the product. */
export async function auditLink(tx: Executor, incidentId: string, period: Pick<SensitivePeriodRow, 'id' | 'startsOn' | 'endsOn'>, at: Date): Promise<void> {
  await appendAudit(tx, {
    at,
    action: 'incident.sensitive_period',
    entity: 'incident',
    entityId: incidentId,
    incidentId,
    data: { sensitivePeriodId: period.id, startsOn: period.startsOn, endsOn: period.endsOn },
  });
}
