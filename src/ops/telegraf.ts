/**
 * One telegraf middleware for the operations surface: each update gets a child logger carrying its
 * update id (`ctx.state.log`), its handling time is measured by kind, and the messages the handlers
 * send through `ctx.telegram` are counted by result. Install it first: `bot.use(opsMiddleware(...))`.
 *
 * telegraf gives every update a fresh Telegram client (PITFALLS), so the counting wraps that client,
 * not `bot.telegram`. Messages sent by the gateway through its own client are counted there.
 */
import type { Context, MiddlewareFn } from 'telegraf';
import type { Logger } from '../logger.js';
import { metrics as processMetrics, type OpsMetrics } from './metrics.js';

/** Bot API methods that send or change a message, counted in corrections_messages_sent_total. */
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

export interface OpsState {
  /** Logger for this update: every line carries `updateId`; add `incident` with `.child()` once known. */
  log: Logger;
}

export interface OpsMiddlewareOptions {
  logger: Logger;
  metrics?: OpsMetrics;
}

export type CallApi = (method: string, payload: unknown, opts?: unknown) => Promise<unknown>;

export function opsMiddleware<C extends Context>(opts: OpsMiddlewareOptions): MiddlewareFn<C> {
  const m = opts.metrics ?? processMetrics;
  return async (ctx, next) => {
    const started = performance.now();
    const kind = ctx.updateType ?? 'unknown';
    const log = opts.logger.child({ updateId: ctx.update.update_id, updateKind: kind });
    (ctx.state as Partial<OpsState>).log = log;
    countSends(ctx.telegram as unknown as { callApi: CallApi }, m);
    try {
      await next();
      m.updateHandled(kind, (performance.now() - started) / 1000, 'ok');
    } catch (err) {
      m.updateHandled(kind, (performance.now() - started) / 1000, 'error');
      throw err;
    }
  };
}

/**
 * Puts `around` around every call of one Telegram client, once per `mark` however often it is asked
 * (telegraf hands each update a fresh client, and middleware runs per update).
 */
export function wrapCallApi(telegram: { callApi: CallApi }, mark: string, around: (call: CallApi) => CallApi): void {
  const marked = telegram as unknown as { callApi: CallApi } & Record<string, unknown>;
  if (marked[mark]) return;
  marked.callApi = around(telegram.callApi.bind(telegram));
  marked[mark] = true;
}

/** Wraps one Telegram client so each message-sending call is counted once, by result. */
export function countSends(telegram: { callApi: CallApi }, m: OpsMetrics = processMetrics): void {
  wrapCallApi(telegram, '__opsCounted', (original) => async (method, payload, callOpts) => {
    if (!MESSAGE_METHODS.has(method)) return original(method, payload, callOpts);
    try {
      const result = await original(method, payload, callOpts);
      m.messageSent('ok');
      return result;
    } catch (err) {
      m.messageFailed(err);
      throw err;
    }
  });
}
