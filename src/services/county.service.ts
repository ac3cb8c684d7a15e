/**
 * Cross-county notification (五(一)): when other counties or districts are involved, their justice bureaus
 * are notified to assist. Each county named on an incident is a row; notifying it is a recorded step with
 * who, when, how and the receipt. The playbook step 通报相关县（市、区） follows: it applies once a county
 * is named and is done when every named county has been notified.
 */
import { and, asc, eq, isNull } from 'drizzle-orm';
import type { Executor } from '../db/client.js';
import { appendAudit } from '../db/repositories/audit.repository.js';
import { lockIncident, updateIncident } from '../db/repositories/incident.repository.js';
import { countyNotifications, incidentSteps, units } from '../db/schema.js';
import { canHandleIncident, canMarkStep, canSeeOffice, type Actor } from '../domain/roles.js';
import { ServiceRefusal } from './errors.js';
import type { ServiceDeps } from './ports.js';

export type CountyNotificationRow = typeof countyNotifications.$inferSelect;

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
  const existing = await tx.select({ county: countyNotifications.county }).from(countyNotifications).where(eq(countyNotifications.incidentId, incidentId));
  const fresh = wanted.filter((c) => !existing.some((e) => e.county === c));
  if (fresh.length === 0) return [];
  const rows = await tx
    .insert(countyNotifications)
    .values(fresh.map((county) => ({ incidentId, county, createdAt: now })))
    .returning();
  await tx
    .update(incidentSteps)
    .set({ state: 'pending', naReason: null, doneAt: null, doneByStaffId: null })
    .where(and(eq(incidentSteps.incidentId, incidentId), eq(incidentSteps.key, STEP_KEY), eq(incidentSteps.state, 'not_applicable')));
  // A step done for earlier counties is open again for the new ones.
  await tx
    .update(incidentSteps)
    .set({ state: 'pending', doneAt: null, doneByStaffId: null })
    .where(and(eq(incidentSteps.incidentId, incidentId), eq(incidentSteps.key, STEP_KEY), eq(incidentSteps.state, 'done')));
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
    const [row] = await tx.select().from(countyNotifications).where(eq(countyNotifications.id, notificationId)).for('update');
    if (!row) throw new ServiceRefusal('not_found');
    const incident = await lockIncident(tx, row.incidentId);
    if (!incident || !canSeeOffice(actor, incident.officeUnitId)) throw new ServiceRefusal('not_found');
    if (!canMarkStep(actor, incident.officeUnitId, 'section')) throw new ServiceRefusal('not_permitted');
    if (row.notifiedAt) throw new ServiceRefusal('already_done');
    const [saved] = await tx
      .update(countyNotifications)
      .set({ notifiedAt: now, notifiedByStaffId: actor.staffId, how, receipt })
      .where(eq(countyNotifications.id, notificationId))
      .returning();
    const left = await tx
      .select({ id: countyNotifications.id })
      .from(countyNotifications)
      .where(and(eq(countyNotifications.incidentId, row.incidentId), isNull(countyNotifications.notifiedAt)));
    if (left.length === 0) {
      await tx
        .update(incidentSteps)
        .set({ state: 'done', doneAt: now, doneByStaffId: actor.staffId, how: 'county_notifications' })
        .where(and(eq(incidentSteps.incidentId, row.incidentId), eq(incidentSteps.key, STEP_KEY), eq(incidentSteps.state, 'pending')));
    }
    await updateIncident(tx, row.incidentId, {}, now);
    await appendAudit(tx, {
      at: now,
      action: 'county.notified',
      entity: 'county_notification',
      entityId: notificationId,
      incidentId: row.incidentId,
      actorStaffId: actor.staffId,
      data: { county: row.county, how, allNotified: left.length === 0 },
    });
    return saved!;
  });
}

export async function countiesOf(db: Executor, incidentId: string): Promise<CountyNotificationRow[]> {
  return db.select().from(countyNotifications).where(eq(countyNotifications.incidentId, incidentId)).orderBy(asc(countyNotifications.createdAt), asc(countyNotifications.county));
}

/** Other counties' justice bureaus known to the org file (units marked external), to offer as choices. */
export async function knownCounties(db: Executor): Promise<string[]> {
  const rows = await db.select({ name: units.name }).from(units).where(eq(units.external, true)).orderBy(asc(units.code));
  return rows.map((r) => r.name);
}
