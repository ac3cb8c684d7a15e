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
  for (const a of audit) if (a.actorStaffId) mentioned.add(a.actorStaffId);
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

// ---------------------------------------------------------------------------------------------
// The timeline as entries: who did what, when and how, one entry per thing done, oldest first.

/** What an entry records. */
export type TimelineEntryWhat =
  | 'reported'
  | 'acknowledged'
  | 'progress'
  | 'step_done'
  | 'step_na'
  | 'step_note'
  | 'role_assigned'
  | 'role_removed'
  | 'search'
  | 'search_outcome'
  | 'county_named'
  | 'county_notified'
  | 'forwarded'
  | 'upward_report'
  | 'closed'
  | 'false_alarm'
  | 'timer'
  | 'rerouted'
  | 'undeliverable'
  | 'subject'
  | 'written_report'
  /** 三: the plan activated (detail: the response level), a 批示 / 指令 / 处置建议 sent (detail: its kind), one receipted (收到). */
  | 'activated'
  /** 升级 / 降级响应 (detail: raise, lower or change; levels: from → to; text: the reason). */
  | 'level_changed'
  | 'command_message'
  | 'command_receipt'
  | 'other';

/**
 * How it was done in the product: the report form, a button, typed text, a deadline that fired, or the
 * system following what someone did. (Which messenger it came through is not recorded.)
 */
export type TimelineEntryHow = 'form' | 'button' | 'typed' | 'timer' | 'system';

