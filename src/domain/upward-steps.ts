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
