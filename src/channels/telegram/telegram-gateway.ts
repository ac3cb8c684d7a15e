/**
 * The one module that sends notifications to Telegram and knows its limits (PITFALLS: Telegram):
 * - about 30 messages a second overall: the send queue's BullMQ limiter (`SEND_QUEUE_LIMITER`), which
 *   holds across every worker process. BullMQ counts a fixed window and Telegram a sliding second, so the
 *   limiter lets one job start every 34 ms rather than 30 at the top of each second; a per-process
 *   sliding-window pacer here absorbs the jitter between a job's start and its request;
 * - 1 a second to one chat and 20 a minute to one group: spacing kept here, per process, because
 *   BullMQ's per-group limits are a paid feature. A caller that names its message (`spacingKey`) is not
 *   made to wait in place for a chat that is busy: it gets `ChatSlotAhead` with the time of the slot
 *   reserved for it, and comes back then (the send job moves to delayed, freeing its worker slot).
 *   Several worker processes can exceed the spacing briefly; Telegram then answers 429 and the 429 path
 *   below waits exactly as told;
 * - 429 → TelegramRateLimited(retryAfterSeconds); 403 → TelegramBlocked; 5xx, network errors and
 *   timeouts → TelegramTransient (retried with backoff). The caller maps them to BullMQ signals.
 * It speaks the Bot API over HTTP (fetch) at the configured API root, so tests and the sandbox point it
 * at the stand-in server.
 */
import type { InlineKeyboardMarkup } from 'telegraf/types';

export interface OutgoingMessage {
  /** Plain text, or Telegram HTML when `parseMode` is 'HTML' (the caller escapes and fits it). */
  text: string;
  parseMode?: 'HTML';
  replyMarkup?: InlineKeyboardMarkup;
}

