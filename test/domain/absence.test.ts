/** The absence as a process and the subject's status, as pure rules: levels, dates, phases, the overdue chain. */
import { describe, expect, it } from 'vitest';
import {
  absencePhase,
  approverLevelFor,
  checkExtension,
  checkRequestDates,
  decideOverdue,
  mayDecideAbsence,
  overdueSchedule,
  stayDays,
  type OverdueFacts,
} from '../../src/domain/absence.js';
import {
  atLocalTime,
  DEFAULT_POLICY,
  resolvePolicy,
  scalePolicy,
  statusFollowingAbsence,
  statusOnAbsconding,
  statusOnFound,
  subjectPiiModeFor,
  type Actor,
} from '../../src/domain/index.js';

const TZ = 'Asia/Shanghai';
const settings = DEFAULT_POLICY.absence;
const actor = (positions: Actor['positions'], unitId = 'office-a', acting?: Actor['acting']): Actor => ({
  staffId: 's',
  unitId,
  unitKind: unitId.startsWith('office') ? 'office' : 'section',
  positions,
  ...(acting ? { acting } : {}),
});

describe('who approves, by length (the bureau’s own settings)', () => {
  it('counts both ends of a stay', () => {
    expect(stayDays('2026-12-01', '2026-12-01')).toBe(1);
    expect(stayDays('2026-12-01', '2026-12-07')).toBe(7);
    expect(stayDays('2026-12-30', '2027-01-02')).toBe(4);
  });

  it.each([
    [1, 'office_head'],
    [7, 'office_head'],
    [8, 'section'],
    [30, 'section'],
  ] as const)('%d days: %s by default', (days, level) => {
    expect(approverLevelFor(days, settings)).toBe(level);
  });

  it('follows the bureau’s setting', () => {
    const own = resolvePolicy({ absence: { officeHeadUpToDays: 3 } }).absence;
    expect(approverLevelFor(3, own)).toBe('office_head');
    expect(approverLevelFor(4, own)).toBe('section');
    expect(approverLevelFor(1, resolvePolicy({ absence: { officeHeadUpToDays: 0 } }).absence)).toBe('section');
  });

  it('the office head of the subject’s office decides their level, an acting one too; the section its own', () => {
    expect(mayDecideAbsence(actor(['office_head']), 'office_head', 'office-a', true)).toBe(true);
    expect(mayDecideAbsence(actor(['office_head'], 'office-a', ['office_head']), 'office_head', 'office-a', true)).toBe(true);
    expect(mayDecideAbsence(actor(['office_head'], 'office-b'), 'office_head', 'office-a', true)).toBe(false);
    expect(mayDecideAbsence(actor(['officer']), 'office_head', 'office-a', true)).toBe(false);
    expect(mayDecideAbsence(actor(['section'], 'section'), 'office_head', 'office-a', true)).toBe(false);
    expect(mayDecideAbsence(actor(['section'], 'section'), 'section', 'office-a', true)).toBe(true);
    expect(mayDecideAbsence(actor(['office_head']), 'section', 'office-a', true)).toBe(false);
    expect(mayDecideAbsence(actor(['deputy_director'], 'bureau'), 'section', 'office-a', true)).toBe(false);
  });

  it('the section decides the office head’s level when the office has no office head who can act', () => {
    expect(mayDecideAbsence(actor(['section'], 'section'), 'office_head', 'office-a', false)).toBe(true);
  });
});

describe('the dates of a request and of an extension', () => {
  it('refuses a stay that ends before it starts, is over, or is longer than the bureau allows', () => {
    expect(checkRequestDates('2026-12-03', '2026-12-01', '2026-12-01', settings)).toBe('ends_before_start');
    expect(checkRequestDates('2026-11-20', '2026-11-30', '2026-12-01', settings)).toBe('ended_already');
    expect(checkRequestDates('2026-12-01', '2027-03-02', '2026-12-01', settings)).toBeNull(); // 92 days
    expect(checkRequestDates('2026-12-01', '2027-03-03', '2026-12-01', settings)).toBe('too_long');
    expect(checkRequestDates('2026-12-01', '2026-12-10', '2026-12-01', resolvePolicy({ absence: { maxDays: 9 } }).absence)).toBe('too_long');
    expect(checkRequestDates('2026-11-28', '2026-12-02', '2026-12-01', settings)).toBeNull();
  });

  it('an extension starts the day after, ends later, and counts the whole stay against the longest', () => {
    const stay = { startsOn: '2026-12-01', endsOn: '2026-12-05', returnedAt: null, cancelledAt: null };
    const own = resolvePolicy({ absence: { maxDays: 10 } }).absence;
    expect(checkExtension(stay, '2026-12-10', '2026-12-04', own, 5)).toBeNull();
    expect(checkExtension(stay, '2026-12-11', '2026-12-04', own, 5)).toBe('too_long');
    expect(checkExtension(stay, '2026-12-05', '2026-12-04', own, 5)).toBe('not_later');
    expect(checkExtension({ ...stay, returnedAt: new Date(0) }, '2026-12-08', '2026-12-04', own, 5)).toBe('not_extendable');
    expect(checkExtension({ ...stay, cancelledAt: new Date(0) }, '2026-12-08', '2026-12-04', own, 5)).toBe('not_extendable');
  });
});

