/**
 * The send slots of each chat, shared by every process: a messenger's per-chat limit (Telegram: 1 a
 * second to one chat, 20 a minute to one group) holds only if all the bots and workers that send to a
 * chat see the same line. One chat's line is small (when it is free next, and the slots reserved in it),
 * so it is kept as one value and changed by compare-and-set: read it, decide with the pure functions
 * below, write it back only if nobody changed it meanwhile (else read again). The same decisions run on
 * every store: Redis when the queue runs on Redis, a PostgreSQL row on the Redis-less backend, a Map in
 * a test.
 *
 * A slot is reserved when a send is scheduled (the send job is delayed until it), and taken right before
 * the request leaves. Urgent sends (escalations, deadlines) line up among themselves and take the
 * earliest slot that keeps the interval from other urgent ones; routine slots not yet due move later to
 * keep clear of them, never earlier. All times are epoch milliseconds from the caller's clock (the
 * messenger's and the queue's real time).
 */

/** One reserved slot. */
export interface ChatSlot {
  at: number;
  urgent: boolean;
}

/** A chat's line. */
export interface ChatLine {
  /** The earliest the chat's next message may leave: the last one + the interval, or a 429's end. */
  freeAt: number;
  slots: Record<string, ChatSlot>;
}

/** The chat's intervals, in milliseconds (the messenger's limits, as its gateway states them). */
export interface ChatSpacing {
  perChatMs: number;
  perGroupMs: number;
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
 * Slots due this soon are spoken for: their jobs may be leaving now, so an urgent slot lines up after
 * them rather than moving them (milliseconds).
 */
export const COMMITTED_MS = 250;

/** Slots this far past their time were abandoned (the job ended another way): dropped (ms). */
export const SLOT_TTL_MS = 10 * 60_000;

export function emptyLine(): ChatLine {
  return { freeAt: 0, slots: {} };
}

export function intervalOf(chatId: number, spacing: ChatSpacing): number {
  return chatId < 0 ? spacing.perGroupMs : spacing.perChatMs;
}

function prune(line: ChatLine, now: number): void {
  for (const [k, s] of Object.entries(line.slots)) if (s.at < now - SLOT_TTL_MS) delete line.slots[k];
}

/** The first moment ≥ `t` that keeps `interval` from every slot in `others`. */
function clearOf(t: number, others: readonly ChatSlot[], interval: number): number {
  for (let moved = true; moved; ) {
    moved = false;
    for (const o of others) {
      if (t > o.at - interval && t < o.at + interval) {
        t = o.at + interval;
        moved = true;
      }
    }
  }
  return t;
}

/**
 * Reserves a slot for `key` (changes `line`). A key that holds one keeps it. Routine: the end of the
 * line. Urgent: after the other urgent slots and the slots already due, ahead of routine ones, which
 * move later (each keeps its order and the interval after the one before it).
 */
export function reserveIn(line: ChatLine, req: ReserveRequest, interval: number): ReserveResult {
  prune(line, req.now);
  const held = line.slots[req.key];
  if (held) return { at: held.at, moved: [] };
  const start = Math.max(req.now, req.earliest, line.freeAt);
  const all = Object.values(line.slots);
  if (!req.urgent) {
    const at = all.reduce((t, s) => Math.max(t, s.at + interval), start);
    line.slots[req.key] = { at, urgent: false };
    return { at, moved: [] };
  }
  const fixed = all.filter((s) => s.urgent || s.at <= req.now + COMMITTED_MS);
  const at = clearOf(start, fixed, interval);
  line.slots[req.key] = { at, urgent: true };
  return { at, moved: relayRoutine(line, req.now, interval) };
}

/** Routine slots not yet due, in their order, each clear of the urgent ones and an interval after the one before; none earlier than it was. */
function relayRoutine(line: ChatLine, now: number, interval: number): Array<{ key: string; at: number }> {
  const urgent = Object.values(line.slots).filter((s) => s.urgent);
  const routine = Object.entries(line.slots)
    .filter(([, s]) => !s.urgent && s.at > now + COMMITTED_MS)
    .sort((a, b) => a[1].at - b[1].at);
  const moved: Array<{ key: string; at: number }> = [];
  let prev = -Infinity;
  for (const [key, s] of routine) {
    const at = clearOf(Math.max(s.at, prev + interval), urgent, interval);
    if (at !== s.at) {
      s.at = at;
      moved.push({ key, at });
    }
    prev = at;
  }
  return moved;
}

/**
 * Right before a request: takes the chat at its next free moment when the caller can wait that long
 * (changes `line`: the chat is busy for an interval from then, and the key's slot is used up). A keyed
 * send that comes before its slot (it was moved for an urgent one), or would go within an interval
 * before another key's urgent slot, is not taken: it gets its slot, kept for it. A reply (no key) yields
 * to nothing but the chat's last message: the person is waiting.
 */
export function takeIn(line: ChatLine, req: TakeRequest, interval: number): TakeResult {
  prune(line, req.now);
  const own = req.key !== undefined ? line.slots[req.key] : undefined;
  let at = Math.max(req.now, line.freeAt);
  if (own && own.at > at) at = own.at;
  if (req.key !== undefined && !req.urgent) {
    const urgentOfOthers = Object.entries(line.slots)
      .filter(([k, s]) => k !== req.key && s.urgent)
      .map(([, s]) => s);
    at = clearOf(at, urgentOfOthers, interval);
  }
  if (at - req.now > req.maxWaitMs) {
    if (req.key !== undefined) line.slots[req.key] = { at, urgent: req.urgent };
    return { taken: false, at };
  }
  line.freeAt = at + interval;
  if (req.key !== undefined) delete line.slots[req.key];
  return { taken: true, at };
}

/**
 * The moment taken at `from` went by while the caller got ready (its row's claim took a while): it
 * leaves now instead, if no other send took the chat after it meanwhile; else it waits for the chat's
 * next free moment, when it can wait that long (changes `line` when taken).
 */
export function retakeIn(line: ChatLine, req: { from: number; now: number; maxWaitMs: number }, interval: number): TakeResult {
  const untouched = line.freeAt === req.from + interval;
  const at = untouched ? req.now : Math.max(req.now, line.freeAt);
  if (at - req.now > req.maxWaitMs) return { taken: false, at };
  line.freeAt = Math.max(line.freeAt, at + interval);
  return { taken: true, at };
}

/** A message to the chat was answered at `at` (the messenger had it by then): the next waits an interval from it. */
export function answeredIn(line: ChatLine, at: number, interval: number): void {
  line.freeAt = Math.max(line.freeAt, at + interval);
}

/** After a 429: nothing goes to the chat before `until`. */
export function holdIn(line: ChatLine, until: number): void {
  line.freeAt = Math.max(line.freeAt, until);
}

/** Gives up a key's slot without sending. */
export function releaseIn(line: ChatLine, key: string): void {
  delete line.slots[key];
}

/** How long a line is worth keeping after its last use (ms): its latest slot or free moment, plus the TTL. */
export function lineExpiry(line: ChatLine, now: number): number {
  const last = Object.values(line.slots).reduce((t, s) => Math.max(t, s.at), line.freeAt);
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
  answered(chatId: number, at: number): Promise<void>;
  hold(chatId: number, until: number): Promise<void>;
  release(chatId: number, key: string): Promise<void>;
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
export function sharedChatSendSlots(kind: ChatSendSlots['kind'], store: LineStore): ChatSendSlots {
  async function change<T>(chatId: number, now: number, decide: (line: ChatLine, interval: number) => T): Promise<T> {
    const interval = intervalOf(chatId, slots.spacing ?? { perChatMs: 0, perGroupMs: 0 });
    for (let i = 0; i < 50; i++) {
      const { line, version } = await store.read(chatId);
      const result = decide(line, interval);
      if (await store.write(chatId, version, line, lineExpiry(line, now))) return result;
      // Several processes on one chat at once: a moment's random pause keeps them from colliding again.
      if (i > 0) await new Promise((r) => setTimeout(r, Math.random() * Math.min(20, 2 * i)));
    }
    throw new ChatSlotsContention(`chat line ${chatId}: 50 conflicting writes in a row`);
  }
  const unspaced = () => slots.spacing === undefined;
  const slots: ChatSendSlots = {
    kind,
    spacing: undefined,
    reserve: async (chatId, req) => (unspaced() ? { at: Math.max(req.now, req.earliest), moved: [] } : change(chatId, req.now, (l, iv) => reserveIn(l, req, iv))),
    take: async (chatId, req) => (unspaced() ? { taken: true, at: req.now } : change(chatId, req.now, (l, iv) => takeIn(l, req, iv))),
    retake: async (chatId, req) => (unspaced() ? { taken: true, at: req.now } : change(chatId, req.now, (l, iv) => retakeIn(l, req, iv))),
    answered: async (chatId, at) => {
      if (!unspaced()) await change(chatId, at, (l, iv) => answeredIn(l, at, iv));
    },
    hold: async (chatId, until) => {
      if (!unspaced()) await change(chatId, until, (l) => holdIn(l, until));
    },
    release: async (chatId, key) => {
      if (!unspaced()) await change(chatId, Date.now(), (l) => releaseIn(l, key));
    },
    close: () => store.close(),
  };
  return slots;
}

/** The parsed form of a stored line; anything unreadable is an empty line (the slots are soft state). */
export function parseLine(text: string | null | undefined): ChatLine {
  if (!text) return emptyLine();
  try {
    const v = JSON.parse(text) as Partial<ChatLine>;
    return { freeAt: typeof v.freeAt === 'number' ? v.freeAt : 0, slots: v.slots && typeof v.slots === 'object' ? v.slots : {} };
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
  });
}
