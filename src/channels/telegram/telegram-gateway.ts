/**
 * The one module that knows Telegram's limits (PITFALLS: Telegram), and the sends of the jobs. It builds
 * the API pipeline (api-pipeline.ts) that every Bot API call goes through — the jobs' sends from here,
 * and the handlers' replies, whose telegraf client the bot points at the same pipeline — so both share
 * one per-chat spacing, one pacer, one reading of `retry_after` and one set of error classes:
 * - about 30 bulk notifications a second overall (the Bots FAQ: "If you're sending bulk notifications to
 *   multiple users, the API will not allow more than 30 messages per second or so"): the send queue's
 *   BullMQ limiter (`SEND_QUEUE_LIMITER`), which holds across every worker process. BullMQ counts a fixed
 *   window and Telegram a sliding second, so the limiter lets one job start every 34 ms rather than 30 at
 *   the top of each second; right before each request the deployment's shared overall line
 *   (`chatSlots.overall`, src/jobs/overall-line.ts: every process's requests in one sliding second)
 *   absorbs the jitter between a job's start and its request. Without it, or should it fail, this
 *   process's own sliding-window pacer holds, seeing only its own sends. A reply in a private chat
 *   answers the person's own update: it is not a bulk notification, and is held to its chat's limit only
 *   (in a group it takes its place in the second too);
 * - 1 a second to one chat and 20 a minute to one group (BullMQ's per-group limits are a paid feature):
 *   with `chatSlots` (the deployment's shared send lines, next to the queue: Redis or PostgreSQL) every
 *   bot and worker process takes each message's moment from the same line of its chat, the jobs' sends
 *   and the replies alike, so two processes never exceed it together. The send scheduler reserved a
 *   job's slot when it queued the job; here, right before the request, the slot is taken: a keyed send
 *   (`spacingKey`) that finds the chat taken for longer than a moment, or comes before its slot (an
 *   urgent one took it), gets `ChatSlotAhead` with its slot and comes back then. A reply waits its turn
 *   in place: after the chat's last message, whoever sent it (a second message of one answer too); a
 *   reply that edits a message in place is not held back.
 *   Should the shared line fail (Redis away), or without `chatSlots` (tests of one process), the
 *   process's own spacing below holds instead: there replies among themselves are not spaced;
 * - 429 → the chat is held for `retry_after`; a job's send throws TelegramRateLimited(retryAfterSeconds)
 *   (the queue waits), a reply waits a short one out in place (rate-limited-replies.ts). 403 →
 *   TelegramBlocked; 5xx, network errors and timeouts → TelegramTransient (retried with backoff). The
 *   caller maps them to BullMQ signals.
 * The jobs' requests go over HTTP (fetch) to the configured API root, so tests and the sandbox point it
 * at the stand-in server.
 */
import type { InlineKeyboardMarkup } from 'telegraf/types';
import {
  ApiPipeline,
  ChatSlotAhead,
  chatIdOf,
  countSends,
  MESSAGE_METHODS,
  networkFailure,
  pause,
  retryAfterSeconds,
  TelegramBadRequest,
  TelegramNotConfigured,
  TelegramTransient,
  type ApiCall,
  type ApiPayload,
  type ApiResponse,
  type ApiTransport,
  type CallOptions,
} from './api-pipeline.js';
import { waitOutRateLimits, type RateLimitedRepliesOptions } from './rate-limited-replies.js';

export interface OutgoingMessage {
  /** Plain text, or Telegram HTML when `parseMode` is 'HTML' (the caller escapes and fits it). */
  text: string;
  parseMode?: 'HTML';
  replyMarkup?: InlineKeyboardMarkup;
  /** Sent as a reply to this message of the chat (the recipient's card), so the notification leads there. */
  replyTo?: number;
}

export const TELEGRAM_LIMITS = {
  /** Messages a second, all chats together. */
  globalPerSecond: 30,
  /** Milliseconds between two messages to one private chat (1 a second), the steady rate of its bucket. */
  perChatIntervalMs: 1000,
  /**
   * Messages one private chat may get at once before that rate holds: the Bots FAQ asks for no more than
   * one a second in a chat but "may allow short bursts that go over this limit". The shared send lines keep
   * a token bucket of this size per private chat (src/jobs/send-slots.ts), the bucket the Bot API stand-in
   * enforces; groups get none (Telegram documents no burst there). Three: a reply, its follow-up and a
   * card in the same moment, which a person filling in a form meets all the time.
   */
  perChatBurst: 3,
  /** Milliseconds between two messages to one group (20 a minute). */
  perGroupIntervalMs: 3000,
  /** Characters in one message text. */
  maxTextLength: 4096,
} as const;

/**
 * The send queue's worker limiter: Telegram's overall ceiling, shared by all workers of the queue. One job
 * per 34 ms (29.4 a second), evenly spaced: BullMQ's limiter is a fixed window, so `{ max: 30, duration:
 * 1000 }` lets 30 jobs start at the end of one window and 30 at the start of the next — 60 within one
 * sliding second, which Telegram answers with 429 (and every 429 pauses the whole queue).
 */
export const SEND_QUEUE_LIMITER = { max: 1, duration: Math.ceil(1000 / TELEGRAM_LIMITS.globalPerSecond) } as const;

/**
 * Milliseconds a send may wait in place for its chat's slot; a longer wait is spent off the worker
 * (ChatSlotAhead). A job comes at its slot, and finds the chat free a request's round trip later than
 * planned (the line counts from the previous message's answer): that is waited, not sent back.
 */
export const MAX_INLINE_CHAT_WAIT_MS = 150;

