// The callbacks the stand-in makes to the product, as WeCom makes them: the member's message or event as
// plaintext XML, encrypted with the EncodingAESKey (sealed for the corp id) and signed with the Token by
// the same @wecom/crypto the product uses, POSTed to the callback URL with msg_signature, timestamp and
// nonce in the query. An answer other than 200 within the timeout (5 s) is sent again, unchanged, up to
// the retry count. A 200 answer with a body is read as a passive reply: its signature checked, decrypted,
// and a text reply put in the member's chat.
// Tests also get what WeCom would never send: a wrong signature, an old timestamp, another corp's seal,
// raw plaintext, and a replay of an earlier delivery.

import { randomBytes } from 'node:crypto';
import { decrypt, encrypt, getSignature } from '@wecom/crypto';
import { XMLBuilder, XMLParser } from 'fast-xml-parser';
import type { CallbackAttempt, CallbackDelivery, WecomWorld } from './wecom-world.js';

/** An XML value: a string (written as CDATA), a number (bare), nested elements, or a repeated element. */
export type XmlValue = string | number | XmlTree | XmlValue[];
export interface XmlTree {
  [tag: string]: XmlValue;
}

const builder = new XMLBuilder({ cdataPropName: '__cdata', format: false, suppressEmptyNode: false });
const parser = new XMLParser({ parseTagValue: false, ignoreAttributes: true, trimValues: true });

function toBuilderTree(v: XmlValue): unknown {
  if (typeof v === 'string') return { __cdata: v };
  if (typeof v === 'number') return v;
  if (Array.isArray(v)) return v.map(toBuilderTree);
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toBuilderTree(x)]));
}

/** `<xml>…</xml>` from a tree. */
export function xmlOf(tree: XmlTree): string {
  return builder.build({ xml: toBuilderTree(tree) }) as string;
}

export interface SealOptions {
  /** Seconds since the epoch; default now. */
  timestamp?: number;
  /** Corrupt the signature (a forged request). */
  badSignature?: boolean;
  /** Seal for this corp id instead of the stand-in's. */
  receiveId?: string;
}

export interface SealedRequest {
  query: Record<string, string>;
  body: string;
}

export class CallbackSender {
  constructor(private readonly world: WecomWorld) {}

  /** Encrypts and signs a plaintext into the query and body of a callback POST. */
  seal(plaintext: string, opts: SealOptions = {}): SealedRequest {
    const { config } = this.world;
    const ciphertext = encrypt(config.encodingAesKey, plaintext, opts.receiveId ?? config.corpId);
    const timestamp = String(opts.timestamp ?? this.world.nowSeconds());
    const nonce = randomBytes(6).toString('hex');
    let signature = getSignature(config.callbackToken, timestamp, nonce, ciphertext);
    if (opts.badSignature) signature = flipFirstHexDigit(signature);
    const body = xmlOf({ ToUserName: config.corpId, AgentID: String(config.agentId), Encrypt: ciphertext });
    return { query: { msg_signature: signature, timestamp, nonce }, body };
  }

  /** POSTs a sealed request with WeCom's retries; the record is kept in `world.deliveries`. */
  async post(kind: string, userId: string | undefined, req: SealedRequest, opts: { retries?: number } = {}): Promise<CallbackDelivery> {
    const delivery: CallbackDelivery = {
      id: this.world.nextSeq(),
      kind,
      method: 'POST',
      query: req.query,
      body: req.body,
      attempts: [],
      status: 0,
      answer: '',
      ...(userId !== undefined ? { userId } : {}),
    };
    this.world.deliveries.push(delivery);
    const retries = opts.retries ?? this.world.callbackRetries;
    for (let attempt = 0; attempt <= retries; attempt++) {
      const { status, answer } = await this.attempt(delivery, 'POST');
      delivery.status = status;
      delivery.answer = answer;
      if (status === 200) break;
    }
    if (delivery.status === 200 && delivery.answer !== '' && delivery.answer !== 'success') this.readPassiveReply(delivery);
    this.world.emit('delivery', delivery);
    return delivery;
  }

