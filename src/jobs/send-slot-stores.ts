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
import { OVERALL_KEPT_PAST_WINDOW_MS, overallLineOn, parseOverallLine, type OverallSendLine } from './overall-line.js';
import { parseLine, sharedChatSendSlots, type ChatLine, type ChatSendSlots } from './send-slots.js';

/** Sets KEYS[1] to ARGV[2] (expiring in ARGV[3] ms) only if it still holds ARGV[1] ('' = absent). */
const COMPARE_AND_SET = `
local cur = redis.call('GET', KEYS[1])
if (cur == false and ARGV[1] == '') or cur == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0`;

/**
 * Lua: drops the moments no decision near `now` counts any more (a window and OVERALL_KEPT_PAST_WINDOW_MS
 * old), and sets `counted` to the ascending moments of KEYS[1] in the window ending at `now` or later that a
 * decision counts: the follow-ups' still waiting ('y:…') only when `countsWaiting`; `ahead[i]` tells
 * whether `counted[i]` is a first message's placed later than it asked ('a:…').
 */
const COUNTED_LUA = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - w - ${OVERALL_KEPT_PAST_WINDOW_MS})
local all = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. (now - w), '+inf', 'WITHSCORES')
local counted, ahead = {}, {}
for i = 1, #all, 2 do
  local kind = string.sub(all[i], 1, 2)
  if countsWaiting or kind ~= 'y:' then
    counted[#counted + 1] = tonumber(all[i + 1])
    ahead[#ahead + 1] = kind == 'a:'
  end
end`;

/**
 * Lua: adds member ARGV[5] at `at` ('y:' before it for a follow-up's moment ahead of now, 'a:' for a first
 * message's placed later than `asked`), keeps the set a while past its latest moment, returns `at`.
 */
const ADD_AT_LUA = `
local member = ARGV[5]
if yields and at > now then member = 'y:' .. member elseif not yields and at > asked then member = 'a:' .. member end
redis.call('ZADD', KEYS[1], at, member)
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIRE', KEYS[1], math.max(1, math.ceil(tonumber(last[2]) - now + w + ${OVERALL_KEPT_PAST_WINDOW_MS})))
return at`;

/**
 * overallTakeIn (overall-line.ts) on the sorted set KEYS[1] of moments: counts those in the window ending
 * now but, for a first message, the follow-ups' still waiting (members named 'y:…'), reserves notBefore
 * while fewer than max are counted, else no earlier than a window after the max-th latest counted; adds
 * it under the unique member ARGV[5] ('y:' before it for a follow-up's moment ahead of now, 'a:' for a
 * first message's placed later than asked). Returns the moment.
 * ARGV: now, notBefore (≥ now), max, windowMs, member, yields ('1' for a follow-up).
 */
const OVERALL_TAKE = `
local now = tonumber(ARGV[1])
local earliest = tonumber(ARGV[2])
local asked = earliest
local max = tonumber(ARGV[3])
local w = tonumber(ARGV[4])
local yields = ARGV[6] == '1'
local countsWaiting = yields
${COUNTED_LUA}
local at = earliest
if #counted >= max then at = math.max(earliest, counted[#counted - max + 1] + w) end
${ADD_AT_LUA}`;

/**
 * overallRetakeIn: drops one member at ARGV[1] (its own: of its kind first — a follow-up's 'y:…', a first
 * message's 'a:…' then one unmarked — else another), counts the rest in the window ending now but the
 * follow-ups still waiting. A follow-up goes no earlier than a window after the max-th latest (first
 * messages still ahead count). A first message goes at the earliest moment from now where every window it
 * falls in holds fewer than max, not counting first messages' 'a:…' later than it. The member is added
 * there anew. Returns the moment. ARGV: from, now, max, windowMs, member, yields ('1').
 */
const OVERALL_RETAKE = `
local now = tonumber(ARGV[2])
local asked = now
local max = tonumber(ARGV[3])
local w = tonumber(ARGV[4])
local yields = ARGV[6] == '1'
local own, rank = nil, 9
for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], ARGV[1])) do
  local kind = string.sub(m, 1, 2)
  local r
  if yields then
    if kind == 'y:' then r = 1 elseif kind == 'a:' then r = 3 else r = 2 end
  else
    if kind == 'a:' then r = 1 elseif kind == 'y:' then r = 3 else r = 2 end
  end
  if r < rank then own, rank = m, r end
end
if own then redis.call('ZREM', KEYS[1], own) end
local countsWaiting = false
${COUNTED_LUA}
local at = now
if yields then
  if #counted >= max then at = math.max(now, counted[#counted - max + 1] + w) end
else
  for round = 0, #counted do
    local near = {}
    for i = 1, #counted do
      local m = counted[i]
      if m < at + w and not (ahead[i] and m > at) then near[#near + 1] = m end
    end
    local function within(e)
      local first = 1
      while first <= #near and near[first] <= e - w do first = first + 1 end
      local last = first
      while last <= #near and near[last] <= e do last = last + 1 end
      return first, last - first
    end
    local first, n = within(at)
    if n >= max then
      at = near[first + n - max] + w
    else
      local full = nil
      for i = 1, #near do
        if near[i] > at then
          local _, k = within(near[i])
          if k >= max then full = near[i] break end
        end
      end
      if full == nil then break end
      at = full + 1
    end
  end
end
${ADD_AT_LUA}`;

/**
 * overallAnsweredIn: one member at moment ARGV[1] (an unmarked one first, then 'a:…', then 'y:…') moves
 * unmarked to ARGV[2] when that is later; the set is kept a while past its latest moment. Returns 1 when
 * one moved. ARGV: at, answeredAt, windowMs.
 */
const OVERALL_ANSWERED = `
local at = tonumber(ARGV[1])
local answered = tonumber(ARGV[2])
if answered <= at then return 0 end
local chosen, rank = nil, 9
for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], at, at)) do
  local kind = string.sub(m, 1, 2)
  local r
  if kind == 'a:' then r = 2 elseif kind == 'y:' then r = 3 else r = 1 end
  if r < rank then chosen, rank = m, r end
end
if chosen == nil then return 0 end
redis.call('ZREM', KEYS[1], chosen)
local name = chosen
if rank > 1 then name = string.sub(chosen, 3) end
redis.call('ZADD', KEYS[1], answered, name)
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIRE', KEYS[1], math.max(1, math.ceil(tonumber(last[2]) - answered + tonumber(ARGV[3]) + ${OVERALL_KEPT_PAST_WINDOW_MS})))
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
