/**
 * What the sandbox page needs that the Bot API stand-in's control API cannot do: the trainer's controls.
 * Start a drill of a chosen type at a chosen office (issue 5, 10), start afresh from the example
 * organisation, and run one of the day's scheduled runs now (issue 10). And the WeCom panes (issue 13):
 * each WeCom member's chat and cards as the WeCom stand-in holds them, live, and acting as the member
 * (typing, pressing a card's button, submitting a choice), which the stand-in turns into signed, encrypted
 * callbacks to the product. Mounted on the sandbox's own HTTP server (bound to 127.0.0.1), with CORS for
 * the page's origins only.
 */
import type { ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { EPIDEMIC_SCENARIOS, INCIDENT_TYPES, RUN_NOW_KINDS, TrainerRequestError, type EpidemicScenario, type IncidentType, type RunNowKind, type RunNowResult } from '../app.js';
import type { Logger } from '../logger.js';
import { actAsMember, memberActionSchema, type MemberAction } from './wecom/wecom-control.js';
import { MemberActionRefused, type WecomDriver } from './wecom/wecom-driver.js';
import type { CardState, ReceivedMessage } from './wecom/wecom-world.js';

export const DRILL_ROUTE = '/sandbox/drill';
export const RESET_ROUTE = '/sandbox/reset';
export const RUN_NOW_ROUTE = '/sandbox/run-now';
/** The WeCom panes: every member's chat (GET), live (SSE), acting as a member (POST), a sent file (GET). */
export const WECOM_ROUTES = { state: '/sandbox/wecom/state', events: '/sandbox/wecom/events', act: '/sandbox/wecom/act', files: '/sandbox/wecom/files' } as const;

export interface DrillRequest {
  type?: IncidentType;
  /** An office's code from the org file (`office-hushu`); default: the officer's office. */
  officeCode?: string;
  scenario?: EpidemicScenario;
}

export interface ResetResult {
  /** Messages taken out of the chats. */
  messagesCleared: number;
  staff: number;
  subjects: number;
  absences: number;
}

const drillRequest = z
  .object({ type: z.enum(INCIDENT_TYPES).optional(), officeCode: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).optional(), scenario: z.enum(EPIDEMIC_SCENARIOS).optional() })
  .strict();
const resetRequest = z.object({}).strict();
const runNowRequest = z.object({ kind: z.enum(RUN_NOW_KINDS) }).strict();

export interface SandboxRouteDeps {
  /** The page's origins (`http://127.0.0.1:8080`, `http://localhost:8080`): the only ones allowed to call. */
  pageOrigins: readonly string[];
  startDrill(input: DrillRequest): Promise<{ incidentNumber: string }>;
  reset(): Promise<ResetResult>;
  runNow(kind: RunNowKind): Promise<RunNowResult>;
  /** The WeCom stand-in and the members the page shows, when the sandbox runs WeCom. */
  wecom?: { driver: WecomDriver; members: readonly string[] };
  logger: Logger;
}

/** What a member did in the chat that shows there as their own message (a press or a choice does not). */
export interface MemberMessage {
  id: string;
  at: number;
  kind: 'text' | 'location' | 'image';
  content?: string;
}

/** A member's chat as the page draws it: what the application sent, what the member sent, the cards as they look now. */
export interface WecomChat {
  userId: string;
  received: ReceivedMessage[];
  sent: MemberMessage[];
  cards: Array<Omit<CardState, 'renderings'>>;
}

const withoutRenderings = ({ renderings: _all, ...card }: CardState): Omit<CardState, 'renderings'> => card;

export function registerSandboxRoutes(app: FastifyInstance, deps: SandboxRouteDeps): void {
  const cors = (origin: string | undefined): Record<string, string> =>
    origin !== undefined && deps.pageOrigins.includes(origin) ? { 'access-control-allow-origin': origin, vary: 'origin' } : { vary: 'origin' };

  /** A POST route the page calls: CORS preflight, the origin check, the body parsed, errors as JSON. */
  const post = <T>(route: string, schema: z.ZodType<T>, usage: string, handle: (body: T) => Promise<Record<string, unknown>>) => {
    app.options(route, async (req, reply) =>
      reply
        .code(204)
        .headers({ ...cors(req.headers.origin), 'access-control-allow-methods': 'POST', 'access-control-allow-headers': 'content-type', 'access-control-max-age': '600' })
        .send(),
    );
    app.post(route, async (req: FastifyRequest, reply: FastifyReply) => {
      const origin = req.headers.origin;
      reply.headers(cors(origin));
      // A browser always sends Origin on a cross-origin POST: another site's page cannot act here.
      if (origin !== undefined && !deps.pageOrigins.includes(origin)) return reply.code(403).send({ error: 'origin not allowed' });
      const parsed = schema.safeParse(req.body ?? {});
      if (!parsed.success) return reply.code(400).send({ error: `body must be ${usage}` });
      try {
        return { ok: true, ...(await handle(parsed.data)) };
      } catch (err) {
        deps.logger.warn({ err, route }, 'sandbox control failed');
        return reply.code(err instanceof TrainerRequestError ? 400 : 500).send({ error: (err as Error).message });
      }
    });
  };

  if (deps.wecom) registerWecomPanes(app, deps.wecom, { cors, allowed: (origin) => origin === undefined || deps.pageOrigins.includes(origin), logger: deps.logger });

  post(DRILL_ROUTE, drillRequest, '{} or { "type"?, "officeCode"?, "scenario"? }', async (input) => {
    const r = await deps.startDrill(input);
    deps.logger.info({ incident: r.incidentNumber, type: input.type, office: input.officeCode }, 'sandbox drill started');
    return { incident: r.incidentNumber };
  });
  post(RESET_ROUTE, resetRequest, '{}', async () => {
    const r = await deps.reset();
    deps.logger.info(r, 'sandbox started afresh');
    return { ...r };
  });
  post(RUN_NOW_ROUTE, runNowRequest, `{ "kind": ${RUN_NOW_KINDS.map((k) => `"${k}"`).join(' | ')} }`, async ({ kind }) => {
    const r = await deps.runNow(kind);
    deps.logger.info(r, 'sandbox daily run done now');
    return { ...r };
  });
}

