/** Public information releases (对外发布, 五(三)) and the history of their send-backs. */
import { desc, eq, inArray } from 'drizzle-orm';
import type { Executor } from '../client.js';
import { publicReleases, releaseSendBacks } from '../schema.js';

export type ReleaseRow = typeof publicReleases.$inferSelect;
export type NewReleaseRow = typeof publicReleases.$inferInsert;
export type ReleaseSendBackRow = typeof releaseSendBacks.$inferSelect;

export async function insertRelease(db: Executor, row: NewReleaseRow): Promise<ReleaseRow> {
  const [inserted] = await db.insert(publicReleases).values(row).returning();
  return inserted!;
}

export async function findRelease(db: Executor, id: string): Promise<ReleaseRow | undefined> {
  const [row] = await db.select().from(publicReleases).where(eq(publicReleases.id, id));
  return row;
}

/** Locks a release for the rest of the transaction, so its steps serialise. */
export async function lockRelease(db: Executor, id: string): Promise<ReleaseRow | undefined> {
  const [row] = await db.select().from(publicReleases).where(eq(publicReleases.id, id)).for('update');
  return row;
}

export async function updateRelease(db: Executor, id: string, patch: Partial<NewReleaseRow>): Promise<ReleaseRow> {
  const [row] = await db.update(publicReleases).set(patch).where(eq(publicReleases.id, id)).returning();
  return row!;
}

/** An incident's releases, the newest first. */
export async function releasesOf(db: Executor, incidentId: string): Promise<ReleaseRow[]> {
  return db.select().from(publicReleases).where(eq(publicReleases.incidentId, incidentId)).orderBy(desc(publicReleases.createdAt));
}

export async function insertSendBack(db: Executor, row: Omit<ReleaseSendBackRow, 'id'>): Promise<void> {
  await db.insert(releaseSendBacks).values(row);
}

/** A release's send-backs, the newest first. */
export async function sendBacksOf(db: Executor, releaseId: string): Promise<ReleaseSendBackRow[]> {
  return db.select().from(releaseSendBacks).where(eq(releaseSendBacks.releaseId, releaseId)).orderBy(desc(releaseSendBacks.id));
}

/** Releases in any of these states, the newest first: what waits on a reviewer, a leader or the section. */
export async function releasesInStates(db: Executor, states: readonly string[], limit: number): Promise<ReleaseRow[]> {
  if (states.length === 0) return [];
  return db.select().from(publicReleases).where(inArray(publicReleases.state, [...states])).orderBy(desc(publicReleases.createdAt)).limit(limit);
}