/**
 * Milliseconds a message may leave after the moment it took, or be answered after it left, before the
 * shared line is told: within half the slack (CHAT_SLACK_MS) the next message's interval still holds.
 */
const SHARED_LATE_MS = 10;

/** The overall limit's sliding window (ms): Telegram's "30 messages per second". */
const OVERALL_WINDOW_MS = 1_000;

/**
 * Times a request asks the shared overall line again before it leaves, at most: placed later than it
 * asked, or answered by the store after the moment it gave. A slow store is asked with a longer lead
 * each time, so a few rounds settle it.
 */
const MAX_OVERALL_RETAKES = 8;
/** Longest lead a retake asks for to cover the store's own answer time (ms). */
const MAX_STORE_LEAD_MS = 1_000;
/** The lead a retake asks for after the store took `ms` to answer: half again, so a store as slow as last time is in time. */
const storeLead = (ms: number): number => Math.min(MAX_STORE_LEAD_MS, Math.ceil(ms * 1.5));
/** The lead after a retake that took `ms`: twice the last at least when the answer came after the moment it gave (`late`). */
const nextLead = (lead: number, ms: number, late: boolean): number => Math.min(MAX_STORE_LEAD_MS, Math.max(storeLead(ms), late ? 2 * lead : 0));
/** Times a send asks its chat's line and the overall line again before it leaves, at most. */
const MAX_LINE_ROUNDS = 8;
/**
 * Times a follow-up asks again while first messages keep taking the moments it was given: it leaves only
 * once a retake finds room at once (a moment still ahead is not counted by first messages).
 */
const MAX_FOLLOW_UP_RETAKES = 200;

/** Which line a call took its place in the overall second on: the shared one, this process's pacer, or none. */
type OverallPlace = 'shared' | 'own' | 'none';

/** Milliseconds a send that names no message (a card redrawn after a change) waits for its chat at most. */
const UNKEYED_MAX_WAIT_MS = 30_000;

/**
 * The deployment's shared send lines (src/jobs/send-slots.ts): one per chat, the same in every process.
 * `spacing` is the gateway's to tell: Telegram's limits are known here.
 */
export interface ChatSlotStore {
  spacing: { perChatMs: number; perGroupMs: number; perChatBurst?: number | undefined } | undefined;
  take(chatId: number, req: { key?: string | undefined; urgent: boolean; now: number; maxWaitMs: number }): Promise<{ taken: boolean; at: number }>;
  /** The moment taken at `from` went by before the request could leave: now instead, unless another send took the chat since. */
  retake(chatId: number, req: { from: number; now: number; maxWaitMs: number }): Promise<{ taken: boolean; at: number }>;
  /** The send the line gave the moment `from` was answered at `at`: it counts from then. */
  answered(chatId: number, at: number, from?: number): Promise<void>;
  hold(chatId: number, until: number): Promise<void>;
  /** Milliseconds a reply to the chat would wait now; nothing is taken. */
  quietIn(chatId: number, now: number): Promise<number>;
  /** The overall second on the same shared lines; without it each process paces on its own. */
  overall?: OverallLineStore | undefined;
}

/**
 * Telegram's overall second shared by every process that sends with the bot's token
 * (src/jobs/overall-line.ts): the moments of the requests that take their place in it.
 */
export interface OverallLineStore {
  /** Reserves the moment a request may leave (epoch ms, ≥ `now` and `notBefore`): at most `max` per sliding `windowMs`. */
  take(req: { now: number; notBefore?: number | undefined; max: number; windowMs: number; yields?: boolean | undefined }): Promise<number>;
  /**
   * Right before a request placed later than it asked leaves: its moment now, or a later one when answers
   * since moved the moments it was placed after into its second.
   */
  retake(req: { from: number; now: number; max: number; windowMs: number; yields?: boolean | undefined }): Promise<number>;
  /** The request that took `at` was answered at `answeredAt`: it counts from then when later. */
  answered(at: number, answeredAt: number, windowMs: number): Promise<void>;
}

/**
 * Milliseconds a Bot API call may take before it counts as timed out: ambiguous, the message may have been
 * delivered, so a notice is sent again marked "re-sent". Telegram answers a send once it has stored the
 * message, well under a second when it is well; when it is not, it answers 5xx or 429, or answers late and
 * has delivered all the same. Waiting longer never settles the doubt (the Bot API cannot be asked whether
 * a message arrived); it only holds an escalation back. 5 s is many times a healthy answer, so a timeout
 * means trouble, not a slow success, and the re-send of an escalation starts 5 s sooner than at 10 s.
 */
export const REQUEST_TIMEOUT_MS = 5_000;

// The error classes live with the pipeline, which turns every refusal into one of them.
export {
  ChatSlotAhead,
  TelegramBadRequest,
  TelegramBlocked,
  TelegramError,
  TelegramNotConfigured,
  TelegramRateLimited,
  TelegramTransient,
} from './api-pipeline.js';

// ---------------------------------------------------------------------------------------------

export interface TelegramGatewayOptions {
  /** e.g. https://api.telegram.org, or the stand-in server's URL. */
  apiRoot: string;
  token: string | undefined;
  /** Milliseconds before a call counts as timed out (ambiguous). Default REQUEST_TIMEOUT_MS. */
  requestTimeoutMs?: number;
  perChatIntervalMs?: number;
  perGroupIntervalMs?: number;
  /** Messages one private chat may get at once on the shared lines (default TELEGRAM_LIMITS.perChatBurst). */
  perChatBurst?: number;
  /** Milliseconds a keyed send may wait in place for its chat (default MAX_INLINE_CHAT_WAIT_MS). */
  maxInlineWaitMs?: number;
  /** Requests a second this process lets out (a sliding second); default Telegram's 30. 0: no pacing. */
  globalPerSecond?: number;
  /**
   * Interactive calls (replies): the longest 429 waited out in place and how often (default 10 s,
   * twice). The same longest wait applies to the chat's spacing and holds.
   */
  replies?: RateLimitedRepliesOptions;
  /** The deployment's shared send lines: per-chat spacing across every process (else this process's own). */
  chatSlots?: ChatSlotStore | undefined;
  /** Where a failing shared line is told (once a minute at most). */
  onSharedSlotsError?: (err: unknown) => void;
  fetch?: typeof fetch;
}

