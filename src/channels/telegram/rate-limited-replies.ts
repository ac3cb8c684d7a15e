/**
 * Replies to the person acting go straight through the update's own Telegram client, not through the
 * paced gateway the notices use. Telegram answers 429 ("retry after N") when a chat gets more than about
 * one message a second — a notice from the gateway and a form's next prompt can meet — and the reply
 * would be lost with the user left looking at the old prompt. This wraps the update's client so a 429 is
 * waited out, as Telegram asks, and the call made again; a wait longer than `maxWaitMs` is not worth
 * holding the chat for, and the error goes on as before.
 */
import type { Context, MiddlewareFn } from 'telegraf';
import type { Logger } from '../../logger.js';
import { wrapCallApi, type CallApi } from '../../ops/telegraf.js';

export interface RateLimitedRepliesOptions {
  logger: Logger;
  /** Longest single wait, in milliseconds (default 10 000). */
  maxWaitMs?: number;
  /** Tries after the first (default 2). */
  retries?: number;
  sleep?: (ms: number) => Promise<void>;
}

/** Telegram's "retry after" in seconds, when the error is a 429 that says it. */
export function retryAfterSeconds(err: unknown): number | undefined {
  const e = err as { response?: { error_code?: unknown; parameters?: { retry_after?: unknown } } };
  if (e?.response?.error_code !== 429) return undefined;
  const s = e.response.parameters?.retry_after;
  return typeof s === 'number' && Number.isFinite(s) && s >= 0 ? s : undefined;
}

export function waitOutRateLimits<C extends Context>(opts: RateLimitedRepliesOptions): MiddlewareFn<C> {
  const maxWaitMs = opts.maxWaitMs ?? 10_000;
  const retries = opts.retries ?? 2;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  return (ctx, next) => {
    wrapCallApi(ctx.telegram as unknown as { callApi: CallApi }, '__waitsOutRateLimits', (original) => async (method, payload, callOpts) => {
      for (let attempt = 0; ; attempt++) {
        try {
          return await original(method, payload, callOpts);
        } catch (err) {
          const seconds = retryAfterSeconds(err);
          if (seconds === undefined || attempt >= retries || seconds * 1000 > maxWaitMs) throw err;
          opts.logger.info({ method, retryAfter: seconds, updateId: ctx.update.update_id }, 'reply rate-limited: waiting as Telegram asks');
          await sleep(Math.max(1, seconds) * 1000);
        }
      }
    });
    return next();
  };
}
