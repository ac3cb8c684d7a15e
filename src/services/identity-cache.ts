/**
 * Who is behind a messenger account, remembered for a few seconds, so an update does not look its
 * sender up every time. An entry is used only while three things still hold:
 * - the identity version the update's gate read under the chat's lock (drizzle/0010: every committed
 *   change to staff, seats or units moves it) is the one the entry was loaded at, so a person
 *   deactivated or rebound before the update arrived is looked up afresh: refused on their very next update;
 * - the change listener (LISTEN/NOTIFY) is live and has heard nothing since the entry was loaded, which
 *   covers a change that was still committing while the entry was loaded;
 * - the entry is younger than its time to live.
 */
import type { Clock } from '../domain/index.js';

/** What tells the cache that identities changed (src/db/identity-changes.ts). */
export interface IdentityChangeSignal {
  generation(): number;
  live(): boolean;
}

export interface IdentityCache<V> {
  /** The remembered identity (undefined inside: known to be nobody), or undefined when it must be loaded. */
  get(accountId: number, version: number): { identity: V | undefined } | undefined;
  /** Loads through the cache: `load` runs on a miss, and its answer is remembered if nothing changed meanwhile. */
  through(accountId: number, version: number, load: () => Promise<V | undefined>): Promise<V | undefined>;
  /** Forgets everything (tests, and a process that changed identities itself may call it). */
  clear(): void;
}

export interface IdentityCacheOptions {
  changes: IdentityChangeSignal;
  clock: Clock;
  /** How long an entry is used at most, in milliseconds (default 10 s). */
  ttlMs?: number;
  /** Entries kept at most; the oldest go first (default 10 000). */
  maxEntries?: number;
}

interface Entry<V> {
  identity: V | undefined;
  version: number;
  generation: number;
  loadedAt: number;
}

export function createIdentityCache<V>(opts: IdentityCacheOptions): IdentityCache<V> {
  const ttlMs = opts.ttlMs ?? 10_000;
  const maxEntries = opts.maxEntries ?? 10_000;
  const entries = new Map<number, Entry<V>>();
  const now = () => opts.clock.now().getTime();

  const get = (accountId: number, version: number): { identity: V | undefined } | undefined => {
    const e = entries.get(accountId);
    if (!e) return undefined;
    const age = now() - e.loadedAt;
    if (!opts.changes.live() || e.generation !== opts.changes.generation() || e.version !== version || age < 0 || age >= ttlMs) {
      entries.delete(accountId);
      return undefined;
    }
    return { identity: e.identity };
  };

  return {
    get,
    async through(accountId, version, load) {
      const hit = get(accountId, version);
      if (hit) return hit.identity;
      // Taken before the load: a change heard while it ran leaves its answer unremembered.
      const generation = opts.changes.generation();
      const live = opts.changes.live();
      const loadedAt = now();
      const identity = await load();
      if (live && opts.changes.live() && generation === opts.changes.generation()) {
        if (entries.size >= maxEntries) entries.delete(entries.keys().next().value!);
        entries.set(accountId, { identity, version, generation, loadedAt });
      }
      return identity;
    },
    clear() {
      entries.clear();
    },
  };
}
