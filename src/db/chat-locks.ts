/**
 * One update at a time per chat: a PostgreSQL advisory lock, so two quick taps never race, even across
 * several bot processes. A Telegram update passes its whole gate here in two round trips: one takes the
 * lock and then reads, under it, whether the update was handled already, the chat's flow state and the
 * identity version (drizzle/0010); the other records the update as handled, commits, and lets the lock
 * go. Handled once is repositories/processed-updates.repository.ts.
 */
import type postgres from 'postgres';
import { isDatabaseUnavailable } from './database-unavailable.js';
import type { FlowStateRow } from './repositories/flow-state.repository.js';

export interface ChatLocks {
  /** Runs fn while holding the chat's lock; other holders of the same chat wait. */
  withChatLock<T>(chatId: number, fn: () => Promise<T>): Promise<T>;
  /**
   * Runs fn while holding the chat's lock, with what the update's gate reads under it, taken in the
   * lock's own round trip; the handled record goes in the round trip that lets the lock go.
   */
  withUpdateGate<T>(request: UpdateGateRequest, fn: (gate: UpdateGate) => Promise<T>): Promise<T>;
}

export interface UpdateGateRequest {
  /** The key updates are serialised by (the chat, else the sender); its flow state is read too. */
  chatId: number;
  updateId: number;
  /** Told when the handled record (with the unlock) failed; the update was handled all the same. */
  onRecordFailed?(err: unknown): void;
  /**
   * Awaited in the chat's turn before a connection is taken for the lock: a wait that needs no lock (the
   * chat's next moment to send a reply) then holds none that other chats' updates need.
   */
  beforeLock?(): Promise<void>;
}

export interface UpdateGate {
  /** Whether the update was recorded as handled, read under the lock (a duplicate waited for the first). */
  readonly handled: boolean;
  /** The chat's flow state as stored when the lock was taken; null: none. */
  readonly flowState: FlowStateRow | null;
  /** The identity version when the lock was taken (moves with every change of staff, seats or units). */
  readonly identityVersion: number;
  /** Records the update as handled, at `at`, in the round trip that lets the lock go (committed before it goes). */
  recordHandled(at: Date): void;
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

  /** Runs fn on a reserved connection holding the chat's session lock; `gate` reads with the lock, `release` lets it go. */
  const lockAcrossProcesses = async <T>(chatId: number, reads: string, fn: (rows: readonly postgres.Row[]) => Promise<T>, release: () => string | undefined, onReleaseFailed?: (err: unknown) => void): Promise<T> => {
    await acquireSlot();
    let held: Held | undefined;
    /** Whether the connection may go back to the pool: open, and holding no lock of ours. */
    let reusable = false;
    try {
      held = { sql: await reserveWithin(sql, reserveTimeoutMs) };
      let rows: readonly postgres.Row[];
      try {
        rows = await lockSession(held, chatId, lockTimeoutMs, reads);
      } catch (err) {
        // A lock timeout leaves a healthy connection; a connection error, a dead one. A read that failed
        // after the lock was taken leaves the session holding it: let it go before the connection is reused.
        reusable = !isDatabaseUnavailable(err) && stillOpen(held) && (await unlockSession(held, chatId));
        throw err;
      }
      try {
        return await fn(rows);
      } finally {
        let before: string | undefined;
        try {
          before = release();
        } catch (err) {
          onReleaseFailed?.(err);
        }
        reusable = await unlockSession(held, chatId, before, onReleaseFailed);
      }
    } finally {
      if (held && reusable) held.sql.release();
      releaseSlot();
    }
  };

  /** Updates of one chat queue in memory first, so one chat never holds more than one connection. */
  const inTurn = <T>(chatId: number, run: () => Promise<T>): Promise<T> => {
    const previous = tails.get(chatId) ?? Promise.resolve();
    const turn = previous.catch(() => {}).then(run);
    const tail = turn.catch(() => {});
    tails.set(chatId, tail);
    void tail.then(() => {
      if (tails.get(chatId) === tail) tails.delete(chatId);
    });
    return turn;
  };

  return {
    withChatLock<T>(chatId: number, fn: () => Promise<T>): Promise<T> {
      return inTurn(chatId, () => lockAcrossProcesses(chatId, '', () => fn(), () => undefined));
    },
    withUpdateGate<T>(request: UpdateGateRequest, fn: (gate: UpdateGate) => Promise<T>): Promise<T> {
      const { chatId, updateId } = request;
      let recordAt: Date | undefined;
      return inTurn(chatId, async () => {
        await request.beforeLock?.();
        return lockAcrossProcesses(
          chatId,
          gateReads(chatId, updateId),
          (rows) => {
            const row = rows[0] ?? {};
            return fn({
              handled: row.handled === true,
              flowState: flowStateRowOf(row.flow),
              identityVersion: Number(row.identity_version ?? 0),
              recordHandled(at) {
                recordAt = at;
              },
            });
          },
          () => (recordAt ? recordHandledStatement(updateId, recordAt) : undefined),
          request.onRecordFailed,
        );
      });
    },
  };
}

