/** The time an officer types for "when did it happen", in the configured zone, against a given now. */
import { describe, expect, it } from 'vitest';
import { parseIncidentTime } from '../../src/domain/index.js';

const TZ = 'Asia/Shanghai';
const NOW = new Date('2026-11-29T06:40:00Z'); // 14:40 in Shanghai
const ok = (input: string, now = NOW) => {
  const r = parseIncidentTime(input, now, TZ);
  if (!r.ok) throw new Error(`${input}: ${r.reason}`);
  return r.at.toISOString();
};
const refused = (input: string, now = NOW) => {
  const r = parseIncidentTime(input, now, TZ);
  return r.ok ? `accepted ${r.at.toISOString()}` : r.reason;
};

describe('parseIncidentTime', () => {
  it.each([
    ['14:30', '2026-11-29T06:30:00.000Z'],
    ['14：30', '2026-11-29T06:30:00.000Z'],
    [' 9:05 ', '2026-11-29T01:05:00.000Z'],
    ['今天 14:30', '2026-11-29T06:30:00.000Z'],
    ['昨天 14:30', '2026-11-28T06:30:00.000Z'],
    ['昨天14:30', '2026-11-28T06:30:00.000Z'],
    ['yesterday 14:30', '2026-11-28T06:30:00.000Z'],
    ['前天 8:05', '2026-11-27T00:05:00.000Z'],
    ['11-28 14:30', '2026-11-28T06:30:00.000Z'],
    ['2026-11-28 14:30', '2026-11-28T06:30:00.000Z'],
    ['11月28日 14点30', '2026-11-28T06:30:00.000Z'],
    ['14点', '2026-11-29T06:00:00.000Z'],
  ])('%j → %s', (input, iso) => {
    expect(ok(input)).toBe(iso);
  });

  it.each(['', '   ', 'abc', '25:00', '14:60', '14:3', '1430', '昨天', '昨天 11-28 14:30', '02-31 10:00', '13-01 10:00', 'x'.repeat(50)])(
    'refuses the format of %j',
    (input) => {
      expect(refused(input)).toBe('format');
    },
  );

  it('refuses a time in the future, with a few minutes of slack', () => {
    expect(refused('2026-11-30 10:00')).toBe('future');
    expect(refused('今天 15:00')).toBe('future');
    expect(ok('今天 14:45')).toBe('2026-11-29T06:45:00.000Z');
  });

  it.each([
    // [now (UTC), typed, the same day (UTC), the day before (UTC)]
    ['2026-11-30T21:49:00Z', '05:59', '2026-11-30T21:59:00.000Z', '2026-11-29T21:59:00.000Z'], // 05:49 on 12-01: a typo or clock skew
    ['2026-11-29T06:40:00Z', '15:00', '2026-11-29T07:00:00.000Z', '2026-11-28T07:00:00.000Z'], // 20 min ahead
    ['2026-11-28T16:10:00Z', '23:50', '2026-11-29T15:50:00.000Z', '2026-11-28T15:50:00.000Z'], // 00:10: last night, most likely
    ['2026-11-28T17:00:00Z', '23:00', '2026-11-29T15:00:00.000Z', '2026-11-28T15:00:00.000Z'], // 01:00, far ahead
    ['2026-11-29T06:40:00Z', '14:46', '2026-11-29T06:46:00.000Z', '2026-11-28T06:46:00.000Z'], // just past the slack
    ['2026-11-29T06:40:00Z', '15点', '2026-11-29T07:00:00.000Z', '2026-11-28T07:00:00.000Z'],
  ])('at %s, a bare %j ahead of now is neither moved a day nor refused: both readings are offered', (now, input, today, yesterday) => {
    const r = parseIncidentTime(input, new Date(now), TZ);
    expect(r.ok).toBe(false);
    if (r.ok || r.reason !== 'ahead') throw new Error(`${input}: ${JSON.stringify(r)}`);
    expect({ today: r.today.toISOString(), yesterday: r.yesterday.toISOString() }).toEqual({ today, yesterday });
    expect(r.typed).toMatch(/^\d{2}:\d{2}$/);
  });

  it('reads the typed time back as HH:MM', () => {
    const r = parseIncidentTime('5：59', new Date('2026-11-30T21:49:00Z'), TZ);
    expect(r).toMatchObject({ ok: false, reason: 'ahead', typed: '05:59' });
  });

  it.each([
    ['14:40', '2026-11-29T06:40:00.000Z'], // now
    ['14:45', '2026-11-29T06:45:00.000Z'], // within the slack: today
    ['09:00', '2026-11-29T01:00:00.000Z'], // clearly past: today
    ['00:00', '2026-11-28T16:00:00.000Z'],
  ])('keeps a bare %j not ahead of now on today', (input, iso) => {
    expect(ok(input)).toBe(iso);
  });

  it('says a time with a day or a date is in the future, and never asks about it', () => {
    expect(refused('今天 15:00')).toBe('future');
    expect(refused('11-29 15:00')).toBe('future');
    expect(ok('昨天 15:00')).toBe('2026-11-28T07:00:00.000Z');
  });

  it('refuses a time more than a month ago as a likely typo', () => {
    expect(refused('2026-09-01 10:00')).toBe('too_old');
  });

  it('reads the day in the configured zone, not in UTC', () => {
    // 2026-11-28T20:00Z is already the 29th at 04:00 in Shanghai: "昨天" is the 28th there.
    expect(ok('昨天 10:00', new Date('2026-11-28T20:00:00Z'))).toBe('2026-11-28T02:00:00.000Z');
  });
});
