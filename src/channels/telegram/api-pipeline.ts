/**
 * The one pipeline every Bot API call goes through, a handler's reply and a job's send alike, in the
 * manner of grammY's API transformers. A call meets an ordered list of transformers, each of which may
 * wait, call the next one, read Telegram's answer and call again, before it reaches a transport that
 * makes the request: the gateway's own HTTP client for jobs, or telegraf's client of the update for
 * handlers (it serialises multipart uploads). Transformers see Telegram's answer as it came
 * (`{ ok: false, error_code, parameters }`), so a 429's wait is read in one place (`retryAfterSeconds`);
 * only at the end does a refusal become one of the error classes below, the same for every caller.
 */
import { TelegramError as TelegrafError, type Context, type MiddlewareFn } from 'telegraf';
import type { Logger } from '../../logger.js';
import type { OpsMetrics } from '../../ops/metrics.js';

export type ApiPayload = Record<string, unknown>;

/** Telegram's answer to one call, as the Bot API sends it. */
export type ApiResponse =
  | { ok: true; result: unknown }
  | { ok: false; error_code: number; description: string; parameters?: { retry_after?: number; migrate_to_chat_id?: number } };

/** Makes one request and returns Telegram's answer; throws TelegramTransient when there is none. */
export type ApiTransport = (method: string, payload: ApiPayload, signal?: AbortSignal) => Promise<ApiResponse>;

/** Where each message request is counted by result (corrections_messages_sent_total). */
export type SendCounter = Pick<OpsMetrics, 'messageSent' | 'messageFailed'>;

/** What the caller asks of one call. */
export interface CallOptions {
  /**
   * `interactive` (the default): someone is waiting for this call — a reply to the person acting, a
   * start-up call. It waits its turn in place and waits out a short 429. `bulk`: a job's send. A chat
   * that is busy for longer than a moment is ChatSlotAhead (with `spacingKey`), and a 429 is
   * TelegramRateLimited, for the queue to come back later.
   */
  mode?: 'interactive' | 'bulk';
  /** Names the message (an outbox id): its chat slot is kept for it when it is told to come back. */
  spacingKey?: string | undefined;
  /** An escalation or reminder: takes the chat's next free slot ahead of routine messages. */
  urgent?: boolean | undefined;
  /** Bulk: a follow-up to a message that just went (the event after its card): it yields the overall second to first messages. */
  followUp?: boolean | undefined;
  /**
   * Bulk: runs once the chat's slot is at hand, right before the request; may return a replacement
   * payload. Throwing cancels the call.
   */
  beforeRequest?: () => Promise<ApiPayload | void>;
  /** Counts each message request by result; the queue's sends are counted by their processor instead. */
  counter?: SendCounter | undefined;
  logger?: Logger | undefined;
}

export type ApiCall = (method: string, payload: ApiPayload, signal: AbortSignal | undefined, opts: CallOptions) => Promise<ApiResponse>;

/** One step of the pipeline: gets the call and the rest of the pipeline (`prev`), returns Telegram's answer. */
export type ApiTransformer = (prev: ApiCall, method: string, payload: ApiPayload, signal: AbortSignal | undefined, opts: CallOptions) => Promise<ApiResponse>;

export class ApiPipeline {
  /** In the order a call meets them: the first is outermost, the last is next to the transport. */
  constructor(readonly transformers: readonly ApiTransformer[]) {}

  /** Calls `method` through every transformer and `transport`: the result, or one of the error classes. */
  async call(transport: ApiTransport, method: string, payload: ApiPayload, signal?: AbortSignal, opts: CallOptions = {}): Promise<unknown> {
    const chain = this.transformers.reduceRight<ApiCall>(
      (next, transform) => (m, p, s, o) => transform(next, m, p, s, o),
      (m, p, s) => transport(m, p, s),
    );
    const answer = await chain(method, payload, signal, opts);
    if (answer.ok) return answer.result;
    throw telegramErrorOf(method, answer);
  }
}

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

  /** The same facts in the shape of telegraf's error, for code written against it (log-safe.ts); never the payload. */
  get response(): { error_code: number; description: string } {
    return { error_code: this.code, description: this.description };
  }

  get on(): { method: string } {
    return { method: this.method };
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

/**
 * Seconds Telegram asked to wait, when `answer` is a 429: a Bot API answer, an error carrying one
 * (telegraf's `response`), or TelegramRateLimited. Whole seconds, at least 1 (a 429 that does not say
 * how long waits 1 s). Undefined for anything else. The only place `retry_after` is read.
 */
export function retryAfterSeconds(answer: unknown): number | undefined {
  if (answer instanceof TelegramRateLimited) return answer.retryAfterSeconds;
  if (!answer || typeof answer !== 'object') return undefined;
  type Answer = { error_code?: unknown; parameters?: { retry_after?: unknown } };
  const inner = (answer as { response?: unknown }).response;
  const a = (inner && typeof inner === 'object' ? inner : answer) as Answer;
  if (a.error_code !== 429) return undefined;
  const s = a.parameters?.retry_after;
  return typeof s === 'number' && Number.isFinite(s) && s >= 0 ? Math.max(1, Math.ceil(s)) : 1;
}

/** A refusal as one of the error classes. */
export function telegramErrorOf(method: string, answer: Extract<ApiResponse, { ok: false }>): TelegramError {
  const code = answer.error_code;
  const description = answer.description;
  if (code === 429) return new TelegramRateLimited(method, description, retryAfterSeconds(answer) ?? 1);
  if (code === 403) return new TelegramBlocked(method, code, description);
  if (code >= 500) return new TelegramTransient(method, code, description, false);
  return new TelegramBadRequest(method, code, description);
}

/** Socket errors of a request that never left this machine: it cannot have been delivered. */
const NOT_DELIVERED_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * A request that got no readable answer, as TelegramTransient: `ambiguous` unless it cannot have left
 * this machine. No cause is kept: the socket code is in the description, and a cause chain with socket
 * codes would read as the database's (db/database-unavailable.ts).
 */
export function networkFailure(method: string, err: unknown, timeoutMs?: number): TelegramTransient {
  const e = err as (Error & { code?: unknown; type?: unknown; cause?: { code?: unknown } }) | undefined;
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') {
    return new TelegramTransient(method, 0, timeoutMs !== undefined ? `no answer within ${timeoutMs} ms` : 'no answer (aborted)', true);
  }
  if (e?.type === 'invalid-json') return new TelegramTransient(method, 0, 'unreadable answer', true);
  const code = typeof e?.code === 'string' ? e.code : typeof e?.cause?.code === 'string' ? e.cause.code : undefined;
  return new TelegramTransient(method, 0, `network: ${code ?? e?.message ?? String(err)}`, !(code && NOT_DELIVERED_CODES.has(code)));
}

