/**
 * The small HTTP server of a bot process: the Telegram webhook here; health, readiness and metrics are
 * added by their own modules (register routes before `listen`). A webhook call without the right
 * `X-Telegram-Bot-Api-Secret-Token` is refused with 403 before its body is read, changes nothing, and is
 * recorded in the audit trail.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { Logger } from '../logger.js';
import type { RefusalAuditor } from './refusal-audit.js';

export interface HttpServerOptions {
  logger?: Logger;
  /** Largest request body, in bytes (default 1 MiB; a Telegram update is far smaller). */
  bodyLimit?: number;
}

export function createHttpServer(opts: HttpServerOptions = {}): FastifyInstance {
  return Fastify({
    ...(opts.logger ? { loggerInstance: opts.logger } : { logger: false }),
    // One log line per webhook call would drown the log; the bot logs what matters about each update.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: opts.bodyLimit ?? 1024 * 1024,
  }) as unknown as FastifyInstance;
}

/** Compares secrets in constant time (hashing first, so the lengths match too). */
export function secretMatches(given: string | string[] | undefined, expected: string): boolean {
  if (typeof given !== 'string' || expected.length === 0) return false;
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** What telegraf's `bot.webhookCallback(path, { secretToken })` returns. */
export type WebhookHandler = (req: IncomingMessage & { body?: never }, res: ServerResponse) => Promise<unknown>;

export interface WebhookRoute {
  path: string;
  secretToken: string;
  handler: WebhookHandler;
  logger?: Logger;
  /** Records a refused call in the audit trail (./refusal-audit.ts). */
  audit?: RefusalAuditor;
}

const mounted = new WeakMap<FastifyInstance, Set<string>>();

export function isWebhookMounted(app: FastifyInstance, path: string): boolean {
  return mounted.get(app)?.has(path) ?? false;
}

/** Mounts the webhook: the secret is checked first (403 otherwise), then telegraf handles the update. */
export function mountWebhook(app: FastifyInstance, route: WebhookRoute): void {
  app.post(
    route.path,
    {
      onRequest: async (request, reply) => {
        if (!secretMatches(request.headers['x-telegram-bot-api-secret-token'], route.secretToken)) {
          route.logger?.warn({ ip: request.ip, path: route.path }, 'webhook call without the right secret token refused');
          await route.audit?.({ reason: request.headers['x-telegram-bot-api-secret-token'] === undefined ? 'no_secret_token' : 'wrong_secret_token', path: route.path });
          await reply.code(403).send();
        }
      },
    },
    async (request, reply) => {
      reply.hijack();
      // telegraf reads a body already parsed when it is on the request.
      const raw = request.raw as IncomingMessage & { body?: unknown };
      raw.body = request.body ?? null;
      await route.handler(raw as IncomingMessage & { body?: never }, reply.raw);
      if (!reply.raw.writableEnded) reply.raw.end();
    },
  );
  const paths = mounted.get(app) ?? new Set<string>();
  paths.add(route.path);
  mounted.set(app, paths);
}
