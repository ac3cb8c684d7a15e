/**
 * WeCom's frequency limits for one application, kept here before a request leaves (PITFALLS: WeCom):
 * - application messages: at most the corp's account cap × 200 recipients a day per application (one
 *   message to 1 000 members counts 1 000), and at most 30 a minute and 1 000 an hour to one member. The
 *   per-member excess is not refused by WeCom: it is dropped, undelivered, with errcode 0 — so it must
 *   never be sent;
 * - every other API: at most 10 000 calls a minute and 150 000 an hour per corp (messages do not count).
 * WeCom blocks a minute's excess for 60 s, an hour's for 60 min and a day's for the rest of the natural
 * day (China Standard Time). Minutes and hours are counted here as sliding windows, which is stricter
 * than any fixed window; the day as the natural day. A verdict says which limit and how many seconds
 * until a slot is free; nothing is recorded for a refused call.
 */
import type { Clock } from '../../domain/index.js';

export interface WecomLimits {
  /** Messages one application may send one member in a minute. */
  perMemberPerMinute: number;
  /** … in an hour. */
  perMemberPerHour: number;
  /** Recipients a day per application, per account of the corp's account cap. */
  recipientsPerAccountPerDay: number;
  /** Calls of one API (not message sending) a minute. */
  apiPerMinute: number;
  /** … an hour. */
  apiPerHour: number;
}

export const WECOM_LIMITS: WecomLimits = {
  perMemberPerMinute: 30,
  perMemberPerHour: 1000,
  recipientsPerAccountPerDay: 200,
  apiPerMinute: 10_000,
  apiPerHour: 150_000,
};

/** Minutes east of UTC of WeCom's natural day: China Standard Time, which has no daylight saving. */
export const CHINA_UTC_OFFSET_MINUTES = 480;

export type WecomLimitScope = 'member_minute' | 'member_hour' | 'app_day' | 'api_minute' | 'api_hour' | 'held';

export interface WecomLimitVerdict {
  scope: WecomLimitScope;
  /** Whole seconds until the call may be made (at least 1). */
  retryAfterSeconds: number;
}

export interface WecomRateLimiterOptions {
  clock: Clock;
  /** The corp's account cap (账号上限数): the daily recipient budget is this × 200. */
  accountCap: number;
  /** Overrides of the documented figures (tests, or a corp WeCom has given other figures). */
  limits?: Partial<WecomLimits>;
  utcOffsetMinutes?: number;
}

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

const seconds = (ms: number): number => Math.max(1, Math.ceil(ms / 1000));

/** Index of the first entry of the ascending `list` that is greater than `t`. */
function firstAfter(list: number[], t: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid]! > t) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** How long until a sliding window of `windowMs` holding `list` (ascending) has room for one more under `max`. */
function windowWait(list: number[], now: number, windowMs: number, max: number): number | undefined {
  const start = firstAfter(list, now - windowMs);
  const inWindow = list.length - start;
  if (inWindow < max) return undefined;
  // The entry whose leaving frees the slot: the (inWindow - max + 1)-th oldest in the window.
  const freeing = list[start + (inWindow - max)]!;
  return freeing + windowMs - now;
}

export class WecomRateLimiter {
  readonly limits: WecomLimits;
  private readonly clock: Clock;
  private readonly offsetMs: number;
  private readonly dailyBudget: number;
  /** Per member: send times within the last hour, ascending. */
  private readonly members = new Map<string, number[]>();
  private day = { key: Number.NaN, recipients: 0 };
  /** Per API: call counts per minute (key: minute since the epoch). */
  private readonly apis = new Map<string, Map<number, number>>();
  private sendsHeldUntil = 0;
  private readonly apisHeldUntil = new Map<string, number>();

  constructor(opts: WecomRateLimiterOptions) {
    this.clock = opts.clock;
    this.limits = { ...WECOM_LIMITS, ...opts.limits };
    this.offsetMs = (opts.utcOffsetMinutes ?? CHINA_UTC_OFFSET_MINUTES) * MINUTE;
    if (!Number.isInteger(opts.accountCap) || opts.accountCap < 1) throw new RangeError('accountCap must be a positive integer');
    this.dailyBudget = opts.accountCap * this.limits.recipientsPerAccountPerDay;
  }

