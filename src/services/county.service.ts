/**
 * Cross-county notification (五(一)): when other counties or districts are involved, their justice bureaus
 * are notified to assist. Each county named on an incident is a row; notifying it is a recorded step with
 * who, when, how and the receipt. The playbook step 通报相关县（市、区） follows: it applies once a county
 * is named and is done when every named county has been notified.
 */
import type { Executor } from '../db/client.js';
import { appendAudit } from '../db/repositories/audit.repository.js';
import {
  countiesOf,
  countUnnotifiedCounties,
  insertCountyNotifications,
  lockCountyNotification,
  markCountyNotified,
  type CountyNotificationRow,
} from '../db/repositories/county.repository.js';
import { lockIncident, updateIncident, updateStepInState } from '../db/repositories/incident.repository.js';
import { canHandleIncident, canMarkStep, canSeeOffice, type Actor } from '../domain/roles.js';
import { ServiceRefusal } from './errors.js';
import type { ServiceDeps } from './ports.js';

const STEP_KEY = 'notify_other_counties';
const MAX_COUNTY_CHARS = 60;
const MAX_RECEIPT_CHARS = 500;

/** Cleans a list of county names: trimmed, non-empty, each once. */
export function normaliseCounties(names: readonly string[]): string[] {
  const out: string[] = [];
  for (const raw of names) {
    const n = raw.trim().replace(/\s+/g, ' ');
    if (n === '') continue;
    if (n.length > MAX_COUNTY_CHARS) throw new ServiceRefusal('invalid_input', 'county');
    if (!out.includes(n)) out.push(n);
  }
  return out;
}

/**
 * Names counties on an incident inside the caller's transaction (the report use case can call it with
 * IncidentReport.otherCounties). Counties already named are skipped; the county step becomes pending if
 * it had been set aside because no county was involved.
 */
export async function nameCountiesTx(tx: Executor, incidentId: string, counties: readonly string[], actorStaffId: string, now: Date): Promise<CountyNotificationRow[]> {
  const wanted = normaliseCounties(counties);
  if (wanted.length === 0) return [];
  const existing = await countiesOf(tx, incidentId);
  const fresh = wanted.filter((c) => !existing.some((e) => e.county === c));
  if (fresh.length === 0) return [];
  const rows = await insertCountyNotifications(tx, incidentId, fresh, now);
  await updateStepInState(tx, incidentId, STEP_KEY, 'not_applicable', { state: 'pending', naReason: null, doneAt: null, doneByStaffId: null });
  // A step done for earlier counties is open again for the new ones.
  await updateStepInState(tx, incidentId, STEP_KEY, 'done', { state: 'pending', doneAt: null, doneByStaffId: null });
  await appendAudit(tx, {
    at: now,
    action: 'county.named',
    entity: 'incident',
    entityId: incidentId,
    incidentId,
    actorStaffId,
    data: { notificationIds: rows.map((r) => r.id), counties: rows.map((r) => r.county) },
  });
  return rows;
}

/** Names other counties involved in an incident. */
export async function nameCounties(deps: ServiceDeps, actor: Actor, incidentId: string, counties: readonly string[]): Promise<CountyNotificationRow[]> {
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    const incident = await lockIncident(tx, incidentId);
    if (!incident || !canSeeOffice(actor, incident.officeUnitId)) throw new ServiceRefusal('not_found');
    if (!canHandleIncident(actor, incident.officeUnitId)) throw new ServiceRefusal('not_permitted');
    if (incident.status === 'report_approved') throw new ServiceRefusal('wrong_status');
    const rows = await nameCountiesTx(tx, incidentId, counties, actor.staffId, now);
    if (rows.length === 0) throw new ServiceRefusal('already_done');
    await updateIncident(tx, incidentId, {}, now);
    return rows;
  });
}

export interface CountyReceipt {
  /** How it was sent: phone, fax, official letter, the inter-agency system… */
  how: string;
  /** The receipt: who received it, a receipt number. */
  receipt: string;
}

/**
 * Records that a county was notified, with the receipt. The section notifies (the step is the section's);
 * when no named county is left unnotified, the county step is done.
 */
export async function recordCountyNotified(deps: ServiceDeps, actor: Actor, notificationId: string, input: CountyReceipt): Promise<CountyNotificationRow> {
  const how = input.how.trim();
  const receipt = input.receipt.trim();
  if (how === '' || how.length > MAX_RECEIPT_CHARS) throw new ServiceRefusal('invalid_input', 'how');
  if (receipt === '' || receipt.length > MAX_RECEIPT_CHARS) throw new ServiceRefusal('invalid_input', 'receipt');
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    const row = await lockCountyNotification(tx, notificationId);
    if (!row) throw new ServiceRefusal('not_found');
    const incident = await lockIncident(tx, row.incidentId);
    if (!incident || !canSeeOffice(actor, incident.officeUnitId)) throw new ServiceRefusal('not_found');
    if (!canMarkStep(actor, incident.officeUnitId, 'section')) throw new ServiceRefusal('not_permitted');
    if (row.notifiedAt) throw new ServiceRefusal('already_done');
    const saved = await markCountyNotified(tx, notificationId, { notifiedAt: now, notifiedByStaffId: actor.staffId, how, receipt });
    const left = await countUnnotifiedCounties(tx, row.incidentId);
    if (left === 0) {
      await updateStepInState(tx, row.incidentId, STEP_KEY, 'pending', { state: 'done', doneAt: now, doneByStaffId: actor.staffId, how: 'county_notifications' });
    }
    await updateIncident(tx, row.incidentId, {}, now);
    await appendAudit(tx, {
      at: now,
      action: 'county.notified',
      entity: 'county_notification',
      entityId: notificationId,
      incidentId: row.incidentId,
      actorStaffId: actor.staffId,
      data: { county: row.county, how, allNotified: left === 0 },
    });
    return saved!;
  });
}
