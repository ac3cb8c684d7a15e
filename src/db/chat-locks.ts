/**
 * One update at a time per chat: a PostgreSQL advisory lock, so two quick taps never race, even across
 * several bot processes. The other gate every Telegram update passes, handled once, is
 * repositories/processed-updates.repository.ts.
 */
import type postgres from 'postgres';
import { isDatabaseUnavailable } from './database-unavailable.js';

export interface ChatLocks {
  /** Runs fn while holding the chat's lock; other holders of the same chat wait. */
  withChatLock<T>(chatId: number, fn: () => Promise<T>): Promise<T>;
}

/** First key of the two-int advisory lock: keeps this lock space apart from any other user of the database. */
const LOCK_NAMESPACE = 0x43_48_41_54; // "CHAT"

export interface PgChatLocksOptions {
  /**
   * Connections that may hold a lock at once. Each waiting or holding update reserves one connection from
   * `sql` for the whole update, so with a pool shared with the handlers this must stay well below the
   * pool size, or handlers starve for connections while their locks are held (a deadlock). Default: the
   * whole pool when `sql` is dedicated to locks, else half of it.
   */
  maxHolders?: number;
  dedicated?: boolean;
  /** Longest wait for another process's lock, in milliseconds (default 60 000). */
  lockTimeoutMs?: number;
  /** Longest wait for a connection to hold the lock on, in milliseconds (default 10 000). */
  reserveTimeoutMs?: number;
}

/**
 * Advisory locks on reserved connections. Within a process, updates of one chat also queue in memory
 * first, so one chat never holds more than one connection.
 *
 * A reserved connection whose server went away (restart, failover) is never used again: postgres.js
 * 3.4.9 throws from a timer — uncatchable, it ends the process — when a query is written to a reserved
 * connection after its socket closed (porsager/postgres#1208), and `release()` would hand the dead
 * connection back to the pool for the next holder. Its session locks went with the session anyway.
 */
export function createPgChatLocks(sql: postgres.Sql, opts: PgChatLocksOptions = {}): ChatLocks {
  const poolSize = Number((sql.options as { max?: number }).max ?? 10);
  const maxHolders = Math.max(1, opts.maxHolders ?? (opts.dedicated ? poolSize : Math.floor(poolSize / 2)));
  const lockTimeoutMs = Math.max(1, Math.trunc(opts.lockTimeoutMs ?? 60_000));
  const reserveTimeoutMs = Math.max(1, Math.trunc(opts.reserveTimeoutMs ?? 10_000));
  const tails = new Map<number, Promise<unknown>>();
  let holders = 0;
  const waiting: Array<() => void> = [];

  const acquireSlot = async () => {
    if (holders < maxHolders) {
      holders++;
      return;
    }
    await new Promise<void>((resolve) => waiting.push(resolve));
  };
  const releaseSlot = () => {
    const next = waiting.shift();
    if (next) next();
    else holders--;
  };

  const lockAcrossProcesses = async <T>(chatId: number, fn: () => Promise<T>): Promise<T> => {
    await acquireSlot();
    let held: Held | undefined;
    /** Whether the connection may go back to the pool: open, and holding no lock of ours. */
    let reusable = false;
    try {
      held = { sql: await reserveWithin(sql, reserveTimeoutMs) };
      try {
        await lockSession(held, chatId, lockTimeoutMs);
      } catch (err) {
        // A lock timeout leaves a healthy connection; a connection error, a dead one.
        reusable = !isDatabaseUnavailable(err) && stillOpen(held);
        throw err;
      }
      try {
        return await fn();
      } finally {
        reusable = await unlockSession(held, chatId);
      }
    } finally {
      if (held && reusable) held.sql.release();
      releaseSlot();
    }
  };

  return {
    withChatLock<T>(chatId: number, fn: () => Promise<T>): Promise<T> {
      const previous = tails.get(chatId) ?? Promise.resolve();
      const run = previous.catch(() => {}).then(() => lockAcrossProcesses(chatId, fn));
      const tail = run.catch(() => {});
      tails.set(chatId, tail);
      void tail.then(() => {
        if (tails.get(chatId) === tail) tails.delete(chatId);
      });
      return run;
    },
  };
}

