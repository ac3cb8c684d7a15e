// The Bot API methods of the stand-in: each call's parameters checked with Telegram's own error
// texts, its effect on the chats, and the answer; and the pipeline every call goes through,
// whether it came over HTTP or as a webhook's answer: injected faults first, then the method,
// then the request log. Nothing here knows how a call arrived (bot-api-routes.ts does).

import { formatOutgoing } from './bot-api-format.js';
import { isUpload, parseParams, type Params, type UploadedFile } from './bot-api-http.js';
import { DEFAULT_FAULT_DESCRIPTIONS, type FaultKind } from './bot-api-limits.js';
import { nowSeconds, parseReplyMarkup, toSandboxMessage, type ChatRecord, type FileRecord, type StoredMessage } from './bot-api-state.js';
import { ApiError, badRequest, type ApiBody, type BotCommand, type InlineKeyboardMarkup, type MessageEntity, type TgMessage, type TgUpdate } from './bot-api-types.js';
import { botName, clone, replyView, TINY_JPEG, webhookInfoFor, type BotApiWorld, type BotRuntime, type CallbackAnswer } from './bot-api-world.js';

export interface Outcome {
  status: number;
  body: ApiBody;
  /** Raw body instead of JSON (a 502 from the fronting nginx is HTML, as on the real API). */
  html?: string;
  delayMs: number;
  fault?: FaultKind;
}

export interface CallContext {
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

/** One method of the table: its name as Telegram spells it, and what it does. */
export interface MethodEntry {
  name: string;
  handler: Handler;
}

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

const CHAT_ACTIONS = new Set([
  'typing', 'upload_photo', 'record_video', 'upload_video', 'record_voice', 'upload_voice', 'upload_document',
  'choose_sticker', 'find_location', 'record_video_note', 'upload_video_note',
]);
const sameJson = (a: unknown, b: unknown): boolean => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

export class BotApiMethods {
  private readonly table: Map<string, MethodEntry>;

  constructor(private readonly world: BotApiWorld) {
    this.table = this.buildMethods();
  }

  /** The method a call names, case-insensitive as on Telegram; undefined for an unknown one (404). */
  find(method: string): MethodEntry | undefined {
    return this.table.get(method.toLowerCase());
  }

  /** Runs one Bot API call, applying injected faults, and logs it. */
  async execute(bot: BotRuntime, method: string, handler: Handler, params: Params, ctx: CallContext): Promise<Outcome> {
    const started = Date.now();
    const a = new Args(params);
    const chatRef = (params.chat_id ?? undefined) as number | string | undefined;
    const fault = ctx.via === 'http' ? this.world.faults.decide(method) : null;
    if (fault?.status !== undefined) {
      this.world.counters.faults++;
      const status = fault.status;
      let body: ApiBody;
      let html: string | undefined;
      if (status === 429) {
        const retry = Math.max(1, Math.round(fault.retryAfter ?? 1));
        body = { ok: false, error_code: 429, description: fault.description ?? `Too Many Requests: retry after ${retry}`, parameters: { retry_after: retry } };
        this.world.recordRateLimit(bot, method, chatRef, retry, 'fault');
      } else {
        body = { ok: false, error_code: status, description: fault.description ?? DEFAULT_FAULT_DESCRIPTIONS[status] };
        if (status === 502) html = '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.18.0</center>\r\n</body>\r\n</html>\r\n';
      }
      this.world.logRequest(bot, method, chatRef, status, started, ctx.via, body.ok ? undefined : body.description, fault.kind);
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
      this.world.counters.faults++;
      outcome.delayMs = fault.delayMs;
      outcome.fault = fault.kind;
    }
    this.world.logRequest(bot, method, chatRef, outcome.status, started, ctx.via, outcome.body.ok ? undefined : outcome.body.description, outcome.fault);
    return outcome;
  }

  /** A method a webhook answered with (`{ method, ...params }` in the response body). */
  async runWebhookReply(bot: BotRuntime, body: Buffer, contentType: string | undefined): Promise<void> {
    const params = parseParams(new URL('http://localhost/'), contentType ?? 'application/json', body);
    const method = typeof params.method === 'string' ? params.method : undefined;
    if (!method) return;
    delete params.method;
    const entry = this.table.get(method.toLowerCase());
    if (!entry) {
      this.world.logRequest(bot, method, undefined, 404, Date.now(), 'webhook_reply', 'Not Found');
      return;
    }
    // Telegram reports nothing back for webhook replies; errors only show up in the log.
    await this.execute(bot, entry.name, entry.handler, params, { via: 'webhook_reply', signal: new AbortController().signal });
  }

