import type { PositionKind, UnitKind } from '../domain/index.js';

/** Which kind of unit a seat of each kind sits in; office heads are found by their office unit. */
export const POSITION_UNIT_KINDS: Readonly<Record<PositionKind, readonly UnitKind[]>> = {
  officer: ['office'],
  office_head: ['office'],
  section: ['section'],
  deputy_director: ['bureau'],
  director: ['bureau'],
  upper_liaison: ['upper'],
  info_reviewer: ['department', 'bureau', 'section'],
};

/** Why a seat of this kind cannot sit in a unit of that kind, or undefined when it can. */
export function seatMismatch(position: PositionKind, unitKind: string): string | undefined {
  const allowed = POSITION_UNIT_KINDS[position];
  return (allowed as readonly string[]).includes(unitKind) ? undefined : `a ${position} seat belongs in a unit of kind ${allowed.join(' or ')}, not ${unitKind}`;
}
