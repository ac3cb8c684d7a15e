// What the parts of the Bot API stand-in share: the bots it serves, the chats (SandboxState), the
// callback queries, the request log and its counters, the faults waiting to be injected and the
// event stream. The methods (bot-api-methods.ts) change it as Telegram would; the driver
// (bot-api-driver.ts) acts on it as users do and reads it for tests; the routes
// (bot-api-routes.ts) find the bot a call is for and count the calls in progress.

import type { EventEmitter } from 'node:events';
import { UpdateChannel, type WebhookDeliveryRecord } from './bot-api-delivery.js';
import { FaultInjector, RateLimiter, type FaultKind, type LimitScope, type LimitsConfig } from './bot-api-limits.js';
import { SandboxState, type SandboxMessage } from './bot-api-state.js';
import { badRequest, type BotCommand, type TgMessage, type TgUpdate, type TgUser } from './bot-api-types.js';
import type { UpdateIdStore } from './update-id-store.js';

export interface BotApiServerOptions {
  /** 0 = random free port (default 0). */
  port?: number;
  /** Default '127.0.0.1'. */
  host?: string;
  /** Default: one bot, token '123456:TEST-TOKEN', username 'corrections_test_bot'. */
  bots?: Array<{ token: string; username: string; firstName?: string; id?: number; privacyMode?: boolean }>;
  /** Flood limits per bot; default false (off). */
  limits?: false | LimitsConfig;
  /** Cap for getUpdates timeout, seconds (default 50). */
  longPollMaxSeconds?: number;
  /** Serve this folder at `/` (the sandbox page). */
  staticDir?: string;
  /** How long a webhook may take to answer before it counts as failed (default 10 000 ms). */
  webhookTimeoutMs?: number;
  /** Webhook redelivery: attempts before dropping (default 10) and backoff steps in ms. */
  webhookRetry?: { maxAttempts?: number; backoffMs?: number[] };
  /** Keep at most this many entries in `requests` (default 100 000); stats() counts all. */
  maxRequestLog?: number;
  /** Keeps each bot's update-id counter across restarts, as Telegram does (the sandbox: a file in DATA_DIR). */
  updateIds?: UpdateIdStore;
}

export interface CallbackAnswer {
  callback_query_id: string;
  text?: string;
  show_alert: boolean;
  url?: string;
  cache_time?: number;
  answered_at: number;
  user_id: number;
  chat_id?: number;
  message_id?: number;
  data?: string;
}

export interface RequestLogEntry {
  bot: string;
  method: string;
  chat_id?: number | string;
  status: number;
  at: number;
  duration_ms: number;
  via: 'http' | 'webhook_reply';
  error?: string;
  fault?: FaultKind;
}

export interface RateLimitHit {
  bot: string;
  method: string;
  chat_id?: number | string;
  retry_after: number;
  scope: LimitScope | 'fault';
  at: number;
}

export interface ChatActionEvent {
  bot: string;
  chat_id: number;
  action: string;
  at: number;
}

export interface BotApiStats {
  total: number;
  byMethod: Record<string, number>;
  byStatus: Record<string, number>;
  byMethodStatus: Record<string, Record<string, number>>;
  rateLimited: number;
  faults: number;
  messagesStored: number;
}

export type CommandScope =
  | { type: 'default' | 'all_private_chats' | 'all_group_chats' | 'all_chat_administrators' }
  | { type: 'chat' | 'chat_administrators'; chat_id: number | string }
  | { type: 'chat_member'; chat_id: number | string; user_id: number };

export interface BotApiServerEvents {
  update: [{ bot: string; update: TgUpdate; delivered: boolean }];
  message: [SandboxMessage];
  edit: [SandboxMessage];
  delete: [SandboxMessage];
  callback_answer: [CallbackAnswer];
  request: [RequestLogEntry];
  chat_action: [ChatActionEvent];
  rate_limited: [RateLimitHit];
  webhook_delivery: [WebhookDeliveryRecord];
}

