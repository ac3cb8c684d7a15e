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

  it('takes a bare time later than now as last night, not as tonight', () => {
    const justAfterMidnight = new Date('2026-11-28T16:10:00Z'); // 00:10 on the 29th in Shanghai
    expect(ok('23:50', justAfterMidnight)).toBe('2026-11-28T15:50:00.000Z');
    expect(ok('15:00')).toBe('2026-11-28T07:00:00.000Z');
  });

  it('refuses a time more than a month ago as a likely typo', () => {
    expect(refused('2026-09-01 10:00')).toBe('too_old');
  });

  it('reads the day in the configured zone, not in UTC', () => {
    // 2026-11-28T20:00Z is already the 29th at 04:00 in Shanghai: "昨天" is the 28th there.
    expect(ok('昨天 10:00', new Date('2026-11-28T20:00:00Z'))).toBe('2026-11-28T02:00:00.000Z');
  });
});