/** Only integers and a checked timestamp are spliced into the gate's text (it goes unparameterised, as one message). */
const int = (n: number): string => {
  if (!Number.isSafeInteger(n)) throw new TypeError(`not an integer: ${n}`);
  return String(n);
};

/**
 * What the gate reads under the lock, in the same message as the lock but as a statement of its own:
 * in READ COMMITTED a statement sees what committed before it began, and this one begins once the
 * lock is held, so it sees everything the previous holder committed.
 */
function gateReads(chatId: number, updateId: number): string {
  return (
    `select exists(select 1 from processed_updates where update_id = ${int(updateId)}) as handled, ` +
    `(select json_build_object('chatId', f.chat_id, 'userId', f.user_id, 'flow', f.flow, 'version', f.version, 'step', f.step, 'data', f.data, ` +
    `'updatedAt', f.updated_at, 'expiresAt', f.expires_at) from flow_states f where f.chat_id = ${int(chatId)}) as flow, ` +
    `(select last_value from identity_version) as identity_version`
  );
}

/** The handled record, committed before the unlock that follows it in the same message. */
function recordHandledStatement(updateId: number, at: Date): string {
  const iso = at.toISOString();
  if (!/^[0-9T:.Z-]+$/.test(iso)) throw new TypeError('unexpected timestamp');
  return `begin; insert into processed_updates (update_id, received_at) values (${int(updateId)}, '${iso}') on conflict do nothing; commit`;
}

function flowStateRowOf(raw: unknown): FlowStateRow | null {
  if (!raw || typeof raw !== 'object') return null;
  const r = raw as Record<string, unknown>;
  return {
    chatId: Number(r.chatId),
    userId: Number(r.userId),
    flow: String(r.flow),
    version: Number(r.version),
    step: String(r.step),
    data: r.data,
    updatedAt: new Date(String(r.updatedAt)),
    expiresAt: new Date(String(r.expiresAt)),
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

/** Takes the lock, then runs `reads` (if any) as a statement of its own; returns the rows `reads` gave. */
async function lockSession(held: Held, chatId: number, lockTimeoutMs: number, reads: string): Promise<readonly postgres.Row[]> {
  // Without parameters, so postgres.js sends it at once and calls `onexecute` with the connection.
  const onexecute = (connection: PgConnectionInternals) => {
    held.connection = connection;
    held.token = connection.reserved;
    return true;
  };
  // One round trip: the materialised CTE sets the wait limit before the lock is asked for; the reads
  // follow in the same message. Only integers are spliced in, so the text is safe without parameters.
  const chat = String(Math.trunc(chatId));
  const lock =
    `with wait_limit as materialized (select set_config('lock_timeout', '${Math.trunc(lockTimeoutMs)}ms', false)) ` +
    `select pg_advisory_lock(${LOCK_NAMESPACE}::int4, hashtext('${chat}')) from wait_limit`;
  const result = (await held.sql.unsafe(reads ? `${lock}; ${reads}` : lock, [], { onexecute } as postgres.UnsafeQueryOptions)) as unknown as postgres.Row[] | postgres.Row[][];
  // Several statements in one message come back as one result each.
  return reads ? ((result as postgres.Row[][])[1] ?? []) : [];
}

/**
 * Unlocks, after `before` (the handled record, committed first) in the same message; true when the
 * connection is open and holds nothing of ours (it may go back to the pool). When `before` fails, the
 * caller is told, its transaction is rolled back and the lock let go on its own.
 */
async function unlockSession(held: Held, chatId: number, before?: string, onBeforeFailed?: (err: unknown) => void): Promise<boolean> {
  // A closed connection dropped its session locks with it; writing to it would crash the process.
  if (!stillOpen(held)) {
    if (before) onBeforeFailed?.(new Error('the chat lock connection closed before the handled record'));
    return false;
  }
  let timer: NodeJS.Timeout | undefined;
  const unlock = `select pg_advisory_unlock(${LOCK_NAMESPACE}::int4, hashtext('${String(Math.trunc(chatId))}'))`;
  // A connection that breaks while unlocking takes the session, and its locks, with it.
  const tryUnlock = (text: string) =>
    held.sql.unsafe(text).then(
      () => true,
      () => false,
    );
  const unlocked = before
    ? held.sql.unsafe(`${before}; ${unlock}`).then(
        () => true,
        (err: unknown) => {
          onBeforeFailed?.(err);
          // The record's transaction may be open and aborted: roll it back, then let the lock go.
          return stillOpen(held) ? tryUnlock(`rollback; ${unlock}`) : false;
        },
      )
    : tryUnlock(unlock);
  const gaveUp = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), UNLOCK_TIMEOUT_MS)));
  try {
    return await Promise.race([unlocked, gaveUp]);
  } finally {
    clearTimeout(timer);
  }
}