  private buildMethods(): Map<string, MethodEntry> {
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
      getWebhookInfo: (bot) => webhookInfoFor(bot),
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
      getMyCommands: (bot, a) => clone(bot.commands.get(this.world.scopeKey(this.scopeArg(a), this.langArg(a))) ?? []),
      deleteMyCommands: (bot, a) => {
        bot.commands.delete(this.world.scopeKey(this.scopeArg(a), this.langArg(a)));
        return true;
      },
      setChatMenuButton: (bot, a) => this.mSetChatMenuButton(bot, a),
      getChatMenuButton: (bot, a) => {
        const key = a.has('chat_id') ? String(this.world.state.resolveChat(a.get('chat_id')).chat.id) : 'default';
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
        const rec = this.world.state.resolveChat(a.get('chat_id'));
        return rec.chat.type === 'private' ? 2 : rec.memberIds.size + 1;
      },
      getFile: (_bot, a) => this.mGetFile(a),
      pinChatMessage: (bot, a) => this.mPin(bot, a),
      unpinChatMessage: (bot, a) => this.mUnpin(bot, a, false),
      unpinAllChatMessages: (bot, a) => this.mUnpin(bot, a, true),
    };
    const map = new Map<string, MethodEntry>();
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

  /** Chat the bot writes to; 403 when the user blocked the bot. */
  private writableChat(bot: BotRuntime, a: Args): ChatRecord {
    const rec = this.world.state.resolveChat(a.get('chat_id'));
    if (rec.chat.type === 'private' && this.world.state.isBlocked(bot.user.id, rec.chat.id)) throw new ApiError(403, 'Forbidden: bot was blocked by the user');
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
      const u = this.world.state.users.get(e.user.id);
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
    return replyView(target.msg);
  }

