/**
 * Units, positions and the reporting line (逐级报告):
 * officer → office head → section → deputy director → director → upper-level agency.
 */

export const UNIT_KINDS = ['bureau', 'section', 'office', 'upper', 'department'] as const;
export type UnitKind = (typeof UNIT_KINDS)[number];

export const POSITION_KINDS = [
  'officer',
  'office_head',
  'section',
  'deputy_director',
  'director',
  'upper_liaison',
  'info_reviewer',
] as const;
export type PositionKind = (typeof POSITION_KINDS)[number];

/** The reporting line, lowest first. `info_reviewer` (functional department) is outside it. */
export const REPORTING_LINE: readonly PositionKind[] = ['officer', 'office_head', 'section', 'deputy_director', 'director', 'upper_liaison'];

export function nextInLine(position: PositionKind): PositionKind | undefined {
  const i = REPORTING_LINE.indexOf(position);
  return i < 0 ? undefined : REPORTING_LINE[i + 1];
}

/** A seat: the holder, and an acting holder who stands in when the holder is away or unreachable. */
export interface PositionSeat {
  kind: PositionKind;
  unitId: string;
  holderStaffId: string | null;
  actingStaffId: string | null;
}

export interface StaffAvailability {
  id: string;
  active: boolean;
  reachable: boolean;
  away: boolean;
}

/** Who actually gets a position's messages now: the holder, else the acting holder, else nobody. */
export function effectiveHolder(seat: PositionSeat, staff: ReadonlyMap<string, StaffAvailability>): string | null {
  const available = (id: string | null) => {
    if (!id) return false;
    const s = staff.get(id);
    return !!s && s.active && s.reachable && !s.away;
  };
  if (available(seat.holderStaffId)) return seat.holderStaffId;
  if (available(seat.actingStaffId)) return seat.actingStaffId;
  return null;
}

/** Everyone who holds a kind of position within a unit (or anywhere, for bureau-level kinds), resolved to who is available. */
export function holdersOf(
  kind: PositionKind,
  seats: readonly PositionSeat[],
  staff: ReadonlyMap<string, StaffAvailability>,
  unitId?: string,
): string[] {
  const ids = seats
    .filter((s) => s.kind === kind && (unitId === undefined || s.unitId === unitId))
    .map((s) => effectiveHolder(s, staff))
    .filter((id): id is string => id !== null);
  return [...new Set(ids)];
}

/** The person acting, as the domain needs to know them for permission checks. */
export interface Actor {
  staffId: string;
  unitId: string;
  unitKind: UnitKind;
  /** The positions the person acts in now: the seats they hold, and those they stand in for while the holder cannot. */
  positions: readonly PositionKind[];
  /** Of those, the ones held only as acting holder (shown as 代理…). */
  acting?: readonly PositionKind[];
}

/** What decides whether a seat's holder is there to act: deactivated, away, blocked the bot or never bound it. */
export interface SeatHolderState {
  active: boolean;
  away: boolean;
  reachable: boolean;
  bound: boolean;
}

/**
 * An acting holder acts only while the seat's holder is away or cannot be reached (or there is none), so
 * the holder is asked whenever they can be and nobody signs one report at two levels for being listed twice.
 */
export function actingHolderActs(holder: SeatHolderState | undefined): boolean {
  return !holder || !holder.active || holder.away || !holder.reachable || !holder.bound;
}

/** A person's positions from the seats they hold and those they are the acting holder of. */
export function actorPositions(
  held: readonly PositionKind[],
  actingSeats: ReadonlyArray<{ kind: PositionKind; holder: SeatHolderState | undefined }>,
): { positions: PositionKind[]; acting: PositionKind[] } {
  const positions = new Set(held);
  const acting = new Set<PositionKind>();
  for (const seat of actingSeats) {
    if (!actingHolderActs(seat.holder) || positions.has(seat.kind)) continue;
    positions.add(seat.kind);
    acting.add(seat.kind);
  }
  return { positions: [...positions], acting: [...acting] };
}

/** Section staff and bureau leaders see every office; everyone else sees their own unit. */
export function hasBureauWideView(actor: Actor): boolean {
  return actor.positions.some((p) => p === 'section' || p === 'deputy_director' || p === 'director' || p === 'upper_liaison');
}

export function canSeeOffice(actor: Actor, officeUnitId: string): boolean {
  return hasBureauWideView(actor) || actor.unitId === officeUnitId;
}

/** 签收: the section receives reports; a leader reached by escalation may acknowledge too. */
export function canAcknowledge(actor: Actor): boolean {
  return actor.positions.some((p) => p === 'section' || p === 'deputy_director' || p === 'director');
}

export function isSection(actor: Actor): boolean {
  return actor.positions.includes('section');
}

export function isLeader(actor: Actor): boolean {
  return actor.positions.some((p) => p === 'deputy_director' || p === 'director');
}

/**
 * Who a new report or a progress update by this actor reaches of the section and the office head
 * (targetsOnReport, targetsOnProgress; never the actor): both; the section alone when the office head
 * writes; the office head and the rest of the section when the section writes. What the actor is told
 * must not promise the section that the section will hear of it.
 */
export type ChainAudience = 'section_and_head' | 'section' | 'head_and_other_section';
export function chainAudience(actor: Actor): ChainAudience {
  if (isSection(actor)) return 'head_and_other_section';
  if (actor.positions.includes('office_head')) return 'section';
  return 'section_and_head';
}

/** Whether an actor may work on (update, mark steps, assign) an incident of the given office. */
export function canHandleIncident(actor: Actor, officeUnitId: string): boolean {
  if (actor.positions.includes('upper_liaison') && actor.positions.length === 1) return false;
  return isSection(actor) || isLeader(actor) || actor.unitId === officeUnitId;
}

/** A step's actor decides who may mark it: office staff mark office steps, section marks section steps. */
export function canMarkStep(actor: Actor, officeUnitId: string, stepActor: 'office' | 'section' | 'either'): boolean {
  if (!canHandleIncident(actor, officeUnitId)) return false;
  if (stepActor === 'section') return isSection(actor) || isLeader(actor);
  if (stepActor === 'office') return actor.unitId === officeUnitId || isSection(actor);
  return true;
}

export function canReportIncident(actor: Actor): boolean {
  return actor.positions.some((p) => p === 'officer' || p === 'office_head' || p === 'section');
}

/** Office staff and the section keep subjects' absences (外出) and daily contacts. */
export function keepsSubjectRecords(actor: Actor): boolean {
  return actor.positions.some((p) => p === 'officer' || p === 'office_head' || p === 'section');
}

/** Subjects are looked up by those who keep them, and by the leaders. */
export function canLookUpSubjects(actor: Actor): boolean {
  return keepsSubjectRecords(actor) || isLeader(actor);
}

/**
 * After-incident papers (written report, public release) are read by whoever sees the office, and by the
 * upper-level liaison and the functional department's reviewer, who sign off or review them.
 */
export function canReadIncidentPapers(actor: Actor, officeUnitId: string): boolean {
  return canSeeOffice(actor, officeUnitId) || actor.positions.some((p) => p === 'upper_liaison' || p === 'info_reviewer');
}
