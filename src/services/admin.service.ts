/**
 * Administration in the chat, for the corrections section (the position that may do it; anyone else is
 * refused `not_permitted`): staff added, deactivated or moved to another office, a subject's responsible
 * officer, a seat's acting holder, invites, and a subject import from a CSV file in two steps — a preview
 * (rows to add, to change, refused with reasons, and a token), then 确认导入 with the token, which imports
 * exactly the rows previewed or nothing. Every change is audited. The CLI stays for bulk and server work.
 */
import { randomBytes } from 'node:crypto';
import { CsvError, parse } from 'csv-parse/sync';
import { newInviteCode, DEFAULT_INVITE_HOURS, MAX_INVITE_HOURS } from '../admin/invite.js';
import { seatMismatch } from '../admin/positions.js';
import { RISK_LEVELS, SUBJECT_COLUMNS, SUBJECT_STATUSES } from '../admin/subjects-import.js';
import type { Executor } from '../db/client.js';
import { appendAudit } from '../db/repositories/audit.repository.js';
import { insertImportPreview, lockImportPreview, markImportPreviewUsed } from '../db/repositories/import-preview.repository.js';
import { insertInvite } from '../db/repositories/invite.repository.js';
import { findStaffById, findUnit, type StaffRow } from '../db/repositories/org.repository.js';
import { enqueueNotices } from '../db/repositories/outbox.repository.js';
import { cancelProcessTimers } from '../db/repositories/process-timer.repository.js';
import { emptySeatOf, insertSeat, listSeats, lockPosition, seatsOf, updatePosition, type SeatListing } from '../db/repositories/seat-admin.repository.js';
import { findStaffByCode, findStaffByCodes, insertStaff, lockStaff, updateStaff } from '../db/repositories/staff.repository.js';
import { insertSubject, listSubjects, lockSubject, updateSubject, type SubjectRow } from '../db/repositories/subject.repository.js';
import { findUnitsByCodes } from '../db/repositories/unit.repository.js';
import { asNoticeKind } from '../domain/absence.js';
import { addMs, HOUR, idNumberProblem, isSection, MINUTE, normaliseIdNumber, POSITION_KINDS, type Actor, type IdNumberProblem, type PositionKind } from '../domain/index.js';
import { ServiceRefusal } from './errors.js';
import { emptyChange, type ServiceDeps } from './ports.js';
import { STAFF_AWAY_TIMER } from './staff.service.js';
import { requireOfficerOf } from './subject.service.js';

function requireSection(actor: Actor): void {
  if (!isSection(actor)) throw new ServiceRefusal('not_permitted');
}

const CODE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

function positionKindOf(value: string): PositionKind {
  if (!(POSITION_KINDS as readonly string[]).includes(value)) throw new ServiceRefusal('invalid_input', 'position');
  return value as PositionKind;
}

/** A seat of the kind in the unit for the person: an empty one, or a new one. */
async function takeSeat(tx: Executor, unit: { id: string; code: string }, kind: PositionKind, staffId: string, staffCode: string): Promise<string> {
  const empty = await emptySeatOf(tx, unit.id, kind);
  if (empty) return (await updatePosition(tx, empty.id, { holderStaffId: staffId })).id;
  return (await insertSeat(tx, { code: `pos-${staffCode}-${kind}-${unit.code}`, kind, unitId: unit.id, holderStaffId: staffId })).id;
}

/** Vacates every seat the person holds or acts for; returns the seats' ids. */
async function vacateSeats(tx: Executor, staffId: string): Promise<string[]> {
  const seats = await seatsOf(tx, staffId);
  for (const seat of seats) {
    await updatePosition(tx, seat.id, { ...(seat.holderStaffId === staffId ? { holderStaffId: null } : {}), ...(seat.actingStaffId === staffId ? { actingStaffId: null } : {}) });
  }
  return seats.map((s) => s.id);
}

/** Clears the person as responsible officer of every subject; returns the subjects' ids, to be given another. */
async function releaseSubjects(tx: Executor, staffId: string, now: Date): Promise<string[]> {
  const rows = await listSubjects(tx, { responsibleStaffId: staffId });
  for (const r of rows) await updateSubject(tx, r.id, { responsibleStaffId: null, updatedAt: now });
  return rows.map((r) => r.id);
}

