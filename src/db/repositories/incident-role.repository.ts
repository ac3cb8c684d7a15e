/** HQ roles on an incident (三): commander, on-site command and the working groups, one row per holder. */
import { and, eq } from 'drizzle-orm';
import type { Executor } from '../client.js';
import { incidentRoles } from '../schema.js';

export type IncidentRoleRow = typeof incidentRoles.$inferSelect;

/** Who holds which role on the incident, in the order given. */
export async function rolesOf(db: Executor, incidentId: string): Promise<Array<{ role: string; staffId: string }>> {
  return db.select({ role: incidentRoles.role, staffId: incidentRoles.staffId }).from(incidentRoles).where(eq(incidentRoles.incidentId, incidentId)).orderBy(incidentRoles.at);
}

export async function findRoleAssignment(db: Executor, incidentId: string, role: string, staffId: string): Promise<{ id: string } | undefined> {
  const [row] = await db
    .select({ id: incidentRoles.id })
    .from(incidentRoles)
    .where(and(eq(incidentRoles.incidentId, incidentId), eq(incidentRoles.role, role), eq(incidentRoles.staffId, staffId)));
  return row;
}

export async function insertRoleAssignment(db: Executor, row: Omit<IncidentRoleRow, 'id'>): Promise<{ id: string }> {
  const [inserted] = await db.insert(incidentRoles).values(row).returning({ id: incidentRoles.id });
  return inserted!;
}

/** Takes a role from everyone who holds it on the incident; returns who they were. */
export async function removeRoleHolders(db: Executor, incidentId: string, role: string): Promise<string[]> {
  const rows = await db.delete(incidentRoles).where(and(eq(incidentRoles.incidentId, incidentId), eq(incidentRoles.role, role))).returning({ staffId: incidentRoles.staffId });
  return rows.map((r) => r.staffId);
}

export async function deleteRoleAssignment(db: Executor, id: string): Promise<void> {
  await db.delete(incidentRoles).where(eq(incidentRoles.id, id));
}
