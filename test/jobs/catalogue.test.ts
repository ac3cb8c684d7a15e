/** The job catalogue, the notice texts and the small pure parts of the job system. */
import { describe, expect, it } from 'vitest';
import { CATALOGUE } from '../../src/i18n/index.js';
import { ChatSpacer, TelegramGateway, TelegramRateLimited, TelegramBlocked, TelegramTransient } from '../../src/channels/telegram/telegram-gateway.js';
import { NOTICE_KINDS, type OrgSnapshot, type PositionSeat, type StaffAvailability } from '../../src/domain/index.js';
import {
  assertEveryJobHasProcessor,
  InvalidJobPayloadError,
  JOB_NAMES,
  JOB_PAYLOADS,
  JOB_QUEUE,
  MissingProcessorError,
  parsePayload,
  QUEUE_KEYS,
} from '../../src/jobs/catalogue.js';
import { timerJob } from '../../src/jobs/dispatcher.js';
import { createJobSystem } from '../../src/jobs/job-system.js';
import { PROCESSORS } from '../../src/jobs/processors.js';
import type { QueueBackend } from '../../src/jobs/queue-backend.js';
import { dailyPattern } from '../../src/jobs/schedulers.js';
import { createLogger } from '../../src/logger.js';
import { parseRole, UsageError } from '../../src/app.js';
import { standInsFor } from '../../src/services/notification.service.js';
import { telegramNoticeChannel } from '../../src/channels/telegram/notice-channel.js';

const ID = '0f4b4f4e-2f0a-4a57-9d3b-8b3c8e1f2a10';

describe('the job catalogue', () => {
  it('every job has a queue and a processor', () => {
    for (const name of JOB_NAMES) {
      expect(QUEUE_KEYS).toContain(JOB_QUEUE[name]);
      expect(typeof PROCESSORS[name]).toBe('function');
    }
    expect(() => assertEveryJobHasProcessor(PROCESSORS)).not.toThrow();
  });

  it('start-up fails, naming the job, when a job has no processor', () => {
    expect(() => assertEveryJobHasProcessor({ ...PROCESSORS, 'daily.digest': undefined })).toThrow(MissingProcessorError);
    const fakeBackend = { kind: 'redis', namespace: 'x', queueName: (b: string) => b, createQueue: () => ({ on() {} }), createWorker: () => ({}), rateLimitError: () => new Error() } as unknown as QueueBackend;
    const base = { db: {} as never, clock: { now: () => new Date() }, timeZone: 'Asia/Shanghai', piiMode: 'masked' as const, cipher: {} as never, policy: async () => ({}) as never };
    expect(() =>
      createJobSystem(base, { backend: fakeBackend, channel: telegramNoticeChannel(new TelegramGateway({ apiRoot: 'http://x', token: undefined }), base), logger: createLogger('silent'), processors: { 'timer.fire': undefined as never } }),
    ).toThrow(/timer\.fire/);
  });

  it('payloads are ids (and a date), parsed strictly; errors name fields, never values', () => {
    expect(parsePayload('timer.fire', { timerId: ID })).toEqual({ timerId: ID });
    expect(parsePayload('outbox.send', { outboxId: ID, name: '张三' })).toEqual({ outboxId: ID });
    try {
      parsePayload('outbox.send', { outboxId: '330106199001011234' });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(InvalidJobPayloadError);
      expect((e as Error).message).toBe('invalid payload for outbox.send: outboxId');
    }
    for (const schema of Object.values(JOB_PAYLOADS)) {
      for (const key of Object.keys(schema.shape)) expect(key).toMatch(/Id$|^date$/);
    }
  });

  it('timer job ids are the dedupe key, never with `:`, delayed until due', () => {
    const now = new Date('2026-11-29T02:00:00Z');
    const job = timerJob({ id: ID, dedupeKey: 'contact_check-x-2026-11-29-0', dueAt: new Date(now.getTime() + 5_000) }, now);
    expect(job.opts.jobId).toBe('contact_check-x-2026-11-29-0');
    expect(job.opts.delay).toBe(5_000);
    expect(timerJob({ id: ID, dedupeKey: 'a:b', dueAt: now }, now).opts.jobId).toBe('a-b');
  });

  it('the daily schedulers use cron with seconds at the policy time', () => {
    expect(dailyPattern('09:00')).toBe('0 0 9 * * *');
    expect(dailyPattern('18:30')).toBe('0 30 18 * * *');
  });
});