export interface NewStaffInput {
  name: string;
  unitId: string;
  positionKind: string;
  /** Default: a generated `staff-…` code. */
  code?: string;
  phone?: string | null;
  language?: 'zh' | 'en';
}

/** Adds a staff member with a seat of the kind in the unit (an empty one, or a new one). An invite binds their Telegram account. */
export async function addStaff(deps: ServiceDeps, actor: Actor, input: NewStaffInput): Promise<{ staff: StaffRow; positionId: string }> {
  requireSection(actor);
  const name = input.name.trim();
  if (name === '' || name.length > 60) throw new ServiceRefusal('invalid_input', 'name');
  const code = input.code?.trim() || `staff-${randomBytes(4).toString('hex')}`;
  if (!CODE.test(code)) throw new ServiceRefusal('invalid_input', 'code');
  const phone = input.phone?.trim() || null;
  if (phone && !/^[0-9+\-() ]{3,30}$/.test(phone)) throw new ServiceRefusal('invalid_input', 'phone');
  const kind = positionKindOf(input.positionKind);
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    const unit = await findUnit(tx, input.unitId);
    if (!unit) throw new ServiceRefusal('invalid_input', 'unit');
    if (seatMismatch(kind, unit.kind)) throw new ServiceRefusal('invalid_input', 'position');
    if (await findStaffByCode(tx, code)) throw new ServiceRefusal('invalid_input', 'code_taken');
    const person = await insertStaff(tx, { code, name, unitId: unit.id, phone, language: input.language ?? 'zh', createdAt: now, updatedAt: now });
    const positionId = await takeSeat(tx, unit, kind, person.id, code);
    await appendAudit(tx, { at: now, action: 'staff.added', entity: 'staff', entityId: person.id, actorStaffId: actor.staffId, data: { code, unitId: unit.id, positionKind: kind, positionId } });
    return { staff: person, positionId };
  });
}

export interface StaffChangeResult {
  staff: StaffRow;
  /** Seats the person no longer holds or acts for. */
  vacatedSeats: string[];
  /** Subjects whose responsible officer they were: to be given another (notices go to the office head meanwhile). */
  subjectsWithoutOfficer: string[];
}

/**
 * Deactivates a staff member: they get no more messages, hold no seat and are nobody's responsible
 * officer any more (each seat's acting holder, or the next level, takes their messages).
 */
export async function deactivateStaff(deps: ServiceDeps, actor: Actor, staffId: string): Promise<StaffChangeResult> {
  requireSection(actor);
  if (staffId === actor.staffId) throw new ServiceRefusal('invalid_input', 'self');
  const now = deps.clock.now();
  const result = await deps.db.transaction(async (tx) => {
    const person = await lockStaff(tx, staffId);
    if (!person) throw new ServiceRefusal('not_found');
    if (!person.active) throw new ServiceRefusal('already_done');
    const updated = (await updateStaff(tx, staffId, { active: false, away: false, awayFrom: null, awayUntil: null, updatedAt: now }))!;
    const vacatedSeats = await vacateSeats(tx, staffId);
    const subjectsWithoutOfficer = await releaseSubjects(tx, staffId, now);
    const cancelled = await cancelProcessTimers(tx, STAFF_AWAY_TIMER, { cycle: staffId }, now);
    await appendAudit(tx, { at: now, action: 'staff.deactivated', entity: 'staff', entityId: staffId, actorStaffId: actor.staffId, data: { vacatedSeats, subjectsWithoutOfficer } });
    return { out: { staff: updated, vacatedSeats, subjectsWithoutOfficer }, change: { ...emptyChange(), timersCancelled: cancelled } };
  });
  await deps.dispatcher.afterCommit(result.change);
  return result.out;
}

/**
 * Moves a staff member to another unit, into a seat of the kind there: the seats of the old unit are
 * vacated, and subjects of the old office lose them as responsible officer.
 */