  /** The GET WeCom sends when the callback URL is saved; `echoed`: the product answered the decrypted echostr. */
  async verifyUrl(): Promise<CallbackDelivery & { echoed: boolean }> {
    const { config } = this.world;
    const echo = randomBytes(9).readBigUInt64BE().toString();
    const echostr = encrypt(config.encodingAesKey, echo, config.corpId);
    const timestamp = String(this.world.nowSeconds());
    const nonce = randomBytes(6).toString('hex');
    const query = { msg_signature: getSignature(config.callbackToken, timestamp, nonce, echostr), timestamp, nonce, echostr };
    const delivery: CallbackDelivery = { id: this.world.nextSeq(), kind: 'verify_url', method: 'GET', query, body: '', attempts: [], status: 0, answer: '' };
    this.world.deliveries.push(delivery);
    const { status, answer } = await this.attempt(delivery, 'GET');
    delivery.status = status;
    delivery.answer = answer;
    this.world.emit('delivery', delivery);
    return { ...delivery, echoed: status === 200 && answer === echo };
  }

  private async attempt(delivery: CallbackDelivery, method: 'GET' | 'POST'): Promise<{ status: number; answer: string }> {
    const base = this.world.callbackUrl;
    if (!base) throw new Error('the WeCom stand-in has no callback URL (setCallbackUrl)');
    const url = new URL(base);
    for (const [k, v] of Object.entries(delivery.query)) url.searchParams.set(k, v);
    const started = performance.now();
    const record: CallbackAttempt = { at: this.world.nowMs(), status: 0, durationMs: 0 };
    delivery.attempts.push(record);
    try {
      const init: RequestInit = { method, signal: AbortSignal.timeout(this.world.callbackTimeoutMs) };
      if (method === 'POST') {
        init.body = delivery.body;
        init.headers = { 'content-type': 'text/xml; charset=utf-8' };
      }
      const res = await fetch(url, init);
      const answer = await res.text();
      record.status = res.status;
      return { status: res.status, answer };
    } catch (err) {
      record.error = err instanceof Error && err.name === 'TimeoutError' ? `no answer within ${this.world.callbackTimeoutMs} ms` : String(err);
      return { status: 0, answer: '' };
    } finally {
      record.durationMs = Math.round(performance.now() - started);
    }
  }

  private readPassiveReply(delivery: CallbackDelivery): void {
    const { config } = this.world;
    try {
      const envelope = (parser.parse(delivery.answer) as { xml?: Record<string, string> }).xml;
      if (!envelope?.['Encrypt']) throw new Error('the answer is not an encrypted reply');
      const expected = getSignature(config.callbackToken, envelope['TimeStamp'] ?? '', envelope['Nonce'] ?? '', envelope['Encrypt']);
      if (expected !== envelope['MsgSignature']) throw new Error('the reply signature does not match');
      const { message, id } = decrypt(config.encodingAesKey, envelope['Encrypt']);
      if (id !== config.corpId) throw new Error('the reply is sealed for another corp');
      const reply = (parser.parse(message) as { xml?: Record<string, string> }).xml;
      if (!reply?.['MsgType']) throw new Error('the reply has no MsgType');
      delivery.reply = { msgType: reply['MsgType'], ...(reply['Content'] !== undefined ? { content: reply['Content'] } : {}) };
      const to = reply['ToUserName'];
      if (reply['MsgType'] === 'text' && to && this.world.reachable(to)) {
        this.world.deliver(to, { msgId: this.world.id('msg', 16), at: this.world.nowMs(), msgtype: 'passive_text', content: reply['Content'] ?? '' });
      }
    } catch (err) {
      delivery.reply = { problem: err instanceof Error ? err.message : String(err) };
    }
  }
}

function flipFirstHexDigit(sig: string): string {
  const c = sig[0] === '0' ? '1' : '0';
  return c + sig.slice(1);
}
