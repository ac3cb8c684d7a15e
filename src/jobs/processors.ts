/**
 * The processors: thin, like handlers. Each parses its payload, calls one service, and returns an outcome
 * (`sent`, `skipped: already acknowledged`…) or throws a signal: UnrecoverableError for what retrying
 * cannot fix, RateLimitError after a 429 (not counted as a failure), DelayedError when the job must
 * wait, and anything else to be retried with backoff.
 */
import { DelayedError, UnrecoverableError } from 'bullmq';
import { localDate } from '../domain/index.js';
import type { Logger } from '../logger.js';
import { runDailyChecks } from '../services/daily-checks.service.js';
import { fireProcessTimer, runDailyContactReminders } from '../services/daily-contact.service.js';
import { runDailyDigest } from '../services/digest.service.js';
import { sendOutboxMessage, type NotificationDeps } from '../services/notification.service.js';
import type { IncidentRef } from '../services/ports.js';
import { fireTimer } from '../services/timer.service.js';
import type { JobName, JobPayload } from './catalogue.js';
import { followUpPriority } from './dispatcher.js';
import type { JobCounters, JobMetricsHook, SendResult } from './metrics.js';
import type { AnyJob } from './queue-backend.js';
import { ChannelRateLimited, ChannelTransient, MessageGone, RecipientBlocked, RecipientNotFound, RequestRefused } from '../services/channel-port.js';

export interface ProcessorContext {
  deps: NotificationDeps;
  logger: Logger;
  counters: JobCounters;
  metrics?: JobMetricsHook;
  /** Milliseconds a timer may fire early (clock skew between machines) before it is put back. */
  earlyToleranceMs: number;
  /** Pauses the whole send queue (worker.rateLimit) after a 429. */
  rateLimit(ms: number): Promise<void>;
  rateLimitError(): Error;
}

export type Processor<N extends JobName> = (data: JobPayload<N>, job: AnyJob, token: string | undefined, ctx: ProcessorContext) => Promise<string>;
export type ProcessorMap = { [N in JobName]: Processor<N> };

/** Puts the job back to wait until `until`, without counting an attempt. */
async function waitUntil(job: AnyJob, token: string | undefined, until: Date): Promise<never> {
  await job.moveToDelayed(until.getTime(), token);
  throw new DelayedError();
}

/** The event after its card waits behind the first messages of its class (dispatcher.ts, followUpPriority). */
async function lowerToFollowUp(job: AnyJob, logger: Logger): Promise<void> {
  try {
    await job.changePriority({ priority: followUpPriority(job.opts.priority) });
  } catch (err) {
    // Only the order suffers: the event still goes, at the card's priority.
    logger.debug({ jobId: job.id, err: (err as Error).message }, 'could not lower a follow-up send');
  }
}

/** Log fields naming an incident: its id and its number, never a person. */
const incidentFields = (incident: IncidentRef | undefined) => (incident ? { incidentId: incident.id, incident: incident.number } : {});

export const handleTimerFire: Processor<'timer.fire'> = async ({ timerId }, job, token, ctx) => {
  // The watch, a stay's overdue chain and away periods are timers of their own kinds; the rest are fireTimer's.
  const opts = { earlyToleranceMs: ctx.earlyToleranceMs };
  const r = (await fireProcessTimer(ctx.deps, timerId, opts)) ?? (await fireTimer(ctx.deps, timerId, opts));
  if (r.status === 'not_due') return waitUntil(job, token, r.dueAt);
  const log = ctx.logger.child({ job: job.name, jobId: job.id, timerId, ...incidentFields(r.incident) });
  if (r.status === 'sent') log.info({ notices: r.notices }, 'timer fired');
  else log.debug({ outcome: r.outcome }, 'timer closed without a message');
  return r.outcome;
};

/**
 * "The section cannot be reached" is said once per process and local day, not once per notice: it is the
 * state of the organisation, and with most staff unbound every notice of the day would repeat it. Kept in
 * memory: a restarted process saying it once more is one more line, not worth a row in PostgreSQL.
 */
