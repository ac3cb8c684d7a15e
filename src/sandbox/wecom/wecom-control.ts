// JSON control API of the WeCom stand-in: GET /__sandbox/state is every member's chat and cards; POST
// /__sandbox/users adds a member; POST /__sandbox/act acts as a member. Built only on the driver, so it
// can do nothing a test could not. The stand-in listens on 127.0.0.1, hence no auth. The sandbox page's
// WeCom panes use the same actions (memberActionSchema, actAsMember) through the sandbox's own,
// origin-checked routes (../sandbox-routes.ts).

import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { MemberActionRefused, type WecomDriver } from './wecom-driver.js';
import type { CallbackDelivery } from './wecom-world.js';
import { readBody, sendJson } from './wecom-routes.js';

const userId = z.string().min(1).max(64);

/** What a member can do in the application's chat, as the control API and the sandbox page ask for it. */
export const memberActionSchema = z.discriminatedUnion('action', [
  z.object({ action: z.literal('text'), userId, content: z.string().min(1).max(2048) }),
  z.object({ action: z.literal('press'), userId, taskId: z.string().min(1), key: z.string().min(1) }),
  z.object({ action: z.literal('vote'), userId, taskId: z.string().min(1), optionIds: z.array(z.string().min(1)).min(1) }),
  z.object({ action: z.literal('multiple'), userId, taskId: z.string().min(1), choices: z.record(z.string(), z.string()) }),
  z.object({ action: z.literal('location'), userId, latitude: z.number(), longitude: z.number(), label: z.string() }),
  z.object({ action: z.literal('image'), userId }),
  z.object({ action: z.literal('enter'), userId }),
]);
export type MemberAction = z.infer<typeof memberActionSchema>;

/** Carries out a member's action: a signed, encrypted callback to the product, and its delivery record. */
export function actAsMember(driver: WecomDriver, a: MemberAction): Promise<CallbackDelivery> {
  switch (a.action) {
    case 'text':
      return driver.typeText(a.userId, a.content);
    case 'press':
      return driver.pressButton(a.userId, a.taskId, a.key);
    case 'vote':
      return driver.submitVote(a.userId, a.taskId, a.optionIds);
    case 'multiple':
      return driver.submitMultiple(a.userId, a.taskId, a.choices);
    case 'location':
      return driver.sendLocation(a.userId, { latitude: a.latitude, longitude: a.longitude, label: a.label });
    case 'image':
      return driver.sendMedia(a.userId, 'image');
    case 'enter':
      return driver.enterApp(a.userId);
  }
}

const addUserSchema = z.object({ userId, visible: z.boolean().optional() });

export function createControlHandler(driver: WecomDriver, listUsers: () => string[]) {
  return async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    if (req.method === 'GET' && url.pathname === '/__sandbox/state') {
      const users = listUsers();
      return sendJson(res, 200, {
        corpId: driver.config.corpId,
        agentId: driver.config.agentId,
        users: users.map((u) => ({ userId: u, messages: driver.messagesOf(u), cards: driver.cardsOf(u) })),
      });
    }
    if (req.method !== 'POST') return sendJson(res, 404, { error: 'not found' });
    let body: unknown;
    try {
      body = JSON.parse((await readBody(req, 64 * 1024)).toString('utf8'));
    } catch {
      return sendJson(res, 400, { error: 'body is not JSON' });
    }
    if (url.pathname === '/__sandbox/users') {
      const parsed = addUserSchema.safeParse(body);
      if (!parsed.success) return sendJson(res, 400, { error: 'userId required' });
      driver.addUser(parsed.data.userId, { visible: parsed.data.visible ?? true });
      return sendJson(res, 200, { ok: true });
    }
    if (url.pathname !== '/__sandbox/act') return sendJson(res, 404, { error: 'not found' });
    const parsed = memberActionSchema.safeParse(body);
    if (!parsed.success) return sendJson(res, 400, { error: parsed.error.issues.map((i) => i.path.join('.') || i.message).join(', ') });
    try {
      const delivery = await actAsMember(driver, parsed.data);
      return sendJson(res, 200, { id: delivery.id, status: delivery.status, attempts: delivery.attempts.length });
    } catch (err) {
      if (err instanceof MemberActionRefused) return sendJson(res, 409, { error: err.message });
      throw err;
    }
  };
}