export async function moveStaff(deps: ServiceDeps, actor: Actor, staffId: string, to: { unitId: string; positionKind: string }): Promise<StaffChangeResult & { positionId: string }> {
  requireSection(actor);
  const kind = positionKindOf(to.positionKind);
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    const person = await lockStaff(tx, staffId);
    if (!person) throw new ServiceRefusal('not_found');
    if (!person.active) throw new ServiceRefusal('wrong_status', 'inactive');
    const unit = await findUnit(tx, to.unitId);
    if (!unit) throw new ServiceRefusal('invalid_input', 'unit');
    if (seatMismatch(kind, unit.kind)) throw new ServiceRefusal('invalid_input', 'position');
    const seats = await seatsOf(tx, staffId);
    if (unit.id === person.unitId && seats.some((s) => s.holderStaffId === staffId && s.kind === kind)) throw new ServiceRefusal('already_done');
    const vacatedSeats = await vacateSeats(tx, staffId);
    const subjectsWithoutOfficer = unit.id === person.unitId ? [] : await releaseSubjects(tx, staffId, now);
    const updated = (await updateStaff(tx, staffId, { unitId: unit.id, updatedAt: now }))!;
    const positionId = await takeSeat(tx, unit, kind, staffId, person.code);
    await appendAudit(tx, {
      at: now,
      action: 'staff.moved',
      entity: 'staff',
      entityId: staffId,
      actorStaffId: actor.staffId,
      data: { fromUnitId: person.unitId, toUnitId: unit.id, positionKind: kind, positionId, vacatedSeats, subjectsWithoutOfficer },
    });
    return { staff: updated, vacatedSeats, subjectsWithoutOfficer, positionId };
  });
}

/** Sets (or clears) a subject's responsible officer, who must be on the active staff of the subject's office. */
export async function setResponsibleOfficer(deps: ServiceDeps, actor: Actor, subjectId: string, staffId: string | null): Promise<SubjectRow> {
  requireSection(actor);
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    const subject = await lockSubject(tx, subjectId);
    if (!subject) throw new ServiceRefusal('not_found');
    if (subject.status === 'terminated') throw new ServiceRefusal('wrong_status', 'supervision_ended');
    if (staffId) await requireOfficerOf(tx, staffId, subject.officeUnitId);
    if (subject.responsibleStaffId === staffId) throw new ServiceRefusal('already_done');
    await updateSubject(tx, subjectId, { responsibleStaffId: staffId, updatedAt: now });
    await appendAudit(tx, { at: now, action: 'subject.responsible_officer', entity: 'subject', entityId: subjectId, actorStaffId: actor.staffId, data: { from: subject.responsibleStaffId, to: staffId } });
    return { ...subject, responsibleStaffId: staffId, updatedAt: now };
  });
}

/**
 * Sets (or clears) a seat's acting holder: the person who gets the seat's messages and acts for it while
 * the holder is away or cannot be reached. They are told.
 */
export async function setActingHolder(deps: ServiceDeps, actor: Actor, positionId: string, staffId: string | null): Promise<SeatListing['seat']> {
  requireSection(actor);
  const now = deps.clock.now();
  const result = await deps.db.transaction(async (tx) => {
    const seat = await lockPosition(tx, positionId);
    if (!seat) throw new ServiceRefusal('not_found');
    if (staffId) {
      const person = await findStaffById(tx, staffId);
      if (!person || !person.active) throw new ServiceRefusal('invalid_input', 'staff');
      if (seat.holderStaffId === staffId) throw new ServiceRefusal('invalid_input', 'holder');
    }
    if (seat.actingStaffId === staffId) throw new ServiceRefusal('already_done');
    const updated = await updatePosition(tx, seat.id, { actingStaffId: staffId });
    const outbox = staffId && staffId !== actor.staffId
      ? await enqueueNotices(tx, [
          {
            recipientStaffId: staffId,
            kind: asNoticeKind('acting_holder_set'),
            dedupeKey: `acting_holder_set-${seat.id}-${staffId}-${now.getTime()}`,
            params: { positionId: seat.id, positionKind: seat.kind, unitId: seat.unitId, holderStaffId: seat.holderStaffId, byStaffId: actor.staffId },
          },
        ])
      : [];
    await appendAudit(tx, { at: now, action: 'position.acting_holder', entity: 'position', entityId: seat.id, actorStaffId: actor.staffId, data: { kind: seat.kind, unitId: seat.unitId, from: seat.actingStaffId, to: staffId } });
    return { seat: updated, change: { ...emptyChange(), outboxCreated: outbox } };
  });
  await deps.dispatcher.afterCommit(result.change);
  return result.seat;
}

/** The seats, with holders and acting holders, of one unit or all: for choosing one. */
export async function seatsForAdmin(deps: Pick<ServiceDeps, 'db'>, actor: Actor, unitId?: string): Promise<SeatListing[]> {
  requireSection(actor);
  return listSeats(deps.db, unitId);
}

