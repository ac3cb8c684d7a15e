/**
 * The overall send line: at most `max` requests in any sliding `windowMs` (Telegram's 30 bulk messages a
 * second), shared by every process that sends with one bot token. Each process's own pacer sees only its
 * own sends; two workers each keeping 30 a second send 60 together. The line is the recent requests'
 * moments: a request reserves the earliest moment that keeps every window at `max` after the ones already
 * in it, and once answered counts from its answer (Telegram had it somewhere before then). A request put
 * later than it asked asks again right before it leaves (`retake`), as those answers may have moved the
 * moments it was placed after.
 *
 * A follow-up (an event replying to the card that went just before it: the card already rang the phone)
 * yields: while it waits for its moment, first messages do not count it, so a card never queues behind
 * follow-ups' reservations. A follow-up placed ahead of now asks again at its moment, counting every
 * first message (those still ahead too) and every request that left, and leaves only once that finds
 * room at once; it is then a moment like any other. So no window holds more than `max`.
 *
 * The decisions are pure functions over the list of moments, the same for every store: Redis keeps the
 * list as a sorted set changed by one small script per operation (send-slot-stores.ts mirrors these
 * functions in Lua), PostgreSQL as one row under a row lock, a test as a value in memory. All times are
 * epoch milliseconds from the caller's clock.
 */

/** Drops the moments a window old or older at `now` (`moments` ascending; changed in place). */
function pruneWindow(moments: number[], now: number, windowMs: number): void {
  let k = 0;
  while (k < moments.length && moments[k]! <= now - windowMs) k++;
  if (k > 0) moments.splice(0, k);
}

/** Removes one occurrence of `at` (`moments` ascending; changed in place); false when there is none. */
function removeOne(moments: number[], at: number): boolean {
  const i = moments.indexOf(at);
  if (i < 0) return false;
  moments.splice(i, 1);
  return true;
}

/** `moments` without the follow-ups' still waiting (both ascending; neither changed). */
function withoutYielding(moments: readonly number[], yielding: readonly number[]): number[] {
  if (yielding.length === 0) return [...moments];
  const out: number[] = [];
  let k = 0;
  for (const m of moments) {
    if (k < yielding.length && m === yielding[k]) {
      k++;
      continue;
    }
    out.push(m);
  }
  return out;
}

/** No earlier than `earliest`, and a window after the `max`-th latest of `counted` once it holds `max`: no window with it then holds more. */
function aWindowAfterMaxthLatest(counted: readonly number[], earliest: number, max: number, windowMs: number): number {
  return counted.length < max ? earliest : Math.max(earliest, counted[counted.length - max]! + windowMs);
}

function insertSorted(moments: number[], at: number): void {
  let i = moments.length;
  while (i > 0 && moments[i - 1]! > at) i--;
  moments.splice(i, 0, at);
}

/** What a request asks of the overall line. */
export interface OverallTake {
  /** The caller's clock now (ms): moments a window older are dropped. */
  now: number;
  /** Not before this (ms; default `now`): a call that waits for its chat first. */
  notBefore?: number | undefined;
  /** Requests per window; ≤ 0: no limit. */
  max: number;
  windowMs: number;
  /** A follow-up: it yields to first messages (see above). */
  yields?: boolean | undefined;
}

/**
 * Reserves a request's moment (changes `moments`, ascending) and returns it: `notBefore` while the list
 * holds fewer than `max`, else no earlier than a window after the `max`-th latest moment, so that no
 * window ending at or after it holds more than `max`. `max` ≤ 0: no limit, nothing kept.
 */
export function overallTakeIn(moments: number[], req: OverallTake, yielding: number[] = []): number {
  const earliest = Math.max(req.now, req.notBefore ?? req.now);
  if (req.max <= 0) return earliest;
  pruneWindow(moments, req.now, req.windowMs);
  pruneWindow(yielding, req.now, req.windowMs);
  // A first message does not count the follow-ups still waiting: they ask again before they leave.
  const counted = req.yields ? moments : withoutYielding(moments, yielding);
  const at = aWindowAfterMaxthLatest(counted, earliest, req.max, req.windowMs);
  insertSorted(moments, at);
  if (req.yields && at > req.now) insertSorted(yielding, at);
  return at;
}

/** What a request that took `from` asks right before it leaves. */
export interface OverallRetake {
  /** The moment it took (ms). */
  from: number;
  /** The caller's clock now (ms), at or after `from`. */
  now: number;
  max: number;
  windowMs: number;
  /** A follow-up: its moment stays yielding while it is still ahead. */
  yields?: boolean | undefined;
}

/**
 * Right before a request that took a later moment leaves (changes `moments`, returns its moment): the
 * moments it was placed after may have moved to their answers since, into its window — 30 requests that
 * left together are answered over some milliseconds, and the 30 placed a window after them would land
 * within a second of the last of those. It keeps `now` when the window ending now holds fewer than `max`
 * others, else moves to the earliest moment after which one does, counting the moments up to it. Moments
 * after it are not looked at: each later request asks the same before it leaves.
 */
