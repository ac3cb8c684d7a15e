/** Other counties involved in an incident (五(一)): one row per county named, with its notification's receipt. */
import { and, asc, eq, isNull } from 'drizzle-orm';
import type { Executor } from '../client.js';
import { countyNotifications, units } from '../schema.js';

export type CountyNotificationRow = typeof countyNotifications.$inferSelect;

/** The counties named on an incident, in the order named. */
export async function countiesOf(db: Executor, incidentId: string): Promise<CountyNotificationRow[]> {
  return db.select().from(countyNotifications).where(eq(countyNotifications.incidentId, incidentId)).orderBy(asc(countyNotifications.createdAt), asc(countyNotifications.county));
}

export async function findCountyNotification(db: Executor, id: string): Promise<CountyNotificationRow | undefined> {
  const [row] = await db.select().from(countyNotifications).where(eq(countyNotifications.id, id));
  return row;
}

/** Locks a county's row for the rest of the transaction, so it is notified once. */
export async function lockCountyNotification(db: Executor, id: string): Promise<CountyNotificationRow | undefined> {
  const [row] = await db.select().from(countyNotifications).where(eq(countyNotifications.id, id)).for('update');
  return row;
}

export async function insertCountyNotifications(db: Executor, incidentId: string, counties: readonly string[], now: Date): Promise<CountyNotificationRow[]> {
  if (counties.length === 0) return [];
  return db
    .insert(countyNotifications)
    .values(counties.map((county) => ({ incidentId, county, createdAt: now })))
    .returning();
}

export async function markCountyNotified(
  db: Executor,
  id: string,
  notice: { notifiedAt: Date; notifiedByStaffId: string; how: string; receipt: string },
): Promise<CountyNotificationRow | undefined> {
  const [row] = await db.update(countyNotifications).set(notice).where(eq(countyNotifications.id, id)).returning();
  return row;
}

/** How many of an incident's counties are still to be notified. */
export async function countUnnotifiedCounties(db: Executor, incidentId: string): Promise<number> {
  const rows = await db
    .select({ id: countyNotifications.id })
    .from(countyNotifications)
    .where(and(eq(countyNotifications.incidentId, incidentId), isNull(countyNotifications.notifiedAt)));
  return rows.length;
}

/** Other counties' justice bureaus known to the org file (units marked external), by code. */
export async function knownCounties(db: Executor): Promise<string[]> {
  const rows = await db.select({ name: units.name }).from(units).where(eq(units.external, true)).orderBy(asc(units.code));
  return rows.map((r) => r.name);
}
