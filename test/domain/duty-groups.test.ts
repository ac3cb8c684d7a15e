/** Which duty groups mirror a notice, who may bind which group, and a group copy's one key per notice. */
import { describe, expect, it } from 'vitest';
import { canBindGroup, groupDedupeKey, groupMayShow, groupsMirroring, type DutyGroupRef } from '../../src/domain/duty-groups.js';
import { piiModeForChat, subjectLabel, type Actor, type PositionSeat } from '../../src/domain/index.js';

const seats: PositionSeat[] = [
  { kind: 'section', unitId: 'sec', holderStaffId: 'sec1', actingStaffId: null },
  { kind: 'section', unitId: 'sec', holderStaffId: 'sec2', actingStaffId: 'stand-in' },
  { kind: 'office_head', unitId: 'A', holderStaffId: 'headA', actingStaffId: null },
  { kind: 'office_head', unitId: 'B', holderStaffId: 'headB', actingStaffId: null },
  { kind: 'officer', unitId: 'A', holderStaffId: 'offA', actingStaffId: null },
  { kind: 'director', unitId: 'bureau', holderStaffId: 'dir', actingStaffId: null },
];
const groups: DutyGroupRef[] = [
  { id: 'gs', purpose: 'section', unitId: 'sec', incidentId: null },
  { id: 'ga', purpose: 'office', unitId: 'A', incidentId: null },
  { id: 'gb', purpose: 'office', unitId: 'B', incidentId: null },
  { id: 'gh', purpose: 'hq', unitId: 'sec', incidentId: 'i1' },
];
const ctx = { seats, hqPostHolders: (id: string) => (id === 'i1' ? ['commander1'] : []) };
const incident = { id: 'i1', officeUnitId: 'A' };

describe('groupsMirroring', () => {
  it.each([
    // The section is HQ's office too: its notices of an HQ group's incident go there as well.
    ['sec1', ['gs', 'gh']],
    ['stand-in', ['gs', 'gh']],
    ['headA', ['ga']],
    ['headB', []],
    ['offA', []],
    ['dir', ['gh']],
    ['commander1', ['gh']],
  ])('a notice to %s goes to %j', (recipient, expected) => {
    expect(groupsMirroring(recipient, incident, groups, ctx).map((g) => g.id)).toEqual(expected);
  });

  it('an HQ group mirrors only its own incident', () => {
    expect(groupsMirroring('dir', { id: 'i2', officeUnitId: 'A' }, groups, ctx)).toEqual([]);
  });
});

describe('binding', () => {
  const actor = (positions: Actor['positions'], unitId = 'sec'): Actor => ({ staffId: 'x', unitId, unitKind: 'section', positions });
  it.each([
    [actor(['section']), 'section', {}, true],
    [actor(['officer'], 'A'), 'section', {}, false],
    [actor(['office_head'], 'A'), 'office', { unitId: 'A' }, true],
    [actor(['office_head'], 'A'), 'office', { unitId: 'B' }, false],
    [actor(['section']), 'hq', { activated: false }, false],
    [actor(['director'], 'bureau'), 'hq', { activated: true }, true],
  ] as const)('%j binds %s (%j): %s', (who, purpose, target, expected) => {
    expect(canBindGroup(who, purpose, { unitId: 'sec', ...target })).toBe(expected);
  });
});

describe('group copies', () => {
  it('have one key per notice and group, whichever member they mirror', () => {
    expect(groupDedupeKey('incident_reported-i1-new-sec1', 'sec1', 'gs')).toBe(groupDedupeKey('incident_reported-i1-new-sec2', 'sec2', 'gs'));
    expect(groupDedupeKey('incident_reported-i1-new-sec1', 'sec1', 'gs')).not.toBe(groupDedupeKey('incident_reported-i1-new-sec1', 'sec1', 'ga'));
  });

  it('show cards and events, not papers to sign', () => {
    expect(groupMayShow('incident_reported')).toBe(true);
    expect(groupMayShow('card_redraw')).toBe(true);
    expect(groupMayShow('report_review_requested')).toBe(false);
    // "received your instruction" is its sender's: a group sees the receipt on its card.
    expect(groupMayShow('command_issued')).toBe(true);
    expect(groupMayShow('command_receipted')).toBe(false);
  });

  it('are always masked', () => {
    const s = { code: 'SQ-A-001', name: '张三' };
    expect(subjectLabel(s, piiModeForChat('full', 'group'), 'private')).toBe('张*（SQ-A-001）');
    expect(piiModeForChat('codes', 'group')).toBe('codes');
    expect(piiModeForChat('full', 'private')).toBe('full');
  });
});
