/**
 * The escalation policy as data, with the bureau's default settings (domain.md; the plan itself sets no
 * times, only 立即, 及时, 第一时间), and the pure functions that turn an
 * incident and a time into the deadlines it creates. The policy is copied onto each incident when it is
 * reported (a snapshot), so later edits do not move the deadlines of running incidents.
 */
import { z } from 'zod';
import type { Criticality } from './incident-types.js';
import type { ChatKind, PiiMode } from './pii.js';
import type { PositionKind } from './roles.js';
import { addMs, atLocalTime, DAY, HOUR, MINUTE } from './time.js';
import { DEFAULT_ABSCONDING_THRESHOLDS_SECONDS, DEFAULT_SANCTION_KINDS } from './sanctions.js';
import { criticalitySchema, DEFAULT_CRITICALITY, playbookEditsSchema } from './playbook-edits.js';
import { BUREAU_APPROVERS } from './written-report.js';

const byCriticality = z.object({ critical: z.number().int().positive(), standard: z.number().int().positive() });
const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/);

export const escalationPolicySchema = z.object({
  version: z.literal(1),
  /** Seconds for the section to acknowledge (签收); then the deputy director, and as long again, the director. */
  ackSeconds: byCriticality,
  /** Mandatory information: seconds from the report by which each level must have been told, acknowledged or not. */
  informSeconds: z.object({ deputy_director: byCriticality, director: byCriticality }),
  /** Seconds between progress reports (续报) while open. */
  progressSeconds: byCriticality,
  /** Seconds after a missed progress report's reminder before the section is told. */
  progressEscalateSeconds: byCriticality,
  /** Seconds from the report by which "reported to the upper-level agency" must be marked. */
  upperReportSeconds: byCriticality,
  /** Seconds after that reminder before the deputy director is told. */
  upperReportEscalateSeconds: byCriticality,
  /** Seconds from the report by which the required playbook steps should be marked. */
  stepDueSeconds: byCriticality,
  stepEscalateSeconds: byCriticality,
  /** Seconds after closure by which the written report is due. */
  writtenReportDueSeconds: z.number().int().positive(),
  /** Reminders this many seconds before the written report is due. */
  writtenReportRemindBeforeSeconds: z.array(z.number().int().positive()).max(5),
  /** Seconds after the written report fell due (the section is told then) before the deputy director is told. */
  writtenReportEscalateSeconds: z.number().int().positive().default(86_400),
  dailyContact: z.object({
    reminderAt: hhmm,
    checkAt: hhmm,
    /** Seconds after the check before the section is told. */
    sectionAfterSeconds: z.number().int().positive(),
    /**
     * Days in a row without a reached contact (counted from the logs and the day's check) that offer the
     * absconding report. A count of days, not of logs; the key keeps its first name so org files stay valid.
     */
    failuresBeforeAbsconding: z.number().int().min(1),
    /** Days in a row without a reached contact after which the deputy director is told. */
    deputyDirectorAfterDays: z.number().int().min(1).default(3),
  }),
  /** The bureau's own settings for absences (外出): who approves by length, the longest, the overdue chain. */
  absence: z
    .object({
      /** Absences of up to this many days (the whole stay, extensions included) are approved by the office head; longer ones by the section. */
      officeHeadUpToDays: z.number().int().min(0),
      /** Longest stay, in days, extensions included. */
      maxDays: z.number().int().min(1),
      /** Seconds after the end date's last moment without 销假 before the officer and the office head are alerted. */
      overdueAlertSeconds: z.number().int().positive(),
      /** Seconds after that alert before the absconding report is offered. */
      overdueOfferSeconds: z.number().int().positive(),
      /** Seconds after the offer before the section is told. */
      overdueSectionSeconds: z.number().int().positive(),
    })
    .default({ officeHeadUpToDays: 7, maxDays: 92, overdueAlertSeconds: 43_200, overdueOfferSeconds: 21_600, overdueSectionSeconds: 54_000 }),
  /** Whether the responsible officer sees a subject's full name in a private chat (the deployment's PII_MODE masks it otherwise). */
  subjectNames: z.object({ responsibleOfficerSeesFullName: z.boolean() }).default({ responsibleOfficerSeesFullName: false }),
  /** 迟报: reported more than this many seconds after discovery. */
  lateReportSeconds: z.number().int().positive(),
  digestAt: hhmm,
  /** The criticalities whose 续报 go to the leaders (deputy director, director) as well as the section and the office. */
  progressToLeaders: z.array(z.enum(['critical', 'standard'])).default(['critical']),
  /** 三(一): the criticalities whose incidents carry the section's step 向区人民政府报告 (none by default). */
  reportToDistrictGovernment: z.array(z.enum(['critical', 'standard'])).default([]),
  /** Drills on the calendar (七(二), 每年不少于一次): when a scheduled one starts, and when the year's reminder begins. */
  drills: z
    .object({
      /** The local time a drill scheduled for a date starts that day. */
      startsAt: hhmm,
      /** From this month (1–12) on, an office with no drill held or scheduled in the calendar year is named to the section. */
      remindFromMonth: z.number().int().min(1).max(12),
      /** Days a scheduled drill may start late (the worker was down on its date); older ones are recorded as missed. */
      catchUpDays: z.number().int().min(0).max(31),
    })
    .default({ startsAt: '09:30', remindFromMonth: 10, catchUpDays: 3 }),
  /** 特殊敏感时间段: officers are reminded to check their subjects this many days before a period starts. */
  sensitivePeriods: z.object({ remindDaysBefore: z.number().int().min(0).max(60) }).default({ remindDaysBefore: 3 }),
  /** 三: the response levels the plan is activated at (codes, each labelled in the catalogue), and seconds an instruction may go without 收到. */
  command: z
    .object({
      responseLevels: z.array(z.string().regex(/^[A-Za-z0-9_]{1,12}$/)).min(1).max(8),
      receiptSeconds: z.number().int().positive(),
    })
    .default({ responseLevels: ['I', 'II', 'III'], receiptSeconds: 900 }),
  /** 处罚: the bureau's list of sanctions (codes; a name where the catalogue has none), the plan's measures by default. */
  sanctions: z
    .object({
      kinds: z
        .array(z.object({ code: z.string().regex(/^[A-Za-z0-9_]{1,32}$/), name: z.string().min(1).max(40).optional(), name_en: z.string().min(1).max(80).optional() }))
        .min(1)
        .max(20),
    })
    .default({ kinds: DEFAULT_SANCTION_KINDS.map((code) => ({ code })) }),
  /** 脱管: seconds out of supervision (from the incident's discovered-at) at which the section is told, while not found. */
  absconding: z.object({ thresholdsSeconds: z.array(z.number().int().positive()).max(6) }).default({ thresholdsSeconds: [...DEFAULT_ABSCONDING_THRESHOLDS_SECONDS] }),
  /** Each type's criticality (一, 四(九)), the plan's by default; it chooses every time of the type's incidents. */
  criticality: criticalitySchema.default(DEFAULT_CRITICALITY),
  /** The bureau's edits to the playbooks (四, 五): steps added, replaced or removed by key (./playbook-edits.ts). */
  playbooks: playbookEditsSchema.default({}),
  /** 七(一): days between screenings, by risk level. */
  screening: z
    .object({ intervalDays: z.object({ high: z.number().int().min(1).max(366), normal: z.number().int().min(1).max(366), low: z.number().int().min(1).max(366) }) })
    .default({ intervalDays: { high: 7, normal: 30, low: 90 } }),
  /** 五(二): the bureau's last approver of the written report; the upper-level agency receives it, it does not sign it. */
  writtenReport: z.object({ lastApprover: z.enum(BUREAU_APPROVERS) }).default({ lastApprover: 'director' }),
});

