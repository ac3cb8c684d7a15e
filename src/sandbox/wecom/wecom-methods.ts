// The WeCom server API methods the product uses, carried out on the world as WeCom would: gettoken,
// message/send (text, markdown, template_card, file), message/update_template_card and media/upload.
// Each returns WeCom's JSON answer (HTTP 200 with errcode, 0 for success). The errcodes are WeCom's:
// 41002/40013 and 41004/40001 for a missing or wrong corpid and secret; 41001, 40014 and 42001 for a
// missing, unknown and expired access token; 40056 a wrong agentid; 40008 an unknown msgtype; 44004 an
// empty text; 40007 an unknown media_id; 40005 a wrong media type; 81013 when no recipient can be
// reached; 45009 over a frequency limit; 40058 for any other parameter WeCom does not take — a card
// missing a required field or over a limit, and a response_code that is unknown, used or over 72 hours
// old.

import { cardProblem, INTERACTIVE_TYPES } from './wecom-cards.js';
import { clone, MEDIA_SECONDS, RESPONSE_CODE_SECONDS, TOKEN_SECONDS, type Json, type ReceivedMessage, type WecomWorld } from './wecom-world.js';

const err = (errcode: number, errmsg: string): Json => ({ errcode, errmsg });
const OK = { errcode: 0, errmsg: 'ok' };

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const nonEmpty = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

/** Text and markdown content is cut at this many bytes, as WeCom does. */
const CONTENT_BYTES = 2048;
/** A file may be 5 bytes to 20 MB. */
const FILE_MIN_BYTES = 5;
const FILE_MAX_BYTES = 20 * 1024 * 1024;
const MEDIA_TYPES = new Set(['image', 'voice', 'video', 'file']);

function cutToBytes(s: string, max: number): string {
  const buf = Buffer.from(s, 'utf8');
  if (buf.length <= max) return s;
  // Do not cut a character in half.
  let end = max;
  while (end > 0 && (buf[end]! & 0xc0) === 0x80) end--;
  return buf.subarray(0, end).toString('utf8');
}

export class WecomMethods {
  constructor(private readonly world: WecomWorld) {}

  gettoken(query: URLSearchParams): Json {
    const { config } = this.world;
    const corpid = query.get('corpid');
    const secret = query.get('corpsecret');
    if (!corpid) return err(41002, 'corpid missing');
    if (corpid !== config.corpId) return err(40013, 'invalid corpid');
    if (!secret) return err(41004, 'corpsecret missing');
    if (secret !== config.corpSecret) return err(40001, 'invalid credential');
    const now = this.world.nowMs();
    // Within its validity the same token is handed out again.
    for (const t of this.world.tokens.values()) {
      if (!t.endedAs && t.expiresAt > now) return { ...OK, access_token: t.value, expires_in: Math.ceil((t.expiresAt - now) / 1000) };
    }
    const value = this.world.id('at', 24);
    this.world.tokens.set(value, { value, expiresAt: now + TOKEN_SECONDS * 1000 });
    return { ...OK, access_token: value, expires_in: TOKEN_SECONDS };
  }

  /** The refusal of a call whose access_token WeCom would not take, or undefined. */
  tokenRefusal(query: URLSearchParams): Json | undefined {
    const value = query.get('access_token');
    if (!value) return err(41001, 'access_token missing');
    const t = this.world.tokens.get(value);
    if (!t || t.endedAs === 'revoked') return err(40014, 'invalid access_token');
    if (t.endedAs === 'expired' || t.expiresAt <= this.world.nowMs()) return err(42001, 'access_token expired');
    return undefined;
  }

