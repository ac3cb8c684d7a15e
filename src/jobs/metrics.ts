/**
 * The numbers the job system keeps about itself, and a small hook so the ops metrics (prom-client, in
 * src/ops/metrics.ts) can follow them without this module depending on it. `OpsMetrics` satisfies the
 * hook structurally.
 */
import type { AnyWorker } from './queue-backend.js';

export type SendResult = 'ok' | '429' | '403' | 'error';

export interface JobMetricsHook {
  messageSent?(result: SendResult): void;
  reconcilerRan?(drift: { missing: number; orphaned: number }): void;
  /** Follows a worker's job events (lateness, outcomes). */
  observeWorker?(worker: AnyWorker): void;
}

export interface ReconcileDrift {
  at: Date;
  /** Pending timers in PostgreSQL due within the queue's horizon (those further ahead have no job yet). */
  pending: number;
  /** Of those, the ones that had no job: re-created. */
  missing: number;
  /** Jobs with no pending timer: removed. */
  orphaned: number;
  /** Pending timers more than the alert threshold past due. */
  overdue: number;
}

export interface JobCounters {
  reconcileRuns: number;
  timersRestored: number;
  orphansRemoved: number;
  overdueAlerts: number;
  lastDrift: ReconcileDrift | null;
  /** Times the queue store was found wiped (its reconciliation mark gone) between passes. */
  wipesDetected: number;
  relayRuns: number;
  /** Outbox rows the relay had to (re)enqueue because no job carried them. */
  outboxRequeued: number;
  /** Enqueues the dispatcher could not make (queue down); the relay and reconciler catch up. */
  enqueueFailures: number;
  messages: Record<SendResult, number>;
}

export function createJobCounters(): JobCounters {
  return {
    reconcileRuns: 0,
    timersRestored: 0,
    orphansRemoved: 0,
    overdueAlerts: 0,
    lastDrift: null,
    wipesDetected: 0,
    relayRuns: 0,
    outboxRequeued: 0,
    enqueueFailures: 0,
    messages: { ok: 0, '429': 0, '403': 0, error: 0 },
  };
}