// ---------------------------------------------------------------------------------------------
// Transformers that do not need the limits' state.

/** Bot API methods that send or change a message: spaced per chat, paced overall, and counted. */
export const MESSAGE_METHODS: ReadonlySet<string> = new Set([
  'sendMessage',
  'sendPhoto',
  'sendDocument',
  'sendVoice',
  'sendLocation',
  'sendMediaGroup',
  'copyMessage',
  'forwardMessage',
  'editMessageText',
  'editMessageCaption',
  'editMessageReplyMarkup',
  'editMessageMedia',
]);

/** Counts each message request that reached the transport, by Telegram's answer (`opts.counter`). */
export const countSends: ApiTransformer = async (prev, method, payload, signal, opts) => {
  const counter = opts.counter;
  if (!counter || !MESSAGE_METHODS.has(method)) return prev(method, payload, signal, opts);
  let answer: ApiResponse;
  try {
    answer = await prev(method, payload, signal, opts);
  } catch (err) {
    counter.messageFailed(err);
    throw err;
  }
  if (answer.ok) counter.messageSent('ok');
  else counter.messageFailed(telegramErrorOf(method, answer));
  return answer;
};

/** The chat a message call goes to, when it names one by number. */
export function chatIdOf(payload: ApiPayload): number | undefined {
  const id = payload.chat_id;
  if (typeof id === 'number') return id;
  if (typeof id === 'string' && /^-?\d+$/.test(id)) return Number(id);
  return undefined;
}

/** Waits `ms`, or rejects as soon as `signal` aborts. */
export function pause(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

// ---------------------------------------------------------------------------------------------
// telegraf's clients.

type TelegrafCallApi = (method: string, payload: unknown, opts?: { signal?: AbortSignal }) => Promise<unknown>;

/** telegraf's own call (it builds multipart bodies for uploads) as a transport: its refusals become answers again. */
export function telegrafTransport(callApi: TelegrafCallApi): ApiTransport {
  return async (method, payload, signal) => {
    try {
      return { ok: true, result: await callApi(method, payload, signal ? { signal } : {}) };
    } catch (err) {
      if (signal?.aborted) throw err;
      if (err instanceof TelegrafError) {
        const r = err.response;
        return { ok: false, error_code: r.error_code, description: r.description, ...(r.parameters ? { parameters: r.parameters } : {}) };
      }
      // node-fetch's errors: the request failed on the way. Anything else (a file to upload that cannot
      // be read) is the caller's, as it is.
      const name = (err as Error | undefined)?.name;
      if (name === 'FetchError' || name === 'AbortError') throw networkFailure(method, err);
      throw err;
    }
  };
}

const PIPED = Symbol('corrections.apiPipeline');

/** telegraf polls with this itself, and reads its errors (and their retry_after) itself. */
const TELEGRAF_OWN_METHODS: ReadonlySet<string> = new Set(['getUpdates']);

/**
 * Puts every call of one telegraf client through `api`; once per client however often it is asked
 * (telegraf makes a fresh client for every update, and middleware runs per update).
 */
export function installApiPipeline(telegram: object, api: ApiPipeline, opts: CallOptions): void {
  const client = telegram as { callApi: TelegrafCallApi; [PIPED]?: true };
  if (client[PIPED]) return;
  const own = client.callApi.bind(client);
  const transport = telegrafTransport(own);
  client.callApi = (method, payload, callOpts) => {
    if (TELEGRAF_OWN_METHODS.has(method)) return own(method, payload, callOpts);
    return api.call(transport, method, (payload ?? {}) as ApiPayload, callOpts?.signal, opts);
  };
  client[PIPED] = true;
}

export interface UseApiPipelineOptions {
  logger: Logger;
  /** Counts the handlers' message requests by result; none: not counted. */
  counter?: SendCounter | undefined;
}

/** Middleware: the update's client (`ctx.telegram`) calls through `api`, as interactive calls. */
export function useApiPipeline<C extends Context>(api: ApiPipeline, opts: UseApiPipelineOptions): MiddlewareFn<C> {
  return (ctx, next) => {
    const logger = (ctx.state as { log?: Logger }).log ?? opts.logger.child({ updateId: ctx.update.update_id });
    installApiPipeline(ctx.telegram, api, { mode: 'interactive', counter: opts.counter, logger });
    return next();
  };
}
