// World state of the Bot API stand-in: users, chats, messages (with edit history), files,
// and reply_markup validation. Pure data, no I/O.

import { createHash } from 'node:crypto';
import { extname } from 'node:path';
import {
  ApiError,
  badRequest,
  type ChatKeyboard,
  type InlineKeyboardButton,
  type InlineKeyboardMarkup,
  type PhotoSize,
  type ReplyKeyboardButton,
  type TgChat,
  type TgMessage,
  type TgUser,
} from './bot-api-types.js';

export interface AddUserInput {
  id: number;
  first_name: string;
  last_name?: string;
  username?: string;
  language_code?: string;
}

export interface AddGroupInput {
  id: number;
  title: string;
  memberIds: number[];
  type?: 'group' | 'supergroup';
  username?: string;
}

export interface StoredMessage {
  chatId: number;
  /** Current Bot API representation (what getUpdates / send methods return). */
  msg: TgMessage;
  fromBot: boolean;
  /** Id of the bot that sent it, or that the user addressed (for routing button presses). */
  botId: number;
  deleted: boolean;
  /** Prior versions, oldest first; never mutated once recorded. */
  history: TgMessage[];
  /** Server-wide change counter at creation or last edit (orders bot output vs user actions). */
  seq: number;
  /** Reply keyboard / remove / force_reply sent along: not part of Message, kept for the page. */
  chatKeyboard?: ChatKeyboard;
}

export interface ChatRecord {
  chat: TgChat;
  memberIds: Set<number>;
  nextMessageId: number;
  messages: StoredMessage[];
  byId: Map<number, StoredMessage>;
  pinned: number[];
  keyboard?: ChatKeyboard;
  /** Change counter at the latest simulated user action in this chat. */
  userActionSeq: number;
}

export interface FileRecord {
  file_id: string;
  file_unique_id: string;
  file_size: number;
  file_path: string;
  mime_type: string;
  data: Buffer;
}

/** What tests and the sandbox page see of a message. */
export interface SandboxMessage {
  chat_id: number;
  message_id: number;
  from_bot: boolean;
  from?: TgUser;
  date: number;
  text?: string;
  entities?: TgMessage['entities'];
  caption?: string;
  caption_entities?: TgMessage['entities'];
  reply_markup?: InlineKeyboardMarkup;
  reply_keyboard?: ChatKeyboard;
  edit_date?: number;
  photo?: PhotoSize[];
  document?: TgMessage['document'];
  voice?: TgMessage['voice'];
  location?: TgMessage['location'];
  pinned_message_id?: number;
  reply_to_message_id?: number;
  deleted?: boolean;
  /** Prior versions, oldest first. */
  history: TgMessage[];
  /** The exact Bot API object. */
  raw: TgMessage;
}

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

export function toSandboxMessage(s: StoredMessage): SandboxMessage {
  const m = s.msg;
  const view: SandboxMessage = {
    chat_id: s.chatId,
    message_id: m.message_id,
    from_bot: s.fromBot,
    date: m.date,
    history: [...s.history],
    raw: structuredClone(m),
  };
  if (m.from) view.from = m.from;
  if (m.text !== undefined) view.text = m.text;
  if (m.entities) view.entities = m.entities;
  if (m.caption !== undefined) view.caption = m.caption;
  if (m.caption_entities) view.caption_entities = m.caption_entities;
  if (m.reply_markup) view.reply_markup = structuredClone(m.reply_markup);
  if (s.chatKeyboard) view.reply_keyboard = s.chatKeyboard;
  if (m.edit_date !== undefined) view.edit_date = m.edit_date;
  if (m.photo) view.photo = m.photo;
  if (m.document) view.document = m.document;
  if (m.voice) view.voice = m.voice;
  if (m.location) view.location = m.location;
  if (m.pinned_message) view.pinned_message_id = m.pinned_message.message_id;
  if (m.reply_to_message) view.reply_to_message_id = m.reply_to_message.message_id;
  if (s.deleted) view.deleted = true;
  return view;
}

const MIME_BY_EXT: Record<string, string> = {
  '.pdf': 'application/pdf',
  '.txt': 'text/plain',
  '.csv': 'text/csv',
  '.json': 'application/json',
  '.docx': 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  '.xlsx': 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  '.zip': 'application/zip',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.png': 'image/png',
  '.ogg': 'audio/ogg',
  '.oga': 'audio/ogg',
  '.mp3': 'audio/mpeg',
};

