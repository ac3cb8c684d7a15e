/**
 * The incident repositories in memory, for testing the incident use cases without PostgreSQL (as immich's
 * server tests its services with `newTestService`). Each use case's transaction runs against a copy of
 * the store, kept when the callback returns and dropped when it throws, as a rollback would.
 */
import { randomUUID } from 'node:crypto';
import type { Database } from '../../src/db/client.js';
import type { AuditEntry } from '../../src/db/repositories/audit.repository.js';
import type { CountyNotificationRow } from '../../src/db/repositories/county.repository.js';
import type { IncidentRow, StepRow } from '../../src/db/repositories/incident.repository.js';
import type { OutboxRow } from '../../src/db/repositories/outbox.repository.js';
import type { SubjectRow } from '../../src/db/repositories/subject.repository.js';
import type { TimerRow } from '../../src/db/repositories/timer.repository.js';
import type { PiiCipher } from '../../src/db/pii-crypto.js';
import {
  DEFAULT_POLICY,
  type Actor,
  type Clock,
  type EscalationPolicy,
  type OrgSnapshot,
  type PositionKind,
  type PositionSeat,
  type StaffAvailability,
  type UnitKind,
} from '../../src/domain/index.js';
import type { IncidentDeps, IncidentRepositories } from '../../src/services/incident.service.js';
import type { CommittedChange } from '../../src/services/ports.js';

/** Everything the repositories hold; copied for each transaction. */
export interface IncidentState {
  incidents: IncidentRow[];
  steps: StepRow[];
  timers: TimerRow[];
  outbox: OutboxRow[];
  audit: AuditEntry[];
  counters: Record<number, number>;
  counties: CountyNotificationRow[];
  /** Incidents whose written report's draft was opened. */
  drafts: string[];
  /** Who holds a card of each incident. */
  cards: Record<string, string[]>;
}

export class InMemoryIncidents {
  state: IncidentState = { incidents: [], steps: [], timers: [], outbox: [], audit: [], counters: {}, counties: [], drafts: [], cards: {} };
  /** Incidents locked, in order (a lock is what makes concurrent changes serialise in PostgreSQL). */
  readonly locked: string[] = [];
  /** What the dispatcher was told after each commit. */
  readonly committed: CommittedChange[] = [];
  readonly subjects = new Map<string, SubjectRow>();

  constructor(
    readonly org: OrgSnapshot,
    readonly clock: Clock,
  ) {}

  /** A `db` whose transaction hands the callback a copy of the store and keeps it only if the callback returns. */
  readonly db = {
    transaction: async <T>(fn: (tx: unknown) => Promise<T>): Promise<T> => {
      const before = this.state;
      this.state = structuredClone(before);
      try {
        return await fn(this);
      } catch (e) {
        this.state = before;
        throw e;
      }
    },
  } as unknown as Database;

  deps(overrides: Partial<IncidentDeps> = {}): IncidentDeps {
    return {
      db: this.db,
      clock: this.clock,
      timeZone: 'Asia/Shanghai',
      piiMode: 'masked',
      cipher: {} as PiiCipher,
      policy: async (): Promise<EscalationPolicy> => DEFAULT_POLICY,
      dispatcher: { afterCommit: async (change) => void this.committed.push(change) },
      incidentRepositories: this.repositories,
      ...overrides,
    };
  }

  incident(id: string): IncidentRow {
    const row = this.state.incidents.find((i) => i.id === id);
    if (!row) throw new Error(`no incident ${id}`);
    return row;
  }