export interface CallHooks {
  /**
   * Runs once the chat's slot is at hand, right before the HTTP request (nothing but a wait of a few ms
   * between): the caller records that a request may now reach Telegram. It may return a replacement
   * message (e.g. with a "re-sent" note once it knows this is a second attempt). Throwing here cancels
   * the call. A keyed call can still be told to come back (ChatSlotAhead) after it, when another send
   * took the chat meanwhile.
   */
  beforeRequest?: () => Promise<OutgoingMessage | void>;
  /**
   * Names the message (an outbox id) so its chat slot can be reserved and claimed later: when the chat is
   * busy for longer than `maxInlineWaitMs` the call throws ChatSlotAhead instead of sleeping, and the same
   * key finds its slot when it comes back. Without a key the call waits in place.
   */
  spacingKey?: string;
  /** An escalation or reminder: takes the chat's next free slot ahead of routine messages already queued for it. */
  urgent?: boolean;
  /** The event after the card that just went: it yields the overall second to first messages (src/jobs/overall-line.ts). */
  followUp?: boolean;
}

/** Sent, with the id Telegram gave the message. */
export interface Delivered {
  messageId: number;
}

/** Milliseconds added to the per-chat interval: two requests leave 1 000 ms apart, but may arrive 995 ms apart. */
const CHAT_SLACK_MS = 20;

/** Reservations older than this (ms past their slot) were abandoned (the job ended another way). */
const RESERVATION_TTL_MS = 10 * 60_000;

/**
 * Keeps the per-chat and per-group spacing. A chat's next message may go one interval after its last
 * (`sending`), and each caller reserves a slot in the chat's line; urgent callers have a line of their own,
 * so an escalation does not queue behind a chat's routine backlog: it takes the next free slot, and a
 * routine message that would come within an interval of it yields. A keyed reservation is kept for the
 * caller to claim when it comes back. A reply (`replying`) takes the chat at once, after the last job's
 * message and any 429's hold (`quietIn`), and the jobs' messages keep an interval after it. All times
 * are epoch milliseconds.
 */
export class ChatSpacer {
  /** The earliest a message may go to the chat: its last message + the interval, or the end of a 429's wait. */
  private readonly freeAt = new Map<number, number>();
  /** The next unreserved slot of each line (`chat` routine, `chat!` urgent). */
  private readonly lineEnd = new Map<string, number>();
  /** The slot of the latest urgent message still to go to the chat: routine messages keep clear of it. */
  private readonly urgentAt = new Map<number, number>();
  private readonly reserved = new Map<string, { chatId: number; at: number; urgent: boolean }>();
  /** The earliest a reply may go: the last job's message + the interval, or the end of a 429's wait. */
  private readonly quietAt = new Map<number, number>();
  /** The end of a 429's wait for each chat: an edit waits only for this, not for the interval after a message. */
  private readonly heldAt = new Map<number, number>();

  constructor(
    private readonly perChatMs: number,
    private readonly perGroupMs: number,
  ) {}

  private intervalOf(chatId: number): number {
    return chatId < 0 ? this.perGroupMs : this.perChatMs;
  }

  /**
   * Milliseconds to wait before sending to a chat; reserves that slot (for `key`, when given, until it is
   * claimed by `sending`). A key that holds a slot gets it back, later if the chat has been used since.
   */
  reserve(chatId: number, now = Date.now(), opts: { key?: string | undefined; urgent?: boolean | undefined } = {}): number {
    const interval = this.intervalOf(chatId);
    const urgent = opts.urgent === true;
    const earliest = Math.max(now, this.freeAt.get(chatId) ?? 0);
    const mine = opts.key !== undefined ? this.reserved.get(opts.key) : undefined;
    let at: number;
    if (mine && mine.chatId === chatId) {
      at = Math.max(earliest, mine.at);
    } else {
      const line = urgent ? `${chatId}!` : String(chatId);
      at = Math.max(earliest, this.lineEnd.get(line) ?? 0);
      this.lineEnd.set(line, at + interval);
    }
    const u = this.urgentAt.get(chatId);
    if (urgent) this.urgentAt.set(chatId, Math.max(u ?? 0, at));
    else if (u !== undefined && at > u - interval) at = Math.max(at, u + interval);
    if (opts.key !== undefined) this.reserved.set(opts.key, { chatId, at, urgent });
    this.maybePrune(now);
    return at - now;
  }

  /** A message to the chat leaves now: the next one waits an interval; a keyed reservation is used up. */
  sending(chatId: number, key?: string, now = Date.now()): void {
    this.freeAt.set(chatId, Math.max(this.freeAt.get(chatId) ?? 0, now + this.intervalOf(chatId)));
    this.quietAt.set(chatId, Math.max(this.quietAt.get(chatId) ?? 0, now + this.intervalOf(chatId)));
    if (key === undefined) return;
    const r = this.reserved.get(key);
    this.reserved.delete(key);
    // The latest urgent message has gone: routine ones need not keep clear any more.
    if (r?.urgent && (this.urgentAt.get(chatId) ?? 0) <= r.at) this.urgentAt.delete(chatId);
  }

