/**
 * The written report (书面报告) as an official document: the bureau's mark, the number, the title, the
 * addressee (the upper-level agency), 一、基本情况 and the body sections, the sign-off table with names and
 * times, the office's signature and the copy to the procuratorate. Any stage can be exported; a draft
 * says which version it is and where it stands.
 */
import { hasMessage, t, type Lang, type MessageKey } from '../../i18n/index.js';
import { EPIDEMIC_SCENARIO_INFO, INCIDENT_TYPE_INFO, type EpidemicScenario, type IncidentType } from '../../domain/incident-types.js';
import { parseIncidentNumber } from '../../domain/incident-number.js';
import { signoffWording, type BureauApprover, type ReportSectionKey, type SignoffDecision, type WrittenReportStage } from '../../domain/written-report.js';
import { asSentence, docDate, docDateTime, docLocalDate, docTime, sameLocalDay } from '../format.js';
import { numberedHeading, renderOfficialDocument, type DocBlock, type OfficialDocModel } from './official.js';

export interface WrittenReportDocData {
  lang: Lang;
  timeZone: string;
  /** When the file is exported, printed on a draft. */
  now: Date;
  authority: string;
  upperName: string;
  officeName: string;
  incident: {
    number: string;
    type: IncidentType;
    scenario: EpidemicScenario | null;
    occurredAt: Date | null;
    discoveredAt: Date;
    reportedAt: Date;
    closedAt: Date | null;
    place: string | null;
    injured: number;
    dead: number;
    reporterName: string;
    /** Already masked per PII_MODE. */
    subjectLabel: string | null;
    /** 十: the sensitive period the report was linked to (local dates, `YYYY-MM-DD`); absent: none. */
    sensitivePeriod?: { name: string; startsOn: string; endsOn: string } | null;
  };
  stage: WrittenReportStage;
  version: number;
  sections: ReadonlyArray<{ key: ReportSectionKey; text: string }>;
  signoffs: ReadonlyArray<{ stage: WrittenReportStage; decision: SignoffDecision; comment: string | null; name: string; at: Date; version: number }>;
  /** The bureau's last approver, whose approval reads 审定 (the director when left out). */
  lastApprover?: BureauApprover;
  /** Receipts from outside parties (codes of party and method) and sanctions (the kind's name resolved); absent or empty: no such part. */
  outside?: {
    /** `contactName`: the directory's unit offered for the call; `recordedBy`: who made the call or gave the notice. */
    receipts: ReadonlyArray<{ party: string; method: string; at: Date; answeredBy: string; reference: string | null; contactName?: string | null; recordedBy?: string }>;
    /** `decidedBy`: who recorded the decision (the proposer while it is only proposed). */
    sanctions: ReadonlyArray<{ kind: string; grounds: string; proposer: string; decision: string; decidedAt: Date; decidedBy?: string }>;
    /** Names of the bureau's own sanction kinds, where the catalogue has none. */
    kindNames?: Readonly<Record<string, { zh?: string | undefined; en?: string | undefined }>>;
  };
  /** 三: the plan's activation (its level's code), HQ, the instructions and proposals (their kinds) with their receipts; absent or empty: no such part. */
  command?: {
    activation: { level: string; name: string; at: Date } | null;
    /** 升级 / 降级 after the activation, oldest first (levels and direction as codes). */
    levelChanges?: ReadonlyArray<{ at: Date; name: string; from: string; to: string; direction: string; reason: string }>;
    commander: string | null;
    deputy: string | null;
    /** 现场指挥部, by name; absent or null: none was named. */
    onsite?: string | null;
    messages: ReadonlyArray<{ at: Date; kind: string; from: string; text: string; receipts: ReadonlyArray<{ name: string; at: Date }> }>;
  };
}

export function typeLabel(type: IncidentType, scenario: EpidemicScenario | null, lang: Lang): string {
  const base = INCIDENT_TYPE_INFO[type].name[lang];
  return type === 'epidemic' && scenario ? `${base}（${EPIDEMIC_SCENARIO_INFO[scenario].ordinal}）` : base;
}

