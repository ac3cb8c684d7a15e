/**
 * One telegraf middleware for the operations surface: each update gets a child logger carrying its
 * update id (`ctx.state.log`), its handling time is measured by kind, and the messages the handlers
 * send through `ctx.telegram` are counted by result. Install it first: `bot.use(opsMiddleware(...))`.
 *
 * telegraf gives every update a fresh Telegram client (PITFALLS), so the counting goes on that client,
 * not `bot.telegram`. It is a step of the API pipeline (channels/telegram/api-pipeline.ts): the bot,
 * which puts the update's client through the whole pipeline, counts there and turns it off here.
 */
import type { Context, MiddlewareFn } from 'telegraf';
import { ApiPipeline, countSends as countEachSend, installApiPipeline } from './api-pipeline.js';
import type { Logger } from '../../logger.js';
import { metrics as processMetrics, type OpsMetrics } from '../../ops/metrics.js';

/** Bot API methods that send or change a message, counted in corrections_messages_sent_total. */
export { MESSAGE_METHODS } from './api-pipeline.js';

export interface OpsState {
  /** Logger for this update: every line carries `updateId`; add `incident` with `.child()` once known. */
  log: Logger;
}

export interface OpsMiddlewareOptions {
  logger: Logger;
  metrics?: OpsMetrics;
  /** Count the messages sent through `ctx.telegram` (default true); false where the API pipeline counts them. */
  countSends?: boolean;
}

export function opsMiddleware<C extends Context>(opts: OpsMiddlewareOptions): MiddlewareFn<C> {
  const m = opts.metrics ?? processMetrics;
  return async (ctx, next) => {
    const started = performance.now();
    const kind = ctx.updateType ?? 'unknown';
    const log = opts.logger.child({ updateId: ctx.update.update_id, updateKind: kind });
    (ctx.state as Partial<OpsState>).log = log;
    if (opts.countSends !== false) countSends(ctx.telegram, m);
    try {
      await next();
      m.updateHandled(kind, (performance.now() - started) / 1000, 'ok');
    } catch (err) {
      m.updateHandled(kind, (performance.now() - started) / 1000, 'error');
      throw err;
    }
  };
}

const COUNTING: ApiPipeline = new ApiPipeline([countEachSend]);

/** Puts one Telegram client's calls through a pipeline that only counts each message request, by result. */
export function countSends(telegram: object, m: OpsMetrics = processMetrics): void {
  installApiPipeline(telegram, COUNTING, { counter: m });
}