  /** Milliseconds before a reply may go to the chat: after the last job's message, or a 429's wait. */
  quietIn(chatId: number, now = Date.now()): number {
    return Math.max(0, (this.quietAt.get(chatId) ?? 0) - now);
  }

  /** How long a 429 still holds the chat (0 when none does). */
  heldIn(chatId: number, now = Date.now()): number {
    return Math.max(0, (this.heldAt.get(chatId) ?? 0) - now);
  }

  /** A reply to the chat leaves now: the jobs' next message waits an interval; other replies do not. */
  replying(chatId: number, now = Date.now()): void {
    this.freeAt.set(chatId, Math.max(this.freeAt.get(chatId) ?? 0, now + this.intervalOf(chatId)));
    this.maybePrune(now);
  }

  /** Gives up a keyed reservation without sending. */
  release(key: string): void {
    this.reserved.delete(key);
  }

  /** After a 429 for one chat, nothing goes to it before the wait is over. */
  hold(chatId: number, ms: number, now = Date.now()): void {
    this.freeAt.set(chatId, Math.max(this.freeAt.get(chatId) ?? 0, now + ms));
    this.quietAt.set(chatId, Math.max(this.quietAt.get(chatId) ?? 0, now + ms));
    this.heldAt.set(chatId, Math.max(this.heldAt.get(chatId) ?? 0, now + ms));
    const line = String(chatId);
    this.lineEnd.set(line, Math.max(this.lineEnd.get(line) ?? 0, now + ms));
  }

  private maybePrune(now: number): void {
    if (this.lineEnd.size + this.reserved.size + this.freeAt.size > 10_000) this.prune(now);
  }

  private prune(now: number): void {
    for (const [line, at] of this.lineEnd) if (at < now) this.lineEnd.delete(line);
    for (const [chat, at] of this.freeAt) if (at < now) this.freeAt.delete(chat);
    for (const [chat, at] of this.quietAt) if (at < now) this.quietAt.delete(chat);
    for (const [chat, at] of this.heldAt) if (at < now) this.heldAt.delete(chat);
    for (const [chat, at] of this.urgentAt) if (at < now - RESERVATION_TTL_MS) this.urgentAt.delete(chat);
    for (const [key, r] of this.reserved) if (r.at < now - RESERVATION_TTL_MS) this.reserved.delete(key);
  }
}

/**
 * At most `max` requests in any sliding `windowMs`, in this process: the fallback of the shared overall
 * line (src/jobs/overall-line.ts keeps the same decisions for every process). The queue's limiter spaces job
 * starts 34 ms apart; a job's work before its request varies, and so does the time a request takes to
 * arrive (the first on a new connection can take 100 ms), so two requests can reach Telegram closer than
 * their jobs started — this waits the few milliseconds that keep a sliding second at Telegram's count.
 * A request counts from when it left until it is answered, then from the answer: Telegram received it
 * somewhere in between, and the later time is the safe one.
 */
export class SendPacer {
  /** When each recent request left or, once answered, was answered; ascending. */
  private readonly sent: number[] = [];

  constructor(
    private readonly max: number,
    private readonly windowMs: number,
  ) {}

  /** Milliseconds to wait before the next request; reserves that moment. */
  reserve(now = Date.now()): number {
    if (this.max <= 0) return 0;
    this.prune(now);
    const at = this.sent.length < this.max ? now : Math.max(now, this.sent[this.sent.length - this.max]! + this.windowMs);
    this.insert(at);
    return at - now;
  }

  /**
   * A moment the shared overall line gave (no wait here): counted, so that this pacer knows the process's
   * own recent requests should it have to hold alone.
   */
  taken(at: number, now = Date.now()): void {
    if (this.max <= 0) return;
    this.prune(now);
    this.insert(at);
  }

  /** The request that left at `leftAt` was answered at `answeredAt`: it counts from then. */
  answered(leftAt: number, answeredAt = Date.now()): void {
    if (this.max <= 0 || answeredAt <= leftAt) return;
    const i = this.sent.indexOf(leftAt);
    if (i < 0) return;
    this.sent.splice(i, 1);
    this.insert(answeredAt);
  }

  private prune(now: number): void {
    let k = 0;
    while (k < this.sent.length && this.sent[k]! <= now - this.windowMs) k++;
    if (k > 0) this.sent.splice(0, k);
  }

  private insert(at: number): void {
    let i = this.sent.length;
    while (i > 0 && this.sent[i - 1]! > at) i--;
    this.sent.splice(i, 0, at);
  }
}

/** Telegram refuses longer texts; cut at the limit with an ellipsis rather than fail the send. */
export function fitText(text: string): string {
  const chars = [...text];
  return chars.length <= TELEGRAM_LIMITS.maxTextLength ? text : chars.slice(0, TELEGRAM_LIMITS.maxTextLength - 1).join('') + '…';
}

export class TelegramGateway {
  readonly requestTimeoutMs: number;
  /** Milliseconds a keyed send waits in place for its chat; longer, and it is told to come back (ChatSlotAhead). */
  readonly maxInlineWaitMs: number;
  /**
   * The one pipeline: the jobs' sends go through it from here, and the bot points every update's
   * telegraf client at it (useApiPipeline), so replies and notices share the limits below.
   */
  readonly api: ApiPipeline;
  private readonly spacer: ChatSpacer;
  private readonly shared: ChatSlotStore | undefined;
  private sharedErrorAt = 0;
  /** How long the shared overall line last took to answer a retake (ms): the lead the next one asks for. */
  private overallStoreMs = 0;
  private readonly pacer: SendPacer;
  /** Requests a sliding second, all chats together (0: no pacing). */
  private readonly globalPerSecond: number;
  /** Milliseconds an interactive call waits in place for its chat's spacing or a 429's hold. */
  private readonly interactiveMaxWaitMs: number;
  private readonly doFetch: typeof fetch;
  private readonly transport: ApiTransport;
  private calls = 0;

