/**
 * The chats' shared send lines: the pure decisions (reserve when a send is scheduled, take right before
 * it leaves, urgent ahead of routine), and the two stores that hold them for every process (Redis, and
 * the chat_send_slots table), each checked with two store instances racing for one chat.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresChatSendSlots, redisChatSendSlots } from '../../src/jobs/send-slot-stores.js';
import { RateLimiter } from '../../src/sandbox/bot-api-limits.js';
import {
  answeredIn,
  COMMITTED_MS,
  emptyLine,
  fit,
  holdIn,
  memoryChatSendSlots,
  replyQuietIn,
  reserveIn,
  retakeIn,
  runBucket,
  takeIn,
  type ChatLine,
  type ChatPace,
  type ChatSendSlots,
} from '../../src/jobs/send-slots.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { SHARED_REDIS, wipeRedisPrefix } from './harness.js';

const I = 1_000;
/** One message an interval, no burst: the line as it was before the bucket (and a group's). */
const ONE: ChatPace = { intervalMs: I, burst: 1 };
/** A private chat on Telegram: a burst of 3, then one a second. */
const BURST: ChatPace = { intervalMs: I, burst: 3 };
const SPACING = { perChatMs: I, perGroupMs: 3_000, perChatBurst: 3 };
const routine = (key: string, now: number, earliest = now) => ({ key, now, earliest, urgent: false });
const urgent = (key: string, now: number, earliest = now) => ({ key, now, earliest, urgent: true });

describe('reserving a slot when the send is scheduled', () => {
  it('routine sends line up an interval apart, in order; a key keeps the slot it holds', () => {
    const line = emptyLine();
    expect(['a', 'b', 'c'].map((k) => reserveIn(line, routine(k, 0), ONE).at)).toEqual([0, 1_000, 2_000]);
    expect(reserveIn(line, routine('b', 500), ONE).at).toBe(1_000);
    // Not before its notBefore, and still after the line.
    expect(reserveIn(line, routine('d', 0, 5_000), ONE).at).toBe(5_000);
    expect(reserveIn(line, routine('e', 0), ONE).at).toBe(6_000);
  });

  it('an urgent send takes the earliest slot after those already due; routine ones move later, never earlier, in their order', () => {
    const line = emptyLine();
    for (const k of ['r0', 'r1', 'r2', 'r3']) reserveIn(line, routine(k, 0), ONE);
    const u = reserveIn(line, urgent('u', 100), ONE);
    // r0 (due now) is spoken for: the escalation goes next, at 1 000, ahead of r1–r3.
    expect(u.at).toBe(1_000);
    expect(u.moved).toEqual([
      { key: 'r1', at: 2_000 },
      { key: 'r2', at: 3_000 },
      { key: 'r3', at: 4_000 },
    ]);
    // A second urgent one goes after the first, and the routine line moves once more.
    const u2 = reserveIn(line, urgent('u2', 200), ONE);
    expect(u2.at).toBe(2_000);
    expect(u2.moved.map((m) => m.key)).toEqual(['r1', 'r2', 'r3']);
    expect(line.slots.r1!.at).toBe(3_000);
    // A routine send scheduled now goes to the end of the line.
    expect(reserveIn(line, routine('r4', 300), ONE).at).toBe(6_000);
  });

  it('an urgent send keeps clear of slots due within a moment (their jobs may be leaving)', () => {
    const line = emptyLine();
    reserveIn(line, routine('r0', 0), ONE); // 0
    reserveIn(line, routine('r1', 0), ONE); // 1 000
    expect(reserveIn(line, urgent('u', 1_000 - COMMITTED_MS), ONE).at).toBe(2_000);
    expect(line.slots.r1!.at).toBe(1_000);
  });
});

describe('how long a reply would wait, asked before its update takes the chat’s lock', () => {
  it('is what a reply’s take would wait, and takes nothing', () => {
    const line = emptyLine();
    takeIn(line, { urgent: false, now: 0, maxWaitMs: 100 }, ONE);
    reserveIn(line, routine('later', 0, 5_000), ONE);
    const before = JSON.stringify(line);
    expect(replyQuietIn(line, 300, ONE)).toBe(700);
    // A routine slot ahead does not hold a reply back; a burst lets it go at once.
    expect(replyQuietIn(line, 1_200, ONE)).toBe(0);
    expect(replyQuietIn(line, 300, BURST)).toBe(0);
    expect(JSON.stringify(line)).toBe(before);
    const take = takeIn(line, { urgent: false, now: 300, maxWaitMs: 5_000 }, ONE);
    expect(take).toEqual({ taken: true, at: 1_000 });
  });
});

