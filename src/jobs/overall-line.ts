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

/**
 * Milliseconds past a window that moments are kept: a decision may be asked for a moment up to a
 * second ahead of now (a retake's lead for its store's answer time), and one decided after it for now;
 * the moments the second one counts must still be there.
 */
export const OVERALL_KEPT_PAST_WINDOW_MS = 1_000;

/** Drops the moments no decision near `now` counts any more (`moments` ascending; changed in place). */
function pruneWindow(moments: number[], now: number, windowMs: number): void {
  let k = 0;
  while (k < moments.length && moments[k]! <= now - windowMs - OVERALL_KEPT_PAST_WINDOW_MS) k++;
  if (k > 0) moments.splice(0, k);
}

/** `pruneWindow` on every list of a stored line. */
function pruneLine(lists: number[][], now: number, windowMs: number): void {
  for (const list of lists) pruneWindow(list, now, windowMs);
}

/** The moments in the window ending at or after `now`: those a window old at `now` no longer count. */
const fromWindowOf = (moments: readonly number[], now: number, windowMs: number): number[] => moments.filter((m) => m > now - windowMs);

/** Removes one occurrence of `at` (`moments` ascending; changed in place); false when there is none. */
function removeOne(moments: number[], at: number): boolean {
  const i = moments.indexOf(at);
  if (i < 0) return false;
  moments.splice(i, 1);
  return true;
}

