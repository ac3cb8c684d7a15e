/**
 * Duty groups (issue 15): group chats a unit binds, so that the people who coordinate there see what
 * the unit's holders see. The section's duty group gets what the section gets, for every incident; an
 * office's group what the office head gets, for that office's incidents; an HQ group what HQ (the
 * leaders, the holders of HQ posts, and HQ's office, the section) gets, for its one activated incident.
 * Pure functions.
 */
import { isLeader, isSection, type Actor, type PositionKind, type PositionSeat } from './roles.js';
import { noticeShape } from './notifications.js';
import { HQ_POSTS } from './command-post.js';

export const DUTY_GROUP_PURPOSES = ['section', 'office', 'hq'] as const;
export type DutyGroupPurpose = (typeof DUTY_GROUP_PURPOSES)[number];

export function isDutyGroupPurpose(value: string): value is DutyGroupPurpose {
  return (DUTY_GROUP_PURPOSES as readonly string[]).includes(value);
}

/** A bound group, as the rules need it. */
export interface DutyGroupRef {
  id: string;
  purpose: DutyGroupPurpose;
  unitId: string;
  /** The incident of an HQ group; null for the others. */
  incidentId: string | null;
}

/** Seconds a code for /bindgroup stays valid: long enough to create the group and add the bot. */
export const GROUP_CODE_TTL_SECONDS = 24 * 3600;

/** What a /bindgroup code looks like; anything else is not worth a database look-up. */
export const GROUP_CODE_PATTERN = /^G[A-Z0-9]{8,16}$/;

/**
 * Who may bind a group for what: the section its duty group and the HQ group of an activated incident
 * (a leader may bind that too); an office's head their office's group (the section may, for any office).
 */
export function canBindGroup(actor: Actor, purpose: DutyGroupPurpose, target: { unitId: string; activated?: boolean }): boolean {
  switch (purpose) {
    case 'section':
      return isSection(actor);
    case 'office':
      return isSection(actor) || (actor.positions.includes('office_head') && actor.unitId === target.unitId);
    case 'hq':
      return target.activated === true && (isSection(actor) || isLeader(actor));
  }
}

/**
 * Who may unbind a bound group: whoever may bind that kind of group for its unit. An HQ group may be
 * unbound also once its incident is no longer activated (closed), by the section or a leader.
 */
export function canUnbindGroup(actor: Actor, group: Pick<DutyGroupRef, 'purpose' | 'unitId'>): boolean {
  return group.purpose === 'hq' ? isSection(actor) || isLeader(actor) : canBindGroup(actor, group.purpose, { unitId: group.unitId });
}

/** The purpose a bare /groupcode means for this person: the section's group, else their office's. */
export function defaultGroupPurpose(actor: Actor): DutyGroupPurpose | undefined {
  if (isSection(actor)) return 'section';
  if (actor.positions.includes('office_head')) return 'office';
  return undefined;
}

/** Holders and acting holders of a kind of seat (in a unit, when given). */
function seatPeople(seats: readonly PositionSeat[], kinds: readonly PositionKind[], unitId?: string): Set<string> {
  const out = new Set<string>();
  for (const s of seats) {
    if (!kinds.includes(s.kind) || (unitId !== undefined && s.unitId !== unitId)) continue;
    if (s.holderStaffId) out.add(s.holderStaffId);
    if (s.actingStaffId) out.add(s.actingStaffId);
  }
  return out;
}

/** What decides whom a group mirrors: the seats, and who holds an HQ post on each incident. */
export interface MirrorContext {
  seats: readonly PositionSeat[];
  /** Holders of an HQ post (总指挥, 副总指挥) on the incident. */
  hqPostHolders(incidentId: string): readonly string[];
}

/**
 * Notices that speak to their one recipient ("received your instruction"): a group gets the card redrawn
 * instead, which shows the same (who received it).
 */
const PERSONAL_KINDS: ReadonlySet<string> = new Set(['timer_overdue_alert', 'command_receipted']);

/** Whether a notice of this kind is one a group is shown: a card or an event; papers (a report to sign) stay private. */
export function groupMayShow(kind: string): boolean {
  return !PERSONAL_KINDS.has(kind) && noticeShape(kind) !== 'paper';
}

/** The groups that get a copy of a notice to this person about this incident. */
export function groupsMirroring(
  recipientStaffId: string,
  incident: { id: string; officeUnitId: string },
  groups: readonly DutyGroupRef[],
  ctx: MirrorContext,
): DutyGroupRef[] {
  const inSection = () => seatPeople(ctx.seats, ['section']).has(recipientStaffId);
  const headOfOffice = () => seatPeople(ctx.seats, ['office_head'], incident.officeUnitId).has(recipientStaffId);
  const inHq = () => seatPeople(ctx.seats, ['director', 'deputy_director']).has(recipientStaffId) || ctx.hqPostHolders(incident.id).includes(recipientStaffId);
  return groups.filter((g) => {
    switch (g.purpose) {
      case 'section':
        return inSection();
      case 'office':
        return g.unitId === incident.officeUnitId && headOfOffice();
      case 'hq':
        // HQ's office is the section (三(二)): an instruction goes to it and to the on-site command, not to HQ itself.
        return g.incidentId === incident.id && (inHq() || inSection());
    }
  });
}

/** HQ posts as role names, for the repository that reads who holds them. */
export const HQ_POST_ROLES: readonly string[] = HQ_POSTS;

/**
 * A group's copy of a person's notice has one key per group: the person's part of the key is the
 * group's, so the copies of one notice to two section members are one row for the group.
 */
export function groupDedupeKey(personKey: string, recipientStaffId: string, groupId: string): string {
  const suffix = `-${recipientStaffId}`;
  const base = personKey.endsWith(suffix) ? personKey.slice(0, -suffix.length) : personKey;
  return `${base}-group-${groupId}`;
}
