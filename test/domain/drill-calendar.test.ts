/**
 * The calendar's rules, pure: the drill reminder by calendar year (每年不少于一次), a scheduled drill's
 * day, and the reminder date of a sensitive period. Times are passed in; the zone is the bureau's.
 */
import { describe, expect, it } from 'vitest';
import {
  checkDrillDate,
  checkSensitivePeriod,
  decideScheduledDrill,
  officesDueForDrill,
  periodOn,
  periodReminderDate,
  periodReminderDue,
  scheduledDrillStartsAt,
} from '../../src/domain/drill-calendar.js';
import { DEFAULT_POLICY, resolvePolicy } from '../../src/domain/policy.js';

const TZ = 'Asia/Shanghai';
const A = 'office-a';
const B = 'office-b';
const policy = DEFAULT_POLICY;

describe('the drill reminder follows the calendar year', () => {
  it('an office that drilled in January 2026 is covered for all of 2026, and is reminded in the last quarter of 2027 if nothing is held or scheduled then', () => {
    const held = [{ officeUnitId: A, startedOn: '2026-01-15' }];
    // Under the old rule (11 months after the last drill) A would have been reminded from 2026-12-15.
    expect(officesDueForDrill([A], held, [], '2026-12-20', policy)).toEqual([]);
    expect(officesDueForDrill([A], held, [], '2026-10-01', policy)).toEqual([]);
    // 2027: nothing before the reminder month, however long ago January 2026 was.
    expect(officesDueForDrill([A], held, [], '2027-09-30', policy)).toEqual([]);
    expect(officesDueForDrill([A], held, [], '2027-10-01', policy)).toEqual([A]);
  });

  it('an office that last drilled in December 2025 is reminded from 1 October 2026 unless a drill is scheduled for the rest of 2026', () => {
    const held = [{ officeUnitId: A, startedOn: '2025-12-20' }];
    expect(officesDueForDrill([A], held, [], '2026-09-30', policy)).toEqual([]);
    expect(officesDueForDrill([A], held, [], '2026-10-01', policy)).toEqual([A]);
    // A drill scheduled for 2026-12-10 covers it until that day; once the day is past unstarted (missed), it does not.
    const scheduled = [{ officeUnitId: A, date: '2026-12-10' }];
    expect(officesDueForDrill([A], held, scheduled, '2026-11-15', policy)).toEqual([]);
    expect(officesDueForDrill([A], held, scheduled, '2026-12-10', policy)).toEqual([]);
    expect(officesDueForDrill([A], held, scheduled, '2026-12-11', policy)).toEqual([A]);
    // A drill scheduled for next year does not cover this one.
    expect(officesDueForDrill([A], held, [{ officeUnitId: A, date: '2027-01-05' }], '2026-11-15', policy)).toEqual([A]);
  });

  it('counts each office: a drill at one office does not cover another; an office never drilled is named from the reminder month', () => {
    const held = [{ officeUnitId: A, startedOn: '2026-11-01' }];
    expect(officesDueForDrill([A, B], held, [], '2026-11-10', policy)).toEqual([B]);
    expect(officesDueForDrill([A, B], [], [], '2026-03-01', policy)).toEqual([]);
    expect(officesDueForDrill([A, B], [], [], '2026-12-31', policy)).toEqual([A, B]);
  });

  it('the reminder month is the bureau’s setting', () => {
    const fromJanuary = resolvePolicy({ drills: { remindFromMonth: 1 } });
    expect(officesDueForDrill([A], [], [], '2026-01-02', fromJanuary)).toEqual([A]);
    const fromDecember = resolvePolicy({ drills: { remindFromMonth: 12 } });
    expect(officesDueForDrill([A], [], [], '2026-11-30', fromDecember)).toEqual([]);
  });
});

