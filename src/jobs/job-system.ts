/**
 * The job system, wired once: the queues on the chosen backend, the Dispatcher the services call after
 * commit, and — in a process that runs workers — the workers, the outbox relay, the timer reconciler, the
 * daily schedulers and the missed-day check. `close()` stops taking jobs, lets running ones finish within
 * a deadline (worker.close() has none of its own) and closes the connections.
 */
import { UnrecoverableError } from 'bullmq';
import type { Logger } from '../logger.js';
import { runLateDailyChecks } from '../services/daily-checks.service.js';
import { detectMissedDailyRuns, type MissedDaysReport } from '../services/daily-contact.service.js';
import type { NotificationDeps } from '../services/notification.service.js';
import type { ServiceDeps } from '../services/ports.js';
import { alertOverdueTimers } from '../services/timer.service.js';
import { assertEveryJobHasProcessor, isJobName, JOB_QUEUE, parsePayload, QUEUE_KEYS, type JobName, type QueueKey } from './catalogue.js';
import { QueueDispatcher, TIMER_QUEUE_HORIZON_MS } from './dispatcher.js';
import { createJobCounters, type JobCounters, type JobMetricsHook } from './metrics.js';
import { OutboxRelay } from './outbox-relay.js';
import { PROCESSORS, type Processor, type ProcessorContext, type ProcessorMap } from './processors.js';
import type { AnyJob, AnyQueue, AnyWorker, QueueBackend, WorkerTuning } from './queue-backend.js';
import { assertHorizonSpansPasses, TimerReconciler, type ReconcileReport } from './reconciler.js';
import { SendScheduler } from './send-scheduler.js';
import type { ChatSendSlots } from './send-slots.js';
import { ensureDailySchedulers } from './schedulers.js';
import type { ChannelName, NoticeChannel } from '../services/channel-port.js';

/** Everything a service needs except the dispatcher, which the job system provides. */
export type BaseServiceDeps = Omit<ServiceDeps, 'dispatcher'>;

export interface JobTuning {
  sendConcurrency: number;
  timerConcurrency: number;
  /** Milliseconds a worker's job lock lasts; a killed worker's job is retried after it expires. */
  lockDurationMs: number;
  /** Milliseconds between stalled-job checks. */
  stalledIntervalMs: number;
  relayEveryMs: number;
  /** 0: reconcile at start only (and when asked); timers beyond the horizon then get no job until a pass is asked for. */
  reconcileEveryMs: number;
  /** Milliseconds ahead within which a pending timer has its job in the queue; at least a few reconcile intervals (the reconciler refuses less). */
  timerHorizonMs: number;
  /** Milliseconds between looks for a wiped Redis (its reconciliation mark gone); 0: none. */
  wipeCheckEveryMs: number;
  overdueAlertAfterMs: number;
  /** Milliseconds a send attempt may still be in flight after its stamp (default: the channel's request timeout + 5 s). */
  sendInFlightGuardMs?: number;
  earlyToleranceMs: number;
  shutdownDeadlineMs: number;
  enqueueTimeoutMs: number;
}

export const DEFAULT_TUNING: JobTuning = {
  // The limiter starts a send every 34 ms, so 10 slots carry jobs of up to ~340 ms (20–150 ms warm, 300–450 ms
  // cold on a loaded machine). A chat's spacing no longer holds a slot: the job waits in the delayed set.
  sendConcurrency: 10,
  timerConcurrency: 5,
  lockDurationMs: 30_000,
  stalledIntervalMs: 30_000,
  relayEveryMs: 5_000,
  reconcileEveryMs: 60_000,
  timerHorizonMs: TIMER_QUEUE_HORIZON_MS,
  wipeCheckEveryMs: 1_000,
  overdueAlertAfterMs: 60_000,
  earlyToleranceMs: 1_000,
  shutdownDeadlineMs: 10_000,
  enqueueTimeoutMs: 3_000,
};

export interface JobSystemOptions {
  backend: QueueBackend;
  /** Where notices go (the Telegram adapter's notice channel, or the deployment's only channel); its queue limiter paces the sends. */
  channel: NoticeChannel;
  /** Every channel by name when there are several (Telegram and WeCom): each notice goes to its recipient's. */
  channels?: Partial<Record<ChannelName, NoticeChannel>>;
  logger: Logger;
  metrics?: JobMetricsHook;
  tuning?: Partial<JobTuning>;
  /** Replaces processors (tests); start-up still fails if one is missing. */
  processors?: Partial<ProcessorMap>;
}

export interface StartWorkersOptions {
  /** Install the 09:00 / 18:00 job schedulers (default true). */
  schedulers?: boolean;
  /** Look for daily runs missed while down, and run today's if late (default true). */
  catchUp?: boolean;
  /** Run only these queues' workers (default all). */
  queues?: readonly QueueKey[];
}

export interface JobSystemMetrics extends JobCounters {
  backend: QueueBackend['kind'];
  workers: number;
}