export function overallRetakeIn(moments: number[], req: OverallRetake, yielding: number[] = []): number {
  if (req.max <= 0) return req.now;
  pruneWindow(moments, req.now, req.windowMs);
  pruneWindow(yielding, req.now, req.windowMs);
  removeOne(moments, req.from);
  // Its own moment among the follow-ups' (or, where none is left of the other kind, the one that was).
  const left = moments.filter((m) => m === req.from).length;
  if (req.yields || yielding.filter((m) => m === req.from).length > left) removeOne(yielding, req.from);
  // Follow-ups still waiting have not left: each asks again before it does, and counts this one then.
  const counted = withoutYielding(moments, yielding);
  let at = req.now;
  if (req.yields) {
    // A follow-up keeps every window it falls in below `max` with the first messages still ahead in it
    // too: none of them counted it.
    at = aWindowAfterMaxthLatest(counted, req.now, req.max, req.windowMs);
  } else {
    // Each round passes at least one moment: no more rounds than moments.
    for (let round = 0; round <= counted.length; round++) {
      let first = 0;
      while (first < counted.length && counted[first]! <= at - req.windowMs) first++;
      let end = first;
      while (end < counted.length && counted[end]! <= at) end++;
      const inWindow = end - first;
      if (inWindow < req.max) break;
      // Past the oldest moments until fewer than `max` are left in the window.
      at = counted[first + inWindow - req.max]! + req.windowMs;
    }
  }
  insertSorted(moments, at);
  if (req.yields && at > req.now) insertSorted(yielding, at);
  return at;
}

/**
 * The request whose moment was `at` was answered at `answeredAt`: it counts from then when that is later
 * (changes `moments`). Moments are interchangeable, so any one at `at` moves. False when none is there
 * (it was pruned).
 */
export function overallAnsweredIn(moments: number[], at: number, answeredAt: number): boolean {
  if (answeredAt <= at) return false;
  if (!removeOne(moments, at)) return false;
  insertSorted(moments, answeredAt);
  return true;
}

/** How long the list is worth keeping (ms): until its latest moment is a window old. */
export function overallExpiry(moments: readonly number[], now: number, windowMs: number): number {
  return Math.max(1, Math.ceil((moments[moments.length - 1] ?? now) - now + windowMs));
}

/** The stored line: every moment, and those of them that are follow-ups' still ahead (a part of `moments`). */
export interface OverallMoments {
  moments: number[];
  yielding: number[];
}

const numbersOf = (list: unknown): number[] =>
  Array.isArray(list) ? list.filter((x): x is number => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b) : [];

/** The parsed moments of a stored line; anything unreadable is an empty line (soft state, like the chat lines). */
export function parseOverall(value: unknown): number[] {
  return parseOverallLine(value).moments;
}

/** The parsed stored line; a yielding moment not among the moments is dropped. */
export function parseOverallLine(value: unknown): OverallMoments {
  const o = value && typeof value === 'object' ? (value as { moments?: unknown; yielding?: unknown }) : {};
  const moments = numbersOf(o.moments);
  const left = [...moments];
  const yielding = numbersOf(o.yielding).filter((m) => removeOne(left, m));
  return { moments, yielding };
}

// ---------------------------------------------------------------------------------------------
// The port, and the compare-and-set form of it.

/** The overall line as every store offers it (the gateway's `OverallLineStore`). */
export interface OverallSendLine {
  /** Reserves the moment a request may leave (epoch ms, ≥ `now` and `notBefore`) among at most `max` per `windowMs`. */
  take(req: OverallTake): Promise<number>;
  /** Right before a request that took a later moment than it asked for leaves: its moment now (overallRetakeIn). */
  retake(req: OverallRetake): Promise<number>;
  /** The request that took `at` was answered at `answeredAt`: it counts from then when later. */
  answered(at: number, answeredAt: number, windowMs: number): Promise<void>;
}

/**
 * Where the list is kept: `decide` runs on it while no other process changes it (a row lock, or one
 * thread), and what it leaves is stored, kept `ttlMs`, unless it says nothing changed. It does not await.
 */
export interface OverallStore {
  change<T>(decide: (line: OverallMoments) => { result: T; changed: boolean; ttlMs: number }): Promise<T>;
}

/** The line over a store that runs one decision at a time. */
export function overallLineOn(store: OverallStore): OverallSendLine {
  const run = <T>(now: number, windowMs: number, decide: (line: OverallMoments) => T, changed: (result: T) => boolean = () => true) =>
    store.change((line) => {
      const result = decide(line);
      return { result, changed: changed(result), ttlMs: overallExpiry(line.moments, now, windowMs) };
    });
  return {
    take: (req) => (req.max <= 0 ? Promise.resolve(overallTakeIn([], req)) : run(req.now, req.windowMs, (l) => overallTakeIn(l.moments, req, l.yielding))),
    retake: (req) => (req.max <= 0 ? Promise.resolve(req.now) : run(req.now, req.windowMs, (l) => overallRetakeIn(l.moments, req, l.yielding))),
    answered: async (at, answeredAt, windowMs) => {
      if (answeredAt > at) await run(answeredAt, windowMs, (l) => overallAnsweredIn(l.moments, at, answeredAt), (moved) => moved);
    },
  };
}

/** In this process only: for tests, and for a deployment with one process. */
export function memoryOverallLine(): OverallSendLine {
  let line: OverallMoments = { moments: [], yielding: [] };
  return overallLineOn({
    // One thread and no await inside: nobody changes the list meanwhile.
    change: async (decide) => {
      const next = { moments: [...line.moments], yielding: [...line.yielding] };
      const { result, changed } = decide(next);
      if (changed) line = next;
      return result;
    },
  });
}
