/** Daily contact counted in days, not logs: the run of missed days and what it calls for, as a table. */
import { describe, expect, it } from 'vitest';
import { contactDays, decideMissedRun, epidemicWatchOwes, isEpidemicWatch, missedDaysInARow, remindsAtOnce, type ContactDay } from '../../src/domain/daily-contact.js';
import { atLocalTime, DEFAULT_POLICY } from '../../src/domain/index.js';

const TZ = 'Asia/Shanghai';
const day = (date: string, over: Partial<ContactDay> = {}): ContactDay => ({ date, owed: true, reached: false, failed: false, checked: true, ...over });

describe('the run of days without a reached contact', () => {
  it.each<[string, ContactDay[], number, string | null]>([
    ['two checked days with nothing', [day('12-02'), day('12-01')], 2, '12-01'],
    ['today not yet checked and nothing tried: skipped', [day('12-03', { checked: false }), day('12-02'), day('12-01')], 2, '12-01'],
    ['today failed before its check: it counts', [day('12-03', { checked: false, failed: true }), day('12-02')], 2, '12-02'],
    ['a reached day ends the run', [day('12-03'), day('12-02', { reached: true }), day('12-01')], 1, '12-03'],
    ['today reached: no run', [day('12-03', { reached: true, checked: false }), day('12-02')], 0, null],
    ['a day nothing was owed ends the run', [day('12-03'), day('12-02', { owed: false }), day('12-01')], 1, '12-03'],
    ['not owed today: nothing counts', [day('12-03', { owed: false }), day('12-02')], 0, null],
    ['a past day not checked (cannot happen) ends it', [day('12-03'), day('12-02', { checked: false })], 1, '12-03'],
  ])('%s', (_, days, n, since) => {
    expect(missedDaysInARow(days)).toEqual({ days: n, since });
  });

  it('two failed logs in one hour are one day; "情况异常" reached the subject', () => {
    const days = contactDays({
      today: '2026-12-02',
      lookback: 3,
      owed: (d) => d >= '2026-12-01',
      logs: [
        { localDate: '2026-12-02', result: 'not_reached' },
        { localDate: '2026-12-02', result: 'not_reached' },
        { localDate: '2026-12-01', result: 'abnormal' },
      ],
      checked: () => false,
    });
    expect(days.map((d) => [d.date, d.owed, d.reached, d.failed])).toEqual([
      ['2026-12-02', true, false, true],
      ['2026-12-01', true, true, false],
      ['2026-11-30', false, false, false],
      ['2026-11-29', false, false, false],
    ]);
    expect(missedDaysInARow(days)).toEqual({ days: 1, since: '2026-12-02' });
  });
});

describe('what a run calls for (the bureau’s thresholds: 2 days offer, 3 days the deputy director)', () => {
  const s = DEFAULT_POLICY.dailyContact;
  it.each([
    [1, false, false, false],
    [2, false, true, false],
    [3, false, true, true],
    [3, true, false, true],
  ])('%d days, absconding open %s: offer %s, deputy %s', (days, open, offer, deputy) => {
    expect(decideMissedRun({ days, since: '2026-12-01' }, s, { abscondingOpen: open })).toEqual({ offerAbsconding: offer, tellDeputyDirector: deputy });
  });
});

describe('epidemic 情形三 puts its subject on daily contact while open', () => {
  it('only scenario 三, never a drill', () => {
    expect(isEpidemicWatch({ type: 'epidemic', scenario: 's3', isDrill: false })).toBe(true);
    expect(isEpidemicWatch({ type: 'epidemic', scenario: 's2', isDrill: false })).toBe(false);
    expect(isEpidemicWatch({ type: 'epidemic', scenario: 's3', isDrill: true })).toBe(false);
    expect(isEpidemicWatch({ type: 'absconding', scenario: null, isDrill: false })).toBe(false);
  });

  it('owed on a day when open at its check', () => {
    const check = atLocalTime('2026-12-02', '18:00', TZ);
    const reported = atLocalTime('2026-12-01', '10:00', TZ);
    expect(epidemicWatchOwes({ reportedAt: reported, closedAt: null }, check)).toBe(true);
    expect(epidemicWatchOwes({ reportedAt: reported, closedAt: atLocalTime('2026-12-02', '12:00', TZ) }, check)).toBe(false);
    expect(epidemicWatchOwes({ reportedAt: reported, closedAt: atLocalTime('2026-12-02', '19:00', TZ) }, check)).toBe(true);
    expect(epidemicWatchOwes({ reportedAt: atLocalTime('2026-12-02', '19:00', TZ), closedAt: null }, check)).toBe(false);
  });
});

it('a duty beginning after the day’s reminder time is reminded at once', () => {
  expect(remindsAtOnce(atLocalTime('2026-12-01', '08:59', TZ), '2026-12-01', DEFAULT_POLICY.dailyContact, TZ)).toBe(false);
  expect(remindsAtOnce(atLocalTime('2026-12-01', '09:00', TZ), '2026-12-01', DEFAULT_POLICY.dailyContact, TZ)).toBe(true);
});
