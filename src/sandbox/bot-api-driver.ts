// What tests, the benchmark and the sandbox page drive on the Bot API stand-in: people and groups,
// acting as a user (write, edit, send a photo, press a button, block the bot), raw updates,
// inspecting chats, commands and the request log, injecting faults, and waiting for the bot.
// BotApiServer (bot-api-server.ts) is this driver with the HTTP server around it.

import { EventEmitter } from 'node:events';
import { formatIncoming } from './bot-api-format.js';
import type { FailNextOptions, FaultPlan } from './bot-api-limits.js';
import { inlineButtons, nowSeconds, toSandboxMessage, type AddGroupInput, type AddUserInput, type ChatRecord, type SandboxMessage, type StoredMessage } from './bot-api-state.js';
import type { BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, TgChat, TgMessage, TgUpdate, TgUser } from './bot-api-types.js';
import {
  BotApiWorld,
  botName,
  clone,
  replyView,
  TINY_JPEG,
  webhookInfoFor,
  type BotApiServerEvents,
  type BotApiServerOptions,
  type BotApiStats,
  type BotRuntime,
  type CallbackAnswer,
  type CallbackQueryRecord,
  type CommandScope,
  type RateLimitHit,
  type RequestLogEntry,
} from './bot-api-world.js';
import type { WebhookDeliveryRecord } from './bot-api-delivery.js';

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

const FAKE_OGG = Buffer.concat([Buffer.from('OggS'), Buffer.alloc(60)]);

export class BotApiDriver extends EventEmitter<BotApiServerEvents> {
  /** The first bot's token. */
  readonly token: string;
  readonly requests: RequestLogEntry[];
  readonly callbackAnswers: Map<string, CallbackAnswer>;
  readonly rateLimitHits: RateLimitHit[];
  readonly webhookDeliveries: WebhookDeliveryRecord[];
  /** Every update created, in order, with the bot it went to. */
  readonly updates: Array<{ bot: string; update: TgUpdate; delivered: boolean }> = [];

  protected readonly world: BotApiWorld;
  private callbackSeq = 0;

  constructor(opts: BotApiServerOptions = {}) {
    super();
    this.setMaxListeners(0);
    this.world = new BotApiWorld(opts, this);
    this.token = this.world.defaultBot.token;
    this.requests = this.world.requests;
    this.callbackAnswers = this.world.callbackAnswers;
    this.rateLimitHits = this.world.rateLimitHits;
    this.webhookDeliveries = this.world.webhookDeliveries;
  }

  /** Info about the bots served (for the sandbox page and multi-bot tests). */
  botInfo(bot?: string): TgUser & { token: string } {
    const rt = this.botFor(bot);
    return { ...rt.user, token: rt.token };
  }

  listBots(): Array<TgUser & { token: string }> {
    return [...this.world.bots.values()].map((b) => ({ ...b.user, token: b.token }));
  }

  // ---------------------------------------------------------------- users and chats

  addUser(input: AddUserInput): TgUser {
    return clone(this.world.state.addUser(input));
  }

  addGroup(input: AddGroupInput): TgChat {
    return clone(this.world.state.addGroup(input));
  }

  users(): Array<TgUser & { blocked: string[] }> {
    return [...this.world.state.users.values()].map((u) => ({
      ...clone(u),
      blocked: [...this.world.bots.values()].filter((b) => this.world.state.isBlocked(b.user.id, u.id)).map((b) => b.user.username ?? String(b.user.id)),
    }));
  }

  chats(): Array<TgChat & { member_ids: number[]; message_count: number }> {
    return [...this.world.state.chats.values()].map((c) => ({ ...clone(c.chat), member_ids: [...c.memberIds], message_count: c.messages.length }));
  }

  /** The user blocks (or unblocks) the bot: sends then answer 403, the bot gets my_chat_member. */
  blockBot(userId: number, blocked = true, opts: { bot?: string } = {}): void {
    const bot = this.botFor(opts.bot);
    const user = this.userOrThrow(userId);
    if (this.world.state.isBlocked(bot.user.id, userId) === blocked) return;
    this.world.state.setBlocked(bot.user.id, userId, blocked);
    this.deliverMemberChange(bot, user, blocked ? 'kicked' : 'member');
  }

  /**
   * A member adds the bot to a group (`added`), or removes it: the bot gets my_chat_member for the group,
   * from that member, as on Telegram. The group must exist (addGroup) with the member in it.
   */
  setBotInGroup(groupId: number, byUserId: number, added = true, opts: { bot?: string } = {}): { updateId: number; delivered: boolean } {
    const bot = this.botFor(opts.bot);
    const user = this.userOrThrow(byUserId);
    const rec = this.chatForUser(byUserId, groupId);
    if (rec.chat.type === 'private') throw new Error(`setBotInGroup: chat ${groupId} is not a group`);
    const botMember = clone(bot.user);
    const old = added ? { status: 'left', user: botMember } : { status: 'member', user: botMember };
    const now = added ? { status: 'member', user: botMember } : { status: 'left', user: botMember };
    return this.deliver(bot, { my_chat_member: { chat: clone(rec.chat), from: clone(user), date: nowSeconds(), old_chat_member: old, new_chat_member: now } });
  }

