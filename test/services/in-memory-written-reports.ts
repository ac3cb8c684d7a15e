/**
 * The written-report repositories in memory, for testing the sign-off chain without PostgreSQL (as immich's
 * server tests its services with `newTestService`). Each use case's transaction runs against a copy of the
 * store, kept when the callback returns and dropped when it throws, as a rollback would. People's
 * positions come from the seats through the domain's own rule (`actorPositions`), as `actorFor` builds
 * them from the database, so an acting holder acts only while the seat's holder cannot.
 */
import { randomUUID } from 'node:crypto';
import type { Database } from '../../src/db/client.js';
import type { PiiCipher } from '../../src/db/pii-crypto.js';
import type { CountyNotificationRow, IncidentTimelineView, TimelineIncidentRow } from '../../src/db/read-models/incident-timeline.js';
import type { AuditEntry } from '../../src/db/repositories/audit.repository.js';
import type { IncidentRow, StepRow } from '../../src/db/repositories/incident.repository.js';
import type { UnitRow } from '../../src/db/repositories/org.repository.js';
import type { OutboxRow } from '../../src/db/repositories/outbox.repository.js';
import type { TimerRow } from '../../src/db/repositories/timer.repository.js';
import type { WrittenReportRow, WrittenReportSignoffRow, WrittenReportVersionRow } from '../../src/db/repositories/written-report.repository.js';
import {
  actorPositions,
  DEFAULT_POLICY,
  instantiatePlaybook,
  writtenReportTimers,
  type Actor,
  type Clock,
  type EscalationPolicy,
  type IncidentType,
  type OrgSnapshot,
  type PositionKind,
  type PositionSeat,
  type SeatHolderState,
  type UnitKind,
} from '../../src/domain/index.js';
import { openWrittenReportDraft, type WrittenReportDeps, type WrittenReportRepositories } from '../../src/services/written-report.service.js';
import type { CommittedChange } from '../../src/services/ports.js';

// ---------------------------------------------------------------------------------------------
// The organisation: one holder for every level of the chain, two section holders, two deputy directors
// (the second is the director's acting holder), two offices.

export const UNITS = { bureau: 'u-bureau', section: 'u-section', officeA: 'u-office-a', officeB: 'u-office-b', upper: 'u-upper' } as const;

const UNIT_ROWS: Record<string, [UnitKind, string]> = {
  [UNITS.bureau]: ['bureau', '拱墅区司法局'],
  [UNITS.section]: ['section', '社区矫正管理科'],
  [UNITS.officeA]: ['office', '甲街道司法所'],
  [UNITS.officeB]: ['office', '乙街道司法所'],
  [UNITS.upper]: ['upper', '杭州市司法局'],
};

const PEOPLE = {
  director: ['director', UNITS.bureau, '局长甲'],
  deputy: ['deputy_director', UNITS.bureau, '副局长乙'],
  deputy2: ['deputy_director', UNITS.bureau, '副局长丁'],
  section: ['section', UNITS.section, '科员丙'],
  section2: ['section', UNITS.section, '科员戊'],
  headA: ['office_head', UNITS.officeA, '所长甲'],
  officerA1: ['officer', UNITS.officeA, '矫正官甲一'],
  headB: ['office_head', UNITS.officeB, '所长乙'],
  upper: ['upper_liaison', UNITS.upper, '市局联络员'],
} as const satisfies Record<string, readonly [PositionKind, string, string]>;

export type Person = keyof typeof PEOPLE;
export const PEOPLE_IDS = Object.keys(PEOPLE) as Person[];

/** The seat the director's acting holder is listed on. */
export const ACTING_DIRECTOR: Person = 'deputy2';

/** Whether a person is there to act: what `actorFor` and the notice targets read. */
export type Presence = SeatHolderState;

/** The state a use case reads and writes; copied for each transaction. */
export interface WrittenReportState {
  incidents: IncidentRow[];
  steps: StepRow[];
  counties: CountyNotificationRow[];
  reports: WrittenReportRow[];
  versions: WrittenReportVersionRow[];
  signoffs: WrittenReportSignoffRow[];
  timers: TimerRow[];
  outbox: OutboxRow[];
  audit: AuditEntry[];
}

export class InMemoryWrittenReports {
  state: WrittenReportState = { incidents: [], steps: [], counties: [], reports: [], versions: [], signoffs: [], timers: [], outbox: [], audit: [] };
  /** Rows locked, in order, as `report:<id>` and `incident:<id>` (a lock serialises concurrent sign-offs in PostgreSQL). */
  readonly locked: string[] = [];
  /** What the dispatcher was told after each commit. */
  readonly committed: CommittedChange[] = [];
  /** Who is there; changed by the tests between use cases, never rolled back. */
  readonly presence = new Map<Person, Presence>(PEOPLE_IDS.map((id) => [id, { active: true, away: false, reachable: true, bound: true }]));
  readonly seats: PositionSeat[] = PEOPLE_IDS.map((id) => {
    const [kind, unitId] = PEOPLE[id];
    return { kind, unitId, holderStaffId: id, actingStaffId: id === 'director' ? ACTING_DIRECTOR : null };
  });
  private seq = 0;

