/**
 * The command loop as rules (三): who may activate the plan and at which levels, the HQ it forms by
 * default, who an instruction and a proposal go to, who may receipt them, when an unreceipted one
 * escalates, and the duty a group member's card shows. Pure: no database, no clock.
 */
import { describe, expect, it } from 'vitest';
import {
  canActivatePlan,
  canIssueOrders,
  canPropose,
  canReceipt,
  commandSettingsOf,
  decideReceiptTimer,
  DEFAULT_POLICY,
  groupsOf,
  hqDefaults,
  isResponseLevel,
  orderAddressees,
  proposalAddressees,
  receiptTimer,
  resolvePolicy,
  timerKindsClosedBy,
  type Actor,
  type PositionKind,
  type PositionSeat,
} from '../../src/domain/index.js';

const actor = (staffId: string, ...positions: PositionKind[]): Actor => ({ staffId, unitId: 'u', unitKind: 'bureau', positions });
const seat = (kind: PositionKind, holderStaffId: string | null, actingStaffId: string | null = null): PositionSeat => ({ kind, unitId: 'bureau', holderStaffId, actingStaffId });

describe('activating the plan', () => {
  it('is for the section and the leaders, not an office', () => {
    expect(canActivatePlan(actor('s', 'section'))).toBe(true);
    expect(canActivatePlan(actor('d', 'director'))).toBe(true);
    expect(canActivatePlan(actor('dd', 'deputy_director'))).toBe(true);
    expect(canActivatePlan(actor('h', 'office_head'))).toBe(false);
    expect(canActivatePlan(actor('o', 'officer'))).toBe(false);
    expect(canActivatePlan(actor('u', 'upper_liaison'))).toBe(false);
  });

  it('at a level of the bureau’s list: Ⅰ–Ⅲ by default (the plan names none), its own when it sets one', () => {
    const defaults = commandSettingsOf(DEFAULT_POLICY);
    expect(defaults).toEqual({ responseLevels: ['I', 'II', 'III'], receiptSeconds: 900 });
    expect(isResponseLevel('II', defaults)).toBe(true);
    expect(isResponseLevel('IV', defaults)).toBe(false);
    const own = commandSettingsOf(resolvePolicy({ command: { responseLevels: ['red', 'orange'], receiptSeconds: 600 } }));
    expect(isResponseLevel('red', own)).toBe(true);
    expect(isResponseLevel('I', own)).toBe(false);
    expect(own.receiptSeconds).toBe(600);
    // A snapshot taken before the setting existed has none: the defaults apply.
    expect(commandSettingsOf({})).toEqual(defaults);
    expect(() => resolvePolicy({ command: { responseLevels: ['Ⅰ级'] } })).toThrow();
  });

  it('forms HQ: 总指挥 the director, 副总指挥 the deputy director (holder, else acting holder)', () => {
    expect(hqDefaults([seat('section', 's'), seat('director', 'd'), seat('deputy_director', 'dd')])).toEqual({ commander: 'd', deputy_commander: 'dd' });
    expect(hqDefaults([seat('director', null, 'acting-d')])).toEqual({ commander: 'acting-d', deputy_commander: null });
    expect(hqDefaults([])).toEqual({ commander: null, deputy_commander: null });
  });
});