  isBlocked(userId: number, opts: { bot?: string } = {}): boolean {
    return this.world.state.isBlocked(this.botFor(opts.bot).user.id, userId);
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
    rec.userActionSeq = this.world.nextSeq();
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
    const content: Partial<TgMessage> = { photo: this.world.state.addPhoto(opts.bytes ?? TINY_JPEG) };
    this.addUserCaption(content, opts.caption);
    return this.userMessage(userId, opts, content);
  }

  sendVoice(userId: number, opts: UserActionOptions & { duration?: number; bytes?: Buffer; caption?: string } = {}): UserActionResult {
    const f = this.world.state.addFile('voice', opts.bytes ?? FAKE_OGG, { mimeType: 'audio/ogg' });
    const content: Partial<TgMessage> = {
      voice: { file_id: f.file_id, file_unique_id: f.file_unique_id, duration: opts.duration ?? 3, mime_type: 'audio/ogg', file_size: f.file_size },
    };
    this.addUserCaption(content, opts.caption);
    return this.userMessage(userId, opts, content);
  }

  sendDocument(userId: number, doc: { fileName: string; mimeType: string; bytes?: Buffer; caption?: string }, opts: UserActionOptions = {}): UserActionResult {
    const data = doc.bytes ?? Buffer.from(`fake content of ${doc.fileName}\n`);
    const f = this.world.state.addFile('document', data, { mimeType: doc.mimeType, fileName: doc.fileName });
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
    const bot = opts.bot !== undefined ? this.botFor(opts.bot) : stored ? (this.world.botsById.get(stored.botId) ?? this.world.defaultBot) : this.world.defaultBot;
    const id = `${bot.user.id}${String(++this.callbackSeq).padStart(9, '0')}`;
    const message: TgMessage | { message_id: number; chat: TgChat; date: 0 } =
      stored && !stored.deleted ? clone(stored.msg) : { message_id: messageId, chat: clone(rec.chat), date: 0 };
    this.world.callbackQueries.set(id, { botToken: bot.token, userId, chatId: rec.chat.id, messageId, data: callbackData, answered: false });
    rec.userActionSeq = this.world.nextSeq();
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
    if (opts.registerCallbackQuery && cq && typeof cq.id === 'string' && !this.world.callbackQueries.has(cq.id)) {
      const q: CallbackQueryRecord = { botToken: bot.token, userId: Number(cq.from?.id ?? 0), answered: false };
      if (typeof cq.data === 'string') q.data = cq.data;
      this.world.callbackQueries.set(cq.id, q);
    }
    const hasId = typeof raw.update_id === 'number' && Number.isInteger(raw.update_id);
    const payload = { ...raw };
    delete payload.update_id;
    return this.deliver(bot, payload, true, hasId ? (raw.update_id as number) : undefined);
  }

  // ---------------------------------------------------------------- inspection

  /** All messages of a chat in order, the user's and the bots', deleted ones flagged. */
  messages(chatId: number): SandboxMessage[] {
    return (this.world.state.chats.get(chatId)?.messages ?? []).map(toSandboxMessage);
  }

  botMessages(chatId: number): SandboxMessage[] {
    return (this.world.state.chats.get(chatId)?.messages ?? []).filter((m) => m.fromBot).map(toSandboxMessage);
  }

  /** Last bot message that is not deleted. */
  lastBotMessage(chatId: number): SandboxMessage | undefined {
    const list = this.world.state.chats.get(chatId)?.messages ?? [];
    for (let i = list.length - 1; i >= 0; i--) {
      const m = list[i] as StoredMessage;
      if (m.fromBot && !m.deleted) return toSandboxMessage(m);
    }
    return undefined;
  }

  message(chatId: number, messageId: number): SandboxMessage | undefined {
    const s = this.world.state.findMessage(chatId, messageId);
    return s ? toSandboxMessage(s) : undefined;
  }

  inlineButtons(message: { reply_markup?: InlineKeyboardMarkup | undefined } | null | undefined): Array<{ text: string; callback_data?: string; url?: string }> {
    return inlineButtons(message);
  }

  /** Commands set for exactly this scope and language (as getMyCommands answers). */
  commands(scope: CommandScope | CommandScope['type'] = 'default', lang = '', opts: { bot?: string } = {}): BotCommand[] {
    const bot = this.botFor(opts.bot);
    const s = typeof scope === 'string' ? { type: scope } : scope;
    return clone(bot.commands.get(this.world.scopeKey(s as Record<string, unknown>, lang)) ?? []);
  }

  menuButton(chatId?: number, opts: { bot?: string } = {}): Record<string, unknown> {
    const bot = this.botFor(opts.bot);
    return clone(bot.menuButtons.get(chatId === undefined ? 'default' : String(chatId)) ?? bot.menuButtons.get('default') ?? { type: 'default' });
  }

