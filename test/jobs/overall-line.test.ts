/**
 * The overall send line (Telegram's 30 a second, all chats together), shared by every process: the pure
 * window decisions, the two stores (Redis, the chat_send_slots row of chat 0) with two store instances
 * racing as two processes would, and two gateways sharing it against the Bot API stand-in's flood limits.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TelegramGateway } from '../../src/channels/telegram/telegram-gateway.js';
import { memoryOverallLine, overallAnsweredIn, overallRetakeIn, overallTakeIn, parseOverall, type OverallSendLine } from '../../src/jobs/overall-line.js';
import { postgresChatSendSlots, redisChatSendSlots } from '../../src/jobs/send-slot-stores.js';
import { memoryChatSendSlots, type ChatSendSlots } from '../../src/jobs/send-slots.js';
import { startBotApiServer } from '../../src/sandbox/bot-api-server.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { SHARED_REDIS, wipeRedisPrefix } from './harness.js';

const W = 1_000;
const MAX = 30;

/** A seeded generator of numbers in [0, 1): the walks below are the same on every run. */
function seeded(seed: number): () => number {
  return () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
}

/** The most moments in any sliding window (t − w, t], the stand-in's count. */
function busiest(moments: readonly number[], windowMs = W): number {
  const sorted = [...moments].sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while (sorted[j]! <= sorted[i]! - windowMs) j++;
    most = Math.max(most, i - j + 1);
  }
  return most;
}

