/** What other parts of the program use from the job system. */
export { createJobSystem, DEFAULT_TUNING, type BaseServiceDeps, type JobSystem, type JobSystemMetrics, type JobSystemOptions, type JobTuning, type StartWorkersOptions } from './job-system.js';
export { createQueueBackend, type AnyQueue, type AnyWorker, type QueueBackend, type QueueBackendConfig, type QueueBackendKind } from './queue-backend.js';
export { QueueDispatcher } from './dispatcher.js';
export { JOB_NAMES, JOB_PAYLOADS, JOB_QUEUE, QUEUE_KEYS, type JobItem, type JobName, type JobPayload, type QueueKey } from './catalogue.js';
export type { JobCounters, JobMetricsHook, ReconcileDrift, SendResult } from './metrics.js';
export type { ReconcileReport } from './reconciler.js';
