/**
 * 处罚: the plan has the section punish the subject "according to law" after most incidents (四), and for
 * 脱管 "according to the circumstances of the absence", reporting the final result upward. What a sanction
 * was is one of the bureau's list (by default the measures of community-correction law: 训诫, 警告, 提请治安
 * 管理处罚, 提请撤销缓刑, 提请撤销假释, 提请收监执行), with its grounds, who proposed it, the decision and its
 * date. And 脱管 itself: how long the subject has been out of supervision, and the thresholds at which the
 * section is told. Pure.
 */
import type { IncidentStatus } from './incident-state.js';
import { isOpen } from './incident-state.js';
import { isLeader, isSection, type Actor } from './roles.js';

/** The plan's list, the default of the bureau's (policy `sanctions.kinds`). */
export const DEFAULT_SANCTION_KINDS = ['admonition', 'warning', 'public_security_penalty', 'revoke_probation', 'revoke_parole', 'commit_to_prison'] as const;

/** A sanction kind the bureau keeps: a code, with names when the catalogue has none for it. */
export interface SanctionKindSetting {
  code: string;
  name?: string | undefined;
  name_en?: string | undefined;
}

/** Where a sanction stands: proposed (提请), approved or rejected by whoever decides, executed (执行). */
export const SANCTION_DECISIONS = ['proposed', 'approved', 'rejected', 'executed'] as const;
export type SanctionDecision = (typeof SANCTION_DECISIONS)[number];

export function isSanctionDecision(value: string): value is SanctionDecision {
  return (SANCTION_DECISIONS as readonly string[]).includes(value);
}

/** The checklist steps a sanction belongs to (处罚, and 脱管's final result reported). */
export const SANCTION_STEP_KEYS: readonly string[] = ['punish'];

export function isSanctionStep(stepKey: string): boolean {
  return SANCTION_STEP_KEYS.includes(stepKey);
}

/**
 * Which decision may follow which: a proposal is approved or rejected, or executed at once (训诫 the
 * section gives itself); an approved one is executed. Rejected and executed are final.
 */
export function nextDecisions(current: SanctionDecision): SanctionDecision[] {
  switch (current) {
    case 'proposed':
      return ['approved', 'rejected', 'executed'];
    case 'approved':
      return ['executed', 'rejected'];
    case 'rejected':
    case 'executed':
      return [];
  }
}

export function isFinalDecision(decision: SanctionDecision): boolean {
  return nextDecisions(decision).length === 0;
}

/**
 * The section punishes (四), so the section and the leaders record a sanction's decision; whoever
 * handles the incident (the office) may propose one.
 */
export function canProposeSanction(actor: Actor, handles: boolean): boolean {
  return handles || isSection(actor) || isLeader(actor);
}

export function canDecideSanction(actor: Actor): boolean {
  return isSection(actor) || isLeader(actor);
}

/** The longest grounds, in characters. */
export const SANCTION_GROUNDS_MAX = 2000;

export type SanctionProblem = 'kind' | 'grounds' | 'decision' | 'at';

const FUTURE_SLACK_MS = 5 * 60_000;

/** What is wrong with a new sanction: a kind of the bureau's list, grounds given, a known decision, a date not ahead. */
export function sanctionProblem(
  input: { kind: string; grounds: string; decision: string; decidedAt: Date },
  kinds: readonly SanctionKindSetting[],
  now: Date,
): SanctionProblem | undefined {
  if (!kinds.some((k) => k.code === input.kind)) return 'kind';
  const grounds = input.grounds.trim();
  if (grounds === '' || grounds.length > SANCTION_GROUNDS_MAX) return 'grounds';
  if (!isSanctionDecision(input.decision)) return 'decision';
  if (input.decidedAt.getTime() - now.getTime() > FUTURE_SLACK_MS) return 'at';
  return undefined;
}