  constructor(private readonly opts: TelegramGatewayOptions) {
    this.requestTimeoutMs = opts.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
    this.maxInlineWaitMs = opts.maxInlineWaitMs ?? MAX_INLINE_CHAT_WAIT_MS;
    this.interactiveMaxWaitMs = opts.replies?.maxWaitMs ?? 10_000;
    // Telegram counts when a request arrives, a few ms after it leaves and not always the same few: a little slack.
    const withSlack = (ms: number) => (ms > 0 ? ms + CHAT_SLACK_MS : 0);
    const spacing = { perChatMs: withSlack(opts.perChatIntervalMs ?? TELEGRAM_LIMITS.perChatIntervalMs), perGroupMs: withSlack(opts.perGroupIntervalMs ?? TELEGRAM_LIMITS.perGroupIntervalMs) };
    this.spacer = new ChatSpacer(spacing.perChatMs, spacing.perGroupMs);
    this.shared = opts.chatSlots;
    // The burst is the shared lines' alone: this process's own spacing (the fallback) keeps one an interval.
    if (this.shared) this.shared.spacing = { ...spacing, perChatBurst: opts.perChatBurst ?? TELEGRAM_LIMITS.perChatBurst };
    // A sliding second, counted from each request's answer (Telegram had it by then).
    this.globalPerSecond = opts.globalPerSecond ?? TELEGRAM_LIMITS.globalPerSecond;
    this.pacer = new SendPacer(this.globalPerSecond, OVERALL_WINDOW_MS);
    this.doFetch = opts.fetch ?? fetch;
    this.transport = (method, payload, signal) => this.request(method, payload, signal);
    // In the order a call meets them: a reply's 429 is waited out around the limits, so the call made
    // again keeps them too; the counter sits next to the transport and counts each request once.
    this.api = new ApiPipeline([waitOutRateLimits(opts.replies), (prev, method, payload, signal, call) => this.keepLimits(prev, method, payload, signal, call), countSends]);
  }

  get configured(): boolean {
    return this.opts.token !== undefined;
  }

  async sendMessage(chatId: number, message: OutgoingMessage, hooks: CallHooks = {}): Promise<Delivered> {
    const result = (await this.bulk(
      'sendMessage',
      (m) => ({ ...this.body(chatId, m), ...(m.replyTo !== undefined ? { reply_parameters: { message_id: m.replyTo, allow_sending_without_reply: true } } : {}) }),
      message,
      hooks,
    )) as { message_id?: unknown };
    if (typeof result?.message_id !== 'number') throw new TelegramTransient('sendMessage', 0, 'answer without message_id', true);
    return { messageId: result.message_id };
  }

  /** Edits a message in place; "not modified" counts as done. */
  async editMessage(chatId: number, messageId: number, message: OutgoingMessage, hooks: CallHooks = {}): Promise<Delivered> {
    try {
      await this.bulk('editMessageText', (m) => ({ ...this.body(chatId, m), message_id: messageId }), message, hooks);
    } catch (e) {
      if (e instanceof TelegramBadRequest && e.notModified) return { messageId };
      throw e;
    }
    return { messageId };
  }

  /**
   * Waits until a reply could go to the chat (its line's next moment, when a reply would wait that long
   * in place), without taking it: a person's message is answered with a new message, and waiting for
   * it here, before the update takes its chat's lock, holds no connection other chats need.
   */
  async waitForReplyTurn(chatId: number): Promise<void> {
    const now = Date.now();
    const shared = await this.sharedDo((s) => s.quietIn(chatId, now));
    const quiet = shared ?? this.spacer.quietIn(chatId, now);
    // Longer (a 429's long hold): the reply would not wait for it either, but be tried and refused.
    if (quiet > 0 && quiet <= this.interactiveMaxWaitMs) await pause(quiet);
  }

  /** After a 429, keep this chat quiet for the time Telegram asked. */
  holdChat(chatId: number, ms: number): void {
    this.spacer.hold(chatId, ms);
    void this.sharedDo((s) => s.hold(chatId, Date.now() + ms));
  }

  /**
   * Reserves the chat's next slot for `key` ahead of the call (a send job checks before it draws its
   * message): milliseconds until it. Over `maxInlineWaitMs`, the job should come back then; the call with
   * the same `spacingKey` claims the slot.
   */
  reserveChat(chatId: number, key: string, opts: { urgent?: boolean } = {}): number {
    // Shared lines: the send scheduler reserved the slot when it queued the job, and the call takes it.
    if (this.shared) return 0;
    return this.spacer.reserve(chatId, Date.now(), { key, urgent: opts.urgent });
  }

  /**
   * One Bot API call of a job through the pipeline (a message call waits its chat's turn in place);
   * every failure becomes one of the error classes.
   */
  async call(method: string, body: Record<string, unknown>): Promise<unknown> {
    if (!this.opts.token) throw new TelegramNotConfigured();
    return this.api.call(this.transport, method, body, undefined, { mode: 'bulk' });
  }

  private body(chatId: number, message: OutgoingMessage): Record<string, unknown> {
    return {
      chat_id: chatId,
      // HTML is fitted by whole lines by its author (cutting inside a tag would be refused).
      text: message.parseMode === 'HTML' ? message.text : fitText(message.text),
      ...(message.parseMode ? { parse_mode: message.parseMode } : {}),
      ...(message.replyMarkup && message.replyMarkup.inline_keyboard.length ? { reply_markup: message.replyMarkup } : {}),
      link_preview_options: { is_disabled: true },
    };
  }

