// The single local stand-in for the Telegram Bot API server, used by the end-to-end tests of the
// bot (telegraf 4.16 talks to it via `telegram.apiRoot`), the notification gateway tests, the
// benchmark and the browser sandbox page. It behaves like api.telegram.org wherever it can:
// same answers, status codes and error texts, long polling, webhooks, flood limits. Helpers
// let tests act as users, inspect chats, inject faults and wait for the bot.

import { EventEmitter } from 'node:events';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { handleControlRequest, type SseHub, createSseHub } from './bot-api-control.js';
import { UpdateChannel, type WebhookDeliveryRecord } from './bot-api-delivery.js';
import { formatIncoming, formatOutgoing } from './bot-api-format.js';
import { BodyTooLargeError, isUpload, parseParams, readBody, sendJson, serveStatic, type Params, type UploadedFile } from './bot-api-http.js';
import {
  DEFAULT_FAULT_DESCRIPTIONS,
  FaultInjector,
  RateLimiter,
  SEND_METHODS,
  type FailNextOptions,
  type FaultKind,
  type FaultPlan,
  type LimitScope,
  type LimitsConfig,
} from './bot-api-limits.js';
import {
  inlineButtons,
  nowSeconds,
  parseReplyMarkup,
  SandboxState,
  toSandboxMessage,
  type AddGroupInput,
  type AddUserInput,
  type ChatRecord,
  type FileRecord,
  type SandboxMessage,
  type StoredMessage,
} from './bot-api-state.js';
import {
  ApiError,
  badRequest,
  type ApiBody,
  type BotCommand,
  type InlineKeyboardButton,
  type InlineKeyboardMarkup,
  type MessageEntity,
  type TgChat,
  type TgMessage,
  type TgUpdate,
  type TgUser,
} from './bot-api-types.js';
import type { UpdateIdStore } from './update-id-store.js';

export type { SandboxMessage } from './bot-api-state.js';
export type { WebhookDeliveryRecord } from './bot-api-delivery.js';
export type { FailNextOptions, FaultPlan, FaultKind, LimitsConfig } from './bot-api-limits.js';
export type { TgUpdate, TgMessage, TgUser, TgChat, BotCommand, InlineKeyboardButton, MessageEntity } from './bot-api-types.js';

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

export interface UserActionOptions {
  /** Chat to act in: a group the user is a member of. Default: the user's private chat. */
  chatId?: number;
  /** Bot (token or username) that receives the update. Default: the first bot. */
  bot?: string;
}

export interface UserActionResult {
  updateId: number;
  messageId: number;
  chatId: number;
  message: TgMessage;
  /** False when Telegram would not hand this update to the bot (privacy mode, allowed_updates). */
  delivered: boolean;
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

interface BotRuntime {
  token: string;
  user: TgUser;
  privacyMode: boolean;
  channel: UpdateChannel;
  commands: Map<string, BotCommand[]>;
  menuButtons: Map<string, Record<string, unknown>>;
  texts: Map<string, string>;
  limiter: RateLimiter | null;
}

interface CallbackQueryRecord {
  botToken: string;
  userId: number;
  chatId?: number;
  messageId?: number;
  data?: string;
  answered: boolean;
}

interface Outcome {
  status: number;
  body: ApiBody;
  /** Raw body instead of JSON (a 502 from the fronting nginx is HTML, as on the real API). */
  html?: string;
  delayMs: number;
  fault?: FaultKind;
}

interface CallContext {
  via: 'http' | 'webhook_reply';
  signal: AbortSignal;
}

/** A result that also carries Telegram's `description` field (setWebhook and friends). */
class Described {
  constructor(
    readonly result: unknown,
    readonly description: string,
  ) {}
}

type Handler = (bot: BotRuntime, a: Args, ctx: CallContext) => unknown;

/** Typed access to request parameters, whatever encoding they came in. */
class Args {
  constructor(readonly raw: Params) {}

  get(name: string): unknown {
    return this.raw[name];
  }

  has(name: string): boolean {
    const v = this.raw[name];
    return v !== undefined && v !== null && v !== '';
  }

  str(name: string): string | undefined {
    const v = this.raw[name];
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'string') return v;
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    return JSON.stringify(v);
  }

  int(name: string, error?: string): number | undefined {
    const v = this.raw[name];
    if (v === undefined || v === null || v === '') return undefined;
    if (typeof v === 'number' && Number.isInteger(v)) return v;
    if (typeof v === 'string' && /^\s*-?\d+\s*$/.test(v)) return Number(v);
    throw badRequest(error ?? `field "${name}" must be of type Integer`);
  }

  num(name: string, error?: string): number | undefined {
    const v = this.raw[name];
    if (v === undefined || v === null || v === '') return undefined;
    const n = typeof v === 'number' ? v : Number(v);
    if (!Number.isFinite(n)) throw badRequest(error ?? `field "${name}" must be of type Float`);
    return n;
  }

  bool(name: string): boolean {
    const v = this.raw[name];
    return v === true || v === 'true' || v === 1 || v === '1' || v === 'True';
  }

  json(name: string): unknown {
    const v = this.raw[name];
    if (typeof v !== 'string') return v;
    if (v === '') return undefined;
    try {
      return JSON.parse(v) as unknown;
    } catch {
      throw badRequest(`can't parse ${name} JSON object`);
    }
  }
}

const DEFAULT_BOT = { token: '123456:TEST-TOKEN', username: 'corrections_test_bot' };
const MAX_BODY_BYTES = 50 * 1024 * 1024;
const CHAT_ACTIONS = new Set([
  'typing', 'upload_photo', 'record_video', 'upload_video', 'record_voice', 'upload_voice', 'upload_document',
  'choose_sticker', 'find_location', 'record_video_note', 'upload_video_note',
]);
const COMMAND_SCOPES = new Set(['default', 'all_private_chats', 'all_group_chats', 'all_chat_administrators', 'chat', 'chat_administrators', 'chat_member']);
// A 1x1 JPEG: enough for clients that sniff the bytes of a downloaded photo.
const TINY_JPEG = Buffer.from(
  '/9j/4AAQSkZJRgABAQEASABIAAD/2wBDAP//////////////////////////////////////////////////////////////////////////////////////wgALCAABAAEBAREA/8QAFBABAAAAAAAAAAAAAAAAAAAAAP/aAAgBAQABPxA=',
  'base64',
);
const FAKE_OGG = Buffer.concat([Buffer.from('OggS'), Buffer.alloc(60)]);

const clone = <T>(v: T): T => structuredClone(v);
const sameJson = (a: unknown, b: unknown): boolean => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

export class BotApiServer extends EventEmitter<BotApiServerEvents> {
  url = '';
  readonly token: string;
  readonly requests: RequestLogEntry[] = [];
  readonly callbackAnswers = new Map<string, CallbackAnswer>();
  readonly rateLimitHits: RateLimitHit[] = [];
  readonly webhookDeliveries: WebhookDeliveryRecord[] = [];
  /** Every update created, in order, with the bot it went to. */
  readonly updates: Array<{ bot: string; update: TgUpdate; delivered: boolean }> = [];

  private readonly state = new SandboxState();
  private readonly bots = new Map<string, BotRuntime>();
  private readonly botsById = new Map<number, BotRuntime>();
  private readonly defaultBot: BotRuntime;
  private readonly callbackQueries = new Map<string, CallbackQueryRecord>();
  private callbackSeq = 0;
  private readonly faults = new FaultInjector();
  private readonly server: http.Server;
  private readonly staticRoutes: Array<{ prefix: string; dir: string }> = [];
  private readonly sse: SseHub;
  private readonly counters = { total: 0, faults: 0, byMethod: {} as Record<string, number>, byStatus: {} as Record<string, number>, byMethodStatus: {} as Record<string, Record<string, number>> };
  private readonly maxRequestLog: number;
  private readonly methods: Map<string, { name: string; handler: Handler }>;
  private inflightRequests = 0;
  private changeSeq = 0;
  private lastActivity = Date.now();
  private closed = false;

