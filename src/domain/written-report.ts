/**
 * The written report (书面报告, 五(二)): after handling ends, the office establishes the course and cause,
 * lessons and improvement measures, and the report goes up level by level —
 * office → section → deputy director → director → upper-level agency. Each level approves it up or
 * returns it one level down with a comment. The bureau's last approver (a setting, the director by
 * default) approves it finally: the upper-level agency receives the report, it never holds it up.
 * Pure: no I/O, every time is passed in.
 */
import type { EpidemicScenario, IncidentType } from './incident-types.js';
import type { IncidentEvent } from './incident-state.js';
import type { Actor, PositionKind } from './roles.js';

/** The level holding the draft; `approved` once the upper-level agency accepted it. */
export const WRITTEN_REPORT_STAGES = ['office', 'section', 'deputy_director', 'director', 'upper_liaison', 'approved'] as const;
export type WrittenReportStage = (typeof WRITTEN_REPORT_STAGES)[number];

/**
 * Every level a report may hold, lowest first. The `upper_liaison` stage is only a report's that reached
 * it before the last approver was the bureau's own; such a report is still signed off there.
 */
export const SIGNOFF_CHAIN: readonly Exclude<WrittenReportStage, 'approved'>[] = ['office', 'section', 'deputy_director', 'director', 'upper_liaison'];

/** Who may approve a report finally: a level of the bureau, never anyone outside it. */
export const BUREAU_APPROVERS = ['section', 'deputy_director', 'director'] as const;
export type BureauApprover = (typeof BUREAU_APPROVERS)[number];
export const DEFAULT_LAST_APPROVER: BureauApprover = 'director';

/** The levels a report climbs under a last approver, lowest first. */
export function signoffChain(last: BureauApprover = DEFAULT_LAST_APPROVER): Array<Exclude<WrittenReportStage, 'approved'>> {
  return SIGNOFF_CHAIN.slice(0, SIGNOFF_CHAIN.indexOf(last) + 1);
}

/** Where an approval at a stage sends the report: the next level, or approved at the last approver (or above it). */
export function stageAfterApproval(stage: Exclude<WrittenReportStage, 'approved' | 'office'>, last: BureauApprover = DEFAULT_LAST_APPROVER): WrittenReportStage {
  return SIGNOFF_CHAIN.indexOf(stage) >= SIGNOFF_CHAIN.indexOf(last) ? 'approved' : SIGNOFF_CHAIN[SIGNOFF_CHAIN.indexOf(stage) + 1]!;
}

/** The position that signs at each level. At the office it is the office head (officers may edit, not sign). */
export const STAGE_POSITION: Readonly<Record<Exclude<WrittenReportStage, 'approved'>, PositionKind>> = {
  office: 'office_head',
  section: 'section',
  deputy_director: 'deputy_director',
  director: 'director',
  upper_liaison: 'upper_liaison',
};

export type SignoffDecision = 'submitted' | 'approved' | 'returned';

/**
 * How a sign-off reads: the last approver's approval, the end of the chain, is the final 审定, not one
 * more level's 同意.
 */
export type SignoffWording = SignoffDecision | 'finalised';
export function signoffWording(stage: WrittenReportStage, decision: SignoffDecision, last: BureauApprover = DEFAULT_LAST_APPROVER): SignoffWording {
  return decision === 'approved' && stage !== 'approved' && stage !== 'office' && stageAfterApproval(stage, last) === 'approved' ? 'finalised' : decision;
}

export type WrittenReportAction = { kind: 'submit' } | { kind: 'approve' } | { kind: 'return'; comment: string };

export type WrittenReportRefusal = 'wrong_stage' | 'not_permitted' | 'missing_sections' | 'missing_comment' | 'already_approved' | 'already_signed';

export class WrittenReportError extends Error {
  override readonly name = 'WrittenReportError';
  constructor(
    readonly reason: WrittenReportRefusal,
    readonly stage: WrittenReportStage,
    readonly detail: readonly string[] = [],
  ) {
    super(`written report at ${stage}: ${reason}${detail.length ? ` (${detail.join(', ')})` : ''}`);
  }
}

export function isWrittenReportStage(v: string): v is WrittenReportStage {
  return (WRITTEN_REPORT_STAGES as readonly string[]).includes(v);
}

/**
 * Whether the actor signs at a stage. The office level belongs to the head of the incident's own office;
 * the other levels are bureau-wide positions (an acting holder counts, as actorFor includes acting seats).
 */
