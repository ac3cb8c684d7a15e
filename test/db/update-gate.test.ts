/**
 * The update gate on the real PostgreSQL: two round trips per update on the lock's connection (lock
 * with the reads under it; handled record, commit and unlock), a duplicate across two processes that
 * waits and then finds the first one's record, and a read that fails after the lock leaves no lock behind.
 */
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgChatLocks, type UpdateGate } from '../../src/db/chat-locks.js';
import { saveFlowState } from '../../src/db/repositories/flow-state.repository.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

let t: TestDatabase;
let statements = 0;
let processA: postgres.Sql;
let processB: postgres.Sql;

beforeAll(async () => {
  t = await createTestDatabase();
  processA = postgres(t.url, { max: 3, onnotice: () => {}, debug: () => void statements++ });
  processB = postgres(t.url, { max: 3, onnotice: () => {} });
});
afterAll(async () => {
  await processA?.end({ timeout: 5 });
  await processB?.end({ timeout: 5 });
  await t?.drop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const now = new Date('2026-11-29T02:00:00Z');

describe('the update gate', () => {
  it('reads under the lock, in its round trip, what the update needs, and records in the one that unlocks', async () => {
    const gate = createPgChatLocks(processA, { dedicated: true });
    await saveFlowState(t.db, 31, 31, { flow: 'report', version: 3, step: 'type', data: { d: {} } }, now, 3600);
    const [{ v }] = (await t.sql`select last_value as v from identity_version`) as unknown as [{ v: string }];

    // A connection's first use also fetches its types: warm it first.
    await gate.withChatLock(30, async () => {});
    statements = 0;
    let seen: UpdateGate | undefined;
    await gate.withUpdateGate({ chatId: 31, updateId: 9001 }, async (g) => {
      seen = g;
      g.recordHandled(now);
    });
    expect(statements).toBe(2);
    expect(seen!.handled).toBe(false);
    expect(seen!.flowState).toMatchObject({ chatId: 31, userId: 31, flow: 'report', version: 3, step: 'type', data: { d: {} } });
    expect(seen!.flowState!.expiresAt.getTime()).toBe(now.getTime() + 3600_000);
    expect(seen!.identityVersion).toBe(Number(v));
    const [row] = await t.sql`select received_at from processed_updates where update_id = 9001`;
    expect(new Date(row!.received_at).getTime()).toBe(now.getTime());

    // Handled: the next delivery is told so; a chat without a form reads none.
    await gate.withUpdateGate({ chatId: 32, updateId: 9001 }, async (g) => {
      expect(g.handled).toBe(true);
      expect(g.flowState).toBeNull();
    });
    // The connection went back clean: no lock of ours left on it.
    const [locks] = await processA`select count(*)::int as n from pg_locks where locktype = 'advisory' and granted and database = (select oid from pg_database where datname = current_database())`;
    expect(locks!.n).toBe(0);
  });

  it('a wait before the lock holds no connection: other chats go on meanwhile, and the chat’s own next update waits its turn', async () => {
    const locks = createPgChatLocks(processA, { maxHolders: 1 });
    const order: string[] = [];
    const slow = locks.withUpdateGate({ chatId: 60, updateId: 9300, beforeLock: () => sleep(300).then(() => void order.push('60 waited')) }, async (g) => {
      order.push('60 ran');
      g.recordHandled(now);
    });
    const next = locks.withUpdateGate({ chatId: 60, updateId: 9301 }, async (g) => {
      order.push('60 next ran');
      g.recordHandled(now);
    });
    const other = locks.withUpdateGate({ chatId: 61, updateId: 9302 }, async (g) => {
      order.push('61 ran');
      g.recordHandled(now);
    });
    await Promise.all([slow, next, other]);
    expect(order).toEqual(['61 ran', '60 waited', '60 ran', '60 next ran']);
  });

  it('the same update at once in two processes runs once: the second waits, then sees the first one recorded', async () => {
    const a = createPgChatLocks(processA, { dedicated: true });
    const b = createPgChatLocks(processB, { dedicated: true });
    let ran = 0;
    const deliver = (locks: typeof a) =>
      locks.withUpdateGate({ chatId: 40, updateId: 9100 }, async (g) => {
        if (g.handled) return;
        ran++;
        await sleep(100);
        g.recordHandled(now);
      });
    await Promise.all([deliver(a), deliver(b), deliver(a), deliver(b)]);
    expect(ran).toBe(1);
  });

  it('an update whose handling failed is not recorded, and its lock is let go', async () => {
    const a = createPgChatLocks(processA, { dedicated: true });
    const failed = await a.withUpdateGate({ chatId: 41, updateId: 9200 }, async () => {
      throw new Error('handler failed');
    }).catch((err: Error) => err.message);
    expect(failed).toBe('handler failed');
    const b = createPgChatLocks(processB, { dedicated: true, lockTimeoutMs: 500 });
    await b.withUpdateGate({ chatId: 41, updateId: 9200 }, async (g) => expect(g.handled).toBe(false));
  });

  it('a read that fails once the lock is held leaves no lock behind', async () => {
    const broken = await createTestDatabase();
    const sqlA = postgres(broken.url, { max: 2, onnotice: () => {} });
    const sqlB = postgres(broken.url, { max: 2, onnotice: () => {} });
    try {
      await broken.sql`drop sequence identity_version cascade`;
      const a = createPgChatLocks(sqlA, { dedicated: true });
      const err = await a.withUpdateGate({ chatId: 50, updateId: 1 }, async () => 'ran').catch((e: { code?: string }) => e.code);
      expect(err).toBe('42P01'); // undefined_table
      // Another process takes the chat's lock at once.
      const b = createPgChatLocks(sqlB, { dedicated: true, lockTimeoutMs: 300 });
      expect(await b.withChatLock(50, async () => 'ran')).toBe('ran');
    } finally {
      await sqlA.end({ timeout: 5 });
      await sqlB.end({ timeout: 5 });
      await broken.drop();
    }
  });
});
