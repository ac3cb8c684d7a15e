/**
 * The Dispatcher the services call after they commit: a created timer due within the horizon gets a
 * delayed job whose id is the timer's dedupe key (a later one is left to the reconciler), a cancelled
 * timer's job is removed, a new outbox row gets a send job whose id is the outbox id. A queue outage never
 * reaches the user: PostgreSQL already has the rows, and the outbox relay and the reconciler (woken here)
 * catch up.
 */
import type { Logger } from '../logger.js';
import { isUrgentNotice, type Clock } from '../domain/index.js';
import type { CommittedChange, Dispatcher } from '../services/ports.js';
import { JOB_OPTIONS, jobIdOf } from './catalogue.js';
import type { JobCounters } from './metrics.js';
import type { AnyQueue } from './queue-backend.js';

/**
 * How far ahead a pending timer has its job in the queue, in ms: an hour. PostgreSQL holds every pending
 * timer; the queue holds only those due within the hour, and each reconciliation pass (every minute, at
 * start, and at once after a wipe) adds the ones that have come this near. So a wiped store is rebuilt, and
 * the queue's memory held, in proportion to what falls due within the hour, not to everything pending. An
 * hour is sixty passes: a timer cannot be late for want of one (the reconciler refuses a horizon that is
 * not several passes long).
 */
export const TIMER_QUEUE_HORIZON_MS = 3_600_000;

/** Whether a timer is near enough to have its job now: its delay, counted from `now`, is shorter than the horizon. */
export function withinHorizon(dueAt: Date, now: Date, horizonMs: number): boolean {
  return dueAt.getTime() - now.getTime() < horizonMs;
}

export interface DispatcherContext {
  queues: { timers: AnyQueue; send: AnyQueue };
  clock: Clock;
  /** Timers due within this many ms get their job at once; later ones at a reconciliation pass. Default TIMER_QUEUE_HORIZON_MS. */
  horizonMs?: number;
  logger: Logger;
  counters: JobCounters;
  /** Milliseconds an enqueue may take before the user's request moves on without it. Default 3 000. */
  enqueueTimeoutMs?: number;
  /** Told when something could not be enqueued, so the relay/reconciler run soon. */
  onEnqueueFailed?: (what: 'timers' | 'send') => void;
  /** Adds send jobs at their chats' slots (send-scheduler.ts); default: straight into the queue. */
  scheduleSends?: (rows: ReadonlyArray<SendSpec>) => Promise<void>;
}

class EnqueueTimeout extends Error {
  override readonly name = 'EnqueueTimeout';
}

export interface TimerJobSpec {
  id: string;
  dedupeKey: string;
  dueAt: Date;
}

/** The job that fires a timer: id = dedupe key, delayed until due (now if already due). */
export function timerJob(t: TimerJobSpec, now: Date) {
  return {
    name: 'timer.fire' as const,
    data: { timerId: t.id },
    opts: { ...JOB_OPTIONS['timer.fire'], jobId: jobIdOf(t.dedupeKey), delay: Math.max(0, t.dueAt.getTime() - now.getTime()) },
  };
}

/**
 * BullMQ priorities of send jobs (lower goes first, on both backends): a deadline's notice overtakes the
 * routine ones already waiting — after a burst of reports the send queue holds minutes of fan-out at
 * Telegram's 30 a second, and an escalation must not wait behind it.
 */
export const SEND_PRIORITY = { urgent: 1, routine: 10 } as const;

/**
 * The priority of a notice's second message (the event that replies to the card it had to send first):
 * after the first messages of its own class. The card rings the phone and shows the incident; during a
 * burst of escalations the next person's card must not wait behind this one's reply.
 */
export function followUpPriority(priority: number | undefined): number {
  return (priority ?? SEND_PRIORITY.routine) + 1;
}

/** An outbox row to send; without its kind it counts as routine. */
export interface SendSpec {
  id: string;
  kind?: string | undefined;
  timerId?: string | null | undefined;
  notBefore?: Date | null | undefined;
}

export function sendPriorityOf(row: SendSpec): number {
  return row.kind !== undefined && isUrgentNotice({ kind: row.kind, timerId: row.timerId }) ? SEND_PRIORITY.urgent : SEND_PRIORITY.routine;
}

/** The job that sends an outbox row: id = the outbox id; held until `notBefore` when the row has one. */
export function sendJob(row: SendSpec, now?: Date) {
  const delay = row.notBefore && now ? Math.max(0, row.notBefore.getTime() - now.getTime()) : 0;
  return {
    name: 'outbox.send' as const,
    data: { outboxId: row.id },
    opts: { ...JOB_OPTIONS['outbox.send'], jobId: row.id, priority: sendPriorityOf(row), ...(delay ? { delay } : {}) },
  };
}

export class QueueDispatcher implements Dispatcher {
  constructor(private readonly ctx: DispatcherContext) {}

  async afterCommit(change: CommittedChange): Promise<void> {
    await Promise.all([
      this.guard('timers', () => this.scheduleTimers(change.timersCreated), change.timersCreated.length > 0),
      this.guard('timers', () => this.unscheduleTimers(change.timersCancelled.map((t) => t.dedupeKey)), change.timersCancelled.length > 0),
      this.guard('send', () => this.enqueueSends(change.outboxCreated), change.outboxCreated.length > 0),
    ]);
  }

  /** Jobs for the timers due within the horizon; the others are the reconciler's to add when they come near. */
  async scheduleTimers(timers: ReadonlyArray<TimerJobSpec>): Promise<void> {
    // The same instant for the cut and the delays: a timer left out here is due at least a horizon away.
    const now = this.ctx.clock.now();
    const horizonMs = this.ctx.horizonMs ?? TIMER_QUEUE_HORIZON_MS;
    const near = timers.filter((t) => withinHorizon(t.dueAt, now, horizonMs));
    if (near.length === 0) return;
    await this.ctx.queues.timers.addBulk(near.map((t) => timerJob(t, now)));
  }

  /** Removes the jobs of closed timers; a job that is running or already gone is left alone (it will find the row closed). */
  async unscheduleTimers(dedupeKeys: readonly string[]): Promise<void> {
    await Promise.all(dedupeKeys.map((k) => this.ctx.queues.timers.remove(jobIdOf(k)).catch(() => 0)));
  }

  /** Send jobs for outbox rows (an id alone is a routine notice), each at its chat's slot. */
  async enqueueSends(rows: ReadonlyArray<string | SendSpec>): Promise<void> {
    if (rows.length === 0) return;
    const specs = rows.map((r) => (typeof r === 'string' ? { id: r } : r));
    if (this.ctx.scheduleSends) return this.ctx.scheduleSends(specs);
    await this.ctx.queues.send.addBulk(specs.map((r) => sendJob(r, this.ctx.clock.now())));
  }

  private async guard(what: 'timers' | 'send', run: () => Promise<void>, needed: boolean): Promise<void> {
    if (!needed) return;
    const ms = this.ctx.enqueueTimeoutMs ?? 3_000;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([run(), new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new EnqueueTimeout(`enqueue took over ${ms} ms`)), ms)))]);
    } catch (err) {
      this.ctx.counters.enqueueFailures++;
      this.ctx.logger.warn({ err, what }, 'could not enqueue after commit; PostgreSQL has the rows, the relay/reconciler will catch up');
      this.ctx.onEnqueueFailed?.(what);
    } finally {
      clearTimeout(timer);
    }
  }
}