export function canSignAt(actor: Actor, stage: WrittenReportStage, officeUnitId: string, last: BureauApprover = DEFAULT_LAST_APPROVER): boolean {
  if (stage === 'approved') return false;
  // A report left at the upper-level agency's stage: the bureau's last approver may finish it too.
  if (stage === 'upper_liaison' && actor.positions.includes(STAGE_POSITION[last])) return true;
  const position = STAGE_POSITION[stage];
  if (!actor.positions.includes(position)) return false;
  return stage === 'office' ? actor.unitId === officeUnitId : true;
}

/**
 * Who may change the text: the office (its officers and head) while it holds the draft, and the section
 * while it does, since the section is the hub that writes the bureau's own account. Leaders and the
 * upper-level agency approve or return; they do not rewrite.
 */
export function canEditAt(actor: Actor, stage: WrittenReportStage, officeUnitId: string): boolean {
  if (stage === 'office') return actor.unitId === officeUnitId && actor.positions.some((p) => p === 'officer' || p === 'office_head');
  if (stage === 'section') return actor.positions.includes('section');
  return false;
}

// ---------------------------------------------------------------------------------------------
// Sections of the body

/** Editable body sections, in document order. `basic` (基本情况) is drawn from the incident row at render time. */
export const REPORT_SECTION_KEYS = ['course', 'handling', 'search', 'casualties', 'counties', 'screening', 'cause', 'lessons', 'measures'] as const;
export type ReportSectionKey = (typeof REPORT_SECTION_KEYS)[number];

export interface ReportSectionSpec {
  key: ReportSectionKey;
  /** Must be non-empty before the office submits. */
  required: boolean;
}

export interface ReportShapeFacts {
  type: IncidentType;
  scenario: EpidemicScenario | null;
  injured: number;
  dead: number;
  /** Other counties were named (五(一)). */
  counties: boolean;
}

/** The sections this incident's report has: the common ones plus what the plan asks of its type. */
export function reportSections(facts: ReportShapeFacts): ReportSectionSpec[] {
  const out: ReportSectionSpec[] = [
    { key: 'course', required: true },
    { key: 'handling', required: true },
  ];
  if (facts.type === 'absconding') out.push({ key: 'search', required: true });
  if (facts.injured + facts.dead > 0 || facts.type === 'abnormal_death' || facts.type === 'activity_casualty') {
    out.push({ key: 'casualties', required: true });
  }
  if (facts.counties) out.push({ key: 'counties', required: true });
  // 四(九) 情形四: the screening of staff and other subjects is reported upward in writing.
  if (facts.type === 'epidemic' && facts.scenario === 's4') out.push({ key: 'screening', required: true });
  out.push({ key: 'cause', required: true }, { key: 'lessons', required: true }, { key: 'measures', required: true });
  return out;
}

export function isReportSectionKey(v: string): v is ReportSectionKey {
  return (REPORT_SECTION_KEYS as readonly string[]).includes(v);
}

/** Required sections still empty. */
export function missingSections(facts: ReportShapeFacts, body: Readonly<Record<string, string>>): ReportSectionKey[] {
  return reportSections(facts)
    .filter((s) => s.required && (body[s.key] ?? '').trim() === '')
    .map((s) => s.key);
}

/** Longest text a section may hold, in characters (a Telegram message is 4096). */
export const MAX_SECTION_CHARS = 4000;

// ---------------------------------------------------------------------------------------------
// The sign-off chain

export interface SignoffOutcome {
  /** The stage that holds the draft afterwards. */
  next: WrittenReportStage;
  decision: SignoffDecision;
  /** The incident lifecycle event this decision causes, if any. */
  incidentEvent: IncidentEvent | null;
}

export interface SignoffContext {
  stage: WrittenReportStage;
  officeUnitId: string;
  shape: ReportShapeFacts;
  body: Readonly<Record<string, string>>;
  /** The sign-offs so far, oldest first (who, at which level, what). */
  signoffs?: ReadonlyArray<{ stage: WrittenReportStage; staffId: string; decision: SignoffDecision }>;
  /** The bureau's last approver, from the incident's snapshot (the director by default). */
  lastApprover?: BureauApprover;
}

/**
 * Who has passed the report on since the office last submitted it, and at which level: one person signs
 * one level of one report, so someone who passed it up at one level cannot pass it on at another.
 */
