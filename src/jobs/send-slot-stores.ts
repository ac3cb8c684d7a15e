/**
 * Where the chats' send lines (send-slots.ts) are kept: next to the queue. On Redis one key per chat,
 * written by a small compare-and-set script; on the Redis-less backend one row per chat in PostgreSQL
 * (chat_send_slots), written by a conditional UPDATE. Either way a write lands only on the version that
 * was read, so processes never hold a lock while they decide.
 * The overall line (overall-line.ts) sits next to them: on Redis a sorted set changed by one script per
 * operation, on PostgreSQL the row of chat 0 under a row lock: every sender meets on that one key or
 * row, where compare-and-set would mostly retry.
 */
import { Redis } from 'ioredis';
import { connectDatabase } from '../db/client.js';
import { changeOverallLine, pruneChatLines, readChatLine, writeChatLine } from '../db/repositories/chat-send-slot.repository.js';
import { overallLineOn, parseOverallLine, type OverallSendLine } from './overall-line.js';
import { parseLine, sharedChatSendSlots, type ChatLine, type ChatSendSlots } from './send-slots.js';

/** Sets KEYS[1] to ARGV[2] (expiring in ARGV[3] ms) only if it still holds ARGV[1] ('' = absent). */
const COMPARE_AND_SET = `
local cur = redis.call('GET', KEYS[1])
if (cur == false and ARGV[1] == '') or cur == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0`;

/** Lua: `counted`, the ascending moments of KEYS[1] a decision counts (the follow-ups' still waiting, 'y:…', only when `countsWaiting`). */
const COUNTED_LUA = `
local all = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
local counted = {}
for i = 1, #all, 2 do
  if countsWaiting or string.sub(all[i], 1, 2) ~= 'y:' then counted[#counted + 1] = tonumber(all[i + 1]) end
end`;

/** Lua: adds member ARGV[5] at `at` ('y:' before it for a follow-up's moment ahead of now), keeps the set a window past its latest moment, returns `at`. */
const ADD_AT_LUA = `
local member = ARGV[5]
if yields and at > now then member = 'y:' .. member end
redis.call('ZADD', KEYS[1], at, member)
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIRE', KEYS[1], math.max(1, math.ceil(tonumber(last[2]) - now + w)))
return at`;

/**
 * overallTakeIn (overall-line.ts) on the sorted set KEYS[1] of moments: drops those ≤ now − window,
 * counts them all but, for a first message, the follow-ups' still waiting (members named 'y:…'),
 * reserves notBefore while fewer than max are counted, else no earlier than a window after the max-th
 * latest counted; adds it under the unique member ARGV[5] ('y:' before it for a follow-up's moment ahead
 * of now) and keeps the set until its latest moment is a window old. Returns the moment.
 * ARGV: now, notBefore (≥ now), max, windowMs, member, yields ('1' for a follow-up).
 */
const OVERALL_TAKE = `
local now = tonumber(ARGV[1])
local earliest = tonumber(ARGV[2])
local max = tonumber(ARGV[3])
local w = tonumber(ARGV[4])
local yields = ARGV[6] == '1'
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - w)
local countsWaiting = yields
${COUNTED_LUA}
local at = earliest
if #counted >= max then at = math.max(earliest, counted[#counted - max + 1] + w) end
${ADD_AT_LUA}`;

/**
 * overallRetakeIn: drops the moments ≤ now − window and one member at ARGV[1] (its own: a follow-up's
 * named 'y:…', another's not) and counts the rest but the follow-ups still waiting. A first message then
 * passes, from now, the oldest moments of the window ending there until fewer than max are left in it; a
 * follow-up goes no earlier than a window after the max-th latest (first messages still ahead count). The
 * member is added there anew ('y:' before it for a follow-up's moment still ahead of now). Returns the
 * moment. ARGV: from, now, max, windowMs, member, yields ('1').
 */
const OVERALL_RETAKE = `
local now = tonumber(ARGV[2])
local max = tonumber(ARGV[3])
local w = tonumber(ARGV[4])
local yields = ARGV[6] == '1'
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - w)
local own, other = nil, nil
for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], ARGV[1])) do
  if (string.sub(m, 1, 2) == 'y:') == yields then own = m break end
  other = other or m
end
own = own or other
if own then redis.call('ZREM', KEYS[1], own) end
local countsWaiting = false
${COUNTED_LUA}
local at = now
if yields then
  if #counted >= max then at = math.max(now, counted[#counted - max + 1] + w) end
else
  for round = 0, #counted do
    local first = 1
    while first <= #counted and counted[first] <= at - w do first = first + 1 end
    local last = first
    while last <= #counted and counted[last] <= at do last = last + 1 end
    local n = last - first
    if n < max then break end
    at = counted[first + n - max] + w
  end
end
${ADD_AT_LUA}`;

/**
 * overallAnsweredIn: one member at moment ARGV[1] moves to ARGV[2] when that is later; the set is kept a
 * window past its latest moment. Returns 1 when one moved. ARGV: at, answeredAt, windowMs.
 */