export interface StaffInviteInput {
  unitId: string;
  positionKind: string;
  /** Binds to this staff record when set (one without a Telegram account). */
  staffId?: string;
  /** Default 72. */
  hours?: number;
}

/**
 * A single-use, expiring invite. The code is a credential: the audit trail records the invite, not the
 * code. The channel turns it into its own link (Telegram's `start` deep link).
 */
export async function createStaffInvite(deps: ServiceDeps, actor: Actor, input: StaffInviteInput): Promise<{ id: string; code: string; expiresAt: Date }> {
  requireSection(actor);
  const hours = input.hours ?? DEFAULT_INVITE_HOURS;
  if (!Number.isFinite(hours) || hours <= 0 || hours > MAX_INVITE_HOURS) throw new ServiceRefusal('invalid_input', 'hours');
  const kind = positionKindOf(input.positionKind);
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    const unit = await findUnit(tx, input.unitId);
    if (!unit) throw new ServiceRefusal('invalid_input', 'unit');
    if (seatMismatch(kind, unit.kind)) throw new ServiceRefusal('invalid_input', 'position');
    if (input.staffId) {
      const person = await findStaffById(tx, input.staffId);
      if (!person || !person.active) throw new ServiceRefusal('invalid_input', 'staff');
      if (person.telegramUserId !== null) throw new ServiceRefusal('already_bound', 'staff');
    }
    const code = newInviteCode();
    const expiresAt = addMs(now, Math.round(hours * HOUR));
    const row = await insertInvite(tx, { code, unitId: unit.id, positionKind: kind, staffId: input.staffId ?? null, createdBy: actor.staffId, createdAt: now, expiresAt });
    await appendAudit(tx, {
      at: now,
      action: 'invite.created',
      entity: 'invite',
      entityId: row.id,
      actorStaffId: actor.staffId,
      data: { unitId: unit.id, positionKind: kind, staffId: input.staffId ?? null, expiresAt: expiresAt.toISOString(), createdBy: 'chat' },
    });
    return { id: row.id, code, expiresAt };
  });
}

// ---------------------------------------------------------------------------------------------
// Subject import from a CSV sent in the chat: the CLI's columns (code,name,id_number,office,
// responsible_officer,risk_level,status), each row checked on its own, so good rows can go in while bad
// ones are named. The status column may only say what the status is (status follows events now).

/** Why a row (or the file) was refused; the chat names each. */
export type ImportRefusalReason =
  | 'not_csv'
  | 'empty'
  | 'missing_column'
  | 'unknown_column'
  | 'field_count'
  | 'code_invalid'
  | 'name_missing'
  | 'name_too_long'
  | `id_number_${IdNumberProblem}`
  | 'office_unknown'
  | 'officer_unknown'
  | 'officer_not_in_office'
  | 'risk_level_invalid'
  | 'status_invalid'
  | 'status_follows_events'
  | 'office_change_is_transfer'
  | 'supervision_ended'
  | 'duplicate_in_file'
  | 'id_number_taken';

export interface ImportRefusal {
  /** Row in the file, the header being row 1. */
  row: number;
  reason: ImportRefusalReason;
  column?: string;
  /** For `duplicate_in_file`: the row it repeats. */
  sameAsRow?: number;
}

/** A row as read from the file, checked on its own. */
interface ImportRow {
  row: number;
  code: string;
  name: string;
  idNumber: string;
  office: string;
  responsibleOfficer: string | null;
  riskLevel: (typeof RISK_LEVELS)[number] | null;
  status: string | null;
}

export type ImportField = 'name' | 'id_number' | 'responsible_officer' | 'risk_level';

export interface ImportAdd {
  row: number;
  code: string;
  name: string;
  idNumber: string;
  officeUnitId: string;
  responsibleStaffId: string | null;
  riskLevel: string;
}

export interface ImportChange extends ImportAdd {
  subjectId: string;
  /** What the row changes. */
  fields: ImportField[];
  /** The stored row's update time when previewed: a later change makes the preview stale. */
  seenUpdatedAt: string;
}

