/**
 * The WeCom limiter (src/channels/wecom/limits.ts) on a clock the test moves: 30 a minute and 1 000 an
 * hour to a member (sliding), the daily recipient budget of the account cap × 200 (natural day, China
 * time), the per-minute limit of other APIs, and holds after WeCom's own 45009.
 */
import { describe, expect, it } from 'vitest';
import { WecomRateLimiter } from '../../src/channels/wecom/index.js';

function clockAt(iso: string) {
  let t = new Date(iso).getTime();
  return {
    now: () => new Date(t),
    advance(ms: number) {
      t += ms;
    },
  };
}

describe('per member', () => {
  it('the 31st message within a minute waits until the first leaves the window; others are unaffected', () => {
    const clock = clockAt('2026-03-02T02:00:00Z');
    const limiter = new WecomRateLimiter({ clock, accountCap: 100 });
    for (let i = 0; i < 30; i++) {
      expect(limiter.takeSend(['lisi'])).toBeNull();
      clock.advance(1000);
    }
    // 30 sent at 0 s … 29 s; now 30 s: the first leaves the window at 60 s.
    expect(limiter.takeSend(['LiSi'])).toEqual({ scope: 'member_minute', retryAfterSeconds: 30 });
    expect(limiter.takeSend(['wangwu'])).toBeNull();
    clock.advance(30_000);
    expect(limiter.takeSend(['lisi'])).toBeNull();
    expect(limiter.takeSend(['lisi'])).toMatchObject({ scope: 'member_minute', retryAfterSeconds: 1 });
  });

  it('1 000 an hour, even when each minute stays under 30', () => {
    const clock = clockAt('2026-03-02T02:00:00Z');
    const limiter = new WecomRateLimiter({ clock, accountCap: 100 });
    for (let i = 0; i < 1000; i++) {
      expect(limiter.takeSend(['zhao'])).toBeNull();
      clock.advance(3000); // 20 a minute
    }
    const verdict = limiter.takeSend(['zhao']);
    expect(verdict?.scope).toBe('member_hour');
    // The first of the last hour's 1 000 (at 0 s) leaves at 3 600 s; it is now 3 000 s.
    expect(verdict?.retryAfterSeconds).toBe(600);
  });

  it('a message to several members is refused whole if one of them is at the limit, and records nothing', () => {
    const clock = clockAt('2026-03-02T02:00:00Z');
    const limiter = new WecomRateLimiter({ clock, accountCap: 100, limits: { perMemberPerMinute: 2 } });
    limiter.takeSend(['a']);
    limiter.takeSend(['a']);
    expect(limiter.takeSend(['b', 'a'])?.scope).toBe('member_minute');
    // The refused message counted for neither: b still has both of its slots.
    expect(limiter.takeSend(['b'])).toBeNull();
    expect(limiter.takeSend(['b'])).toBeNull();
    expect(limiter.takeSend(['b'])).toMatchObject({ scope: 'member_minute' });
  });
});

describe('per application and day', () => {
  it('counts recipients against the account cap × 200, and starts again at midnight in China', () => {
    // 15:59:50 UTC is 23:59:50 in Shanghai.
    const clock = clockAt('2026-03-02T15:59:50Z');
    const limiter = new WecomRateLimiter({ clock, accountCap: 1, limits: { perMemberPerMinute: 1000, perMemberPerHour: 10_000 } });
    expect(limiter.remainingToday()).toBe(200);
    for (let i = 0; i < 199; i++) expect(limiter.takeSend([`u${i}`])).toBeNull();
    expect(limiter.takeSend(['x', 'y'])).toEqual({ scope: 'app_day', retryAfterSeconds: 10 });
    expect(limiter.takeSend(['x'])).toBeNull();
    expect(limiter.remainingToday()).toBe(0);
    clock.advance(10_000);
    expect(limiter.remainingToday()).toBe(200);
    expect(limiter.takeSend(['x', 'y'])).toBeNull();
  });

  it('refuses a nonsensical account cap', () => {
    expect(() => new WecomRateLimiter({ clock: clockAt('2026-01-01T00:00:00Z'), accountCap: 0 })).toThrow(RangeError);
  });
});

describe('other APIs and holds', () => {
  it('10 000 calls of one API a minute; another API counts apart', () => {
    const clock = clockAt('2026-03-02T02:00:30Z');
    const limiter = new WecomRateLimiter({ clock, accountCap: 10, limits: { apiPerMinute: 3 } });
    for (let i = 0; i < 3; i++) expect(limiter.takeApi('media/upload')).toBeNull();
    expect(limiter.takeApi('media/upload')).toEqual({ scope: 'api_minute', retryAfterSeconds: 30 });
    expect(limiter.takeApi('gettoken')).toBeNull();
    clock.advance(30_000);
    expect(limiter.takeApi('media/upload')).toBeNull();
  });

  it('150 000 an hour', () => {
    const clock = clockAt('2026-03-02T02:00:00Z');
    const limiter = new WecomRateLimiter({ clock, accountCap: 10, limits: { apiPerMinute: 100, apiPerHour: 250 } });
    for (let minute = 0; minute < 3; minute++) {
      for (let i = 0; i < (minute < 2 ? 100 : 50); i++) expect(limiter.takeApi('x')).toBeNull();
      clock.advance(60_000);
    }
    // 250 in minutes 0–2; now minute 3: minute 0 leaves the hour at minute 60.
    expect(limiter.takeApi('x')).toEqual({ scope: 'api_hour', retryAfterSeconds: 57 * 60 });
  });

  it('a hold after WeCom answered 45009 stops sends (or that API) until it ends', () => {
    const clock = clockAt('2026-03-02T02:00:00Z');
    const limiter = new WecomRateLimiter({ clock, accountCap: 10 });
    limiter.holdSends(60);
    expect(limiter.takeSend(['a'])).toEqual({ scope: 'held', retryAfterSeconds: 60 });
    limiter.holdApi('gettoken', 5);
    expect(limiter.takeApi('gettoken')).toEqual({ scope: 'held', retryAfterSeconds: 5 });
    expect(limiter.takeApi('media/upload')).toBeNull();
    clock.advance(60_000);
    expect(limiter.takeSend(['a'])).toBeNull();
    expect(limiter.takeApi('gettoken')).toBeNull();
  });
});