const OVERALL_ANSWERED = `
local at = tonumber(ARGV[1])
local answered = tonumber(ARGV[2])
if answered <= at then return 0 end
local m = redis.call('ZRANGEBYSCORE', KEYS[1], at, at, 'LIMIT', 0, 1)
if m[1] == nil then return 0 end
redis.call('ZADD', KEYS[1], answered, m[1])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIRE', KEYS[1], math.max(1, math.ceil(tonumber(last[2]) - answered + tonumber(ARGV[3]))))
return 1`;

type CasRedis = Redis & {
  chatLineCas(key: string, expected: string, next: string, ttlMs: string): Promise<number>;
  overallTake(key: string, now: string, notBefore: string, max: string, windowMs: string, member: string, yields: string): Promise<number>;
  overallRetake(key: string, from: string, now: string, max: string, windowMs: string, member: string, yields: string): Promise<number>;
  overallAnswered(key: string, at: string, answeredAt: string, windowMs: string): Promise<number>;
};

/** On Redis, under `<namespace>:chat-lines:<chat>` (outside every queue's keys: no queue has that name). */
export function redisChatSendSlots(url: string, namespace: string): ChatSendSlots {
  // Its own connection: a failing command (Redis away) fails within a second, and the gateway then keeps
  // its own process's spacing; queue connections wait for Redis without limit.
  const client = new Redis(url, { maxRetriesPerRequest: 1, commandTimeout: 1_000, lazyConnect: false }) as CasRedis;
  client.on('error', () => undefined);
  client.defineCommand('chatLineCas', { numberOfKeys: 1, lua: COMPARE_AND_SET });
  client.defineCommand('overallTake', { numberOfKeys: 1, lua: OVERALL_TAKE });
  client.defineCommand('overallRetake', { numberOfKeys: 1, lua: OVERALL_RETAKE });
  client.defineCommand('overallAnswered', { numberOfKeys: 1, lua: OVERALL_ANSWERED });
  const keyOf = (chatId: number) => `${namespace}:chat-lines:${chatId}`;
  const overallKey = `${namespace}:overall-line`;
  let members = 0;
  // Members only need to differ: this process's id, a counter, and a random part for another process.
  const memberPrefix = `${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
  const ms = (t: number) => String(Math.round(t));
  const overall: OverallSendLine = {
    take: async (req) => {
      const notBefore = Math.max(req.now, req.notBefore ?? req.now);
      if (req.max <= 0) return notBefore;
      return Number(await client.overallTake(overallKey, ms(req.now), ms(notBefore), String(req.max), ms(req.windowMs), `${memberPrefix}-${++members}`, req.yields ? '1' : '0'));
    },
    retake: async (req) =>
      req.max <= 0 ? req.now : Number(await client.overallRetake(overallKey, ms(req.from), ms(req.now), String(req.max), ms(req.windowMs), `${memberPrefix}-${++members}`, req.yields ? '1' : '0')),
    answered: async (at, answeredAt, windowMs) => {
      if (answeredAt > at) await client.overallAnswered(overallKey, ms(at), ms(answeredAt), ms(windowMs));
    },
  };
  return sharedChatSendSlots('redis', {
    read: async (chatId) => {
      const text = await client.get(keyOf(chatId));
      return { line: parseLine(text), version: text ?? '' };
    },
    write: async (chatId, version, line: ChatLine, ttlMs) =>
      (await client.chatLineCas(keyOf(chatId), String(version ?? ''), JSON.stringify(line), String(Math.max(1, Math.ceil(ttlMs))))) === 1,
    close: async () => {
      client.disconnect();
    },
  }, overall);
}

/** Writes between two prunings of expired lines. */
const PRUNE_EVERY = 500;

/** In PostgreSQL, the table chat_send_slots of the app's database, over a small pool of its own. */
export function postgresChatSendSlots(databaseUrl: string, namespace: string): ChatSendSlots {
  const handle = connectDatabase(databaseUrl, { max: 3, applicationName: `chat-send-slots-${namespace}` });
  let writes = 0;
  return sharedChatSendSlots('postgres', {
    read: async (chatId) => {
      const row = await readChatLine(handle.db, chatId);
      return { line: parseLine(row?.line === null || row?.line === undefined ? undefined : JSON.stringify(row.line)), version: row?.version };
    },
    write: async (chatId, version, line, ttlMs) => {
      if (++writes % PRUNE_EVERY === 0) void pruneChatLines(handle.db).catch(() => undefined);
      return writeChatLine(handle.db, chatId, typeof version === 'number' ? version : undefined, line, ttlMs);
    },
    close: () => handle.close(),
  }, overallLineOn({
    change: (decide) =>
      changeOverallLine(handle.db, (stored) => {
        const line = parseOverallLine(stored);
        const { result, changed, ttlMs } = decide(line);
        return { result, ttlMs, ...(changed ? { line } : {}) };
      }),
  }));
}
