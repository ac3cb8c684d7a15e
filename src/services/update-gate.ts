/**
 * The two gates every Telegram update passes before a handler sees it: handled once (update_id recorded
 * in PostgreSQL, so a redelivery is dropped whether it comes by webhook or polling, at once or later),
 * and one at a time per chat (a PostgreSQL advisory lock, so two quick taps never race, even across
 * several bot processes).
 */
import { lt } from 'drizzle-orm';
import type postgres from 'postgres';
import type { Executor } from '../db/client.js';
import { processedUpdates } from '../db/schema.js';

/**
 * Records an update id; true for the first delivery only. Two concurrent deliveries meet at the primary
 * key: the second waits for the first to commit and then inserts nothing.
 */
export async function claimUpdate(db: Executor, updateId: number, now: Date): Promise<boolean> {
  const rows = await db.insert(processedUpdates).values({ updateId, receivedAt: now }).onConflictDoNothing().returning({ id: processedUpdates.updateId });
  return rows.length > 0;
}

/** Telegram keeps an update for 24 hours at most; ids older than that cannot come back. */
export async function pruneProcessedUpdates(db: Executor, olderThan: Date): Promise<number> {
  const rows = await db.delete(processedUpdates).where(lt(processedUpdates.receivedAt, olderThan)).returning({ id: processedUpdates.updateId });
  return rows.length;
}

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
}

/**
 * Advisory locks on reserved connections. Within a process, updates of one chat also queue in memory
 * first, so one chat never holds more than one connection.
 */
export function createPgChatLocks(sql: postgres.Sql, opts: PgChatLocksOptions = {}): ChatLocks {
  const poolSize = Number((sql.options as { max?: number }).max ?? 10);
  const maxHolders = Math.max(1, opts.maxHolders ?? (opts.dedicated ? poolSize : Math.floor(poolSize / 2)));
  const lockTimeoutMs = opts.lockTimeoutMs ?? 60_000;
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
    let reserved: postgres.ReservedSql | undefined;
    try {
      reserved = await sql.reserve();
      await reserved`select set_config('lock_timeout', ${`${lockTimeoutMs}ms`}, false)`;
      await reserved`select pg_advisory_lock(${LOCK_NAMESPACE}::int4, hashtext(${String(chatId)}))`;
      try {
        return await fn();
      } finally {
        await reserved`select pg_advisory_unlock(${LOCK_NAMESPACE}::int4, hashtext(${String(chatId)}))`.catch(() => {
          // A broken connection drops its session locks with it.
        });
      }
    } finally {
      reserved?.release();
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
