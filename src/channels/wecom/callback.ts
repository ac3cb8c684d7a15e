/**
 * The WeCom callback URL, as functions of the request: the GET that verifies the URL and the POSTs that
 * carry members' messages and events. Every request is signed (msg_signature = SHA-1 over the token,
 * timestamp, nonce and ciphertext) and its payload AES-encrypted with the EncodingAESKey, the corp id
 * sealed inside; @wecom/crypto does both. A request is refused, with a typed reason the caller audits,
 * when:
 * - `malformed`: parameters or XML missing or unreadable, or the ciphertext does not decrypt;
 * - `bad_signature`: the signature does not match (checked first: nothing unsigned is trusted);
 * - `stale_timestamp`: signed, but its timestamp is outside the tolerance window of our clock (a replay
 *   of an old capture);
 * - `wrong_corp`: signed and fresh, but sealed for another corp (or addressed to another application).
 * A replay inside the window passes here; the caller drops it by `dedupKey`. WeCom retries a callback
 * not answered within 5 s: answer at once (an empty 200 body), then work.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { decrypt, encrypt, getSignature } from '@wecom/crypto';
import type { Clock } from '../../domain/index.js';
import { InboundMalformed, parseInbound, type WecomInbound } from './inbound.js';
import { readXml, textOf, writeXml, XmlRefused } from './xml.js';

export interface WecomCallbackConfig {
  /** The callback Token set in the admin console. */
  token: string;
  /** The 43-character EncodingAESKey set in the admin console. */
  encodingAesKey: string;
  /** The corp id every payload must be sealed for. */
  corpId: string;
  /** When set, a message for another application is refused as `wrong_corp`. */
  agentId?: number | undefined;
  clock: Clock;
  /** Seconds a request's timestamp may differ from our clock, either way (default 300). */
  timestampToleranceSeconds?: number;
}

export type CallbackRefusalReason = 'bad_signature' | 'stale_timestamp' | 'wrong_corp' | 'malformed';

export interface CallbackRefusal {
  ok: false;
  reason: CallbackRefusalReason;
  /** For the audit trail and the log: what was wrong, never the payload. */
  detail: string;
}

export type VerifyUrlResult = { ok: true; echo: string } | CallbackRefusal;

export type OpenCallbackResult = { ok: true; message: WecomInbound; dedupKey: string } | CallbackRefusal;

/** The query of a callback request, as a router hands it over (a repeated parameter: its first value). */
export type CallbackQuery = Record<string, unknown>;

/** Default tolerance of a callback's timestamp, in seconds. */
export const DEFAULT_TIMESTAMP_TOLERANCE_SECONDS = 300;

/** The answer to a POST that needs no passive reply: WeCom takes an empty 200 body as received. */
export const EMPTY_CALLBACK_ANSWER = '';

const refuse = (reason: CallbackRefusalReason, detail: string): CallbackRefusal => ({ ok: false, reason, detail });

const param = (query: CallbackQuery, name: string): string | undefined => {
  const v = query[name];
  const first = Array.isArray(v) ? v[0] : v;
  return typeof first === 'string' ? first : undefined;
};