export interface TimelineEntry {
  /** The audit entry it comes from. */
  auditId: number;
  at: Date;
  /** Who did it; null when the product did (a deadline, a rerouted notice). */
  staffId: string | null;
  what: TimelineEntryWhat;
  how: TimelineEntryHow;
  /** How the person did it outside the product, when recorded: phone, in writing, a search method… */
  means?: string | null;
  step?: { ordinal: number; key: string };
  /** A role given or taken back, and to whom. */
  role?: { role: string; staffId: string | null };
  /** Text someone wrote (a 续报, a reason, a note), as written. */
  text?: string | null;
  timer?: { kind: string; level: number; recipients: number };
  counties?: string[];
  /** A response level's change: from which level to which. */
  levels?: { from: string; to: string };
  /** A written report's decision (opened, edited, submitted, approved, returned), a subject's new status, a search outcome, an upward report's phase. */
  detail?: string | null;
  /** The audit action of an entry read as `other`. */
  action?: string;
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/**
 * The timeline's entries, from its audit trail (load it with the audit, the default) and the rows it
 * names. Refused presses are not entries: nothing was done. Pure.
 */
export function timelineEntries(view: Pick<IncidentTimelineView, 'audit' | 'updates' | 'steps' | 'searchAttempts'>): TimelineEntry[] {
  const out: TimelineEntry[] = [];
  for (const a of view.audit) {
    const base = { auditId: a.id, at: a.at, staffId: a.actorStaffId };
    const d = a.data;
    const stepOf = () => {
      const ordinal = num(d.ordinal);
      const key = str(d.key);
      return ordinal !== null && key ? { step: { ordinal, key } } : {};
    };
    const [family, verb] = a.action.split('.', 2) as [string, string | undefined];
    const textOf = (updateId: unknown) => view.updates.find((u) => u.id === updateId)?.text ?? null;
    switch (a.action) {
      case 'callback.refused':
      case 'accountability.finding':
        continue;
      case 'incident.reported':
        out.push({ ...base, what: 'reported', how: 'form' });
        continue;
      case 'incident.acknowledged':
        out.push({ ...base, what: 'acknowledged', how: 'button' });
        continue;
      case 'incident.progress':
        out.push({ ...base, what: 'progress', how: 'typed', text: textOf(d.updateId) });
        continue;
      case 'step.done':
        // 上报上一级's mark is its first report (首报); 续报 and 终报 follow as entries of their own.
        if (d.key === 'report_upward') out.push({ ...base, what: 'upward_report', how: 'button', means: str(d.how), detail: 'first', ...stepOf() });
        else out.push({ ...base, what: 'step_done', how: 'button', means: str(d.how), ...stepOf() });
        continue;
      case 'step.not_applicable': {
        const step = view.steps.find((s) => s.id === a.entityId);
        out.push({ ...base, what: 'step_na', how: 'typed', text: step?.naReason ?? null, ...stepOf() });
        continue;
      }
      case 'step.note': {
        const note = view.updates.find((u) => u.kind === 'step_note' && u.staffId === a.actorStaffId && u.at.getTime() === a.at.getTime());
        out.push({ ...base, what: 'step_note', how: 'typed', text: note?.text ?? null, ...stepOf() });
        continue;
      }
      case 'role.assigned':
      case 'role.removed':
        out.push({ ...base, what: a.action === 'role.assigned' ? 'role_assigned' : 'role_removed', how: 'button', role: { role: str(d.role) ?? '', staffId: str(d.staffId) } });
        continue;
      case 'search.attempt': {
        const attempt = view.searchAttempts.find((s) => s.id === a.entityId);
        out.push({ ...base, what: 'search', how: 'typed', means: str(d.method), text: attempt?.result ?? null });
        continue;
      }
      case 'absconding.outcome':
        out.push({ ...base, what: 'search_outcome', how: 'button', detail: str(d.outcome) });
        continue;
      case 'county.named':
        out.push({ ...base, what: 'county_named', how: 'typed', counties: Array.isArray(d.counties) ? d.counties.filter((c): c is string => typeof c === 'string') : [] });
        continue;
      case 'county.notified':
        out.push({ ...base, what: 'county_notified', how: 'typed', means: str(d.how), counties: str(d.county) ? [str(d.county)!] : [] });
        continue;
      case 'incident.forwarded':
        out.push({ ...base, what: 'forwarded', how: 'typed', detail: str(d.position), text: textOf(d.updateId) });
        continue;
      case 'incident.upward_report':
        out.push({ ...base, what: 'upward_report', how: 'button', means: str(d.how), detail: str(d.phase), text: textOf(d.updateId) });
        continue;
      case 'incident.closed':
        out.push({ ...base, what: 'closed', how: 'typed' });
        continue;
      case 'incident.false_alarm':
        out.push({ ...base, what: 'false_alarm', how: 'typed' });
        continue;
      case 'command.activated':
        out.push({ ...base, what: 'activated', how: 'button', detail: str(d.level) });
        continue;
      case 'command.level_changed':
        out.push({ ...base, what: 'level_changed', how: 'typed', detail: str(d.direction), levels: { from: str(d.from) ?? '', to: str(d.to) ?? '' }, text: textOf(d.updateId) });
        continue;
      case 'command.message':
        out.push({ ...base, what: 'command_message', how: 'typed', detail: str(d.kind), text: textOf(d.updateId) });
        continue;
      case 'command.receipted':
        out.push({ ...base, what: 'command_receipt', how: 'button', detail: str(d.kind), text: textOf(d.updateId) });
        continue;
      case 'timer.fired':
        out.push({
          ...base,
          staffId: null,
          what: 'timer',
          how: 'timer',
          timer: { kind: str(d.kind) ?? '', level: num(d.level) ?? 0, recipients: Array.isArray(d.recipients) ? d.recipients.length : 0 },
        });
        continue;
      case 'notice.rerouted':
      case 'staff.unreachable':
        out.push({ ...base, staffId: null, what: 'rerouted', how: 'system' });
        continue;
      case 'notice.undeliverable':
        out.push({ ...base, staffId: null, what: 'undeliverable', how: 'system' });
        continue;
    }
    if (family === 'subject') out.push({ ...base, what: 'subject', how: 'system', detail: str(d.to) });
    else if (family === 'written_report') out.push({ ...base, what: 'written_report', how: verb === 'opened' ? 'system' : verb === 'edited' ? 'typed' : 'button', detail: verb ?? null });
    else out.push({ ...base, what: 'other', how: a.actorStaffId ? 'button' : 'system', action: a.action });
  }
  return out;
}
