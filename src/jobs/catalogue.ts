/**
 * The job catalogue: every job's name, its payload (ids only — never a name or an ID number), the zod
 * schema that payload is parsed with at the top of its processor (payloads come back from the queue as
 * JSON), the queue it goes to, and its retry options. Start-up fails if a job has no processor.
 */
import { z } from 'zod';

/** The queues. `send` carries Telegram's overall limit; `timers` holds one delayed job per pending timer due within the horizon (dispatcher.ts). */
export const QUEUE_KEYS = ['timers', 'send', 'daily'] as const;
export type QueueKey = (typeof QUEUE_KEYS)[number];

const id = z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, 'must be a uuid');
const localDay = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be YYYY-MM-DD');

export const JOB_PAYLOADS = {
  /** A deadline in `timers` is due. Job id = the timer's dedupe key. */
  'timer.fire': z.object({ timerId: id }),
  /** An outbox row is to be sent (or a card edited). Job id = the outbox id. */
  'outbox.send': z.object({ outboxId: id }),
  /** 09:00: one message per officer listing their subjects away. `date` absent = the run's own day. */
  'daily.contact_reminders': z.object({ date: localDay.optional() }),
  /** 18:00: the daily digest to the section and the leaders. */
  'daily.digest': z.object({ date: localDay.optional() }),
  /** Once a day, with the contact reminders: screenings due, the drill reminder, pruning old update ids. */
  'daily.checks': z.object({}),
} as const;

export type JobName = keyof typeof JOB_PAYLOADS;
export type JobPayload<N extends JobName> = z.infer<(typeof JOB_PAYLOADS)[N]>;
/** A job as a discriminated union: `{ name, data }`. */
export type JobItem = { [N in JobName]: { name: N; data: JobPayload<N> } }[JobName];

export const JOB_NAMES = Object.keys(JOB_PAYLOADS) as JobName[];

export const JOB_QUEUE: Readonly<Record<JobName, QueueKey>> = {
  'timer.fire': 'timers',
  'outbox.send': 'send',
  'daily.contact_reminders': 'daily',
  'daily.digest': 'daily',
  'daily.checks': 'daily',
};

/** Retries and retention per job. Timers and sends retry with backoff; a 429 is not counted (RateLimitError). */
export const JOB_OPTIONS: Readonly<Record<JobName, { attempts: number; backoff: { type: 'exponential'; delay: number }; removeOnComplete: { age: number; count: number }; removeOnFail: { age: number } }>> = {
  'timer.fire': { attempts: 10, backoff: { type: 'exponential', delay: 2_000 }, removeOnComplete: { age: 86_400, count: 5_000 }, removeOnFail: { age: 7 * 86_400 } },
  'outbox.send': { attempts: 10, backoff: { type: 'exponential', delay: 1_000 }, removeOnComplete: { age: 3_600, count: 5_000 }, removeOnFail: { age: 86_400 } },
  'daily.contact_reminders': { attempts: 5, backoff: { type: 'exponential', delay: 30_000 }, removeOnComplete: { age: 7 * 86_400, count: 100 }, removeOnFail: { age: 30 * 86_400 } },
  'daily.digest': { attempts: 5, backoff: { type: 'exponential', delay: 30_000 }, removeOnComplete: { age: 7 * 86_400, count: 100 }, removeOnFail: { age: 30 * 86_400 } },
  'daily.checks': { attempts: 5, backoff: { type: 'exponential', delay: 30_000 }, removeOnComplete: { age: 7 * 86_400, count: 100 }, removeOnFail: { age: 30 * 86_400 } },
};

/** Custom BullMQ job ids must not contain `:` (BullMQ reserves it). */
export function jobIdOf(key: string): string {
  return key.replace(/:/g, '-');
}

export class MissingProcessorError extends Error {
  override readonly name = 'MissingProcessorError';
  constructor(readonly jobs: readonly string[]) {
    super(`no processor for job(s): ${jobs.join(', ')}`);
  }
}

export class InvalidJobPayloadError extends Error {
  override readonly name = 'InvalidJobPayloadError';
  constructor(
    readonly job: string,
    readonly fields: readonly string[],
  ) {
    super(`invalid payload for ${job}: ${fields.join(', ') || 'payload'}`);
  }
}

/** Fails at start-up, naming the jobs that nothing would process. */
export function assertEveryJobHasProcessor(processors: Partial<Record<string, unknown>>): void {
  const missing = JOB_NAMES.filter((n) => typeof processors[n] !== 'function');
  if (missing.length) throw new MissingProcessorError(missing);
}

/** Parses a payload; the error names fields, never values. */
export function parsePayload<N extends JobName>(name: N, data: unknown): JobPayload<N> {
  const r = JOB_PAYLOADS[name].safeParse(data);
  if (!r.success) throw new InvalidJobPayloadError(name, r.error.issues.map((i) => i.path.join('.')));
  return r.data as JobPayload<N>;
}

export function isJobName(name: string): name is JobName {
  return Object.hasOwn(JOB_PAYLOADS, name);
}
