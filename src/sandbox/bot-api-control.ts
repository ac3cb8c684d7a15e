// JSON + Server-Sent Events control API of the Bot API stand-in, for the browser sandbox page
// (chat with the bot as several people). Binds to 127.0.0.1 with the server, hence no auth.
// Built only on the server's public test API, so the page can do nothing a test could not.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { BotApiDriver } from './bot-api-driver.js';
import { readBody, sendJson } from './bot-api-http.js';

const SSE_EVENTS = ['message', 'edit', 'delete', 'callback_answer', 'chat_action'] as const;

export interface SseHub {
  add(res: ServerResponse): void;
  readonly size: number;
  close(): void;
}

export function createSseHub(server: BotApiDriver): SseHub {
  const clients = new Set<ServerResponse>();
  const broadcast = (event: string, data: unknown): void => {
    if (clients.size === 0) return;
    const frame = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const res of clients) res.write(frame);
  };
  for (const event of SSE_EVENTS) server.on(event, (data: unknown) => broadcast(event, data));
  const keepAlive = setInterval(() => {
    for (const res of clients) res.write(': keep-alive\n\n');
  }, 15_000);
  keepAlive.unref();
  return {
    add(res) {
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
        'access-control-allow-origin': '*',
      });
      res.write('retry: 1000\n: connected\n\n');
      clients.add(res);
      res.on('close', () => clients.delete(res));
    },
    get size() {
      return clients.size;
    },
    close() {
      clearInterval(keepAlive);
      for (const res of clients) res.end();
      clients.clear();
    },
  };
}

const userSchema = z.object({
  id: z.number().int().positive(),
  first_name: z.string().min(1),
  last_name: z.string().optional(),
  username: z.string().optional(),
  language_code: z.string().optional(),
});
const groupSchema = z.object({ id: z.number().int().negative(), title: z.string().min(1), memberIds: z.array(z.number().int()) });
const sendSchema = z.object({ userId: z.number().int(), text: z.string().min(1).max(4096), replyToMessageId: z.number().int().optional() });
const pressSchema = z.object({ userId: z.number().int(), messageId: z.number().int(), data: z.string().min(1) });
const locationSchema = z.object({ userId: z.number().int(), latitude: z.number().min(-90).max(90), longitude: z.number().min(-180).max(180) });
const photoSchema = z.object({ userId: z.number().int(), caption: z.string().optional() });
const blockSchema = z.object({ blocked: z.boolean().default(true) });