  messageSend(body: unknown): Json {
    const w = this.world;
    if (!isObject(body)) return err(40058, 'invalid json');
    if (body['agentid'] !== w.config.agentId) return err(40056, 'invalid agentid');
    const msgtype = body['msgtype'];
    if (!['text', 'markdown', 'template_card', 'file'].includes(String(msgtype))) return err(40008, 'invalid message type');
    const touser = typeof body['touser'] === 'string' ? body['touser'] : '';
    if (touser === '') return err(40058, 'touser, toparty and totag are all empty');
    const named = touser === '@all' ? [...w.members.values()].filter((m) => m.visible).map((m) => m.userId) : touser.split('|').filter((s) => s !== '');
    if (named.length > 1000) return err(40058, 'touser has more than 1000 members');
    const reachable = named.filter((u) => w.reachable(u));
    const invalid = named.filter((u) => !w.reachable(u)).map((u) => u.toLowerCase());

    const msgId = w.id('msg', 16);
    const message: ReceivedMessage = { msgId, at: w.nowMs(), msgtype: msgtype as ReceivedMessage['msgtype'] };
    let responseCode: string | undefined;
    if (msgtype === 'text' || msgtype === 'markdown') {
      const part = body[msgtype];
      const content = isObject(part) ? part['content'] : undefined;
      if (!nonEmpty(content)) return msgtype === 'text' ? err(44004, 'empty content') : err(40058, 'markdown.content is required');
      message.content = cutToBytes(content, CONTENT_BYTES);
    } else if (msgtype === 'file') {
      const part = body['file'];
      const mediaId = isObject(part) ? part['media_id'] : undefined;
      if (!nonEmpty(mediaId)) return err(41006, 'media_id missing');
      const media = w.media.get(mediaId);
      if (!media || media.createdAt + MEDIA_SECONDS * 1000 <= w.nowMs()) return err(40007, 'invalid media_id');
      message.file = { mediaId, filename: media.filename, size: media.size };
    } else {
      const card = body['template_card'];
      const problem = cardProblem(card, { forUpdate: false });
      if (problem) return err(40058, problem);
      const c = card as Json;
      const taskId = c['task_id'] as string | undefined;
      if (taskId !== undefined && w.tasks.has(taskId)) return err(40058, 'task_id already used in this application');
      message.card = clone(c);
      if (taskId !== undefined) message.taskId = taskId;
    }
    if (reachable.length === 0) return err(81013, 'user & party & tag all invalid');
    if (w.limits && !w.limits.takeRecipients(reachable.length, w.nowMs())) return err(45009, 'api freq out of limit');

    if (msgtype === 'template_card' && message.taskId !== undefined) {
      const cardType = (message.card as Json)['card_type'] as string;
      w.tasks.set(message.taskId, { taskId: message.taskId, msgId, cardType, recipients: new Set(reachable.map((u) => u.toLowerCase())) });
      if (INTERACTIVE_TYPES.has(cardType)) responseCode = w.issueResponseCode(message.taskId, 'send');
    }
    for (const u of reachable) {
      if (w.limits && !w.limits.deliverable(u.toLowerCase(), w.nowMs())) {
        w.drop(u, clone(message));
        continue;
      }
      w.deliver(u, clone(message));
      if (message.card && message.taskId !== undefined) {
        const card = clone(message.card);
        w.setCard(u, { taskId: message.taskId, msgId, cardType: card['card_type'] as string, card, renderings: [clone(card)], updatedAt: w.nowMs() });
      }
    }
    const answer: Json = { ...OK, msgid: msgId };
    if (invalid.length > 0) answer['invaliduser'] = invalid.join('|');
    if (responseCode) answer['response_code'] = responseCode;
    return answer;
  }

  updateTemplateCard(body: unknown): Json {
    const w = this.world;
    if (!isObject(body)) return err(40058, 'invalid json');
    if (body['agentid'] !== w.config.agentId) return err(40056, 'invalid agentid');
    const code = body['response_code'];
    if (!nonEmpty(code)) return err(40058, 'response_code is required');
    const record = w.responseCodes.get(code);
    const now = w.nowMs();
    if (!record || record.usedAt !== undefined || record.issuedAt + RESPONSE_CODE_SECONDS * 1000 <= now) return err(40058, 'invalid response_code');
    const task = w.tasks.get(record.taskId)!;
    const userids = Array.isArray(body['userids']) ? (body['userids'] as unknown[]).filter((u): u is string => typeof u === 'string') : [];
    const targets = body['atall'] === 1 ? [...task.recipients] : userids.map((u) => u.toLowerCase()).filter((u) => task.recipients.has(u));
    if (targets.length === 0) return err(40058, 'no recipient of this card named in userids');

    const card = body['template_card'];
    const button = body['button'];
    if (card !== undefined) {
      const problem = cardProblem(card, { forUpdate: true });
      if (problem) return err(40058, problem);
    } else if (!isObject(button) || !nonEmpty(button['replace_name'])) {
      return err(40058, 'template_card or button.replace_name is required');
    } else if (!INTERACTIVE_TYPES.has(task.cardType)) {
      return err(40058, 'button can be replaced on an interactive card only');
    }
    record.usedAt = now;
    if (card !== undefined) task.cardType = (card as Json)['card_type'] as string;
    for (const u of targets) {
      const current = w.cardOf(u, task.taskId);
      if (!current) continue;
      if (card !== undefined) {
        // A new rendering replaces the card whole; the task (and its callbacks) stays the same.
        const next: Json = { ...clone(card as Json), task_id: task.taskId };
        const { disabledLabel: _greyedOut, ...rest } = current;
        w.setCard(u, { ...rest, cardType: next['card_type'] as string, card: next, renderings: [...current.renderings, clone(next)], updatedAt: now });
      } else {
        w.setCard(u, { ...current, disabledLabel: (button as Json)['replace_name'] as string, updatedAt: now });
      }
    }
    const notRecipients = userids.filter((u) => !task.recipients.has(u.toLowerCase()));
    return notRecipients.length > 0 ? { ...OK, invaliduser: notRecipients } : { ...OK };
  }

  async mediaUpload(query: URLSearchParams, form: FormData | undefined): Promise<Json> {
    const w = this.world;
    const type = query.get('type') ?? '';
    if (!MEDIA_TYPES.has(type)) return err(40005, 'invalid media type');
    const media = form?.get('media');
    if (!media || typeof media === 'string') return err(44001, 'empty media data');
    if (media.size < FILE_MIN_BYTES) return err(40006, 'invalid file size');
    if (media.size > FILE_MAX_BYTES) return err(45001, 'media size out of limit');
    const mediaId = w.id('media', 20);
    const createdAt = w.nowMs();
    w.media.set(mediaId, {
      mediaId,
      type,
      filename: 'name' in media && typeof media.name === 'string' ? media.name : 'file',
      contentType: media.type || 'application/octet-stream',
      size: media.size,
      createdAt,
      data: Buffer.from(await media.arrayBuffer()),
    });
    return { errcode: 0, errmsg: '', type, media_id: mediaId, created_at: String(Math.floor(createdAt / 1000)) };
  }
}