export const TELEGRAM_LIMITS = {
  /** Messages a second, all chats together. */
  globalPerSecond: 30,
  /** Milliseconds between two messages to one private chat (1 a second). */
  perChatIntervalMs: 1000,
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

/** Milliseconds a send may wait in place for its chat's slot; a longer wait is spent off the worker (ChatSlotAhead). */
export const MAX_INLINE_CHAT_WAIT_MS = 25;

// ---------------------------------------------------------------------------------------------
// Errors: Telegram said no (with its code) versus the network failed.

export class TelegramError extends Error {
  override name = 'TelegramError';
  constructor(
    readonly method: string,
    readonly code: number,
    readonly description: string,
    options?: { cause?: unknown },
  ) {
    super(`${method}: ${code} ${description}`, options);
  }
}

/** 429: wait `retryAfterSeconds`, then try again; not a failure. */
export class TelegramRateLimited extends TelegramError {
  override name = 'TelegramRateLimited';
  constructor(
    method: string,
    description: string,
    readonly retryAfterSeconds: number,
  ) {
    super(method, 429, description);
  }
}

/** 403: the user blocked the bot (or was deactivated). Retrying cannot help. */
export class TelegramBlocked extends TelegramError {
  override name = 'TelegramBlocked';
}

/** 400: the request itself is wrong, or the chat/message does not exist. */
export class TelegramBadRequest extends TelegramError {
  override name = 'TelegramBadRequest';
  /** An edit that changes nothing: the card already shows this. */
  get notModified(): boolean {
    return /message is not modified/i.test(this.description);
  }
  /** The message to edit is gone or too old: send a new one instead. */
  get messageGone(): boolean {
    return /message to edit not found|message can't be edited|message not found/i.test(this.description);
  }
  /** The person never opened a chat with the bot. */
  get chatNotFound(): boolean {
    return /chat not found|user not found|PEER_ID_INVALID/i.test(this.description);
  }
}

/**
 * 5xx, a network failure or a timeout: retry with backoff. `ambiguous` means the request may have
 * reached Telegram (a timeout, a reset connection): the message may have been delivered.
 */
export class TelegramTransient extends TelegramError {
  override name = 'TelegramTransient';
  constructor(
    method: string,
    code: number,
    description: string,
    readonly ambiguous: boolean,
    options?: { cause?: unknown },
  ) {
    super(method, code, description, options);
  }
}

export class TelegramNotConfigured extends Error {
  override readonly name = 'TelegramNotConfigured';
  constructor() {
    super('no bot token configured: notifications cannot be sent');
  }
}

/**
 * Nothing was sent: the chat's next free slot is `until` (epoch ms), reserved for the caller's
 * `spacingKey`. Come back then (a send job moves itself to delayed) instead of holding a worker slot.
 */
export class ChatSlotAhead extends Error {
  override readonly name = 'ChatSlotAhead';
  constructor(
    readonly chatId: number,
    readonly until: number,
  ) {
    super(`chat busy: next slot in ${Math.max(0, until - Date.now())} ms`);
  }
}

// ---------------------------------------------------------------------------------------------

export interface TelegramGatewayOptions {
  /** e.g. https://api.telegram.org, or the stand-in server's URL. */
  apiRoot: string;
  token: string | undefined;
  /** Milliseconds before a call counts as timed out (ambiguous). Default 10 000. */
  requestTimeoutMs?: number;
  perChatIntervalMs?: number;
  perGroupIntervalMs?: number;
  /** Milliseconds a keyed send may wait in place for its chat (default MAX_INLINE_CHAT_WAIT_MS). */
  maxInlineWaitMs?: number;
  /** Requests a second this process lets out (a sliding second); default Telegram's 30. 0: no pacing. */
  globalPerSecond?: number;
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
}

/** Sent, with the id Telegram gave the message. */
export interface Delivered {
  messageId: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Milliseconds added to the per-chat interval: two requests leave 1 000 ms apart, but may arrive 995 ms apart. */
const CHAT_SLACK_MS = 20;

/** Reservations older than this (ms past their slot) were abandoned (the job ended another way). */
const RESERVATION_TTL_MS = 10 * 60_000;

/**
 * Keeps the per-chat and per-group spacing. A chat's next message may go one interval after its last
 * (`sending`), and each caller reserves a slot in the chat's line; urgent callers have a line of their own,
 * so an escalation does not queue behind a chat's routine backlog: it takes the next free slot, and a
 * routine message that would come within an interval of it yields. A keyed reservation is kept for the
 * caller to claim when it comes back. All times are epoch milliseconds.
 */
export class ChatSpacer {
  /** The earliest a message may go to the chat: its last message + the interval, or the end of a 429's wait. */
  private readonly freeAt = new Map<number, number>();
  /** The next unreserved slot of each line (`chat` routine, `chat!` urgent). */
  private readonly lineEnd = new Map<string, number>();
  /** The slot of the latest urgent message still to go to the chat: routine messages keep clear of it. */
  private readonly urgentAt = new Map<number, number>();
  private readonly reserved = new Map<string, { chatId: number; at: number; urgent: boolean }>();

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
    if (this.lineEnd.size + this.reserved.size > 10_000) this.prune(now);
    return at - now;
  }

  /** A message to the chat leaves now: the next one waits an interval; a keyed reservation is used up. */
  sending(chatId: number, key?: string, now = Date.now()): void {
    this.freeAt.set(chatId, Math.max(this.freeAt.get(chatId) ?? 0, now + this.intervalOf(chatId)));
    if (key === undefined) return;
    const r = this.reserved.get(key);
    this.reserved.delete(key);
    // The latest urgent message has gone: routine ones need not keep clear any more.
    if (r?.urgent && (this.urgentAt.get(chatId) ?? 0) <= r.at) this.urgentAt.delete(chatId);
  }

  /** Gives up a keyed reservation without sending. */
  release(key: string): void {
    this.reserved.delete(key);
  }

  /** After a 429 for one chat, nothing goes to it before the wait is over. */
  hold(chatId: number, ms: number, now = Date.now()): void {
    this.freeAt.set(chatId, Math.max(this.freeAt.get(chatId) ?? 0, now + ms));
    const line = String(chatId);
    this.lineEnd.set(line, Math.max(this.lineEnd.get(line) ?? 0, now + ms));
  }

  private prune(now: number): void {
    for (const [line, at] of this.lineEnd) if (at < now) this.lineEnd.delete(line);
    for (const [chat, at] of this.freeAt) if (at < now) this.freeAt.delete(chat);
    for (const [chat, at] of this.urgentAt) if (at < now - RESERVATION_TTL_MS) this.urgentAt.delete(chat);
    for (const [key, r] of this.reserved) if (r.at < now - RESERVATION_TTL_MS) this.reserved.delete(key);
  }
}

/**
 * At most `max` requests in any sliding `windowMs`, in this process. The queue's limiter spaces job
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
    let k = 0;
    while (k < this.sent.length && this.sent[k]! <= now - this.windowMs) k++;
    if (k > 0) this.sent.splice(0, k);
    const at = this.sent.length < this.max ? now : Math.max(now, this.sent[this.sent.length - this.max]! + this.windowMs);
    this.insert(at);
    return at - now;
  }

  /** The request that left at `leftAt` was answered at `answeredAt`: it counts from then. */
  answered(leftAt: number, answeredAt = Date.now()): void {
    if (this.max <= 0 || answeredAt <= leftAt) return;
    const i = this.sent.indexOf(leftAt);
    if (i < 0) return;
    this.sent.splice(i, 1);
    this.insert(answeredAt);
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

const NOT_DELIVERED_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

export class TelegramGateway {
  readonly requestTimeoutMs: number;
  /** Milliseconds a keyed send waits in place for its chat; longer, and it is told to come back (ChatSlotAhead). */
  readonly maxInlineWaitMs: number;
  private readonly spacer: ChatSpacer;
  private readonly pacer: SendPacer;
  private readonly doFetch: typeof fetch;
  private calls = 0;

  constructor(private readonly opts: TelegramGatewayOptions) {
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 10_000;
    this.maxInlineWaitMs = opts.maxInlineWaitMs ?? MAX_INLINE_CHAT_WAIT_MS;
    // Telegram counts when a request arrives, a few ms after it leaves and not always the same few: a little slack.
    const withSlack = (ms: number) => (ms > 0 ? ms + CHAT_SLACK_MS : 0);
    this.spacer = new ChatSpacer(
      withSlack(opts.perChatIntervalMs ?? TELEGRAM_LIMITS.perChatIntervalMs),
      withSlack(opts.perGroupIntervalMs ?? TELEGRAM_LIMITS.perGroupIntervalMs),
    );
    // A sliding second, counted from each request's answer (Telegram had it by then).
    this.pacer = new SendPacer(opts.globalPerSecond ?? TELEGRAM_LIMITS.globalPerSecond, 1_000);
    this.doFetch = opts.fetch ?? fetch;
  }

  get configured(): boolean {
    return this.opts.token !== undefined;
  }

  async sendMessage(chatId: number, message: OutgoingMessage, hooks: CallHooks = {}): Promise<Delivered> {
    const result = (await this.spaced(chatId, 'sendMessage', (m) => this.body(chatId, m), message, hooks)) as { message_id?: unknown };
    if (typeof result?.message_id !== 'number') throw new TelegramTransient('sendMessage', 0, 'answer without message_id', true);
    return { messageId: result.message_id };
  }

  /** Edits a message in place; "not modified" counts as done. */
  async editMessage(chatId: number, messageId: number, message: OutgoingMessage, hooks: CallHooks = {}): Promise<Delivered> {
    try {
      await this.spaced(chatId, 'editMessageText', (m) => ({ ...this.body(chatId, m), message_id: messageId }), message, hooks);
    } catch (e) {
      if (e instanceof TelegramBadRequest && e.notModified) return { messageId };
      throw e;
    }
    return { messageId };
  }

  /** After a 429, keep this chat quiet for the time Telegram asked. */
  holdChat(chatId: number, ms: number): void {
    this.spacer.hold(chatId, ms);
  }

  /**
   * Reserves the chat's next slot for `key` ahead of the call (a send job checks before it draws its
   * message): milliseconds until it. Over `maxInlineWaitMs`, the job should come back then; the call with
   * the same `spacingKey` claims the slot.
   */
  reserveChat(chatId: number, key: string, opts: { urgent?: boolean } = {}): number {
    return this.spacer.reserve(chatId, Date.now(), { key, urgent: opts.urgent });
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

  private async spaced(
    chatId: number,
    method: string,
    bodyOf: (m: OutgoingMessage) => Record<string, unknown>,
    message: OutgoingMessage,
    hooks: CallHooks,
  ): Promise<unknown> {
    if (!this.opts.token) throw new TelegramNotConfigured();
    // An unkeyed call reserves under a name of its own, so asking twice keeps one slot.
    const mayDefer = hooks.spacingKey !== undefined;
    const key = hooks.spacingKey ?? `call-${++this.calls}`;
    const slot = () => this.spacer.reserve(chatId, Date.now(), { key, urgent: hooks.urgent });
    // A keyed caller does not hold its worker slot for a busy chat: it comes back for the slot kept for it.
    const ahead = slot();
    if (mayDefer && ahead > this.maxInlineWaitMs) throw new ChatSlotAhead(chatId, Date.now() + ahead);
    if (ahead > 0) await sleep(ahead);
    let replacement: OutgoingMessage | void;
    try {
      replacement = await hooks.beforeRequest?.();
    } catch (e) {
      this.spacer.release(key);
      throw e;
    }
    // Asked again after the caller's own await: another send may have taken the chat meanwhile. From here
    // to the request nothing awaits but the wait itself, so the chat and the pacer record when it leaves.
    const wait = slot();
    if (mayDefer && wait > this.maxInlineWaitMs) throw new ChatSlotAhead(chatId, Date.now() + wait);
    const start = Date.now() + Math.max(0, wait);
    const leavesAt = start + this.pacer.reserve(start);
    this.spacer.sending(chatId, key, leavesAt);
    if (leavesAt > Date.now()) await sleep(leavesAt - Date.now());
    try {
      return await this.call(method, bodyOf(replacement ?? message));
    } catch (e) {
      if (e instanceof TelegramRateLimited) this.spacer.hold(chatId, e.retryAfterSeconds * 1000);
      throw e;
    } finally {
      // Telegram had it by the time it answered: count from then, for the chat and for the second.
      const answeredAt = Date.now();
      this.pacer.answered(leavesAt, answeredAt);
      this.spacer.sending(chatId, undefined, answeredAt);
    }
  }

  /** One Bot API call; every failure becomes one of the error classes above. */
  async call(method: string, body: Record<string, unknown>): Promise<unknown> {
    if (!this.opts.token) throw new TelegramNotConfigured();
    const url = `${this.opts.apiRoot.replace(/\/+$/, '')}/bot${this.opts.token}/${method}`;
    let res: Response;
    try {
      res = await this.doFetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.requestTimeoutMs),
      });
    } catch (e) {
      const err = e as Error & { cause?: { code?: string } };
      if (err.name === 'TimeoutError' || err.name === 'AbortError') {
        throw new TelegramTransient(method, 0, `no answer within ${this.requestTimeoutMs} ms`, true);
      }
      const code = err.cause?.code;
      throw new TelegramTransient(method, 0, `network: ${code ?? err.message}`, !(code && NOT_DELIVERED_CODES.has(code)));
    }
    let payload: { ok?: boolean; result?: unknown; error_code?: number; description?: string; parameters?: { retry_after?: number } };
    try {
      payload = (await res.json()) as typeof payload;
    } catch {
      // A 502 from Telegram's front proxy is HTML; the request did not get through.
      throw new TelegramTransient(method, res.status, `unreadable answer (HTTP ${res.status})`, res.status < 500);
    }
    if (payload.ok) return payload.result;
    const code = payload.error_code ?? res.status;
    const description = payload.description ?? `HTTP ${res.status}`;
    if (code === 429) return this.rateLimited(method, description, payload.parameters?.retry_after);
    if (code === 403) throw new TelegramBlocked(method, code, description);
    if (code === 400) throw new TelegramBadRequest(method, code, description);
    if (code >= 500) throw new TelegramTransient(method, code, description, false);
    throw new TelegramBadRequest(method, code, description);
  }

  private rateLimited(method: string, description: string, retryAfter: number | undefined): never {
    throw new TelegramRateLimited(method, description, Math.max(1, Math.ceil(retryAfter ?? 1)));
  }
}

export function createTelegramGateway(opts: TelegramGatewayOptions): TelegramGateway {
  return new TelegramGateway(opts);
}
