/**
 * The bot's overall send line (send-slots.ts): at most 30 messages in any sliding second over every chat,
 * routine fan-out within its share so that replies and urgent notices find room, checked against the
 * Bot API stand-in's own limiter (its sliding second) as the oracle; and the two stores, with two
 * instances (two processes) racing for the one line.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresChatSendSlots, redisChatSendSlots } from '../../src/jobs/send-slot-stores.js';
import {
  COMMITTED_MS,
  emptyOverall,
  memoryChatSendSlots,
  overallFit,
  reserveOverallIn,
  takeOverallIn,
  type ChatSendSlots,
  type OverallLine,
  type OverallPace,
} from '../../src/jobs/send-slots.js';
import { RateLimiter } from '../../src/sandbox/bot-api-limits.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { SHARED_REDIS, wipeRedisPrefix } from './harness.js';

/** Telegram's, as the gateway states it: 30 in a second plus 20 ms of slack, routine 28 of them. */
const PACE: OverallPace = { perSecond: 30, routine: 28, windowMs: 1_020 };
const routine = (key: string, earliest: number) => ({ key, earliest, urgent: false });
const urgent = (key: string, earliest: number) => ({ key, earliest, urgent: true });

/**
 * The first of `moments` (any order; each to a chat of its own) that the stand-in's limiter refuses for the
 * overall limit, sent in time order; each may reach it up to `jitterMs` after its moment.
 */
function refusedBy(moments: readonly number[], opts: { perSecond?: number; jitterMs?: number; seed?: number } = {}): number | undefined {
  const limiter = new RateLimiter({ globalPerSecond: opts.perSecond ?? 30 });
  let s = opts.seed ?? 1;
  const rnd = () => ((s = (s * 48_271) % 2_147_483_647) / 2_147_483_647);
  const arrivals = moments.map((m) => m + (opts.jitterMs ? rnd() * opts.jitterMs : 0)).sort((x, y) => x - y);
  return arrivals.find((m, i) => limiter.take(1_000 + i, m) !== null);
}

/** The most moments in any window of `ms` (half-open, as the stand-in counts). */
function busiest(moments: readonly number[], ms: number): number {
  const m = [...moments].sort((x, y) => x - y);
  let most = 0;
  for (let i = 0, j = 0; i < m.length; i++) {
    while (m[i]! - m[j]! >= ms) j++;
    most = Math.max(most, i - j + 1);
  }
  return most;
}

describe('the overall line: what it admits', () => {
  it('a fan-out of 100 reserved at once goes 28 a window, evenly, and the stand-in accepts it even with 20 ms of arrival jitter', () => {
    const line = emptyOverall();
    const ats = reserveOverallIn(
      line,
      Array.from({ length: 100 }, (_, i) => routine(`r${i}`, 0)),
      0,
      PACE,
    ).map((r) => r.at);
    // One every 36 ms (1 020 / 28, in whole ms), the 29th a window after the first: a job that comes late still finds room where it is.
    expect(ats.slice(0, 29)).toEqual([...Array.from({ length: 28 }, (_, i) => i * 36), 1_020]);
    expect(busiest(ats, 1_020)).toBe(28);
    expect(refusedBy(ats)).toBeUndefined();
    for (const seed of [1, 2, 3, 4, 5]) expect(refusedBy(ats, { jitterMs: 20, seed })).toBeUndefined();
    // Every job 60 ms late (its worker slots were busy) still leaves at once, and the second keeps 30.
    const sent = ats.map((at, i) => takeOverallIn(line, { key: `r${i}`, urgent: false, now: at + 60, maxWaitMs: 150 }, PACE));
    expect(sent.every((r) => r.taken)).toBe(true);
    expect(refusedBy(sent.map((r) => r.at))).toBeUndefined();
  });

  it('the oracle can say no: a line that admits 31 a second, or no slack, is refused', () => {
    const line = emptyOverall();
    const loose = { perSecond: 31, routine: 31, windowMs: 1_000 };
    const ats = reserveOverallIn(line, Array.from({ length: 62 }, (_, i) => routine(`r${i}`, 0)), 0, loose).map((r) => r.at);
    expect(refusedBy(ats)).toBeDefined();
    // 30 a second with no slack: requests that reach it a few ms apart from their moments can make 31.
    const tight = reserveOverallIn(emptyOverall(), Array.from({ length: 90 }, (_, i) => urgent(`u${i}`, 0)), 0, { perSecond: 30, routine: 30, windowMs: 1_000 }).map((r) => r.at);
    expect(refusedBy(tight)).toBeUndefined();
    expect([1, 2, 3, 4, 5].some((seed) => refusedBy(tight, { jitterMs: 20, seed }) !== undefined)).toBe(true);
  });

  it('overallFit: the moment it finds keeps every window within the cap, and the one before it would not', () => {
    let s = 7;
    const rnd = () => ((s = (s * 48_271) % 2_147_483_647) / 2_147_483_647);
    for (let trial = 0; trial < 200; trial++) {
      const points = Array.from({ length: 40 + Math.floor(rnd() * 40) }, () => Math.floor(rnd() * 3_000)).sort((a, b) => a - b);
      // Only lines that keep the cap themselves (as the line always does).
      const kept: number[] = [];
      for (const p of points) if (busiest([...kept, p], 1_000) <= 10 && kept.every((k) => busiest([...kept.filter((x) => x !== k), k, p], 1_000) <= 10)) kept.push(p);
      const start = Math.floor(rnd() * 3_000);
      const at = overallFit(kept, start, 10, 1_000);
      expect(at).toBeGreaterThanOrEqual(start);
      expect(busiest([...kept, at], 1_000)).toBeLessThanOrEqual(10);
      if (at > start) expect(busiest([...kept, at - 1], 1_000)).toBeGreaterThan(10);
    }
  });
});