export function writtenReportDocModel(d: WrittenReportDocData): OfficialDocModel {
  const { lang, timeZone: tz, incident: inc } = d;
  const m = (key: MessageKey, params = {}) => t(lang, key, params);
  const when = (x: Date | null) => (x ? docDateTime(x, tz, lang) : m('wr.doc.unknown'));
  const parsed = parseIncidentNumber(inc.number);
  const type = typeLabel(inc.type, inc.scenario, lang);
  // A table's time column is as wide as its date, so the time wraps below it at the space; a receipt on
  // the message's own day is given by its time alone.
  const cellTime = (x: Date) => docDateTime(x, tz, lang);
  // A table cell holds a value, not a sentence.
  const value = (text: string) => text.replace(/[。.]$/, '');
  const period = inc.sensitivePeriod;

  const blocks: DocBlock[] = [];
  let n = 0;
  blocks.push({ kind: 'heading', text: numberedHeading(++n, m('wr.section.basic'), lang) });
  blocks.push({
    kind: 'pairs',
    rows: [
      [m('wr.doc.basic.number'), inc.number],
      [m('wr.doc.basic.type'), type],
      ...(period
        ? [[m('wr.doc.basic.sensitive_period'), m('wr.doc.basic.period_value', { name: period.name, from: docLocalDate(period.startsOn, lang), to: docLocalDate(period.endsOn, lang) })] as const]
        : []),
      [m('wr.doc.basic.subject'), inc.subjectLabel ?? m('wr.doc.unknown')],
      [m('wr.doc.basic.office'), d.officeName],
      [m('wr.doc.basic.occurred'), when(inc.occurredAt)],
      [m('wr.doc.basic.discovered'), when(inc.discoveredAt)],
      [m('wr.doc.basic.reported'), `${when(inc.reportedAt)}（${inc.reporterName}）`],
      [m('wr.doc.basic.place'), inc.place ?? m('wr.doc.unknown')],
      [m('wr.doc.basic.casualties'), value(m('wr.prefill.casualties', { injured: inc.injured, dead: inc.dead }))],
      [m('wr.doc.basic.closed'), when(inc.closedAt)],
    ],
  });
  for (const s of d.sections) {
    blocks.push({ kind: 'heading', text: numberedHeading(++n, m(`wr.section.${s.key}` as MessageKey), lang) });
    blocks.push({ kind: 'paragraph', text: s.text.trim() === '' ? m('wr.doc.empty') : s.text });
  }
  const c = d.command;
  const labelled = (prefix: string, code: string) => (hasMessage(`${prefix}.${code}`) ? t(lang, `${prefix}.${code}` as MessageKey) : code);
  if (c && (c.activation || c.messages.length)) {
    blocks.push({ kind: 'heading', text: numberedHeading(++n, m('wr.doc.command'), lang) });
    blocks.push({ kind: 'paragraph', text: c.activation ? m('wr.doc.command.activated', { time: when(c.activation.at), name: c.activation.name, level: labelled('command.level', c.activation.level) }) : m('wr.doc.command.not_activated') });
    for (const x of c.activation ? (c.levelChanges ?? []) : [])
      blocks.push({
        kind: 'paragraph',
        text: m('wr.doc.command.level_changed', { time: when(x.at), name: x.name, from: labelled('command.level', x.from), to: labelled('command.level', x.to), direction: labelled('command.direction', x.direction), reason: asSentence(x.reason, lang) }),
      });
    if (c.activation) blocks.push({ kind: 'paragraph', text: m('wr.doc.command.hq', { commander: c.commander ?? m('command.nobody'), deputy: c.deputy ?? m('command.nobody') }) });
    if (c.onsite) blocks.push({ kind: 'paragraph', text: m('wr.doc.command.onsite', { name: c.onsite }) });
    if (c.messages.length === 0) blocks.push({ kind: 'paragraph', text: m('wr.doc.command.no_messages') });
    else
      blocks.push({
        kind: 'table',
        columns: [m('wr.doc.command.col.at'), m('wr.doc.command.col.kind'), m('wr.doc.command.col.from'), m('wr.doc.command.col.text'), m('wr.doc.command.col.receipts')],
        widths: [23, 13, 13, 29, 22],
        rows: c.messages.map((x) => [
          cellTime(x.at),
          labelled('command.kind', x.kind),
          x.from,
          x.text,
          x.receipts.length
            ? x.receipts.map((r) => m('wr.doc.command.receipt', { name: r.name, time: sameLocalDay(r.at, x.at, tz) ? docTime(r.at, tz) : docDateTime(r.at, tz, lang) })).join('\n')
            : m('wr.doc.command.none_received'),
        ]),
      });
  }
  // Who outside was called or told, and how (四, 五): one row per receipt.
  const label = (prefix: string, code: string) => (hasMessage(`${prefix}.${code}`) ? t(lang, `${prefix}.${code}` as MessageKey) : code);
  if (d.outside?.receipts.length) {
    blocks.push({ kind: 'heading', text: numberedHeading(++n, m('wr.doc.receipts'), lang) });
    blocks.push({
      kind: 'table',
      columns: [m('wr.doc.rc.party'), m('wr.doc.rc.method'), m('wr.doc.rc.when'), m('wr.doc.rc.by'), m('wr.doc.rc.answered'), m('wr.doc.rc.reference')],
      widths: lang === 'zh' ? [19, 8, 22, 14, 16, 21] : [18, 12, 20, 14, 16, 20],
      rows: d.outside.receipts.map((r) => [
        // The unit the directory offered (拱宸桥派出所) where there was one, else the party (公安“110”).
        r.contactName?.trim() || label('party', r.party),
        label('opr.method', r.method).replace(/^\S+\s/, ''),
        cellTime(r.at),
        r.recordedBy ?? '',
        r.answeredBy,
        r.reference ?? '—',
      ]),
    });
  }
  // 处罚: what was proposed or taken, on what grounds, by whom, and where it stands.
  if (d.outside?.sanctions.length) {
    blocks.push({ kind: 'heading', text: numberedHeading(++n, m('wr.doc.sanctions'), lang) });
    blocks.push({
      kind: 'table',
      columns: [m('wr.doc.sc.kind'), m('wr.doc.sc.grounds'), m('wr.doc.sc.proposer'), m('wr.doc.sc.decision'), m('wr.doc.sc.date')],
      widths: [17, 25, 13, 22, 23],
      rows: d.outside.sanctions.map((x) => [
        hasMessage(`sanction.kind.${x.kind}`) ? label('sanction.kind', x.kind) : ((lang === 'en' ? d.outside?.kindNames?.[x.kind]?.en : undefined) ?? d.outside?.kindNames?.[x.kind]?.zh ?? x.kind),
        x.grounds,
        x.proposer,
        // Who decided, once it is more than a proposal and someone other than the proposer decided it.
        x.decision !== 'proposed' && x.decidedBy && x.decidedBy !== x.proposer ? m('wr.doc.sc.decided_by', { decision: label('sanction.decision', x.decision), name: x.decidedBy }) : label('sanction.decision', x.decision),
        docDate(x.decidedAt, tz, lang),
      ]),
    });
  }
  blocks.push({ kind: 'heading', text: numberedHeading(++n, m('wr.doc.signoffs'), lang) });
  if (d.signoffs.length === 0) {
    blocks.push({ kind: 'paragraph', text: m('wr.doc.no_signoffs') });
  } else {
    blocks.push({
      kind: 'table',
      columns: [m('wr.doc.col.level'), m('wr.doc.col.name'), m('wr.doc.col.decision'), m('wr.doc.col.comment'), m('wr.doc.col.at'), m('wr.doc.col.version')],
      // English words (Submitted, Version) are wider than 提交 and 版本.
      widths: lang === 'zh' ? [20, 13, 11, 25, 23, 8] : [19, 12, 15, 21, 22, 11],
      rows: d.signoffs.map((s) => [
        m(`wr.stage.${s.stage}` as MessageKey),
        s.name,
        m(`wr.decision.${signoffWording(s.stage, s.decision, d.lastApprover)}` as MessageKey),
        s.comment ?? '',
        cellTime(s.at),
        String(s.version),
      ]),
    });
  }

  const approved = d.stage === 'approved';
  const lastApproval = [...d.signoffs].reverse().find((s) => s.decision === 'approved');
  return {
    lang,
    authority: m('wr.doc.header', { org: d.authority }),
    number: m('wr.doc.number', { year: parsed?.year ?? '', seq: parsed?.seq ?? inc.number }),
    title: m('wr.doc.title', { number: inc.number, type }),
    status: approved
      ? m('wr.doc.status_approved', { version: d.version })
      : m('wr.doc.status_draft', { version: d.version, stage: m(`wr.stage.${d.stage}` as MessageKey), at: docDateTime(d.now, tz, lang) }),
    recipient: m('wr.doc.recipient', { upper: d.upperName }),
    intro: m('wr.doc.intro', { number: inc.number }),
    blocks,
    signature: { unit: d.authority, date: docDate(approved && lastApproval ? lastApproval.at : d.now, tz, lang) },
    copyTo: m('wr.doc.footer_cc', { to: m('wr.doc.procuratorate') }),
  };
}

export function renderWrittenReportDocx(d: WrittenReportDocData): Promise<Buffer> {
  return renderOfficialDocument(writtenReportDocModel(d));
}

/** ASCII file name, safe in every client: `written-report-2026-0001-v3.docx`. */
export function writtenReportFileName(number: string, version: number): string {
  return `written-report-${number.replace(/[^0-9A-Za-z-]/g, '')}-v${version}.docx`;
}