export const mimeForName = (name: string): string => MIME_BY_EXT[extname(name).toLowerCase()] ?? 'application/octet-stream';

export type FileKind = 'photo' | 'document' | 'voice';
const FILE_PREFIX: Record<FileKind, { id: string; dir: string; ext: string }> = {
  photo: { id: 'AgACAgIAAxkBAA', dir: 'photos', ext: '.jpg' },
  document: { id: 'BQACAgIAAxkBAA', dir: 'documents', ext: '' },
  voice: { id: 'AwACAgIAAxkBAA', dir: 'voice', ext: '.oga' },
};

export class SandboxState {
  readonly users = new Map<number, TgUser>();
  readonly chats = new Map<number, ChatRecord>();
  readonly files = new Map<string, FileRecord>();
  /** bot id -> user ids that blocked it. */
  readonly blocked = new Map<number, Set<number>>();
  private fileSeq = 0;

  addUser(input: AddUserInput): TgUser {
    if (!Number.isSafeInteger(input.id) || input.id <= 0) throw new Error(`addUser: id must be a positive integer, got ${input.id}`);
    const user: TgUser = { id: input.id, is_bot: false, first_name: input.first_name };
    if (input.last_name) user.last_name = input.last_name;
    if (input.username) user.username = input.username;
    if (input.language_code) user.language_code = input.language_code;
    this.users.set(user.id, user);
    const chat: TgChat = { id: user.id, type: 'private', first_name: user.first_name };
    if (user.last_name) chat.last_name = user.last_name;
    if (user.username) chat.username = user.username;
    const existing = this.chats.get(user.id);
    if (existing) existing.chat = chat;
    else this.chats.set(user.id, newChatRecord(chat, [user.id]));
    return user;
  }

  addGroup(input: AddGroupInput): TgChat {
    if (!Number.isSafeInteger(input.id) || input.id >= 0) throw new Error(`addGroup: id must be a negative integer, got ${input.id}`);
    for (const id of input.memberIds) if (!this.users.has(id)) throw new Error(`addGroup: unknown member ${id}; addUser() first`);
    const type = input.type ?? (input.id <= -1_000_000_000_000 ? 'supergroup' : 'group');
    const chat: TgChat = { id: input.id, type, title: input.title };
    if (input.username) chat.username = input.username;
    const existing = this.chats.get(input.id);
    if (existing) {
      existing.chat = chat;
      existing.memberIds = new Set(input.memberIds);
    } else this.chats.set(input.id, newChatRecord(chat, input.memberIds));
    return chat;
  }

  isBlocked(botId: number, userId: number): boolean {
    return this.blocked.get(botId)?.has(userId) ?? false;
  }

  setBlocked(botId: number, userId: number, blocked: boolean): void {
    let set = this.blocked.get(botId);
    if (!set) {
      set = new Set();
      this.blocked.set(botId, set);
    }
    if (blocked) set.add(userId);
    else set.delete(userId);
  }

  /** Resolves chat_id as sent by a bot: integer or @username. */
  resolveChat(raw: unknown): ChatRecord {
    if (raw === undefined || raw === null || raw === '') throw badRequest('chat_id is empty');
    if (typeof raw === 'string' && raw.startsWith('@')) {
      const name = raw.slice(1).toLowerCase();
      for (const rec of this.chats.values()) if (rec.chat.username?.toLowerCase() === name) return rec;
      throw badRequest('chat not found');
    }
    const id = typeof raw === 'number' ? raw : /^-?\d+$/.test(String(raw).trim()) ? Number(String(raw).trim()) : NaN;
    const rec = Number.isSafeInteger(id) ? this.chats.get(id) : undefined;
    if (!rec) throw badRequest('chat not found');
    return rec;
  }

  chatOrThrow(chatId: number): ChatRecord {
    const rec = this.chats.get(chatId);
    if (!rec) throw new Error(`unknown chat ${chatId}: call addUser()/addGroup() first`);
    return rec;
  }

  addMessage(rec: ChatRecord, seq: number, build: (messageId: number) => Omit<StoredMessage, 'chatId' | 'history' | 'deleted' | 'seq'>): StoredMessage {
    const id = rec.nextMessageId++;
    const partial = build(id);
    const stored: StoredMessage = { ...partial, chatId: rec.chat.id, deleted: false, history: [], seq };
    rec.messages.push(stored);
    rec.byId.set(id, stored);
    return stored;
  }

