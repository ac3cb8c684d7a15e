/**
 * The send slots of each chat, shared by every process: a messenger's per-chat limit holds only if all
 * the bots and workers that send to a chat see the same line. Telegram's (Bots FAQ): in one chat avoid
 * more than one message a second, "we may allow short bursts that go over this limit"; in a group, no
 * more than 20 a minute. So a private chat's line is a token bucket — up to `burst` messages at once,
 * refilled one an interval — kept as GCRA, the virtual-scheduling form of the same bucket: a send at `t`
 * conforms when `t ≥ TAT − τ`, with TAT the theoretical arrival time after the sends before it and the
 * tolerance τ = (burst − 1) × interval; then TAT = max(TAT, t) + interval. A group has a burst of one
 * (Telegram documents none): one message an interval. The Bot API stand-in enforces the same bucket
 * (src/sandbox/bot-api-limits.ts), and a test runs it over what these decisions admit.
 *
 * One chat's line is small (its recent sends, the slots reserved in it), so it is kept as one value and
 * changed by compare-and-set: read it, decide with the pure functions below, write it back only if
 * nobody changed it meanwhile (else read again). The same decisions run on every store: Redis when the
 * queue runs on Redis, a PostgreSQL row on the Redis-less backend, a Map in a test.
 *
 * A slot is reserved when a send is scheduled (the send job is delayed until it), and taken right before
 * the request leaves. Every decision admits a moment only where the chat's sends and the slots it must
 * respect, the new one among them, stay within the bucket: the new moment itself conforms, and no send
 * or slot that conformed stops conforming (`fit`). Urgent sends (escalations, deadlines) line up among
 * themselves and take the earliest such moment among other urgent ones; routine slots not yet due move
 * later to keep within the bucket with them, never earlier. All times are epoch milliseconds from the
 * caller's clock (the messenger's and the queue's real time).
 */
import { memoryOverallLine, type OverallSendLine } from './overall-line.js';

/** One reserved slot. */
export interface ChatSlot {
  at: number;
  urgent: boolean;
}

/** A chat's line. */
export interface ChatLine {
  /**
   * The bucket's state after the sends folded out of `sent` (all older than every send still in it): their
   * theoretical arrival time (ms; 0 for none). A 429 raises it so that nothing goes before its end.
   */
  tat: number;
  /** The chat's recent sends, ascending: the moment each was taken (or, answered late, was answered). */
  sent: number[];
  slots: Record<string, ChatSlot>;
}

/** The chat's limits (the messenger's, as its gateway states them). */
export interface ChatSpacing {
  /** Milliseconds per message to one private chat: the bucket's refill interval. */
  perChatMs: number;
  /** Milliseconds between two messages to one group. */
  perGroupMs: number;
  /** Messages one private chat may get at once, the bucket's capacity (default 1: none over the interval). */
  perChatBurst?: number | undefined;
}

/** One chat's bucket: a message per `intervalMs`, up to `burst` at once. */
export interface ChatPace {
  intervalMs: number;
  burst: number;
}

export interface ReserveRequest {
  key: string;
  /** Not before this (a notice's notBefore, or now). */
  earliest: number;
  urgent: boolean;
  now: number;
}

export interface TakeRequest {
  /** The slot's owner (an outbox id); absent for a reply, which takes the chat's next free moment. */
  key?: string | undefined;
  urgent: boolean;
  now: number;
  /** Longest the caller will wait in place; a later slot is kept for `key` and not taken. */
  maxWaitMs: number;
}

/** `take`: the moment the message may leave (`taken`), or the slot to come back for. */
export interface TakeResult {
  taken: boolean;
  at: number;
}

export interface ReserveResult {
  at: number;
  /** Routine slots moved later to make room for an urgent one: their jobs must wait until then. */
  moved: Array<{ key: string; at: number }>;
}

/**
 * The second moment of a notice that takes two messages in its chat (a card brought up to date, then the
 * event that replies to it) is reserved under its key with this suffix; a keyed take whose own slot was
 * used takes this one.
 */
export const SECOND_MESSAGE = '~2';

/**
 * Slots due this soon are spoken for: their jobs may be leaving now, so an urgent slot lines up after
 * them rather than moving them (milliseconds).
 */