/**
 * `sql.reserve()` with a deadline. postgres.js 3.4.9 can lose a waiting reservation for good: when a
 * connection closes while a reservation waits, it reconnects with that reservation as its first query,
 * and a reservation is never handed the connection it opened (index.js `onclose`, connection.js
 * `initial.reserve`). After a database restart the update would hang, with its chat behind it. Past the
 * deadline the wait counts as "database unavailable" (the update is delivered again); a connection that
 * still arrives later goes straight back to the pool.
 */
async function reserveWithin(sql: postgres.Sql, timeoutMs: number): Promise<postgres.ReservedSql> {
  let timer: NodeJS.Timeout | undefined;
  let gaveUp = false;
  const reserving = sql.reserve();
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      gaveUp = true;
      reject(Object.assign(new Error(`no database connection for the chat lock within ${timeoutMs} ms`), { code: 'CONNECT_TIMEOUT' }));
    }, timeoutMs);
  });
  void reserving.then(
    (late) => void (gaveUp && late.release()),
    () => undefined,
  );
  try {
    return await Promise.race([reserving, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * What postgres.js 3.4 keeps on its connection object (internal; only read here): `reserved` is set by
 * `sql.reserve()` and cleared, synchronously with the socket, when the connection closes. A query's
 * `onexecute` option (the hook `sql.begin` uses) hands the object over.
 */
interface PgConnectionInternals {
  reserved?: unknown;
}

interface Held {
  sql: postgres.ReservedSql;
  connection?: PgConnectionInternals;
  /** `connection.reserved` while it is ours; anything else means it closed (or was reserved anew). */
  token?: unknown;
}

/** Whether the reserved connection is still open and ours. Unknown internals (another version): assumed open. */
function stillOpen(held: Held): boolean {
  return held.connection === undefined || (held.token !== undefined && held.connection.reserved === held.token);
}

/** Longest wait for the unlock, in milliseconds: a connection that does not answer is given up. */
const UNLOCK_TIMEOUT_MS = 5_000;

async function lockSession(held: Held, chatId: number, lockTimeoutMs: number): Promise<void> {
  // Without parameters, so postgres.js sends it at once and calls `onexecute` with the connection.
  const onexecute = (connection: PgConnectionInternals) => {
    held.connection = connection;
    held.token = connection.reserved;
    return true;
  };
  // One round trip: the materialised CTE sets the wait limit before the lock is asked for. Only integers
  // are spliced in, so the text is safe without parameters.
  const chat = String(Math.trunc(chatId));
  await held.sql.unsafe(
    `with wait_limit as materialized (select set_config('lock_timeout', '${Math.trunc(lockTimeoutMs)}ms', false)) ` +
      `select pg_advisory_lock(${LOCK_NAMESPACE}::int4, hashtext('${chat}')) from wait_limit`,
    [],
    { onexecute } as postgres.UnsafeQueryOptions,
  );
}

/** Unlocks; true when the connection is open and holds nothing of ours (it may go back to the pool). */
async function unlockSession(held: Held, chatId: number): Promise<boolean> {
  // A closed connection dropped its session locks with it; writing to it would crash the process.
  if (!stillOpen(held)) return false;
  let timer: NodeJS.Timeout | undefined;
  // A connection that breaks while unlocking takes the session, and its locks, with it.
  const unlocked = held.sql`select pg_advisory_unlock(${LOCK_NAMESPACE}::int4, hashtext(${String(chatId)}))`.then(
    () => true,
    () => false,
  );
  const gaveUp = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), UNLOCK_TIMEOUT_MS)));
  try {
    return await Promise.race([unlocked, gaveUp]);
  } finally {
    clearTimeout(timer);
  }
}
