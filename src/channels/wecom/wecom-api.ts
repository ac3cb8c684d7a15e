/**
 * The WeCom server API client of one application: every request this product makes to WeCom goes
 * through here, so the access token, the frequency limits and the reading of errcodes are in one place.
 * - The access token comes from `gettoken` and is kept until it expires (`expires_in`, normally 7200 s)
 *   less a margin; WeCom may end a token early, so an answer of 40014 or 42001 drops it, fetches a new
 *   one and makes the call once more. Calls waiting for a token share one `gettoken`.
 * - Before a message leaves, the limiter (limits.ts) is asked: a member's excess would be dropped by
 *   WeCom without an error, so it is refused here as ChannelRateLimited.
 * - Failures come out as the port's errors (wecom-errors.ts). A network failure or timeout is
 *   ChannelTransient, `ambiguous` when the request may have reached WeCom and it changes something
 *   (message/send, update_template_card): a connection never opened is not ambiguous.
 * Nothing here logs, and no error carries the token, a userid or a message's text.
 */
import type { Clock } from '../../domain/index.js';
import { ChannelRateLimited, ChannelTransient, RequestRefused } from '../../services/channel-port.js';
import type { WecomRateLimiter } from './limits.js';
import type { TemplateCard, TemplateCardUpdate } from './template-card.js';
import { portErrorFor, RATE_ERRCODE_WAIT_SECONDS, TOKEN_ERRCODES, undeliveredTo, WecomApiError, WECOM_ERRCODES } from './wecom-errors.js';

export const DEFAULT_WECOM_API_ROOT = 'https://qyapi.weixin.qq.com';

export interface WecomApiOptions {
  /** WECOM_API_ROOT: https://qyapi.weixin.qq.com, a private deployment's root, or the stand-in's URL. */
  apiRoot: string;
  /** WECOM_CORP_ID. */
  corpId: string;
  /** WECOM_SECRET: the application's secret. */
  secret: string;
  /** WECOM_AGENT_ID. */
  agentId: number;
  clock: Clock;
  /** The application's frequency limits; without one, nothing is held back here. */
  limiter?: WecomRateLimiter | undefined;
  /** Milliseconds before a request counts as timed out (default 10 000). */
  requestTimeoutMs?: number;
  /** Seconds before its expiry a token is fetched anew (default 300). */
  tokenMarginSeconds?: number;
  fetch?: typeof fetch;
}

export interface SentMessage {
  /** For recalling the message. */
  msgId: string;
}

export interface SentCard extends SentMessage {
  /** One use of update_template_card (once, within 72 hours); interactive cards only. */
  responseCode: string | undefined;
}

export interface UploadedMedia {
  /** Valid three days. */
  mediaId: string;
  /** Seconds since the epoch. */
  createdAt: number;
}

export interface MediaFile {
  filename: string;
  data: Uint8Array;
  contentType?: string;
}

type Answer = { errcode?: unknown; [field: string]: unknown };

interface Request {
  method: 'GET' | 'POST';
  query?: Record<string, string>;
  json?: unknown;
  form?: FormData;
}

/** Connection errors raised before a request was written: the request cannot have arrived. */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);

function causeCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && typeof e === 'object' && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

const listed = (answer: Answer, field: string, userId: string): boolean =>
  typeof answer[field] === 'string' && (answer[field] as string).toLowerCase().split('|').includes(userId.toLowerCase());

export class WecomApi {
  private readonly fetchFn: typeof fetch;
  private readonly root: string;
  private readonly timeoutMs: number;
  private readonly marginMs: number;
  private token: { value: string; refreshAt: number } | undefined;
  private tokenInFlight: Promise<string> | undefined;

  constructor(private readonly opts: WecomApiOptions) {
    this.fetchFn = opts.fetch ?? fetch;
    this.root = opts.apiRoot.replace(/\/+$/, '');
    this.timeoutMs = opts.requestTimeoutMs ?? 10_000;
    this.marginMs = (opts.tokenMarginSeconds ?? 300) * 1000;
  }