export type EscalationPolicy = z.infer<typeof escalationPolicySchema>;

const s = (ms: number) => Math.round(ms / 1000);

export const DEFAULT_POLICY: EscalationPolicy = {
  version: 1,
  ackSeconds: { critical: s(5 * MINUTE), standard: s(15 * MINUTE) },
  informSeconds: {
    deputy_director: { critical: s(15 * MINUTE), standard: s(1 * HOUR) },
    director: { critical: s(30 * MINUTE), standard: s(4 * HOUR) },
  },
  progressSeconds: { critical: s(30 * MINUTE), standard: s(4 * HOUR) },
  progressEscalateSeconds: { critical: s(15 * MINUTE), standard: s(1 * HOUR) },
  upperReportSeconds: { critical: s(1 * HOUR), standard: s(4 * HOUR) },
  upperReportEscalateSeconds: { critical: s(30 * MINUTE), standard: s(1 * HOUR) },
  stepDueSeconds: { critical: s(2 * HOUR), standard: s(8 * HOUR) },
  stepEscalateSeconds: { critical: s(1 * HOUR), standard: s(4 * HOUR) },
  writtenReportDueSeconds: s(7 * DAY),
  writtenReportRemindBeforeSeconds: [s(3 * DAY), s(1 * DAY)],
  writtenReportEscalateSeconds: s(1 * DAY),
  dailyContact: { reminderAt: '09:00', checkAt: '18:00', sectionAfterSeconds: s(1 * HOUR), failuresBeforeAbsconding: 2, deputyDirectorAfterDays: 3 },
  // The end date's last moment is local midnight: alerted at 12:00 the day after, offered at 18:00, the section at 09:00 the next day.
  absence: { officeHeadUpToDays: 7, maxDays: 92, overdueAlertSeconds: s(12 * HOUR), overdueOfferSeconds: s(6 * HOUR), overdueSectionSeconds: s(15 * HOUR) },
  subjectNames: { responsibleOfficerSeesFullName: false },
  lateReportSeconds: s(30 * MINUTE),
  digestAt: '18:00',
  progressToLeaders: ['critical'],
  reportToDistrictGovernment: [],
  drills: { startsAt: '09:30', remindFromMonth: 10, catchUpDays: 3 },
  sensitivePeriods: { remindDaysBefore: 3 },
  command: { responseLevels: ['I', 'II', 'III'], receiptSeconds: s(15 * MINUTE) },
  sanctions: { kinds: DEFAULT_SANCTION_KINDS.map((code) => ({ code })) },
  absconding: { thresholdsSeconds: [...DEFAULT_ABSCONDING_THRESHOLDS_SECONDS] },
  criticality: DEFAULT_CRITICALITY,
  playbooks: {},
  screening: { intervalDays: { high: 7, normal: 30, low: 90 } },
  writtenReport: { lastApprover: 'director' },
};

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? (T[K] extends unknown[] ? T[K] : DeepPartial<T[K]>) : T[K] };
export type PolicyOverrides = DeepPartial<Omit<EscalationPolicy, 'version'>>;