describe('the phase of a stay on a day', () => {
  const stay = { startsOn: '2026-12-01', endsOn: '2026-12-03', returnedAt: null, cancelledAt: null, tracked: true };
  it.each([
    ['2026-11-30', 'upcoming'],
    ['2026-12-01', 'away'],
    ['2026-12-03', 'away'],
    ['2026-12-04', 'overdue'],
  ] as const)('%s: %s', (today, phase) => {
    expect(absencePhase(stay, today)).toBe(phase);
  });

  it('returned or cancelled whatever the day; one registered before the process simply ends', () => {
    expect(absencePhase({ ...stay, returnedAt: new Date(0) }, '2026-12-02')).toBe('returned');
    expect(absencePhase({ ...stay, cancelledAt: new Date(0) }, '2026-12-02')).toBe('cancelled');
    expect(absencePhase({ ...stay, tracked: false }, '2026-12-04')).toBe('ended');
  });
});

describe('逾期未归: the chain from the end date', () => {
  it('by default: 12:00 and 18:00 the day after the end date, 09:00 the day after that', () => {
    const [alert, offer, section] = overdueSchedule('2026-12-03', settings, TZ);
    expect(alert).toEqual(atLocalTime('2026-12-04', '12:00', TZ));
    expect(offer).toEqual(atLocalTime('2026-12-04', '18:00', TZ));
    expect(section).toEqual(atLocalTime('2026-12-05', '09:00', TZ));
  });

  it('follows the bureau’s periods', () => {
    const own = resolvePolicy({ absence: { overdueAlertSeconds: 3600, overdueOfferSeconds: 7200, overdueSectionSeconds: 60 } }).absence;
    const [alert, offer, section] = overdueSchedule('2026-12-03', own, TZ);
    expect(alert).toEqual(atLocalTime('2026-12-04', '01:00', TZ));
    expect(offer).toEqual(atLocalTime('2026-12-04', '03:00', TZ));
    expect(section).toEqual(atLocalTime('2026-12-04', '03:01', TZ));
  });

  const due: OverdueFacts = { found: true, returned: false, cancelled: false, extended: false, subjectStatus: 'active', abscondingOpen: false };
  it.each([
    [0, due, { notice: 'absence_overdue', to: 'officer_and_head' }],
    [1, due, { notice: 'absconding_offer', to: 'officer_and_head' }],
    [2, due, { notice: 'absence_overdue_section', to: 'section' }],
    [1, { ...due, returned: true }, { skip: 'returned' }],
    [0, { ...due, cancelled: true }, { skip: 'absence cancelled' }],
    [2, { ...due, extended: true }, { skip: 'extended' }],
    [1, { ...due, subjectStatus: 'terminated' }, { skip: 'supervision ended' }],
    [1, { ...due, subjectStatus: 'absconded' }, { skip: 'absconding reported' }],
    [2, { ...due, abscondingOpen: true }, { skip: 'absconding reported' }],
    [0, { ...due, found: false }, { skip: 'absence not found' }],
  ] as const)('level %d with %j', (level, facts, decision) => {
    expect(decideOverdue(level, facts)).toEqual(decision);
  });
});

describe('the subject’s status follows events', () => {
  it('away only while an absence has them away today; absconded and terminated stay as they are', () => {
    expect(statusFollowingAbsence('active', true)).toBe('away');
    expect(statusFollowingAbsence('away', false)).toBe('active');
    expect(statusFollowingAbsence('away', true)).toBe('away');
    expect(statusFollowingAbsence('absconded', true)).toBe('absconded');
    expect(statusFollowingAbsence('terminated', false)).toBe('terminated');
  });

  it('脱管 remembers the status before; found goes back to it as the absences say today', () => {
    expect(statusOnAbsconding('away')).toEqual({ status: 'absconded', before: 'away' });
    expect(statusOnAbsconding('absconded')).toBeNull();
    expect(statusOnAbsconding('terminated')).toBeNull();
    expect(statusOnFound('absconded', 'away', true)).toBe('away');
    // The absence ended while they were missing.
    expect(statusOnFound('absconded', 'away', false)).toBe('active');
    expect(statusOnFound('absconded', null, false)).toBe('active');
    expect(statusOnFound('active', 'away', true)).toBeNull();
  });
});

describe('full names for the responsible officer (a bureau setting, default masked)', () => {
  const own = { responsibleStaffId: 's' };
  const other = { responsibleStaffId: 'x' };
  const on = resolvePolicy({ subjectNames: { responsibleOfficerSeesFullName: true } });
  it('masked by default', () => {
    expect(subjectPiiModeFor('masked', DEFAULT_POLICY, { staffId: 's' }, own, 'private')).toBe('masked');
  });
  it('when allowed: full for their own subjects in a private chat only; codes stay codes', () => {
    expect(subjectPiiModeFor('masked', on, { staffId: 's' }, own, 'private')).toBe('full');
    expect(subjectPiiModeFor('masked', on, { staffId: 's' }, own, 'group')).toBe('masked');
    expect(subjectPiiModeFor('masked', on, { staffId: 's' }, other, 'private')).toBe('masked');
    expect(subjectPiiModeFor('codes', on, { staffId: 's' }, own, 'private')).toBe('codes');
  });
});

describe('the bureau’s counts are not durations', () => {
  it('a time scale leaves days and thresholds alone and scales the overdue periods', () => {
    const scaled = scalePolicy(DEFAULT_POLICY, 1 / 60);
    expect(scaled.absence).toEqual({ officeHeadUpToDays: 7, maxDays: 92, overdueAlertSeconds: 720, overdueOfferSeconds: 360, overdueSectionSeconds: 900 });
    expect(scaled.dailyContact.failuresBeforeAbsconding).toBe(2);
    expect(scaled.dailyContact.deputyDirectorAfterDays).toBe(3);
    expect(scaled.subjectNames.responsibleOfficerSeesFullName).toBe(false);
  });
});