  /** Milliseconds one request may take. */
  get requestTimeoutMs(): number {
    return this.timeoutMs;
  }

  async sendText(toUser: string, content: string): Promise<SentMessage> {
    const answer = await this.send(toUser, { msgtype: 'text', text: { content } });
    return { msgId: String(answer['msgid'] ?? '') };
  }

  async sendMarkdown(toUser: string, content: string): Promise<SentMessage> {
    const answer = await this.send(toUser, { msgtype: 'markdown', markdown: { content } });
    return { msgId: String(answer['msgid'] ?? '') };
  }

  async sendTemplateCard(toUser: string, card: TemplateCard): Promise<SentCard> {
    const answer = await this.send(toUser, { msgtype: 'template_card', template_card: card });
    const code = answer['response_code'];
    return { msgId: String(answer['msgid'] ?? ''), responseCode: typeof code === 'string' && code !== '' ? code : undefined };
  }

  /** A file uploaded with uploadMedia. */
  async sendFile(toUser: string, mediaId: string): Promise<SentMessage> {
    const answer = await this.send(toUser, { msgtype: 'file', file: { media_id: mediaId } });
    return { msgId: String(answer['msgid'] ?? '') };
  }

  /**
   * Redraws an interactive card for `userIds` (its recipients), spending `responseCode` — from the send
   * or from a callback of the card; each works once, within 72 hours. A spent or expired code is
   * MessageGone: send a new card instead.
   */
  async updateTemplateCard(userIds: readonly string[], responseCode: string, update: TemplateCardUpdate): Promise<void> {
    const body: Record<string, unknown> = { userids: userIds, agentid: this.opts.agentId, response_code: responseCode };
    if ('card' in update) body['template_card'] = update.card;
    else body['button'] = { replace_name: update.replaceName };
    await this.call('message/update_template_card', { method: 'POST', json: body }, true);
  }

  /** A temporary file (the .docx reports), multipart, `type=file`; WeCom keeps it three days. */
  async uploadMedia(file: MediaFile): Promise<UploadedMedia> {
    const form = new FormData();
    form.append('media', new Blob([file.data], { type: file.contentType ?? 'application/octet-stream' }), file.filename);
    const answer = await this.call('media/upload', { method: 'POST', query: { type: 'file' }, form }, false);
    const mediaId = answer['media_id'];
    if (typeof mediaId !== 'string' || mediaId === '') throw new ChannelTransient('WeCom media/upload answered without media_id', false);
    return { mediaId, createdAt: Number(answer['created_at'] ?? 0) };
  }

  /** The cached access token, or a new one from gettoken. */
  async accessToken(): Promise<string> {
    const now = this.opts.clock.now().getTime();
    if (this.token && now < this.token.refreshAt) return this.token.value;
    this.tokenInFlight ??= this.fetchToken().finally(() => {
      this.tokenInFlight = undefined;
    });
    return this.tokenInFlight;
  }

  private async fetchToken(): Promise<string> {
    this.checkApiLimit('gettoken');
    const answer = await this.request('gettoken', undefined, { method: 'GET', query: { corpid: this.opts.corpId, corpsecret: this.opts.secret } }, false);
    const errcode = Number(answer.errcode ?? 0);
    if (errcode !== WECOM_ERRCODES.ok) throw this.failure('gettoken', errcode);
    const value = answer['access_token'];
    const expiresIn = Number(answer['expires_in']);
    if (typeof value !== 'string' || value === '' || !Number.isFinite(expiresIn)) {
      throw new ChannelTransient('WeCom gettoken answered without a token', false);
    }
    const fetchedAt = this.opts.clock.now().getTime();
    this.token = { value, refreshAt: fetchedAt + Math.max(0, expiresIn * 1000 - this.marginMs) };
    return value;
  }