describe('taking the slot right before the request', () => {
  it('a send at its slot takes it, and the chat is busy an interval from then', () => {
    const line = emptyLine();
    reserveIn(line, routine('a', 0), ONE);
    reserveIn(line, routine('b', 0), ONE);
    expect(takeIn(line, { key: 'a', urgent: false, now: 0, maxWaitMs: 100 }, ONE)).toEqual({ taken: true, at: 0 });
    expect(line.sent).toEqual([0]);
    expect(line.slots.a).toBeUndefined();
    // b, a little early, waits in place; its answer came late, so the chat counts from the answer.
    answeredIn(line, 40, ONE, 0);
    expect(takeIn(line, { key: 'b', urgent: false, now: 960, maxWaitMs: 100 }, ONE)).toEqual({ taken: true, at: 1_040 });
  });

  it('a routine send that comes before its slot (an urgent one took it) is told to come back, its slot kept', () => {
    const line = emptyLine();
    for (const k of ['r0', 'r1']) reserveIn(line, routine(k, 0), ONE);
    reserveIn(line, urgent('u', 100), ONE); // u at 1 000, r1 moved to 2 000
    takeIn(line, { key: 'r0', urgent: false, now: 0, maxWaitMs: 100 }, ONE);
    // r1's job could not be moved and fires at its old time: not taken.
    expect(takeIn(line, { key: 'r1', urgent: false, now: 1_000, maxWaitMs: 100 }, ONE)).toEqual({ taken: false, at: 2_000 });
    expect(takeIn(line, { key: 'u', urgent: true, now: 1_000, maxWaitMs: 100 }, ONE)).toEqual({ taken: true, at: 1_000 });
    expect(takeIn(line, { key: 'r1', urgent: false, now: 2_000, maxWaitMs: 100 }, ONE)).toEqual({ taken: true, at: 2_000 });
  });

  it('a routine send without a slot of its own yields to an urgent slot due within an interval', () => {
    const line = emptyLine();
    reserveIn(line, urgent('u', 0, 500), ONE); // u at 500
    expect(takeIn(line, { key: 'late', urgent: false, now: 0, maxWaitMs: 100 }, ONE)).toEqual({ taken: false, at: 1_500 });
    // A reply does not yield: the person is waiting.
    expect(takeIn(line, { urgent: false, now: 0, maxWaitMs: 10_000 }, ONE)).toEqual({ taken: true, at: 0 });
  });

  it('a reply waits after the chat’s last message, whoever sent it; after a 429 nothing goes before the hold ends', () => {
    const line = emptyLine();
    expect(takeIn(line, { urgent: false, now: 0, maxWaitMs: 10_000 }, ONE).at).toBe(0);
    expect(takeIn(line, { urgent: false, now: 300, maxWaitMs: 10_000 }, ONE).at).toBe(1_000);
    holdIn(line, 9_000, ONE);
    expect(takeIn(line, { key: 'k', urgent: true, now: 2_000, maxWaitMs: 100 }, ONE)).toEqual({ taken: false, at: 9_000 });
    expect(takeIn(line, { urgent: false, now: 2_000, maxWaitMs: 10_000 }, ONE)).toEqual({ taken: true, at: 9_000 });
  });

  it('without spacing told (no Telegram in the deployment) nothing is spaced', async () => {
    const s = memoryChatSendSlots();
    expect(await s.reserve(7, routine('a', 0))).toEqual({ at: 0, moved: [] });
    expect(await s.reserve(7, routine('b', 0))).toEqual({ at: 0, moved: [] });
    s.spacing = SPACING;
    expect((await s.reserve(-7, routine('g1', 0))).at).toBe(0);
    expect((await s.reserve(-7, routine('g2', 0))).at).toBe(3_000); // a group: 20 a minute
  });
});