describe('replies and urgent notices overtake routine fan-out', () => {
  /** A line with a fan-out of 200 reserved at 0. */
  function fanOut(): { line: OverallLine; routineAts: Map<string, number> } {
    const line = emptyOverall();
    const r = reserveOverallIn(line, Array.from({ length: 200 }, (_, i) => routine(`r${i}`, 0)), 0, PACE);
    return { line, routineAts: new Map(r.map((x) => [x.key, x.at])) };
  }

  it('a reply during a fan-out leaves at once: routine never fills the second', () => {
    const { line } = fanOut();
    expect(takeOverallIn(line, { urgent: true, now: 10, maxWaitMs: 10_000 }, PACE)).toEqual({ taken: true, at: 10 });
    expect(takeOverallIn(line, { urgent: true, now: 20, maxWaitMs: 10_000 }, PACE)).toEqual({ taken: true, at: 20 });
    // A routine send with no moment of its own does not get in before the fan-out ahead of it.
    const late = takeOverallIn(line, { urgent: false, now: 30, maxWaitMs: 150 }, PACE);
    expect(late.taken).toBe(false);
    expect(late.at).toBeGreaterThan(7_000);
    // Unkeyed: nothing is kept for it.
    expect(line.points).toHaveLength(202);
  });

  it('a burst of 40 escalations during a fan-out goes within the next second and a bit; routine reservations move later, never earlier, and every second keeps 30', () => {
    const { line, routineAts } = fanOut();
    const urgentAts = reserveOverallIn(line, Array.from({ length: 40 }, (_, i) => urgent(`u${i}`, 100)), 100, PACE).map((r) => r.at);
    // The routine moments within COMMITTED_MS are fixed (their jobs may be leaving); the 40 escalations take
    // the rest of this second and the next from the routine reservations.
    expect(urgentAts.filter((a) => a === 100)).toHaveLength(20);
    expect(Math.max(...urgentAts)).toBeLessThanOrEqual(1_020 + 100);
    for (const p of line.points) if (p.key?.startsWith('r')) expect(p.at).toBeGreaterThanOrEqual(routineAts.get(p.key)!);
    const all = line.points.map((p) => p.at);
    expect(busiest(all, 1_020)).toBeLessThanOrEqual(30);
    expect(refusedBy(all)).toBeUndefined();
    expect(refusedBy(all, { jitterMs: 20, seed: 3 })).toBeUndefined();
    // Nothing routine due within COMMITTED_MS moved: its job may be leaving.
    for (const [k, at] of routineAts) if (at <= 100 + COMMITTED_MS) expect(line.points.find((p) => p.key === k)!.at).toBe(at);
  });
});