describe('instructions down, proposals up', () => {
  const roles = [
    { role: 'commander', staffId: 'd' },
    { role: 'deputy_commander', staffId: 'dd' },
    { role: 'onsite_command', staffId: 'o1' },
    { role: 'onsite_command', staffId: 'o2' },
    { role: 'group_medical', staffId: 'o2' },
    { role: 'group_info', staffId: 'o2' },
  ];

  it('批示 and 指令 come from the leaders and HQ’s posts; 处置建议 from the on-site command', () => {
    expect(canIssueOrders(actor('dd', 'deputy_director'), [])).toBe(true);
    expect(canIssueOrders(actor('s', 'section'), [])).toBe(false);
    expect(canIssueOrders(actor('s', 'section'), [{ role: 'commander', staffId: 's' }])).toBe(true);
    expect(canIssueOrders(actor('o1', 'officer'), roles)).toBe(false);
    expect(canPropose(actor('o1', 'officer'), roles)).toBe(true);
    expect(canPropose(actor('d', 'director'), roles)).toBe(false);
  });

  it('an instruction goes to the on-site command and the section, never back to its sender', () => {
    expect(orderAddressees(roles, ['s1', 's2'], 'd')).toEqual(['o1', 'o2', 's1', 's2']);
    expect(orderAddressees([], ['s1'], 'd')).toEqual(['s1']);
    expect(orderAddressees([{ role: 'onsite_command', staffId: 's1' }], ['s1'], 's1')).toEqual([]);
  });

  it('a proposal goes to 总指挥 and 副总指挥; before anyone holds a post, to the leaders', () => {
    expect(proposalAddressees(roles, ['d', 'dd', 'x'], 'o1')).toEqual(['d', 'dd']);
    expect(proposalAddressees([{ role: 'onsite_command', staffId: 'o1' }], ['dd', 'd'], 'o1')).toEqual(['dd', 'd']);
  });

  it('is receipted by an addressee or by the body it went to as it is now, never by its sender', () => {
    const order = { kind: 'order' as const, fromStaffId: 'd', addressees: ['o1', 's1'] };
    expect(canReceipt(actor('o1', 'officer'), order, roles)).toBe(true);
    expect(canReceipt(actor('s9', 'section'), order, roles)).toBe(true); // a section holder added since
    expect(canReceipt(actor('o2', 'officer'), order, roles)).toBe(true); // on the on-site command now
    expect(canReceipt(actor('x', 'officer'), order, roles)).toBe(false);
    expect(canReceipt(actor('d', 'director'), order, roles)).toBe(false);
    const proposal = { kind: 'proposal' as const, fromStaffId: 'o1', addressees: ['d', 'dd'] };
    expect(canReceipt(actor('dd', 'deputy_director'), proposal, roles)).toBe(true);
    expect(canReceipt(actor('s1', 'section'), proposal, roles)).toBe(false);
    expect(canReceipt(actor('o1', 'officer'), proposal, roles)).toBe(false);
  });

  it('an unreceipted one escalates after the interval to its sender and the section; a receipt or the close ends it', () => {
    const sent = new Date('2026-11-29T02:00:00Z');
    const timer = receiptTimer('inc-1', 'msg-1', sent, commandSettingsOf(DEFAULT_POLICY));
    expect(timer).toMatchObject({ kind: 'command_receipt', level: 1, cycle: 'msg-1', incidentId: 'inc-1', target: { kind: 'position', position: 'section', scope: 'bureau' } });
    expect(timer.dueAt).toEqual(new Date('2026-11-29T02:15:00Z'));
    expect(timer.dedupeKey).not.toContain(':');
    expect(decideReceiptTimer({ open: true, message: { fromStaffId: 'd', receipted: false }, section: ['s1', 'd'] })).toEqual({ recipients: ['d', 's1'] });
    expect(decideReceiptTimer({ open: true, message: { fromStaffId: 'd', receipted: true }, section: ['s1'] })).toEqual({ skip: 'receipted' });
    expect(decideReceiptTimer({ open: false, message: { fromStaffId: 'd', receipted: false }, section: ['s1'] })).toEqual({ skip: 'incident closed' });
    expect(decideReceiptTimer({ open: true, message: undefined, section: ['s1'] })).toEqual({ skip: 'message not found' });
    expect(timerKindsClosedBy('incident_closed')).toContain('command_receipt');
  });

  it('a member’s card shows the duties of the groups they are in, in the plan’s order', () => {
    expect(groupsOf('o2', roles)).toEqual(['group_medical', 'group_info']);
    expect(groupsOf('o1', roles)).toEqual([]);
  });
});
