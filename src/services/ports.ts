/**
 * What a service needs from the outside world, passed in once (STYLE 2). The jobs layer implements
 * Dispatcher; without it, the outbox relay and the reconciler still find the rows, only later.
 */
import type { Database } from '../db/client.js';
import type { PiiCipher } from '../db/pii-crypto.js';
import type { Clock, EscalationPolicy, PiiMode } from '../domain/index.js';

export interface CommittedChange {
  /** Timers written by the change, to schedule now. */
  timersCreated: ReadonlyArray<{ id: string; dedupeKey: string; dueAt: Date }>;
  /** Timers the change closed, whose jobs can be removed. */
  timersCancelled: ReadonlyArray<{ id: string; dedupeKey: string }>;
  /** Outbox rows written by the change, to send now (kind and timer: to send a deadline's notices first). */
  outboxCreated: ReadonlyArray<{ id: string; kind?: string; timerId?: string | null }>;
}

export interface Dispatcher {
  /** Called after the transaction committed; must not throw for a queue outage (PostgreSQL already has it). */
  afterCommit(change: CommittedChange): Promise<void>;
}

export const noopDispatcher: Dispatcher = { afterCommit: async () => {} };

export interface ServiceDeps {
  db: Database;
  clock: Clock;
  timeZone: string;
  piiMode: PiiMode;
  cipher: PiiCipher;
  /**
   * The deployment's policy (defaults + overrides); with an office, the policy its incidents are reported
   * under (its variant over the bureau's, 七(五)), snapshotted onto each new incident.
   */
  policy: (officeUnitId?: string) => Promise<EscalationPolicy>;
  dispatcher: Dispatcher;
}

export function emptyChange(): { timersCreated: CommittedChange['timersCreated'][number][]; timersCancelled: CommittedChange['timersCancelled'][number][]; outboxCreated: CommittedChange['outboxCreated'][number][] } {
  return { timersCreated: [], timersCancelled: [], outboxCreated: [] };
}

/** An incident as log lines name it: its id and its number (never a person's name). */
export interface IncidentRef {
  id: string;
  number: string;
}