describe('the overall window, as a list of moments', () => {
  const take = (m: number[], now: number, max = 3, notBefore?: number) => overallTakeIn(m, { now, notBefore, max, windowMs: W });

  it('lets out `max` at once, then each a window after the one `max` before it', () => {
    const m: number[] = [];
    expect([take(m, 0), take(m, 10), take(m, 20)]).toEqual([0, 10, 20]);
    expect(take(m, 30)).toBe(1_000); // the 4th waits until the 1st is a window old
    expect(take(m, 40)).toBe(1_010);
    // Moments a window old no longer count: at 1 005 the 1st (0) is out, the 4th is still ahead. They
    // are kept a while longer, for a decision asked for an earlier moment that comes after this one.
    expect(take(m, 1_005)).toBe(1_020);
    expect(m).toEqual([0, 10, 20, 1_000, 1_010, 1_020]);
    expect(take(m, 5_000)).toBe(5_000);
    expect(m).toEqual([5_000]);
  });

  it('a request counts from its answer once answered (Telegram had it somewhere before then)', () => {
    const m: number[] = [];
    take(m, 0, 2);
    take(m, 10, 2);
    expect(overallAnsweredIn(m, 0, 150)).toBe(true);
    expect(take(m, 20, 2)).toBe(1_010); // the second (at 10) is now the older one
    expect(take(m, 1_010, 2)).toBe(1_150); // then the first, counted from its answer
    // An answer no later than the moment, or for a moment no longer kept, changes nothing.
    expect(overallAnsweredIn(m, 1_010, 1_010)).toBe(false);
    expect(overallAnsweredIn(m, 7, 900)).toBe(false);
    expect(m).toEqual([10, 150, 1_010, 1_150]);
  });

  it('right before it leaves, a request placed a window after others moves past their answers', () => {
    const m: number[] = [];
    [0, 0, 0].forEach(() => take(m, 0));
    expect(take(m, 0)).toBe(1_000);
    // The three that left together were answered over 60 ms: the fourth would land in their second.
    for (const answer of [40, 50, 60]) overallAnsweredIn(m, 0, answer);
    expect(overallRetakeIn(m, { from: 1_000, now: 1_000, max: 3, windowMs: W })).toBe(1_040);
    expect(m).toEqual([40, 50, 60, 1_040]);
    // With room in the window ending now it keeps now (a few ms late is now, not its old moment).
    // (40 is a window old by then, and no longer counted.)
    expect(overallRetakeIn(m, { from: 1_040, now: 1_045, max: 3, windowMs: W })).toBe(1_045);
    expect(m).toEqual([40, 50, 60, 1_045]);
  });

  it('a retake does not count later requests placed later than they asked: they ask for themselves', () => {
    const m = [0, 10, 1_500, 1_500];
    const ahead = [1_500, 1_500];
    expect(overallRetakeIn(m, { from: 500, now: 500, max: 2, windowMs: W }, [], ahead)).toBe(1_000);
    expect(m).toEqual([0, 10, 1_000, 1_500, 1_500]);
    expect(ahead).toEqual([1_000, 1_500, 1_500]);
  });

  it('a retake counts a later request that leaves at its moment: a retake asked for a little ahead of now is not asked again', () => {
    // One request asked for 80 ms ahead (its store's answer time) and leaves then; one asked after it
    // for 5 ms ahead is decided after it, at an earlier moment.
    const m = [100, 1_000, 1_080];
    const ahead: number[] = [];
    // The window ending at 1 080 holds 100 and 1 080: at 1 005 there would be three in it.
    expect(overallRetakeIn(m, { from: 1_000, now: 1_005, max: 2, windowMs: W }, [], ahead)).toBe(1_100);
    expect(m).toEqual([100, 1_080, 1_100]);
    expect(ahead).toEqual([1_100]);
  });

  it('whatever lead each retake asks for, and in whatever order they are decided, no window holds more than `max`', () => {
    const rnd = seeded(5);
    const m: number[] = [];
    const ahead: number[] = [];
    const left: number[] = [];
    let waiting: number[] = [];
    let now = 0;
    for (let i = 0; i < 3_000; i++) {
      now += rnd() < 0.5 ? 0 : Math.floor(rnd() * 160);
      // Those due ask again in any order, each for a moment its own lead ahead (0 to 120 ms).
      const due = waiting.filter((at) => at <= now).sort(() => rnd() - 0.5);
      waiting = waiting.filter((at) => at > now);
      for (const from of due) {
        const asked = now + Math.floor(rnd() * 120);
        const at = overallRetakeIn(m, { from, now: asked, max: MAX, windowMs: W }, [], ahead);
        if (at > asked) waiting.push(at);
        else left.push(at);
      }
      const at = overallTakeIn(m, { now, max: MAX, windowMs: W }, [], ahead);
      if (at > now) waiting.push(at);
      else left.push(at);
    }
    expect(left.length).toBeGreaterThan(2_000);
    expect(busiest(left)).toBeLessThanOrEqual(MAX);
    expect(busiest(left)).toBe(MAX);
  });

  it('a call that must wait for its chat first takes its place no earlier than that', () => {
    const m: number[] = [];
    expect(take(m, 0, 2, 500)).toBe(500);
    expect(take(m, 0, 2)).toBe(0);
    expect(take(m, 0, 2, 200)).toBe(1_000);
  });

  it('no limit keeps nothing', () => {
    const m: number[] = [];
    expect(overallTakeIn(m, { now: 5, max: 0, windowMs: W })).toBe(5);
    expect(m).toEqual([]);
  });

  it('whatever the order and timing of the requests, no window holds more than `max`', () => {
    // A seeded walk: bursts and lulls, answers a few ms to 300 ms after the moment.
    const rnd = seeded(7);
    const m: number[] = [];
    const final: number[] = [];
    let now = 0;
    for (let i = 0; i < 2_000; i++) {
      now += rnd() < 0.7 ? 0 : Math.floor(rnd() * 120);
      const at = take(m, now, MAX);
      // Answered before anything later is reserved: the list is what Telegram counted.
      const answer = at + Math.floor(rnd() * 300);
      overallAnsweredIn(m, at, answer);
      final.push(answer);
    }
    expect(busiest(final)).toBeLessThanOrEqual(MAX);
    expect(busiest(final)).toBe(MAX);
  });

  it('a first message does not queue behind follow-ups still ahead; they ask again and go after it', () => {
    const m: number[] = [];
    const y: number[] = [];
    for (let i = 0; i < 3; i++) overallTakeIn(m, { now: 0, max: 3, windowMs: W }, y);
    // Three follow-ups find the second full: a window later, yielding.
    const follow = [10, 11, 12].map((now) => overallTakeIn(m, { now, max: 3, windowMs: W, yields: true }, y));
    expect(follow).toEqual([1_000, 1_000, 1_000]);
    expect(y).toEqual([1_000, 1_000, 1_000]);
    // A card: as early as the three that went allow, not behind the follow-ups.
    expect(overallTakeIn(m, { now: 20, max: 3, windowMs: W }, y)).toBe(1_000);
    // Without yielding, the same card would have waited for the follow-ups' second.
    const plain: number[] = [0, 0, 0, 1_000, 1_000, 1_000];
    expect(overallTakeIn(plain, { now: 20, max: 3, windowMs: W })).toBe(2_000);
    // Right before leaving, each follow-up asks again and counts the card: one of them moves on.
    const left = [0, 0, 0, 1_000];
    for (const from of follow) {
      let [at, now] = [overallRetakeIn(m, { from, now: 1_000, max: 3, windowMs: W, yields: true }, y), 1_000];
      // Still ahead: it waits for that moment and asks again then, until one finds room at once.
      for (let round = 0; at > now && round < 10; round++) [at, now] = [overallRetakeIn(m, { from: at, now: at, max: 3, windowMs: W, yields: true }, y), at];
      left.push(at);
    }
    expect(left.sort((a, b) => a - b)).toEqual([0, 0, 0, 1_000, 1_000, 1_000, 2_000]);
    expect(busiest(left)).toBeLessThanOrEqual(3);
    // Gone: none of them is still ahead as a follow-up.
    expect(y).toEqual([]);
  });

  it('first messages and follow-ups together, each asking again at its moment until one finds room: no window holds more than `max`, and first messages wait less', () => {
    /** A seeded walk; `yielding` false: the follow-ups are counted like any request. First messages' total wait. */
    const walk = (yielding: boolean) => {
      const rnd = seeded(11);
      const m: number[] = [];
      const y: number[] = [];
      const ahead: number[] = [];
      const left: number[] = [];
      /** Requests placed later than they asked: each asks again at its moment, in the order of the moments. */
      let waiting: Array<{ at: number; yields: boolean; since: number; first: boolean }> = [];
      let now = 0;
      let firstWaits = 0;
      const leave = (r: { at: number; since: number; first: boolean }) => {
        left.push(r.at);
        if (r.first) firstWaits += r.at - r.since;
      };
      for (let i = 0; i < 3_000; i++) {
        now += rnd() < 0.6 ? 0 : Math.floor(rnd() * 60);
        for (;;) {
          waiting.sort((p, q) => p.at - q.at);
          const next = waiting[0];
          if (!next || next.at > now) break;
          waiting = waiting.slice(1);
          const at = overallRetakeIn(m, { from: next.at, now: next.at, max: MAX, windowMs: W, yields: next.yields }, y, ahead);
          if (at > next.at) waiting.push({ ...next, at });
          else leave({ ...next, at });
        }
        // About 80 requests a second, a quarter of them first messages: those alone would fit in the second.
        const first = rnd() < 0.25;
        const yields = yielding && !first;
        const at = overallTakeIn(m, { now, max: MAX, windowMs: W, yields }, y, ahead);
        if (at > now) waiting.push({ at, yields, since: now, first });
        else leave({ at, since: now, first });
      }
      return { left, firstWaits, y, waiting };
    };
    const yielding = walk(true);
    expect(busiest(yielding.left)).toBeLessThanOrEqual(MAX);
    expect(busiest(yielding.left)).toBe(MAX);
    // Only the follow-ups still waiting are ahead as follow-ups.
    expect(yielding.y.length).toBeLessThanOrEqual(yielding.waiting.filter((w) => w.yields).length);
    const plain = walk(false);
    expect(busiest(plain.left)).toBeLessThanOrEqual(MAX);
    console.info(`first messages waited ${yielding.firstWaits} ms in all with follow-ups yielding, ${plain.firstWaits} ms without`);
    expect(yielding.firstWaits).toBeLessThan(plain.firstWaits / 2);
  });

  it('an unreadable stored list is an empty one', () => {
    expect(parseOverall(null)).toEqual([]);
    expect(parseOverall({ moments: 'x' })).toEqual([]);
    expect(parseOverall({ moments: [3, 'a', 1] })).toEqual([1, 3]);
  });
});

