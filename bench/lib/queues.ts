/**
 * The bench's own handle on the product's queues (same Redis, same namespace), to do what the bot
 * process does after a commit — schedule timer jobs — and to count what the queues hold.
 */
import { createQueueBackend, QueueDispatcher, type AnyQueue } from '../../src/jobs/index.js';
import { createJobCounters } from '../../src/jobs/metrics.js';
import { createLogger } from '../../src/logger.js';

export interface ProductQueues {
  timers: AnyQueue;
  send: AnyQueue;
  daily: AnyQueue;
  dispatcher: QueueDispatcher;
  /** Delayed + waiting + active + prioritized jobs in the timers queue. */
  liveTimerJobs(): Promise<number>;
  close(): Promise<void>;
}

export function productQueues(redisUrl: string, namespace = 'cc'): ProductQueues {
  const backend = createQueueBackend({ redisUrl, namespace });
  const timers = backend.createQueue('timers');
  const send = backend.createQueue('send');
  const daily = backend.createQueue('daily');
  const logger = createLogger('silent');
  const dispatcher = new QueueDispatcher({ queues: { timers, send }, clock: { now: () => new Date() }, logger, counters: createJobCounters(), enqueueTimeoutMs: 30_000 });
  return {
    timers,
    send,
    daily,
    dispatcher,
    async liveTimerJobs() {
      const c = await timers.getJobCounts('delayed', 'wait', 'active', 'prioritized', 'waiting-children');
      return Object.values(c).reduce((s: number, v) => s + Number(v), 0);
    },
    async close() {
      await Promise.all([timers.close(), send.close(), daily.close()]);
    },
  };
}
