/**
 * The pure parts of the send path's pacing: the queue limiter's spacing against a sliding second, the
 * per-process pacer, per-chat slots kept for a job that comes back (instead of sleeping in a worker slot),
 * urgent notices ahead of routine ones, and the priority a send job gets.
 */
import { describe, expect, it } from 'vitest';
import { ChatSlotAhead, ChatSpacer, SEND_QUEUE_LIMITER, SendPacer, TELEGRAM_LIMITS, TelegramGateway } from '../../src/channels/telegram/telegram-gateway.js';
import { isUrgentNotice } from '../../src/domain/index.js';
import { SEND_PRIORITY, sendJob, sendPriorityOf } from '../../src/jobs/dispatcher.js';
import { createQueueBackend, type AnyQueue } from '../../src/jobs/queue-backend.js';

const ID = '0f4b4f4e-2f0a-4a57-9d3b-8b3c8e1f2a10';

describe('the send queue limiter', () => {
  it('spaces job starts evenly: no sliding second holds more than Telegram allows', () => {
    const { max, duration } = SEND_QUEUE_LIMITER;
    expect(max).toBe(1);
    // Starts as the limiter allows them, back to back, for ten seconds: count the busiest sliding second.
    const starts = Array.from({ length: Math.ceil(10_000 / duration) }, (_, i) => i * duration);
    let busiest = 0;
    for (let i = 0; i < starts.length; i++) busiest = Math.max(busiest, starts.filter((t) => t >= starts[i]! && t < starts[i]! + 1_000).length);
    expect(busiest).toBeLessThanOrEqual(TELEGRAM_LIMITS.globalPerSecond);
    // …and not much less: 100 messages within 1.1× the floor of 100/30 s.
    expect(100 * duration).toBeLessThanOrEqual(1.1 * (100 / TELEGRAM_LIMITS.globalPerSecond) * 1_000);
  });

  it('the pacer lets out at most `max` requests in any sliding window, waiting only what that needs', () => {
    const p = new SendPacer(3, 1_000);
    expect([p.reserve(0), p.reserve(10), p.reserve(20)]).toEqual([0, 0, 0]);
    expect(p.reserve(30)).toBe(970); // the 4th waits until the 1st is a window old
    expect(p.reserve(1_005)).toBe(5); // the 5th: the 2nd (at 10) leaves the window at 1 010
    expect(p.reserve(5_000)).toBe(0);
    expect(new SendPacer(0, 1_000).reserve(0)).toBe(0);
  });

  it('a request counts from its answer once answered (it reached Telegram somewhere before then)', () => {
    const p = new SendPacer(2, 1_000);
    expect(p.reserve(0)).toBe(0);
    expect(p.reserve(10)).toBe(0);
    p.answered(0, 150); // the first took 150 ms on a fresh connection
    expect(p.reserve(20)).toBe(990); // the second (at 10) is now the older one
    expect(p.reserve(1_010)).toBe(140); // then the first, counted from 150
  });
});

