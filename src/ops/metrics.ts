/**
 * Prometheus metrics (prom-client) of the bot and the workers: updates handled, messages sent,
 * queue depth and job lateness, pending timers and reconciler drift, open incidents, and notices nobody
 * could receive.
 *
 * Counters and histograms move where things happen (bot middleware, the gateway, the workers, the
 * reconciler call the small methods below). Gauges that describe PostgreSQL or the queues are
 * collected when /metrics is scraped, with a short timeout, so a slow database never hangs a scrape.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Database } from '../db/client.js';
import { openIncidentCounts, pendingTimerStats } from '../db/repositories/ops-stats.repository.js';
import { undeliverableCounts } from '../db/repositories/undeliverable.repository.js';
import { DAY, INCIDENT_TYPES, NOTICE_KINDS, TIMER_KINDS, type Clock } from '../domain/index.js';

/** How a call to Telegram that sends something ended. */
export const SEND_RESULTS = ['ok', '429', '403', 'error'] as const;
export type SendResult = (typeof SEND_RESULTS)[number];

/** Job counts a queue reports; BullMQ's Queue satisfies this on both backends. */
export interface CountableQueue {
  readonly name: string;
  getJobCounts(...types: string[]): Promise<Record<string, number>>;
}

/** The parts of a BullMQ job the lateness measure reads. */
export interface TimedJob {
  name: string;
  timestamp: number;
  delay?: number;
  processedOn?: number;
  attemptsMade?: number;
  attemptsStarted?: number;
}

/** The parts of a BullMQ Worker that `observeWorker` listens to. */
export interface ObservableWorker {
  readonly name: string;
  on(event: 'active', listener: (job: TimedJob) => void): unknown;
  on(event: 'completed', listener: (job: TimedJob) => void): unknown;
  on(event: 'failed', listener: (job: TimedJob | undefined, err: Error) => void): unknown;
}

export const QUEUE_STATES = ['waiting', 'delayed', 'active', 'prioritized', 'paused', 'failed'] as const;

/** Seconds a scrape waits for PostgreSQL or a queue before it gives up on that part. */
const COLLECT_TIMEOUT_MS = 2_000;

export interface OpsMetricsOptions {
  /** Also expose Node's process metrics (CPU, memory, event loop lag). Default true. */
  defaultMetrics?: boolean;
  /** Labels added to every series, e.g. `{ role: 'worker' }`. */
  defaultLabels?: Record<string, string>;
  /** The clock "the last 24 hours" is read against (the product's injected clock). Default: the machine's. */
  clock?: Clock;
}

export class OpsMetrics {
  readonly registry = new Registry();

  private readonly updates: Counter<'kind' | 'outcome'>;
  private readonly updatesDropped: Counter<'reason'>;
  private readonly updateSeconds: Histogram<'kind'>;
  private readonly messages: Counter<'result'>;
  private readonly jobLateness: Histogram<'queue' | 'name'>;
  private readonly jobs: Counter<'queue' | 'name' | 'outcome'>;
  private readonly drift: Counter<'kind'>;
  private readonly lastDrift: Gauge<'kind'>;
  private readonly reconcilerRuns: Counter;
  private readonly collectErrors: Counter<'source'>;

  private database: Database | undefined;
  private queues: CountableQueue[] = [];
  private dbSnapshot: Promise<DbSnapshot | undefined> | undefined;
  private dbSnapshotAt = 0;
  private readonly clock: Clock;

