// Per-bot update queue of the Bot API stand-in: getUpdates (offset confirmation, long poll,
// 409 conflicts) and webhook delivery (per-chat order, max_connections, retries with backoff,
// secret token header, webhook replies).

import http from 'node:http';
import https from 'node:https';
import { ApiError, type TgUpdate } from './bot-api-types.js';
import { UPDATE_ID_BLOCK, type UpdateIdStore } from './update-id-store.js';

export const DEFAULT_ALLOWED_UPDATES_EXCLUDED = new Set(['chat_member', 'message_reaction', 'message_reaction_count']);

export interface WebhookSettings {
  url: string;
  secretToken?: string;
  maxConnections: number;
  ipAddress?: string;
}

export interface WebhookDeliveryRecord {
  bot: string;
  update_id: number;
  chat_key: string;
  attempts: number;
  /** Last HTTP status from the webhook; 0 = connection error or timeout. */
  status: number;
  outcome: 'pending' | 'delivered' | 'dropped';
  error?: string;
  first_attempt_at: number;
  last_attempt_at: number;
}

export interface ChannelHooks {
  onWebhookReply(body: Buffer, contentType: string | undefined): void;
  onDelivery(rec: WebhookDeliveryRecord, isNew: boolean): void;
  onActivity(): void;
}

export interface ChannelOptions {
  botName: string;
  longPollMaxSeconds: number;
  webhookTimeoutMs: number;
  retryBackoffMs: number[];
  maxAttempts: number;
  /** Keeps the update-id counter across restarts (the sandbox); without it ids start at 1. */
  updateIds?: UpdateIdStore;
}

interface Queued {
  update: TgUpdate;
  chatKey: string;
  /** Injected with an id already passed: exempt from offset confirmation until handed out once. */
  redelivery: boolean;
  handedOut: boolean;
  attempts: number;
  record?: WebhookDeliveryRecord;
}

interface Poller {
  limit: number;
  resolve: (updates: TgUpdate[]) => void;
  reject: (err: ApiError) => void;
  cleanup: () => void;
}

export function updateType(update: TgUpdate): string {
  return Object.keys(update).find((k) => k !== 'update_id') ?? 'unknown';
}

/** Chat an update belongs to, for per-chat ordering of webhook deliveries. */
export function updateChatKey(update: TgUpdate): string {
  const u = update as Record<string, unknown>;
  for (const value of Object.values(u)) {
    if (typeof value !== 'object' || value === null) continue;
    const v = value as { chat?: { id?: unknown }; message?: { chat?: { id?: unknown } }; from?: { id?: unknown } };
    if (v.chat && v.chat.id !== undefined) return `chat:${String(v.chat.id)}`;
    if (v.message?.chat?.id !== undefined) return `chat:${String(v.message.chat.id)}`;
    if (v.from?.id !== undefined) return `user:${String(v.from.id)}`;
  }
  return 'global';
}

const describeNetError = (err: unknown): string => {
  const code = (err as { code?: string }).code;
  if (code === 'ECONNREFUSED') return 'Connection refused';
  if (code === 'ECONNRESET') return 'Connection reset by peer';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'Failed to resolve host: Name or service not known';
  const msg = err instanceof Error ? err.message : String(err);
  return msg === 'Read timeout expired' ? msg : `Connection error: ${msg}`;
};

/**
 * Milliseconds after a poll handed out a chat's update during which the bot's messages to that chat answer
 * it (over a webhook: while its request is open).
 */
export const ANSWER_WINDOW_MS = 2_000;

export class UpdateChannel {
  private queue: Queued[] = [];
  private lastId = 0;
  private maxEnqueued = 0;
  allowedUpdates: string[] | null = null;
  webhook: WebhookSettings | null = null;
  lastError: { date: number; message: string } | null = null;
  /** Set once getUpdates was called: from then on unconfirmed updates count as pending. */
  pollerSeen = false;
  private poller: Poller | null = null;
  private flushScheduled = false;
  private readonly inFlight = new Set<Queued>();
  /** When an update of each chat was last handed to the bot (over the webhook or a poll). */
  private readonly handedOutAt = new Map<string, number>();
  private readonly backoff = new Map<string, NodeJS.Timeout>();
  private readonly httpAgent = new http.Agent({ keepAlive: true });
  private readonly httpsAgent = new https.Agent({ keepAlive: true, rejectUnauthorized: false });
  private closed = false;

  constructor(
    private readonly opts: ChannelOptions,
    private readonly hooks: ChannelHooks,
  ) {
    this.reservedUpTo = opts.updateIds?.load(opts.botName) ?? 0;
    this.lastId = this.reservedUpTo;
    this.maxEnqueued = this.reservedUpTo;
  }

  /** Ids up to here are on disk as possibly handed out (with `updateIds`). */
  private reservedUpTo: number;

