// What the parts of the WeCom API stand-in share: the corp and its one application, the members of its
// directory (and which are in the application's visible range), the access tokens, the messages each
// member received, the template-card tasks and each member's current rendering of a card, the
// response_codes, the uploaded media, the request log and the callbacks delivered to the product. The
// methods (wecom-methods.ts) change it as WeCom would; the driver (wecom-driver.ts) acts on it as members
// do and reads it for tests; the routes (wecom-routes.ts) carry HTTP to the methods.

import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { FaultInjector, StandInLimits, type StandInLimitsConfig } from './wecom-rules.js';

export type Json = Record<string, unknown>;

export interface WecomStandInOptions {
  /** Default a fixed test corp id. */
  corpId?: string;
  /** The application's secret for gettoken; default a fixed test value. */
  corpSecret?: string;
  agentId?: number;
  /** The callback's Token and 43-character EncodingAESKey; default fixed test values. */
  callbackToken?: string;
  encodingAesKey?: string;
  /** Where callbacks are POSTed (the product's callback URL); can be set later on the driver. */
  callbackUrl?: string;
  /** Members of the directory, in the application's visible range. */
  users?: string[];
  /** The stand-in's clock: token and response_code expiry, limits, callback timestamps. */
  clock?: { now(): Date };
  /** WeCom's frequency limits (default on, account cap 100); false: off, for tests of other things. */
  limits?: false | StandInLimitsConfig;
  /** How long WeCom waits for the product to answer a callback (default 5 000 ms). */
  callbackTimeoutMs?: number;
  /** How many times an unanswered callback is sent again (default 3). */
  callbackRetries?: number;
  /** 0 = a free port (default). */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
}

/** What the product needs to be configured against the stand-in. */
export interface WecomStandInConfig {
  corpId: string;
  corpSecret: string;
  agentId: number;
  callbackToken: string;
  encodingAesKey: string;
}

export interface TokenRecord {
  value: string;
  expiresAt: number;
  /** Ended early by the driver: 'expired' answers 42001, 'revoked' 40014. */
  endedAs?: 'expired' | 'revoked';
}

/** A message as the member sees it in the application's chat. */
export interface ReceivedMessage {
  msgId: string;
  at: number;
  /** passive_text: a passive reply to a callback. */
  msgtype: 'text' | 'markdown' | 'template_card' | 'file' | 'passive_text';
  content?: string;
  card?: Json;
  taskId?: string;
  file?: { mediaId: string; filename: string; size: number };
}

/** A member's current rendering of a template card (after every update). */
export interface CardState {
  taskId: string;
  msgId: string;
  cardType: string;
  card: Json;
  /** Every rendering, the first one sent included. */
  renderings: Json[];
  /** Set by an update with `button.replace_name`: the buttons are greyed out with this label. */
  disabledLabel?: string;
  updatedAt: number;
}

export interface TaskRecord {
  taskId: string;
  msgId: string;
  cardType: string;
  recipients: Set<string>;
}

export interface ResponseCodeRecord {
  code: string;
  taskId: string;
  issuedAt: number;
  usedAt?: number;
  from: 'send' | 'callback';
}

export interface MediaRecord {
  mediaId: string;
  type: string;
  filename: string;
  contentType: string;
  size: number;
  createdAt: number;
  data: Buffer;
}

export interface RequestLogEntry {
  api: string;
  at: number;
  httpStatus: number;
  errcode?: number;
  fault?: string;
  /** The msgid of the message a message/send created, so a fault can be tied to what it delivered. */
  msgId?: string;
}

export interface CallbackAttempt {
  at: number;
  status: number;
  durationMs: number;
  error?: string;
}

/** One callback POSTed (or GET) to the product, with WeCom's retries. */
export interface CallbackDelivery {
  id: number;
  kind: string;
  userId?: string;
  method: 'GET' | 'POST';
  /** The exact query and body, so that a replay sends them again unchanged. */
  query: Record<string, string>;
  body: string;
  attempts: CallbackAttempt[];
  /** The final HTTP status (0: no answer). */
  status: number;
  /** The final answer's body. */
  answer: string;
  /** A passive reply in the answer, decrypted; or why it could not be read. */
  reply?: { msgType: string; content?: string } | { problem: string };
}

export interface MemberRecord {
  userId: string;
  visible: boolean;
}

export interface WecomStandInEvents {
  message: [{ userId: string; message: ReceivedMessage }];
  card: [{ userId: string; card: CardState }];
  delivery: [CallbackDelivery];
  /** Every chat was emptied. */
  cleared: [];
}

/** Seconds an access token lives. */
export const TOKEN_SECONDS = 7200;
/** Seconds a response_code can be used (72 hours). */
export const RESPONSE_CODE_SECONDS = 72 * 3600;
/** Seconds a temporary media lives (three days). */
export const MEDIA_SECONDS = 3 * 86400;

const DEFAULTS: WecomStandInConfig = {
  corpId: 'ww0standin00000001',
  corpSecret: 'standin-application-secret',
  agentId: 1000002,
  callbackToken: 'standinCallbackToken',
  // 43 characters of base64 (a 32-byte key without its trailing '=').
  encodingAesKey: 'c3RhbmRpbi1lbmNvZGluZy1hZXMta2V5LTMyYnl0ZXM',
};