export const sectionWarning = {
  warnedOn: undefined as string | undefined,
  due(day: string): boolean {
    if (this.warnedOn === day) return false;
    this.warnedOn = day;
    return true;
  },
};

export const handleOutboxSend: Processor<'outbox.send'> = async ({ outboxId }, job, token, ctx) => {
  const count = (result: SendResult) => {
    ctx.counters.messages[result]++;
    ctx.metrics?.messageSent?.(result);
  };
  try {
    const r = await sendOutboxMessage(ctx.deps, outboxId);
    switch (r.status) {
      case 'deferred':
        if (r.followUp) await lowerToFollowUp(job, ctx.logger);
        return waitUntil(job, token, r.until);
      case 'rerouted':
        count(r.reason === 'blocked' ? '403' : 'error');
        // Normal operation, not a failure: the row is closed and the notice is with whoever stands in.
        ctx.logger.info({ job: job.name, jobId: job.id, outboxId, reason: r.reason, standIns: r.to.length, ...incidentFields(r.incident) }, 'recipient unreachable: notice moved to who stands in');
        return r.outcome;
      case 'undeliverable':
        count(r.reason === 'blocked' ? '403' : 'error');
        ctx.logger.info({ job: job.name, jobId: job.id, outboxId, reason: r.reason, tried: r.tried, ...incidentFields(r.incident) }, 'notice undeliverable: nobody in the stand-in chain can receive it; recorded');
        if (r.sectionUnreachable && sectionWarning.due(localDate(ctx.deps.clock.now(), ctx.deps.timeZone))) {
          ctx.logger.warn({ job: job.name, outboxId }, 'the corrections section cannot be reached: nobody of it can receive messages, so the digest of undeliverable notices reaches nobody');
        }
        // Closed and recorded: nothing to retry.
        return r.outcome;
      case 'sent':
        count('ok');
        ctx.logger.debug({ job: job.name, jobId: job.id, outboxId, mode: r.mode, resent: r.resent, ...incidentFields(r.incident) }, 'notice sent');
        return r.outcome;
      default:
        return r.outcome;
    }
  } catch (e) {
    if (e instanceof ChannelRateLimited) {
      count('429');
      // The messenger said how long: the queue waits exactly that, and the job is not counted as failed.
      await ctx.rateLimit(e.retryAfterSeconds * 1000);
      throw ctx.rateLimitError();
    }
    if (e instanceof RecipientBlocked || e instanceof RequestRefused || e instanceof MessageGone || e instanceof RecipientNotFound) {
      count(e instanceof RecipientBlocked ? '403' : 'error');
      throw new UnrecoverableError(`${e.name}: ${e.message}`);
    }
    if (e instanceof ChannelTransient) count('error');
    throw e;
  }
};

/** The scheduled run's own day: when it was due, not when a worker got to it. */
function runDay(job: AnyJob, tz: string): string {
  return localDate(new Date(job.timestamp + (job.opts?.delay ?? 0)), tz);
}

export const handleDailyContactReminders: Processor<'daily.contact_reminders'> = async ({ date }, job, _token, ctx) => {
  const r = await runDailyContactReminders(ctx.deps, date ?? runDay(job, ctx.deps.timeZone));
  return `sent: ${r.officers} reminders for ${r.subjects} subjects`;
};

export const handleDailyDigest: Processor<'daily.digest'> = async ({ date }, job, _token, ctx) => {
  const r = await runDailyDigest(ctx.deps, date ?? runDay(job, ctx.deps.timeZone));
  return `sent: digest to ${r.recipients}`;
};

export const handleDailyChecks: Processor<'daily.checks'> = async (_data, _job, _token, ctx) => {
  const r = await runDailyChecks(ctx.deps);
  return `done: ${r.screeningNotices} screening reminders, drill reminder ${r.drillReminderDue ? `due (${r.drillNotices} sent)` : 'not due'}, ${r.updatesPruned} update ids pruned`;
};

export const PROCESSORS: ProcessorMap = {
  'timer.fire': handleTimerFire,
  'outbox.send': handleOutboxSend,
  'daily.contact_reminders': handleDailyContactReminders,
  'daily.digest': handleDailyDigest,
  'daily.checks': handleDailyChecks,
};
