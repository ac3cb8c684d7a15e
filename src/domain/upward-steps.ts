/** The two section steps the card gives buttons of their own, and how such a report may have been made. */
export const UPPER_STEP = 'report_upward';
export const PROCURATORATE_STEP = 'notify_procuratorate';
/** How 上报上一级 / 通报检察院 may have been done. */
export const REPORT_HOWS = ['phone', 'written', 'system'] as const;
export type ReportHow = (typeof REPORT_HOWS)[number];