  nextUpdateId(): number {
    this.reserveThrough(this.lastId + 1);
    return ++this.lastId;
  }

  private reserveThrough(id: number): void {
    if (!this.opts.updateIds || id <= this.reservedUpTo) return;
    this.reservedUpTo = id + UPDATE_ID_BLOCK - 1;
    this.opts.updateIds.reserve(this.opts.botName, this.reservedUpTo);
  }

  get pendingCount(): number {
    return this.queue.length;
  }

  /** True while some update waits for the bot (only when the bot consumes updates at all). */
  get busy(): boolean {
    if (this.inFlight.size > 0) return true;
    return (this.webhook !== null || this.pollerSeen) && this.queue.length > 0;
  }

  isAllowed(type: string): boolean {
    if (this.allowedUpdates === null) return !DEFAULT_ALLOWED_UPDATES_EXCLUDED.has(type);
    return this.allowedUpdates.includes(type);
  }

  /** Queues an update; returns false when allowed_updates filters it out (Telegram drops it). */
  enqueue(update: TgUpdate): boolean {
    if (this.closed) return false;
    if (!this.isAllowed(updateType(update))) return false;
    const redelivery = update.update_id <= this.maxEnqueued;
    if (update.update_id > this.maxEnqueued) this.maxEnqueued = update.update_id;
    if (update.update_id > this.lastId) {
      this.reserveThrough(update.update_id);
      this.lastId = update.update_id;
    }
    this.queue.push({ update, chatKey: updateChatKey(update), redelivery, handedOut: false, attempts: 0 });
    this.hooks.onActivity();
    this.scheduleFlush();
    this.pump();
    return true;
  }

  setAllowedUpdates(raw: unknown): void {
    if (raw === undefined || raw === null) return;
    if (!Array.isArray(raw)) return;
    const list = raw.map(String);
    this.allowedUpdates = list.length === 0 ? null : list;
  }

  dropPending(): void {
    this.queue = [];
  }

  // ---- getUpdates ----

  async getUpdates(p: { offset: number; limit: number; timeout: number }, signal: AbortSignal): Promise<TgUpdate[]> {
    if (this.webhook) {
      throw new ApiError(409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first");
    }
    this.pollerSeen = true;
    this.applyOffset(p.offset);
    if (this.poller) {
      const old = this.poller;
      this.poller = null;
      old.cleanup();
      old.reject(new ApiError(409, 'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running'));
    }
    const limit = Math.min(100, Math.max(1, p.limit));
    const ready = this.take(limit);
    const timeout = Math.min(this.opts.longPollMaxSeconds, Math.max(0, p.timeout));
    if (ready.length > 0 || timeout === 0 || this.closed) return ready;
    return await new Promise<TgUpdate[]>((resolve, reject) => {
      const timer = setTimeout(() => finish([]), timeout * 1000);
      const onAbort = (): void => finish([]);
      const cleanup = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
      };
      const poller: Poller = { limit, resolve, reject, cleanup };
      const finish = (updates: TgUpdate[]): void => {
        if (this.poller === poller) this.poller = null;
        cleanup();
        resolve(updates);
      };
      poller.resolve = (updates) => finish(updates);
      signal.addEventListener('abort', onAbort, { once: true });
      this.poller = poller;
    });
  }

  private applyOffset(offset: number): void {
    if (offset > 0) {
      this.queue = this.queue.filter((q) => q.update.update_id >= offset || (q.redelivery && !q.handedOut));
    } else if (offset < 0) {
      this.queue = this.queue.slice(Math.max(0, this.queue.length + offset));
    }
  }

  private take(limit: number): TgUpdate[] {
    const items = this.queue.slice(0, limit);
    const now = Date.now();
    for (const q of items) {
      q.handedOut = true;
      this.handedOutAt.set(q.chatKey, now);
    }
    if (items.length > 0) this.hooks.onActivity();
    return items.map((q) => q.update);
  }

  private scheduleFlush(): void {
    if (!this.poller || this.flushScheduled) return;
    this.flushScheduled = true;
    // Let updates created in the same tick go out in one batch, as Telegram would.
    setImmediate(() => {
      this.flushScheduled = false;
      const poller = this.poller;
      if (!poller) return;
      const ready = this.take(poller.limit);
      if (ready.length > 0) poller.resolve(ready);
    });
  }

  /** Ends a waiting long poll with an empty result (webhook set, server closing). */
  releasePoller(): void {
    this.poller?.resolve([]);
  }

  // ---- webhook ----

  setWebhook(settings: WebhookSettings | null): void {
    for (const t of this.backoff.values()) clearTimeout(t);
    this.backoff.clear();
    this.webhook = settings;
    if (settings) {
      this.releasePoller();
      this.lastError = null;
      this.pump();
    }
  }