export class WecomWorld extends EventEmitter<WecomStandInEvents> {
  readonly config: WecomStandInConfig;
  readonly clock: { now(): Date };
  callbackUrl: string | undefined;
  readonly callbackTimeoutMs: number;
  readonly callbackRetries: number;
  readonly members = new Map<string, MemberRecord>();
  readonly tokens = new Map<string, TokenRecord>();
  readonly inbox = new Map<string, ReceivedMessage[]>();
  /** Messages WeCom accepted but dropped for a member over the per-member limit. */
  readonly dropped = new Map<string, ReceivedMessage[]>();
  readonly cards = new Map<string, Map<string, CardState>>();
  readonly tasks = new Map<string, TaskRecord>();
  readonly responseCodes = new Map<string, ResponseCodeRecord>();
  readonly media = new Map<string, MediaRecord>();
  readonly requests: RequestLogEntry[] = [];
  readonly deliveries: CallbackDelivery[] = [];
  readonly faults = new FaultInjector();
  limits: StandInLimits | undefined;
  private seq = 0;
  private msgSeq = 0n;
  /** Random high digits, so that a restarted stand-in never repeats a MsgId the product has seen. */
  private readonly msgBase = 7_000_000_000_000_000_000n + BigInt(`0x${randomBytes(5).toString('hex')}`) * 1_000_000n;

  constructor(opts: WecomStandInOptions) {
    super();
    this.config = {
      corpId: opts.corpId ?? DEFAULTS.corpId,
      corpSecret: opts.corpSecret ?? DEFAULTS.corpSecret,
      agentId: opts.agentId ?? DEFAULTS.agentId,
      callbackToken: opts.callbackToken ?? DEFAULTS.callbackToken,
      encodingAesKey: opts.encodingAesKey ?? DEFAULTS.encodingAesKey,
    };
    if (Buffer.from(`${this.config.encodingAesKey}=`, 'base64').length !== 32) throw new RangeError('encodingAesKey must be 43 characters of base64 (32 bytes)');
    this.clock = opts.clock ?? { now: () => new Date() };
    this.callbackUrl = opts.callbackUrl;
    this.callbackTimeoutMs = opts.callbackTimeoutMs ?? 5000;
    this.callbackRetries = opts.callbackRetries ?? 3;
    for (const u of opts.users ?? []) this.addMember(u, true);
    this.setLimits(opts.limits ?? {});
  }

  setLimits(cfg: false | StandInLimitsConfig): void {
    this.limits = cfg === false ? undefined : new StandInLimits(cfg);
  }

  nowMs(): number {
    return this.clock.now().getTime();
  }

  nowSeconds(): number {
    return Math.floor(this.nowMs() / 1000);
  }

  /** A random identifier with a prefix (tokens, msgids, response_codes, media ids). */
  id(prefix: string, bytes = 12): string {
    return `${prefix}${randomBytes(bytes).toString('hex')}`;
  }

  /** A 64-bit message id for a member's message, as WeCom writes it (digits). */
  nextMsgId(): string {
    this.msgSeq += 1n;
    return (this.msgBase + this.msgSeq).toString();
  }

  nextSeq(): number {
    return ++this.seq;
  }

  addMember(userId: string, visible: boolean): MemberRecord {
    const record = { userId, visible };
    this.members.set(userId.toLowerCase(), record);
    return record;
  }

  /** A member the application can reach (in the directory and its visible range), by any case of userid. */
  reachable(userId: string): MemberRecord | undefined {
    const m = this.members.get(userId.toLowerCase());
    return m?.visible ? m : undefined;
  }

  deliver(userId: string, message: ReceivedMessage): void {
    const key = userId.toLowerCase();
    const list = this.inbox.get(key) ?? [];
    list.push(message);
    this.inbox.set(key, list);
    this.emit('message', { userId: this.members.get(key)?.userId ?? userId, message });
  }

  drop(userId: string, message: ReceivedMessage): void {
    const key = userId.toLowerCase();
    const list = this.dropped.get(key) ?? [];
    list.push(message);
    this.dropped.set(key, list);
  }

  cardOf(userId: string, taskId: string): CardState | undefined {
    return this.cards.get(userId.toLowerCase())?.get(taskId);
  }

  setCard(userId: string, card: CardState): void {
    const key = userId.toLowerCase();
    const perUser = this.cards.get(key) ?? new Map<string, CardState>();
    perUser.set(card.taskId, card);
    this.cards.set(key, perUser);
    this.emit('card', { userId: this.members.get(key)?.userId ?? userId, card });
  }

  /** Empties every member's chat, dropped messages and cards; how many messages went. */
  clearChats(): number {
    let n = 0;
    for (const list of this.inbox.values()) n += list.length;
    this.inbox.clear();
    this.dropped.clear();
    this.cards.clear();
    this.emit('cleared');
    return n;
  }

  /** A new response_code for the task: once, within 72 hours. */
  issueResponseCode(taskId: string, from: 'send' | 'callback'): string {
    const code = this.id('rc', 16);
    this.responseCodes.set(code, { code, taskId, issuedAt: this.nowMs(), from });
    return code;
  }
}

export const clone = <T>(v: T): T => structuredClone(v);