describe('per-chat slots', () => {
  it('a keyed caller keeps its slot and gets it back when it returns; others queue after it', () => {
    const s = new ChatSpacer(1_000, 3_000);
    expect(s.reserve(7, 0, { key: 'a' })).toBe(0);
    s.sending(7, 'a', 0);
    expect(s.reserve(7, 10, { key: 'b' })).toBe(990);
    expect(s.reserve(7, 20, { key: 'c' })).toBe(1_980);
    // b comes back at its slot: no wait, and c's slot is still c's.
    expect(s.reserve(7, 1_000, { key: 'b' })).toBe(0);
    s.sending(7, 'b', 1_000);
    expect(s.reserve(7, 1_990, { key: 'c' })).toBe(10);
    // Another chat is not held up by this one.
    expect(s.reserve(8, 30, { key: 'd' })).toBe(0);
  });

  it('a slot taken by someone else in the meantime moves to one interval after that message', () => {
    const s = new ChatSpacer(1_000, 3_000);
    s.reserve(7, 0, { key: 'a' });
    s.sending(7, 'a', 0);
    expect(s.reserve(7, 0, { key: 'b' })).toBe(1_000);
    s.sending(7, undefined, 1_200); // a message without a key went at 1 200
    expect(s.reserve(7, 1_000, { key: 'b' })).toBe(1_200);
  });

  it('an urgent message takes the next free slot, ahead of routine ones already queued for the chat', () => {
    const s = new ChatSpacer(1_000, 3_000);
    s.sending(7, undefined, 0);
    for (const k of ['r1', 'r2', 'r3', 'r4']) s.reserve(7, 0, { key: k });
    expect(s.reserve(7, 100, { key: 'u', urgent: true })).toBe(900);
    // The routine one whose slot it took keeps clear of it: it comes back at its slot and is told to wait.
    expect(s.reserve(7, 1_000, { key: 'r1' })).toBe(1_000);
    s.sending(7, 'u', 1_000);
    expect(s.reserve(7, 2_000, { key: 'r1' })).toBe(0);
    s.sending(7, 'r1', 2_000);
    // Once the urgent one has gone, routine slots are as they were.
    expect(s.reserve(7, 3_000, { key: 'r3' })).toBe(0);
  });

  it('an urgent message that lost its slot to a routine one already on its way keeps the next', () => {
    const s = new ChatSpacer(1_000, 3_000);
    s.sending(7, undefined, 0);
    s.reserve(7, 0, { key: 'r1' }); // 1 000
    s.reserve(7, 0, { key: 'r2' }); // 2 000
    expect(s.reserve(7, 500, { key: 'u', urgent: true })).toBe(500);
    s.sending(7, 'r1', 1_000); // r1 was already under way at 1 000
    expect(s.reserve(7, 1_001, { key: 'u', urgent: true })).toBe(999);
    // r2 comes back at 2 000 and yields to u.
    expect(s.reserve(7, 2_000, { key: 'r2' })).toBe(1_000);
    expect(s.reserve(7, 2_000, { key: 'u', urgent: true })).toBe(0);
  });

  it('after a 429 nothing goes to the chat before the wait is over, reserved or not', () => {
    const s = new ChatSpacer(1_000, 3_000);
    s.reserve(7, 0, { key: 'a' });
    s.hold(7, 5_000, 0);
    expect(s.reserve(7, 0, { key: 'a' })).toBe(5_000);
    expect(s.reserve(7, 0, { key: 'b', urgent: true })).toBe(5_000);
  });

  it('a reply in a private chat is not a bulk notification: it does not wait for the overall second, and takes no place in it', async () => {
    const answered: Array<{ chat: number; at: number }> = [];
    const fetchOk = (async (_url: string, init: { body: string }) => {
      answered.push({ chat: (JSON.parse(init.body) as { chat_id: number }).chat_id, at: Date.now() });
      return new Response(JSON.stringify({ ok: true, result: { message_id: answered.length } }), { headers: { 'content-type': 'application/json' } });
    }) as unknown as typeof fetch;
    const gw = new TelegramGateway({ apiRoot: 'http://stand-in', token: '1:abc', fetch: fetchOk, globalPerSecond: 2 });
    const t0 = Date.now();
    await gw.sendMessage(1, { text: 'notice' });
    await gw.sendMessage(2, { text: 'notice' });
    // The second is full of notices; a person who wrote in is answered at once.
    // As the bot's telegraf client calls it (useApiPipeline), through a transport of its own.
    const reply = async (_method: string, payload: Record<string, unknown>) => {
      answered.push({ chat: payload.chat_id as number, at: Date.now() });
      return { ok: true as const, result: { message_id: answered.length } };
    };
    await gw.api.call(reply, 'sendMessage', { chat_id: 3, text: 'the form' }, undefined, { mode: 'interactive' });
    expect(Date.now() - t0).toBeLessThan(500);
    // The next notice waits for the second (the reply took no place in it): not before the first is a second old.
    await gw.sendMessage(4, { text: 'notice' });
    const fourth = answered.find((a) => a.chat === 4)!;
    expect(fourth.at - answered[0]!.at).toBeGreaterThanOrEqual(990);
    expect(fourth.at - answered[0]!.at).toBeLessThan(1_500);
    expect(answered.map((a) => a.chat)).toEqual([1, 2, 3, 4]);
  });

  it('the gateway tells a keyed caller to come back instead of sleeping; an unkeyed call waits in place', async () => {
    const answered: number[] = [];
    const fetchOk = (async () => {
      answered.push(Date.now());
      return new Response(JSON.stringify({ ok: true, result: { message_id: answered.length } }), { headers: { 'content-type': 'application/json' } });
    }) as unknown as typeof fetch;
    const gw = new TelegramGateway({ apiRoot: 'http://stand-in', token: '1:abc', fetch: fetchOk, perChatIntervalMs: 400 });
    await gw.sendMessage(5, { text: 'one' }, { spacingKey: 'k1' });
    const refused = await gw.sendMessage(5, { text: 'two' }, { spacingKey: 'k2' }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ChatSlotAhead);
    const until = (refused as ChatSlotAhead).until;
    expect(until - answered[0]!).toBeGreaterThanOrEqual(390);
    expect(answered).toHaveLength(1);
    // An unkeyed call (a card redraw) waits its turn in place: after the slot kept for k2.
    await gw.sendMessage(5, { text: 'three' });
    expect(answered).toHaveLength(2);
    expect(answered[1]!).toBeGreaterThanOrEqual(until + 400 - 5);
  });
});

