/**
 * CSV exports (RFC 4180): fields quoted when they hold a comma, quote or line break; CRLF line ends; a
 * UTF-8 byte-order mark so that Excel opens Chinese text correctly. A field that starts with = + - @ is
 * prefixed with ' so a spreadsheet does not run it as a formula.
 */
import { t, type Lang, type MessageKey } from '../i18n/index.js';
import { REGISTER_CATEGORIES, type MonthlyStats, type RegisterEntry, type StatsRow } from '../domain/accountability.js';
import { docDateTime, minutes } from './format.js';

const BOM = '\uFEFF';

export function csvField(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '';
  let s = String(value);
  if (/^[=+\-@]/.test(s) && typeof value === 'string') s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function toCsv(rows: ReadonlyArray<ReadonlyArray<string | number | null | undefined>>): string {
  return BOM + rows.map((r) => r.map(csvField).join(',')).join('\r\n') + '\r\n';
}

export interface NameLookup {
  unit(id: string): string;
  staff(id: string): string;
}

/** The /stats table: one row per office, then one per person. */
export function statsCsv(stats: MonthlyStats, names: NameLookup, lang: Lang): string {
  const m = (key: MessageKey) => t(lang, key);
  const header = [
    m('stats.csv.scope'),
    m('stats.csv.name'),
    m('stats.csv.incidents'),
    m('stats.csv.report_median'),
    m('stats.csv.report_worst'),
    m('stats.csv.ack_median'),
    m('stats.csv.ack_worst'),
    m('stats.csv.close_median'),
    m('stats.csv.close_worst'),
    ...REGISTER_CATEGORIES.map((c) => m(`acct.cat.${c}` as MessageKey)),
    m('stats.csv.total'),
  ];
  const line = (r: StatsRow) => [
    m(r.scope === 'office' ? 'stats.scope.office' : 'stats.scope.person'),
    r.scope === 'office' ? names.unit(r.id) : names.staff(r.id),
    r.incidents,
    minutes(r.toReport.medianSeconds),
    minutes(r.toReport.worstSeconds),
    minutes(r.toAcknowledge.medianSeconds),
    minutes(r.toAcknowledge.worstSeconds),
    minutes(r.toClose.medianSeconds),
    minutes(r.toClose.worstSeconds),
    ...REGISTER_CATEGORIES.map((c) => r.register[c]),
    r.register.total,
  ];
  return toCsv([header, ...stats.offices.map(line), ...stats.people.map(line)]);
}

const REGISTER_CSV_COLUMNS = ['category', 'rule', 'at', 'incident', 'subject', 'person', 'unit', 'late', 'reason', 'ev_audit', 'ev_steps', 'ev_updates', 'ev_absences', 'ev_dates'] as const;

export interface RegisterCsvContext extends NameLookup {
  incidentNumber(id: string): string;
  subjectCode(id: string): string;
  /** The evidence as a reader knows it: "第 3 步：实地查访", a progress report by its time, an absence by its dates. */
  step(id: string): string;
  update(id: string): string;
  absence(id: string): string;
  timeZone: string;
}

/** The register: one row per entry, with its evidence (audit row numbers, then steps, reports and absences by name). */
export function registerCsv(entries: readonly RegisterEntry[], ctx: RegisterCsvContext, lang: Lang): string {
  const header = REGISTER_CSV_COLUMNS.map((c) => t(lang, `acct.csv.${c}` as MessageKey));
  const sep = lang === 'zh' ? '；' : '; ';
  const rows = entries.map((e) => [
    t(lang, `acct.cat.${e.category}` as MessageKey),
    t(lang, `acct.rule.${e.rule}` as MessageKey),
    docDateTime(e.at, ctx.timeZone, lang),
    e.incidentId ? ctx.incidentNumber(e.incidentId) : '',
    e.subjectId ? ctx.subjectCode(e.subjectId) : '',
    e.staffId ? ctx.staff(e.staffId) : '',
    e.unitId ? ctx.unit(e.unitId) : '',
    minutes(e.lateBySeconds),
    e.reason ?? '',
    e.evidence.auditIds.join(' '),
    e.evidence.stepIds.map(ctx.step).join(sep),
    e.evidence.updateIds.map(ctx.update).join(sep),
    e.evidence.absenceIds.map(ctx.absence).join(sep),
    e.evidence.dates.join(' '),
  ]);
  return toCsv([header, ...rows]);
}