  webhookInfo(opts: { bot?: string } = {}): Record<string, unknown> {
    return webhookInfoFor(this.botFor(opts.bot));
  }

  /** File bytes stored for a file_id (uploads by the bot or files sent by users). */
  fileContent(fileId: string): Buffer | undefined {
    return this.world.state.files.get(fileId)?.data;
  }

  /**
   * Empties every chat and forgets the files sent in them (the sandbox's "start afresh"); each message
   * goes out as a `delete` event, so open pages empty their panes too. Users, bots, commands and the
   * update and message counters stay: ids keep rising, as Telegram's do. Returns the messages removed.
   */
  clearChats(): number {
    let removed = 0;
    for (const rec of this.world.state.chats.values()) {
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
    this.world.state.files.clear();
    return removed;
  }

  stats(): BotApiStats {
    let messagesStored = 0;
    for (const c of this.world.state.chats.values()) messagesStored += c.messages.length;
    return {
      total: this.world.counters.total,
      byMethod: { ...this.world.counters.byMethod },
      byStatus: { ...this.world.counters.byStatus },
      byMethodStatus: clone(this.world.counters.byMethodStatus),
      rateLimited: this.rateLimitHits.length,
      faults: this.world.counters.faults,
      messagesStored,
    };
  }

  // ---------------------------------------------------------------- faults

  /** Makes the next call(s) of `method` ('*' = any) fail, or answer late when only delayMs is set. */
  failNext(method: string, opts: FailNextOptions): void {
    this.world.faults.failNext(method, opts);
  }

  /**
   * Seeded random faults; same seed + same request sequence = same faults. A `timeout` fault
   * stores (and shows) the message, then answers only after timeoutMs: Telegram may well have
   * sent a message whose answer the client gave up waiting for.
   */
  setFaultPlan(plan: FaultPlan | null): void {
    this.world.faults.setPlan(plan);
  }

  clearFaults(): void {
    this.world.faults.clear();
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
    const rec = this.world.state.chats.get(chatId);
    const baseline = rec?.userActionSeq ?? 0;
    const matches = (m: SandboxMessage): boolean => {
      if (m.chat_id !== chatId || !m.from_bot || m.deleted) return false;
      if (opts.after !== undefined) {
        if (m.message_id <= opts.after) return false;
      } else if ((this.world.state.findMessage(chatId, m.message_id)?.seq ?? 0) <= baseline) return false;
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
        const q = this.world.callbackQueries.get(callbackQueryId);
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
        const busy = this.world.inflightRequests > 0 || [...this.world.bots.values()].some((b) => b.channel.busy);
        if (busy) this.world.lastActivity = Math.max(this.world.lastActivity, now - 1);
        const quietFor = now - this.world.lastActivity;
        if (!busy && quietFor >= quietMs) {
          resolve();
          return;
        }
        if (now - started >= timeoutMs) {
          const pending = [...this.world.bots.values()].map((b) => `${b.user.username}: ${b.channel.pendingCount} pending`).join(', ');
          reject(new Error(`waitForIdle: still busy after ${timeoutMs} ms (${this.world.inflightRequests} requests in progress; ${pending})`));
          return;
        }
        setTimeout(check, Math.max(5, Math.min(50, quietMs - quietFor)));
      };
      check();
    });
  }


  // ---------------------------------------------------------------- internals: users' side

  private userOrThrow(userId: number): TgUser {
    const u = this.world.state.users.get(userId);
    if (!u) throw new Error(`unknown user ${userId}: call addUser() first`);
    return u;
  }

  private chatForUser(userId: number, chatId?: number): ChatRecord {
    this.userOrThrow(userId);
    const id = chatId ?? userId;
    const rec = this.world.state.chatOrThrow(id);
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
    if (rec.chat.type === 'private' && this.world.state.isBlocked(bot.user.id, userId)) this.blockBot(userId, false, opts.bot !== undefined ? { bot: opts.bot } : {});
    let reply: TgMessage | undefined;
    if (replyTo !== undefined) {
      const target = rec.byId.get(replyTo);
      if (!target || target.deleted) throw new Error(`reply target ${replyTo} not found in chat ${rec.chat.id}`);
      reply = replyView(target.msg);
    }
    rec.userActionSeq = this.world.nextSeq();
    const stored = this.world.state.addMessage(rec, this.world.nextSeq(), (message_id) => {
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
    const rec = this.world.state.chats.get(user.id);
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
    const entry = { bot: botName(bot), update, delivered };
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
    const list = this.world.state.chats.get(chatId)?.messages ?? [];
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
    if (ref === undefined) return this.world.defaultBot;
    const byToken = this.world.bots.get(ref);
    if (byToken) return byToken;
    const name = ref.replace(/^@/, '').toLowerCase();
    for (const b of this.world.bots.values()) if (b.user.username?.toLowerCase() === name) return b;
    throw new Error(`unknown bot ${ref}`);
  }
}
