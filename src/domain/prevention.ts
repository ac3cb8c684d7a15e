/**
 * Prevention (七(一)): screen each subject's situation regularly to spot instability early. How often
 * depends on the subject's risk level; an unstable result raises the level and puts the subject in the
 * daily digest. Pure: the times are passed in.
 */
import { addDays, localDate } from './time.js';

export const RISK_LEVELS = ['low', 'normal', 'high'] as const;
export type RiskLevel = (typeof RISK_LEVELS)[number];

export const SCREENING_RESULTS = ['stable', 'watch', 'unstable'] as const;
export type ScreeningResult = (typeof SCREENING_RESULTS)[number];

export interface ScreeningPolicy {
  /** Days between screenings, by risk level (**default**: high weekly, normal monthly, low quarterly). */
  intervalDays: Record<RiskLevel, number>;
}

export const DEFAULT_SCREENING_POLICY: ScreeningPolicy = { intervalDays: { high: 7, normal: 30, low: 90 } };

export function isRiskLevel(v: string): v is RiskLevel {
  return (RISK_LEVELS as readonly string[]).includes(v);
}

export function isScreeningResult(v: string): v is ScreeningResult {
  return (SCREENING_RESULTS as readonly string[]).includes(v);
}

export function screeningIntervalDays(risk: RiskLevel, policy: ScreeningPolicy = DEFAULT_SCREENING_POLICY): number {
  return policy.intervalDays[risk];
}

/**
 * The local date the next screening is due: the interval after the last one, or the day the subject was
 * registered when never screened (due at once).
 */
export function screeningDueDate(
  subject: { riskLevel: RiskLevel; lastScreenedAt: Date | null; createdAt: Date },
  timeZone: string,
  policy: ScreeningPolicy = DEFAULT_SCREENING_POLICY,
): string {
  if (!subject.lastScreenedAt) return localDate(subject.createdAt, timeZone);
  return addDays(localDate(subject.lastScreenedAt, timeZone), screeningIntervalDays(subject.riskLevel, policy));
}

/** Due on or after the due date, by local days. */
export function isScreeningDue(dueDate: string, now: Date, timeZone: string): boolean {
  return localDate(now, timeZone) >= dueDate;
}

/** Unstable raises the risk one level (high stays high); stable and watch leave it as it is — lowering is a decision, not a screening. */
export function riskAfterScreening(current: RiskLevel, result: ScreeningResult): RiskLevel {
  if (result !== 'unstable') return current;
  return current === 'low' ? 'normal' : 'high';
}

/** Longest screening note, in characters. */
export const MAX_SCREENING_NOTE_CHARS = 1000;