  /**
   * Whether a message to the chat answers the person: an update of theirs is being handled (its webhook
   * request is open), or was handed to a poller within ANSWER_WINDOW_MS.
   */
  answering(chatId: number, now = Date.now()): boolean {
    const key = `chat:${chatId}`;
    if (this.chatInFlight(key)) return true;
    const at = this.handedOutAt.get(key);
    if (at === undefined) return false;
    if (now - at <= ANSWER_WINDOW_MS && this.pollerSeen && !this.webhook) return true;
    if (now - at > ANSWER_WINDOW_MS) this.handedOutAt.delete(key);
    return false;
  }

  private chatInFlight(key: string): boolean {
    for (const q of this.inFlight) if (q.chatKey === key) return true;
    return false;
  }

  pump(): void {
    const hook = this.webhook;
    if (!hook || this.closed) return;
    const seen = new Set<string>();
    for (const q of this.queue) {
      if (this.inFlight.size >= hook.maxConnections) break;
      if (seen.has(q.chatKey)) continue;
      seen.add(q.chatKey);
      if (this.inFlight.has(q) || this.chatInFlight(q.chatKey) || this.backoff.has(q.chatKey)) continue;
      this.deliver(q, hook);
    }
  }

  private deliver(q: Queued, hook: WebhookSettings): void {
    this.inFlight.add(q);
    q.attempts += 1;
    q.handedOut = true;
    const now = Date.now();
    this.handedOutAt.set(q.chatKey, now);
    let isNew = false;
    if (!q.record) {
      isNew = true;
      q.record = {
        bot: this.opts.botName,
        update_id: q.update.update_id,
        chat_key: q.chatKey,
        attempts: 0,
        status: 0,
        outcome: 'pending',
        first_attempt_at: now,
        last_attempt_at: now,
      };
    }
    const rec = q.record;
    rec.attempts = q.attempts;
    rec.last_attempt_at = now;
    this.hooks.onDelivery(rec, isNew);
    this.hooks.onActivity();
    this.post(hook, JSON.stringify(q.update)).then(
      (res) => this.settle(q, res.status, null, res),
      (err: unknown) => this.settle(q, 0, describeNetError(err), null),
    );
  }

  private settle(q: Queued, status: number, netError: string | null, res: { body: Buffer; contentType: string | undefined } | null): void {
    this.inFlight.delete(q);
    const rec = q.record as WebhookDeliveryRecord;
    rec.status = status;
    this.hooks.onActivity();
    if (this.closed) return;
    if (netError === null && status >= 200 && status < 300) {
      rec.outcome = 'delivered';
      delete rec.error;
      this.remove(q);
      this.hooks.onDelivery(rec, false);
      if (res && res.body.length > 0) this.hooks.onWebhookReply(res.body, res.contentType);
      this.pump();
      return;
    }
    const message = netError ?? `Wrong response from the webhook: ${status} ${http.STATUS_CODES[status] ?? ''}`.trim();
    rec.error = message;
    this.lastError = { date: Math.floor(Date.now() / 1000), message };
    if (q.attempts >= this.opts.maxAttempts || !this.queue.includes(q)) {
      rec.outcome = 'dropped';
      this.remove(q);
      this.hooks.onDelivery(rec, false);
      this.pump();
      return;
    }
    this.hooks.onDelivery(rec, false);
    const steps = this.opts.retryBackoffMs;
    const delay = steps[Math.min(q.attempts - 1, steps.length - 1)] ?? 1000;
    const timer = setTimeout(() => {
      this.backoff.delete(q.chatKey);
      this.pump();
    }, delay);
    this.backoff.set(q.chatKey, timer);
  }

  private remove(q: Queued): void {
    const i = this.queue.indexOf(q);
    if (i >= 0) this.queue.splice(i, 1);
  }

  private post(hook: WebhookSettings, body: string): Promise<{ status: number; body: Buffer; contentType: string | undefined }> {
    return new Promise((resolve, reject) => {
      let url: URL;
      try {
        url = new URL(hook.url);
      } catch (err) {
        reject(err);
        return;
      }
      const isHttps = url.protocol === 'https:';
      const headers: Record<string, string | number> = {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
      };
      if (hook.secretToken) headers['x-telegram-bot-api-secret-token'] = hook.secretToken;
      const req = (isHttps ? https : http).request(url, {
        method: 'POST',
        headers,
        agent: isHttps ? this.httpsAgent : this.httpAgent,
        timeout: this.opts.webhookTimeoutMs,
      });
      req.on('timeout', () => req.destroy(new Error('Read timeout expired')));
      req.on('error', reject);
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), contentType: res.headers['content-type'] }));
        res.on('error', reject);
      });
      req.end(body);
    });
  }

  close(): void {
    this.closed = true;
    for (const t of this.backoff.values()) clearTimeout(t);
    this.backoff.clear();
    this.releasePoller();
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}
