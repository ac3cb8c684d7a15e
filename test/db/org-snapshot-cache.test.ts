/**
 * The org snapshot kept in memory, on the real PostgreSQL: handed out again while nothing changed, read
 * afresh after any committed change to staff or seats (at once, without waiting for the listener), and
 * never kept from a transaction that wrote: a change rolled back leaves nothing behind.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { identityChangesOf } from '../../src/db/identity-changes.js';
import { disableOrgSnapshotCache, enableOrgSnapshotCache } from '../../src/db/org-snapshot-cache.js';
import { loadOrgSnapshot } from '../../src/db/repositories/org.repository.js';
import { staff } from '../../src/db/schema.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { seedOrg, type SeededOrg } from '../helpers/fixtures.js';

let db: TestDatabase;
let org: SeededOrg;

beforeAll(async () => {
  db = await createTestDatabase();
  org = await seedOrg(db.db);
});
afterAll(async () => {
  disableOrgSnapshotCache();
  await db?.drop();
});

async function listening(): Promise<void> {
  const changes = identityChangesOf(db.sql);
  const until = Date.now() + 5_000;
  while (!changes.live() && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  expect(changes.live()).toBe(true);
}

describe('the org snapshot cache', { shuffle: false }, () => {
  it('is off until enabled: every read is a new one', async () => {
    disableOrgSnapshotCache();
    expect(await loadOrgSnapshot(db.db)).not.toBe(await loadOrgSnapshot(db.db));
  });

  it('hands out the kept snapshot while nothing changed, in and out of transactions', async () => {
    await enableOrgSnapshotCache(db.sql);
    await listening();
    const first = await loadOrgSnapshot(db.db);
    expect(await loadOrgSnapshot(db.db)).toBe(first);
    expect(await db.db.transaction((tx) => loadOrgSnapshot(tx))).toBe(first);
  });

  it('reads afresh right after a committed change, before the listener has said a word', async () => {
    const before = await loadOrgSnapshot(db.db);
    expect(before.staff.get(org.staff.officerA1)?.away).toBe(false);
    await db.db.update(staff).set({ away: true }).where(eq(staff.id, org.staff.officerA1));
    const after = await loadOrgSnapshot(db.db);
    expect(after).not.toBe(before);
    expect(after.staff.get(org.staff.officerA1)?.away).toBe(true);
    await db.db.update(staff).set({ away: false }).where(eq(staff.id, org.staff.officerA1));
    expect((await loadOrgSnapshot(db.db)).staff.get(org.staff.officerA1)?.away).toBe(false);
  });

  it('a transaction sees its own change, and keeps nothing of it once rolled back', async () => {
    const committed = await loadOrgSnapshot(db.db);
    const rolledBack = new Error('rolled back on purpose');
    await expect(
      db.db.transaction(async (tx) => {
        await tx.update(staff).set({ reachable: false }).where(eq(staff.id, org.staff.headA));
        expect((await loadOrgSnapshot(tx)).staff.get(org.staff.headA)?.reachable).toBe(false);
        throw rolledBack;
      }),
    ).rejects.toBe(rolledBack);
    const after = await loadOrgSnapshot(db.db);
    expect(after.staff.get(org.staff.headA)?.reachable).toBe(true);
    expect(after.seats).toEqual(committed.seats);
    expect(await loadOrgSnapshot(db.db)).toBe(after);
  });

  it('keeps each database apart', async () => {
    const other = await createTestDatabase();
    try {
      await enableOrgSnapshotCache(other.sql);
      await loadOrgSnapshot(db.db);
      const empty = await loadOrgSnapshot(other.db);
      expect(empty.staff.size).toBe(0);
      expect((await loadOrgSnapshot(db.db)).staff.size).toBeGreaterThan(0);
    } finally {
      await other.drop();
    }
  });
});
