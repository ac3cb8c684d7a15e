/**
 * Where the chats' send lines (send-slots.ts) are kept: next to the queue. On Redis one key per chat,
 * written by a small compare-and-set script; on the Redis-less backend one row per chat in PostgreSQL
 * (chat_send_slots), written by a conditional UPDATE. Either way a write lands only on the version that
 * was read, so processes never hold a lock while they decide.
 */
import { Redis } from 'ioredis';
import { connectDatabase } from '../db/client.js';
import { pruneChatLines, readChatLine, writeChatLine } from '../db/repositories/chat-send-slot.repository.js';
import { parseLine, sharedChatSendSlots, type ChatLine, type ChatSendSlots } from './send-slots.js';

/** Sets KEYS[1] to ARGV[2] (expiring in ARGV[3] ms) only if it still holds ARGV[1] ('' = absent). */
const COMPARE_AND_SET = `
local cur = redis.call('GET', KEYS[1])
if (cur == false and ARGV[1] == '') or cur == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0`;

type CasRedis = Redis & { chatLineCas(key: string, expected: string, next: string, ttlMs: string): Promise<number> };

/** On Redis, under `<namespace>:chat-lines:<chat>` (outside every queue's keys: no queue has that name). */
export function redisChatSendSlots(url: string, namespace: string): ChatSendSlots {
  // Its own connection: a failing command (Redis away) fails within a second, and the gateway then keeps
  // its own process's spacing; queue connections wait for Redis without limit.
  const client = new Redis(url, { maxRetriesPerRequest: 1, commandTimeout: 1_000, lazyConnect: false }) as CasRedis;
  client.on('error', () => undefined);
  client.defineCommand('chatLineCas', { numberOfKeys: 1, lua: COMPARE_AND_SET });
  const keyOf = (chatId: number) => `${namespace}:chat-lines:${chatId}`;
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
  });
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
  });
}
