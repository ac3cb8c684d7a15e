/**
 * The org snapshot (every seat, and every staff member's availability) is read by nearly every use case
 * and by every card draw: with a thousand staff, a thousand rows each time. A process that enabled the
 * cache keeps the last one read, per database, and hands it out while three things hold:
 * - the identity version (drizzle/0010: every change to staff, seats or units moves it, in the changing
 *   transaction, before its commit) is the one it was read at, so a change committed before the
 *   caller's query is never missed;
 * - the change listener (LISTEN/NOTIFY, told at commit) is live and has heard nothing since, which covers
 *   a change that was still committing while the snapshot was read;
 * - it is younger than its time to live.
 *
 * A snapshot is kept only when the transaction that read it has written nothing: one that changed a seat
 * and then rolled back would otherwise leave its own change behind, under a version that stays moved.
 */
import { sql as raw } from 'drizzle-orm';
import type postgres from 'postgres';
import type { OrgSnapshot } from '../domain/index.js';
import type { Executor } from './client.js';
import { identityChangesOf, type IdentityChanges } from './identity-changes.js';

/** How long a kept snapshot is handed out at most, in milliseconds. */
const KEPT_FOR_MS = 30_000;

interface Kept {
  snapshot: OrgSnapshot;
  version: number;
  generation: number;
  readAt: number;
}

interface DatabaseCache {
  changes: IdentityChanges;
  kept?: Kept;
}

/** By database (server port and name), so tests and tools with several databases in one process never mix them. */
const caches = new Map<string, DatabaseCache>();

const keyOf = (row: { port?: unknown; db?: unknown }) => `${String(row.port ?? '')}/${String(row.db ?? '')}`;

/** Keeps the org snapshot of the database `sql` is connected to, told of changes through `sql`'s own listener. */
export async function enableOrgSnapshotCache(sql: postgres.Sql): Promise<void> {
  const [row] = await sql`select current_database() as db, inet_server_port() as port`;
  // The latest client's listener: an earlier client of the same database may have ended.
  caches.set(keyOf(row ?? {}), { changes: identityChangesOf(sql) });
}

/** The org snapshot through the cache, or straight from `read` where no cache is enabled. */
export async function keptOrgSnapshot(db: Executor, read: (db: Executor) => Promise<OrgSnapshot>): Promise<OrgSnapshot> {
  if (caches.size === 0) return read(db);
  const rows = (await db.execute(
    raw`select (select last_value from identity_version) as version, pg_current_xact_id_if_assigned() is null as clean, current_database() as db, inet_server_port() as port`,
  )) as unknown as Array<{ version: unknown; clean: boolean; db: string; port: number | null }>;
  const row = rows[0];
  const cache = row ? caches.get(keyOf(row)) : undefined;
  if (!row || !cache) return read(db);
  const version = Number(row.version);
  const { changes, kept } = cache;
  if (kept && changes.live() && kept.generation === changes.generation() && kept.version === version && performance.now() - kept.readAt < KEPT_FOR_MS) {
    return kept.snapshot;
  }
  // Taken before the read: a change heard while it ran leaves its answer unkept.
  const generation = changes.generation();
  const live = changes.live();
  const readAt = performance.now();
  const snapshot = await read(db);
  if (row.clean && live && changes.live() && generation === changes.generation()) cache.kept = { snapshot, version, generation, readAt };
  return snapshot;
}

/** Forgets every kept snapshot and stops keeping them (tests). */
export function disableOrgSnapshotCache(): void {
  caches.clear();
}