  constructor(opts: OpsMetricsOptions = {}) {
    this.clock = opts.clock ?? { now: () => new Date() };
    const registers = [this.registry];
    if (opts.defaultLabels) this.registry.setDefaultLabels(opts.defaultLabels);
    if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'corrections_' });

    this.updates = new Counter({
      name: 'corrections_updates_handled_total',
      help: 'Telegram updates handled, by kind (message, callback_query, …) and outcome (ok, error).',
      labelNames: ['kind', 'outcome'],
      registers,
    });
    this.updatesDropped = new Counter({
      name: 'corrections_updates_dropped_total',
      help: 'Telegram updates dropped before any handler, by reason (malformed: not the shape Telegram sends).',
      labelNames: ['reason'],
      registers,
    });
    this.updateSeconds = new Histogram({
      name: 'corrections_update_duration_seconds',
      help: 'Time from an update entering the bot to its handler finishing, in seconds.',
      labelNames: ['kind'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.messages = new Counter({
      name: 'corrections_messages_sent_total',
      help: 'Calls to Telegram that send or edit a message, by result: ok, 429 (flood limit), 403 (blocked), error.',
      labelNames: ['result'],
      registers,
    });
    for (const result of SEND_RESULTS) this.messages.inc({ result }, 0);

    const self = this;
    new Gauge({
      name: 'corrections_queue_jobs',
      help: 'Jobs in each queue, by state (queue depth), read when scraped.',
      labelNames: ['queue', 'state'],
      registers,
      async collect() {
        await self.collectQueues(this);
      },
    });
    this.jobLateness = new Histogram({
      name: 'corrections_job_lateness_seconds',
      help: 'How late a job started after it was due (added time + delay), in seconds; first attempts only.',
      labelNames: ['queue', 'name'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300],
      registers,
    });
    this.jobs = new Counter({
      name: 'corrections_jobs_processed_total',
      help: 'Jobs that finished an attempt, by queue, job name and outcome (completed, failed).',
      labelNames: ['queue', 'name', 'outcome'],
      registers,
    });

    new Gauge({
      name: 'corrections_timers_pending',
      help: 'Deadlines waiting in PostgreSQL (timers table), by kind, read when scraped.',
      labelNames: ['kind'],
      registers,
      async collect() {
        const snap = await self.snapshot();
        if (!snap) return;
        this.reset();
        for (const kind of TIMER_KINDS) this.set({ kind }, 0);
        for (const row of snap.timers.byKind) this.set({ kind: row.kind }, row.count);
      },
    });
    new Gauge({
      name: 'corrections_timers_overdue_seconds',
      help: 'How far past its due time the oldest pending timer is, in seconds (0 when none is overdue). A dead man’s switch: alert above 60.',
      registers,
      async collect() {
        const snap = await self.snapshot();
        if (!snap) return;
        const due = snap.timers.oldestDueAt;
        this.set(due ? Math.max(0, (snap.at.getTime() - due.getTime()) / 1000) : 0);
      },
    });
    this.drift = new Counter({
      name: 'corrections_reconciler_drift_total',
      help: 'Differences the reconciler found between pending timer rows and queued jobs: missing (re-created) or orphan (dropped).',
      labelNames: ['kind'],
      registers,
    });
    this.lastDrift = new Gauge({
      name: 'corrections_reconciler_last_drift',
      help: 'Drift found by the latest reconciler run, by kind.',
      labelNames: ['kind'],
      registers,
    });
    for (const kind of ['missing', 'orphan']) {
      this.drift.inc({ kind }, 0);
      this.lastDrift.set({ kind }, 0);
    }
    this.reconcilerRuns = new Counter({ name: 'corrections_reconciler_runs_total', help: 'Reconciler runs.', registers });

    new Gauge({
      name: 'corrections_incidents_open',
      help: 'Incidents not yet closed, by type; drills are counted apart (drill="true").',
      labelNames: ['type', 'drill'],
      registers,
      async collect() {
        const snap = await self.snapshot();
        if (!snap) return;
        this.reset();
        for (const type of INCIDENT_TYPES) this.set({ type, drill: 'false' }, 0);
        for (const row of snap.incidents) this.set({ type: row.type, drill: String(row.isDrill) }, row.count);
      },
    });
    new Gauge({
      name: 'corrections_notices_undeliverable',
      help: 'Notices nobody in the stand-in chain could receive (no chat, blocked, deactivated), recorded in the last 24 hours, by kind; read when scraped. Above 0: someone must bind the bot, and the section is told in the digest.',
      labelNames: ['kind'],
      registers,
      async collect() {
        const snap = await self.snapshot();
        if (!snap) return;
        this.reset();
        for (const kind of NOTICE_KINDS) this.set({ kind }, 0);
        for (const row of snap.undeliverable) this.set({ kind: row.kind }, row.count);
      },
    });
    this.collectErrors = new Counter({
      name: 'corrections_metrics_collect_errors_total',
      help: 'Scrapes that could not read a source (database, queue) in time; the previous values are kept.',
      labelNames: ['source'],
      registers,
    });
  }

  // ---- called by the bot -------------------------------------------------------------------

  /** One update handled: its kind (`ctx.updateType`), how long it took, and whether the handler threw. */
  updateHandled(kind: string, seconds: number, outcome: 'ok' | 'error' = 'ok'): void {
    this.updates.inc({ kind, outcome });
    this.updateSeconds.observe({ kind }, seconds);
  }

  /** One update dropped at the edge, before any handler ran. */
  updateDropped(reason: 'malformed'): void {
    this.updatesDropped.inc({ reason });
  }

  // ---- called by the API pipeline for each reply's request, and by the send processor per notice ----

  messageSent(result: SendResult): void {
    this.messages.inc({ result });
  }

  /** Counts a failed send by what Telegram answered (429, 403, anything else). */
  messageFailed(err: unknown): SendResult {
    const result = classifySendError(err);
    this.messages.inc({ result });
    return result;
  }

  // ---- called by the workers and the reconciler ---------------------------------------------

  jobStarted(queue: string, name: string, latenessSeconds: number): void {
    this.jobLateness.observe({ queue, name }, Math.max(0, latenessSeconds));
  }

  jobFinished(queue: string, name: string, outcome: 'completed' | 'failed'): void {
    this.jobs.inc({ queue, name, outcome });
  }

  /** Listens to a BullMQ worker: lateness of first attempts when they start, and each attempt's outcome. */
  observeWorker(worker: ObservableWorker): void {
    worker.on('active', (job) => {
      if ((job.attemptsStarted ?? 1) <= 1 && (job.attemptsMade ?? 0) === 0) {
        this.jobStarted(worker.name, job.name, jobLatenessSeconds(job, Date.now()));
      }
    });
    worker.on('completed', (job) => this.jobFinished(worker.name, job.name, 'completed'));
    worker.on('failed', (job) => this.jobFinished(worker.name, job?.name ?? 'unknown', 'failed'));
  }

  /** One reconciler run: timers whose job was missing (re-created) and jobs without a pending row (dropped). */
  reconcilerRan(drift: { missing: number; orphaned: number }): void {
    this.reconcilerRuns.inc();
    this.drift.inc({ kind: 'missing' }, drift.missing);
    this.drift.inc({ kind: 'orphan' }, drift.orphaned);
    this.lastDrift.set({ kind: 'missing' }, drift.missing);
    this.lastDrift.set({ kind: 'orphan' }, drift.orphaned);
  }

  // ---- wiring --------------------------------------------------------------------------------

  /** The database the scrape-time gauges read (pending timers, open incidents, undeliverable notices). */
  useDatabase(db: Database): this {
    this.database = db;
    return this;
  }

  /** Queues whose depth is reported; adding the same queue name twice keeps one. */
  trackQueues(queues: readonly CountableQueue[]): this {
    for (const q of queues) if (!this.queues.some((x) => x.name === q.name)) this.queues.push(q);
    return this;
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }

  // ---- collection ----------------------------------------------------------------------------

  /** One database read per scrape, shared by the gauges that need it. */
  private snapshot(): Promise<DbSnapshot | undefined> {
    const db = this.database;
    if (!db) return Promise.resolve(undefined);
    const now = Date.now();
    if (this.dbSnapshot && now - this.dbSnapshotAt < 500) return this.dbSnapshot;
    this.dbSnapshotAt = now;
    this.dbSnapshot = withTimeout(
      Promise.all([pendingTimerStats(db), openIncidentCounts(db), undeliverableCounts(db, new Date(this.clock.now().getTime() - DAY))]).then(([t, i, u]) => ({
        at: new Date(),
        timers: t,
        incidents: i,
        undeliverable: u,
      })),
      COLLECT_TIMEOUT_MS,
    ).catch(() => {
      this.collectErrors.inc({ source: 'database' });
      return undefined;
    });
    return this.dbSnapshot;
  }

  private async collectQueues(gauge: Gauge<'queue' | 'state'>): Promise<void> {
    await Promise.all(
      this.queues.map(async (q) => {
        try {
          const counts = await withTimeout(q.getJobCounts(...QUEUE_STATES), COLLECT_TIMEOUT_MS);
          for (const state of QUEUE_STATES) gauge.set({ queue: q.name, state }, counts[state] ?? 0);
        } catch {
          this.collectErrors.inc({ source: `queue:${q.name}` });
        }
      }),
    );
  }
}

interface DbSnapshot {
  at: Date;
  timers: Awaited<ReturnType<typeof pendingTimerStats>>;
  incidents: Awaited<ReturnType<typeof openIncidentCounts>>;
  undeliverable: Awaited<ReturnType<typeof undeliverableCounts>>;
}

export function createOpsMetrics(opts: OpsMetricsOptions = {}): OpsMetrics {
  return new OpsMetrics(opts);
}

/** The process-wide metrics: the bot, the gateway and the workers of one process share it. */
export const metrics: OpsMetrics = createOpsMetrics();

/** Seconds between when a job was due (added + delay) and when it started. */
export function jobLatenessSeconds(job: TimedJob, now: number): number {
  const due = job.timestamp + (job.delay ?? 0);
  const started = job.processedOn ?? now;
  return Math.max(0, (started - due) / 1000);
}

/** What an error thrown by a Telegram call means for the counters: 429, 403, or anything else. */
export function classifySendError(err: unknown): SendResult {
  const code = telegramErrorCode(err);
  if (code === 429) return '429';
  if (code === 403) return '403';
  return 'error';
}

/** The Bot API error code carried by telegraf's TelegramError, the gateway's errors, or their causes. */
export function telegramErrorCode(err: unknown): number | undefined {
  let e: unknown = err;
  for (let depth = 0; depth < 5 && e && typeof e === 'object'; depth++) {
    const o = e as {
      code?: unknown;
      errorCode?: unknown;
      error_code?: unknown;
      status?: unknown;
      response?: { error_code?: unknown };
      retryAfterSeconds?: unknown;
      cause?: unknown;
    };
    for (const v of [o.response?.error_code, o.error_code, o.errorCode, o.code, o.status]) {
      if (typeof v === 'number' && v >= 400 && v < 600) return v;
    }
    if (typeof o.retryAfterSeconds === 'number') return 429;
    e = o.cause;
  }
  return undefined;
}

export class TimeoutError extends Error {
  override readonly name = 'TimeoutError';
  constructor(readonly ms: number) {
    super(`timed out after ${ms} ms`);
  }
}

/** Resolves as `p` does, or rejects with TimeoutError after `ms`. */
export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(ms)), ms);
    timer.unref?.();
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
