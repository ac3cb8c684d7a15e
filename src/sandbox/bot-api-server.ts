// The single local stand-in for the Telegram Bot API server, used by the end-to-end tests of the
// bot (telegraf 4.16 talks to it via `telegram.apiRoot`), the notification gateway tests, the
// benchmark and the browser sandbox page. It behaves like api.telegram.org wherever it can:
// same answers, status codes and error texts, long polling, webhooks, flood limits. Helpers
// let tests act as users, inspect chats, inject faults and wait for the bot.
//
// Its parts change for different reasons, so each has a module: the Bot API methods
// (bot-api-methods.ts), the HTTP routing (bot-api-routes.ts), what tests and the page drive
// (bot-api-driver.ts), and what they share (bot-api-world.ts). This file puts them together and
// owns the HTTP server's life. It extends the driver rather than forwarding to it, so each of the
// thirty-odd helpers keeps one signature and one doc comment.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { handleControlRequest, type SseHub, createSseHub } from './bot-api-control.js';
import { BotApiDriver } from './bot-api-driver.js';
import { sendJson } from './bot-api-http.js';
import { SEND_METHODS } from './bot-api-limits.js';
import { BotApiMethods } from './bot-api-methods.js';
import { BotApiRoutes } from './bot-api-routes.js';
import type { BotApiServerOptions } from './bot-api-world.js';

export type { SandboxMessage } from './bot-api-state.js';
export type { WebhookDeliveryRecord } from './bot-api-delivery.js';
export type { FailNextOptions, FaultPlan, FaultKind, LimitsConfig } from './bot-api-limits.js';
export type { TgUpdate, TgMessage, TgUser, TgChat, BotCommand, InlineKeyboardButton, MessageEntity } from './bot-api-types.js';
export type { UserActionOptions, UserActionResult } from './bot-api-driver.js';
export type {
  BotApiServerEvents,
  BotApiServerOptions,
  BotApiStats,
  CallbackAnswer,
  ChatActionEvent,
  CommandScope,
  RateLimitHit,
  RequestLogEntry,
} from './bot-api-world.js';

export class BotApiServer extends BotApiDriver {
  url = '';
  private readonly methods: BotApiMethods;
  private readonly routes: BotApiRoutes;
  private readonly sse: SseHub;
  private readonly server: http.Server;
  private closed = false;

  constructor(private readonly opts: BotApiServerOptions = {}) {
    super(opts);
    this.methods = new BotApiMethods(this.world);
    this.world.onWebhookReply = (bot, body, contentType) => void this.methods.runWebhookReply(bot, body, contentType);
    this.sse = createSseHub(this);
    this.routes = new BotApiRoutes({ world: this.world, methods: this.methods, control: (req, res, url) => handleControlRequest(this, this.sse, req, res, url) });
    if (opts.staticDir) this.routes.registerStaticRoute('/', opts.staticDir);
    this.server = http.createServer((req, res) => {
      this.routes.route(req, res).catch((err: unknown) => {
        sendJson(res, 500, { ok: false, error_code: 500, description: `Internal Server Error: ${String(err)}` });
      });
    });
    this.server.keepAliveTimeout = 65_000;
  }

  /** Binds the HTTP server; resolves with `url` set. */
  async listen(): Promise<this> {
    const host = this.opts.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.opts.port ?? 0, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const addr = this.server.address() as AddressInfo;
    const shownHost = host.includes(':') ? `[${host}]` : host;
    this.url = `http://${shownHost}:${addr.port}`;
    return this;
  }

  get port(): number {
    return (this.server.address() as AddressInfo | null)?.port ?? 0;
  }

  /** Serves `dir` under `prefix` (the sandbox: the page's config.json under /sandbox-page). */
  registerStaticRoute(prefix: string, dir: string): void {
    this.routes.registerStaticRoute(prefix, dir);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const b of this.world.bots.values()) b.channel.close();
    this.sse.close();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    this.removeAllListeners();
  }
}

export async function startBotApiServer(opts: BotApiServerOptions = {}): Promise<BotApiServer> {
  return await new BotApiServer(opts).listen();
}

export { SEND_METHODS };