export interface ImportPreview {
  add: ImportAdd[];
  change: ImportChange[];
  /** Rows the same as what is stored. */
  unchanged: number[];
  refused: ImportRefusal[];
  /** For confirmImport; null when there is nothing to import. */
  token: string | null;
  expiresAt: Date | null;
}

/** How long a preview may be confirmed. */
export const IMPORT_PREVIEW_MINUTES = 30;
/** Largest file accepted, in characters (a district has hundreds of subjects). */
export const MAX_IMPORT_CHARS = 1_000_000;

/** Parses the file: header problems refuse it whole; each row is checked on its own. */
function readImportCsv(text: string): { rows: ImportRow[]; refused: ImportRefusal[] } {
  const refused: ImportRefusal[] = [];
  let records: Array<{ record: Record<string, string>; raw: string; info: { lines: number } }>;
  try {
    records = parse(text.replace(/\r\n?/g, '\n'), {
      bom: true,
      columns: (header: string[]) => {
        const cols = header.map((h) => h.trim());
        for (const c of SUBJECT_COLUMNS) if (c !== 'responsible_officer' && c !== 'risk_level' && c !== 'status' && !cols.includes(c)) refused.push({ row: 1, reason: 'missing_column', column: c });
        for (const c of cols) if (!(SUBJECT_COLUMNS as readonly string[]).includes(c)) refused.push({ row: 1, reason: 'unknown_column', column: c || '(blank)' });
        if (refused.length) throw new HeaderRefused();
        return cols;
      },
      info: true,
      raw: true,
      skip_empty_lines: true,
    });
  } catch (e) {
    if (e instanceof HeaderRefused) return { rows: [], refused };
    if (e instanceof CsvError) {
      const line = (e as CsvError & { lines?: number }).lines ?? 1;
      return { rows: [], refused: [{ row: line, reason: e.code === 'CSV_RECORD_INCONSISTENT_COLUMNS' ? 'field_count' : 'not_csv' }] };
    }
    throw e;
  }
  if (records.length === 0) return { rows: [], refused: [{ row: 1, reason: 'empty' }] };
  const rows: ImportRow[] = [];
  for (const r of records) {
    const body = r.raw.replace(/^\n+/, '').replace(/\n$/, '');
    const row = r.info.lines - (body.match(/\n/g)?.length ?? 0);
    const field = (k: string) => (r.record[k] ?? '').trim();
    const problems: ImportRefusal[] = [];
    const code = field('code');
    if (!CODE.test(code)) problems.push({ row, reason: 'code_invalid', column: 'code' });
    const name = field('name');
    if (name === '') problems.push({ row, reason: 'name_missing', column: 'name' });
    else if (name.length > 50) problems.push({ row, reason: 'name_too_long', column: 'name' });
    const idNumber = normaliseIdNumber(field('id_number'));
    const idProblem = idNumberProblem(idNumber);
    if (idProblem) problems.push({ row, reason: `id_number_${idProblem}`, column: 'id_number' });
    const office = field('office');
    if (!CODE.test(office)) problems.push({ row, reason: 'office_unknown', column: 'office' });
    const officer = field('responsible_officer') || null;
    if (officer !== null && !CODE.test(officer)) problems.push({ row, reason: 'officer_unknown', column: 'responsible_officer' });
    const risk = field('risk_level') || null;
    if (risk !== null && !(RISK_LEVELS as readonly string[]).includes(risk)) problems.push({ row, reason: 'risk_level_invalid', column: 'risk_level' });
    const status = field('status') || null;
    if (status !== null && !(SUBJECT_STATUSES as readonly string[]).includes(status)) problems.push({ row, reason: 'status_invalid', column: 'status' });
    if (problems.length) refused.push(...problems);
    else rows.push({ row, code, name, idNumber, office, responsibleOfficer: officer, riskLevel: risk as ImportRow['riskLevel'], status });
  }
  // A code or ID number given twice: the first row stands, the later ones are refused.
  const kept: ImportRow[] = [];
  const seenCode = new Map<string, number>();
  const seenId = new Map<string, number>();
  for (const r of rows) {
    const byCode = seenCode.get(r.code);
    const byId = seenId.get(r.idNumber);
    if (byCode !== undefined) refused.push({ row: r.row, reason: 'duplicate_in_file', column: 'code', sameAsRow: byCode });
    else if (byId !== undefined) refused.push({ row: r.row, reason: 'duplicate_in_file', column: 'id_number', sameAsRow: byId });
    else {
      seenCode.set(r.code, r.row);
      seenId.set(r.idNumber, r.row);
      kept.push(r);
    }
  }
  return { rows: kept, refused };
}

