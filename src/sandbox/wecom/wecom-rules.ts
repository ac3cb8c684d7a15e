// WeCom's frequency limits as the stand-in enforces them, and the faults a test can inject.
// The limits behave as WeCom documents them:
// - one application may send at most the account cap × 200 recipients a day (natural day, China time):
//   beyond it, message/send answers 45009;
// - at most 30 messages a minute and 1 000 an hour to one member: beyond them the message is accepted
//   (errcode 0) and silently dropped for that member — which is why the product must hold back itself;
// - every other API at most 10 000 calls a minute: beyond it, 45009.
// Minutes and hours are counted in fixed windows (WeCom counts its own way; any product limiter that
// keeps sliding windows stays inside these).

export interface StandInLimitsConfig {
  /** The corp's account cap (账号上限数); default 100. */
  accountCap?: number;
  perMemberPerMinute?: number;
  perMemberPerHour?: number;
  apiPerMinute?: number;
}

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const CHINA_OFFSET_MS = 8 * HOUR;

export class StandInLimits {
  readonly accountCap: number;
  readonly perMemberPerMinute: number;
  readonly perMemberPerHour: number;
  readonly apiPerMinute: number;
  private day = { key: Number.NaN, recipients: 0 };
  private readonly memberMinute = new Map<string, { key: number; n: number }>();
  private readonly memberHour = new Map<string, { key: number; n: number }>();
  private readonly apiMinute = new Map<string, { key: number; n: number }>();

  constructor(cfg: StandInLimitsConfig) {
    this.accountCap = cfg.accountCap ?? 100;
    this.perMemberPerMinute = cfg.perMemberPerMinute ?? 30;
    this.perMemberPerHour = cfg.perMemberPerHour ?? 1000;
    this.apiPerMinute = cfg.apiPerMinute ?? 10_000;
  }

  /** Whether the application may still send to `n` recipients today; counts them when it may. */
  takeRecipients(n: number, now: number): boolean {
    const key = Math.floor((now + CHINA_OFFSET_MS) / DAY);
    if (key !== this.day.key) this.day = { key, recipients: 0 };
    if (this.day.recipients + n > this.accountCap * 200) return false;
    this.day.recipients += n;
    return true;
  }

  /** Whether a message to this member is delivered (false: dropped); counts it when it is. */
  deliverable(userId: string, now: number): boolean {
    const m = windowOf(this.memberMinute, userId, Math.floor(now / MINUTE));
    const h = windowOf(this.memberHour, userId, Math.floor(now / HOUR));
    if (m.n >= this.perMemberPerMinute || h.n >= this.perMemberPerHour) return false;
    m.n += 1;
    h.n += 1;
    return true;
  }

  /** Whether a call of `api` is within the per-minute limit; counts it when it is. */
  takeApi(api: string, now: number): boolean {
    return bump(this.apiMinute, api, Math.floor(now / MINUTE), this.apiPerMinute);
  }
}

function windowOf(map: Map<string, { key: number; n: number }>, id: string, key: number): { key: number; n: number } {
  let w = map.get(id);
  if (!w || w.key !== key) {
    w = { key, n: 0 };
    map.set(id, w);
  }
  return w;
}

function bump(map: Map<string, { key: number; n: number }>, id: string, key: number, max: number): boolean {
  const w = windowOf(map, id, key);
  if (w.n >= max) return false;
  w.n += 1;
  return true;
}

/** What a faulty answer looks like. */
export type WecomFault =
  /** WeCom answers 200 with this errcode. */
  | { errcode: number; errmsg?: string }
  /** A proxy in front answers with this HTTP status. */
  | { httpStatus: number }
  /** The call is carried out, but answered late (a client's timeout). */
  | { delayMs: number }
  /** The connection is closed without an answer, before anything is done. */
  | { hangUp: true };

interface Armed {
  api: string;
  fault: WecomFault;
  left: number;
}

/**
 * Faults at a rate rather than one by one: each call of one of `apis` meets a fault with probability
 * `rate`, the fault drawn from `faults`, all from a generator seeded with `seed` (a run can be repeated).
 * Faults armed with failNext come first.
 */
export interface WecomFaultPlan {
  rate: number;
  seed: number;
  faults: readonly WecomFault[];
  apis: readonly string[];
}

/** mulberry32: small, seeded, good enough to pick faults. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class FaultInjector {
  private armed: Armed[] = [];
  private plan: { plan: WecomFaultPlan; random: () => number } | undefined;

  /** Faults at a rate from now on (null: none). */
  setPlan(plan: WecomFaultPlan | null): void {
    if (plan && (plan.faults.length === 0 || !(plan.rate >= 0 && plan.rate <= 1))) throw new RangeError('a fault plan needs faults and a rate within 0..1');
    this.plan = plan ? { plan, random: seededRandom(plan.seed) } : undefined;
  }

  /** The next `times` calls of `api` ('*': any) meet `fault`. */
  failNext(api: string, fault: WecomFault, times = 1): void {
    this.armed.push({ api, fault, left: Math.max(1, times) });
  }

  clear(): void {
    this.armed = [];
    this.plan = undefined;
  }

  /** The fault for this call: one armed (consumed), else one of the plan's, else none. */
  take(api: string): WecomFault | undefined {
    const i = this.armed.findIndex((a) => a.api === api || a.api === '*');
    if (i < 0) return this.fromPlan(api);
    const a = this.armed[i]!;
    a.left -= 1;
    if (a.left <= 0) this.armed.splice(i, 1);
    return a.fault;
  }

  private fromPlan(api: string): WecomFault | undefined {
    if (!this.plan || !this.plan.plan.apis.includes(api)) return undefined;
    const { plan, random } = this.plan;
    if (random() >= plan.rate) return undefined;
    return plan.faults[Math.floor(random() * plan.faults.length)];
  }
}