export const COMMITTED_MS = 250;

/** Slots this far past their time were abandoned (the job ended another way): dropped (ms). */
export const SLOT_TTL_MS = 10 * 60_000;

/**
 * Sends older than this (ms) are folded into the line's `tat`: by then their answers are in (a request
 * times out after 5 s), so nothing moves them any more, and every later send is newer than they are.
 */
export const FOLD_AFTER_MS = 30_000;

export function emptyLine(): ChatLine {
  return { tat: 0, sent: [], slots: {} };
}

export function paceOf(chatId: number, spacing: ChatSpacing): ChatPace {
  return chatId < 0 ? { intervalMs: spacing.perGroupMs, burst: 1 } : { intervalMs: spacing.perChatMs, burst: Math.max(1, Math.floor(spacing.perChatBurst ?? 1)) };
}

/** The bucket's tolerance τ (ms): how far ahead of the steady rate a send may come. */
export function toleranceOf(pace: ChatPace): number {
  return (Math.max(1, pace.burst) - 1) * pace.intervalMs;
}

/**
 * GCRA over `points` (ascending) from `tat`: whether each conforms, and the TAT after them all. A point
 * that does not conform counts all the same (it was sent, or is planned): the bucket owes it.
 */
export function runBucket(tat: number, points: readonly number[], pace: ChatPace): { ok: boolean[]; tat: number } {
  const tau = toleranceOf(pace);
  const ok: boolean[] = [];
  let x = tat;
  for (const p of points) {
    ok.push(p >= x - tau);
    x = Math.max(x, p) + pace.intervalMs;
  }
  return { ok, tat: x };
}

