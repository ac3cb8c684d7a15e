/**
 * The written report (书面报告) as an official document: the bureau's mark, the number, the title, the
 * addressee (the upper-level agency), 一、基本情况 and the body sections, the sign-off table with names and
 * times, the office's signature and the copy to the procuratorate. Any stage can be exported; a draft
 * says which version it is and where it stands.
 */
import { t, type Lang, type MessageKey } from '../../i18n/index.js';
import { EPIDEMIC_SCENARIO_INFO, INCIDENT_TYPE_INFO, type EpidemicScenario, type IncidentType } from '../../domain/incident-types.js';
import { parseIncidentNumber } from '../../domain/incident-number.js';
import { signoffWording, type ReportSectionKey, type SignoffDecision, type WrittenReportStage } from '../../domain/written-report.js';
import { docDate, docDateTime } from '../format.js';
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
  };
  stage: WrittenReportStage;
  version: number;
  sections: ReadonlyArray<{ key: ReportSectionKey; text: string }>;
  signoffs: ReadonlyArray<{ stage: WrittenReportStage; decision: SignoffDecision; comment: string | null; name: string; at: Date; version: number }>;
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

  const blocks: DocBlock[] = [];
  let n = 0;
  blocks.push({ kind: 'heading', text: numberedHeading(++n, m('wr.section.basic'), lang) });
  blocks.push({
    kind: 'pairs',
    rows: [
      [m('wr.doc.basic.number'), inc.number],
      [m('wr.doc.basic.type'), type],
      [m('wr.doc.basic.subject'), inc.subjectLabel ?? m('wr.doc.unknown')],
      [m('wr.doc.basic.office'), d.officeName],
      [m('wr.doc.basic.occurred'), when(inc.occurredAt)],
      [m('wr.doc.basic.discovered'), when(inc.discoveredAt)],
      [m('wr.doc.basic.reported'), `${when(inc.reportedAt)}（${inc.reporterName}）`],
      [m('wr.doc.basic.place'), inc.place ?? m('wr.doc.unknown')],
      [m('wr.doc.basic.casualties'), m('wr.prefill.casualties', { injured: inc.injured, dead: inc.dead })],
      [m('wr.doc.basic.closed'), when(inc.closedAt)],
    ],
  });
  for (const s of d.sections) {
    blocks.push({ kind: 'heading', text: numberedHeading(++n, m(`wr.section.${s.key}` as MessageKey), lang) });
    blocks.push({ kind: 'paragraph', text: s.text.trim() === '' ? m('wr.doc.empty') : s.text });
  }
  blocks.push({ kind: 'heading', text: numberedHeading(++n, m('wr.doc.signoffs'), lang) });
  if (d.signoffs.length === 0) {
    blocks.push({ kind: 'paragraph', text: m('wr.doc.no_signoffs') });
  } else {
    blocks.push({
      kind: 'table',
      columns: [m('wr.doc.col.level'), m('wr.doc.col.name'), m('wr.doc.col.decision'), m('wr.doc.col.comment'), m('wr.doc.col.at'), m('wr.doc.col.version')],
      widths: [18, 14, 14, 26, 20, 8],
      rows: d.signoffs.map((s) => [
        m(`wr.stage.${s.stage}` as MessageKey),
        s.name,
        m(`wr.decision.${signoffWording(s.stage, s.decision)}` as MessageKey),
        s.comment ?? '',
        docDateTime(s.at, tz, lang),
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
