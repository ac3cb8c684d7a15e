/** The two section steps the card gives buttons of their own, and how such a report may have been made. */
export const UPPER_STEP = 'report_upward';
export const PROCURATORATE_STEP = 'notify_procuratorate';
/** How 上报上一级 / 通报检察院 may have been done. */
export const REPORT_HOWS = ['phone', 'written', 'system'] as const;
export type ReportHow = (typeof REPORT_HOWS)[number];

/**
 * 上报上一级, as the plan has it: the first report (首报), progress reports (续报) as often as there is
 * progress, and the final report (终报). The first is the checklist step's own mark.
 */
export const UPWARD_PHASES = ['first', 'progress', 'final'] as const;
export type UpwardPhase = (typeof UPWARD_PHASES)[number];

/** The phases that may be reported next: 首报 first and once; then 续报 any number of times, and 终报 once, which ends them. */
export function nextUpwardPhases(done: readonly UpwardPhase[]): UpwardPhase[] {
  if (!done.includes('first')) return ['first'];
  if (done.includes('final')) return [];
  return ['progress', 'final'];
}

/** What the card knows of progress up the line: the phases of 上报上一级 reported, and whether a level of the line is still to be told (立即上报). */
export interface ReportUpFacts {
  open: boolean;
  /** The 上报上一级 step's state; undefined when the incident's playbook has none. */
  upperStep: 'pending' | 'done' | 'not_applicable' | string | undefined;
  phasesDone: readonly UpwardPhase[];
  /** Whether 立即上报 still has a level to go to (the domain's `nextLevelToForward` found one). */
  forwardLevelLeft: boolean;
}

/**
 * Which of progress up the line's buttons still apply: 立即上报 while the incident is open and a level of
 * the line has not heard of it (after the director there is nobody left to forward to); 上报上一级 (续报,
 * 终报) once the 首报 is marked, as often as needed, until the 终报 ends it. The 首报 itself is the step's
 * own button. Who may press them is the roles' business, not this.
 */
export function reportUpOffers(f: ReportUpFacts): { forward: boolean; upward: UpwardPhase[] } {
  if (!f.open) return { forward: false, upward: [] };
  const upward = f.upperStep === 'done' ? nextUpwardPhases(f.phasesDone).filter((p) => p !== 'first') : [];
  return { forward: f.forwardLevelLeft, upward };
}