  private bulk(method: string, bodyOf: (m: OutgoingMessage) => ApiPayload, message: OutgoingMessage, hooks: CallHooks): Promise<unknown> {
    if (!this.opts.token) throw new TelegramNotConfigured();
    const before = hooks.beforeRequest;
    return this.api.call(this.transport, method, bodyOf(message), undefined, {
      mode: 'bulk',
      spacingKey: hooks.spacingKey,
      urgent: hooks.urgent,
      ...(hooks.followUp ? { followUp: true } : {}),
      ...(before
        ? {
            beforeRequest: async () => {
              const m = await before();
              return m ? bodyOf(m) : undefined;
            },
          }
        : {}),
    });
  }

  /**
   * The pipeline's step that keeps the limits: a message call to a chat waits its slot (or, in bulk
   * with a key, is told to come back), every message call waits its place in the sliding second, and a
   * 429 holds the chat for as long as Telegram asked.
   */
  private async keepLimits(prev: ApiCall, method: string, payload: ApiPayload, signal: AbortSignal | undefined, call: CallOptions): Promise<ApiResponse> {
    if (!MESSAGE_METHODS.has(method)) return prev(method, payload, signal, call);
    const chatId = chatIdOf(payload);
    // A reply that edits a message in place is not spaced against the chat's line: it adds no message and
    // makes no sound, and the person is waiting for it (the line keeps new messages 1 a second).
    if (this.shared && chatId !== undefined && (call.mode === 'bulk' || method.startsWith('send'))) {
      const shared = await this.sharedMoment(chatId, call);
      if (shared !== undefined) return this.sharedCall(prev, chatId, shared, method, payload, signal, call);
      // The shared lines failed just now: this call keeps this process's own limits, the second's too.
      if (call.mode === 'bulk') return this.spacedBulk(prev, chatId, method, payload, signal, call);
      return this.interactive(prev, chatId, method, payload, signal, call, false);
    }
    if (call.mode === 'bulk' && chatId !== undefined) return this.spacedBulk(prev, chatId, method, payload, signal, call);
    return this.interactive(prev, chatId, method, payload, signal, call, this.shared !== undefined);
  }

  /**
   * Interactive (or a message with no chat to space): the person waits for this. The chat's spacing
   * after a job's message, or a 429's hold, is waited out when short; a longer one is not waited in
   * place: the call is tried, and a refusal goes to the caller.
   */
  private async interactive(
    prev: ApiCall,
    chatId: number | undefined,
    method: string,
    payload: ApiPayload,
    signal: AbortSignal | undefined,
    call: CallOptions,
    /** Whether the shared overall line may be asked (false when the shared lines just failed). */
    sharedOverall: boolean,
  ): Promise<ApiResponse> {
    let start = Date.now();
    // An edit in place answers the person's press and adds no message: only a 429's hold delays it, not
    // the interval the chat keeps after its last new message.
    const quiet = chatId === undefined ? 0 : method.startsWith('send') ? this.spacer.quietIn(chatId, start) : this.spacer.heldIn(chatId, start);
    if (quiet > 0 && quiet <= this.interactiveMaxWaitMs) start += quiet;
    const replied = (at: number) => {
      if (chatId !== undefined) this.spacer.replying(chatId, at);
    };
    // The chat is marked before any await, so that this process's next reply to it keeps the interval.
    replied(start);
    const { at: leavesAt, place } = this.pacedOverall(chatId, call) ? await this.overallMoment(start, sharedOverall, signal) : { at: start, place: 'none' as const };
    replied(leavesAt);
    return this.leave(prev, chatId, leavesAt, method, payload, signal, call, replied, place);
  }

  /** Whether a call takes its place in the overall second: a bulk send, or anything but a reply in a private chat. */
  private pacedOverall(chatId: number | undefined, call: CallOptions): boolean {
    return call.mode === 'bulk' || chatId === undefined || chatId < 0;
  }

  /**
   * When a call that takes its place in the overall second may leave, not before `start`: its moment on
   * the shared overall line (every process's requests), or this process's pacer's when there is no
   * shared line or it failed. A moment on the shared line later than asked is waited for here and asked
   * again then (`retake`): the requests it was placed after count from their answers by now.
   */
  private async overallMoment(start: number, sharedOverall: boolean, signal: AbortSignal | undefined, yields = false): Promise<{ at: number; place: OverallPlace }> {
    const line = sharedOverall && this.globalPerSecond > 0 ? this.shared?.overall : undefined;
    if (line) {
      const takenAt = Date.now();
      // A follow-up's moment ahead of now is not counted by first messages: it must always ask again.
      const asked = yields ? takenAt : Math.max(start, takenAt);
      const at = await this.sharedDo(() => line.take({ now: takenAt, notBefore: start, ...this.overallPace(yields) }));
      if (at !== undefined) return { at: await this.keepOverallMoment(line, at, asked, Date.now() - takenAt, yields, signal), place: 'shared' };
    }
    return { at: start + this.pacer.reserve(start), place: 'own' };
  }

  private overallPace(yields: boolean) {
    return { max: this.globalPerSecond, windowMs: OVERALL_WINDOW_MS, ...(yields ? { yields } : {}) };
  }