  /** message/send to one member, after the limiter; a member WeCom lists as undeliverable is an error. */
  private async send(toUser: string, message: Record<string, unknown>): Promise<Answer> {
    const verdict = this.opts.limiter?.takeSend([toUser]);
    if (verdict) throw new ChannelRateLimited(`WeCom message/send held back: ${verdict.scope} limit`, verdict.retryAfterSeconds);
    const answer = await this.call('message/send', { method: 'POST', json: { touser: toUser, agentid: this.opts.agentId, ...message } }, true);
    if (listed(answer, 'invaliduser', toUser)) throw undeliveredTo('message/send', 'invaliduser');
    if (listed(answer, 'unlicenseduser', toUser)) throw undeliveredTo('message/send', 'unlicenseduser');
    return answer;
  }

  /** One API call with the token: fetched anew and tried once more when WeCom no longer takes it. */
  private async call(api: string, req: Request, changesState: boolean): Promise<Answer> {
    if (api !== 'message/send') this.checkApiLimit(api);
    let token = await this.accessToken();
    let answer = await this.request(api, token, req, changesState);
    let errcode = Number(answer.errcode ?? 0);
    if (TOKEN_ERRCODES.has(errcode)) {
      if (this.token?.value === token) this.token = undefined;
      token = await this.accessToken();
      answer = await this.request(api, token, req, changesState);
      errcode = Number(answer.errcode ?? 0);
      if (TOKEN_ERRCODES.has(errcode)) {
        this.token = undefined;
        throw new ChannelTransient(`WeCom ${api} refused a fresh access token`, false, { cause: new WecomApiError(api, errcode) });
      }
    }
    if (errcode !== WECOM_ERRCODES.ok) throw this.failure(api, errcode);
    return answer;
  }

  /** The port's error for an errcode; a frequency errcode also holds the calls it applies to. */
  private failure(api: string, errcode: number): Error {
    if (errcode === WECOM_ERRCODES.frequencyLimit) {
      const wait = RATE_ERRCODE_WAIT_SECONDS[errcode]!;
      if (api === 'message/send') this.opts.limiter?.holdSends(wait);
      else this.opts.limiter?.holdApi(api, wait);
    }
    return portErrorFor(api, errcode);
  }

  private checkApiLimit(api: string): void {
    const verdict = this.opts.limiter?.takeApi(api);
    if (verdict) throw new ChannelRateLimited(`WeCom ${api} held back: ${verdict.scope} limit`, verdict.retryAfterSeconds);
  }

  /** One HTTP request; WeCom's JSON answer, or ChannelTransient / RequestRefused when there is none. */
  private async request(api: string, token: string | undefined, req: Request, changesState: boolean): Promise<Answer> {
    const url = new URL(`${this.root}/cgi-bin/${api}`);
    if (token !== undefined) url.searchParams.set('access_token', token);
    for (const [k, v] of Object.entries(req.query ?? {})) url.searchParams.set(k, v);
    const init: RequestInit = { method: req.method, signal: AbortSignal.timeout(this.timeoutMs) };
    if (req.json !== undefined) {
      init.body = JSON.stringify(req.json);
      init.headers = { 'content-type': 'application/json; charset=utf-8' };
    } else if (req.form) init.body = req.form;
    let res: Response;
    let text: string;
    try {
      res = await this.fetchFn(url, init);
      text = await res.text();
    } catch (err) {
      const timedOut = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
      const code = causeCode(err);
      const neverSent = !timedOut && code !== undefined && NOT_SENT_CODES.has(code);
      const what = timedOut ? `timed out after ${this.timeoutMs} ms` : `failed (${code ?? 'network error'})`;
      throw new ChannelTransient(`WeCom ${api} ${what}`, changesState && !neverSent, { cause: err });
    }
    if (res.status >= 500) throw new ChannelTransient(`WeCom ${api} answered HTTP ${res.status}`, changesState);
    if (res.status !== 200) throw new RequestRefused(`WeCom ${api} answered HTTP ${res.status}`);
    try {
      const answer = JSON.parse(text) as unknown;
      if (answer && typeof answer === 'object' && !Array.isArray(answer)) return answer as Answer;
    } catch {
      // fall through: not WeCom's JSON
    }
    throw new ChannelTransient(`WeCom ${api} answered something that is not its JSON`, changesState);
  }
}