  /** Recipients the application may still reach today. */
  remainingToday(): number {
    this.rollDay(this.now());
    return this.dailyBudget - this.day.recipients;
  }

  /** Whether a message to `userIds` may be sent now; records it when it may. */
  takeSend(userIds: readonly string[]): WecomLimitVerdict | null {
    const now = this.now();
    const verdict = this.checkSend(userIds, now);
    if (verdict) return verdict;
    this.day.recipients += userIds.length;
    for (const id of userIds) {
      const list = this.memberList(id, now);
      list.push(now);
    }
    return null;
  }

  /** Whether a call of `api` (anything but message sending) may be made now; records it when it may. */
  takeApi(api: string): WecomLimitVerdict | null {
    const now = this.now();
    const held = this.apisHeldUntil.get(api) ?? 0;
    if (held > now) return { scope: 'held', retryAfterSeconds: seconds(held - now) };
    const buckets = this.apiBuckets(api, now);
    const minute = Math.floor(now / MINUTE);
    const thisMinute = buckets.get(minute) ?? 0;
    if (thisMinute >= this.limits.apiPerMinute) return { scope: 'api_minute', retryAfterSeconds: seconds((minute + 1) * MINUTE - now) };
    let lastHour = 0;
    for (const [m, n] of buckets) if (m > minute - 60) lastHour += n;
    if (lastHour >= this.limits.apiPerHour) {
      // The oldest minute in the window leaves first.
      const oldest = Math.min(...[...buckets.keys()].filter((m) => m > minute - 60));
      return { scope: 'api_hour', retryAfterSeconds: seconds((oldest + 60) * MINUTE - now) };
    }
    buckets.set(minute, thisMinute + 1);
    return null;
  }

  /** WeCom answered a frequency errcode on a send: hold every send for `seconds`. */
  holdSends(waitSeconds: number): void {
    this.sendsHeldUntil = Math.max(this.sendsHeldUntil, this.now() + waitSeconds * 1000);
  }

  /** … on another API: hold that API for `seconds`. */
  holdApi(api: string, waitSeconds: number): void {
    this.apisHeldUntil.set(api, Math.max(this.apisHeldUntil.get(api) ?? 0, this.now() + waitSeconds * 1000));
  }

  private checkSend(userIds: readonly string[], now: number): WecomLimitVerdict | null {
    if (this.sendsHeldUntil > now) return { scope: 'held', retryAfterSeconds: seconds(this.sendsHeldUntil - now) };
    this.rollDay(now);
    if (this.day.recipients + userIds.length > this.dailyBudget) {
      const nextDay = (Math.floor((now + this.offsetMs) / DAY) + 1) * DAY - this.offsetMs;
      return { scope: 'app_day', retryAfterSeconds: seconds(nextDay - now) };
    }
    let worst: WecomLimitVerdict | null = null;
    for (const id of userIds) {
      const list = this.memberList(id, now);
      const minuteWait = windowWait(list, now, MINUTE, this.limits.perMemberPerMinute);
      const hourWait = windowWait(list, now, HOUR, this.limits.perMemberPerHour);
      for (const [scope, wait] of [['member_minute', minuteWait], ['member_hour', hourWait]] as const) {
        if (wait !== undefined && (!worst || seconds(wait) > worst.retryAfterSeconds)) worst = { scope, retryAfterSeconds: seconds(wait) };
      }
    }
    return worst;
  }

  private memberList(id: string, now: number): number[] {
    // WeCom treats userids case-insensitively.
    const key = id.toLowerCase();
    let list = this.members.get(key);
    if (!list) {
      list = [];
      this.members.set(key, list);
    }
    const keep = firstAfter(list, now - HOUR);
    if (keep > 0) list.splice(0, keep);
    return list;
  }

  private apiBuckets(api: string, now: number): Map<number, number> {
    let buckets = this.apis.get(api);
    if (!buckets) {
      buckets = new Map();
      this.apis.set(api, buckets);
    }
    const minute = Math.floor(now / MINUTE);
    for (const m of buckets.keys()) if (m <= minute - 60) buckets.delete(m);
    return buckets;
  }

  private rollDay(now: number): void {
    const key = Math.floor((now + this.offsetMs) / DAY);
    if (key !== this.day.key) this.day = { key, recipients: 0 };
  }

  private now(): number {
    return this.clock.now().getTime();
  }
}