  findMessage(chatId: number, messageId: number): StoredMessage | undefined {
    return this.chats.get(chatId)?.byId.get(messageId);
  }

  addFile(kind: FileKind, data: Buffer, opts: { mimeType?: string; fileName?: string } = {}): FileRecord {
    const seq = ++this.fileSeq;
    const digest = createHash('sha256').update(`${kind}:${seq}`).update(data).digest('base64url');
    const p = FILE_PREFIX[kind];
    const ext = kind === 'document' ? extname(opts.fileName ?? '') || '.bin' : p.ext;
    const rec: FileRecord = {
      file_id: `${p.id}${digest.slice(0, 40)}`,
      file_unique_id: `AQAD${digest.slice(40, 52)}`,
      file_size: data.length,
      file_path: `${p.dir}/file_${seq}${ext}`,
      mime_type: opts.mimeType ?? (opts.fileName ? mimeForName(opts.fileName) : 'application/octet-stream'),
      data,
    };
    this.files.set(rec.file_id, rec);
    return rec;
  }

  /** Telegram keeps several sizes of each photo, each with its own file_id. */
  addPhoto(data: Buffer): PhotoSize[] {
    return [90, 320, 800].map((side) => {
      const f = this.addFile('photo', data, { mimeType: 'image/jpeg' });
      return { file_id: f.file_id, file_unique_id: f.file_unique_id, width: side, height: Math.round(side * 0.75), file_size: f.file_size };
    });
  }

  fileByPath(path: string): FileRecord | undefined {
    for (const f of this.files.values()) if (f.file_path === path) return f;
    return undefined;
  }
}

function newChatRecord(chat: TgChat, members: number[]): ChatRecord {
  return { chat, memberIds: new Set(members), nextMessageId: 1, messages: [], byId: new Map(), pinned: [], userActionSeq: 0 };
}

const INLINE_ACTIONS = [
  'url', 'callback_data', 'web_app', 'login_url', 'switch_inline_query', 'switch_inline_query_current_chat',
  'switch_inline_query_chosen_chat', 'copy_text', 'callback_game', 'pay',
] as const;

export interface ParsedMarkup {
  inline?: InlineKeyboardMarkup;
  keyboard?: ChatKeyboard;
}

const cantParse = (what: string): ApiError => badRequest(`can't parse inline keyboard button: ${what}`);

/** Validates reply_markup the way Telegram does; string input (form/multipart) is JSON-decoded. */
export function parseReplyMarkup(raw: unknown): ParsedMarkup {
  if (raw === undefined || raw === null || raw === '') return {};
  let value: unknown = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw);
    } catch {
      throw badRequest("can't parse reply keyboard markup JSON object");
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw badRequest("can't parse reply keyboard markup JSON object");
  const obj = value as Record<string, unknown>;
  if ('inline_keyboard' in obj) return { inline: parseInlineKeyboard(obj.inline_keyboard) };
  if ('keyboard' in obj) return { keyboard: parseReplyKeyboard(obj) };
  if (obj.remove_keyboard === true || obj.hide_keyboard === true) return { keyboard: { remove_keyboard: true } };
  if (obj.force_reply === true) {
    const kb: ChatKeyboard = { force_reply: true };
    if (typeof obj.input_field_placeholder === 'string') kb.input_field_placeholder = obj.input_field_placeholder;
    return { keyboard: kb };
  }
  // Like the Bot API server: an object with none of the known fields means "no markup".
  return {};
}

function parseInlineKeyboard(rows: unknown): InlineKeyboardMarkup {
  if (!Array.isArray(rows)) throw badRequest('field "inline_keyboard" of the InlineKeyboardMarkup should be an Array of Arrays');
  const out: InlineKeyboardButton[][] = [];
  let total = 0;
  for (const row of rows) {
    if (!Array.isArray(row)) throw badRequest('field "inline_keyboard" of the InlineKeyboardMarkup should be an Array of Arrays');
    const parsedRow: InlineKeyboardButton[] = [];
    for (const b of row) {
      parsedRow.push(parseInlineButton(b));
      total++;
    }
    if (parsedRow.length > 0) out.push(parsedRow);
  }
  if (total > 100) throw badRequest('reply markup is too long');
  return { inline_keyboard: out };
}