describe('a private chat’s burst: a token bucket of 3, refilled one a second', () => {
  const reply = (now: number, maxWaitMs = 10_000) => ({ urgent: false, now, maxWaitMs });

  it('three replies go at once; the fourth waits for a token, then one a second', () => {
    const line = emptyLine();
    expect([0, 10, 20, 30, 40].map((now) => takeIn(line, reply(now), BURST).at)).toEqual([0, 10, 20, 1_000, 2_000]);
    // A quiet chat fills up again: 5 s later (bucket full at 4 000) three more go at once.
    expect([7_000, 7_000, 7_000, 7_000].map((now) => takeIn(line, reply(now), BURST).at)).toEqual([7_000, 7_000, 7_000, 8_000]);
  });

  it('three reserved notices share the first moment; the fourth and fifth follow a second apart', () => {
    const line = emptyLine();
    expect(['a', 'b', 'c', 'd', 'e'].map((k) => reserveIn(line, routine(k, 0), BURST).at)).toEqual([0, 0, 0, 1_000, 2_000]);
    // A reply that comes meanwhile finds the bucket empty: the sends taken so far are what counts.
    for (const k of ['a', 'b', 'c']) expect(takeIn(line, { key: k, urgent: false, now: 0, maxWaitMs: 100 }, BURST)).toEqual({ taken: true, at: 0 });
    expect(takeIn(line, reply(50), BURST).at).toBe(1_000);
    // d's slot was at 1 000, and the reply took that token: d waits for the next, in place when short.
    expect(takeIn(line, { key: 'd', urgent: false, now: 1_000, maxWaitMs: 100 }, BURST)).toEqual({ taken: false, at: 2_000 });
  });

  it('a card and then its event to someone with none yet both go at once (no second of waiting)', () => {
    const line = emptyLine();
    expect(reserveIn(line, urgent('card', 0), BURST).at).toBe(0);
    expect(reserveIn(line, urgent('event', 0), BURST).at).toBe(0);
  });

  it('urgent sends still overtake routine ones, which move later within the bucket, never earlier', () => {
    const line = emptyLine();
    for (const k of ['r0', 'r1', 'r2', 'r3', 'r4']) reserveIn(line, routine(k, 0), BURST); // 0, 0, 0, 1 000, 2 000
    const u = reserveIn(line, urgent('u', 0), BURST);
    // r0–r2 are due (spoken for): the escalation takes the next token, r3's, and r3, r4 move one later each.
    expect(u.at).toBe(1_000);
    expect(u.moved).toEqual([
      { key: 'r3', at: 2_000 },
      { key: 'r4', at: 3_000 },
    ]);
    // A routine send without a slot yields to the urgent one when it would take its token…
    for (const k of ['r0', 'r1', 'r2']) expect(takeIn(line, { key: k, urgent: false, now: 0, maxWaitMs: 100 }, BURST).taken).toBe(true);
    expect(takeIn(line, { key: 'late', urgent: false, now: 1_000, maxWaitMs: 100 }, BURST)).toEqual({ taken: false, at: 2_000 });
    // …and the urgent one takes it.
    expect(takeIn(line, { key: 'u', urgent: true, now: 1_000, maxWaitMs: 100 }, BURST)).toEqual({ taken: true, at: 1_000 });
  });

  it('an urgent send lands in a gap of the line when the bucket has room there', () => {
    const line = emptyLine();
    reserveIn(line, urgent('later', 0, 60_000), BURST);
    expect(reserveIn(line, urgent('now', 0), BURST).at).toBe(0);
  });

  it('after a 429 nothing goes before its end, and the bucket is empty then: one, then one a second', () => {
    const line = emptyLine();
    takeIn(line, reply(0), BURST);
    holdIn(line, 5_000, BURST);
    expect(takeIn(line, { key: 'k', urgent: true, now: 1_000, maxWaitMs: 100 }, BURST)).toEqual({ taken: false, at: 5_000 });
    expect([5_000, 5_000, 5_000].map((now) => takeIn(line, reply(now), BURST).at)).toEqual([5_000, 6_000, 7_000]);
  });

  it('a send answered late counts from its answer; a retake moves the last send, or takes a new token', () => {
    const line = emptyLine();
    takeIn(line, reply(0), BURST);
    // Its answer came 2.5 s later: Telegram may have counted it as late as that, so the bucket does.
    answeredIn(line, 2_500, BURST, 0);
    expect([2_600, 2_600, 2_600].map((now) => takeIn(line, reply(now), BURST).at)).toEqual([2_600, 2_600, 3_500]);
    const l2 = emptyLine();
    const first = takeIn(l2, reply(0), BURST).at;
    expect(retakeIn(l2, { from: first, now: 80, maxWaitMs: 100 }, BURST)).toEqual({ taken: true, at: 80 });
    expect(l2.sent).toEqual([80]);
    // Other sends took the chat since: the retake gives up its moment and takes the next token.
    expect([500, 500, 500].map((now) => takeIn(l2, reply(now), BURST).at)).toEqual([500, 500, 1_080]);
    expect(retakeIn(l2, { from: 80, now: 600, maxWaitMs: 5_000 }, BURST)).toEqual({ taken: true, at: 1_500 });
    expect(l2.sent).toEqual([500, 500, 1_080, 1_500]);
  });
});