  constructor(private readonly opts: BotApiServerOptions = {}) {
    super();
    this.setMaxListeners(0);
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
            onWebhookReply: (body, contentType) => void this.runWebhookReply(rt, body, contentType),
            onDelivery: (rec, isNew) => {
              if (isNew) this.webhookDeliveries.push(rec);
              this.emit('webhook_delivery', rec);
            },
            onActivity: () => this.touch(),
          },
        ),
      };
      this.bots.set(def.token, rt);
      this.botsById.set(id, rt);
    }
    this.defaultBot = this.bots.values().next().value as BotRuntime;
    this.token = this.defaultBot.token;
    this.methods = this.buildMethods();
    this.sse = createSseHub(this);
    if (opts.staticDir) this.registerStaticRoute('/', opts.staticDir);
    this.server = http.createServer((req, res) => {
      this.route(req, res).catch((err: unknown) => {
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

  /** Info about the bots served (for the sandbox page and multi-bot tests). */
  botInfo(bot?: string): TgUser & { token: string } {
    const rt = this.botFor(bot);
    return { ...rt.user, token: rt.token };
  }

  listBots(): Array<TgUser & { token: string }> {
    return [...this.bots.values()].map((b) => ({ ...b.user, token: b.token }));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const b of this.bots.values()) b.channel.close();
    this.sse.close();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    this.removeAllListeners();
  }

  // ---------------------------------------------------------------- users and chats

  addUser(input: AddUserInput): TgUser {
    return clone(this.state.addUser(input));
  }

  addGroup(input: AddGroupInput): TgChat {
    return clone(this.state.addGroup(input));
  }

  users(): Array<TgUser & { blocked: string[] }> {
    return [...this.state.users.values()].map((u) => ({
      ...clone(u),
      blocked: [...this.bots.values()].filter((b) => this.state.isBlocked(b.user.id, u.id)).map((b) => b.user.username ?? String(b.user.id)),
    }));
  }

  chats(): Array<TgChat & { member_ids: number[]; message_count: number }> {
    return [...this.state.chats.values()].map((c) => ({ ...clone(c.chat), member_ids: [...c.memberIds], message_count: c.messages.length }));
  }

  /** The user blocks (or unblocks) the bot: sends then answer 403, the bot gets my_chat_member. */
  blockBot(userId: number, blocked = true, opts: { bot?: string } = {}): void {
    const bot = this.botFor(opts.bot);
    const user = this.userOrThrow(userId);
    if (this.state.isBlocked(bot.user.id, userId) === blocked) return;
    this.state.setBlocked(bot.user.id, userId, blocked);
    this.deliverMemberChange(bot, user, blocked ? 'kicked' : 'member');
  }

  isBlocked(userId: number, opts: { bot?: string } = {}): boolean {
    return this.state.isBlocked(this.botFor(opts.bot).user.id, userId);
  }

  // ---------------------------------------------------------------- acting as a user

  sendText(userId: number, text: string, opts: UserActionOptions & { replyToMessageId?: number } = {}): UserActionResult {
    if (text.length === 0) throw new Error('sendText: Telegram clients cannot send an empty message');
    const ft = formatIncoming(text);
    const content: Partial<TgMessage> = { text: ft.text };
    if (ft.entities.length > 0) content.entities = ft.entities;
    return this.userMessage(userId, opts, content, opts.replyToMessageId);
  }

  /** The user edits one of their messages: the bot gets an `edited_message` update. */
  editText(userId: number, messageId: number, text: string, opts: UserActionOptions = {}): { updateId: number; messageId: number; delivered: boolean } {
    const bot = this.botFor(opts.bot);
    const rec = this.chatForUser(userId, opts.chatId);
    const stored = rec.byId.get(messageId);
    if (!stored || stored.deleted || stored.fromBot || stored.msg.from?.id !== userId) throw new Error(`editText: message ${messageId} in chat ${rec.chat.id} is not a live message of user ${userId}`);
    const ft = formatIncoming(text);
    rec.userActionSeq = ++this.changeSeq;
    stored.seq = rec.userActionSeq;
    stored.history.push(clone(stored.msg));
    stored.msg.text = ft.text;
    if (ft.entities.length > 0) stored.msg.entities = ft.entities;
    else delete stored.msg.entities;
    stored.msg.edit_date = nowSeconds();
    this.emit('edit', toSandboxMessage(stored));
    const deliverIt = this.groupVisible(bot, rec, stored.msg);
    const { updateId, delivered } = this.deliver(bot, { edited_message: clone(stored.msg) }, deliverIt);
    return { updateId, messageId, delivered };
  }

  sendLocation(userId: number, latitude: number, longitude: number, opts: UserActionOptions = {}): UserActionResult {
    return this.userMessage(userId, opts, { location: { latitude, longitude } });
  }

  sendPhoto(userId: number, opts: UserActionOptions & { caption?: string; bytes?: Buffer } = {}): UserActionResult {
    const content: Partial<TgMessage> = { photo: this.state.addPhoto(opts.bytes ?? TINY_JPEG) };
    this.addUserCaption(content, opts.caption);
    return this.userMessage(userId, opts, content);
  }

  sendVoice(userId: number, opts: UserActionOptions & { duration?: number; bytes?: Buffer; caption?: string } = {}): UserActionResult {
    const f = this.state.addFile('voice', opts.bytes ?? FAKE_OGG, { mimeType: 'audio/ogg' });
    const content: Partial<TgMessage> = {
      voice: { file_id: f.file_id, file_unique_id: f.file_unique_id, duration: opts.duration ?? 3, mime_type: 'audio/ogg', file_size: f.file_size },
    };
    this.addUserCaption(content, opts.caption);
    return this.userMessage(userId, opts, content);
  }

  sendDocument(userId: number, doc: { fileName: string; mimeType: string; bytes?: Buffer; caption?: string }, opts: UserActionOptions = {}): UserActionResult {
    const data = doc.bytes ?? Buffer.from(`fake content of ${doc.fileName}\n`);
    const f = this.state.addFile('document', data, { mimeType: doc.mimeType, fileName: doc.fileName });
    const content: Partial<TgMessage> = {
      document: { file_id: f.file_id, file_unique_id: f.file_unique_id, file_name: doc.fileName, mime_type: doc.mimeType, file_size: f.file_size },
    };
    this.addUserCaption(content, doc.caption);
    return this.userMessage(userId, opts, content);
  }

  /**
   * The user presses an inline button of a stored message. Throws (test-helper misuse) when the
   * message has no button with that callback_data, unless `force`.
   */
  pressButton(userId: number, messageId: number, callbackData: string, opts: UserActionOptions & { force?: boolean } = {}): { updateId: number; callbackQueryId: string } {
    const user = this.userOrThrow(userId);
    const rec = this.chatForUser(userId, opts.chatId);
    const stored = rec.byId.get(messageId);
    if (!opts.force) {
      if (!stored || stored.deleted) throw new Error(`pressButton: no live message ${messageId} in chat ${rec.chat.id}`);
      const buttons = inlineButtons(stored.msg);
      if (!buttons.some((b) => b.callback_data === callbackData)) {
        const shown = buttons.map((b) => `${JSON.stringify(b.text)}${b.callback_data !== undefined ? `→${JSON.stringify(b.callback_data)}` : ''}`).join(', ') || 'none';
        throw new Error(`pressButton: message ${messageId} in chat ${rec.chat.id} has no inline button with callback_data ${JSON.stringify(callbackData)} (buttons: ${shown})`);
      }
    }
    const bot = opts.bot !== undefined ? this.botFor(opts.bot) : stored ? (this.botsById.get(stored.botId) ?? this.defaultBot) : this.defaultBot;
    const id = `${bot.user.id}${String(++this.callbackSeq).padStart(9, '0')}`;
    const message: TgMessage | { message_id: number; chat: TgChat; date: 0 } =
      stored && !stored.deleted ? clone(stored.msg) : { message_id: messageId, chat: clone(rec.chat), date: 0 };
    this.callbackQueries.set(id, { botToken: bot.token, userId, chatId: rec.chat.id, messageId, data: callbackData, answered: false });
    rec.userActionSeq = ++this.changeSeq;
    const { updateId } = this.deliver(bot, {
      callback_query: { id, from: clone(user), message: message as TgMessage, chat_instance: this.chatInstance(bot, rec.chat.id), data: callbackData },
    });
    return { updateId, callbackQueryId: id };
  }

  pressButtonByText(userId: number, messageId: number, buttonText: string, opts: UserActionOptions = {}): { updateId: number; callbackQueryId: string } {
    const rec = this.chatForUser(userId, opts.chatId);
    const stored = rec.byId.get(messageId);
    const button = stored ? this.findButton(stored.msg, (b) => b.text === buttonText) : undefined;
    if (!button || button.callback_data === undefined) {
      const shown = stored ? inlineButtons(stored.msg).map((b) => JSON.stringify(b.text)).join(', ') : 'no such message';
      throw new Error(`pressButtonByText: message ${messageId} in chat ${rec.chat.id} has no callback button ${JSON.stringify(buttonText)} (buttons: ${shown || 'none'})`);
    }
    return this.pressButton(userId, messageId, button.callback_data, opts);
  }

  findButton(message: { reply_markup?: InlineKeyboardMarkup | undefined } | null | undefined, predicate: (b: InlineKeyboardButton) => boolean): InlineKeyboardButton | undefined {
    return message?.reply_markup?.inline_keyboard.flat().find(predicate);
  }

  /**
   * Delivers a raw update as given (forged callbacks, fuzzing, redelivery of an update_id).
   * Without update_id the next one is assigned. Forged callback_query ids are unknown to
   * answerCallbackQuery (as on Telegram) unless `registerCallbackQuery`.
   */
  injectUpdate(update: object, opts: { bot?: string; registerCallbackQuery?: boolean } = {}): { updateId: number; delivered: boolean } {
    const bot = this.botFor(opts.bot);
    const raw = clone(update) as Partial<TgUpdate> & Record<string, unknown>;
    const cq = raw.callback_query as { id?: unknown; from?: { id?: unknown }; data?: unknown } | undefined;
    if (opts.registerCallbackQuery && cq && typeof cq.id === 'string' && !this.callbackQueries.has(cq.id)) {
      const q: CallbackQueryRecord = { botToken: bot.token, userId: Number(cq.from?.id ?? 0), answered: false };
      if (typeof cq.data === 'string') q.data = cq.data;
      this.callbackQueries.set(cq.id, q);
    }
    const hasId = typeof raw.update_id === 'number' && Number.isInteger(raw.update_id);
    const payload = { ...raw };
    delete payload.update_id;
    return this.deliver(bot, payload, true, hasId ? (raw.update_id as number) : undefined);
  }

  // ---------------------------------------------------------------- inspection

  /** All messages of a chat in order, the user's and the bots', deleted ones flagged. */
  messages(chatId: number): SandboxMessage[] {
    return (this.state.chats.get(chatId)?.messages ?? []).map(toSandboxMessage);
  }

  botMessages(chatId: number): SandboxMessage[] {
    return (this.state.chats.get(chatId)?.messages ?? []).filter((m) => m.fromBot).map(toSandboxMessage);
  }

  /** Last bot message that is not deleted. */
  lastBotMessage(chatId: number): SandboxMessage | undefined {
    const list = this.state.chats.get(chatId)?.messages ?? [];
    for (let i = list.length - 1; i >= 0; i--) {
      const m = list[i] as StoredMessage;
      if (m.fromBot && !m.deleted) return toSandboxMessage(m);
    }
    return undefined;
  }

  message(chatId: number, messageId: number): SandboxMessage | undefined {
    const s = this.state.findMessage(chatId, messageId);
    return s ? toSandboxMessage(s) : undefined;
  }

  inlineButtons(message: { reply_markup?: InlineKeyboardMarkup | undefined } | null | undefined): Array<{ text: string; callback_data?: string; url?: string }> {
    return inlineButtons(message);
  }

  /** Commands set for exactly this scope and language (as getMyCommands answers). */
  commands(scope: CommandScope | CommandScope['type'] = 'default', lang = '', opts: { bot?: string } = {}): BotCommand[] {
    const bot = this.botFor(opts.bot);
    const s = typeof scope === 'string' ? { type: scope } : scope;
    return clone(bot.commands.get(this.scopeKey(s as Record<string, unknown>, lang)) ?? []);
  }

  menuButton(chatId?: number, opts: { bot?: string } = {}): Record<string, unknown> {
    const bot = this.botFor(opts.bot);
    return clone(bot.menuButtons.get(chatId === undefined ? 'default' : String(chatId)) ?? bot.menuButtons.get('default') ?? { type: 'default' });
  }

  webhookInfo(opts: { bot?: string } = {}): Record<string, unknown> {
    return this.webhookInfoFor(this.botFor(opts.bot));
  }

  /** File bytes stored for a file_id (uploads by the bot or files sent by users). */
  fileContent(fileId: string): Buffer | undefined {
    return this.state.files.get(fileId)?.data;
  }

  /**
   * Empties every chat and forgets the files sent in them (the sandbox's "start afresh"); each message
   * goes out as a `delete` event, so open pages empty their panes too. Users, bots, commands and the
   * update and message counters stay: ids keep rising, as Telegram's do. Returns the messages removed.
   */
  clearChats(): number {
    let removed = 0;
    for (const rec of this.state.chats.values()) {
      for (const stored of rec.messages) {
        if (stored.deleted) continue;
        stored.deleted = true;
        removed++;
        this.emit('delete', toSandboxMessage(stored));
      }
      rec.messages.length = 0;
      rec.byId.clear();
      rec.pinned.length = 0;
      delete rec.keyboard;
    }
    this.state.files.clear();
    return removed;
  }

  stats(): BotApiStats {
    let messagesStored = 0;
    for (const c of this.state.chats.values()) messagesStored += c.messages.length;
    return {
      total: this.counters.total,
      byMethod: { ...this.counters.byMethod },
      byStatus: { ...this.counters.byStatus },
      byMethodStatus: clone(this.counters.byMethodStatus),
      rateLimited: this.rateLimitHits.length,
      faults: this.counters.faults,
      messagesStored,
    };
  }

  // ---------------------------------------------------------------- faults

  /** Makes the next call(s) of `method` ('*' = any) fail, or answer late when only delayMs is set. */
  failNext(method: string, opts: FailNextOptions): void {
    this.faults.failNext(method, opts);
  }

  /**
   * Seeded random faults; same seed + same request sequence = same faults. A `timeout` fault
   * stores (and shows) the message, then answers only after timeoutMs: Telegram may well have
   * sent a message whose answer the client gave up waiting for.
   */
  setFaultPlan(plan: FaultPlan | null): void {
    this.faults.setPlan(plan);
  }

  clearFaults(): void {
    this.faults.clear();
  }

  // ---------------------------------------------------------------- waiting helpers

  /**
   * First bot message of the chat, new or edited, that matches `predicate`. By default only
   * messages sent or edited after the latest simulated user action in that chat count (the
   * bot's reaction to what the user just did); with `after`, any bot message whose id is
   * greater counts. `newOnly` ignores what is already there and waits for the next change.
   */
  waitForBotMessage(
    chatId: number,
    predicate?: (m: SandboxMessage) => boolean,
    opts: { timeoutMs?: number; after?: number; newOnly?: boolean } = {},
  ): Promise<SandboxMessage> {
    const timeoutMs = opts.timeoutMs ?? 5000;
    const rec = this.state.chats.get(chatId);
    const baseline = rec?.userActionSeq ?? 0;
    const matches = (m: SandboxMessage): boolean => {
      if (m.chat_id !== chatId || !m.from_bot || m.deleted) return false;
      if (opts.after !== undefined) {
        if (m.message_id <= opts.after) return false;
      } else if ((this.state.findMessage(chatId, m.message_id)?.seq ?? 0) <= baseline) return false;
      return !predicate || predicate(m);
    };
    if (!opts.newOnly) {
      try {
        const hit = this.botMessages(chatId).find(matches);
        if (hit) return Promise.resolve(hit);
      } catch (err) {
        return Promise.reject(err instanceof Error ? err : new Error(String(err)));
      }
    }
    return new Promise((resolve, reject) => {
      const onMessage = (m: SandboxMessage): void => {
        let ok: boolean;
        try {
          ok = matches(m);
        } catch (err) {
          done();
          reject(err instanceof Error ? err : new Error(String(err)));
          return;
        }
        if (ok) {
          done();
          resolve(m);
        }
      };
      const timer = setTimeout(() => {
        done();
        const since = opts.after !== undefined ? `after #${opts.after}` : 'since the last user action';
        reject(new Error(`waitForBotMessage: no matching bot message in chat ${chatId} (${since}) within ${timeoutMs} ms.\n${this.describeChat(chatId)}`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.off('message', onMessage);
        this.off('edit', onMessage);
      };
      this.on('message', onMessage);
      this.on('edit', onMessage);
    });
  }

  waitForCallbackAnswer(callbackQueryId: string, opts: { timeoutMs?: number } = {}): Promise<CallbackAnswer> {
    const existing = this.callbackAnswers.get(callbackQueryId);
    if (existing) return Promise.resolve(existing);
    const timeoutMs = opts.timeoutMs ?? 5000;
    return new Promise((resolve, reject) => {
      const onAnswer = (a: CallbackAnswer): void => {
        if (a.callback_query_id !== callbackQueryId) return;
        done();
        resolve(a);
      };
      const timer = setTimeout(() => {
        done();
        const q = this.callbackQueries.get(callbackQueryId);
        const chat = q?.chatId !== undefined ? `\n${this.describeChat(q.chatId)}` : '';
        reject(new Error(`waitForCallbackAnswer: callback query ${callbackQueryId} was not answered within ${timeoutMs} ms.${chat}`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.off('callback_answer', onAnswer);
      };
      this.on('callback_answer', onAnswer);
    });
  }

  /** Next completed request of `method` (case-insensitive) that matches. */
  waitForRequest(method: string, predicate?: (r: RequestLogEntry) => boolean, opts: { timeoutMs?: number } = {}): Promise<RequestLogEntry> {
    const timeoutMs = opts.timeoutMs ?? 5000;
    const lower = method.toLowerCase();
    return new Promise((resolve, reject) => {
      const onRequest = (r: RequestLogEntry): void => {
        if (r.method.toLowerCase() !== lower || (predicate && !predicate(r))) return;
        done();
        resolve(r);
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`waitForRequest: no ${method} request within ${timeoutMs} ms`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.off('request', onRequest);
      };
      this.on('request', onRequest);
    });
  }

  /** Resolves once no request was in progress or arrived, and no update was pending, for quietMs. */
  waitForIdle(opts: { quietMs?: number; timeoutMs?: number } = {}): Promise<void> {
    const quietMs = opts.quietMs ?? 200;
    const timeoutMs = opts.timeoutMs ?? 5000;
    const started = Date.now();
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const now = Date.now();
        const busy = this.inflightRequests > 0 || [...this.bots.values()].some((b) => b.channel.busy);
        if (busy) this.lastActivity = Math.max(this.lastActivity, now - 1);
        const quietFor = now - this.lastActivity;
        if (!busy && quietFor >= quietMs) {
          resolve();
          return;
        }
        if (now - started >= timeoutMs) {
          const pending = [...this.bots.values()].map((b) => `${b.user.username}: ${b.channel.pendingCount} pending`).join(', ');
          reject(new Error(`waitForIdle: still busy after ${timeoutMs} ms (${this.inflightRequests} requests in progress; ${pending})`));
          return;
        }
        setTimeout(check, Math.max(5, Math.min(50, quietMs - quietFor)));
      };
      check();
    });
  }

  registerStaticRoute(prefix: string, dir: string): void {
    const p = prefix === '/' ? '/' : `/${prefix.replace(/^\/+|\/+$/g, '')}`;
    this.staticRoutes.push({ prefix: p, dir });
  }

  // ---------------------------------------------------------------- internals: users' side

  private userOrThrow(userId: number): TgUser {
    const u = this.state.users.get(userId);
    if (!u) throw new Error(`unknown user ${userId}: call addUser() first`);
    return u;
  }

  private chatForUser(userId: number, chatId?: number): ChatRecord {
    this.userOrThrow(userId);
    const id = chatId ?? userId;
    const rec = this.state.chatOrThrow(id);
    if (rec.chat.type === 'private' && id !== userId) throw new Error(`user ${userId} cannot act in the private chat of user ${id}`);
    if (!rec.memberIds.has(userId)) throw new Error(`user ${userId} is not a member of chat ${id}`);
    return rec;
  }

  private addUserCaption(content: Partial<TgMessage>, caption: string | undefined): void {
    if (caption === undefined || caption === '') return;
    const ft = formatIncoming(caption);
    content.caption = ft.text;
    if (ft.entities.length > 0) content.caption_entities = ft.entities;
  }

  private userMessage(userId: number, opts: UserActionOptions, content: Partial<TgMessage>, replyTo?: number): UserActionResult {
    const user = this.userOrThrow(userId);
    const rec = this.chatForUser(userId, opts.chatId);
    const bot = this.botFor(opts.bot);
    // Writing to a bot you blocked means pressing "Restart" first, which unblocks it.
    if (rec.chat.type === 'private' && this.state.isBlocked(bot.user.id, userId)) this.blockBot(userId, false, opts.bot !== undefined ? { bot: opts.bot } : {});
    let reply: TgMessage | undefined;
    if (replyTo !== undefined) {
      const target = rec.byId.get(replyTo);
      if (!target || target.deleted) throw new Error(`reply target ${replyTo} not found in chat ${rec.chat.id}`);
      reply = this.replyView(target.msg);
    }
    rec.userActionSeq = ++this.changeSeq;
    const stored = this.state.addMessage(rec, ++this.changeSeq, (message_id) => {
      const msg: TgMessage = { message_id, from: clone(user), chat: clone(rec.chat), date: nowSeconds(), ...content };
      if (reply) msg.reply_to_message = reply;
      return { msg, fromBot: false, botId: bot.user.id };
    });
    this.emit('message', toSandboxMessage(stored));
    const visible = this.groupVisible(bot, rec, stored.msg);
    const { updateId, delivered } = this.deliver(bot, { message: clone(stored.msg) }, visible);
    return { updateId, messageId: stored.msg.message_id, chatId: rec.chat.id, message: clone(stored.msg), delivered };
  }

  /** Privacy mode: in groups a bot sees only commands for it, replies to it and service messages. */
  private groupVisible(bot: BotRuntime, rec: ChatRecord, msg: TgMessage): boolean {
    if (rec.chat.type === 'private' || !bot.privacyMode) return true;
    if (msg.reply_to_message?.from?.id === bot.user.id) return true;
    const text = msg.text ?? msg.caption ?? '';
    const entities = msg.entities ?? msg.caption_entities ?? [];
    const me = (bot.user.username ?? '').toLowerCase();
    return entities.some((e) => {
      if (e.type !== 'bot_command') return false;
      const cmd = text.slice(e.offset, e.offset + e.length);
      const at = cmd.indexOf('@');
      return at < 0 || cmd.slice(at + 1).toLowerCase() === me;
    });
  }

  private deliverMemberChange(bot: BotRuntime, user: TgUser, status: 'kicked' | 'member'): void {
    const rec = this.state.chats.get(user.id);
    if (!rec) return;
    const botMember = clone(bot.user);
    const old = status === 'kicked' ? { status: 'member', user: botMember } : { status: 'kicked', user: botMember, until_date: 0 };
    const now = status === 'kicked' ? { status: 'kicked', user: botMember, until_date: 0 } : { status: 'member', user: botMember };
    this.deliver(bot, { my_chat_member: { chat: clone(rec.chat), from: clone(user), date: nowSeconds(), old_chat_member: old, new_chat_member: now } });
  }

  private deliver(bot: BotRuntime, payload: Omit<TgUpdate, 'update_id'>, visible = true, explicitId?: number): { updateId: number; delivered: boolean } {
    const updateId = explicitId ?? bot.channel.nextUpdateId();
    const update = { update_id: updateId, ...payload } as TgUpdate;
    const delivered = visible && bot.channel.enqueue(update);
    const entry = { bot: bot.user.username ?? String(bot.user.id), update, delivered };
    this.updates.push(entry);
    this.emit('update', entry);
    return { updateId, delivered };
  }

  private chatInstance(bot: BotRuntime, chatId: number): string {
    // Stable per (bot, chat) like Telegram's; the exact digits carry no meaning.
    let h = 1469598103934665603n;
    for (const ch of `${bot.user.id}:${chatId}`) h = ((h ^ BigInt(ch.charCodeAt(0))) * 1099511628211n) & 0x7fffffffffffffffn;
    return (chatId < 0 ? '-' : '') + h.toString();
  }

  private describeChat(chatId: number): string {
    const list = this.state.chats.get(chatId)?.messages ?? [];
    if (list.length === 0) return `Chat ${chatId} has no messages.`;
    const lines = list.slice(-10).map((s) => {
      const m = s.msg;
      const who = s.fromBot ? `bot ${m.from?.username ?? ''}` : `user ${m.from?.first_name ?? ''}`;
      let body = m.text ?? (m.caption !== undefined ? `[media] ${m.caption}` : m.photo ? '[photo]' : m.document ? `[document ${m.document.file_name ?? ''}]` : m.voice ? '[voice]' : m.location ? `[location ${m.location.latitude},${m.location.longitude}]` : m.pinned_message ? `[pinned #${m.pinned_message.message_id}]` : '[?]');
      if (body.length > 200) body = `${body.slice(0, 200)}…`;
      const buttons = inlineButtons(m);
      const kb = buttons.length > 0 ? ` {buttons: ${buttons.map((b) => `${b.text}${b.callback_data !== undefined ? `→${b.callback_data}` : b.url ? `→${b.url}` : ''}`).join(' | ')}}` : '';
      const flags = `${m.edit_date ? ' (edited)' : ''}${s.deleted ? ' (deleted)' : ''}`;
      return `  #${m.message_id} ${who}: ${JSON.stringify(body)}${kb}${flags}`;
    });
    return `Last messages in chat ${chatId}:\n${lines.join('\n')}`;
  }

  private botFor(ref?: string): BotRuntime {
    if (ref === undefined) return this.defaultBot;
    const byToken = this.bots.get(ref);
    if (byToken) return byToken;
    const name = ref.replace(/^@/, '').toLowerCase();
    for (const b of this.bots.values()) if (b.user.username?.toLowerCase() === name) return b;
    throw new Error(`unknown bot ${ref}`);
  }

  private touch(): void {
    this.lastActivity = Date.now();
  }

  // ---------------------------------------------------------------- HTTP routing

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    const api = /^\/bot([^/]+)\/([^/]*)\/?$/.exec(path);
    if (api) {
      await this.handleBotApi(req, res, decodeURIComponent(api[1] ?? ''), api[2] ?? '', url);
      return;
    }
    const file = /^\/file\/bot([^/]+)\/(.+)$/.exec(path);
    if (file) {
      this.handleFileDownload(res, decodeURIComponent(file[1] ?? ''), decodeURIComponent(file[2] ?? ''));
      return;
    }
    const pageFile = /^\/sandbox\/files\/([^/]+)$/.exec(path);
    if (pageFile && (req.method === 'GET' || req.method === 'HEAD')) {
      this.handlePageFileDownload(res, decodeURIComponent(pageFile[1] ?? ''));
      return;
    }
    if (path.startsWith('/sandbox/api/')) {
      await handleControlRequest(this, this.sse, req, res, url);
      return;
    }
    for (const r of this.staticRoutes) {
      if (await serveStatic(req, res, path, r.prefix, r.dir)) return;
    }
    sendJson(res, 404, { ok: false, error_code: 404, description: 'Not Found' });
  }

  private handleFileDownload(res: ServerResponse, token: string, filePath: string): void {
    if (!this.bots.has(token)) {
      sendJson(res, 401, { ok: false, error_code: 401, description: 'Unauthorized' });
      return;
    }
    const f = this.state.fileByPath(filePath);
    if (!f) {
      sendJson(res, 404, { ok: false, error_code: 404, description: 'Not Found' });
      return;
    }
    res.writeHead(200, { 'content-type': f.mime_type, 'content-length': f.data.length });
    res.end(f.data);
  }

  /**
   * A file of a chat, for the page's download link: by file_id, on the page's own origin and without the
   * bot's token (the page, like the control API, is served on 127.0.0.1 only), as an attachment under
   * the name it was sent with.
   */
  private handlePageFileDownload(res: ServerResponse, fileId: string): void {
    const f = this.state.files.get(fileId);
    if (!f) {
      sendJson(res, 404, { ok: false, error_code: 404, description: 'Not Found' });
      return;
    }
    let name = f.file_path.split('/').pop() ?? 'file';
    for (const rec of this.state.chats.values()) {
      const sent = rec.messages.find((m) => !m.deleted && m.msg.document?.file_id === fileId);
      if (sent?.msg.document?.file_name) {
        name = sent.msg.document.file_name;
        break;
      }
    }
    // RFC 6266: a plain ASCII fallback, and the real name (Chinese, say) percent-encoded as UTF-8 (RFC 8187).
    const fallback = name.replace(/[^\x20-\x7e]|["\\]/g, '_');
    const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
    res.writeHead(200, {
      'content-type': f.mime_type,
      'content-length': f.data.length,
      'content-disposition': `attachment; filename="${fallback}"; filename*=UTF-8''${encoded}`,
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    });
    res.end(f.data);
  }

  private async handleBotApi(req: IncomingMessage, res: ServerResponse, token: string, methodRaw: string, url: URL): Promise<void> {
    const started = Date.now();
    const bot = this.bots.get(token);
    if (!bot) {
      sendJson(res, 401, { ok: false, error_code: 401, description: 'Unauthorized' });
      return;
    }
    const entry = this.methods.get(methodRaw.toLowerCase());
    const isPoll = entry?.name === 'getUpdates';
    if (!isPoll) {
      this.inflightRequests++;
      this.touch();
    }
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      if (!isPoll) {
        this.inflightRequests--;
        this.touch();
      }
    };
    res.on('close', finish);
    try {
      let body: Buffer;
      try {
        body = await readBody(req, MAX_BODY_BYTES);
      } catch (err) {
        if (err instanceof BodyTooLargeError) {
          sendJson(res, 413, { ok: false, error_code: 413, description: 'Request Entity Too Large' });
          return;
        }
        throw err;
      }
      if (!entry) {
        this.logRequest(bot, methodRaw, undefined, 404, started, 'http', 'Not Found');
        sendJson(res, 404, { ok: false, error_code: 404, description: 'Not Found' });
        return;
      }
      const params = parseParams(url, req.headers['content-type'], body);
      const ac = new AbortController();
      res.on('close', () => {
        if (!res.writableFinished) ac.abort();
      });
      const outcome = await this.execute(bot, entry.name, entry.handler, params, { via: 'http', signal: ac.signal });
      if (outcome.delayMs > 0) await this.sleepUnlessClosed(outcome.delayMs, res);
      if (outcome.html !== undefined) {
        if (!res.writableEnded && !res.destroyed) {
          res.writeHead(outcome.status, { 'content-type': 'text/html', 'content-length': Buffer.byteLength(outcome.html) });
          res.end(outcome.html);
        }
      } else {
        sendJson(res, outcome.status, outcome.body);
      }
    } finally {
      if (res.writableEnded || res.destroyed) finish();
    }
  }

  private sleepUnlessClosed(ms: number, res: ServerResponse): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done(): void {
        clearTimeout(t);
        res.off('close', done);
        resolve();
      }
      res.on('close', done);
    });
  }

  /** Runs one Bot API call, applying injected faults, and logs it. */
  private async execute(bot: BotRuntime, method: string, handler: Handler, params: Params, ctx: CallContext): Promise<Outcome> {
    const started = Date.now();
    const a = new Args(params);
    const chatRef = (params.chat_id ?? undefined) as number | string | undefined;
    const fault = ctx.via === 'http' ? this.faults.decide(method) : null;
    if (fault?.status !== undefined) {
      this.counters.faults++;
      const status = fault.status;
      let body: ApiBody;
      let html: string | undefined;
      if (status === 429) {
        const retry = Math.max(1, Math.round(fault.retryAfter ?? 1));
        body = { ok: false, error_code: 429, description: fault.description ?? `Too Many Requests: retry after ${retry}`, parameters: { retry_after: retry } };
        this.recordRateLimit(bot, method, chatRef, retry, 'fault');
      } else {
        body = { ok: false, error_code: status, description: fault.description ?? DEFAULT_FAULT_DESCRIPTIONS[status] };
        if (status === 502) html = '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.18.0</center>\r\n</body>\r\n</html>\r\n';
      }
      this.logRequest(bot, method, chatRef, status, started, ctx.via, body.ok ? undefined : body.description, fault.kind);
      const out: Outcome = { status, body, delayMs: fault.delayMs, fault: fault.kind };
      if (html !== undefined) out.html = html;
      return out;
    }
    let outcome: Outcome;
    try {
      const result = await handler(bot, a, ctx);
      const body: ApiBody = result instanceof Described ? { ok: true, result: result.result, description: result.description } : { ok: true, result };
      outcome = { status: 200, body, delayMs: 0 };
    } catch (err) {
      if (err instanceof ApiError) {
        const body: ApiBody = { ok: false, error_code: err.code, description: err.description };
        if (err.parameters) body.parameters = err.parameters;
        outcome = { status: err.code, body, delayMs: 0 };
      } else {
        outcome = { status: 500, body: { ok: false, error_code: 500, description: 'Internal Server Error' }, delayMs: 0 };
        // A bug in the stand-in, not a Telegram behaviour: make it visible.
        console.error(`[bot-api-server] ${method} crashed:`, err);
      }
    }
    if (fault) {
      // Timeout fault: the call took effect (Telegram may well have sent it), the answer is late.
      this.counters.faults++;
      outcome.delayMs = fault.delayMs;
      outcome.fault = fault.kind;
    }
    this.logRequest(bot, method, chatRef, outcome.status, started, ctx.via, outcome.body.ok ? undefined : outcome.body.description, outcome.fault);
    return outcome;
  }

  private logRequest(bot: BotRuntime, method: string, chatRef: number | string | undefined, status: number, started: number, via: RequestLogEntry['via'], error?: string, fault?: FaultKind): void {
    const entry: RequestLogEntry = { bot: bot.user.username ?? String(bot.user.id), method, status, at: started, duration_ms: Date.now() - started, via };
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
    this.emit('request', entry);
  }

  private recordRateLimit(bot: BotRuntime, method: string, chatRef: number | string | undefined, retryAfter: number, scope: RateLimitHit['scope']): void {
    const hit: RateLimitHit = { bot: bot.user.username ?? String(bot.user.id), method, retry_after: retryAfter, scope, at: Date.now() };
    if (chatRef !== undefined) hit.chat_id = chatRef;
    this.rateLimitHits.push(hit);
    this.emit('rate_limited', hit);
  }

  private async runWebhookReply(bot: BotRuntime, body: Buffer, contentType: string | undefined): Promise<void> {
    const params = parseParams(new URL('http://localhost/'), contentType ?? 'application/json', body);
    const method = typeof params.method === 'string' ? params.method : undefined;
    if (!method) return;
    delete params.method;
    const entry = this.methods.get(method.toLowerCase());
    if (!entry) {
      this.logRequest(bot, method, undefined, 404, Date.now(), 'webhook_reply', 'Not Found');
      return;
    }
    // Telegram reports nothing back for webhook replies; errors only show up in the log.
    await this.execute(bot, entry.name, entry.handler, params, { via: 'webhook_reply', signal: new AbortController().signal });
  }

  // ---------------------------------------------------------------- Bot API methods

  private buildMethods(): Map<string, { name: string; handler: Handler }> {
    const table: Record<string, Handler> = {
      getMe: (bot) => ({
        ...clone(bot.user),
        can_join_groups: true,
        can_read_all_group_messages: !bot.privacyMode,
        supports_inline_queries: false,
        can_connect_to_business: false,
        has_main_web_app: false,
      }),
      logOut: () => true,
      close: () => true,
      getUpdates: (bot, a, ctx) => this.mGetUpdates(bot, a, ctx),
      setWebhook: (bot, a) => this.mSetWebhook(bot, a),
      deleteWebhook: (bot, a) => {
        const had = bot.channel.webhook !== null;
        if (a.bool('drop_pending_updates')) bot.channel.dropPending();
        bot.channel.setWebhook(null);
        return new Described(true, had ? 'Webhook was deleted' : 'Webhook is already deleted');
      },
      getWebhookInfo: (bot) => this.webhookInfoFor(bot),
      sendMessage: (bot, a) => this.mSendMessage(bot, a),
      sendPhoto: (bot, a) => this.mSendMedia(bot, a, 'sendPhoto'),
      sendDocument: (bot, a) => this.mSendMedia(bot, a, 'sendDocument'),
      sendVoice: (bot, a) => this.mSendMedia(bot, a, 'sendVoice'),
      sendLocation: (bot, a) => this.mSendLocation(bot, a),
      sendChatAction: (bot, a) => this.mSendChatAction(bot, a),
      editMessageText: (bot, a) => this.mEditText(bot, a),
      editMessageCaption: (bot, a) => this.mEditCaption(bot, a),
      editMessageReplyMarkup: (bot, a) => this.mEditMarkup(bot, a),
      deleteMessage: (bot, a) => this.mDeleteMessage(bot, a),
      deleteMessages: (bot, a) => this.mDeleteMessages(bot, a),
      answerCallbackQuery: (bot, a) => this.mAnswerCallback(bot, a),
      setMyCommands: (bot, a) => this.mSetMyCommands(bot, a),
      getMyCommands: (bot, a) => clone(bot.commands.get(this.scopeKey(this.scopeArg(a), this.langArg(a))) ?? []),
      deleteMyCommands: (bot, a) => {
        bot.commands.delete(this.scopeKey(this.scopeArg(a), this.langArg(a)));
        return true;
      },
      setChatMenuButton: (bot, a) => this.mSetChatMenuButton(bot, a),
      getChatMenuButton: (bot, a) => {
        const key = a.has('chat_id') ? String(this.state.resolveChat(a.get('chat_id')).chat.id) : 'default';
        return clone(bot.menuButtons.get(key) ?? bot.menuButtons.get('default') ?? { type: 'commands' });
      },
      setMyName: (bot, a) => this.setBotText(bot, a, 'name', 'name', 64),
      getMyName: (bot, a) => ({ name: bot.texts.get(`name:${this.langArg(a)}`) ?? bot.user.first_name }),
      setMyDescription: (bot, a) => this.setBotText(bot, a, 'description', 'description', 512),
      getMyDescription: (bot, a) => ({ description: bot.texts.get(`description:${this.langArg(a)}`) ?? '' }),
      setMyShortDescription: (bot, a) => this.setBotText(bot, a, 'short_description', 'short_description', 120),
      getMyShortDescription: (bot, a) => ({ short_description: bot.texts.get(`short_description:${this.langArg(a)}`) ?? '' }),
      getChat: (_bot, a) => this.mGetChat(a),
      getChatMember: (bot, a) => this.mGetChatMember(bot, a),
      getChatMemberCount: (_bot, a) => {
        const rec = this.state.resolveChat(a.get('chat_id'));
        return rec.chat.type === 'private' ? 2 : rec.memberIds.size + 1;
      },
      getFile: (_bot, a) => this.mGetFile(a),
      pinChatMessage: (bot, a) => this.mPin(bot, a),
      unpinChatMessage: (bot, a) => this.mUnpin(bot, a, false),
      unpinAllChatMessages: (bot, a) => this.mUnpin(bot, a, true),
    };
    const map = new Map<string, { name: string; handler: Handler }>();
    for (const [name, handler] of Object.entries(table)) map.set(name.toLowerCase(), { name, handler });
    return map;
  }

  private async mGetUpdates(bot: BotRuntime, a: Args, ctx: CallContext): Promise<TgUpdate[]> {
    const offset = a.int('offset') ?? 0;
    const limit = a.int('limit') ?? 100;
    const timeout = a.int('timeout') ?? 0;
    if (a.has('allowed_updates')) bot.channel.setAllowedUpdates(a.json('allowed_updates'));
    return await bot.channel.getUpdates({ offset, limit, timeout }, ctx.signal);
  }

  private mSetWebhook(bot: BotRuntime, a: Args): Described {
    const url = a.str('url') ?? '';
    if (a.bool('drop_pending_updates')) bot.channel.dropPending();
    if (a.has('allowed_updates')) bot.channel.setAllowedUpdates(a.json('allowed_updates'));
    if (url === '') {
      const had = bot.channel.webhook !== null;
      bot.channel.setWebhook(null);
      return new Described(true, had ? 'Webhook was deleted' : 'Webhook is already deleted');
    }
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw badRequest('invalid webhook URL specified');
    }
    // Telegram insists on HTTPS and ports 443/80/88/8443; a local stand-in has to accept http://127.0.0.1:PORT.
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw badRequest('bad webhook: An HTTPS URL must be provided for webhook');
    const secret = a.str('secret_token');
    if (secret !== undefined && secret !== '' && !/^[A-Za-z0-9_-]{1,256}$/.test(secret)) throw badRequest('secret token contains unallowed characters');
    const maxConnections = Math.min(100, Math.max(1, a.int('max_connections') ?? 40));
    const same = bot.channel.webhook?.url === url;
    const settings: { url: string; maxConnections: number; secretToken?: string; ipAddress?: string } = { url, maxConnections };
    if (secret) settings.secretToken = secret;
    const ip = a.str('ip_address');
    if (ip) settings.ipAddress = ip;
    bot.channel.setWebhook(settings);
    return new Described(true, same ? 'Webhook is already set' : 'Webhook was set');
  }

  private webhookInfoFor(bot: BotRuntime): Record<string, unknown> {
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

  /** Chat the bot writes to; 403 when the user blocked the bot. */
  private writableChat(bot: BotRuntime, a: Args): ChatRecord {
    const rec = this.state.resolveChat(a.get('chat_id'));
    if (rec.chat.type === 'private' && this.state.isBlocked(bot.user.id, rec.chat.id)) throw new ApiError(403, 'Forbidden: bot was blocked by the user');
    return rec;
  }

  private entitiesArg(a: Args, name: string): MessageEntity[] | undefined {
    if (!a.has(name)) return undefined;
    const v = a.json(name);
    if (!Array.isArray(v)) throw badRequest(`can't parse entities: Field "${name}" must be of type Array`);
    return v as MessageEntity[];
  }

  private textArg(a: Args): { text: string; entities?: MessageEntity[] } {
    const raw = a.str('text');
    if (raw === undefined || raw === '') throw badRequest('message text is empty');
    const ft = formatOutgoing(raw, a.get('parse_mode'), this.entitiesArg(a, 'entities'));
    if (ft.text.length === 0) throw badRequest('message text is empty');
    if (ft.text.length > 4096) throw badRequest('message is too long');
    const out: { text: string; entities?: MessageEntity[] } = { text: ft.text };
    if (ft.entities.length > 0) out.entities = this.fillMentions(ft.entities);
    return out;
  }

  private captionArg(a: Args): { caption?: string; caption_entities?: MessageEntity[] } {
    const raw = a.str('caption');
    if (raw === undefined || raw === '') return {};
    const ft = formatOutgoing(raw, a.get('parse_mode'), this.entitiesArg(a, 'caption_entities'));
    if (ft.text.length > 1024) throw badRequest('message caption is too long');
    if (ft.text.length === 0) return {};
    const out: { caption?: string; caption_entities?: MessageEntity[] } = { caption: ft.text };
    if (ft.entities.length > 0) out.caption_entities = this.fillMentions(ft.entities);
    return out;
  }

  /** text_mention entities carry the full user, as Telegram fills them in. */
  private fillMentions(entities: MessageEntity[]): MessageEntity[] {
    return entities.map((e) => {
      if (e.type !== 'text_mention' || !e.user) return e;
      const u = this.state.users.get(e.user.id);
      return u ? { ...e, user: clone(u) } : e;
    });
  }

  private replyArg(rec: ChatRecord, a: Args): TgMessage | undefined {
    let id: number | undefined;
    let allowMissing = a.bool('allow_sending_without_reply');
    if (a.has('reply_parameters')) {
      const rp = a.json('reply_parameters');
      if (typeof rp !== 'object' || rp === null) throw badRequest("can't parse reply parameters JSON object");
      const r = rp as { message_id?: unknown; allow_sending_without_reply?: unknown };
      id = Number(r.message_id);
      if (!Number.isInteger(id)) throw badRequest('message to be replied not found');
      allowMissing = allowMissing || r.allow_sending_without_reply === true;
    } else {
      id = a.int('reply_to_message_id');
    }
    if (id === undefined || id === 0) return undefined;
    const target = rec.byId.get(id);
    if (!target || target.deleted) {
      if (allowMissing) return undefined;
      throw badRequest('message to be replied not found');
    }
    return this.replyView(target.msg);
  }

  private replyView(msg: TgMessage): TgMessage {
    const r = clone(msg);
    delete r.reply_to_message;
    return r;
  }

  /** Stores a message the bot sends, after flood control; returns the Bot API Message. */
  private storeBotMessage(bot: BotRuntime, method: string, rec: ChatRecord, a: Args, content: Partial<TgMessage>, markupRaw: unknown): TgMessage {
    const markup = parseReplyMarkup(markupRaw);
    const reply = this.replyArg(rec, a);
    if (bot.limiter) {
      const verdict = bot.limiter.take(rec.chat.id);
      if (verdict) {
        this.recordRateLimit(bot, method, rec.chat.id, verdict.retryAfter, verdict.scope);
        throw new ApiError(429, `Too Many Requests: retry after ${verdict.retryAfter}`, { retry_after: verdict.retryAfter });
      }
    }
    const stored = this.state.addMessage(rec, ++this.changeSeq, (message_id) => {
      const msg: TgMessage = { message_id, from: clone(bot.user), chat: clone(rec.chat), date: nowSeconds(), ...content };
      if (reply) msg.reply_to_message = reply;
      if (markup.inline && markup.inline.inline_keyboard.length > 0) msg.reply_markup = markup.inline;
      if (a.bool('protect_content')) msg.has_protected_content = true;
      const s: Omit<StoredMessage, 'chatId' | 'history' | 'deleted' | 'seq'> = { msg, fromBot: true, botId: bot.user.id };
      if (markup.keyboard) s.chatKeyboard = markup.keyboard;
      return s;
    });
    if (markup.keyboard) rec.keyboard = markup.keyboard;
    this.emit('message', toSandboxMessage(stored));
    return clone(stored.msg);
  }

  private mSendMessage(bot: BotRuntime, a: Args): TgMessage {
    const text = this.textArg(a);
    parseReplyMarkup(a.get('reply_markup'));
    const rec = this.writableChat(bot, a);
    const content: Partial<TgMessage> = { ...text };
    // Telegram echoes preview options only for messages that contain a link.
    const hasLink = (text.entities ?? []).some((e) => e.type === 'url' || e.type === 'text_link');
    const lpo = a.has('link_preview_options') ? a.json('link_preview_options') : a.bool('disable_web_page_preview') ? { is_disabled: true } : undefined;
    if (hasLink && lpo && typeof lpo === 'object' && Object.keys(lpo).length > 0) content.link_preview_options = lpo as Record<string, unknown>;
    return this.storeBotMessage(bot, 'sendMessage', rec, a, content, a.get('reply_markup'));
  }

  private mSendMedia(bot: BotRuntime, a: Args, method: 'sendPhoto' | 'sendDocument' | 'sendVoice'): TgMessage {
    const field = method === 'sendPhoto' ? 'photo' : method === 'sendDocument' ? 'document' : 'voice';
    const caption = this.captionArg(a);
    parseReplyMarkup(a.get('reply_markup'));
    const input = a.get(field);
    if (input === undefined || input === null || input === '') throw badRequest(`there is no ${field} in the request`);
    const rec = this.writableChat(bot, a);
    const content: Partial<TgMessage> = { ...caption };
    if (field === 'photo') {
      content.photo = this.photoInput(input);
    } else if (field === 'document') {
      const { file, name, mime } = this.fileInput(input, 'document');
      content.document = { file_id: file.file_id, file_unique_id: file.file_unique_id, file_name: name, mime_type: mime, file_size: file.file_size };
    } else {
      const { file } = this.fileInput(input, 'voice');
      content.voice = { file_id: file.file_id, file_unique_id: file.file_unique_id, duration: a.int('duration') ?? 1, mime_type: 'audio/ogg', file_size: file.file_size };
    }
    return this.storeBotMessage(bot, method, rec, a, content, a.get('reply_markup'));
  }

  private photoInput(input: unknown): TgMessage['photo'] {
    if (isUpload(input)) return this.state.addPhoto(input.data);
    const s = String(input);
    const known = this.state.files.get(s);
    if (known) return [{ file_id: known.file_id, file_unique_id: known.file_unique_id, width: 800, height: 600, file_size: known.file_size }];
    // No network here: a URL is accepted as if Telegram had downloaded it.
    if (/^https?:\/\//i.test(s)) return this.state.addPhoto(TINY_JPEG);
    throw badRequest('wrong file identifier/HTTP URL specified');
  }

  private fileInput(input: unknown, kind: 'document' | 'voice'): { file: FileRecord; name: string; mime: string } {
    if (isUpload(input)) {
      const up: UploadedFile = input;
      const mime = kind === 'voice' ? 'audio/ogg' : up.contentType !== 'application/octet-stream' ? up.contentType : undefined;
      const file = this.state.addFile(kind, up.data, mime ? { mimeType: mime, fileName: up.filename } : { fileName: up.filename });
      return { file, name: up.filename, mime: file.mime_type };
    }
    const s = String(input);
    const known = this.state.files.get(s);
    if (known) return { file: known, name: known.file_path.split('/').pop() ?? 'file', mime: known.mime_type };
    if (/^https?:\/\//i.test(s)) {
      const name = decodeURIComponent(new URL(s).pathname.split('/').pop() || 'file');
      const file = this.state.addFile(kind, Buffer.from(`downloaded from ${s}\n`), { fileName: name });
      return { file, name, mime: file.mime_type };
    }
    throw badRequest('wrong file identifier/HTTP URL specified');
  }

  private mSendLocation(bot: BotRuntime, a: Args): TgMessage {
    const latitude = a.num('latitude', 'wrong latitude specified');
    const longitude = a.num('longitude', 'wrong longitude specified');
    if (latitude === undefined || latitude < -90 || latitude > 90) throw badRequest('wrong latitude specified');
    if (longitude === undefined || longitude < -180 || longitude > 180) throw badRequest('wrong longitude specified');
    parseReplyMarkup(a.get('reply_markup'));
    const rec = this.writableChat(bot, a);
    const location: TgMessage['location'] = { latitude, longitude };
    const acc = a.num('horizontal_accuracy');
    if (acc !== undefined && location) location.horizontal_accuracy = acc;
    const live = a.int('live_period');
    if (live !== undefined && location) location.live_period = live;
    return this.storeBotMessage(bot, 'sendLocation', rec, a, { location }, a.get('reply_markup'));
  }

  private mSendChatAction(bot: BotRuntime, a: Args): boolean {
    const action = a.str('action') ?? '';
    if (!CHAT_ACTIONS.has(action)) throw badRequest('wrong parameter action in request');
    const rec = this.writableChat(bot, a);
    this.emit('chat_action', { bot: bot.user.username ?? String(bot.user.id), chat_id: rec.chat.id, action, at: Date.now() });
    return true;
  }

  /** Message the bot may edit; Telegram's errors for the usual mistakes. */
  private editableMessage(bot: BotRuntime, a: Args): { rec: ChatRecord; stored: StoredMessage } {
    if (a.has('inline_message_id') && !a.has('chat_id')) throw badRequest('MESSAGE_ID_INVALID');
    const rec = this.writableChat(bot, a);
    const id = a.int('message_id', 'message identifier is not specified');
    if (id === undefined) throw badRequest('message identifier is not specified');
    const stored = rec.byId.get(id);
    if (!stored || stored.deleted) throw badRequest('message to edit not found');
    if (!stored.fromBot || stored.botId !== bot.user.id) throw badRequest("message can't be edited");
    return { rec, stored };
  }

  private editMarkupArg(a: Args): InlineKeyboardMarkup | undefined {
    const markup = parseReplyMarkup(a.get('reply_markup'));
    if (markup.keyboard) throw badRequest('inline keyboard expected');
    return markup.inline && markup.inline.inline_keyboard.length > 0 ? markup.inline : undefined;
  }

  private notModified(): ApiError {
    return badRequest('message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message');
  }

  private applyEdit(stored: StoredMessage, change: (m: TgMessage) => void): TgMessage {
    stored.history.push(clone(stored.msg));
    change(stored.msg);
    stored.msg.edit_date = nowSeconds();
    stored.seq = ++this.changeSeq;
    this.emit('edit', toSandboxMessage(stored));
    return clone(stored.msg);
  }

  private mEditText(bot: BotRuntime, a: Args): TgMessage {
    const text = this.textArg(a);
    const markup = this.editMarkupArg(a);
    const { stored } = this.editableMessage(bot, a);
    if (stored.msg.text === undefined) throw badRequest('there is no text in the message to edit');
    // Omitting reply_markup removes the keyboard, so it is part of the comparison.
    if (stored.msg.text === text.text && sameJson(stored.msg.entities, text.entities) && sameJson(stored.msg.reply_markup, markup)) throw this.notModified();
    return this.applyEdit(stored, (m) => {
      m.text = text.text;
      if (text.entities) m.entities = text.entities;
      else delete m.entities;
      if (markup) m.reply_markup = markup;
      else delete m.reply_markup;
      if (a.has('link_preview_options')) m.link_preview_options = a.json('link_preview_options') as Record<string, unknown>;
    });
  }

  private mEditCaption(bot: BotRuntime, a: Args): TgMessage {
    const caption = this.captionArg(a);
    const markup = this.editMarkupArg(a);
    const { stored } = this.editableMessage(bot, a);
    const m0 = stored.msg;
    if (!m0.photo && !m0.document && !m0.voice) throw badRequest('there is no caption in the message to edit');
    if (m0.caption === caption.caption && sameJson(m0.caption_entities, caption.caption_entities) && sameJson(m0.reply_markup, markup)) throw this.notModified();
    return this.applyEdit(stored, (m) => {
      if (caption.caption !== undefined) m.caption = caption.caption;
      else delete m.caption;
      if (caption.caption_entities) m.caption_entities = caption.caption_entities;
      else delete m.caption_entities;
      if (markup) m.reply_markup = markup;
      else delete m.reply_markup;
    });
  }

  private mEditMarkup(bot: BotRuntime, a: Args): TgMessage {
    const markup = this.editMarkupArg(a);
    const { stored } = this.editableMessage(bot, a);
    if (sameJson(stored.msg.reply_markup, markup)) throw this.notModified();
    return this.applyEdit(stored, (m) => {
      if (markup) m.reply_markup = markup;
      else delete m.reply_markup;
    });
  }

  private deleteOne(rec: ChatRecord, id: number): boolean {
    const stored = rec.byId.get(id);
    if (!stored || stored.deleted) return false;
    stored.deleted = true;
    rec.pinned = rec.pinned.filter((p) => p !== id);
    this.emit('delete', toSandboxMessage(stored));
    return true;
  }

  private mDeleteMessage(bot: BotRuntime, a: Args): boolean {
    const rec = this.writableChat(bot, a);
    const id = a.int('message_id', 'message identifier is not specified');
    if (id === undefined) throw badRequest('message identifier is not specified');
    if (!this.deleteOne(rec, id)) throw badRequest('message to delete not found');
    return true;
  }

  private mDeleteMessages(bot: BotRuntime, a: Args): boolean {
    const rec = this.writableChat(bot, a);
    const ids = a.json('message_ids');
    if (!Array.isArray(ids) || ids.length === 0 || ids.length > 100) throw badRequest('message identifiers are not specified');
    let any = false;
    for (const id of ids) any = this.deleteOne(rec, Number(id)) || any;
    if (!any) throw badRequest('message to delete not found');
    return true;
  }

  private mAnswerCallback(bot: BotRuntime, a: Args): boolean {
    const id = a.str('callback_query_id') ?? '';
    const q = this.callbackQueries.get(id);
    if (!q || q.answered || q.botToken !== bot.token) throw badRequest('query is too old and response timeout expired or query ID is invalid');
    const text = a.str('text');
    if (text !== undefined && text.length > 200) throw badRequest('MESSAGE_TOO_LONG');
    q.answered = true;
    const answer: CallbackAnswer = { callback_query_id: id, show_alert: a.bool('show_alert'), answered_at: Date.now(), user_id: q.userId };
    if (text !== undefined && text !== '') answer.text = text;
    const url = a.str('url');
    if (url) answer.url = url;
    const cacheTime = a.int('cache_time');
    if (cacheTime !== undefined) answer.cache_time = cacheTime;
    if (q.chatId !== undefined) answer.chat_id = q.chatId;
    if (q.messageId !== undefined) answer.message_id = q.messageId;
    if (q.data !== undefined) answer.data = q.data;
    this.callbackAnswers.set(id, answer);
    this.emit('callback_answer', answer);
    return true;
  }

  private scopeArg(a: Args): Record<string, unknown> {
    if (!a.has('scope')) return { type: 'default' };
    const s = a.json('scope');
    if (typeof s !== 'object' || s === null) throw badRequest("can't parse BotCommandScope JSON object");
    return s as Record<string, unknown>;
  }

  private langArg(a: Args): string {
    const lang = a.str('language_code') ?? '';
    if (lang !== '' && !/^[a-z]{2}$/.test(lang)) throw badRequest('invalid language code specified');
    return lang;
  }

  private scopeKey(scope: Record<string, unknown>, lang: string): string {
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

  private mSetMyCommands(bot: BotRuntime, a: Args): boolean {
    const raw = a.json('commands');
    if (!Array.isArray(raw)) throw badRequest("can't parse commands JSON object");
    if (raw.length > 100) throw badRequest('too many commands specified');
    const commands: BotCommand[] = raw.map((c: unknown) => {
      const o = (typeof c === 'object' && c !== null ? c : {}) as { command?: unknown; description?: unknown };
      const command = String(o.command ?? '').replace(/^\//, '');
      const description = String(o.description ?? '');
      if (!/^[a-z0-9_]{1,32}$/.test(command)) throw badRequest('BOT_COMMAND_INVALID');
      if (description.trim().length === 0 || description.length > 256) throw badRequest('BOT_COMMAND_DESCRIPTION_INVALID');
      return { command, description };
    });
    const key = this.scopeKey(this.scopeArg(a), this.langArg(a));
    if (commands.length === 0) bot.commands.delete(key);
    else bot.commands.set(key, commands);
    return true;
  }

  private mSetChatMenuButton(bot: BotRuntime, a: Args): boolean {
    const key = a.has('chat_id') ? String(this.state.resolveChat(a.get('chat_id')).chat.id) : 'default';
    const raw = a.has('menu_button') ? a.json('menu_button') : { type: 'default' };
    if (typeof raw !== 'object' || raw === null) throw badRequest("can't parse menu button JSON object");
    const type = String((raw as { type?: unknown }).type ?? '');
    if (!['commands', 'web_app', 'default'].includes(type)) throw badRequest('unsupported menu button type specified');
    bot.menuButtons.set(key, clone(raw as Record<string, unknown>));
    return true;
  }

  private setBotText(bot: BotRuntime, a: Args, param: string, kind: string, max: number): boolean {
    const value = a.str(param) ?? '';
    if (value.length > max) throw badRequest(`${kind} is too long`);
    const key = `${kind}:${this.langArg(a)}`;
    if (value === '') bot.texts.delete(key);
    else bot.texts.set(key, value);
    return true;
  }

  private mGetChat(a: Args): Record<string, unknown> {
    const rec = this.state.resolveChat(a.get('chat_id'));
    const info: Record<string, unknown> = { ...clone(rec.chat), accent_color_id: 0, max_reaction_count: 11 };
    if (rec.chat.type !== 'private') {
      info.permissions = { can_send_messages: true, can_send_audios: true, can_send_documents: true, can_send_photos: true, can_send_videos: true, can_send_video_notes: true, can_send_voice_notes: true, can_send_polls: true, can_send_other_messages: true, can_add_web_page_previews: true, can_change_info: true, can_invite_users: true, can_pin_messages: true, can_manage_topics: true };
    }
    const pinnedId = rec.pinned[rec.pinned.length - 1];
    const pinned = pinnedId !== undefined ? rec.byId.get(pinnedId) : undefined;
    if (pinned && !pinned.deleted) info.pinned_message = this.replyView(pinned.msg);
    return info;
  }

  private mGetChatMember(bot: BotRuntime, a: Args): Record<string, unknown> {
    const rec = this.state.resolveChat(a.get('chat_id'));
    const userId = a.int('user_id');
    if (userId === undefined) throw badRequest('user_id is empty');
    if (userId === bot.user.id) return { status: rec.chat.type === 'private' ? 'member' : 'administrator', user: clone(bot.user), can_be_edited: false, is_anonymous: false, can_manage_chat: true, can_delete_messages: true, can_manage_video_chats: true, can_restrict_members: true, can_promote_members: false, can_change_info: true, can_invite_users: true, can_post_stories: false, can_edit_stories: false, can_delete_stories: false, can_pin_messages: true };
    const user = this.state.users.get(userId);
    if (!user) throw badRequest('user not found');
    if (rec.chat.type === 'private') {
      if (rec.chat.id !== userId) throw badRequest('user not found');
      return { status: 'member', user: clone(user) };
    }
    return { status: rec.memberIds.has(userId) ? 'member' : 'left', user: clone(user) };
  }

  private mGetFile(a: Args): Record<string, unknown> {
    const id = a.str('file_id') ?? '';
    const f = this.state.files.get(id);
    if (!f) throw badRequest('invalid file_id');
    if (f.file_size > 20 * 1024 * 1024) throw badRequest('file is too big');
    return { file_id: f.file_id, file_unique_id: f.file_unique_id, file_size: f.file_size, file_path: f.file_path };
  }

  private mPin(bot: BotRuntime, a: Args): boolean {
    const rec = this.writableChat(bot, a);
    const id = a.int('message_id');
    const stored = id !== undefined ? rec.byId.get(id) : undefined;
    if (id === undefined || !stored || stored.deleted) throw badRequest('message to pin not found');
    rec.pinned = [...rec.pinned.filter((p) => p !== id), id];
    // Pinning leaves a service message in the chat, as in Telegram clients.
    const service = this.state.addMessage(rec, ++this.changeSeq, (message_id) => ({
      msg: { message_id, from: clone(bot.user), chat: clone(rec.chat), date: nowSeconds(), pinned_message: this.replyView(stored.msg) },
      fromBot: true,
      botId: bot.user.id,
    }));
    this.emit('message', toSandboxMessage(service));
    return true;
  }

  private mUnpin(bot: BotRuntime, a: Args, all: boolean): boolean {
    const rec = this.writableChat(bot, a);
    if (all) rec.pinned = [];
    else {
      const id = a.int('message_id') ?? rec.pinned[rec.pinned.length - 1];
      if (id !== undefined) rec.pinned = rec.pinned.filter((p) => p !== id);
    }
    return true;
  }
}

export async function startBotApiServer(opts: BotApiServerOptions = {}): Promise<BotApiServer> {
  return await new BotApiServer(opts).listen();
}

export { SEND_METHODS };