function parseInlineButton(b: unknown): InlineKeyboardButton {
  if (typeof b !== 'object' || b === null || Array.isArray(b)) throw cantParse('InlineKeyboardButton must be an Object');
  const o = b as Record<string, unknown>;
  if (typeof o.text !== 'string') throw cantParse('Field "text" must be of type String');
  const actions = INLINE_ACTIONS.filter((k) => o[k] !== undefined && o[k] !== null);
  if (actions.length === 0) throw cantParse('Text buttons are unallowed in the inline keyboard');
  const button: InlineKeyboardButton = { text: o.text };
  if (actions.length > 1) throw cantParse(`only one of ${actions.join(', ')} can be specified`);
  const action = actions[0];
  switch (action) {
    case 'callback_data': {
      if (typeof o.callback_data !== 'string' && typeof o.callback_data !== 'number') throw cantParse('Field "callback_data" must be of type String');
      const data = String(o.callback_data);
      const bytes = Buffer.byteLength(data, 'utf8');
      if (bytes < 1 || bytes > 64) throw badRequest('BUTTON_DATA_INVALID');
      button.callback_data = data;
      break;
    }
    case 'url': {
      const url = String(o.url);
      if (!isValidButtonUrl(url)) throw badRequest(`inline keyboard button URL '${url}' is invalid: Wrong HTTP URL`);
      button.url = url;
      break;
    }
    case 'web_app':
      button.web_app = o.web_app as { url: string };
      break;
    case 'login_url':
      button.login_url = o.login_url as { url: string };
      break;
    case 'switch_inline_query':
      button.switch_inline_query = String(o.switch_inline_query);
      break;
    case 'switch_inline_query_current_chat':
      button.switch_inline_query_current_chat = String(o.switch_inline_query_current_chat);
      break;
    case 'switch_inline_query_chosen_chat':
      button.switch_inline_query_chosen_chat = o.switch_inline_query_chosen_chat as Record<string, unknown>;
      break;
    case 'copy_text':
      button.copy_text = o.copy_text as { text: string };
      break;
    case 'callback_game':
      button.callback_game = {};
      break;
    case 'pay':
      button.pay = true;
      break;
    default:
      break;
  }
  return button;
}

function isValidButtonUrl(url: string): boolean {
  if (/^tg:\/\//i.test(url)) return true;
  try {
    const u = new URL(/^[a-z][a-z0-9+.-]*:/i.test(url) ? url : `http://${url}`);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname.length > 0;
  } catch {
    return false;
  }
}

function parseReplyKeyboard(obj: Record<string, unknown>): ChatKeyboard {
  const rows = obj.keyboard;
  if (!Array.isArray(rows)) throw badRequest('field "keyboard" of the ReplyKeyboardMarkup should be an Array of Arrays');
  const keyboard: ReplyKeyboardButton[][] = [];
  for (const row of rows) {
    if (!Array.isArray(row)) throw badRequest('field "keyboard" of the ReplyKeyboardMarkup should be an Array of Arrays');
    keyboard.push(
      row.map((b): ReplyKeyboardButton => {
        if (typeof b === 'string') return { text: b };
        if (typeof b === 'object' && b !== null && typeof (b as { text?: unknown }).text === 'string') {
          const src = b as ReplyKeyboardButton;
          const button: ReplyKeyboardButton = { text: src.text };
          if (src.request_contact === true) button.request_contact = true;
          if (src.request_location === true) button.request_location = true;
          return button;
        }
        throw badRequest("can't parse keyboard button: KeyboardButton must be a String or an Object");
      }),
    );
  }
  const kb: ChatKeyboard = { keyboard };
  if (obj.resize_keyboard === true) kb.resize_keyboard = true;
  if (obj.one_time_keyboard === true) kb.one_time_keyboard = true;
  if (obj.is_persistent === true) kb.is_persistent = true;
  if (typeof obj.input_field_placeholder === 'string') kb.input_field_placeholder = obj.input_field_placeholder;
  return kb;
}

/** Flat list of inline buttons of a message (stored, sandbox view or raw Bot API object). */
export function inlineButtons(message: { reply_markup?: InlineKeyboardMarkup | undefined } | null | undefined): Array<{ text: string; callback_data?: string; url?: string }> {
  const rows = message?.reply_markup?.inline_keyboard ?? [];
  return rows.flat().map((b) => {
    const out: { text: string; callback_data?: string; url?: string } = { text: b.text };
    if (b.callback_data !== undefined) out.callback_data = b.callback_data;
    if (b.url !== undefined) out.url = b.url;
    return out;
  });
}