/** The bureau's list from an incident's policy snapshot, or the plan's when the snapshot has none. */
export function sanctionKindsOf(policy: { sanctions?: { kinds?: readonly SanctionKindSetting[] } | undefined }): readonly SanctionKindSetting[] {
  const kinds = policy.sanctions?.kinds;
  return kinds && kinds.length ? kinds : DEFAULT_SANCTION_KINDS.map((code) => ({ code }));
}

/** One sanction as the statistics count it. */
export interface SanctionFact {
  kind: string;
  decision: SanctionDecision;
}

export interface SanctionCounts {
  total: number;
  byKind: Array<{ kind: string; count: number }>;
  byDecision: Record<SanctionDecision, number>;
}

/** Counts by kind (in the list's order, then any others) and by decision. */
export function countSanctions(facts: readonly SanctionFact[], kinds: readonly SanctionKindSetting[]): SanctionCounts {
  const byDecision = Object.fromEntries(SANCTION_DECISIONS.map((d) => [d, 0])) as Record<SanctionDecision, number>;
  const perKind = new Map<string, number>();
  for (const f of facts) {
    byDecision[f.decision] += 1;
    perKind.set(f.kind, (perKind.get(f.kind) ?? 0) + 1);
  }
  const order = [...kinds.map((k) => k.code), ...[...perKind.keys()].filter((k) => !kinds.some((x) => x.code === k)).sort()];
  return { total: facts.length, byKind: order.filter((k) => perKind.has(k)).map((kind) => ({ kind, count: perKind.get(kind)! })), byDecision };
}

// ---------------------------------------------------------------------------------------------
// 脱管: out of supervision since the incident's discovered-at, until found.

/** The bureau's thresholds by default: the section is told at 24 h and at 72 h out of supervision. */
export const DEFAULT_ABSCONDING_THRESHOLDS_SECONDS: readonly number[] = [24 * 3600, 72 * 3600];

export interface OutOfSupervision {
  since: Date;
  /** Found (the step 责令报到 / 带回 marked), or the incident closed; null while still out. */
  until: Date | null;
  seconds: number;
  ongoing: boolean;
}

/**
 * How long the subject of an absconding incident has been out of supervision: from the incident's
 * discovered-at, until they were found or the incident was closed, else until now. Undefined for any
 * other type, and for a false alarm (there was no 脱管).
 */
export function outOfSupervision(
  incident: { type: string; status: string; discoveredAt: Date; closedAt: Date | null; closure: string | null },
  foundAt: Date | null,
  now: Date,
): OutOfSupervision | undefined {
  if (incident.type !== 'absconding' || incident.closure === 'false_alarm') return undefined;
  const closed = !isOpen(incident.status as IncidentStatus) ? incident.closedAt : null;
  const until = foundAt ?? closed ?? null;
  const end = until ?? now;
  return { since: incident.discoveredAt, until, seconds: Math.max(0, Math.round((end.getTime() - incident.discoveredAt.getTime()) / 1000)), ongoing: until === null };
}

/** The step whose mark says the subject was found (四(四): 责令其立即到司法所报告；情形紧急的立即带回). */
export const FOUND_STEP_KEY = 'order_report_or_bring_back';

/** The thresholds of an incident's snapshot, or the default when it has none; sorted, distinct, positive. */
export function abscondingThresholdsOf(policy: { absconding?: { thresholdsSeconds?: readonly number[] } | undefined }): number[] {
  const given = policy.absconding?.thresholdsSeconds ?? DEFAULT_ABSCONDING_THRESHOLDS_SECONDS;
  return [...new Set(given.filter((s) => Number.isInteger(s) && s > 0))].sort((a, b) => a - b);
}

/** Hours, rounded down, for the notice and the card. */
export const wholeHours = (seconds: number): number => Math.floor(seconds / 3600);

/**
 * What an absconding-threshold timer does when it fires: nothing once the incident is closed or the
 * subject found (both also cancel it), else the section is told how long the subject has been out.
 */
export function decideAbscondingThreshold(ctx: { open: boolean; found: boolean }): { skip: string } | { notify: true } {
  if (!ctx.open) return { skip: 'incident closed' };
  if (ctx.found) return { skip: 'subject found' };
  return { notify: true };
}