  /** Stores a message the bot sends, after flood control; returns the Bot API Message. */
  private storeBotMessage(bot: BotRuntime, method: string, rec: ChatRecord, a: Args, content: Partial<TgMessage>, markupRaw: unknown): TgMessage {
    const markup = parseReplyMarkup(markupRaw);
    const reply = this.replyArg(rec, a);
    if (bot.limiter) {
      // A private chat's answer to the person's own update is not a bulk notification (RateLimiter).
      const answer = rec.chat.id > 0 && bot.channel.answering(rec.chat.id);
      const verdict = bot.limiter.take(rec.chat.id, Date.now(), { answer });
      if (verdict) {
        this.world.recordRateLimit(bot, method, rec.chat.id, verdict.retryAfter, verdict.scope);
        throw new ApiError(429, `Too Many Requests: retry after ${verdict.retryAfter}`, { retry_after: verdict.retryAfter });
      }
    }
    const stored = this.world.state.addMessage(rec, this.world.nextSeq(), (message_id) => {
      const msg: TgMessage = { message_id, from: clone(bot.user), chat: clone(rec.chat), date: nowSeconds(), ...content };
      if (reply) msg.reply_to_message = reply;
      if (markup.inline && markup.inline.inline_keyboard.length > 0) msg.reply_markup = markup.inline;
      if (a.bool('protect_content')) msg.has_protected_content = true;
      const s: Omit<StoredMessage, 'chatId' | 'history' | 'deleted' | 'seq'> = { msg, fromBot: true, botId: bot.user.id };
      if (markup.keyboard) s.chatKeyboard = markup.keyboard;
      return s;
    });
    if (markup.keyboard) rec.keyboard = markup.keyboard;
    this.world.events.emit('message', toSandboxMessage(stored));
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
    if (isUpload(input)) return this.world.state.addPhoto(input.data);
    const s = String(input);
    const known = this.world.state.files.get(s);
    if (known) return [{ file_id: known.file_id, file_unique_id: known.file_unique_id, width: 800, height: 600, file_size: known.file_size }];
    // No network here: a URL is accepted as if Telegram had downloaded it.
    if (/^https?:\/\//i.test(s)) return this.world.state.addPhoto(TINY_JPEG);
    throw badRequest('wrong file identifier/HTTP URL specified');
  }

  private fileInput(input: unknown, kind: 'document' | 'voice'): { file: FileRecord; name: string; mime: string } {
    if (isUpload(input)) {
      const up: UploadedFile = input;
      const mime = kind === 'voice' ? 'audio/ogg' : up.contentType !== 'application/octet-stream' ? up.contentType : undefined;
      const file = this.world.state.addFile(kind, up.data, mime ? { mimeType: mime, fileName: up.filename } : { fileName: up.filename });
      return { file, name: up.filename, mime: file.mime_type };
    }
    const s = String(input);
    const known = this.world.state.files.get(s);
    if (known) return { file: known, name: known.file_path.split('/').pop() ?? 'file', mime: known.mime_type };
    if (/^https?:\/\//i.test(s)) {
      const name = decodeURIComponent(new URL(s).pathname.split('/').pop() || 'file');
      const file = this.world.state.addFile(kind, Buffer.from(`downloaded from ${s}\n`), { fileName: name });
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
    this.world.events.emit('chat_action', { bot: botName(bot), chat_id: rec.chat.id, action, at: Date.now() });
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
    stored.seq = this.world.nextSeq();
    this.world.events.emit('edit', toSandboxMessage(stored));
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
    this.world.events.emit('delete', toSandboxMessage(stored));
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
    const q = this.world.callbackQueries.get(id);
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
    this.world.callbackAnswers.set(id, answer);
    this.world.events.emit('callback_answer', answer);
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
    const key = this.world.scopeKey(this.scopeArg(a), this.langArg(a));
    if (commands.length === 0) bot.commands.delete(key);
    else bot.commands.set(key, commands);
    return true;
  }

  private mSetChatMenuButton(bot: BotRuntime, a: Args): boolean {
    const key = a.has('chat_id') ? String(this.world.state.resolveChat(a.get('chat_id')).chat.id) : 'default';
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
    const rec = this.world.state.resolveChat(a.get('chat_id'));
    const info: Record<string, unknown> = { ...clone(rec.chat), accent_color_id: 0, max_reaction_count: 11 };
    if (rec.chat.type !== 'private') {
      info.permissions = { can_send_messages: true, can_send_audios: true, can_send_documents: true, can_send_photos: true, can_send_videos: true, can_send_video_notes: true, can_send_voice_notes: true, can_send_polls: true, can_send_other_messages: true, can_add_web_page_previews: true, can_change_info: true, can_invite_users: true, can_pin_messages: true, can_manage_topics: true };
    }
    const pinnedId = rec.pinned[rec.pinned.length - 1];
    const pinned = pinnedId !== undefined ? rec.byId.get(pinnedId) : undefined;
    if (pinned && !pinned.deleted) info.pinned_message = replyView(pinned.msg);
    return info;
  }

  private mGetChatMember(bot: BotRuntime, a: Args): Record<string, unknown> {
    const rec = this.world.state.resolveChat(a.get('chat_id'));
    const userId = a.int('user_id');
    if (userId === undefined) throw badRequest('user_id is empty');
    if (userId === bot.user.id) return { status: rec.chat.type === 'private' ? 'member' : 'administrator', user: clone(bot.user), can_be_edited: false, is_anonymous: false, can_manage_chat: true, can_delete_messages: true, can_manage_video_chats: true, can_restrict_members: true, can_promote_members: false, can_change_info: true, can_invite_users: true, can_post_stories: false, can_edit_stories: false, can_delete_stories: false, can_pin_messages: true };
    const user = this.world.state.users.get(userId);
    if (!user) throw badRequest('user not found');
    if (rec.chat.type === 'private') {
      if (rec.chat.id !== userId) throw badRequest('user not found');
      return { status: 'member', user: clone(user) };
    }
    return { status: rec.memberIds.has(userId) ? 'member' : 'left', user: clone(user) };
  }

  private mGetFile(a: Args): Record<string, unknown> {
    const id = a.str('file_id') ?? '';
    const f = this.world.state.files.get(id);
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
    const service = this.world.state.addMessage(rec, this.world.nextSeq(), (message_id) => ({
      msg: { message_id, from: clone(bot.user), chat: clone(rec.chat), date: nowSeconds(), pinned_message: replyView(stored.msg) },
      fromBot: true,
      botId: bot.user.id,
    }));
    this.world.events.emit('message', toSandboxMessage(service));
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