describe('a scheduled drill’s day', () => {
  const at = (iso: string) => new Date(iso);
  // 09:30 in Shanghai is 01:30 UTC.
  it('starts at the policy’s time on its date, in the bureau’s zone', () => {
    expect(scheduledDrillStartsAt('2026-12-10', policy, TZ).toISOString()).toBe('2026-12-10T01:30:00.000Z');
  });

  it('waits until then, starts on the day, starts late within the catch-up days, and is missed after', () => {
    const drill = { date: '2026-12-10', state: 'scheduled' as const };
    expect(decideScheduledDrill(drill, at('2026-12-09T08:00:00Z'), policy, TZ)).toMatchObject({ kind: 'wait' });
    expect(decideScheduledDrill(drill, at('2026-12-10T01:29:59Z'), policy, TZ)).toMatchObject({ kind: 'wait' });
    expect(decideScheduledDrill(drill, at('2026-12-10T01:30:00Z'), policy, TZ)).toEqual({ kind: 'start', late: false });
    expect(decideScheduledDrill(drill, at('2026-12-10T15:00:00Z'), policy, TZ)).toEqual({ kind: 'start', late: false }); // 23:00 local, still its day
    expect(decideScheduledDrill(drill, at('2026-12-13T02:00:00Z'), policy, TZ)).toEqual({ kind: 'start', late: true });
    expect(decideScheduledDrill(drill, at('2026-12-14T02:00:00Z'), policy, TZ)).toEqual({ kind: 'missed', daysLate: 4 });
    // A start begun is completed, however late; one done is left alone.
    expect(decideScheduledDrill({ ...drill, state: 'starting' }, at('2026-12-20T02:00:00Z'), policy, TZ)).toEqual({ kind: 'start', late: true });
    expect(decideScheduledDrill({ ...drill, state: 'started' }, at('2026-12-10T02:00:00Z'), policy, TZ)).toEqual({ kind: 'done' });
    expect(decideScheduledDrill({ ...drill, state: 'cancelled' }, at('2026-12-10T02:00:00Z'), policy, TZ)).toEqual({ kind: 'done' });
  });

  it('may be scheduled for a day to come, or today before its time, and at most a year ahead', () => {
    const now = at('2026-11-29T01:00:00Z'); // 09:00 local
    expect(checkDrillDate('2026-11-28', now, policy, TZ)).toEqual({ ok: false, reason: 'past' });
    expect(checkDrillDate('2026-11-29', now, policy, TZ)).toEqual({ ok: true });
    expect(checkDrillDate('2026-11-29', at('2026-11-29T01:30:00Z'), policy, TZ)).toEqual({ ok: false, reason: 'past' });
    expect(checkDrillDate('2026-12-10', now, policy, TZ)).toEqual({ ok: true });
    expect(checkDrillDate('2027-11-30', now, policy, TZ)).toEqual({ ok: true });
    expect(checkDrillDate('2027-12-01', now, policy, TZ)).toEqual({ ok: false, reason: 'too_far' });
  });
});

describe('sensitive periods', () => {
  const period = { startsOn: '2026-10-01', endsOn: '2026-10-07', remindedAt: null, removedAt: null };

  it('are reminded N days before (the bureau’s setting, 3 by default), once, and late while the period lasts', () => {
    expect(periodReminderDate(period, policy)).toBe('2026-09-28');
    expect(periodReminderDate(period, resolvePolicy({ sensitivePeriods: { remindDaysBefore: 7 } }))).toBe('2026-09-24');
    expect(periodReminderDue(period, '2026-09-27', policy)).toBe(false);
    expect(periodReminderDue(period, '2026-09-28', policy)).toBe(true);
    // Missed on its day (no worker ran): the next run reminds, before the period or during it.
    expect(periodReminderDue(period, '2026-10-03', policy)).toBe(true);
    expect(periodReminderDue(period, '2026-10-08', policy)).toBe(false);
    expect(periodReminderDue({ ...period, remindedAt: new Date('2026-09-28T01:00:00Z') }, '2026-09-29', policy)).toBe(false);
    expect(periodReminderDue({ ...period, removedAt: new Date('2026-09-20T01:00:00Z') }, '2026-09-28', policy)).toBe(false);
  });

  it('a day falls in a period with both ends included; of overlapping ones, the one that started last', () => {
    const national = { id: 'n', ...period };
    const summit = { id: 's', startsOn: '2026-10-05', endsOn: '2026-10-12' };
    expect(periodOn([national, summit], '2026-09-30')).toBeUndefined();
    expect(periodOn([national, summit], '2026-10-01')?.id).toBe('n');
    expect(periodOn([national, summit], '2026-10-06')?.id).toBe('s');
    expect(periodOn([national, summit], '2026-10-12')?.id).toBe('s');
  });

  it('a new period needs a name, an end not before its start nor before today, and at most a year', () => {
    const today = '2026-09-01';
    expect(checkSensitivePeriod({ name: ' 国庆 ', startsOn: '2026-10-01', endsOn: '2026-10-07' }, today)).toEqual({ ok: true, name: '国庆' });
    expect(checkSensitivePeriod({ name: '  ', startsOn: '2026-10-01', endsOn: '2026-10-07' }, today)).toEqual({ ok: false, reason: 'name_blank' });
    expect(checkSensitivePeriod({ name: '国庆', startsOn: '2026-10-07', endsOn: '2026-10-01' }, today)).toEqual({ ok: false, reason: 'ends_before_start' });
    expect(checkSensitivePeriod({ name: '国庆', startsOn: '2026-08-01', endsOn: '2026-08-07' }, today)).toEqual({ ok: false, reason: 'ended' });
    expect(checkSensitivePeriod({ name: '国庆', startsOn: '2026-10-01', endsOn: '2027-10-02' }, today)).toEqual({ ok: false, reason: 'too_long' });
    expect(checkSensitivePeriod({ name: '长'.repeat(61), startsOn: '2026-10-01', endsOn: '2026-10-07' }, today)).toEqual({ ok: false, reason: 'name_long' });
  });
});