/**
 * The WeCom panes' routes. The stand-in keeps what each member received; what the member typed is a
 * callback, encrypted on the way, so the page's own record of it is kept here (emptied with the chats).
 */
function registerWecomPanes(
  app: FastifyInstance,
  wecom: NonNullable<SandboxRouteDeps['wecom']>,
  http: { cors: (origin: string | undefined) => Record<string, string>; allowed: (origin: string | undefined) => boolean; logger: Logger },
): void {
  const { driver } = wecom;
  const members = new Map(wecom.members.map((u) => [u.toLowerCase(), u]));
  const sent = new Map<string, MemberMessage[]>();
  let seq = 0;
  const clients = new Set<ServerResponse>();
  const broadcast = (event: string, data: unknown): void => {
    const frame = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const res of clients) res.write(frame);
  };
  const shown = (userId: string): string | undefined => members.get(userId.toLowerCase());
  driver.events.on('message', ({ userId, message }) => {
    const u = shown(userId);
    if (u) broadcast('message', { userId: u, message });
  });
  driver.events.on('card', ({ userId, card }) => {
    const u = shown(userId);
    if (u) broadcast('card', { userId: u, card: withoutRenderings(card) });
  });
  driver.events.on('cleared', () => {
    sent.clear();
    broadcast('cleared', {});
  });
  const keepAlive = setInterval(() => {
    for (const res of clients) res.write(': keep-alive\n\n');
  }, 15_000);
  keepAlive.unref();
  app.addHook('onClose', async () => {
    clearInterval(keepAlive);
    for (const res of clients) res.end();
    clients.clear();
  });

  const chatOf = (userId: string): WecomChat => ({
    userId,
    received: driver.messagesOf(userId),
    sent: sent.get(userId.toLowerCase()) ?? [],
    cards: driver.cardsOf(userId).map(withoutRenderings),
  });
  const record = (a: MemberAction): void => {
    const entry: MemberMessage | undefined =
      a.action === 'text'
        ? { id: `m${++seq}`, at: Date.now(), kind: 'text', content: a.content }
        : a.action === 'location'
          ? { id: `m${++seq}`, at: Date.now(), kind: 'location', content: a.label }
          : a.action === 'image'
            ? { id: `m${++seq}`, at: Date.now(), kind: 'image' }
            : undefined;
    if (!entry) return;
    const key = a.userId.toLowerCase();
    sent.set(key, [...(sent.get(key) ?? []), entry]);
    broadcast('member', { userId: shown(a.userId), entry });
  };

  app.get(WECOM_ROUTES.state, async (req, reply) => {
    reply.headers(http.cors(req.headers.origin));
    if (!http.allowed(req.headers.origin)) return reply.code(403).send({ error: 'origin not allowed' });
    return { users: [...members.values()].map(chatOf) };
  });

  app.get(WECOM_ROUTES.events, (req, reply) => {
    if (!http.allowed(req.headers.origin)) return reply.code(403).send({ error: 'origin not allowed' });
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { ...http.cors(req.headers.origin), 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' });
    res.write('retry: 1000\n: connected\n\n');
    clients.add(res);
    res.on('close', () => clients.delete(res));
  });

  app.get(`${WECOM_ROUTES.files}/:mediaId`, async (req, reply) => {
    const { mediaId } = req.params as { mediaId: string };
    const file = driver.mediaFile(mediaId);
    if (!file) return reply.code(404).send({ error: 'no such file' });
    return reply
      .headers({
        'content-type': file.contentType,
        'content-disposition': `attachment; filename*=UTF-8''${encodeURIComponent(file.filename)}`,
      })
      .send(file.data);
  });

  app.options(WECOM_ROUTES.act, async (req, reply) =>
    reply
      .code(204)
      .headers({ ...http.cors(req.headers.origin), 'access-control-allow-methods': 'POST', 'access-control-allow-headers': 'content-type', 'access-control-max-age': '600' })
      .send(),
  );
  app.post(WECOM_ROUTES.act, async (req, reply) => {
    reply.headers(http.cors(req.headers.origin));
    if (!http.allowed(req.headers.origin)) return reply.code(403).send({ error: 'origin not allowed' });
    const parsed = memberActionSchema.safeParse(req.body ?? {});
    if (!parsed.success) return reply.code(400).send({ error: parsed.error.issues.map((i) => i.path.join('.') || i.message).join(', ') });
    if (!shown(parsed.data.userId)) return reply.code(404).send({ error: 'not a member shown on the page' });
    record(parsed.data);
    try {
      const delivery = await actAsMember(driver, parsed.data);
      // 200: the product took the callback; anything else is what WeCom would have retried and given up on.
      return { ok: delivery.status === 200, status: delivery.status, attempts: delivery.attempts.length };
    } catch (err) {
      if (err instanceof MemberActionRefused) return reply.code(409).send({ error: err.message });
      http.logger.warn({ err }, 'sandbox WeCom action failed');
      return reply.code(500).send({ error: (err as Error).message });
    }
  });
}