describe('what the line admits, the stand-in’s bucket accepts', () => {
  /** mulberry32: a seeded sequence, so a failure is found again. */
  function rng(seed: number): () => number {
    let a = seed >>> 0;
    return () => {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = Math.imul(a ^ (a >>> 15), a | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
    };
  }

  /**
   * Random traffic to one chat: notices reserved (routine and urgent, some for later) and taken when
   * their jobs come (on time, late, early), replies, late answers, retakes. Returns the moments the
   * messages counted from, as Telegram would count them.
   */
  function traffic(seed: number, pace: ChatPace, steps = 400): number[] {
    const r = rng(seed);
    const line: ChatLine = emptyLine();
    const counted: number[] = [];
    const pending = new Map<string, number>();
    let now = 1_000_000;
    let n = 0;
    const took = (at: number) => {
      let moment = at;
      const roll = r();
      if (roll < 0.2) {
        // Getting ready took a while: the line is asked again for the real moment.
        const again = retakeIn(line, { from: at, now: at + 11 + Math.floor(r() * 200), maxWaitMs: 100 }, pace);
        if (!again.taken) return; // a keyed send comes back later: nothing left
        moment = Math.max(again.at, at);
      }
      if (r() < 0.3) {
        const answered = moment + Math.floor(r() * 400);
        answeredIn(line, answered, pace, moment);
        moment = answered;
      }
      counted.push(moment);
    };
    for (let s = 0; s < steps; s++) {
      now += Math.floor(r() < 0.6 ? r() * 300 : r() * 3_000);
      const what = r();
      if (what < 0.35) {
        const key = `n${n++}`;
        const res = reserveIn(line, { key, now, earliest: now + (r() < 0.2 ? Math.floor(r() * 5_000) : 0), urgent: r() < 0.3 }, pace);
        pending.set(key, res.at);
        for (const m of res.moved) pending.set(m.key, m.at);
      } else if (what < 0.7 && pending.size > 0) {
        // A job comes at its slot, or late, or (it could not be moved) early.
        const [key] = [...pending.keys()].sort((a, b) => pending.get(a)! - pending.get(b)!);
        const slot = pending.get(key!)!;
        const at = Math.max(now, slot + Math.floor((r() - 0.2) * 500));
        now = Math.max(now, at);
        const res = takeIn(line, { key: key!, urgent: line.slots[key!]?.urgent ?? false, now, maxWaitMs: 150 }, pace);
        if (res.taken) {
          pending.delete(key!);
          took(res.at);
        } else pending.set(key!, res.at);
      } else {
        const res = takeIn(line, { urgent: false, now, maxWaitMs: 10_000 }, pace);
        if (res.taken) took(res.at);
      }
    }
    return counted.sort((a, b) => a - b);
  }

  /** The stand-in's own limiter, given the moments in the order they arrive: the first it refuses. */
  function refused(moments: readonly number[], burst: number): number | undefined {
    const limiter = new RateLimiter({ perChatPerSecond: 1, perChatBurst: burst });
    return moments.find((m) => limiter.take(42, m) !== null);
  }

  // 1 ms of slack a message, as the gateway adds 20: the stand-in counts a second as 1 000 ms exactly.
  const gateway: ChatPace = { intervalMs: 1_001, burst: 3 };

  it.each(Array.from({ length: 40 }, (_, i) => i + 1))('seed %i: never a 429', (seed) => {
    const moments = traffic(seed, gateway);
    expect(moments.length).toBeGreaterThan(100);
    expect(refused(moments, 3)).toBeUndefined();
    // The burst is used: somewhere three messages went within one second.
    expect(moments.some((m, i) => i >= 2 && m - moments[i - 2]! < 1_000)).toBe(true);
  });

  it('the oracle can say no: a line with a bigger burst than the stand-in’s is refused', () => {
    const seeds = Array.from({ length: 10 }, (_, i) => i + 1);
    expect(seeds.some((seed) => refused(traffic(seed, { intervalMs: 1_001, burst: 4 }), 3) !== undefined)).toBe(true);
    expect(seeds.some((seed) => refused(traffic(seed, { intervalMs: 1_001, burst: 3 }), 1) !== undefined)).toBe(true);
  });

  it('fit finds the earliest moment that keeps the bucket: no earlier one would do', () => {
    const r = rng(7);
    /** The rule, by brute force: x conforms, and no point that conformed without x stops conforming. */
    const keeps = (points: number[], x: number) => {
      const without = runBucket(0, points, BURST).ok;
      const all = [...points, x].sort((a, b) => a - b);
      const xi = all.lastIndexOf(x);
      const withX = runBucket(0, all, BURST).ok;
      return withX[xi] && points.every((_, i) => !without[i] || withX[i < xi ? i : i + 1]);
    };
    for (let c = 0; c < 300; c++) {
      const points = Array.from({ length: Math.floor(r() * 9) }, () => Math.floor(r() * 600) * 10).sort((a, b) => a - b);
      const start = Math.floor(r() * 600) * 10;
      const at = fit(0, points, start, BURST);
      expect(keeps(points, at)).toBe(true);
      for (let x = start; x < at; x += 10) expect(keeps(points, x)).toBe(false);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// The stores, two instances (two processes) at once.

let t: TestDatabase;
const ns = `test-slots-${randomUUID().slice(0, 8)}`;
beforeAll(async () => {
  t = await createTestDatabase();
}, 30_000);
afterAll(async () => {
  await wipeRedisPrefix(SHARED_REDIS, ns);
  await t?.drop();
});

const stores: Array<[string, () => ChatSendSlots]> = [
  ['Redis', () => redisChatSendSlots(SHARED_REDIS, ns)],
  ['PostgreSQL', () => postgresChatSendSlots(t.url, 'test')],
];

/** The first of `moments` (any order) that the stand-in's limiter refuses for one chat, sent in time order. */
function refusedBy(limits: ConstructorParameters<typeof RateLimiter>[0], chat: number, moments: readonly number[]): number | undefined {
  const limiter = new RateLimiter(limits);
  return [...moments].sort((x, y) => x - y).find((m) => limiter.take(chat, m) !== null);
}

describe.each(stores)('the shared lines on %s', (_name, make) => {
  it('two processes reserving and taking in one chat at once keep its bucket: 3 at once, then one a second', async () => {
    const [a, b] = [make(), make()];
    a.spacing = b.spacing = SPACING;
    const chat = 900_000 + Math.floor(Math.random() * 1_000_000);
    const bucket = { perChatPerSecond: 1, perChatBurst: 3, perGroupPerMinute: 20 };
    try {
      const now = Date.now();
      const reserved = await Promise.all(Array.from({ length: 30 }, (_, i) => (i % 2 ? a : b).reserve(chat, routine(`k${i}`, now))));
      const ats = reserved.map((r) => r.at).sort((x, y) => x - y);
      expect(ats.slice(0, 4)).toEqual([now, now, now, now + I]);
      expect(refusedBy(bucket, chat, ats)).toBeUndefined();
      // Replies from both at once: each takes its own token.
      const chat2 = chat + 1;
      const taken = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).take(chat2, { urgent: false, now, maxWaitMs: 60_000 })));
      const moments = taken.map((r) => r.at).sort((x, y) => x - y);
      expect(taken.every((r) => r.taken)).toBe(true);
      expect(moments).toEqual([now, now, now, ...Array.from({ length: 7 }, (_, i) => now + (i + 1) * I)]);
      expect(refusedBy(bucket, chat2, moments)).toBeUndefined();
      // A group has no burst: 20 a minute, one every 3 s.
      const group = -chat;
      const g = await Promise.all(Array.from({ length: 4 }, (_, i) => (i % 2 ? a : b).reserve(group, routine(`g${i}`, now))));
      expect(g.map((r) => r.at).sort((x, y) => x - y)).toEqual([now, now + 3_000, now + 6_000, now + 9_000]);
      // What one process holds, the other sees.
      await a.hold(chat2, now + 60_000);
      expect(await b.take(chat2, { key: 'x', urgent: true, now, maxWaitMs: 100 })).toEqual({ taken: false, at: now + 60_000 });
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  }, 30_000);
});
