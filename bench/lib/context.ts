/** What every benchmark segment gets: the sizes for this run (quick or full) and a progress log. */
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
  /** P2: staff the notification goes to. */
  p2Staff: number;
  /** P5: idle time before the idle reading (ms). */
  settleMs: number;
  /** P5: restart the process once the open incidents are written (a restarted deployment), or just schedule them. */
  restartWithLoad: boolean;
  /** P5: also measure the same process bundled and run by Node alone (without the tsx loader). */
  p5Compiled: boolean;
  /** P4: wait for the reconciler's own schedule (true), or ask it to run at once (false). */
  p4NaturalSchedule: boolean;
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
  p2Staff: 100,
  settleMs: 5_000,
  p4NaturalSchedule: true,
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
  p2Staff: 30,
  settleMs: 1_500,
  p4NaturalSchedule: false,
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

export const wants = (ctx: BenchContext, id: string) => !ctx.only || ctx.only.has(id);

export interface Measured extends Row {
  /** Numbers behind the row, for docs and for a strict run. */
  data?: Record<string, unknown>;
  /** A property that must hold whatever the machine (0 lost, 0 failed forms) did not. */
  broken?: string;
}
