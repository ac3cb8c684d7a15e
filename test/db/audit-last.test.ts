/**
 * The audit chain's lock is the last lock a transaction takes: a transaction's audit rows are written
 * in one insert just before it commits. So another writer's audit row does not wait for a transaction
 * that audited early and goes on working, and the interleaving that once deadlocked (the chain's lock,
 * then a row, against the row, then the chain's lock) now runs through without a retry.
 */
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendAudit, verifyAuditChain } from '../../src/db/repositories/audit.repository.js';
import { units } from '../../src/db/schema.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { seedOrg, type SeededOrg } from '../helpers/fixtures.js';

let t: TestDatabase;
let org: SeededOrg;
beforeAll(async () => {
  t = await createTestDatabase();
  org = await seedOrg(t.db);
});
afterAll(async () => t?.drop());

const at = new Date('2026-11-29T02:00:00Z');
const entry = (action: string) => ({ at, action, entity: 'test', entityId: action });
const auditCount = async (db: Parameters<typeof appendAudit>[0] = t.db) =>
  Number((await db.execute<{ n: string }>(sql`select count(*) as n from audit_log where entity = 'test'`))[0]!.n);

/** A gate the test opens by hand, to interleave two transactions step by step. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { open, opened };
}

describe('the audit chain lock, taken last', () => {
  it('writes a transaction\'s audit rows in one insert at its end, chained', async () => {
    const before = await auditCount();
    await t.db.transaction(async (tx) => {
      await appendAudit(tx, entry('one'));
      await appendAudit(tx, [entry('two'), entry('three')]);
      // Not written yet, not even as the transaction sees it.
      expect(await auditCount(tx)).toBe(before);
    });
    expect(await auditCount()).toBe(before + 3);
    const rows = await t.sql`select action, cmin::text as command from audit_log where entity = 'test' order by id desc limit 3`;
    expect(rows.map((r) => r.action).reverse()).toEqual(['one', 'two', 'three']);
    // One insert: the rows share the command that wrote them.
    expect(new Set(rows.map((r) => r.command)).size).toBe(1);
    expect(await verifyAuditChain(t.db)).toMatchObject({ ok: true });
  });

  it('a transaction rolled back leaves no audit row', async () => {
    const before = await auditCount();
    await expect(
      t.db.transaction(async (tx) => {
        await appendAudit(tx, entry('rolled back'));
        throw new Error('refused');
      }),
    ).rejects.toThrow('refused');
    expect(await auditCount()).toBe(before);
  });

  it('another writer\'s audit row does not wait for a transaction that audited early and is still working', async () => {
    const working = gate();
    const done = gate();
    const tx = t.db.transaction(async (tx) => {
      await appendAudit(tx, entry('early'));
      working.open();
      await done.opened;
    });
    await working.opened;
    const started = Date.now();
    await appendAudit(t.db, entry('meanwhile'));
    expect(Date.now() - started).toBeLessThan(1_000);
    done.open();
    await tx;
    expect(await verifyAuditChain(t.db)).toMatchObject({ ok: true });
  });

  it('the chain lock and a row in opposite orders no longer deadlock: each transaction runs once', async () => {
    const unit = org.units.officeA;
    const bodies = { a: 0, b: 0 };
    const aAudited = gate();
    const bLocked = gate();
    const a = t.db.transaction(async (tx) => {
      bodies.a++;
      await appendAudit(tx, entry('a audits first'));
      aAudited.open();
      await bLocked.opened;
      // Waits for B's row lock; before, A held the chain's lock here and B waited for it: a deadlock.
      await tx.update(units).set({ name: sql`${units.name}` }).where(eq(units.id, unit));
    });
    const b = t.db.transaction(async (tx) => {
      bodies.b++;
      await aAudited.opened;
      await tx.update(units).set({ name: sql`${units.name}` }).where(eq(units.id, unit));
      bLocked.open();
      await new Promise((r) => setTimeout(r, 100));
      await appendAudit(tx, entry('b audits after its row'));
    });
    await Promise.all([a, b]);
    expect(bodies).toEqual({ a: 1, b: 1 });
    expect(await verifyAuditChain(t.db)).toMatchObject({ ok: true });
  });
});