/** Constant-time comparison of two hex signatures. */
function sameSignature(expected: string, given: string): boolean {
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(given.toLowerCase(), 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

interface Signed {
  timestamp: string;
  nonce: string;
}

/** Checks parameters, signature and timestamp, then decrypts; the plaintext or a refusal. */
function openSigned(config: WecomCallbackConfig, query: CallbackQuery, ciphertext: string): { ok: true; plaintext: string } | CallbackRefusal {
  const signature = param(query, 'msg_signature');
  const timestamp = param(query, 'timestamp');
  const nonce = param(query, 'nonce');
  if (!signature || !timestamp || !nonce) return refuse('malformed', 'missing msg_signature, timestamp or nonce');
  if (!/^\d{1,12}$/.test(timestamp)) return refuse('malformed', 'timestamp is not a number of seconds');
  const signed: Signed = { timestamp, nonce };
  if (!sameSignature(getSignature(config.token, signed.timestamp, signed.nonce, ciphertext), signature)) {
    return refuse('bad_signature', 'msg_signature does not match');
  }
  const tolerance = config.timestampToleranceSeconds ?? DEFAULT_TIMESTAMP_TOLERANCE_SECONDS;
  const skew = Math.floor(config.clock.now().getTime() / 1000) - Number(timestamp);
  if (Math.abs(skew) > tolerance) {
    return refuse('stale_timestamp', `timestamp ${skew > 0 ? `${skew} s old` : `${-skew} s ahead`}, tolerance ${tolerance} s`);
  }
  let opened: { message: string; id: string };
  try {
    opened = decrypt(config.encodingAesKey, ciphertext);
  } catch {
    return refuse('malformed', 'the ciphertext does not decrypt');
  }
  if (opened.id !== config.corpId) return refuse('wrong_corp', 'sealed for another corp');
  return { ok: true, plaintext: opened.message };
}

/**
 * The GET that WeCom sends when the URL is saved in the admin console: answer 200 with `echo` as the
 * whole body (no quotes, no BOM, no newline), within 1 s.
 */
export function verifyUrl(config: WecomCallbackConfig, query: CallbackQuery): VerifyUrlResult {
  const echostr = param(query, 'echostr');
  if (!echostr) return refuse('malformed', 'missing echostr');
  const opened = openSigned(config, query, echostr);
  if (!opened.ok) return opened;
  return { ok: true, echo: opened.plaintext };
}

/** A member's message or event, from a callback POST's query and XML body. */
export function openCallback(config: WecomCallbackConfig, query: CallbackQuery, body: string): OpenCallbackResult {
  let envelope;
  try {
    envelope = readXml(body);
  } catch (err) {
    if (err instanceof XmlRefused) return refuse('malformed', `body: ${err.message}`);
    throw err;
  }
  const ciphertext = textOf(envelope, 'Encrypt');
  if (!ciphertext) return refuse('malformed', 'body has no Encrypt');
  const opened = openSigned(config, query, ciphertext);
  if (!opened.ok) return opened;
  let message: WecomInbound;
  try {
    message = parseInbound(opened.plaintext);
  } catch (err) {
    if (err instanceof InboundMalformed) return refuse('malformed', `payload: ${err.message}`);
    throw err;
  }
  if (message.to !== config.corpId) return refuse('wrong_corp', 'addressed to another corp');
  if (config.agentId !== undefined && message.agentId !== undefined && message.agentId !== config.agentId) {
    return refuse('wrong_corp', 'addressed to another application');
  }
  return { ok: true, message, dedupKey: dedupKeyOf(message) };
}

/**
 * What identifies a delivery across WeCom's retries: the MsgId of a message, and for an event the
 * member, its CreateTime and its key (EventKey, TaskId). Hashed, so the key stored for de-duplication
 * carries no userid.
 */
export function dedupKeyOf(message: WecomInbound): string {
  const msgId = 'msgId' in message ? message.msgId : undefined;
  if (msgId) return `msg:${msgId}`;
  const parts =
    message.kind === 'card_event'
      ? [message.from, String(message.createTime), message.eventKey, message.taskId]
      : [message.from, String(message.createTime), message.kind === 'ignored' ? (message.event ?? message.msgType) : message.kind];
  return `evt:${createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 40)}`;
}

/**
 * A passive reply: the reply's plaintext XML encrypted and signed in WeCom's reply envelope, to be the
 * body of the 200 answer. Most answers need none (EMPTY_CALLBACK_ANSWER); a reply must still come within
 * WeCom's 5 s.
 */
export function buildPassiveReply(config: WecomCallbackConfig, plaintextXml: string, opts: { nonce?: string } = {}): string {
  const timestamp = Math.floor(config.clock.now().getTime() / 1000);
  const nonce = opts.nonce ?? randomBytes(8).toString('hex');
  const ciphertext = encrypt(config.encodingAesKey, plaintextXml, config.corpId);
  return writeXml({
    Encrypt: ciphertext,
    MsgSignature: getSignature(config.token, timestamp, nonce, ciphertext),
    TimeStamp: timestamp,
    Nonce: nonce,
  });
}

/** The plaintext of a passive text reply to `toUser`, for buildPassiveReply. */
export function passiveTextReply(config: Pick<WecomCallbackConfig, 'corpId' | 'clock'>, toUser: string, content: string): string {
  return writeXml({
    ToUserName: toUser,
    FromUserName: config.corpId,
    CreateTime: Math.floor(config.clock.now().getTime() / 1000),
    MsgType: 'text',
    Content: content,
  });
}
