/** Issue 17: the chain of stand-ins is walked as a set, and ends at someone who can receive, or nobody. */
import { describe, expect, it } from 'vitest';
import { standInsFor, walkStandIns, type OrgSnapshot, type PositionSeat, type StaffAvailability, type Unreceivable } from '../../src/domain/index.js';

const seat = (kind: PositionSeat['kind'], unitId: string, holder: string | null, acting: string | null = null): PositionSeat => ({ kind, unitId, holderStaffId: holder, actingStaffId: acting });

/** The example organisation's shape (examples/org.yaml): the bureau, a two-seat section, one office. */
const SEATS: PositionSeat[] = [
  seat('director', 'bureau', 'gs-001', 'gs-002'),
  seat('deputy_director', 'bureau', 'gs-002'),
  seat('section', 'section', 'gs-011', 'gs-012'),
  seat('section', 'section', 'gs-012', 'gs-011'),
  seat('upper_liaison', 'upper', 'hz-001'),
  seat('office_head', 'xiaohe', 'gs-301', 'gs-302'),
  seat('officer', 'xiaohe', 'gs-302'),
  seat('officer', 'xiaohe', 'gs-303'),
];
const UNIT: Record<string, string> = { 'gs-001': 'bureau', 'gs-002': 'bureau', 'gs-011': 'section', 'gs-012': 'section', 'hz-001': 'upper', 'gs-301': 'xiaohe', 'gs-302': 'xiaohe', 'gs-303': 'xiaohe' };

function world(opts: { bound?: string[]; away?: string[]; blocked?: string[] } = {}) {
  const people = Object.keys(UNIT);
  const staff = new Map<string, StaffAvailability>(people.map((id) => [id, { id, active: true, reachable: !opts.blocked?.includes(id), away: !!opts.away?.includes(id) }]));
  const org: OrgSnapshot = { seats: SEATS, staff };
  const cannotReceive = (id: string): Unreceivable | null => (!staff.get(id)!.reachable ? 'blocked' : opts.bound?.includes(id) ? null : 'no_chat');
  const walk = (from: string, failed: string[] = [], covered: string[] = []) =>
    walkStandIns(from, org, { failed: new Set(failed), covered: new Set(covered), unitOf: (id) => UNIT[id] ?? null, cannotReceive });
  return { org, walk };
}

describe('walking the stand-ins of someone who cannot receive a notice', () => {
  it('nobody bound: every person is visited once and the walk ends with nobody (no more gs-301 ⇄ gs-302)', () => {
    const { walk } = world();
    const w = walk('gs-301');
    expect(w.to).toEqual([]);
    const ids = w.passed.map((p) => p.staffId);
    expect(new Set(ids).size).toBe(ids.length);
    // The acting holder, the next level (the section), and up the line to the upper-level liaison.
    expect(ids).toEqual(['gs-302', 'gs-011', 'gs-012', 'gs-002', 'gs-001', 'hz-001']);
    expect(w.passed.every((p) => p.reason === 'no_chat')).toBe(true);
    // The officer's own chain ends the same way; the daily digest's director ⇄ deputy too.
    expect(walk('gs-302').to).toEqual([]);
    expect(walk('gs-001').passed.map((p) => p.staffId)).toEqual(['gs-002', 'hz-001', 'gs-011', 'gs-012']);
  });

  it('ends at the nearest person who can receive it, passing over those who cannot', () => {
    const { walk } = world({ bound: ['gs-012', 'gs-001'] });
    const w = walk('gs-302');
    expect(w.to).toEqual(['gs-012']);
    expect(w.passed).toEqual([
      { staffId: 'gs-301', reason: 'no_chat' },
      { staffId: 'gs-011', reason: 'no_chat' },
    ]);
  });

  it('a blocked holder is tried and reported, and their acting holder stands in', () => {
    const { walk } = world({ bound: ['gs-002'], blocked: ['gs-011'] });
    // The section chief's two seats: the duty officer (no chat) acts for them; past the section, the deputy.
    const w = walk('gs-012');
    expect(w.passed).toEqual([{ staffId: 'gs-011', reason: 'blocked' }]);
    expect(w.to).toEqual(['gs-002']);
  });

  it('what earlier reroutes of the notice found is not tried again, and a seat already covered is not sent up', () => {
    const { walk } = world({ bound: ['gs-303', 'gs-011', 'gs-012'] });
    // gs-302 was tried already; the head's seat goes to the section.
    expect(walk('gs-301', ['gs-302']).to).toEqual(['gs-011', 'gs-012']);
    // gs-011 already has it (covered): only gs-012 is added; nobody above is added for the covered seat.
    expect(walk('gs-301', ['gs-302'], ['gs-011']).to).toEqual(['gs-012']);
    expect(walk('gs-301', ['gs-302'], ['gs-011', 'gs-012']).to).toEqual([]);
  });

  it('away people are not stand-ins: their acting holder, or the next level, is', () => {
    const { walk } = world({ bound: ['gs-002', 'gs-011'], away: ['gs-002'] });
    expect(walk('gs-001').to).toEqual(['gs-011']);
    expect(walk('gs-001').passed.map((p) => p.staffId)).toEqual(['hz-001', 'gs-012']);
  });

  it('one step, as before: the acting holder of the seat, else the next level', () => {
    const { org } = world();
    expect(standInsFor('gs-301', 'xiaohe', org)).toEqual(['gs-302']);
    expect(standInsFor('gs-302', 'xiaohe', org)).toEqual(['gs-301']);
    expect(standInsFor('gs-302', 'xiaohe', org, { failed: new Set(['gs-301']) })).toEqual(['gs-011', 'gs-012']);
  });
});