  readonly repositories: IncidentRepositories = {
    findIncidentBySubmissionKey: async (_db, key) => this.state.incidents.find((i) => i.submissionKey === key),
    findSubject: async (_db, id) => this.subjects.get(id),
    nextIncidentSeq: async (_db, year) => (this.state.counters[year] = (this.state.counters[year] ?? 0) + 1),
    insertIncident: async (_db, row) => {
      const inserted = { ...INCIDENT_DEFAULTS, id: randomUUID(), updatedAt: this.clock.now(), ...row } as IncidentRow;
      this.state.incidents.push(inserted);
      return inserted;
    },
    insertSteps: async (_db, incidentId, steps) => {
      const rows: StepRow[] = steps.map((s) => ({
        id: randomUUID(),
        incidentId,
        key: s.key,
        ordinal: s.ordinal,
        actor: s.actor,
        required: s.required,
        condition: s.condition,
        state: s.state,
        naReason: s.naReason,
        how: s.how ?? null,
        note: null,
        doneByStaffId: s.doneByStaffId ?? null,
        doneAt: s.doneAt ?? null,
      }));
      this.state.steps.push(...rows);
      return rows;
    },
    lockIncident: async (_db, id) => {
      this.locked.push(id);
      return this.state.incidents.find((i) => i.id === id);
    },
    updateIncident: async (_db, id, patch, now) => {
      const row = this.incident(id);
      Object.assign(row, patch, { version: row.version + 1, updatedAt: now });
      return row;
    },
    insertTimers: async (_db, specs, opts = {}) => {
      const rows: TimerRow[] = [];
      for (const t of specs) {
        if (this.state.timers.some((x) => x.dedupeKey === t.dedupeKey)) continue;
        const row: TimerRow = {
          id: randomUUID(),
          kind: t.kind,
          incidentId: t.incidentId ?? null,
          subjectId: t.subjectId ?? null,
          level: t.level,
          cycle: t.cycle ?? null,
          dueAt: t.dueAt,
          state: 'pending',
          dedupeKey: t.dedupeKey,
          target: t.target,
          isDrill: opts.isDrill ?? false,
          createdAt: this.clock.now(),
          firedAt: null,
          cancelledAt: null,
          outcome: null,
        };
        this.state.timers.push(row);
        rows.push(row);
      }
      return rows;
    },
    cancelTimers: async (_db, owner, kinds, now) => {
      const hit = this.state.timers.filter(
        (t) =>
          t.state === 'pending' &&
          (kinds as readonly string[]).includes(t.kind) &&
          (!owner.incidentId || t.incidentId === owner.incidentId) &&
          (!owner.subjectId || t.subjectId === owner.subjectId) &&
          (!owner.cycle || t.cycle === owner.cycle),
      );
      for (const t of hit) Object.assign(t, { state: 'cancelled', cancelledAt: now });
      return hit;
    },
    loadOrgSnapshot: async () => this.org,
    cardHolders: async (_db, incidentId) => this.state.cards[incidentId] ?? [],
    enqueueNotices: async (_db, drafts) => {
      const rows: OutboxRow[] = [];
      for (const d of drafts) {
        const dedupeKey = d.dedupeKey.replace(/:/g, '-');
        if (this.state.outbox.some((o) => o.dedupeKey === dedupeKey)) continue;
        const row: OutboxRow = {
          id: randomUUID(),
          recipientStaffId: d.recipientStaffId,
          recipientGroupId: d.recipientGroupId ?? null,
          kind: d.kind,
          incidentId: d.incidentId ?? null,
          subjectId: d.subjectId ?? null,
          timerId: d.timerId ?? null,
          params: d.params ?? {},
          dedupeKey,
          status: 'pending',
          attempts: 0,
          attemptStartedAt: null,
          lastError: null,
          telegramMessageId: null,
          isDrill: d.isDrill ?? false,
          notBefore: d.notBefore ?? null,
          createdAt: this.clock.now(),
          sentAt: null,
        };
        this.state.outbox.push(row);
        rows.push(row);
      }
      return rows;
    },
    appendAudit: async (_db, entry) => void this.state.audit.push(...(Array.isArray(entry) ? entry : [entry])),
    nameCounties: async (_db, incidentId, counties, actorStaffId, now) => {
      const rows = counties.map((county) => ({ id: randomUUID(), incidentId, county, notifiedAt: null, notifiedByStaffId: null, how: null, receipt: null, createdAt: now }));
      this.state.counties.push(...rows);
      this.state.audit.push({ at: now, action: 'county.named', entity: 'incident', entityId: incidentId, incidentId, actorStaffId });
      return rows;
    },
    openWrittenReportDraft: async (_db, incidentId) => {
      this.state.drafts.push(incidentId);
      return null;
    },
  };
}

const INCIDENT_DEFAULTS: Partial<IncidentRow> = {
  scenario: null,
  subjectId: null,
  subjectNote: null,
  occurredAt: null,
  place: null,
  latitude: null,
  longitude: null,
  injured: 0,
  dead: 0,
  media: [],
  closure: null,
  isDrill: false,
  lateReport: false,
  submissionKey: null,
  acknowledgedAt: null,
  acknowledgedByStaffId: null,
  closedAt: null,
  closedByStaffId: null,
  closeCause: null,
  closeLessons: null,
  closeMeasures: null,
  falseAlarmReason: null,
  lastProgressAt: null,
  progressCycle: 1,
  version: 1,
};

// ---------------------------------------------------------------------------------------------
// A small organisation: the bureau's leaders, the section (two holders), two offices with a head and
// an officer each.

export const UNITS = { bureau: 'u-bureau', section: 'u-section', officeA: 'u-office-a', officeB: 'u-office-b' } as const;

const PEOPLE = {
  director: ['director', UNITS.bureau, 'bureau'],
  deputy: ['deputy_director', UNITS.bureau, 'bureau'],
  section: ['section', UNITS.section, 'section'],
  section2: ['section', UNITS.section, 'section'],
  headA: ['office_head', UNITS.officeA, 'office'],
  officerA1: ['officer', UNITS.officeA, 'office'],
  headB: ['office_head', UNITS.officeB, 'office'],
  officerB1: ['officer', UNITS.officeB, 'office'],
} as const satisfies Record<string, readonly [PositionKind, string, UnitKind]>;

export type Person = keyof typeof PEOPLE;

export const actor = (who: Person): Actor => {
  const [kind, unitId, unitKind] = PEOPLE[who];
  return { staffId: who, unitId, unitKind, positions: [kind] };
};

/** Everyone's seat and availability; `unavailable` people are inactive. */
export function makeOrg(opts: { unavailable?: readonly Person[] } = {}): OrgSnapshot {
  const seats: PositionSeat[] = Object.entries(PEOPLE).map(([id, [kind, unitId]]) => ({ kind, unitId, holderStaffId: id, actingStaffId: null }));
  const staff = new Map<string, StaffAvailability>(
    Object.keys(PEOPLE).map((id) => [id, { id, active: !opts.unavailable?.includes(id as Person), reachable: true, away: false }]),
  );
  return { seats, staff };
}

export function makeSubject(overrides: Partial<SubjectRow> = {}): SubjectRow {
  return {
    id: randomUUID(),
    code: 'SQ-A-001',
    nameEnc: Buffer.alloc(0),
    idNumberEnc: null,
    idNumberHash: null,
    officeUnitId: UNITS.officeA,
    responsibleStaffId: 'officerA1',
    status: 'active',
    riskLevel: 'normal',
    supervisionEndsOn: null,
    lastScreenedAt: null,
    statusBeforeAbsconding: null,
    admittedOn: null,
    terminatedAt: null,
    terminationReason: null,
    createdAt: new Date(0),
    updatedAt: new Date(0),
    ...overrides,
  };
}

export class TestClock implements Clock {
  constructor(private t: Date) {}
  now(): Date {
    return new Date(this.t);
  }
  advance(ms: number): void {
    this.t = new Date(this.t.getTime() + ms);
  }
}