function merge<T>(base: T, over: unknown): T {
  if (over === undefined || over === null || typeof over !== 'object' || Array.isArray(over)) return (over ?? base) as T;
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [k, v] of Object.entries(over)) out[k] = merge((base as Record<string, unknown>)[k], v);
  return out as T;
}

/** Defaults overlaid with a deployment's overrides, validated. */
export function resolvePolicy(overrides: PolicyOverrides = {}, base: EscalationPolicy = DEFAULT_POLICY): EscalationPolicy {
  return escalationPolicySchema.parse(merge(base, overrides));
}

/** Settings that are counts (days, not seconds): a time scale leaves them alone. */
const UNSCALED_KEYS: ReadonlySet<string> = new Set(['version', 'failuresBeforeAbsconding', 'deputyDirectorAfterDays', 'officeHeadUpToDays', 'maxDays', 'remindFromMonth', 'catchUpDays', 'remindDaysBefore']);

/** Settings that hold no durations at all (days, criticalities, steps): a time scale leaves the whole subtree alone. */
const UNSCALED_SUBTREES: ReadonlySet<string> = new Set(['criticality', 'playbooks', 'screening', 'writtenReport']);

/** Every duration multiplied by a factor (the sandbox uses 1/60 so minutes become seconds). */
export function scalePolicy(policy: EscalationPolicy, factor: number): EscalationPolicy {
  const scale = (n: number) => Math.max(1, Math.round(n * factor));
  const walk = (v: unknown, key: string): unknown => {
    if (UNSCALED_SUBTREES.has(key)) return v;
    if (typeof v === 'number') return UNSCALED_KEYS.has(key) ? v : scale(v);
    if (Array.isArray(v)) return v.map((x) => walk(x, key));
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x, k)]));
    return v;
  };
  return escalationPolicySchema.parse(walk(policy, ''));
}