class HeaderRefused extends Error {}

interface ImportPlan {
  add: ImportAdd[];
  change: ImportChange[];
  unchanged: number[];
  refused: ImportRefusal[];
}

/** The rows against what is stored: offices and officers found, codes and ID numbers owned, what changes. */
async function planImport(tx: Executor, cipher: ServiceDeps['cipher'], rows: readonly ImportRow[]): Promise<ImportPlan> {
  const plan: ImportPlan = { add: [], change: [], unchanged: [], refused: [] };
  if (rows.length === 0) return plan;
  const offices = new Map((await findUnitsByCodes(tx, [...new Set(rows.map((r) => r.office))])).filter((u) => u.kind === 'office').map((u) => [u.code, u.id]));
  const officers = new Map((await findStaffByCodes(tx, [...new Set(rows.flatMap((r) => (r.responsibleOfficer ? [r.responsibleOfficer] : [])))])).map((s) => [s.code, s]));
  const existing = new Map((await listSubjects(tx, { codes: rows.map((r) => r.code) })).map((s) => [s.code, s]));
  const hashes = new Map(rows.map((r) => [r.row, cipher.lookupHash(r.idNumber)]));
  const holders = new Map((await listSubjects(tx, { idNumberHashes: [...hashes.values()] })).map((s) => [s.idNumberHash!, s.code]));
  for (const r of rows) {
    const refuse = (reason: ImportRefusalReason, column?: string) => plan.refused.push({ row: r.row, reason, ...(column ? { column } : {}) });
    const before = plan.refused.length;
    const officeUnitId = offices.get(r.office);
    if (!officeUnitId) refuse('office_unknown', 'office');
    const officer = r.responsibleOfficer ? officers.get(r.responsibleOfficer) : undefined;
    if (r.responsibleOfficer && !officer) refuse('officer_unknown', 'responsible_officer');
    else if (officer && officeUnitId && (officer.unitId !== officeUnitId || !officer.active)) refuse('officer_not_in_office', 'responsible_officer');
    const holder = holders.get(hashes.get(r.row)!);
    if (holder && holder !== r.code) refuse('id_number_taken', 'id_number');
    const current = existing.get(r.code);
    if (current) {
      if (current.status === 'terminated') refuse('supervision_ended', 'code');
      if (officeUnitId && current.officeUnitId !== officeUnitId) refuse('office_change_is_transfer', 'office');
      if (r.status !== null && r.status !== current.status) refuse('status_follows_events', 'status');
    } else if (r.status !== null && r.status !== 'active') refuse('status_follows_events', 'status');
    if (plan.refused.length > before) continue;
    const item: ImportAdd = { row: r.row, code: r.code, name: r.name, idNumber: r.idNumber, officeUnitId: officeUnitId!, responsibleStaffId: officer?.id ?? null, riskLevel: r.riskLevel ?? current?.riskLevel ?? 'normal' };
    if (!current) {
      plan.add.push(item);
      continue;
    }
    const fields: ImportField[] = [];
    if (cipher.decrypt(current.nameEnc) !== r.name) fields.push('name');
    if ((current.idNumberEnc ? cipher.decrypt(current.idNumberEnc) : null) !== r.idNumber) fields.push('id_number');
    if (current.responsibleStaffId !== item.responsibleStaffId) fields.push('responsible_officer');
    if (current.riskLevel !== item.riskLevel) fields.push('risk_level');
    if (fields.length === 0) plan.unchanged.push(r.row);
    else plan.change.push({ ...item, subjectId: current.id, fields, seenUpdatedAt: current.updatedAt.toISOString() });
  }
  return plan;
}

/** The part of a plan that confirming must find again, exactly. */
const planKey = (p: Pick<ImportPlan, 'add' | 'change'>): string =>
  JSON.stringify({ add: p.add.map((a) => [a.row, a.code]), change: p.change.map((c) => [c.row, c.subjectId, c.fields, c.seenUpdatedAt]) });

/**
 * The first step of an import: what the file would add and change, and the rows refused with their
 * reasons. Nothing is written but the preview itself (encrypted: it holds names and ID numbers), which
 * confirmImport takes by its token within IMPORT_PREVIEW_MINUTES.
 */