describe('a keyed send coming for its reserved moment', () => {
  it('early: told to come back at it; on time: taken; late: leaves now when the second has room', () => {
    const line = emptyOverall();
    const r = reserveOverallIn(line, Array.from({ length: 60 }, (_, i) => routine(`r${i}`, 0)), 0, PACE);
    const r40 = r[40]!.at;
    expect(r40).toBe(1_020 + 12 * 36);
    expect(takeOverallIn(line, { key: 'r40', urgent: false, now: 500, maxWaitMs: 150 }, PACE)).toEqual({ taken: false, at: r40 });
    expect(takeOverallIn(line, { key: 'r40', urgent: false, now: r40 - 20, maxWaitMs: 150 }, PACE)).toEqual({ taken: true, at: r40 });
    // 200 ms late (a worker slot was busy): it leaves now, not behind the rest of the fan-out.
    expect(takeOverallIn(line, { key: 'r41', urgent: false, now: r[41]!.at + 200, maxWaitMs: 150 }, PACE)).toEqual({ taken: true, at: r[41]!.at + 200 });
    // Taken moments keep no key; the rest still wait for theirs.
    expect(line.points.filter((p) => p.key === 'r40' || p.key === 'r41')).toEqual([]);
    expect(refusedBy(line.points.map((p) => p.at))).toBeUndefined();
  });

  it.each([11, 12, 13])('a random day of fan-outs, replies, escalations and late jobs (seed %i): the stand-in refuses nothing', (seed) => {
    let s = seed;
    const rnd = () => ((s = (s * 48_271) % 2_147_483_647) / 2_147_483_647);
    const line = emptyOverall();
    const due = new Map<string, number>();
    const sent: number[] = [];
    let n = 0;
    for (let now = 0; now < 20_000; now += 5 + Math.floor(rnd() * 20)) {
      const roll = rnd();
      if (roll < 0.01) {
        const batch = Array.from({ length: 20 + Math.floor(rnd() * 80) }, () => ({ key: `k${n++}`, earliest: now, urgent: rnd() < 0.1 }));
        for (const x of reserveOverallIn(line, batch, now, PACE)) due.set(x.key, x.at);
      } else if (roll < 0.15) {
        const t = takeOverallIn(line, { urgent: rnd() < 0.7, now, maxWaitMs: 10_000 }, PACE);
        if (t.taken) sent.push(t.at);
      }
      // Jobs whose moment came (some up to 120 ms late, as a busy worker would be; the processes' nows are
      // not in order then); moved ones come back.
      for (const [key, at] of [...due]) {
        if (at > now) continue;
        const t = takeOverallIn(line, { key, urgent: false, now: now + Math.floor(rnd() * 120), maxWaitMs: 150 }, PACE);
        if (t.taken) {
          sent.push(t.at);
          due.delete(key);
        } else due.set(key, t.at);
      }
    }
    expect(sent.length).toBeGreaterThan(300);
    expect(busiest(sent, 1_020)).toBeLessThanOrEqual(30);
    expect(refusedBy(sent)).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------------------
// The stores, two instances (two processes) at once.

let t: TestDatabase;
const ns = `test-overall-${randomUUID().slice(0, 8)}`;
beforeAll(async () => {
  t = await createTestDatabase();
}, 30_000);
afterAll(async () => {
  await wipeRedisPrefix(SHARED_REDIS, ns);
  await t?.drop();
});

const stores: Array<[string, () => ChatSendSlots]> = [
  ['memory', () => shared],
  ['Redis', () => redisChatSendSlots(SHARED_REDIS, ns)],
  ['PostgreSQL', () => postgresChatSendSlots(t.url, 'test')],
];
const shared = memoryChatSendSlots();

describe.each(stores)('the overall line on %s', (name, make) => {
  it('two processes taking at once keep 30 a second between them, and a reservation made by one is seen by the other', async () => {
    const [a, b] = [make(), make()];
    a.overall = b.overall = PACE;
    a.spacing = b.spacing = { perChatMs: 1_000, perGroupMs: 3_000, perChatBurst: 3 };
    try {
      const now = Date.now() + 60_000 * Math.floor(Math.random() * 100);
      const taken = await Promise.all(Array.from({ length: 70 }, (_, i) => (i % 2 ? a : b).takeOverall({ urgent: true, now, maxWaitMs: 60_000 })));
      expect(taken.every((r) => r.taken)).toBe(true);
      const moments = taken.map((r) => r.at).sort((x, y) => x - y);
      expect(moments.filter((m) => m === now)).toHaveLength(30);
      expect(refusedBy(moments)).toBeUndefined();
      // A fan-out reserved by one goes after those; the other takes one of its moments for the same key.
      const later = now + 10 * 60_000;
      const r = await a.reserveOverall(
        Array.from({ length: 40 }, (_, i) => routine(`f${i}`, later)),
        later,
      );
      const f39 = r[39]!.at;
      expect(f39).toBe(later + 1_020 + 11 * 36);
      expect(await b.takeOverall({ key: 'f39', urgent: false, now: later, maxWaitMs: 150 })).toEqual({ taken: false, at: f39 });
      expect(await b.takeOverall({ key: 'f39', urgent: false, now: f39, maxWaitMs: 150 })).toEqual({ taken: true, at: f39 });
    } finally {
      if (name !== 'memory') await Promise.all([a.close(), b.close()]);
    }
  }, 30_000);

  it('without the overall limit told (no Telegram), nothing is paced', async () => {
    const a = name === 'memory' ? memoryChatSendSlots() : make();
    try {
      expect(await a.takeOverall({ urgent: false, now: 5, maxWaitMs: 0 })).toEqual({ taken: true, at: 5 });
      expect(await a.reserveOverall([routine('x', 9)], 5)).toEqual([{ key: 'x', at: 9 }]);
    } finally {
      await a.close();
    }
  });
});