export interface BotRuntime {
  token: string;
  user: TgUser;
  privacyMode: boolean;
  channel: UpdateChannel;
  commands: Map<string, BotCommand[]>;
  menuButtons: Map<string, Record<string, unknown>>;
  texts: Map<string, string>;
  limiter: RateLimiter | null;
}

export interface CallbackQueryRecord {
  botToken: string;
  userId: number;
  chatId?: number;
  messageId?: number;
  data?: string;
  answered: boolean;
}

const DEFAULT_BOT = { token: '123456:TEST-TOKEN', username: 'corrections_test_bot' };
const COMMAND_SCOPES = new Set(['default', 'all_private_chats', 'all_group_chats', 'all_chat_administrators', 'chat', 'chat_administrators', 'chat_member']);

// A 1x1 JPEG: enough for clients that sniff the bytes of a downloaded photo.
export const TINY_JPEG = Buffer.from(
  '/9j/4AAQSkZJRgABAQEASABIAAD/2wBDAP//////////////////////////////////////////////////////////////////////////////////////wgALCAABAAEBAREA/8QAFBABAAAAAAAAAAAAAAAAAAAAAP/aAAgBAQABPxA=',
  'base64',
);

export const clone = <T>(v: T): T => structuredClone(v);

/** How a bot is named in logs and events: its username, or its id. */
export const botName = (bot: BotRuntime): string => bot.user.username ?? String(bot.user.id);

/** A message as it appears inside another (reply_to_message, pinned_message): one level deep. */
export function replyView(msg: TgMessage): TgMessage {
  const r = clone(msg);
  delete r.reply_to_message;
  return r;
}

/** What getWebhookInfo answers for this bot. */
export function webhookInfoFor(bot: BotRuntime): Record<string, unknown> {
  const ch = bot.channel;
  const info: Record<string, unknown> = { url: ch.webhook?.url ?? '', has_custom_certificate: false, pending_update_count: ch.pendingCount };
  if (ch.webhook) {
    info.max_connections = ch.webhook.maxConnections;
    if (ch.webhook.ipAddress) info.ip_address = ch.webhook.ipAddress;
    if (ch.allowedUpdates) info.allowed_updates = [...ch.allowedUpdates];
    if (ch.lastError) {
      info.last_error_date = ch.lastError.date;
      info.last_error_message = ch.lastError.message;
    }
  }
  return info;
}

export class BotApiWorld {
  readonly state = new SandboxState();
  readonly bots = new Map<string, BotRuntime>();
  readonly botsById = new Map<number, BotRuntime>();
  readonly defaultBot: BotRuntime;
  readonly callbackQueries = new Map<string, CallbackQueryRecord>();
  readonly callbackAnswers = new Map<string, CallbackAnswer>();
  readonly requests: RequestLogEntry[] = [];
  readonly rateLimitHits: RateLimitHit[] = [];
  readonly webhookDeliveries: WebhookDeliveryRecord[] = [];
  readonly faults = new FaultInjector();
  readonly counters = { total: 0, faults: 0, byMethod: {} as Record<string, number>, byStatus: {} as Record<string, number>, byMethodStatus: {} as Record<string, Record<string, number>> };
  /** HTTP calls being answered, long polls left out (waitForIdle waits for none). */
  inflightRequests = 0;
  lastActivity = Date.now();
  /** Runs the method a webhook answered with (the methods are built after the world: set by the server). */
  onWebhookReply: (bot: BotRuntime, body: Buffer, contentType: string | undefined) => void = () => {};
  private changeSeq = 0;
  private readonly maxRequestLog: number;