/** 迟报: whether a report came later than the threshold after discovery. */
export function isLateReport(discoveredAt: Date, reportedAt: Date, policy: EscalationPolicy): boolean {
  return reportedAt.getTime() - discoveredAt.getTime() > policy.lateReportSeconds * 1000;
}

// ---------------------------------------------------------------------------------------------
// Timers: every deadline is a row. Levels go up the chain; level 0 is a reminder to whoever owes it.

export const TIMER_KINDS = [
  'ack',
  'inform',
  'progress',
  'upper_report',
  'steps_overdue',
  'written_report',
  'contact_check',
  /** An instruction or proposal of the command loop nobody has receipted (收到): cycle = the message. */
  'command_receipt',
  /** 脱管 for as long as a threshold of the bureau's: cycle = the threshold, in seconds. */
  'absconding_threshold',
] as const;
export type TimerKind = (typeof TIMER_KINDS)[number];

/** Who a timer's message goes to when it fires. */
export type TimerTarget =
  | { kind: 'reporter' }
  | { kind: 'position'; position: PositionKind; scope: 'office' | 'bureau' }
  | { kind: 'responsible_officer' };

export interface TimerSpec {
  kind: TimerKind;
  level: number;
  dueAt: Date;
  /** Unique per deadline; also the BullMQ job id, so `:` is never used. */
  dedupeKey: string;
  incidentId?: string;
  subjectId?: string;
  /** Progress-report cycle, or the local date for daily contacts. */
  cycle?: string;
  target: TimerTarget;
}

const sec = (n: number) => n * 1000;

export function timerDedupeKey(kind: TimerKind, ownerId: string, level: number, cycle?: string): string {
  return [kind, ownerId, ...(cycle === undefined ? [] : [cycle]), String(level)].join('-').replace(/:/g, '-');
}

/** Who a timer kind at a level pages. */
export function timerTarget(kind: TimerKind, level: number): TimerTarget {
  const pos = (position: PositionKind, scope: 'office' | 'bureau' = 'bureau'): TimerTarget => ({ kind: 'position', position, scope });
  switch (kind) {
    case 'ack':
      return level <= 1 ? pos('deputy_director') : pos('director');
    case 'inform':
      return level <= 1 ? pos('deputy_director') : pos('director');
    case 'progress':
      return level === 0 ? { kind: 'reporter' } : pos('section');
    case 'upper_report':
      return level === 0 ? pos('section') : pos('deputy_director');
    case 'steps_overdue':
      return level === 0 ? { kind: 'reporter' } : pos('section');
    case 'written_report':
      return level < 2 ? pos('office_head', 'office') : level === 2 ? pos('section') : pos('deputy_director');
    case 'contact_check':
      return level === 0 ? pos('office_head', 'office') : pos('section');
    case 'command_receipt':
      return pos('section');
    case 'absconding_threshold':
      return pos('section');
  }
}

export interface ReportedIncidentTiming {
  id: string;
  criticality: Criticality;
  reportedAt: Date;
}

