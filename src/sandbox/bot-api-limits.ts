// Flood limits and fault injection of the Bot API stand-in. Both are deterministic given the
// same request sequence (fault plans use a seeded PRNG), so gateway tests can assert exact outcomes.

export interface LimitsConfig {
  globalPerSecond?: number;
  perChatPerSecond?: number;
  perChatBurst?: number;
  perGroupPerMinute?: number;
}

export type LimitScope = 'global' | 'chat' | 'group';

export interface LimitVerdict {
  scope: LimitScope;
  retryAfter: number;
}

/** Methods that create a message and so count against Telegram's flood limits. */
export const SEND_METHODS = ['sendMessage', 'sendPhoto', 'sendDocument', 'sendVoice', 'sendLocation'] as const;

const wholeSeconds = (ms: number): number => Math.max(1, Math.ceil(ms / 1000));

/**
 * Per bot: a sliding 1 s window globally, a token bucket per chat (capacity = burst, refill =
 * perChatPerSecond) and a sliding 60 s window for groups (negative chat ids). The overall window is
 * Telegram's limit on bulk notifications (Bots FAQ: "If you're sending bulk notifications to multiple
 * users, the API will not allow more than 30 messages per second or so"): a message that answers the
 * person's own update (`answer`) is held to its chat's limits only.
 */
export class RateLimiter {
  private readonly global: number[] = [];
  private readonly buckets = new Map<number, { tokens: number; at: number }>();
  private readonly groups = new Map<number, number[]>();

  constructor(private readonly cfg: LimitsConfig) {}

  /** Returns a verdict if the send must be refused; otherwise records it (consumes a slot). */
  take(chatId: number, now: number = Date.now(), opts: { answer?: boolean } = {}): LimitVerdict | null {
    const verdict = this.check(chatId, now, opts);
    if (verdict) return verdict;
    this.consume(chatId, now, opts);
    return null;
  }

  check(chatId: number, now: number, opts: { answer?: boolean } = {}): LimitVerdict | null {
    const { globalPerSecond, perChatPerSecond, perGroupPerMinute } = this.cfg;
    if (globalPerSecond !== undefined && !opts.answer) {
      prune(this.global, now - 1000);
      if (this.global.length >= globalPerSecond) {
        const oldest = this.global[this.global.length - globalPerSecond] ?? now;
        return { scope: 'global', retryAfter: wholeSeconds(oldest + 1000 - now) };
      }
    }
    if (perChatPerSecond !== undefined && perChatPerSecond > 0) {
      const b = this.bucket(chatId, now);
      if (b.tokens < 1) {
        const msUntilToken = ((1 - b.tokens) / perChatPerSecond) * 1000;
        return { scope: 'chat', retryAfter: wholeSeconds(msUntilToken) };
      }
    }
    if (perGroupPerMinute !== undefined && chatId < 0) {
      const list = this.groups.get(chatId) ?? [];
      prune(list, now - 60_000);
      if (list.length >= perGroupPerMinute) {
        const oldest = list[list.length - perGroupPerMinute] ?? now;
        return { scope: 'group', retryAfter: wholeSeconds(oldest + 60_000 - now) };
      }
    }
    return null;
  }

  private consume(chatId: number, now: number, opts: { answer?: boolean }): void {
    if (this.cfg.globalPerSecond !== undefined && !opts.answer) this.global.push(now);
    if (this.cfg.perChatPerSecond !== undefined && this.cfg.perChatPerSecond > 0) this.bucket(chatId, now).tokens -= 1;
    if (this.cfg.perGroupPerMinute !== undefined && chatId < 0) {
      const list = this.groups.get(chatId) ?? [];
      list.push(now);
      this.groups.set(chatId, list);
    }
  }

  private bucket(chatId: number, now: number): { tokens: number; at: number } {
    const rate = this.cfg.perChatPerSecond ?? 1;
    const capacity = Math.max(this.cfg.perChatBurst ?? 1, rate);
    let b = this.buckets.get(chatId);
    if (!b) {
      b = { tokens: capacity, at: now };
      this.buckets.set(chatId, b);
    }
    b.tokens = Math.min(capacity, b.tokens + ((now - b.at) / 1000) * rate);
    b.at = now;
    return b;
  }
}

