/**
 * The one module that sends notifications to Telegram and knows its limits (PITFALLS: Telegram):
 * - about 30 messages a second overall: the send queue's BullMQ limiter (`SEND_QUEUE_LIMITER`), which
 *   holds across every worker process;
 * - 1 a second to one chat and 20 a minute to one group: spacing kept here, per process, because
 *   BullMQ's per-group limits are a paid feature. Several worker processes can exceed it briefly;
 *   Telegram then answers 429 and the 429 path below waits exactly as told;
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

/** The send queue's worker limiter: Telegram's overall ceiling, shared by all workers of the queue. */
export const SEND_QUEUE_LIMITER = { max: TELEGRAM_LIMITS.globalPerSecond, duration: 1000 } as const;

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

// ---------------------------------------------------------------------------------------------

export interface TelegramGatewayOptions {
  /** e.g. https://api.telegram.org, or the stand-in server's URL. */
  apiRoot: string;
  token: string | undefined;
  /** Milliseconds before a call counts as timed out (ambiguous). Default 10 000. */
  requestTimeoutMs?: number;
  perChatIntervalMs?: number;
  perGroupIntervalMs?: number;
  fetch?: typeof fetch;
}

export interface CallHooks {
  /**
   * Runs after the chat's spacing wait and right before the HTTP request: the caller records that a
   * request may now reach Telegram. It may return a replacement message (e.g. with a "re-sent" note
   * once it knows this is a second attempt). Throwing here cancels the call.
   */
  beforeRequest?: () => Promise<OutgoingMessage | void>;
}

/** Sent, with the id Telegram gave the message. */
export interface Delivered {
  messageId: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Keeps the per-chat and per-group spacing: each call reserves the chat's next free slot. */
export class ChatSpacer {
  private readonly nextFreeAt = new Map<number, number>();
  constructor(
    private readonly perChatMs: number,
    private readonly perGroupMs: number,
  ) {}

  /** Milliseconds to wait before sending to a chat; reserves that slot. */
  reserve(chatId: number, now = Date.now()): number {
    const slot = Math.max(now, this.nextFreeAt.get(chatId) ?? 0);
    this.nextFreeAt.set(chatId, slot + (chatId < 0 ? this.perGroupMs : this.perChatMs));
    if (this.nextFreeAt.size > 10_000) this.prune(now);
    return slot - now;
  }

  /** After a 429 for one chat, nothing goes to it before the wait is over. */
  hold(chatId: number, ms: number, now = Date.now()): void {
    this.nextFreeAt.set(chatId, Math.max(this.nextFreeAt.get(chatId) ?? 0, now + ms));
  }

  private prune(now: number): void {
    for (const [chat, at] of this.nextFreeAt) if (at < now) this.nextFreeAt.delete(chat);
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
  private readonly spacer: ChatSpacer;
  private readonly doFetch: typeof fetch;

  constructor(private readonly opts: TelegramGatewayOptions) {
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 10_000;
    this.spacer = new ChatSpacer(opts.perChatIntervalMs ?? TELEGRAM_LIMITS.perChatIntervalMs, opts.perGroupIntervalMs ?? TELEGRAM_LIMITS.perGroupIntervalMs);
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
    const wait = this.spacer.reserve(chatId);
    if (wait > 0) await sleep(wait);
    const replacement = await hooks.beforeRequest?.();
    try {
      return await this.call(method, bodyOf(replacement ?? message));
    } catch (e) {
      if (e instanceof TelegramRateLimited) this.spacer.hold(chatId, e.retryAfterSeconds * 1000);
      throw e;
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
