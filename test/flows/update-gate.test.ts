/**
 * The update gates on the real PostgreSQL: a per-chat lock that holds across processes (two separate
 * connection pools stand for two bot processes), and update ids claimed once under concurrency.
 */
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isDatabaseUnavailable } from '../../src/db/database-unavailable.js';
import { createPgChatLocks } from '../../src/db/chat-locks.js';
import { claimUpdate, pruneProcessedUpdates } from '../../src/db/repositories/processed-updates.repository.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

let t: TestDatabase;
let processA: postgres.Sql;
let processB: postgres.Sql;

beforeAll(async () => {
  t = await createTestDatabase();
  processA = postgres(t.url, { max: 3, onnotice: () => {} });
  processB = postgres(t.url, { max: 3, onnotice: () => {} });
});
afterAll(async () => {
  await processA?.end({ timeout: 5 });
  await processB?.end({ timeout: 5 });
  await t?.drop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('per-chat locks', () => {
  it('two processes never run the same chat at once, and do run different chats at once', async () => {
    const a = createPgChatLocks(processA, { dedicated: true });
    const b = createPgChatLocks(processB, { dedicated: true });
    const events: string[] = [];
    const critical = (who: string) => async () => {
      events.push(`${who}:in`);
      await sleep(150);
      events.push(`${who}:out`);
    };
    await Promise.all([a.withChatLock(42, critical('a')), b.withChatLock(42, critical('b'))]);
    // One ran entirely before the other.
    const first = events[0]!.slice(0, 1);
    const second = first === 'a' ? 'b' : 'a';
    expect(events).toEqual([`${first}:in`, `${first}:out`, `${second}:in`, `${second}:out`]);

    events.length = 0;
    await Promise.all([a.withChatLock(1, critical('x')), b.withChatLock(2, critical('y'))]);
    // Both were inside before either left.
    expect(events.slice(0, 2).sort()).toEqual(['x:in', 'y:in']);
  });

  it('within a process, updates of a chat queue in order and a failure does not block the next', async () => {
    const locks = createPgChatLocks(processA, { dedicated: true });
    const order: number[] = [];
    const runs = [1, 2, 3].map((n) =>
      locks.withChatLock(7, async () => {
        await sleep(20 * (4 - n));
        order.push(n);
        if (n === 2) throw new Error('handler failed');
      }),
    );
    const results = await Promise.allSettled(runs);
    expect(order).toEqual([1, 2, 3]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    // The lock was released: another process takes it at once.
    const other = createPgChatLocks(processB, { dedicated: true });
    await other.withChatLock(7, async () => {});
  });

  it('many chats at once do not exhaust the pool (holders are capped below it)', async () => {
    const shared = postgres(t.url, { max: 4, onnotice: () => {} });
    try {
      const locks = createPgChatLocks(shared); // shared with "handlers": at most half the pool holds locks
      const done = await Promise.all(
        Array.from({ length: 12 }, (_, chat) => locks.withChatLock(chat, async () => (await shared`select ${chat}::int as n`)[0]!.n as number)),
      );
      expect(done).toEqual(Array.from({ length: 12 }, (_, i) => i));
    } finally {
      await shared.end({ timeout: 5 });
    }
  });

  it('waits for another process no longer than the lock timeout, and the connection stays usable', async () => {
    const a = createPgChatLocks(processA, { dedicated: true });
    const b = createPgChatLocks(processB, { dedicated: true, lockTimeoutMs: 300 });
    let release!: () => void;
    const holding = a.withChatLock(9, () => new Promise<void>((r) => (release = r)));
    await sleep(100);
    const started = Date.now();
    const refused = await b.withChatLock(9, async () => 'ran').then(
      (v) => v,
      (err: unknown) => err as { code?: string },
    );
    expect(refused).toMatchObject({ code: '55P03' }); // lock_not_available
    expect(Date.now() - started).toBeLessThan(5_000);
    release();
    await holding;
    expect(await b.withChatLock(9, async () => 'ran')).toBe('ran');
  });

  it('gives up waiting for a connection in time, as "database unavailable", and the late connection goes back to the pool', async () => {
    // One connection, held by someone else (as a reservation postgres.js lost after a restart would never come).
    const tiny = postgres(t.url, { max: 1, onnotice: () => {} });
    try {
      const holder = await tiny.reserve();
      const locks = createPgChatLocks(tiny, { dedicated: true, reserveTimeoutMs: 200 });
      let ran = false;
      const waited = await locks.withChatLock(5, async () => void (ran = true)).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(ran).toBe(false);
      expect(isDatabaseUnavailable(waited)).toBe(true);
      holder.release();
      // The reservation that arrived after the deadline was handed back: the pool still serves.
      const [row] = await tiny`select 1 as n`;
      expect(row!.n).toBe(1);
      await locks.withChatLock(5, async () => void (ran = true));
      expect(ran).toBe(true);
    } finally {
      await tiny.end({ timeout: 5 });
    }
  });
});

describe('update ids', () => {
  it('are claimed once, even by concurrent deliveries', async () => {
    const now = new Date();
    const claims = await Promise.all(Array.from({ length: 8 }, () => claimUpdate(t.db, 555, now)));
    expect(claims.filter(Boolean)).toHaveLength(1);
    expect(await claimUpdate(t.db, 556, now)).toBe(true);
    expect(await pruneProcessedUpdates(t.db, new Date(now.getTime() + 1000))).toBe(2);
    expect(await claimUpdate(t.db, 555, now)).toBe(true);
  });
});