/** Index of the first point > `x` (points ascending). */
function after(points: readonly number[], x: number): number {
  let lo = 0;
  let hi = points.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (points[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The earliest moment ≥ `start` that a new send may take among `points` (ascending; the sends and the
 * slots it must respect) from `tat`: it conforms, and every point that conformed without it still does.
 * A scan that only moves later: to `TAT − τ` when the new send would come too soon after the points
 * before it (no earlier moment can do, as that TAT only grows with the moment), or to a point it would
 * push out of the bucket (while it stays before that point, that point's TAT only grows too). A new send
 * counts after the points at its own moment.
 */
export function fit(tat: number, points: readonly number[], start: number, pace: ChatPace): number {
  const T = pace.intervalMs;
  if (T <= 0) return Math.max(start, tat);
  const tau = toleranceOf(pace);
  const before = runBucket(tat, points, pace).ok;
  let x = start;
  for (let step = 0; step <= 2 * points.length + 2; step++) {
    const k = after(points, x);
    let y = tat;
    for (let i = 0; i < k; i++) y = Math.max(y, points[i]!) + T;
    if (x < y - tau) {
      x = y - tau;
      continue;
    }
    y = Math.max(y, x) + T;
    let pushed = -1;
    for (let i = k; i < points.length; i++) {
      if (before[i] && points[i]! < y - tau) {
        pushed = i;
        break;
      }
      y = Math.max(y, points[i]!) + T;
    }
    if (pushed < 0) return x;
    x = points[pushed]!;
  }
  // Not reached (each step passes a point or settles); after everything is always within the bucket.
  const end = runBucket(tat, points, pace).tat - tau;
  return Math.max(start, points[points.length - 1] ?? start, end);
}

function insertSorted(list: number[], x: number): void {
  list.splice(after(list, x), 0, x);
}

function removeOne(list: number[], x: number): boolean {
  const i = after(list, x) - 1;
  if (i < 0 || list[i] !== x) return false;
  list.splice(i, 1);
  return true;
}

const sortedAts = (list: Iterable<number>): number[] => [...list].sort((a, b) => a - b);

/** Drops abandoned slots, and folds sends older than FOLD_AFTER_MS into `tat`. */
function prune(line: ChatLine, now: number, pace: ChatPace): void {
  for (const [k, s] of Object.entries(line.slots)) if (s.at < now - SLOT_TTL_MS) delete line.slots[k];
  foldUntil(line, now - FOLD_AFTER_MS, pace);
}

/** Folds the sends before `until` into `tat`. */
function foldUntil(line: ChatLine, until: number, pace: ChatPace): void {
  let k = 0;
  while (k < line.sent.length && line.sent[k]! < until) {
    line.tat = Math.max(line.tat, line.sent[k]!) + pace.intervalMs;
    k++;
  }
  if (k > 0) line.sent.splice(0, k);
}

/**
 * Reserves a slot for `key` (changes `line`). A key that holds one keeps it. Routine: the end of the
 * line, not before any slot in it. Urgent: the earliest moment among the other urgent slots and the
 * slots already due, ahead of routine ones, which move later (each keeps its order and stays within the
 * bucket after the ones before it).
 */
export function reserveIn(line: ChatLine, req: ReserveRequest, pace: ChatPace): ReserveResult {
  prune(line, req.now, pace);
  const held = line.slots[req.key];
  if (held) return { at: held.at, moved: [] };
  const start = Math.max(req.now, req.earliest);
  const all = Object.values(line.slots);
  if (!req.urgent) {
    const last = all.reduce((t, s) => Math.max(t, s.at), start);
    const at = fit(line.tat, sortedAts([...line.sent, ...all.map((s) => s.at)]), last, pace);
    line.slots[req.key] = { at, urgent: false };
    return { at, moved: [] };
  }
  const fixed = all.filter((s) => s.urgent || s.at <= req.now + COMMITTED_MS).map((s) => s.at);
  const at = fit(line.tat, sortedAts([...line.sent, ...fixed]), start, pace);
  line.slots[req.key] = { at, urgent: true };
  return { at, moved: relayRoutine(line, req.now, pace) };
}

/** Routine slots not yet due, in their order, each within the bucket with the urgent ones and those before it; none earlier than it was. */
function relayRoutine(line: ChatLine, now: number, pace: ChatPace): Array<{ key: string; at: number }> {
  const entries = Object.entries(line.slots);
  const routine = entries.filter(([, s]) => !s.urgent && s.at > now + COMMITTED_MS).sort((a, b) => a[1].at - b[1].at);
  const laid = sortedAts([...line.sent, ...entries.filter(([, s]) => s.urgent || s.at <= now + COMMITTED_MS).map(([, s]) => s.at)]);
  const moved: Array<{ key: string; at: number }> = [];
  let prev = -Infinity;
  for (const [key, s] of routine) {
    const at = fit(line.tat, laid, Math.max(s.at, prev), pace);
    if (at !== s.at) {
      s.at = at;
      moved.push({ key, at });
    }
    insertSorted(laid, at);
    prev = at;
  }
  return moved;
}

/**
 * Right before a request: takes the chat at the earliest moment the bucket allows, when the caller can
 * wait that long (changes `line`: the moment joins the chat's sends, and the key's slot is used up). A
 * keyed send that comes before its slot (it was moved for an urgent one), or would push another key's
 * urgent slot out of the bucket, is not taken: it gets its slot, kept for it. A reply (no key) yields to
 * nothing but the chat's sends: the person is waiting.
 */
export function takeIn(line: ChatLine, req: TakeRequest, pace: ChatPace): TakeResult {
  prune(line, req.now, pace);
  // The key's first slot, else (its first message went) its second.
  const key = req.key !== undefined && !line.slots[req.key] && line.slots[req.key + SECOND_MESSAGE] ? req.key + SECOND_MESSAGE : req.key;
  req = { ...req, key };
  const own = req.key !== undefined ? line.slots[req.key] : undefined;
  const start = own && own.at > req.now ? own.at : req.now;
  const obstacles =
    req.key !== undefined && !req.urgent
      ? Object.entries(line.slots)
          .filter(([k, s]) => k !== req.key && s.urgent)
          .map(([, s]) => s.at)
      : [];
  const at = fit(line.tat, sortedAts([...line.sent, ...obstacles]), start, pace);
  if (at - req.now > req.maxWaitMs) {
    if (req.key !== undefined) line.slots[req.key] = { at, urgent: req.urgent };
    return { taken: false, at };
  }
  insertSorted(line.sent, at);
  if (req.key !== undefined) delete line.slots[req.key];
  return { taken: true, at };
}

/**
 * The moment taken at `from` went by while the caller got ready (its row's claim took a while): it
 * leaves now instead, if no other send took the chat after it meanwhile (moving the last send later
 * keeps the bucket); else it gives up `from` and takes the earliest moment from now the bucket allows,
 * when it can wait that long (changes `line` when taken).
 */
export function retakeIn(line: ChatLine, req: { from: number; now: number; maxWaitMs: number }, pace: ChatPace): TakeResult {
  const last = line.sent[line.sent.length - 1];
  if (last === req.from) {
    line.sent[line.sent.length - 1] = Math.max(req.from, req.now);
    return { taken: true, at: req.now };
  }
  const had = removeOne(line.sent, req.from);
  const at = fit(line.tat, line.sent, req.now, pace);
  if (at - req.now > req.maxWaitMs) {
    if (had) insertSorted(line.sent, req.from);
    return { taken: false, at };
  }
  insertSorted(line.sent, at);
  return { taken: true, at };
}

/**
 * A message to the chat was answered at `at` (the messenger had it by then): the send taken at `from`
 * counts from `at` instead. Without `from`, or when it is no longer in the line, the answer counts as
 * one more send (more than the truth, never less).
 */
export function answeredIn(line: ChatLine, at: number, pace: ChatPace, from?: number): void {
  if (from !== undefined && removeOne(line.sent, from)) {
    insertSorted(line.sent, Math.max(from, at));
    return;
  }
  if (pace.intervalMs > 0) insertSorted(line.sent, at);
}

/** After a 429: nothing goes to the chat before `until`, and the bucket is empty then (one message, then one an interval). */
export function holdIn(line: ChatLine, until: number, pace: ChatPace): void {
  foldUntil(line, until + 1, pace);
  line.tat = Math.max(line.tat, until + toleranceOf(pace));
}

/**
 * Milliseconds until a reply could take the chat (a reply yields to nothing but the chat's sends), without
 * taking it: what a reply would wait in place. Reads a copy; `line` is not changed.
 */
export function replyQuietIn(line: ChatLine, now: number, pace: ChatPace): number {
  const copy: ChatLine = { tat: line.tat, sent: [...line.sent], slots: {} };
  foldUntil(copy, now - FOLD_AFTER_MS, pace);
  return Math.max(0, fit(copy.tat, copy.sent, now, pace) - now);
}

/** Gives up a key's slot without sending. */
export function releaseIn(line: ChatLine, key: string): void {
  delete line.slots[key];
}

/** How long a line is worth keeping after its last use (ms): until its bucket is full again and its latest slot is past, plus the TTL. */
export function lineExpiry(line: ChatLine, now: number, pace: ChatPace): number {
  const last = Object.values(line.slots).reduce((t, s) => Math.max(t, s.at), runBucket(line.tat, line.sent, pace).tat);
  return Math.max(last, now) + SLOT_TTL_MS - now;
}

// ---------------------------------------------------------------------------------------------
// The port, and the store-independent part of every implementation.

/**
 * Per-chat send slots shared by every process of a deployment (the Telegram gateway's `ChatSlotStore`).
 * `spacing` is told once by the gateway, the one module that knows the messenger's limits; until then
 * (a deployment without Telegram) nothing is spaced.
 */
export interface ChatSendSlots {
  readonly kind: 'redis' | 'postgres' | 'memory';
  spacing: ChatSpacing | undefined;
  reserve(chatId: number, req: ReserveRequest): Promise<ReserveResult>;
  take(chatId: number, req: TakeRequest): Promise<TakeResult>;
  retake(chatId: number, req: { from: number; now: number; maxWaitMs: number }): Promise<TakeResult>;
  /** The send taken at `from` was answered at `at`: it counts from then (without `from`: one more send at `at`). */
  answered(chatId: number, at: number, from?: number): Promise<void>;
  hold(chatId: number, until: number): Promise<void>;
  release(chatId: number, key: string): Promise<void>;
  /** Milliseconds a reply to the chat would wait now (nothing is taken). */
  quietIn(chatId: number, now: number): Promise<number>;
  /** The overall line (every chat together), in the same store. */
  readonly overall: OverallSendLine;
  close(): Promise<void>;
}

/** One chat's stored line with its version, for compare-and-set. */
export interface StoredLine {
  line: ChatLine;
  /** Opaque: what the store compares on write (the JSON text, or a row version). Undefined: no line yet. */
  version: string | number | undefined;
}

/** What a store provides: read a line, and write it only if it is still the version read. */
export interface LineStore {
  read(chatId: number): Promise<StoredLine>;
  /** False when someone else wrote the line since `version` was read. `ttlMs`: how long it is worth keeping. */
  write(chatId: number, version: StoredLine['version'], line: ChatLine, ttlMs: number): Promise<boolean>;
  close(): Promise<void>;
}

export class ChatSlotsContention extends Error {
  override readonly name = 'ChatSlotsContention';
}

/** Reads, decides and writes back, again while another process wrote the line in between. */
export function sharedChatSendSlots(kind: ChatSendSlots['kind'], store: LineStore, overall: OverallSendLine): ChatSendSlots {
  async function change<T>(chatId: number, now: number, decide: (line: ChatLine, pace: ChatPace) => T): Promise<T> {
    const pace = paceOf(chatId, slots.spacing ?? { perChatMs: 0, perGroupMs: 0 });
    for (let i = 0; i < 50; i++) {
      const { line, version } = await store.read(chatId);
      const result = decide(line, pace);
      if (await store.write(chatId, version, line, lineExpiry(line, now, pace))) return result;
      // Several processes on one chat at once: a moment's random pause keeps them from colliding again.
      if (i > 0) await new Promise((r) => setTimeout(r, Math.random() * Math.min(20, 2 * i)));
    }
    throw new ChatSlotsContention(`chat line ${chatId}: 50 conflicting writes in a row`);
  }
  const unspaced = () => slots.spacing === undefined;
  const slots: ChatSendSlots = {
    kind,
    spacing: undefined,
    reserve: async (chatId, req) => (unspaced() ? { at: Math.max(req.now, req.earliest), moved: [] } : change(chatId, req.now, (l, p) => reserveIn(l, req, p))),
    take: async (chatId, req) => (unspaced() ? { taken: true, at: req.now } : change(chatId, req.now, (l, p) => takeIn(l, req, p))),
    retake: async (chatId, req) => (unspaced() ? { taken: true, at: req.now } : change(chatId, req.now, (l, p) => retakeIn(l, req, p))),
    answered: async (chatId, at, from) => {
      if (!unspaced()) await change(chatId, at, (l, p) => answeredIn(l, at, p, from));
    },
    hold: async (chatId, until) => {
      if (!unspaced()) await change(chatId, until, (l, p) => holdIn(l, until, p));
    },
    release: async (chatId, key) => {
      if (!unspaced()) await change(chatId, Date.now(), (l) => releaseIn(l, key));
    },
    quietIn: async (chatId, now) => {
      if (unspaced()) return 0;
      const { line } = await store.read(chatId);
      return replyQuietIn(line, now, paceOf(chatId, slots.spacing!));
    },
    overall,
    close: () => store.close(),
  };
  return slots;
}

/**
 * The parsed form of a stored line; anything unreadable is an empty line (the slots are soft state). A
 * line written before the bucket (`freeAt`: the last send + the interval) reads as that TAT.
 */
export function parseLine(text: string | null | undefined): ChatLine {
  if (!text) return emptyLine();
  try {
    const v = JSON.parse(text) as Partial<ChatLine> & { freeAt?: unknown };
    const tat = typeof v.tat === 'number' ? v.tat : typeof v.freeAt === 'number' ? v.freeAt : 0;
    const sent = Array.isArray(v.sent) ? v.sent.filter((x): x is number => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b) : [];
    return { tat, sent, slots: v.slots && typeof v.slots === 'object' ? v.slots : {} };
  } catch {
    return emptyLine();
  }
}

/** In this process only: for tests, and for a deployment with one process. */
export function memoryChatSendSlots(): ChatSendSlots {
  const lines = new Map<number, string>();
  return sharedChatSendSlots('memory', {
    read: async (chatId) => {
      const text = lines.get(chatId);
      return { line: parseLine(text), version: text };
    },
    write: async (chatId, version, line) => {
      if (lines.get(chatId) !== version) return false;
      lines.set(chatId, JSON.stringify(line));
      return true;
    },
    close: async () => undefined,
  }, memoryOverallLine());
}
