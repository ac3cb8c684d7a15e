/**
 * An incident's timeline, read once for everyone who reads it: the incident card, the written report's
 * prefill and the accountability findings (and the drill evaluation, which applies the same rules).
 * Plain rows, oldest first, with the names of everyone it mentions; no decisions and no rendering.
 * It fits the domain's `IncidentTimeline`, so `incidentFindings` takes it as it is.
 */
import { asc, eq, inArray } from 'drizzle-orm';
import type { IncidentTimeline, TimelineAuditRow } from '../../domain/accountability.js';
import type { Criticality, EscalationPolicy } from '../../domain/index.js';
import type { Executor } from '../client.js';
import type { IncidentRow, StepRow, UpdateRow } from '../repositories/incident.repository.js';
import { auditLog, countyNotifications, incidentRoles, incidents, incidentSteps, incidentUpdates, searchAttempts, staff, subjects, units } from '../schema.js';

export type RoleRow = typeof incidentRoles.$inferSelect;
export type SearchAttemptRow = typeof searchAttempts.$inferSelect;
export type CountyNotificationRow = typeof countyNotifications.$inferSelect;

/** The incident row, its criticality as the domain knows it. */
export type TimelineIncidentRow = Omit<IncidentRow, 'criticality'> & { criticality: Criticality };

export interface IncidentTimelineView extends IncidentTimeline {
  incident: TimelineIncidentRow;
  /** The snapshot the incident was reported under. */
  policy: EscalationPolicy;
  /** The checklist, in its order: who marked each step, when and how (上报上一级 and 通报检察院 among them). */
  steps: StepRow[];
  /** 续报 and the other text entries, oldest first. */
  updates: UpdateRow[];
  /** Posts and groups (三), in the order they were given. */
  roles: RoleRow[];
  /** 四(四): each attempt to find an absconded subject, oldest first. */
  searchAttempts: SearchAttemptRow[];
  /** Other counties named (五(一)), in the order named, each with its notification once made. */
  countyNotifications: CountyNotificationRow[];
  /** The incident's audit trail, oldest first; empty when loaded with `audit: false`. */
  audit: TimelineAuditRow[];
  office: { name: string; nameEn: string | null } | undefined;
  /** The reporter's own unit (section staff report for an office: the card names their section, not the office). */
  reporterUnit?: { name: string; nameEn: string | null } | undefined;
  /** Still encrypted: whoever shows the name decrypts it and masks it per PII_MODE. */
  subject: { id: string; code: string; nameEnc: Buffer; idNumberEnc: Buffer | null } | null;
  /** Names of everyone the timeline mentions, by staff id (of all the incidents loaded together). */
  staffNames: Record<string, string>;
}

export interface TimelineOptions {
  /** The audit trail (default true). The card leaves it out: it never shows it and is redrawn on every change. */
  audit?: boolean;
}

export async function loadIncidentTimeline(db: Executor, incidentId: string, opts: TimelineOptions = {}): Promise<IncidentTimelineView | undefined> {
  const [row] = await db.select().from(incidents).where(eq(incidents.id, incidentId));
  if (!row) return undefined;
  return (await timelinesOf(db, [row], opts))[0];
}

/** The timelines of several incidents, in their given order, in the same few queries as one. */
export async function timelinesOf(db: Executor, rows: readonly IncidentRow[], opts: TimelineOptions = {}): Promise<IncidentTimelineView[]> {
  if (rows.length === 0) return [];
  const ids = rows.map((r) => r.id);
  const officeIds = [...new Set(rows.map((r) => r.officeUnitId))];
  const subjectIds = [...new Set(rows.flatMap((r) => (r.subjectId ? [r.subjectId] : [])))];
  const [steps, updates, roles, attempts, counties, audit, offices, subjectRows] = await Promise.all([
    db.select().from(incidentSteps).where(inArray(incidentSteps.incidentId, ids)).orderBy(asc(incidentSteps.ordinal)),
    db.select().from(incidentUpdates).where(inArray(incidentUpdates.incidentId, ids)).orderBy(asc(incidentUpdates.at)),
    db.select().from(incidentRoles).where(inArray(incidentRoles.incidentId, ids)).orderBy(asc(incidentRoles.at)),
    db.select().from(searchAttempts).where(inArray(searchAttempts.incidentId, ids)).orderBy(asc(searchAttempts.at)),
    db.select().from(countyNotifications).where(inArray(countyNotifications.incidentId, ids)).orderBy(asc(countyNotifications.createdAt)),
    opts.audit === false ? Promise.resolve([]) : db.select().from(auditLog).where(inArray(auditLog.incidentId, ids)).orderBy(asc(auditLog.id)),
    db.select({ id: units.id, name: units.name, nameEn: units.nameEn }).from(units).where(inArray(units.id, officeIds)),
    subjectIds.length
      ? db.select({ id: subjects.id, code: subjects.code, nameEnc: subjects.nameEnc, idNumberEnc: subjects.idNumberEnc }).from(subjects).where(inArray(subjects.id, subjectIds))
      : Promise.resolve([]),
  ]);

  const mentioned = new Set<string>();
  for (const i of rows) for (const id of [i.reporterStaffId, i.acknowledgedByStaffId, i.closedByStaffId]) if (id) mentioned.add(id);
  for (const s of steps) if (s.doneByStaffId) mentioned.add(s.doneByStaffId);
  for (const u of updates) mentioned.add(u.staffId);
  for (const r of roles) mentioned.add(r.staffId);
  for (const a of attempts) mentioned.add(a.staffId);
  for (const c of counties) if (c.notifiedByStaffId) mentioned.add(c.notifiedByStaffId);
  const names = await db.select({ id: staff.id, name: staff.name, unitId: staff.unitId }).from(staff).where(inArray(staff.id, [...mentioned]));
  const staffNames = Object.fromEntries(names.map((n) => [n.id, n.name]));
  const reporterUnitIds = [...new Set(rows.map((r) => names.find((n) => n.id === r.reporterStaffId)?.unitId).filter((u): u is string => !!u && !officeIds.includes(u)))];
  const reporterUnits = reporterUnitIds.length ? await db.select({ id: units.id, name: units.name, nameEn: units.nameEn }).from(units).where(inArray(units.id, reporterUnitIds)) : [];
  const unitOf = (id: string | undefined) => [...offices, ...reporterUnits].find((u) => u.id === id);

  const of = <T extends { incidentId: string | null }>(list: readonly T[], id: string) => list.filter((x) => x.incidentId === id);
  return rows.map((i) => {
    const office = offices.find((o) => o.id === i.officeUnitId);
    const subject = i.subjectId ? subjectRows.find((s) => s.id === i.subjectId) : undefined;
    return {
      incident: { ...i, criticality: i.criticality as Criticality },
      policy: i.policy as EscalationPolicy,
      steps: of(steps, i.id),
      updates: of(updates, i.id),
      roles: of(roles, i.id),
      searchAttempts: of(attempts, i.id),
      countyNotifications: of(counties, i.id),
      audit: of(audit, i.id).map((a) => ({
        id: Number(a.id),
        at: a.at,
        action: a.action,
        entity: a.entity,
        entityId: a.entityId,
        actorStaffId: a.actorStaffId,
        data: (a.data ?? {}) as Record<string, unknown>,
      })),
      office: office ? { name: office.name, nameEn: office.nameEn } : undefined,
      reporterUnit: (() => {
        const u = unitOf(names.find((n) => n.id === i.reporterStaffId)?.unitId);
        return u ? { name: u.name, nameEn: u.nameEn } : undefined;
      })(),
      subject: subject ?? null,
      staffNames,
    };
  });
}