function prune(list: number[], before: number): void {
  let k = 0;
  while (k < list.length && (list[k] ?? 0) <= before) k++;
  if (k > 0) list.splice(0, k);
}

export type FaultStatus = 429 | 403 | 400 | 500 | 502;
export type FaultKind = '429' | '403' | '400' | '500' | '502' | 'timeout';

export interface FailNextOptions {
  status?: FaultStatus;
  retryAfter?: number;
  description?: string;
  times?: number;
  /** Delay before answering. Without `status`: the call succeeds but answers late (a timeout). */
  delayMs?: number;
}

export interface FaultPlan {
  rate: number;
  seed: number;
  kinds: FaultKind[];
  /** Methods the plan applies to; default: the send methods. */
  methods?: string[];
  retryAfter?: number;
  timeoutMs?: number;
}

/** What to do with one request. `status` absent = process normally (possibly late). */
export interface FaultDecision {
  kind: FaultKind;
  status?: FaultStatus;
  retryAfter?: number;
  description?: string;
  delayMs: number;
  source: 'failNext' | 'plan';
}

/** mulberry32: tiny, fast and good enough to make fault plans reproducible. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Armed {
  method: string;
  opts: FailNextOptions;
  left: number;
}

export class FaultInjector {
  private armed: Armed[] = [];
  private plan: (FaultPlan & { rng: () => number; methodSet: Set<string> }) | null = null;

  failNext(method: string, opts: FailNextOptions): void {
    this.armed.push({ method: method.toLowerCase(), opts, left: Math.max(1, opts.times ?? 1) });
  }

  setPlan(plan: FaultPlan | null): void {
    if (!plan) {
      this.plan = null;
      return;
    }
    const methods = plan.methods ?? [...SEND_METHODS];
    this.plan = { ...plan, rng: mulberry32(plan.seed), methodSet: new Set(methods.map((m) => m.toLowerCase())) };
  }

  clear(): void {
    this.armed = [];
    this.plan = null;
  }

  /** Decides the fate of one request; consumes a failNext slot or one PRNG draw. */
  decide(method: string): FaultDecision | null {
    const lower = method.toLowerCase();
    const idx = this.armed.findIndex((a) => a.method === lower || a.method === '*');
    if (idx >= 0) {
      const a = this.armed[idx] as Armed;
      a.left -= 1;
      if (a.left <= 0) this.armed.splice(idx, 1);
      const { status, retryAfter, description, delayMs } = a.opts;
      const d: FaultDecision = { kind: status ? (String(status) as FaultKind) : 'timeout', delayMs: delayMs ?? 0, source: 'failNext' };
      if (status !== undefined) d.status = status;
      if (retryAfter !== undefined) d.retryAfter = retryAfter;
      if (description !== undefined) d.description = description;
      return d;
    }
    const plan = this.plan;
    if (!plan || !plan.methodSet.has(lower) || plan.kinds.length === 0) return null;
    const roll = plan.rng();
    const pick = plan.rng();
    if (roll >= plan.rate) return null;
    const kind = plan.kinds[Math.min(plan.kinds.length - 1, Math.floor(pick * plan.kinds.length))] as FaultKind;
    if (kind === 'timeout') return { kind, delayMs: plan.timeoutMs ?? 3000, source: 'plan' };
    const d: FaultDecision = { kind, status: Number(kind) as FaultStatus, delayMs: 0, source: 'plan' };
    if (kind === '429') d.retryAfter = plan.retryAfter ?? 1;
    return d;
  }
}

export const DEFAULT_FAULT_DESCRIPTIONS: Record<FaultStatus, string> = {
  400: 'Bad Request: injected fault',
  403: 'Forbidden: bot was blocked by the user',
  429: 'Too Many Requests: retry after 1',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
};