class ControlError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function jsonBody<T>(req: IncomingMessage, schema: z.ZodType<T>): Promise<T> {
  const raw = await readBody(req, 1024 * 1024);
  let parsed: unknown = {};
  if (raw.length > 0) {
    try {
      parsed = JSON.parse(raw.toString('utf8'));
    } catch {
      throw new ControlError(400, 'body must be JSON');
    }
  }
  const result = schema.safeParse(parsed);
  if (!result.success) throw new ControlError(400, result.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
  return result.data;
}

const CORS = { 'access-control-allow-origin': '*' };

/** Routes `/sandbox/api/...`. */
export async function handleControlRequest(server: BotApiDriver, sse: SseHub, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const method = req.method ?? 'GET';
  const path = url.pathname.replace(/\/+$/, '');
  if (method === 'OPTIONS') {
    res.writeHead(204, { ...CORS, 'access-control-allow-methods': 'GET, POST, OPTIONS', 'access-control-allow-headers': 'content-type' });
    res.end();
    return;
  }
  try {
    const chatMatch = /^\/sandbox\/api\/chats\/(-?\d+)\/([a-z-]+)$/.exec(path);
    if (chatMatch) {
      const chatId = Number(chatMatch[1]);
      const action = chatMatch[2];
      if (method === 'GET' && action === 'messages') return sendJson(res, 200, server.messages(chatId), CORS);
      if (method === 'POST' && action === 'send') {
        const b = await jsonBody(req, sendSchema);
        const opts: { chatId: number; replyToMessageId?: number } = { chatId };
        if (b.replyToMessageId !== undefined) opts.replyToMessageId = b.replyToMessageId;
        const r = guard(() => server.sendText(b.userId, b.text, opts));
        return sendJson(res, 200, { updateId: r.updateId, messageId: r.messageId, delivered: r.delivered }, CORS);
      }
      if (method === 'POST' && action === 'press') {
        const b = await jsonBody(req, pressSchema);
        return sendJson(res, 200, guard(() => server.pressButton(b.userId, b.messageId, b.data, { chatId })), CORS);
      }
      if (method === 'POST' && action === 'location') {
        const b = await jsonBody(req, locationSchema);
        const r = guard(() => server.sendLocation(b.userId, b.latitude, b.longitude, { chatId }));
        return sendJson(res, 200, { updateId: r.updateId, messageId: r.messageId, delivered: r.delivered }, CORS);
      }
      if (method === 'POST' && action === 'photo') {
        const b = await jsonBody(req, photoSchema);
        const opts: { chatId: number; caption?: string } = { chatId };
        if (b.caption !== undefined) opts.caption = b.caption;
        const r = guard(() => server.sendPhoto(b.userId, opts));
        return sendJson(res, 200, { updateId: r.updateId, messageId: r.messageId, delivered: r.delivered }, CORS);
      }
      throw new ControlError(404, `no route ${method} ${path}`);
    }
    const blockMatch = /^\/sandbox\/api\/users\/(\d+)\/block$/.exec(path);
    if (blockMatch && method === 'POST') {
      const b = await jsonBody(req, blockSchema);
      guard(() => server.blockBot(Number(blockMatch[1]), b.blocked));
      return sendJson(res, 200, { ok: true }, CORS);
    }
    switch (`${method} ${path}`) {
      case 'GET /sandbox/api/events':
        sse.add(res);
        return;
      case 'GET /sandbox/api/bots':
        return sendJson(res, 200, server.listBots().map(({ token: _token, ...bot }) => bot), CORS);
      case 'GET /sandbox/api/users':
        return sendJson(res, 200, server.users(), CORS);
      case 'POST /sandbox/api/users': {
        const b = await jsonBody(req, userSchema);
        const input: Parameters<BotApiDriver['addUser']>[0] = { id: b.id, first_name: b.first_name };
        if (b.last_name !== undefined) input.last_name = b.last_name;
        if (b.username !== undefined) input.username = b.username;
        if (b.language_code !== undefined) input.language_code = b.language_code;
        return sendJson(res, 200, guard(() => server.addUser(input)), CORS);
      }
      case 'GET /sandbox/api/chats':
        return sendJson(res, 200, server.chats(), CORS);
      case 'POST /sandbox/api/groups': {
        const b = await jsonBody(req, groupSchema);
        return sendJson(res, 200, guard(() => server.addGroup(b)), CORS);
      }
      case 'GET /sandbox/api/commands': {
        const scope = url.searchParams.get('scope') ?? 'default';
        const lang = url.searchParams.get('lang') ?? '';
        const chatId = url.searchParams.get('chat_id');
        const s = chatId !== null ? { type: 'chat' as const, chat_id: Number(chatId) } : (scope as 'default');
        return sendJson(res, 200, guard(() => server.commands(s, lang)), CORS);
      }
      case 'GET /sandbox/api/callback-answers':
        return sendJson(res, 200, [...server.callbackAnswers.values()], CORS);
      case 'GET /sandbox/api/stats':
        return sendJson(res, 200, server.stats(), CORS);
      default:
        throw new ControlError(404, `no route ${method} ${path}`);
    }
  } catch (err) {
    if (err instanceof ControlError) return sendJson(res, err.status, { error: err.message }, CORS);
    return sendJson(res, 500, { error: err instanceof Error ? err.message : String(err) }, CORS);
  }
}

/** Helper misuse (unknown user, missing button...) is the page's fault: answer 400. */
function guard<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw new ControlError(400, err instanceof Error ? err.message : String(err));
  }
}
