/** What every benchmark segment gets: the sizes for this run (quick or full) and a progress log. */
import { TELEGRAM_LIMITS as GATEWAY_LIMITS } from '../../src/channels/telegram/telegram-gateway.js';
import type { Row } from './table.js';

export interface Sizes {
  /** Offices and officers in the seeded organisation (P6's staff are its officers). */
  offices: number;
  officersPerOffice: number;
  /** P1: report forms the one user completes per block, blocks alternating with the baseline. */
  p1Forms: number;
  p1Blocks: number;
  /** P6: staff, forms each, offered updates per second. */
  p6Users: number;
  p6Forms: number;
  p6Rate: number;
  /** P3/P4/P5: pending timers (one per open incident). */
  pendingTimers: number;
  /** P3: timers measured, and the spacing of their due times (ms). */
  p3Measured: number;
  p3SpacingMs: number;
  /** P2: one notification to this many staff, one case per number. */
  p2Recipients: number[];
  /** P2: several notices to each of a few chats (Telegram's 1 a second per chat is then the floor). */
  p2PerChat: { chats: number; notices: number };
  /** P2: each case runs with this many worker processes, one run per number. */
  p2Workers: number[];
  /** P3 burst: deadline notices due within `p3BurstWindowMs`, while staff file reports as in P6. */
  p3BurstCount: number;
  p3BurstWindowMs: number;
  /** P3 burst: staff filing reports meanwhile (none of them receives a deadline notice). */
  p3BurstLoadUsers: number;
  /** P4/P5 at scale: pending timers of the second case (0: not run). */
  bigPendingTimers: number;
  /** P5: idle time before the idle reading (ms). */
  settleMs: number;
  /** P5: restart the process once the open incidents are written (a restarted deployment), or just schedule them. */
  restartWithLoad: boolean;
  /** P5: also measure the same process bundled and run by Node alone (without the tsx loader). */
  p5Compiled: boolean;
}

export const FULL: Sizes = {
  offices: 10,
  officersPerOffice: 50,
  p1Forms: 10,
  p1Blocks: 2,
  p6Users: 500,
  p6Forms: 1,
  p6Rate: 250,
  pendingTimers: 10_000,
  p3Measured: 200,
  p3SpacingMs: 50,
  p2Recipients: [100, 1_000],
  p2PerChat: { chats: 20, notices: 5 },
  p2Workers: [1, 2],
  p3BurstCount: 200,
  p3BurstWindowMs: 10_000,
  p3BurstLoadUsers: 300,
  bigPendingTimers: 100_000,
  settleMs: 5_000,
  restartWithLoad: true,
  p5Compiled: true,
};

export const QUICK: Sizes = {
  offices: 4,
  officersPerOffice: 15,
  p1Forms: 2,
  p1Blocks: 1,
  p6Users: 30,
  p6Forms: 1,
  p6Rate: 220,
  pendingTimers: 1_000,
  p3Measured: 20,
  p3SpacingMs: 100,
  p2Recipients: [30],
  p2PerChat: { chats: 5, notices: 3 },
  p2Workers: [1, 2],
  p3BurstCount: 20,
  p3BurstWindowMs: 3_000,
  p3BurstLoadUsers: 30,
  bigPendingTimers: 0,
  settleMs: 1_500,
  restartWithLoad: false,
  p5Compiled: false,
};

export interface BenchContext {
  quick: boolean;
  sizes: Sizes;
  only: ReadonlySet<string> | undefined;
  log(message: string): void;
  /** Print the product's own output (debugging). */
  echo: boolean;
}

/** The targets, in one place: every verdict is computed from a figure and one of these. */
export const TARGETS = {
  p1MedianRatio: 2,
  p1P99Ms: 50,
  p2FloorRatio: 1.1,
  p3P99Ms: 250,
  p4RebuildMs: 5_000,
  p5IdleBytes: 150 * 1024 * 1024,
  p5LoadedBytes: 250 * 1024 * 1024,
  p6UpdatesPerSecond: 200,
  p6P99Ms: 200,
} as const;

/**
 * Telegram's flood limits as the stand-in enforces them where a case asks for them: a private chat's
 * bucket holds the burst the gateway's shared send lines allow (the Bots FAQ's "short bursts").
 */
export const TELEGRAM_LIMITS = { globalPerSecond: 30, perChatPerSecond: 1, perChatBurst: GATEWAY_LIMITS.perChatBurst, perGroupPerMinute: 20 } as const;

export const wants = (ctx: BenchContext, id: string) => !ctx.only || ctx.only.has(id);

export interface Measured extends Row {
  /** Numbers behind the row, for docs and for a strict run. */
  data?: Record<string, unknown>;
  /** A property that must hold whatever the machine (0 lost, 0 failed forms) did not. */
  broken?: string;
}