  /**
   * Waits for the moment `at` the shared overall line gave (asked for `asked`), and returns the moment
   * the request leaves at as the line holds it: a moment later than asked is asked again once it comes
   * (`retake`: the requests it was placed after count from their answers by now), and so is one that has
   * gone by more than a few ms. A request that leaves later than the moment held would reach Telegram
   * inside the second of the request placed a window after it.
   */
  private async keepOverallMoment(line: OverallLineStore, at: number, asked: number, storeMs: number, yields: boolean, signal: AbortSignal | undefined): Promise<number> {
    let lead = storeLead(storeMs);
    for (let round = 0; round < (yields ? MAX_FOLLOW_UP_RETAKES : MAX_OVERALL_RETAKES); round++) {
      const placedLater = at > asked;
      if (at > Date.now()) await pause(at - Date.now(), signal);
      const now = Date.now();
      if (!placedLater && now - at <= SHARED_LATE_MS) break;
      const from: number = at;
      // A slow store (PostgreSQL's row lock under load) answers after the moment it gave: the moment
      // asked for is as far ahead as its last answer took, so the request leaves at the moment held.
      const leaveAt = Math.max(now + lead, asked);
      const askedAt = Date.now();
      const again = await this.sharedDo(() => line.retake({ from, now: leaveAt, ...this.overallPace(yields) }));
      if (again === undefined) break;
      this.overallStoreMs = Date.now() - askedAt;
      // Answered after the moment it gave: the next round asks twice as far ahead at least.
      lead = nextLead(lead, this.overallStoreMs, Date.now() > again);
      [at, asked] = [again, leaveAt];
    }
    this.pacer.taken(at);
    // The moment as the line holds it (a few ms gone by at most): the answer moves that one.
    return at;
  }

  /**
   * The chat's moment from the shared line: when this call may leave (taken), or — a keyed bulk send
   * that is early or finds the chat taken — ChatSlotAhead with its slot. Undefined when the line cannot
   * be reached: the process's own spacing holds instead.
   */
  private async sharedMoment(chatId: number, call: CallOptions): Promise<number | undefined> {
    const keyed = call.mode === 'bulk' && call.spacingKey !== undefined;
    const maxWaitMs = call.mode !== 'bulk' ? this.interactiveMaxWaitMs : keyed ? this.maxInlineWaitMs : UNKEYED_MAX_WAIT_MS;
    const now = Date.now();
    const r = await this.sharedDo((s) => s.take(chatId, { key: keyed ? call.spacingKey : undefined, urgent: call.urgent === true, now, maxWaitMs }));
    if (r === undefined) return undefined;
    if (r.taken) return r.at;
    if (keyed) throw new ChatSlotAhead(chatId, r.at);
    // Longer than worth waiting (a 429's long hold): the call is tried now, and a refusal goes to the caller.
    return now;
  }

  private async sharedCall(prev: ApiCall, chatId: number, at: number, method: string, payload: ApiPayload, signal: AbortSignal | undefined, call: CallOptions): Promise<ApiResponse> {
    if (at > Date.now()) await pause(at - Date.now(), signal);
    const replacement = call.mode === 'bulk' ? await call.beforeRequest?.() : undefined;
    const start = Math.max(at, Date.now());
    const overall = this.pacedOverall(chatId, call) ? await this.overallMoment(start, true, signal, call.followUp === true) : { at: start, place: 'none' as const };
    /** The moments the lines hold for this send: the chat's and the overall second's. */
    let moment = at;
    let overallAt = overall.at;
    const line = overall.place === 'shared' ? this.shared?.overall : undefined;
    const yields = call.followUp === true;
    let leavesAt = Math.max(moment, overallAt);
    // Both lines are to hold the moment the request really leaves, within a few ms: one that holds an
    // earlier moment is asked for the later one (a chat's next send keeps its interval from this one, and
    // the second's count holds), the overall line with a lead as long as its store's answer has taken,
    // as often as one of them moves it later still.
    let lead = storeLead(this.overallStoreMs);
    for (let round = 0; round < (yields ? MAX_FOLLOW_UP_RETAKES : MAX_LINE_ROUNDS); round++) {
      if (leavesAt > Date.now()) await pause(leavesAt - Date.now(), signal);
      leavesAt = Math.max(leavesAt, Date.now());
      const chatBehind = leavesAt - moment > SHARED_LATE_MS;
      const overallBehind = line !== undefined && leavesAt - overallAt > SHARED_LATE_MS;
      if (!chatBehind && !overallBehind) break;
      // Only the overall line is asked with a lead: the chat's line alone keeps the moment it is given.
      const asked = overallBehind ? leavesAt + lead : leavesAt;
      const [from, overallFrom] = [moment, overallAt];
      const chatAsked = asked - from > SHARED_LATE_MS;
      const overallAsked = line !== undefined && asked - overallFrom > SHARED_LATE_MS;
      const askedAt = Date.now();
      const [again, overallAgain] = await Promise.all([
        chatAsked ? this.sharedDo((s) => s.retake(chatId, { from, now: asked, maxWaitMs: call.mode === 'bulk' ? this.maxInlineWaitMs : this.interactiveMaxWaitMs })) : undefined,
        overallAsked ? this.sharedDo(() => line.retake({ from: overallFrom, now: asked, ...this.overallPace(yields) })) : undefined,
      ]);
      if (again && !again.taken && call.mode === 'bulk' && call.spacingKey !== undefined) throw new ChatSlotAhead(chatId, again.at);
      // A line that could not be reached, or a chat another reply took meanwhile, is not asked again:
      // this process's own spacing follows below.
      if (chatAsked) moment = again?.taken ? again.at : asked;
      if (overallAsked) {
        overallAt = overallAgain ?? asked;
        if (overallAgain !== undefined) this.overallStoreMs = Date.now() - askedAt;
        // Answered after the moment asked for: the next round asks twice as far ahead at least.
        lead = nextLead(lead, Date.now() - askedAt, Date.now() > asked);
      }
      leavesAt = Math.max(leavesAt, moment, line ? overallAt : 0);
    }
    // The process's own line follows too, so that it is current should the shared one fail.
    if (call.mode === 'bulk') this.spacer.sending(chatId, call.spacingKey, leavesAt);
    else this.spacer.replying(chatId, leavesAt);
    return this.leave(prev, chatId, leavesAt, method, replacement ?? payload, signal, call, (answeredAt) => {
      this.spacer.sending(chatId, undefined, answeredAt);
      // Telegram counts a message when it arrives, somewhere before the answer: a slow answer moves the chat's next moment.
      if (answeredAt - leavesAt > SHARED_LATE_MS) void this.sharedDo((s) => s.answered(chatId, answeredAt, moment));
    }, overall.place, overallAt);
  }