describe('the notice catalogue', () => {
  it('has a text for every notice kind, in both languages (its own, or its variants), but a card redraw, which draws the card', () => {
    for (const kind of NOTICE_KINDS) {
      if (kind === 'card_redraw') continue;
      for (const lang of ['zh', 'en'] as const) {
        const keys = Object.keys(CATALOGUE[lang]);
        expect(keys.some((k) => k === `notice.${kind}` || k.startsWith(`notice.${kind}.`)), `${lang} ${kind}`).toBe(true);
      }
    }
  });
  it('holds no markup: values are escaped where they go in', () => {
    for (const [key, text] of Object.entries(CATALOGUE.zh).filter(([k]) => k.startsWith('notice.'))) expect(text, key).not.toMatch(/[<>&]/);
  });
});

describe('who stands in for someone unreachable', () => {
  const staff = (id: string, o: Partial<StaffAvailability> = {}): [string, StaffAvailability] => [id, { id, active: true, reachable: true, away: false, ...o }];
  const seat = (kind: PositionSeat['kind'], unitId: string, holder: string | null, acting: string | null = null): PositionSeat => ({ kind, unitId, holderStaffId: holder, actingStaffId: acting });
  const org = (people: Array<[string, StaffAvailability]>, seats: PositionSeat[]): OrgSnapshot => ({ seats, staff: new Map(people) });

  it('the acting holder of the seat, else the next level of the reporting line', () => {
    const seats = [seat('deputy_director', 'b', 'dep', 'act'), seat('director', 'b', 'dir'), seat('section', 's', 'sec')];
    expect(standInsFor('dep', 'b', org([staff('dep', { reachable: false }), staff('act'), staff('dir'), staff('sec')], seats))).toEqual(['act']);
    expect(standInsFor('dep', 'b', org([staff('dep', { reachable: false }), staff('act', { away: true }), staff('dir'), staff('sec')], seats))).toEqual(['dir']);
  });
  it('someone without a seat falls back to their office head', () => {
    const seats = [seat('office_head', 'oA', 'head'), seat('office_head', 'oB', 'headB'), seat('officer', 'oA', 'off')];
    expect(standInsFor('stranger', 'oA', org([staff('head'), staff('headB'), staff('off')], seats))).toEqual(['head']);
    expect(standInsFor('off', 'oA', org([staff('head'), staff('headB'), staff('off', { reachable: false })], seats))).toEqual(['head']);
  });
});

describe('the gateway', () => {
  it('spaces messages to one chat 1 s apart and to a group 3 s apart', () => {
    const s = new ChatSpacer(1000, 3000);
    expect(s.reserve(1, 0)).toBe(0);
    expect(s.reserve(1, 0)).toBe(1000);
    expect(s.reserve(1, 200)).toBe(1800);
    expect(s.reserve(2, 200)).toBe(0);
    expect(s.reserve(-5, 0)).toBe(0);
    expect(s.reserve(-5, 0)).toBe(3000);
    s.hold(2, 5000, 1000);
    expect(s.reserve(2, 1000)).toBe(5000);
  });

  it('maps Telegram answers to error classes with data', async () => {
    const answer = (status: number, body: unknown) => async () => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
    const gw = (f: () => Promise<Response>) => new TelegramGateway({ apiRoot: 'http://stand-in', token: '1:abc', fetch: f as unknown as typeof fetch, perChatIntervalMs: 0 });
    const e429 = await gw(answer(429, { ok: false, error_code: 429, description: 'Too Many Requests: retry after 7', parameters: { retry_after: 7 } })).sendMessage(1, { text: 'x' }).catch((e: unknown) => e);
    expect(e429).toBeInstanceOf(TelegramRateLimited);
    expect((e429 as TelegramRateLimited).retryAfterSeconds).toBe(7);
    const e403 = await gw(answer(403, { ok: false, error_code: 403, description: 'Forbidden: bot was blocked by the user' })).sendMessage(1, { text: 'x' }).catch((e: unknown) => e);
    expect(e403).toBeInstanceOf(TelegramBlocked);
    const e502 = await gw(async () => new Response('<html>Bad Gateway</html>', { status: 502 })).sendMessage(1, { text: 'x' }).catch((e: unknown) => e);
    expect(e502).toBeInstanceOf(TelegramTransient);
    expect((e502 as TelegramTransient).ambiguous).toBe(false);
    const refused = await gw(async () => Promise.reject(Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } }))).sendMessage(1, { text: 'x' }).catch((e: unknown) => e);
    expect((refused as TelegramTransient).ambiguous).toBe(false);
    const reset = await gw(async () => Promise.reject(Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNRESET' } }))).sendMessage(1, { text: 'x' }).catch((e: unknown) => e);
    expect((reset as TelegramTransient).ambiguous).toBe(true);
  });
});

describe('main --role', () => {
  it('defaults to all, accepts bot and worker, refuses anything else', () => {
    expect(parseRole([])).toBe('all');
    expect(parseRole(['--role', 'worker'])).toBe('worker');
    expect(parseRole(['--role=bot'])).toBe('bot');
    expect(() => parseRole(['--role', 'both'])).toThrow(UsageError);
  });
});
