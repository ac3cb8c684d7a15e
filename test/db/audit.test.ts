/**
 * The audit trail is append-only (the database refuses UPDATE, DELETE and TRUNCATE) and hash-chained:
 * a row changed behind the trigger's back is found, and named, by `audit verify`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAudit } from '../../src/admin/audit-verify.js';
import { appendAudit, verifyAuditChain } from '../../src/db/repositories/audit.repository.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { runCliProcess } from '../cli/run-cli.js';

let t: TestDatabase;
let ids: number[];

beforeAll(async () => {
  t = await createTestDatabase();
  const at = new Date('2026-11-29T02:00:00Z');
  for (let i = 0; i < 5; i++) {
    await appendAudit(t.db, { at: new Date(at.getTime() + i * 1000), action: 'test.entry', entity: 'test', entityId: String(i), data: { n: i } });
  }
  ids = (await t.sql`select id from audit_log order by id`).map((r) => Number(r.id));
});
afterAll(async () => t?.drop());

/** Changes the trail the way an intruder with table rights would: with the guard trigger switched off. */
async function tamper(statement: string): Promise<void> {
  await t.sql.unsafe('alter table audit_log disable trigger audit_log_append_only');
  try {
    await t.sql.unsafe(statement);
  } finally {
    await t.sql.unsafe('alter table audit_log enable trigger audit_log_append_only');
  }
}

// One harness and one database for the whole file, and steps that stand on what the steps before
// them left: they keep their order when the suite is shuffled (the files still run in any order).
describe('audit, in order', { shuffle: false }, () => {
  describe('append-only', () => {
    it.each([
      ['UPDATE', `update audit_log set action = 'changed'`],
      ['UPDATE of one row', `update audit_log set data = '{"n":99}' where entity_id = '2'`],
      ['DELETE', 'delete from audit_log'],
      ['DELETE of one row', `delete from audit_log where entity_id = '4'`],
      ['TRUNCATE', 'truncate audit_log'],
    ])('refuses %s', async (_, statement) => {
      await expect(t.sql.unsafe(statement)).rejects.toThrow(/append-only/);
      expect((await t.sql`select count(*)::int as n from audit_log`)[0]!.n).toBe(5);
      expect(await verifyAuditChain(t.db)).toEqual({ ok: true, rows: 5 });
    });

    it('chains each row to the previous one', async () => {
      const rows = await t.sql`select prev_hash, hash from audit_log order by id`;
      expect(rows[0]!.prev_hash).toBeNull();
      for (let i = 1; i < rows.length; i++) expect(rows[i]!.prev_hash).toBe(rows[i - 1]!.hash);
    });
  });

  describe('audit verify', () => {
    it('reports an intact chain with its row count', async () => {
      expect(await verifyAudit(t.db)).toMatchObject({ ok: true, report: 'OK: audit chain intact, 5 rows' });
    });

    it('names the row whose content was changed behind the trigger', async () => {
      const changed = ids[2]!;
      await tamper(`update audit_log set data = '{"n":999}' where id = ${changed}`);
      expect(await verifyAuditChain(t.db)).toEqual({ ok: false, rows: 3, firstBadId: changed, problem: 'hash' });
      const v = await verifyAudit(t.db);
      expect(v.ok).toBe(false);
      expect(v.report).toContain(`audit row id ${changed}`);

      const cli = await runCliProcess(['audit', 'verify'], { DATABASE_URL: t.url });
      expect(cli.code).toBe(1);
      expect(cli.stderr).toContain(`audit row id ${changed}`);
    });

    it('a rewritten hash does not hide the change: the next row no longer links to it', async () => {
      const changed = ids[2]!;
      // Recompute the changed row's own hash; its successor still carries the old one.
      await tamper(`update audit_log a set hash = audit_digest(a.prev_hash, a) where id = ${changed}`);
      expect(await verifyAuditChain(t.db)).toEqual({ ok: false, rows: 4, firstBadId: ids[3], problem: 'link' });
    });

    it('a deleted row breaks the link of the row after it', async () => {
      const t2 = await createTestDatabase();
      try {
        for (let i = 0; i < 3; i++) await appendAudit(t2.db, { at: new Date(), action: 'a', entity: 'x', data: { i } });
        const [, middle, last] = (await t2.sql`select id from audit_log order by id`).map((r) => Number(r.id));
        await t2.sql.unsafe('alter table audit_log disable trigger audit_log_append_only');
        await t2.sql.unsafe(`delete from audit_log where id = ${middle}`);
        await t2.sql.unsafe('alter table audit_log enable trigger audit_log_append_only');
        expect(await verifyAuditChain(t2.db)).toEqual({ ok: false, rows: 2, firstBadId: last, problem: 'link' });
      } finally {
        await t2.drop();
      }
    });
  });
});