/** The deadlines a new report creates: acknowledgement ladder, mandatory information, progress, upper report, steps. */
export function timersOnReport(incident: ReportedIncidentTiming, policy: EscalationPolicy): TimerSpec[] {
  const c = incident.criticality;
  const at = (ms: number) => addMs(incident.reportedAt, ms);
  const mk = (kind: TimerKind, level: number, dueAt: Date, cycle?: string): TimerSpec => ({
    kind,
    level,
    dueAt,
    dedupeKey: timerDedupeKey(kind, incident.id, level, cycle),
    incidentId: incident.id,
    target: timerTarget(kind, level),
    ...(cycle === undefined ? {} : { cycle }),
  });
  const ack = sec(policy.ackSeconds[c]);
  const upper = sec(policy.upperReportSeconds[c]);
  const steps = sec(policy.stepDueSeconds[c]);
  return [
    mk('ack', 1, at(ack)),
    mk('ack', 2, at(2 * ack)),
    mk('inform', 1, at(sec(policy.informSeconds.deputy_director[c]))),
    mk('inform', 2, at(sec(policy.informSeconds.director[c]))),
    ...progressTimers(incident, policy, incident.reportedAt, 1),
    mk('upper_report', 0, at(upper)),
    mk('upper_report', 1, at(upper + sec(policy.upperReportEscalateSeconds[c]))),
    mk('steps_overdue', 0, at(steps)),
    mk('steps_overdue', 1, at(steps + sec(policy.stepEscalateSeconds[c]))),
  ];
}

/** The next progress-report deadline, counted from the last report (or from the incident report). */
export function progressTimers(incident: ReportedIncidentTiming, policy: EscalationPolicy, lastReportAt: Date, cycle: number): TimerSpec[] {
  const c = incident.criticality;
  const due = addMs(lastReportAt, sec(policy.progressSeconds[c]));
  return [0, 1].map((level) => ({
    kind: 'progress' as const,
    level,
    dueAt: level === 0 ? due : addMs(due, sec(policy.progressEscalateSeconds[c])),
    dedupeKey: timerDedupeKey('progress', incident.id, level, String(cycle)),
    incidentId: incident.id,
    cycle: String(cycle),
    target: timerTarget('progress', level),
  }));
}

/**
 * The written report's deadlines, counted from its due date: reminders to the office head before (levels
 * 0 and 1), the section when it is due (2), the deputy director a while after (3).
 */
function writtenReportSchedule(incidentId: string, due: Date, policy: EscalationPolicy, cycle?: string): TimerSpec[] {
  const mk = (level: number, dueAt: Date): TimerSpec => ({
    kind: 'written_report',
    level,
    dueAt,
    dedupeKey: timerDedupeKey('written_report', incidentId, level, cycle),
    incidentId,
    target: timerTarget('written_report', level),
    ...(cycle === undefined ? {} : { cycle }),
  });
  const reminders = [...policy.writtenReportRemindBeforeSeconds].sort((a, b) => b - a).slice(0, 2);
  // A policy snapshotted before the deputy director's level existed has no value for it.
  const escalate = policy.writtenReportEscalateSeconds ?? DEFAULT_POLICY.writtenReportEscalateSeconds;
  return [...reminders.map((before, i) => mk(i, addMs(due, -sec(before)))), mk(2, due), mk(3, addMs(due, sec(escalate)))];
}

/** The written report (书面报告) is due after closure: reminders before, escalation when overdue. */
export function writtenReportTimers(incidentId: string, closedAt: Date, policy: EscalationPolicy): TimerSpec[] {
  return writtenReportSchedule(incidentId, writtenReportDueAt(closedAt, policy), policy).filter((t) => t.dueAt.getTime() > closedAt.getTime());
}

/**
 * After the report was returned to the office: its deadlines again, still counted from the original due
 * date — those still ahead are kept, and a due date already passed escalates to the section at once.
 * `round` counts the returns to the office, so each round's timers are rows (and jobs) of their own.
 */
export function writtenReportTimersAfterReturn(incidentId: string, dueAt: Date, now: Date, policy: EscalationPolicy, round: number): TimerSpec[] {
  const specs = writtenReportSchedule(incidentId, dueAt, policy, `r${round}`);
  const ahead = specs.filter((t) => t.dueAt.getTime() > now.getTime());
  if (dueAt.getTime() > now.getTime()) return ahead;
  const overdue = specs.find((t) => t.level === 2)!;
  return [{ ...overdue, dueAt: now }, ...ahead];
}

/** Due date of the written report, for display. */
export function writtenReportDueAt(closedAt: Date, policy: EscalationPolicy): Date {
  return addMs(closedAt, sec(policy.writtenReportDueSeconds));
}