describe('send priority', () => {
  it('a deadline’s notice (timer-driven, or an overdue-timer alert) is urgent; a report’s fan-out is routine', () => {
    expect(isUrgentNotice({ kind: 'ack_escalation', timerId: ID })).toBe(true);
    expect(isUrgentNotice({ kind: 'progress_reminder', timerId: ID })).toBe(true);
    expect(isUrgentNotice({ kind: 'timer_overdue_alert', timerId: null })).toBe(true);
    expect(isUrgentNotice({ kind: 'incident_reported', timerId: null })).toBe(false);
    expect(isUrgentNotice({ kind: 'daily_digest' })).toBe(false);
  });

  it('send jobs carry the priority (lower first), an id alone is routine, and notBefore still delays', () => {
    expect(SEND_PRIORITY.urgent).toBeLessThan(SEND_PRIORITY.routine);
    expect(sendJob({ id: ID, kind: 'ack_escalation', timerId: ID }).opts.priority).toBe(SEND_PRIORITY.urgent);
    expect(sendJob({ id: ID, kind: 'incident_reported', timerId: null }).opts.priority).toBe(SEND_PRIORITY.routine);
    expect(sendPriorityOf({ id: ID })).toBe(SEND_PRIORITY.routine);
    const now = new Date('2026-11-29T02:00:00Z');
    const held = sendJob({ id: ID, kind: 'timer_overdue_alert', notBefore: new Date(now.getTime() + 4_000) }, now);
    expect(held.opts).toMatchObject({ jobId: ID, priority: SEND_PRIORITY.urgent, delay: 4_000 });
  });
});

describe('the wipe mark', () => {
  it('exists on Redis, not on the PostgreSQL backend (its jobs cannot vanish apart from the timers)', () => {
    const pg = createQueueBackend({ databaseUrl: 'postgres://nobody@127.0.0.1:1/none', namespace: 'x' });
    expect(pg.storeMark?.({} as AnyQueue, 'timer-reconciler')).toBeUndefined();
    const redis = createQueueBackend({ redisUrl: 'redis://127.0.0.1:1', namespace: 'x' });
    expect(redis.storeMark?.({} as AnyQueue, 'timer-reconciler')).toBeDefined();
  });
});