export interface JobSystem {
  readonly backend: QueueBackend;
  /** The chats' send lines shared by every process (the Telegram gateway takes its moments from them). */
  readonly chatSlots: ChatSendSlots | undefined;
  readonly queues: Readonly<Record<QueueKey, AnyQueue>>;
  readonly dispatcher: QueueDispatcher;
  /** The services' dependencies, with this system's dispatcher. */
  readonly deps: ServiceDeps;
  readonly notificationDeps: NotificationDeps;
  startWorkers(opts?: StartWorkersOptions): Promise<void>;
  /** One reconciliation pass now (also what runs every minute). */
  reconcile(): Promise<ReconcileReport>;
  /** One outbox relay pass now. */
  relay(): Promise<number>;
  installSchedulers(): Promise<number>;
  detectMissedDays(): Promise<MissedDaysReport>;
  /**
   * Settles once start-up's catch-up (missed days, today's late runs) is over, whether anything was due
   * or not, and also when it failed (logged); at once with `catchUp: false`. Pending until startWorkers.
   */
  readonly startupCatchUp: Promise<void>;
  metrics(): JobSystemMetrics;
  close(opts?: { deadlineMs?: number }): Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

export function createJobSystem(base: BaseServiceDeps, opts: JobSystemOptions): JobSystem {
  const tuning: JobTuning = { ...DEFAULT_TUNING, ...opts.tuning };
  // Before any connection is opened: a horizon shorter than a few passes could let a timer fall due without its job.
  assertHorizonSpansPasses(tuning.timerHorizonMs, tuning.reconcileEveryMs);
  const { backend, logger } = opts;
  const counters = createJobCounters();
  const queues = Object.fromEntries(QUEUE_KEYS.map((k) => [k, backend.createQueue(k)])) as Record<QueueKey, AnyQueue>;
  for (const [key, q] of Object.entries(queues)) q.on('error', (err: Error) => logger.warn({ err, queue: key }, 'queue connection error'));

  let relay: OutboxRelay | undefined;
  let reconciler: TimerReconciler | undefined;
  // Send jobs are queued at their chat's slot: a busy chat never costs the queue limiter a slot only to wait.
  const chatSlots = backend.chatSendSlots?.();
  const sendsOnTelegram = opts.channel.name === 'telegram' || opts.channels?.telegram !== undefined;
  const scheduler = chatSlots
    ? new SendScheduler({ db: base.db, clock: base.clock, queue: queues.send, slots: chatSlots, logger, telegram: sendsOnTelegram, wecom: opts.channel.name === 'wecom' || opts.channels?.wecom !== undefined })
    : undefined;
  const scheduleSends = scheduler ? (rows: Parameters<SendScheduler['schedule']>[0]) => scheduler.schedule(rows) : undefined;
  const dispatcher = new QueueDispatcher({
    queues,
    clock: base.clock,
    logger,
    counters,
    horizonMs: tuning.timerHorizonMs,
    enqueueTimeoutMs: tuning.enqueueTimeoutMs,
    onEnqueueFailed: (what) => (what === 'send' ? relay?.wake() : undefined),
    ...(scheduleSends ? { scheduleSends } : {}),
  });
  const deps: ServiceDeps = { ...base, dispatcher };
  const notificationDeps: NotificationDeps = {
    ...deps,
    channel: opts.channel,
    ...(opts.channels ? { channels: opts.channels } : {}),
    ...(tuning.sendInFlightGuardMs !== undefined ? { sendInFlightGuardMs: tuning.sendInFlightGuardMs } : {}),
    // The send queue's limiter, shared by every worker, is the messenger's overall rate: one message a run.
    oneMessagePerRun: true,
  };
  const processors: ProcessorMap = { ...PROCESSORS, ...opts.processors } as ProcessorMap;
  assertEveryJobHasProcessor(processors);

  const workers: AnyWorker[] = [];
  let schedulersWanted = false;
  let catchUpDone!: () => void;
  const startupCatchUp = new Promise<void>((resolve) => (catchUpDone = resolve));

  const installSchedulers = async () => ensureDailySchedulers(queues.daily, await base.policy(), base.timeZone);

  relay = new OutboxRelay({ db: base.db, clock: base.clock, queue: queues.send, logger, counters, everyMs: tuning.relayEveryMs, ...(scheduleSends ? { scheduleSends } : {}) });
  // Redis only: a wipe between two minute-long passes is seen within a second (PostgreSQL cannot lose jobs alone).
  const wipeMark = backend.storeMark?.(queues.timers, 'timer-reconciler');
  reconciler = new TimerReconciler({
    db: base.db,
    clock: base.clock,
    queue: queues.timers,
    logger,
    counters,
    ...(opts.metrics ? { metrics: opts.metrics } : {}),
    everyMs: tuning.reconcileEveryMs,
    horizonMs: tuning.timerHorizonMs,
    overdueAlertAfterMs: tuning.overdueAlertAfterMs,
    lockName: `${backend.namespace}:reconcile`,
    ...(wipeMark ? { wipeCheck: { mark: wipeMark, everyMs: tuning.wipeCheckEveryMs } } : {}),
    // The send jobs went with the timers: the relay puts them back now rather than on its next run.
    onWipe: () => relay?.wake(0),
    alertOverdue: (rows) => alertOverdueTimers(deps, rows),
    // A wiped Redis loses the schedulers too: each reconciliation puts them back.
    ensureSchedulers: async () => {
      if (schedulersWanted) await installSchedulers();
    },
  });

  function makeWorker(key: QueueKey): AnyWorker {
    let worker: AnyWorker | undefined;
    const ctx: ProcessorContext = {
      deps: notificationDeps,
      logger,
      counters,
      ...(opts.metrics ? { metrics: opts.metrics } : {}),
      earlyToleranceMs: tuning.earlyToleranceMs,
      rateLimit: async (ms) => {
        await worker!.rateLimit(ms);
      },
      rateLimitError: () => backend.rateLimitError(),
    };
    const run = async (job: AnyJob, token?: string) => {
      if (!isJobName(job.name) || JOB_QUEUE[job.name] !== key) throw new UnrecoverableError(`no processor for ${job.name} on ${key}`);
      const name: JobName = job.name;
      let data: unknown;
      try {
        data = parsePayload(name, job.data);
      } catch (e) {
        throw new UnrecoverableError((e as Error).message);
      }
      return (processors[name] as Processor<JobName>)(data as never, job, token, ctx);
    };
    const workerTuning: WorkerTuning = {
      concurrency: key === 'send' ? tuning.sendConcurrency : key === 'timers' ? tuning.timerConcurrency : 1,
      lockDuration: tuning.lockDurationMs,
      stalledInterval: tuning.stalledIntervalMs,
      ...(key === 'send' ? { limiter: { ...opts.channel.queueLimiter } } : {}),
    };
    worker = backend.createWorker(key, run, workerTuning);
    worker.on('failed', (job: AnyJob | undefined, err: Error) =>
      logger.warn({ queue: key, job: job?.name, jobId: job?.id, attempts: job?.attemptsMade, err: { name: err.name, message: err.message } }, 'job failed'),
    );
    worker.on('completed', (job: AnyJob, outcome: unknown) => logger.debug({ queue: key, job: job.name, jobId: job.id, outcome }, 'job done'));
    worker.on('error', (err: Error) => logger.warn({ err, queue: key }, 'worker error'));
    opts.metrics?.observeWorker?.(worker);
    return worker;
  }

  const system: JobSystem = {
    backend,
    chatSlots,
    queues,
    dispatcher,
    deps,
    notificationDeps,

    async startWorkers(start: StartWorkersOptions = {}) {
      const keys = start.queues ?? QUEUE_KEYS;
      for (const key of keys) workers.push(makeWorker(key));
      schedulersWanted = start.schedulers !== false;
      if (schedulersWanted) await installSchedulers();
      relay!.start();
      reconciler!.start();
      if (start.catchUp !== false) {
        // Not awaited: start-up does not wait for a late daily run.
        void detectMissedDailyRuns(deps)
          .then(async (r) => {
            const checks = await runLateDailyChecks(deps);
            const ranLate = checks ? [...r.ranLate, 'checks'] : r.ranLate;
            // Days missed are worth a warning; today's runs done late (a first start, a restart after 09:00) are not.
            if (r.missed.contact_reminder.length || r.missed.digest.length) logger.warn({ missed: r.missed, ranLate }, 'daily runs missed while down');
            else if (ranLate.length) logger.info({ ranLate }, "today's daily runs done late, at start");
          })
          .catch((err: unknown) => logger.error({ err }, 'missed-day check failed'))
          .finally(catchUpDone);
      } else catchUpDone();
      logger.info({ backend: backend.kind, queues: keys }, 'workers started');
    },

    reconcile: () => reconciler!.runOnce(),
    relay: () => relay!.runOnce(),
    installSchedulers,
    detectMissedDays: () => detectMissedDailyRuns(deps),
    startupCatchUp,

    metrics: () => ({ ...counters, messages: { ...counters.messages }, backend: backend.kind, workers: workers.length }),

    async close(closeOpts = {}) {
      const deadline = closeOpts.deadlineMs ?? tuning.shutdownDeadlineMs;
      await Promise.all([relay!.stop(), reconciler!.stop()]);
      // close() stops taking jobs and waits for the running ones, with no limit of its own.
      const closing = Promise.all(workers.map((w) => w.close()));
      const finished = await Promise.race([closing.then(() => true), sleep(deadline).then(() => false)]);
      if (!finished) {
        logger.warn({ deadlineMs: deadline }, 'jobs still running at the shutdown deadline; their locks will expire and they will be retried');
        for (const w of workers) w.cancelAllJobs('shutdown');
      }
      await Promise.race([Promise.all([...Object.values(queues).map((q) => q.close().catch(() => undefined)), chatSlots?.close().catch(() => undefined)]), sleep(2_000)]);
    },
  };
  return system;
}

