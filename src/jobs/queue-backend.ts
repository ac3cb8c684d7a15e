/**
 * Where the queues live. With REDIS_URL: BullMQ on Redis (ioredis under BullMQ; workers get
 * `maxRetriesPerRequest: null`). Without it: BullMQ's own PostgreSQL backend in the same database, its
 * tables in the `bullmq` schema — a fresh machine needs no Redis. Processors never see the difference.
 */
import { createPostgresBackend, Queue, Worker, withBackend, type Job, type WorkerOptions } from 'bullmq';
import { postgresChatSendSlots, redisChatSendSlots } from './send-slot-stores.js';
import type { ChatSendSlots } from './send-slots.js';

export type QueueBackendKind = 'redis' | 'postgres';

/* eslint-disable @typescript-eslint/no-explicit-any -- the two backends' classes differ only in type parameters */
/** A BullMQ queue on either backend. */
export type AnyQueue = Queue<any, any, string, any, any, string, any, any>;
/** A BullMQ worker on either backend. */
export type AnyWorker = Worker<any, any, string, any, any, any>;
export type AnyJob = Job<any, any, string>;
/* eslint-enable @typescript-eslint/no-explicit-any */

export type JobProcessor = (job: AnyJob, token?: string) => Promise<unknown>;

export interface QueueBackendConfig {
  /** redis:// or rediss:// — BullMQ on Redis. */
  redisUrl?: string | undefined;
  /** postgres:// — used when there is no Redis URL. */
  databaseUrl?: string | undefined;
  /**
   * Keeps deployments (and tests) that share one Redis or one database apart: the Redis key prefix, and
   * on PostgreSQL (which has no prefix) part of each queue's name. Default `cc`.
   */
  namespace?: string;
  /** Connections in each queue's or worker's own pool on the PostgreSQL backend. Default 3. */
  pgPoolMax?: number;
}

export type WorkerTuning = Pick<WorkerOptions, 'concurrency' | 'lockDuration' | 'stalledInterval' | 'limiter' | 'maxStalledCount' | 'drainDelay'>;

/**
 * A mark kept in the queue store next to the jobs: whatever takes the jobs away (FLUSHALL, a Redis restart
 * without persistence, a failover to an empty replica) takes the mark too, so a missing mark says "rebuild
 * from PostgreSQL now" within one cheap read.
 */
export interface StoreMark {
  set(): Promise<void>;
  /** False when the mark is gone. Throws when the store cannot be reached (that is not a wipe, yet). */
  present(): Promise<boolean>;
}

export interface QueueBackend {
  readonly kind: QueueBackendKind;
  readonly namespace: string;
  /** The queue's full name on this backend. */
  queueName(base: string): string;
  createQueue(base: string): AnyQueue;
  createWorker(base: string, processor: JobProcessor, tuning?: WorkerTuning): AnyWorker;
  /** The error a processor throws after `worker.rateLimit(ms)`: the job waits, not counted as failed. */
  rateLimitError(): Error;
  /** A mark on `queue`'s connection, where the store can lose its jobs on its own; undefined where it cannot. */
  storeMark?(queue: AnyQueue, name: string): StoreMark | undefined;
  /**
   * The chats' send slots, shared by every process of the deployment, next to the jobs (Redis, or the
   * chat_send_slots table): one per backend, made on first use. Closed with the job system.
   */
  chatSendSlots?(): ChatSendSlots;
}

export class QueueBackendConfigError extends Error {
  override readonly name = 'QueueBackendConfigError';
}

const NAMESPACE_RE = /^[A-Za-z0-9_-]{1,64}$/;

export function createQueueBackend(config: QueueBackendConfig): QueueBackend {
  const namespace = config.namespace ?? 'cc';
  if (!NAMESPACE_RE.test(namespace)) throw new QueueBackendConfigError('queue namespace must be 1–64 of A-Z a-z 0-9 _ -');
  if (config.redisUrl) return redisBackend(config.redisUrl, namespace);
  if (config.databaseUrl) return postgresBackend(config.databaseUrl, namespace, config.pgPoolMax ?? 3);
  throw new QueueBackendConfigError('a queue backend needs REDIS_URL or a PostgreSQL URL');
}

/** Makes the slots once, on first use. */
function once(make: () => ChatSendSlots): () => ChatSendSlots {
  let slots: ChatSendSlots | undefined;
  return () => (slots ??= make());
}

function redisBackend(url: string, namespace: string): QueueBackend {
  return {
    kind: 'redis',
    namespace,
    queueName: (base) => base,
    // Producers fail fast when Redis is away (the dispatcher swallows it; PostgreSQL has the rows).
    createQueue: (base) => new Queue(base, { connection: { url, enableOfflineQueue: false }, prefix: namespace }) as AnyQueue,
    createWorker: (base, processor, tuning = {}) =>
      new Worker(base, processor, { connection: { url, maxRetriesPerRequest: null }, prefix: namespace, ...tuning }) as AnyWorker,
    rateLimitError: () => Worker.RateLimitError(),
    storeMark: (queue, name) => {
      // Outside every queue's keys (`<prefix>:<queue>:…`): no queue is named `marks`.
      const key = `${namespace}:marks:${name}`;
      // The queue's own connection (no offline queue: a read while Redis is away fails at once).
      const client = () => (queue.getBackend() as unknown as { client: Promise<{ get(k: string): Promise<string | null>; set(k: string, v: string): Promise<unknown> }> }).client;
      return {
        set: async () => {
          await (await client()).set(key, new Date().toISOString());
        },
        present: async () => (await (await client()).get(key)) !== null,
      };
    },
    chatSendSlots: once(() => redisChatSendSlots(url, namespace)),
  };
}

function postgresBackend(connectionString: string, namespace: string, max: number): QueueBackend {
  const pg = withBackend(createPostgresBackend);
  // The backend keeps its tables in the `bullmq` schema of the app's database; `migrate` creates them once.
  const connection = () => ({ connectionString, schema: 'bullmq', migrate: true, max, application_name: `bullmq-${namespace}` });
  const queueName = (base: string) => `${namespace}-${base}`;
  return {
    kind: 'postgres',
    namespace,
    queueName,
    createQueue: (base) => new pg.Queue(queueName(base), { connection: connection() }) as unknown as AnyQueue,
    createWorker: (base, processor, tuning = {}) =>
      new pg.Worker(queueName(base), processor, { connection: connection(), ...tuning }) as unknown as AnyWorker,
    rateLimitError: () => pg.Worker.RateLimitError(),
    // No storeMark: the jobs live in PostgreSQL next to the timers. Nothing wipes one without the other
    // (a restored backup restores both), so there is no wipe to detect; the periodic pass still audits.
    storeMark: () => undefined,
    chatSendSlots: once(() => postgresChatSendSlots(connectionString, namespace)),
  };
}