  constructor(readonly clock: Clock) {}

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

  deps(overrides: Partial<WrittenReportDeps> = {}): WrittenReportDeps {
    return {
      db: this.db,
      clock: this.clock,
      timeZone: 'Asia/Shanghai',
      piiMode: 'masked',
      cipher: {} as PiiCipher,
      policy: async (): Promise<EscalationPolicy> => DEFAULT_POLICY,
      dispatcher: { afterCommit: async (change) => void this.committed.push(change) },
      writtenReportRepositories: this.repositories,
      ...overrides,
    };
  }

  setPresence(who: Person, patch: Partial<Presence>): void {
    Object.assign(this.presence.get(who)!, patch);
  }

  /** The person as `actorFor` builds them now: the seats they hold, and those they act in while the holder cannot. */
  actor(who: Person): Actor {
    const [, unitId] = PEOPLE[who];
    const held = this.seats.filter((s) => s.holderStaffId === who).map((s) => s.kind);
    const acting = this.seats
      .filter((s) => s.actingStaffId === who)
      .map((s) => ({ kind: s.kind, holder: s.holderStaffId ? this.presence.get(s.holderStaffId as Person) : undefined }));
    const { positions, acting: actingKinds } = actorPositions(held, acting);
    return { staffId: who, unitId, unitKind: UNIT_ROWS[unitId]![0], positions, ...(actingKinds.length ? { acting: actingKinds } : {}) };
  }

  org(): OrgSnapshot {
    return {
      seats: this.seats.map((s) => ({ ...s })),
      staff: new Map(PEOPLE_IDS.map((id) => {
        const p = this.presence.get(id)!;
        // As loadOrgSnapshot reads it: whether the bot was ever bound is the send machine's to find out.
        return [id, { id, active: p.active, reachable: p.reachable, away: p.away }];
      })),
    };
  }

  incident(id: string): IncidentRow {
    const row = this.state.incidents.find((i) => i.id === id);
    if (!row) throw new Error(`no incident ${id}`);
    return row;
  }

  report(id: string): WrittenReportRow {
    const row = this.state.reports.find((r) => r.id === id);
    if (!row) throw new Error(`no written report ${id}`);
    return row;
  }

  /**
   * An incident closed by the office head of office A, with its checklist done, the written report's
   * deadlines written and the draft opened through the use case, as the close use case does.
   */
  async closedIncident(overrides: Partial<IncidentRow> & { counties?: string[] } = {}): Promise<{ incident: IncidentRow; report: WrittenReportRow }> {
    const { counties = [], ...patch } = overrides;
    const closedAt = this.clock.now();
    const reportedAt = new Date(closedAt.getTime() - 60 * 60_000);
    this.seq += 1;
    const incident: IncidentRow = {
      id: randomUUID(),
      number: `2026-${String(this.seq).padStart(4, '0')}`,
      type: 'disruption',
      scenario: null,
      criticality: 'standard',
      subjectId: null,
      subjectNote: '对象甲',
      officeUnitId: UNITS.officeA,
      reporterStaffId: 'officerA1',
      occurredAt: null,
      discoveredAt: reportedAt,
      reportedAt,
      place: '甲街道社区服务中心',
      latitude: null,
      longitude: null,
      injured: 0,
      dead: 0,
      description: '在公益活动中大声喧哗、拒不服从管理',
      media: [],
      status: 'closed',
      closure: 'resolved',
      isDrill: false,
      lateReport: false,
      sensitivePeriodId: null,
      submissionKey: null,
      policy: DEFAULT_POLICY,
      acknowledgedAt: new Date(reportedAt.getTime() + 3 * 60_000),
      acknowledgedByStaffId: 'section',
      closedAt,
      closedByStaffId: 'headA',
      closeCause: '对象对公益活动安排不满',
      closeLessons: '活动前谈话教育不足',
      closeMeasures: '活动前逐一谈话，安排专人看护',
      falseAlarmReason: null,
      lastProgressAt: null,
      progressCycle: 1,
      version: 5,
      updatedAt: closedAt,
      ...patch,
    };
    this.state.incidents.push(incident);
    const doneAt = new Date(reportedAt.getTime() + 20 * 60_000);
    for (const s of instantiatePlaybook(incident.type as IncidentType, null, { injured: incident.injured, dead: incident.dead, otherCounties: counties.length > 0 })) {
      const done = s.state === 'pending';
      this.state.steps.push({ ...s, id: randomUUID(), incidentId: incident.id, how: done ? 'phone' : null, note: null, state: done ? 'done' : s.state, doneByStaffId: done ? 'section' : null, doneAt: done ? doneAt : null });
    }
    for (const county of counties) {
      this.state.counties.push({ id: randomUUID(), incidentId: incident.id, county, notifiedAt: doneAt, notifiedByStaffId: 'section', how: '电话', receipt: '已收到', createdAt: reportedAt });
    }
    const opened = await this.db.transaction(async (tx) => {
      await this.repositories.insertTimers(tx as never, writtenReportTimers(incident.id, closedAt, DEFAULT_POLICY));
      return openWrittenReportDraft(tx as never, incident.id, closedAt, { repositories: this.repositories });
    });
    if (!opened) throw new Error('no draft opened');
    return { incident: this.incident(incident.id), report: opened.report };
  }

