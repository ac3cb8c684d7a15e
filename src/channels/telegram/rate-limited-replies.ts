/**
 * A reply to the person acting that Telegram answers with 429 ("retry after N") would be lost, with the
 * user left looking at the old prompt: a notice from a job and a form's next prompt can meet in one
 * chat. This step of the API pipeline waits the time Telegram asks and makes the call again; a wait
 * longer than `maxWaitMs` is not worth holding the person for, and the refusal goes to the handler
 * (TelegramRateLimited). Only interactive calls: a job's send hands its 429 to the queue, which waits
 * without holding a worker.
 */
import { pause, retryAfterSeconds, type ApiTransformer } from './api-pipeline.js';

export { retryAfterSeconds } from './api-pipeline.js';

export interface RateLimitedRepliesOptions {
  /** Longest single wait, in milliseconds (default 10 000). */
  maxWaitMs?: number;
  /** Tries after the first (default 2). */
  retries?: number;
  sleep?: (ms: number) => Promise<void>;
}

export function waitOutRateLimits(opts: RateLimitedRepliesOptions = {}): ApiTransformer {
  const maxWaitMs = opts.maxWaitMs ?? 10_000;
  const retries = opts.retries ?? 2;
  return async (prev, method, payload, signal, call) => {
    if (call.mode === 'bulk') return prev(method, payload, signal, call);
    for (let attempt = 0; ; attempt++) {
      const answer = await prev(method, payload, signal, call);
      const seconds = retryAfterSeconds(answer);
      if (seconds === undefined || attempt >= retries || seconds * 1000 > maxWaitMs) return answer;
      call.logger?.info({ method, retryAfter: seconds }, 'reply rate-limited: waiting as Telegram asks');
      await (opts.sleep ? opts.sleep(seconds * 1000) : pause(seconds * 1000, signal));
    }
  };
}