  constructor(
    opts: BotApiServerOptions,
    readonly events: EventEmitter<BotApiServerEvents>,
  ) {
    this.maxRequestLog = opts.maxRequestLog ?? 100_000;
    const botDefs: NonNullable<BotApiServerOptions['bots']> = opts.bots && opts.bots.length > 0 ? opts.bots : [DEFAULT_BOT];
    for (const def of botDefs) {
      const id = def.id ?? Number(def.token.split(':')[0]);
      if (!Number.isSafeInteger(id) || id <= 0) throw new Error(`bot token "${def.token}" must start with a numeric bot id (or pass id)`);
      const user: TgUser = { id, is_bot: true, first_name: def.firstName ?? def.username, username: def.username };
      const rt: BotRuntime = {
        token: def.token,
        user,
        privacyMode: def.privacyMode ?? true,
        commands: new Map(),
        menuButtons: new Map(),
        texts: new Map(),
        limiter: opts.limits ? new RateLimiter(opts.limits) : null,
        channel: new UpdateChannel(
          {
            botName: def.username,
            longPollMaxSeconds: opts.longPollMaxSeconds ?? 50,
            webhookTimeoutMs: opts.webhookTimeoutMs ?? 10_000,
            retryBackoffMs: opts.webhookRetry?.backoffMs ?? [200, 500, 1000, 2000, 4000, 8000],
            maxAttempts: opts.webhookRetry?.maxAttempts ?? 10,
            ...(opts.updateIds ? { updateIds: opts.updateIds } : {}),
          },
          {
            onWebhookReply: (body, contentType) => this.onWebhookReply(rt, body, contentType),
            onDelivery: (rec, isNew) => {
              if (isNew) this.webhookDeliveries.push(rec);
              this.events.emit('webhook_delivery', rec);
            },
            onActivity: () => this.touch(),
          },
        ),
      };
      this.bots.set(def.token, rt);
      this.botsById.set(id, rt);
    }
    this.defaultBot = this.bots.values().next().value as BotRuntime;
  }

  /** The server-wide change counter, one step on: orders the bot's output against users' actions. */
  nextSeq(): number {
    return ++this.changeSeq;
  }

  touch(): void {
    this.lastActivity = Date.now();
  }

  /** The key under which setMyCommands keeps a scope and language; Telegram's errors for bad ones. */
  scopeKey(scope: Record<string, unknown>, lang: string): string {
    const type = String(scope.type ?? '');
    if (!COMMAND_SCOPES.has(type)) throw badRequest('unsupported bot command scope type specified');
    const parts: unknown[] = [type];
    if (type === 'chat' || type === 'chat_administrators' || type === 'chat_member') {
      parts.push(this.state.resolveChat(scope.chat_id).chat.id);
    }
    if (type === 'chat_member') {
      const userId = Number(scope.user_id);
      if (!this.state.users.has(userId)) throw badRequest('user not found');
      parts.push(userId);
    }
    parts.push(lang);
    return JSON.stringify(parts);
  }

  logRequest(bot: BotRuntime, method: string, chatRef: number | string | undefined, status: number, started: number, via: RequestLogEntry['via'], error?: string, fault?: FaultKind): void {
    const entry: RequestLogEntry = { bot: botName(bot), method, status, at: started, duration_ms: Date.now() - started, via };
    if (chatRef !== undefined && chatRef !== '') entry.chat_id = typeof chatRef === 'string' && /^-?\d+$/.test(chatRef) ? Number(chatRef) : chatRef;
    if (error !== undefined) entry.error = error;
    if (fault !== undefined) entry.fault = fault;
    this.requests.push(entry);
    // Trim in chunks so a long benchmark does not pay an O(n) splice per request.
    if (this.requests.length > this.maxRequestLog * 1.1) this.requests.splice(0, this.requests.length - this.maxRequestLog);
    const c = this.counters;
    c.total++;
    c.byMethod[method] = (c.byMethod[method] ?? 0) + 1;
    c.byStatus[String(status)] = (c.byStatus[String(status)] ?? 0) + 1;
    const ms = (c.byMethodStatus[method] ??= {});
    ms[String(status)] = (ms[String(status)] ?? 0) + 1;
    this.events.emit('request', entry);
  }

  recordRateLimit(bot: BotRuntime, method: string, chatRef: number | string | undefined, retryAfter: number, scope: RateLimitHit['scope']): void {
    const hit: RateLimitHit = { bot: botName(bot), method, retry_after: retryAfter, scope, at: Date.now() };
    if (chatRef !== undefined) hit.chat_id = chatRef;
    this.rateLimitHits.push(hit);
    this.events.emit('rate_limited', hit);
  }
}
