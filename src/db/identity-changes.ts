/**
 * Hears changes to what identities are made of (staff, seats, units: the triggers of drizzle/0010), by
 * PostgreSQL LISTEN/NOTIFY, so the bot's identity cache forgets at once. The listener's own connection
 * can die without a word (postgres.js gives up re-listening when the server is down at that moment), so
 * a heartbeat goes through the channel every few seconds: a listener that has not heard one lately is
 * not live, the cache is not used, and listening starts again.
 */
import type postgres from 'postgres';

export interface IdentityChanges {
  /** Moves on every change heard and on every (re)connection of the listener. */
  generation(): number;
  /** Whether changes are being heard now (a heartbeat came back lately). */
  live(): boolean;
  close(): Promise<void>;
}

const CHANNEL = 'identity_changed';
const HEARTBEAT = 'heartbeat';
/** Milliseconds between heartbeats. */
const HEARTBEAT_EVERY_MS = 5_000;

const listeners = new WeakMap<postgres.Sql, IdentityChanges>();

/** One listener per client, however many bots are built on it; it ends with the client (`sql.end()`). */
export function identityChangesOf(sql: postgres.Sql): IdentityChanges {
  let changes = listeners.get(sql);
  if (!changes) {
    changes = listenForIdentityChanges(sql);
    listeners.set(sql, changes);
  }
  return changes;
}

function listenForIdentityChanges(sql: postgres.Sql): IdentityChanges {
  let generation = 0;
  let listening = false;
  /** performance.now() of the last heartbeat heard (any process's: each proves the channel carries). */
  let heardAt = 0;
  let handle: postgres.ListenMeta | undefined;
  let starting = false;
  let closed = false;

  const onNotify = (payload: string) => {
    if (payload === HEARTBEAT) heardAt = performance.now();
    else generation++;
  };
  const start = async () => {
    if (starting || closed) return;
    starting = true;
    try {
      await handle?.unlisten().catch(() => undefined);
      handle = await sql.listen(CHANNEL, onNotify, () => {
        // (Re)connected: whatever changed while nobody listened is unknown.
        generation++;
        heardAt = performance.now();
        listening = true;
      });
    } catch {
      listening = false;
    } finally {
      starting = false;
    }
  };
  const silent = () => performance.now() - heardAt > 2.5 * HEARTBEAT_EVERY_MS;
  const timer = setInterval(() => {
    if (listening && silent()) {
      listening = false;
      generation++;
    }
    if (!listening) void start();
    void sql.notify(CHANNEL, HEARTBEAT).catch(() => undefined);
  }, HEARTBEAT_EVERY_MS);
  timer.unref();
  void start();

  return {
    generation: () => generation,
    live: () => listening && !silent(),
    async close() {
      closed = true;
      clearInterval(timer);
      listening = false;
      await handle?.unlisten().catch(() => undefined);
    },
  };
}