/** Daily contact for a subject away: the 09:00 reminder, and the checks at 18:00 (office head) and later (section). */
export function dailyContactSchedule(date: string, policy: EscalationPolicy, tz: string): { reminderAt: Date; checkAt: Date; sectionAt: Date } {
  const checkAt = atLocalTime(date, policy.dailyContact.checkAt, tz);
  return {
    reminderAt: atLocalTime(date, policy.dailyContact.reminderAt, tz),
    checkAt,
    sectionAt: addMs(checkAt, sec(policy.dailyContact.sectionAfterSeconds)),
  };
}

export function contactCheckTimers(subjectId: string, date: string, policy: EscalationPolicy, tz: string): TimerSpec[] {
  const { checkAt, sectionAt } = dailyContactSchedule(date, policy, tz);
  return [
    { kind: 'contact_check', level: 0, dueAt: checkAt, dedupeKey: timerDedupeKey('contact_check', subjectId, 0, date), subjectId, cycle: date, target: timerTarget('contact_check', 0) },
    { kind: 'contact_check', level: 1, dueAt: sectionAt, dedupeKey: timerDedupeKey('contact_check', subjectId, 1, date), subjectId, cycle: date, target: timerTarget('contact_check', 1) },
  ];
}

/** What closes a timer: the event it waits for. Mandatory information ('inform') is closed by nothing but firing. */
export type TimerSatisfier = 'acknowledged' | 'progress_reported' | 'upper_reported' | 'steps_complete' | 'report_submitted' | 'contact_logged' | 'incident_closed' | 'subject_found';

export function timerKindsClosedBy(event: TimerSatisfier): readonly TimerKind[] {
  switch (event) {
    case 'acknowledged':
      return ['ack'];
    case 'progress_reported':
      return ['progress'];
    case 'upper_reported':
      return ['upper_report'];
    case 'steps_complete':
      return ['steps_overdue'];
    case 'report_submitted':
      return ['written_report'];
    case 'contact_logged':
      return ['contact_check'];
    case 'incident_closed':
      return ['ack', 'progress', 'upper_report', 'steps_overdue', 'command_receipt', 'absconding_threshold'];
    case 'subject_found':
      return ['absconding_threshold'];
  }
}

export interface PendingTimerView {
  kind: TimerKind;
  level: number;
  dueAt: Date;
  target: TimerTarget;
}

/** "What is due next, to whom": pending deadlines in order, the overdue ones first. */
export function nextDeadlines<T extends PendingTimerView>(timers: readonly T[], now: Date, limit = 3): Array<T & { overdue: boolean }> {
  return [...timers]
    .sort((a, b) => a.dueAt.getTime() - b.dueAt.getTime())
    .slice(0, limit)
    .map((t) => ({ ...t, overdue: t.dueAt.getTime() <= now.getTime() }));
}

/** A time scale (POLICY_TIME_SCALE) as people read it: `1/60` for a factor of 1/60; the decimal otherwise. */
export function timeScaleLabel(scale: number): string {
  const inverse = 1 / scale;
  return Math.abs(inverse - Math.round(inverse)) < 1e-9 && inverse > 1 ? `1/${Math.round(inverse)}` : String(scale);
}

/**
 * How much of a subject's name a viewer sees: the deployment's PII_MODE, except that the subject's own
 * responsible officer sees the full name in a private chat when the bureau allows it. Codes-only stays
 * codes-only: the deployment chose to show no names at all.
 */
export function subjectPiiModeFor(
  deployment: PiiMode,
  settings: Pick<EscalationPolicy, 'subjectNames'>,
  viewer: { staffId: string },
  subject: { responsibleStaffId: string | null },
  chat: ChatKind,
): PiiMode {
  if (deployment !== 'masked' || chat !== 'private') return deployment;
  const own = subject.responsibleStaffId !== null && subject.responsibleStaffId === viewer.staffId;
  return own && settings.subjectNames.responsibleOfficerSeesFullName ? 'full' : deployment;
}