let t: TestDatabase;
const ns = `test-overall-${randomUUID().slice(0, 8)}`;
beforeAll(async () => {
  t = await createTestDatabase();
}, 30_000);
afterAll(async () => {
  await wipeRedisPrefix(SHARED_REDIS, ns);
  await t?.drop();
});

/** A fresh overall line, and a way to open it as one more process would: each test gets a line of its own. */
const stores: Array<[string, () => Promise<() => ChatSendSlots>]> = [
  [
    'Redis',
    async () => {
      const name = `${ns}:${randomUUID().slice(0, 6)}`;
      return () => redisChatSendSlots(SHARED_REDIS, name);
    },
  ],
  [
    // One database holds one deployment's lines (the row of chat 0); the test database is this file's own.
    'PostgreSQL',
    async () => {
      await t.sql`delete from chat_send_slots where chat_id = 0`;
      return () => postgresChatSendSlots(t.url, 'test');
    },
  ],
];

describe.each(stores)('the overall line on %s', (name, line) => {
  it('two processes reserving 90 moments at once never put more than 30 in a sliding second', async () => {
    const make = await line();
    const [a, b] = [make(), make()];
    try {
      const t0 = Date.now();
      const ats = await Promise.all(Array.from({ length: 90 }, (_, i) => (i % 2 ? a : b).overall.take({ now: Date.now(), max: MAX, windowMs: W })));
      const sorted = ats.sort((x, y) => x - y);
      expect(busiest(sorted)).toBeLessThanOrEqual(MAX);
      // Three seconds' worth: 30 now, 30 a second later, 30 a second after that — no more waiting than that.
      expect(sorted[MAX]! - sorted[0]!).toBeGreaterThanOrEqual(W);
      expect(sorted[89]! - t0).toBeLessThan(2 * W + 500);
      console.info(`[${name}] 90 moments reserved by two instances in ${Date.now() - t0} ms`);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  }, 30_000);

  it('a retake after the answers came in is the same on this store as in the decisions', async () => {
    const make = await line();
    const [a, b] = [make(), make()];
    try {
      const base = Date.now() + 120_000;
      const take = (s: ChatSendSlots) => s.overall.take({ now: base, max: 3, windowMs: W });
      await Promise.all([take(a), take(b), take(a)]);
      expect(await take(b)).toBe(base + 1_000);
      await Promise.all([40, 50, 60].map((d, i) => (i % 2 ? a : b).overall.answered(base, base + d, W)));
      expect(await a.overall.retake({ from: base + 1_000, now: base + 1_000, max: 3, windowMs: W })).toBe(base + 1_040);
      expect(await b.overall.retake({ from: base + 1_040, now: base + 1_045, max: 3, windowMs: W })).toBe(base + 1_045);
      // The next takes its place a window after the second of them (at 50): the list holds 50, 60, 1 045.
      expect(await take(a)).toBe(base + 1_050);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  }, 30_000);

  it('a retake counts a later request that leaves at its moment, on this store as in the decisions', async () => {
    const make = await line();
    const [a, b] = [make(), make()];
    try {
      const base = Date.now() + 240_000;
      const pace = { max: 2, windowMs: W };
      expect(await a.overall.take({ now: base, ...pace })).toBe(base);
      // One that waited for its chat leaves at 1 080, as it asked; one placed later asks again.
      expect(await b.overall.take({ now: base, notBefore: base + 1_080, ...pace })).toBe(base + 1_080);
      expect(await a.overall.take({ now: base, ...pace })).toBe(base + 1_000);
      await a.overall.answered(base, base + 100, W);
      // The window ending at 1 080 holds 100 and 1 080: the retake goes past it, to a window after 100.
      expect(await b.overall.retake({ from: base + 1_000, now: base + 1_005, ...pace })).toBe(base + 1_100);
      // The same decisions on a plain list.
      const [m, ahead] = [[] as number[], [] as number[]];
      overallTakeIn(m, { now: base, ...pace }, [], ahead);
      overallTakeIn(m, { now: base, notBefore: base + 1_080, ...pace }, [], ahead);
      overallTakeIn(m, { now: base, ...pace }, [], ahead);
      overallAnsweredIn(m, base, base + 100, [], ahead);
      expect(overallRetakeIn(m, { from: base + 1_000, now: base + 1_005, ...pace }, [], ahead)).toBe(base + 1_100);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  }, 30_000);

  it('a first message is not counted behind follow-ups still ahead, on this store as in the decisions', async () => {
    const make = await line();
    const [a, b] = [make(), make()];
    try {
      const base = Date.now() + 180_000;
      for (let i = 0; i < 3; i++) await (i % 2 ? a : b).overall.take({ now: base, max: 3, windowMs: W });
      const follow = await Promise.all([a, b, a].map((s, i) => s.overall.take({ now: base + 10 + i, max: 3, windowMs: W, yields: true })));
      expect(follow).toEqual([base + 1_000, base + 1_000, base + 1_000]);
      expect(await b.overall.take({ now: base + 20, max: 3, windowMs: W })).toBe(base + 1_000);
      // The follow-ups ask again at their moment: two find room, the third goes a window later.
      const again = [];
      for (const s of [a, b, a]) again.push(await s.overall.retake({ from: base + 1_000, now: base + 1_000, max: 3, windowMs: W, yields: true }));
      expect(again.sort((x, y) => x - y)).toEqual([base + 1_000, base + 1_000, base + 2_000]);
      // The one that went on is a follow-up still: the next card is not counted behind it.
      expect(await a.overall.take({ now: base + 1_500, max: 3, windowMs: W })).toBe(base + 2_000);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  }, 30_000);

  it('an answer one process tells moves the moment the other counts from', async () => {
    const make = await line();
    const [a, b] = [make(), make()];
    try {
      // Moments far from the last test's, so that none of its are still in the window.
      const base = Date.now() + 60_000;
      const take = (s: ChatSendSlots, now: number) => s.overall.take({ now, max: 2, windowMs: W });
      expect(await take(a, base)).toBe(base);
      expect(await take(b, base + 10)).toBe(base + 10);
      await a.overall.answered(base, base + 150, W);
      expect(await take(b, base + 20)).toBe(base + 1_010);
      expect(await take(a, base + 1_010)).toBe(base + 1_150);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  }, 30_000);
});

describe('two gateways sending bulk notices against the stand-in’s flood limits', () => {
  const CHATS = 80;

  async function sendFromTwo(slots: [ChatSendSlots, ChatSendSlots]) {
    const api = await startBotApiServer({ limits: { globalPerSecond: MAX, perChatPerSecond: 1, perChatBurst: 3, perGroupPerMinute: 20 } });
    const base = 300_000 + Math.floor(Math.random() * 100_000) * 100;
    const chats = Array.from({ length: CHATS }, (_, i) => base + i);
    for (const id of chats) api.addUser({ id, first_name: `o${id}`, language_code: 'zh' });
    const gateways = slots.map((s) => new TelegramGateway({ apiRoot: api.url, token: api.token, chatSlots: s }));
    try {
      const t0 = Date.now();
      const results = await Promise.allSettled(chats.map((chat, i) => gateways[i % 2]!.sendMessage(chat, { text: `overall-${i}` })));
      return { hits: [...api.rateLimitHits], took: Date.now() - t0, failed: results.filter((r) => r.status === 'rejected').length };
    } finally {
      await api.close();
    }
  }

  const shared: Array<[string, () => Promise<[ChatSendSlots, ChatSendSlots]>]> = [
    [
      'one memory store',
      async () => {
        const s = memoryChatSendSlots();
        return [s, s];
      },
    ],
    [
      'Redis, a store each',
      async () => {
        const name = `${ns}:gw-${randomUUID().slice(0, 6)}`;
        return [redisChatSendSlots(SHARED_REDIS, name), redisChatSendSlots(SHARED_REDIS, name)];
      },
    ],
    [
      'PostgreSQL, a store each',
      async () => {
        await t.sql`delete from chat_send_slots where chat_id = 0`;
        return [postgresChatSendSlots(t.url, 'test'), postgresChatSendSlots(t.url, 'test')];
      },
    ],
  ];

  it.each(shared)(`${CHATS} notices to ${CHATS} chats at once, two gateways on %s: no answer of 429`, async (name, make) => {
    const slots = await make();
    try {
      const { hits, took, failed } = await sendFromTwo(slots);
      console.info(`[${name}] ${CHATS} notices from two gateways in ${took} ms`);
      expect(hits).toEqual([]);
      expect(failed).toBe(0);
      // 80 at 30 a sliding second: the last ones go two seconds after the first. The upper bound only
      // catches a line that lets far fewer through (one at a time would take 80 windows): on a shared
      // machine, with other test files running, the PostgreSQL row lock alone has taken 4.5 s.
      expect(took).toBeGreaterThanOrEqual(2 * W);
      expect(took).toBeLessThan(10 * W);
    } finally {
      await Promise.all([...new Set(slots)].map((s) => s.close()));
    }
  }, 30_000);

  it('on a line each, as each process paced alone before, the stand-in answers 429: the case above can fail', async () => {
    const { hits } = await sendFromTwo([memoryChatSendSlots(), memoryChatSendSlots()]);
    expect(hits.length).toBeGreaterThan(0);
    expect(hits.every((h) => h.scope === 'global')).toBe(true);
  }, 30_000);
});

describe('the gateway on the shared overall line', () => {
  /** A Bot API that answers every call at once, noting when and to which chat. */
  function stubApi() {
    const answered: Array<{ chat: number; at: number }> = [];
    const fetchOk = (async (_url: string, init: { body: string }) => {
      answered.push({ chat: (JSON.parse(init.body) as { chat_id: number }).chat_id, at: Date.now() });
      return new Response(JSON.stringify({ ok: true, result: { message_id: answered.length } }), { headers: { 'content-type': 'application/json' } });
    }) as unknown as typeof fetch;
    const reply = async (_method: string, payload: Record<string, unknown>) => {
      answered.push({ chat: payload.chat_id as number, at: Date.now() });
      return { ok: true as const, result: { message_id: answered.length } };
    };
    return { answered, fetchOk, reply };
  }

  /** The memory lines, with the overall line's takes counted and, once `failing` is set, refused. */
  function spiedSlots() {
    const slots = memoryChatSendSlots();
    const state = { takes: 0, failing: false };
    const take = slots.overall.take;
    slots.overall.take = async (req) => {
      if (state.failing) throw new Error('Redis away');
      state.takes++;
      return take(req);
    };
    return { slots, state };
  }

  it('a reply in a private chat takes no place in the shared line; a bulk send and a reply in a group do', async () => {
    const { fetchOk, reply } = stubApi();
    const { slots, state } = spiedSlots();
    const gw = new TelegramGateway({ apiRoot: 'http://stand-in', token: '1:abc', fetch: fetchOk, chatSlots: slots });
    await gw.api.call(reply, 'sendMessage', { chat_id: 3, text: 'the form' }, undefined, { mode: 'interactive' });
    expect(state.takes).toBe(0);
    await gw.sendMessage(4, { text: 'notice' });
    expect(state.takes).toBe(1);
    await gw.api.call(reply, 'sendMessage', { chat_id: -5, text: 'in the group' }, undefined, { mode: 'interactive' });
    expect(state.takes).toBe(2);
  });

  it('a first message asked after the second is full goes before the follow-ups that asked earlier', async () => {
    const { fetchOk, answered } = stubApi();
    const slots = memoryChatSendSlots();
    const gw = new TelegramGateway({ apiRoot: 'http://stand-in', token: '1:abc', fetch: fetchOk, chatSlots: slots });
    const base = 700_000 + Math.floor(Math.random() * 10_000) * 100;
    // The second is full: 30 to 30 chats.
    await Promise.all(Array.from({ length: MAX }, (_, i) => gw.sendMessage(base + i, { text: `first-${i}` })));
    const t0 = Math.min(...answered.map((a) => a.at));
    // A second's worth of follow-ups ask, then a card: the card goes in the next second, not the one after.
    const followUps = Array.from({ length: MAX }, (_, i) => gw.sendMessage(base + 100 + i, { text: `follow-${i}` }, { followUp: true }));
    await new Promise((r) => setTimeout(r, 50));
    const card = gw.sendMessage(base + 200, { text: 'card' });
    await Promise.all([...followUps, card]);
    const cardAt = answered.find((a) => a.chat === base + 200)!.at;
    expect(cardAt - t0).toBeLessThan(1.5 * W);
    expect(Math.max(...answered.map((a) => a.at)) - t0).toBeGreaterThanOrEqual(2 * W);
    expect(busiest(answered.map((a) => a.at))).toBeLessThanOrEqual(MAX);
  }, 30_000);

  it('when the shared line fails, this process’s own pacer holds, knowing the moments the shared line gave', async () => {
    const { answered, fetchOk } = stubApi();
    const { slots, state } = spiedSlots();
    const errors: unknown[] = [];
    const gw = new TelegramGateway({ apiRoot: 'http://stand-in', token: '1:abc', fetch: fetchOk, chatSlots: slots, globalPerSecond: 2, onSharedSlotsError: (e) => errors.push(e) });
    await gw.sendMessage(1, { text: 'one' });
    await gw.sendMessage(2, { text: 'two' });
    expect(state.takes).toBe(2);
    state.failing = true;
    await gw.sendMessage(3, { text: 'three' });
    expect(errors).toHaveLength(1);
    // Two went within the second on the shared line: the third waits until the first is a second old.
    const gap = answered[2]!.at - answered[0]!.at;
    expect(gap).toBeGreaterThanOrEqual(990);
    expect(gap).toBeLessThan(1_500);
  });
});

// Keeps the memory line in the suite: the Map-backed store the gateway tests use.
describe('the memory line', () => {
  it('is the same decisions behind the port', async () => {
    const l: OverallSendLine = memoryOverallLine();
    const ats = await Promise.all(Array.from({ length: 4 }, () => l.take({ now: 0, max: 3, windowMs: W })));
    expect(ats).toEqual([0, 0, 0, W]);
  });
});
