import { fileURLToPath } from 'node:url';
import { drizzle, type PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import * as schema from './schema.js';

export type Database = PostgresJsDatabase<typeof schema>;
/** A transaction or the database itself: repositories accept either so callers can compose them. */
export type Executor = Database | Parameters<Parameters<Database['transaction']>[0]>[0];

export interface DbHandle {
  db: Database;
  sql: postgres.Sql;
  url: string;
  close(): Promise<void>;
}

export const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../drizzle', import.meta.url));

export function connectDatabase(url: string, opts: { max?: number; applicationName?: string } = {}): DbHandle {
  const sql = postgres(url, {
    max: opts.max ?? 10,
    onnotice: () => {},
    connection: { application_name: opts.applicationName ?? 'corrections-bot' },
    // Keep timestamps as Date and bigints as numbers (Telegram ids fit in 53 bits).
    types: { bigint: postgres.BigInt },
  });
  const db = retryingDeadlocks(drizzle(sql, { schema }));
  return { db, sql, url, close: () => sql.end({ timeout: 5 }) };
}

/** Times a transaction PostgreSQL aborted as a deadlock's victim is run again. */
const DEADLOCK_RETRIES = 3;

/** Work a transaction defers to just before its commit, in the order it was deferred. */
const beforeCommit = new WeakMap<object, Array<() => Promise<void>>>();

/**
 * Defers `work` to the end of the transaction `db` (after everything else it does, just before commit);
 * false when `db` is not a transaction opened by `Database.transaction` (the caller does it now). The
 * audit trail uses it: the chain's lock is then the last lock every transaction takes, so no two
 * writers can take it and a row in opposite orders, and it is held only for one insert and the commit.
 */
export function deferToCommit(db: Executor, work: () => Promise<void>): boolean {
  const queue = beforeCommit.get(db);
  if (!queue) return false;
  queue.push(work);
  return true;
}

/**
 * Every transaction runs what it deferred (deferToCommit) before it commits. A use case is one
 * transaction that only touches the database (what it dispatches goes after commit), so a transaction
 * PostgreSQL aborts to break a deadlock left nothing behind and is run again, a few milliseconds later.
 * With the audit chain's lock taken last (above), the deadlock once seen between it and a row (R11)
 * cannot recur; the retry stays for deadlocks between rows.
 */
function retryingDeadlocks(db: Database): Database {
  const run = db.transaction.bind(db);
  type Body = Parameters<Database['transaction']>[0];
  const withDeferred = (fn: Body): Body => async (tx) => {
    const queue: Array<() => Promise<void>> = [];
    beforeCommit.set(tx, queue);
    const result = await fn(tx);
    while (queue.length) await queue.shift()!();
    beforeCommit.delete(tx);
    return result;
  };
  db.transaction = (async (fn: Body, config?: Parameters<Database['transaction']>[1]) => {
    for (let attempt = 0; ; attempt++) {
      try {
        return await run(withDeferred(fn), config);
      } catch (err) {
        if (attempt >= DEADLOCK_RETRIES || !isDeadlock(err)) throw err;
        await new Promise((r) => setTimeout(r, 5 + Math.floor(Math.random() * 20) * (attempt + 1)));
      }
    }
  }) as Database['transaction'];
  return db;
}

function isDeadlock(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if ((e as { code?: unknown }).code === '40P01') return true;
  }
  return false;
}

/** Applies the committed migrations; the same folder serves the embedded and an external server. */
export async function migrateDatabase(handle: DbHandle): Promise<void> {
  await migrate(handle.db, { migrationsFolder: MIGRATIONS_FOLDER });
}
