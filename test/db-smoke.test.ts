import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './helpers/db.js';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => t?.drop());

describe('migrations', () => {
  it('create the audit chain', async () => {
    await t.sql`insert into audit_log (at, action, entity, data) values (now(), 'a', 'x', '{"k":1}')`;
    await t.sql`insert into audit_log (at, action, entity, data) values (now(), 'b', 'x', '{}')`;
    const rows = await t.sql`select id, prev_hash, hash from audit_log order by id`;
    expect(rows).toHaveLength(2);
    expect(rows[1]!.prev_hash).toBe(rows[0]!.hash);
    await expect(t.sql`update audit_log set action = 'z'`).rejects.toThrow(/append-only/);
  });
});