export async function previewImport(deps: ServiceDeps, actor: Actor, csv: string): Promise<ImportPreview> {
  requireSection(actor);
  if (csv.length > MAX_IMPORT_CHARS) throw new ServiceRefusal('invalid_input', 'too_large');
  const now = deps.clock.now();
  const read = readImportCsv(csv);
  return deps.db.transaction(async (tx) => {
    const plan = await planImport(tx, deps.cipher, read.rows);
    const refused = [...read.refused, ...plan.refused].sort((a, b) => a.row - b.row);
    if (plan.add.length === 0 && plan.change.length === 0) return { add: [], change: [], unchanged: plan.unchanged, refused, token: null, expiresAt: null };
    const accepted = read.rows.filter((r) => plan.add.some((a) => a.row === r.row) || plan.change.some((c) => c.row === r.row));
    const expiresAt = addMs(now, IMPORT_PREVIEW_MINUTES * MINUTE);
    const payload = JSON.stringify({ version: 1, rows: accepted, key: planKey(plan) });
    const preview = await insertImportPreview(tx, { staffId: actor.staffId, payloadEnc: deps.cipher.encrypt(payload), createdAt: now, expiresAt });
    await appendAudit(tx, {
      at: now,
      action: 'subjects.import_previewed',
      entity: 'import_preview',
      entityId: preview.id,
      actorStaffId: actor.staffId,
      data: { add: plan.add.length, change: plan.change.length, unchanged: plan.unchanged.length, refused: refused.length },
    });
    return { add: plan.add, change: plan.change, unchanged: plan.unchanged, refused, token: preview.id, expiresAt };
  });
}

export interface ImportResult {
  added: string[];
  changed: string[];
}

/**
 * 确认导入: imports exactly the rows previewed, once, by whoever previewed them. If anything they stand on
 * changed since (a code or ID number taken, an officer moved, a subject edited), nothing is imported and
 * the preview is `stale`: preview the file again.
 */
export async function confirmImport(deps: ServiceDeps, actor: Actor, token: string): Promise<ImportResult> {
  requireSection(actor);
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(token)) throw new ServiceRefusal('not_found');
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    const preview = await lockImportPreview(tx, token);
    if (!preview || preview.staffId !== actor.staffId) throw new ServiceRefusal('not_found');
    if (preview.usedAt) throw new ServiceRefusal('already_done');
    if (preview.expiresAt.getTime() <= now.getTime()) throw new ServiceRefusal('expired');
    const payload = JSON.parse(deps.cipher.decrypt(preview.payloadEnc)) as { rows: ImportRow[]; key: string };
    const plan = await planImport(tx, deps.cipher, payload.rows);
    if (plan.refused.length || plan.unchanged.length || planKey(plan) !== payload.key) throw new ServiceRefusal('stale');
    const added: string[] = [];
    for (const a of plan.add) {
      const row = await insertSubject(tx, {
        code: a.code,
        nameEnc: deps.cipher.encrypt(a.name),
        idNumberEnc: deps.cipher.encrypt(a.idNumber),
        idNumberHash: deps.cipher.lookupHash(a.idNumber),
        officeUnitId: a.officeUnitId,
        responsibleStaffId: a.responsibleStaffId,
        riskLevel: a.riskLevel,
        status: 'active',
        createdAt: now,
        updatedAt: now,
      });
      added.push(row.id);
    }
    for (const c of plan.change) {
      await updateSubject(tx, c.subjectId, {
        nameEnc: deps.cipher.encrypt(c.name),
        idNumberEnc: deps.cipher.encrypt(c.idNumber),
        idNumberHash: deps.cipher.lookupHash(c.idNumber),
        responsibleStaffId: c.responsibleStaffId,
        riskLevel: c.riskLevel,
        updatedAt: now,
      });
    }
    await markImportPreviewUsed(tx, preview.id, now);
    await appendAudit(tx, {
      at: now,
      action: 'subjects.imported',
      entity: 'subject',
      actorStaffId: actor.staffId,
      data: { source: 'chat', previewId: preview.id, created: added.length, updated: plan.change.length, added, changed: plan.change.map((c) => ({ subjectId: c.subjectId, fields: c.fields })) },
    });
    return { added, changed: plan.change.map((c) => c.subjectId) };
  });
}