export function signedInThisClimb(signoffs: NonNullable<SignoffContext['signoffs']>): Map<string, WrittenReportStage> {
  const from = signoffs.map((s) => s.decision).lastIndexOf('submitted');
  const by = new Map<string, WrittenReportStage>();
  for (const s of signoffs.slice(Math.max(0, from))) if (s.decision !== 'returned') by.set(s.staffId, s.stage);
  return by;
}

/**
 * One level's decision. The office submits (closed → report_submitted); each level above approves it up
 * one level, or returns it one level down with a comment. A return to the office puts the incident back
 * to closed (return_report); the last approval, by the bureau's last approver, approves it (report_approved).
 */
export function decideSignoff(ctx: SignoffContext, action: WrittenReportAction, actor: Actor): SignoffOutcome {
  const { stage } = ctx;
  const last = ctx.lastApprover ?? DEFAULT_LAST_APPROVER;
  if (stage === 'approved') throw new WrittenReportError('already_approved', stage);
  if (!canSignAt(actor, stage, ctx.officeUnitId, last)) throw new WrittenReportError('not_permitted', stage);
  const signedAt = ctx.signoffs ? signedInThisClimb(ctx.signoffs).get(actor.staffId) : undefined;
  if (action.kind === 'approve' && signedAt !== undefined && signedAt !== stage) throw new WrittenReportError('already_signed', stage, [signedAt]);
  const i = SIGNOFF_CHAIN.indexOf(stage);
  switch (action.kind) {
    case 'submit': {
      if (stage !== 'office') throw new WrittenReportError('wrong_stage', stage);
      const missing = missingSections(ctx.shape, ctx.body);
      if (missing.length) throw new WrittenReportError('missing_sections', stage, missing);
      return { next: 'section', decision: 'submitted', incidentEvent: { kind: 'submit_report' } };
    }
    case 'approve': {
      if (stage === 'office') throw new WrittenReportError('wrong_stage', stage);
      // The section rewrites too, so what it passes up must still be complete.
      const missing = missingSections(ctx.shape, ctx.body);
      if (missing.length) throw new WrittenReportError('missing_sections', stage, missing);
      const next = stageAfterApproval(stage, last);
      return { next, decision: 'approved', incidentEvent: next === 'approved' ? { kind: 'approve_report' } : null };
    }
    case 'return': {
      if (stage === 'office') throw new WrittenReportError('wrong_stage', stage);
      if (action.comment.trim() === '') throw new WrittenReportError('missing_comment', stage);
      const next = SIGNOFF_CHAIN[i - 1]!;
      return { next, decision: 'returned', incidentEvent: next === 'office' ? { kind: 'return_report' } : null };
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The prefill: facts from the timeline, as data; the service renders them into text from the catalogue.

export interface TimelineStepFact {
  key: string;
  ordinal: number;
  state: 'pending' | 'done' | 'not_applicable';
  doneAt: Date | null;
  doneByStaffId: string | null;
  how: string | null;
  note: string | null;
  naReason: string | null;
}

export interface TimelineEventFact {
  at: Date;
  staffId: string | null;
  /** reported | acknowledged | progress | closed | role | search | county … */
  kind: string;
  text?: string | null;
}

/** Events in time order, ties kept in their given order; for "what happened, when, who did what". */
export function orderTimeline(events: readonly TimelineEventFact[]): TimelineEventFact[] {
  return events
    .map((e, i) => ({ e, i }))
    .sort((a, b) => a.e.at.getTime() - b.e.at.getTime() || a.i - b.i)
    .map((x) => x.e);
}

/** Steps in checklist order. */
export function orderSteps(steps: readonly TimelineStepFact[]): TimelineStepFact[] {
  return [...steps].sort((a, b) => a.ordinal - b.ordinal);
}

/** Chinese ordinal for section headings: 1 → 一, 11 → 十一, 20 → 二十. */
export function chineseNumeral(n: number): string {
  const digits = ['零', '一', '二', '三', '四', '五', '六', '七', '八', '九'];
  if (!Number.isInteger(n) || n < 1 || n > 99) throw new RangeError(`numeral out of range: ${n}`);
  if (n < 10) return digits[n]!;
  const tens = Math.floor(n / 10);
  const ones = n % 10;
  return `${tens === 1 ? '' : digits[tens]}十${ones === 0 ? '' : digits[ones]}`;
}