  readonly repositories: WrittenReportRepositories = {
    findIncident: async (_db, id) => this.state.incidents.find((i) => i.id === id),
    lockIncident: async (_db, id) => {
      this.locked.push(`incident:${id}`);
      return this.state.incidents.find((i) => i.id === id);
    },
    updateIncident: async (_db, id, patch, now) => {
      const row = this.incident(id);
      Object.assign(row, patch, { version: row.version + 1, updatedAt: now });
      return row;
    },
    timelinesOf: async (_db, rows) =>
      rows.map(
        (incident): IncidentTimelineView => ({
          incident: incident as TimelineIncidentRow,
          policy: incident.policy as EscalationPolicy,
          steps: this.state.steps.filter((s) => s.incidentId === incident.id).sort((a, b) => a.ordinal - b.ordinal),
          updates: [],
          roles: [],
          searchAttempts: [],
          countyNotifications: this.state.counties.filter((c) => c.incidentId === incident.id),
          audit: [],
          office: { name: UNIT_ROWS[incident.officeUnitId]![1], nameEn: null },
          subject: null,
          staffNames: Object.fromEntries(PEOPLE_IDS.map((id) => [id, PEOPLE[id][2]])),
        }),
      ),
    findWrittenReport: async (_db, id) => this.state.reports.find((r) => r.id === id),
    findWrittenReportOfIncident: async (_db, incidentId) => this.state.reports.find((r) => r.incidentId === incidentId),
    lockWrittenReport: async (_db, id) => {
      this.locked.push(`report:${id}`);
      return this.state.reports.find((r) => r.id === id);
    },
    insertWrittenReport: async (_db, row) => {
      // One report per incident, as the unique index keeps it.
      if (this.state.reports.some((r) => r.incidentId === row.incidentId)) return undefined;
      const now = this.clock.now();
      const inserted: WrittenReportRow = { id: randomUUID(), currentVersion: 1, createdAt: now, updatedAt: now, ...row };
      this.state.reports.push(inserted);
      return inserted;
    },
    updateWrittenReport: async (_db, id, patch) => void Object.assign(this.report(id), patch),
    insertReportVersion: async (_db, row) => {
      if (this.state.versions.some((v) => v.reportId === row.reportId && v.version === row.version)) throw new Error(`duplicate version ${row.version}`);
      this.state.versions.push({ id: randomUUID(), editedByStaffId: null, ...row });
    },
    findReportVersion: async (_db, reportId, version) => this.state.versions.find((v) => v.reportId === reportId && v.version === version),
    reportVersions: async (_db, reportId) => this.state.versions.filter((v) => v.reportId === reportId).sort((a, b) => a.version - b.version),
    insertSignoff: async (_db, row) => {
      const inserted: WrittenReportSignoffRow = { id: randomUUID(), comment: null, ...row };
      this.state.signoffs.push(inserted);
      return inserted;
    },
    // In the order made (ties in the order written).
    signoffsOf: async (_db, reportId) =>
      this.state.signoffs
        .filter((s) => s.reportId === reportId)
        .sort((a, b) => a.at.getTime() - b.at.getTime())
        .map((s) => ({ ...s, staffName: PEOPLE[s.staffId as Person]?.[2] ?? '' })),
    countReturnsToOffice: async (_db, reportId) => this.state.signoffs.filter((s) => s.reportId === reportId && s.decision === 'returned' && s.stage === 'section').length,
    reportsAtStages: async (_db, stages) =>
      this.state.reports
        .filter((r) => stages.includes(r.stage))
        .sort((a, b) => a.dueAt.getTime() - b.dueAt.getTime())
        .map((report) => ({ report, incident: this.incident(report.incidentId) })),
    hasCountyNotifications: async (_db, incidentId) => this.state.counties.some((c) => c.incidentId === incidentId),
    documentHeading: async (_db, incident) => ({
      bureau: unitRow(UNITS.bureau),
      upper: unitRow(UNITS.upper),
      office: unitRow(incident.officeUnitId),
      reporterName: PEOPLE[incident.reporterStaffId as Person]?.[2] ?? '',
      subject: undefined,
    }),
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
      return hit.map((t) => ({ ...t }));
    },
    loadOrgSnapshot: async () => this.org(),
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
  };
}

function unitRow(id: string): UnitRow | undefined {
  const unit = UNIT_ROWS[id];
  return unit ? { id, code: id, kind: unit[0], name: unit[1], nameEn: null, parentId: null, external: false, createdAt: new Date(0) } : undefined;
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