/** `moments` without `some` of them, e.g. the follow-ups' still waiting (both ascending; neither changed). */
function without(moments: readonly number[], some: readonly number[]): number[] {
  if (some.length === 0) return [...moments];
  const out: number[] = [];
  let k = 0;
  for (const m of moments) {
    if (k < some.length && m === some[k]) {
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
export function overallTakeIn(moments: number[], req: OverallTake, yielding: number[] = [], ahead: number[] = []): number {
  const earliest = Math.max(req.now, req.notBefore ?? req.now);
  if (req.max <= 0) return earliest;
  pruneLine([moments, yielding, ahead], req.now, req.windowMs);
  // A first message does not count the follow-ups still waiting: they ask again before they leave.
  const counted = fromWindowOf(req.yields ? moments : without(moments, yielding), req.now, req.windowMs);
  const at = aWindowAfterMaxthLatest(counted, earliest, req.max, req.windowMs);
  insertSorted(moments, at);
  if (req.yields && at > req.now) insertSorted(yielding, at);
  // Placed later than asked: it asks again before it leaves.
  if (!req.yields && at > earliest) insertSorted(ahead, at);
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
 * within a second of the last of those. It keeps `now` when every window it falls in holds fewer than
 * `max` others, else moves to the earliest moment where they do. A first message's moment placed later
 * than asked (`ahead`) is not counted where it is later than this one: it asks again before it leaves.
 * One that is to leave at its moment is counted wherever it is: a retake asks for a moment a little
 * ahead of now (the store's answer time), and a request asked later may be answered an earlier one.
 */
export function overallRetakeIn(moments: number[], req: OverallRetake, yielding: number[] = [], ahead: number[] = []): number {
  if (req.max <= 0) return req.now;
  pruneLine([moments, yielding, ahead], req.now, req.windowMs);
  removeOne(moments, req.from);
  // Its own moment among its kind's (or, where none is left of its kind, another's): where it is not
  // known whose it was, the mark that goes is the one that counts less.
  if (req.yields) removeOne(yielding, req.from);
  else removeOne(ahead, req.from);
  marksWithin(moments, yielding, ahead, req.from);
  // Follow-ups still waiting have not left: each asks again before it does, and counts this one then.
  const counted = fromWindowOf(without(moments, yielding), req.now, req.windowMs);
  let at = req.now;
  if (req.yields) {
    // A follow-up keeps every window it falls in below `max` with the first messages still ahead in it
    // too: none of them counted it.
    at = aWindowAfterMaxthLatest(counted, req.now, req.max, req.windowMs);
  } else {
    at = firstRoomFrom(counted, ahead, req.now, req.max, req.windowMs);
  }
  insertSorted(moments, at);
  if (req.yields && at > req.now) insertSorted(yielding, at);
  if (!req.yields && at > req.now) insertSorted(ahead, at);
  return at;
}

/**
 * The earliest moment from `now` where every window it falls in holds fewer than `max` of `counted`
 * (ascending), not counting those of `ahead` (a part of `counted`) that are later than it.
 */
function firstRoomFrom(counted: readonly number[], ahead: readonly number[], now: number, max: number, windowMs: number): number {
  let at = now;
  // Each round passes at least one moment: no more rounds than moments.
  for (let round = 0; round <= counted.length; round++) {
    // The moments that count for `at`: all up to it, and the later ones within a window that leave at theirs.
    const near = without(
      counted.filter((m) => m < at + windowMs),
      ahead.filter((m) => m > at && m < at + windowMs),
    );
    const within = (end: number) => {
      let first = 0;
      while (first < near.length && near[first]! <= end - windowMs) first++;
      let last = first;
      while (last < near.length && near[last]! <= end) last++;
      return { first, n: last - first };
    };
    const here = within(at);
    if (here.n >= max) {
      // Past the oldest moments until fewer than `max` are left in the window ending at it.
      at = near[here.first + here.n - max]! + windowMs;
      continue;
    }
    // A later window it falls in, full already: it can only go after that window's end.
    const full = near.find((m) => m > at && within(m).n >= max);
    if (full === undefined) break;
    at = full + 1;
  }
  return at;
}

/**
 * The request whose moment was `at` was answered at `answeredAt`: it counts from then when that is later
 * (changes `moments`). Moments are interchangeable, so any one at `at` moves. False when none is there
 * (it was pruned).
 */
export function overallAnsweredIn(moments: number[], at: number, answeredAt: number, yielding: number[] = [], ahead: number[] = []): boolean {
  if (answeredAt <= at) return false;
  if (!removeOne(moments, at)) return false;
  // It left: a mark at `at` belongs to another request still there, if any is left there.
  marksWithin(moments, yielding, ahead, at);
  insertSorted(moments, answeredAt);
  return true;
}

/** Drops marks at `value` beyond the moments left there, an `ahead` mark first (it is the one that counts less). */
function marksWithin(moments: readonly number[], yielding: number[], ahead: number[], value: number): void {
  const left = moments.filter((m) => m === value).length;
  while (yielding.filter((m) => m === value).length + ahead.filter((m) => m === value).length > left) {
    if (!removeOne(ahead, value)) removeOne(yielding, value);
  }
}

/** How long the list is worth keeping (ms): until its latest moment is a window old. */
export function overallExpiry(moments: readonly number[], now: number, windowMs: number): number {
  return Math.max(1, Math.ceil((moments[moments.length - 1] ?? now) - now + windowMs + OVERALL_KEPT_PAST_WINDOW_MS));
}

/**
 * The stored line: every moment; those of them that are follow-ups' still ahead; and those that are
 * first messages' placed later than they asked, which ask again before they leave.
 */
export interface OverallMoments {
  moments: number[];
  yielding: number[];
  ahead: number[];
}

const numbersOf = (list: unknown): number[] =>
  Array.isArray(list) ? list.filter((x): x is number => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b) : [];

/** The parsed moments of a stored line; anything unreadable is an empty line (soft state, like the chat lines). */
export function parseOverall(value: unknown): number[] {
  return parseOverallLine(value).moments;
}

/** The parsed stored line; a mark on a moment that is not there (or marked already) is dropped. */
export function parseOverallLine(value: unknown): OverallMoments {
  const o = value && typeof value === 'object' ? (value as { moments?: unknown; yielding?: unknown; ahead?: unknown }) : {};
  const moments = numbersOf(o.moments);
  const left = [...moments];
  const yielding = numbersOf(o.yielding).filter((m) => removeOne(left, m));
  const ahead = numbersOf(o.ahead).filter((m) => removeOne(left, m));
  return { moments, yielding, ahead };
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
    take: (req) => (req.max <= 0 ? Promise.resolve(overallTakeIn([], req)) : run(req.now, req.windowMs, (l) => overallTakeIn(l.moments, req, l.yielding, l.ahead))),
    retake: (req) => (req.max <= 0 ? Promise.resolve(req.now) : run(req.now, req.windowMs, (l) => overallRetakeIn(l.moments, req, l.yielding, l.ahead))),
    answered: async (at, answeredAt, windowMs) => {
      if (answeredAt > at) await run(answeredAt, windowMs, (l) => overallAnsweredIn(l.moments, at, answeredAt, l.yielding, l.ahead), (moved) => moved);
    },
  };
}

/** In this process only: for tests, and for a deployment with one process. */
export function memoryOverallLine(): OverallSendLine {
  let line: OverallMoments = { moments: [], yielding: [], ahead: [] };
  return overallLineOn({
    // One thread and no await inside: nobody changes the list meanwhile.
    change: async (decide) => {
      const next = { moments: [...line.moments], yielding: [...line.yielding], ahead: [...line.ahead] };
      const { result, changed } = decide(next);
      if (changed) line = next;
      return result;
    },
  });
}