  /** A shared-line operation; undefined (and told, once a minute at most) when it failed. */
  private async sharedDo<T>(op: (s: ChatSlotStore) => Promise<T>): Promise<T | undefined> {
    if (!this.shared) return undefined;
    try {
      return await op(this.shared);
    } catch (err) {
      if (Date.now() - this.sharedErrorAt > 60_000) {
        this.sharedErrorAt = Date.now();
        this.opts.onSharedSlotsError?.(err);
      }
      return undefined;
    }
  }

  private async spacedBulk(prev: ApiCall, chatId: number, method: string, payload: ApiPayload, signal: AbortSignal | undefined, call: CallOptions): Promise<ApiResponse> {
    // An unkeyed call reserves under a name of its own, so asking twice keeps one slot.
    const mayDefer = call.spacingKey !== undefined;
    const key = call.spacingKey ?? `call-${++this.calls}`;
    const slot = () => this.spacer.reserve(chatId, Date.now(), { key, urgent: call.urgent });
    // A keyed caller does not hold its worker slot for a busy chat: it comes back for the slot kept for it.
    const ahead = slot();
    if (mayDefer && ahead > this.maxInlineWaitMs) throw new ChatSlotAhead(chatId, Date.now() + ahead);
    if (ahead > 0) await pause(ahead, signal);
    let replacement: ApiPayload | void;
    try {
      replacement = await call.beforeRequest?.();
    } catch (e) {
      this.spacer.release(key);
      throw e;
    }
    // Asked again after the caller's own await: another send may have taken the chat meanwhile. From here
    // to the request nothing awaits but the wait itself, so the chat and the pacer record when it leaves.
    // This process's own pacer: here either there are no shared lines or they just failed for this call.
    const wait = slot();
    if (mayDefer && wait > this.maxInlineWaitMs) throw new ChatSlotAhead(chatId, Date.now() + wait);
    const start = Date.now() + Math.max(0, wait);
    const leavesAt = start + this.pacer.reserve(start);
    this.spacer.sending(chatId, key, leavesAt);
    return this.leave(prev, chatId, leavesAt, method, replacement ?? payload, signal, call, (at) => this.spacer.sending(chatId, undefined, at), 'own');
  }

  /** Waits until `leavesAt`, makes the call, holds the chat after a 429, and counts the request from its answer. */
  private async leave(
    prev: ApiCall,
    chatId: number | undefined,
    leavesAt: number,
    method: string,
    payload: ApiPayload,
    signal: AbortSignal | undefined,
    call: CallOptions,
    answeredAt: (at: number) => void,
    /** The line the call took its place in the overall second on. */
    overall: OverallPlace,
    /** The moment the overall line holds for this call, when not `leavesAt`. */
    overallAt = leavesAt,
  ): Promise<ApiResponse> {
    if (leavesAt > Date.now()) await pause(leavesAt - Date.now(), signal);
    try {
      const answer = await prev(method, payload, signal, call);
      const seconds = retryAfterSeconds(answer);
      if (seconds !== undefined && chatId !== undefined) this.holdChat(chatId, seconds * 1000);
      return answer;
    } finally {
      // Telegram had it by the time it answered: count from then, for the chat and for the second.
      const at = Date.now();
      if (overall !== 'none') this.pacer.answered(overallAt, at);
      if (overall === 'shared') void this.sharedDo((s) => s.overall!.answered(overallAt, at, OVERALL_WINDOW_MS));
      answeredAt(at);
    }
  }

  /** The jobs' transport: one HTTP request; Telegram's answer, or TelegramTransient when there is none. */
  private async request(method: string, body: ApiPayload, signal?: AbortSignal): Promise<ApiResponse> {
    if (!this.opts.token) throw new TelegramNotConfigured();
    const url = `${this.opts.apiRoot.replace(/\/+$/, '')}/bot${this.opts.token}/${method}`;
    const timeout = AbortSignal.timeout(this.requestTimeoutMs);
    let res: Response;
    try {
      res = await this.doFetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
    } catch (e) {
      throw networkFailure(method, e, this.requestTimeoutMs);
    }
    let answer: { ok?: boolean; result?: unknown; error_code?: number; description?: string; parameters?: { retry_after?: number } };
    try {
      answer = (await res.json()) as typeof answer;
    } catch {
      // A 502 from Telegram's front proxy is HTML; the request did not get through.
      throw new TelegramTransient(method, res.status, `unreadable answer (HTTP ${res.status})`, res.status < 500);
    }
    if (answer.ok) return { ok: true, result: answer.result };
    return {
      ok: false,
      error_code: answer.error_code ?? res.status,
      description: answer.description ?? `HTTP ${res.status}`,
      ...(answer.parameters ? { parameters: answer.parameters } : {}),
    };
  }
}

export function createTelegramGateway(opts: TelegramGatewayOptions): TelegramGateway {
  return new TelegramGateway(opts);
}
