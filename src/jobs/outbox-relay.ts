/**
 * The outbox relay: every outbox row not yet sent has a send job whose id is the outbox id. It runs at
 * start, every few seconds, and when the dispatcher could not enqueue. Adding an id that is already
 * queued does nothing, so running it often, or in several processes at once, is harmless; a job that
 * already ran and failed for good is removed and added again, so a row waits for Telegram as long as it
 * takes, and is still sent once (the send itself checks the row).
 */
import type { Database } from '../db/client.js';
import { outboxToRelay } from '../db/repositories/outbox.repository.js';
import type { Clock } from '../domain/index.js';
import type { Logger } from '../logger.js';
import { sendJob, type SendSpec } from './dispatcher.js';
import type { JobCounters } from './metrics.js';
import type { AnyQueue } from './queue-backend.js';

export interface OutboxRelayContext {
  db: Database;
  clock: Clock;
  queue: AnyQueue;
  logger: Logger;
  counters: JobCounters;
  /** Milliseconds between runs. */
  everyMs: number;
  /** Rows per run. Default 1 000. */
  batch?: number;
  /** Adds send jobs at their chats' slots (send-scheduler.ts); default: straight into the queue. */
  scheduleSends?: (rows: ReadonlyArray<SendSpec>) => Promise<void>;
}

/** Job states in which a job still carries its row. */
export const LIVE_STATES = ['wait', 'active', 'delayed', 'prioritized', 'waiting-children'] as const;

export class OutboxRelay {
  private timer: NodeJS.Timeout | undefined;
  private wakeTimer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;
  private stopped = true;

  constructor(private readonly ctx: OutboxRelayContext) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.wake(0);
    this.timer = setInterval(() => this.wake(0), this.ctx.everyMs);
    this.timer.unref();
  }

  stop(): Promise<unknown> {
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.wakeTimer);
    return this.running ?? Promise.resolve();
  }

  /** Runs soon (coalesced), e.g. after the dispatcher failed to enqueue. */
  wake(afterMs = 1_500): void {
    if (this.stopped || this.wakeTimer) return;
    this.wakeTimer = setTimeout(() => {
      this.wakeTimer = undefined;
      this.runOnce().catch((err: unknown) => this.ctx.logger.warn({ err }, 'outbox relay run failed'));
    }, afterMs);
    this.wakeTimer.unref();
  }

  /** One pass; returns how many rows had no job and got one. Concurrent calls share the pass. */
  runOnce(): Promise<number> {
    this.running ??= this.pass().finally(() => (this.running = undefined));
    return this.running;
  }

  private async pass(): Promise<number> {
    this.ctx.counters.relayRuns++;
    const rows = await outboxToRelay(this.ctx.db, this.ctx.batch ?? 1_000);
    if (rows.length === 0) return 0;
    const q = this.ctx.queue;
    const live = new Set(await q.getRanges([...LIVE_STATES], 0, -1));
    const missing = rows.filter((r) => !live.has(r.id));
    if (missing.length === 0) return 0;
    const finished = new Set(await q.getRanges(['completed', 'failed'], 0, -1));
    await Promise.all(missing.filter((r) => finished.has(r.id)).map((r) => q.remove(r.id).catch(() => 0)));
    if (this.ctx.scheduleSends) await this.ctx.scheduleSends(missing);
    else {
      const now = this.ctx.clock.now();
      await q.addBulk(missing.map((r) => sendJob(r, now)));
    }
    this.ctx.counters.outboxRequeued += missing.length;
    this.ctx.logger.info({ requeued: missing.length }, 'outbox relay enqueued rows that had no send job');
    return missing.length;
  }
}
