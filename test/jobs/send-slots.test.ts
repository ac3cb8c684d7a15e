/**
 * The chats' shared send lines: the pure decisions (reserve when a send is scheduled, take right before
 * it leaves, urgent ahead of routine), and the two stores that hold them for every process (Redis, and
 * the chat_send_slots table), each checked with two store instances racing for one chat.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresChatSendSlots, redisChatSendSlots } from '../../src/jobs/send-slot-stores.js';
import { answeredIn, COMMITTED_MS, emptyLine, holdIn, memoryChatSendSlots, reserveIn, takeIn, type ChatSendSlots } from '../../src/jobs/send-slots.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { SHARED_REDIS, wipeRedisPrefix } from './harness.js';

const I = 1_000;
const SPACING = { perChatMs: I, perGroupMs: 3_000 };
const routine = (key: string, now: number, earliest = now) => ({ key, now, earliest, urgent: false });
const urgent = (key: string, now: number, earliest = now) => ({ key, now, earliest, urgent: true });

describe('reserving a slot when the send is scheduled', () => {
  it('routine sends line up an interval apart, in order; a key keeps the slot it holds', () => {
    const line = emptyLine();
    expect(['a', 'b', 'c'].map((k) => reserveIn(line, routine(k, 0), I).at)).toEqual([0, 1_000, 2_000]);
    expect(reserveIn(line, routine('b', 500), I).at).toBe(1_000);
    // Not before its notBefore, and still after the line.
    expect(reserveIn(line, routine('d', 0, 5_000), I).at).toBe(5_000);
    expect(reserveIn(line, routine('e', 0), I).at).toBe(6_000);
  });

  it('an urgent send takes the earliest slot after those already due; routine ones move later, never earlier, in their order', () => {
    const line = emptyLine();
    for (const k of ['r0', 'r1', 'r2', 'r3']) reserveIn(line, routine(k, 0), I);
    const u = reserveIn(line, urgent('u', 100), I);
    // r0 (due now) is spoken for: the escalation goes next, at 1 000, ahead of r1–r3.
    expect(u.at).toBe(1_000);
    expect(u.moved).toEqual([
      { key: 'r1', at: 2_000 },
      { key: 'r2', at: 3_000 },
      { key: 'r3', at: 4_000 },
    ]);
    // A second urgent one goes after the first, and the routine line moves once more.
    const u2 = reserveIn(line, urgent('u2', 200), I);
    expect(u2.at).toBe(2_000);
    expect(u2.moved.map((m) => m.key)).toEqual(['r1', 'r2', 'r3']);
    expect(line.slots.r1!.at).toBe(3_000);
    // A routine send scheduled now goes to the end of the line.
    expect(reserveIn(line, routine('r4', 300), I).at).toBe(6_000);
  });

  it('an urgent send keeps clear of slots due within a moment (their jobs may be leaving)', () => {
    const line = emptyLine();
    reserveIn(line, routine('r0', 0), I); // 0
    reserveIn(line, routine('r1', 0), I); // 1 000
    expect(reserveIn(line, urgent('u', 1_000 - COMMITTED_MS), I).at).toBe(2_000);
    expect(line.slots.r1!.at).toBe(1_000);
  });
});

describe('taking the slot right before the request', () => {
  it('a send at its slot takes it, and the chat is busy an interval from then', () => {
    const line = emptyLine();
    reserveIn(line, routine('a', 0), I);
    reserveIn(line, routine('b', 0), I);
    expect(takeIn(line, { key: 'a', urgent: false, now: 0, maxWaitMs: 100 }, I)).toEqual({ taken: true, at: 0 });
    expect(line.freeAt).toBe(1_000);
    expect(line.slots.a).toBeUndefined();
    // b, a little early, waits in place; its answer came late, so the chat counts from the answer.
    answeredIn(line, 40, I);
    expect(takeIn(line, { key: 'b', urgent: false, now: 960, maxWaitMs: 100 }, I)).toEqual({ taken: true, at: 1_040 });
  });

  it('a routine send that comes before its slot (an urgent one took it) is told to come back, its slot kept', () => {
    const line = emptyLine();
    for (const k of ['r0', 'r1']) reserveIn(line, routine(k, 0), I);
    reserveIn(line, urgent('u', 100), I); // u at 1 000, r1 moved to 2 000
    takeIn(line, { key: 'r0', urgent: false, now: 0, maxWaitMs: 100 }, I);
    // r1's job could not be moved and fires at its old time: not taken.
    expect(takeIn(line, { key: 'r1', urgent: false, now: 1_000, maxWaitMs: 100 }, I)).toEqual({ taken: false, at: 2_000 });
    expect(takeIn(line, { key: 'u', urgent: true, now: 1_000, maxWaitMs: 100 }, I)).toEqual({ taken: true, at: 1_000 });
    expect(takeIn(line, { key: 'r1', urgent: false, now: 2_000, maxWaitMs: 100 }, I)).toEqual({ taken: true, at: 2_000 });
  });

  it('a routine send without a slot of its own yields to an urgent slot due within an interval', () => {
    const line = emptyLine();
    reserveIn(line, urgent('u', 0, 500), I); // u at 500
    expect(takeIn(line, { key: 'late', urgent: false, now: 0, maxWaitMs: 100 }, I)).toEqual({ taken: false, at: 1_500 });
    // A reply does not yield: the person is waiting.
    expect(takeIn(line, { urgent: false, now: 0, maxWaitMs: 10_000 }, I)).toEqual({ taken: true, at: 0 });
  });

  it('a reply waits after the chat’s last message, whoever sent it; after a 429 nothing goes before the hold ends', () => {
    const line = emptyLine();
    expect(takeIn(line, { urgent: false, now: 0, maxWaitMs: 10_000 }, I).at).toBe(0);
    expect(takeIn(line, { urgent: false, now: 300, maxWaitMs: 10_000 }, I).at).toBe(1_000);
    holdIn(line, 9_000);
    expect(takeIn(line, { key: 'k', urgent: true, now: 2_000, maxWaitMs: 100 }, I)).toEqual({ taken: false, at: 9_000 });
    expect(takeIn(line, { urgent: false, now: 2_000, maxWaitMs: 10_000 }, I)).toEqual({ taken: true, at: 9_000 });
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

describe.each(stores)('the shared lines on %s', (_name, make) => {
  it('two processes reserving and taking in one chat at once never share a moment', async () => {
    const [a, b] = [make(), make()];
    a.spacing = b.spacing = SPACING;
    const chat = 900_000 + Math.floor(Math.random() * 1_000_000);
    try {
      const now = Date.now();
      const reserved = await Promise.all(Array.from({ length: 30 }, (_, i) => (i % 2 ? a : b).reserve(chat, routine(`k${i}`, now))));
      const ats = reserved.map((r) => r.at).sort((x, y) => x - y);
      for (let i = 1; i < ats.length; i++) expect(ats[i]! - ats[i - 1]!).toBeGreaterThanOrEqual(I);
      expect(ats[0]).toBe(now);
      // Replies from both at once: each takes its own moment, an interval apart.
      const chat2 = chat + 1;
      const taken = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).take(chat2, { urgent: false, now, maxWaitMs: 60_000 })));
      const moments = taken.map((r) => r.at).sort((x, y) => x - y);
      expect(taken.every((r) => r.taken)).toBe(true);
      for (let i = 1; i < moments.length; i++) expect(moments[i]! - moments[i - 1]!).toBeGreaterThanOrEqual(I);
      // What one process holds, the other sees.
      await a.hold(chat2, now + 60_000);
      expect(await b.take(chat2, { key: 'x', urgent: true, now, maxWaitMs: 100 })).toEqual({ taken: false, at: now + 60_000 });
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  }, 30_000);
});
