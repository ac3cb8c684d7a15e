/**
 * The drill evaluation (演练评估) as an official document: a summary, each person's responses against the
 * deadlines, the steps missed, and what the register would have recorded had it been real.
 */
import { t, type Lang, type MessageKey } from '../../i18n/index.js';
import type { DrillEvaluation } from '../../domain/drill.js';
import type { EpidemicScenario, IncidentType } from '../../domain/incident-types.js';
import { parseIncidentNumber } from '../../domain/incident-number.js';
import { docDate, docDateTime, formatDuration } from '../format.js';
import { numberedHeading, renderOfficialDocument, type DocBlock, type OfficialDocModel } from './official.js';
import { typeLabel } from './written-report.docx.js';

export interface DrillEvaluationDocData {
  lang: Lang;
  timeZone: string;
  authority: string;
  incidentNumber: string;
  type: IncidentType;
  scenario: EpidemicScenario | null;
  evaluation: DrillEvaluation;
  /** Staff and unit names by id. */
  names: ReadonlyMap<string, string>;
  /** Step texts by key, in the document's language. */
  stepText: (key: string) => string;
}

export function drillEvaluationDocModel(d: DrillEvaluationDocData): OfficialDocModel {
  const { lang, evaluation: ev } = d;
  const m = (key: MessageKey, params = {}) => t(lang, key, params);
  const name = (id: string | null) => (id ? (d.names.get(id) ?? id.slice(0, 8)) : '—');
  const when = (iso: string) => docDateTime(new Date(iso), d.timeZone, lang);
  const parsed = parseIncidentNumber(d.incidentNumber);
  const blocks: DocBlock[] = [];
  let n = 0;
  blocks.push({
    kind: 'paragraph',
    text: m('drill.doc.summary', {
      start: when(ev.startedAt),
      end: when(ev.endedAt),
      number: d.incidentNumber,
      responses: ev.summary.responses,
      onTime: ev.summary.onTime,
      late: ev.summary.late,
      missed: ev.summary.missedSteps,
    }),
  });
  blocks.push({ kind: 'heading', text: numberedHeading(++n, m('drill.doc.people'), lang) });
  const rows = ev.people.flatMap((p) =>
    p.responses.map((r) => [
      name(p.staffId),
      r.kind === 'step' ? m('drill.kind.step', { step: d.stepText(r.stepKey ?? '') }) : m(`drill.kind.${r.kind}` as MessageKey),
      formatDuration(r.seconds, lang),
      r.deadlineSeconds === null ? m('drill.no_deadline') : formatDuration(r.deadlineSeconds, lang),
      r.onTime ? m('drill.on_time') : m('drill.late'),
    ]),
  );
  blocks.push(
    rows.length
      ? { kind: 'table', columns: [m('drill.doc.col.person'), m('drill.doc.col.action'), m('drill.doc.col.time'), m('drill.doc.col.deadline'), m('drill.doc.col.result')], widths: [18, 40, 14, 14, 14], rows }
      : { kind: 'paragraph', text: m('drill.doc.none') },
  );
  blocks.push({ kind: 'heading', text: numberedHeading(++n, m('drill.doc.missed'), lang) });
  blocks.push({ kind: 'paragraph', text: ev.missedSteps.length ? ev.missedSteps.map((s, i) => `${i + 1}. ${d.stepText(s.key)}`).join('\n') : m('drill.doc.none') });
  blocks.push({ kind: 'heading', text: numberedHeading(++n, m('drill.doc.findings'), lang) });
  blocks.push({
    kind: 'paragraph',
    text: ev.findings.length
      ? ev.findings
          .map((f, i) => {
            const who = [f.staffId ? name(f.staffId) : null, f.unitId ? name(f.unitId) : null].filter(Boolean).join('，');
            const what = m(`acct.rule.${f.rule}` as MessageKey) + (f.stepKey ? `：${d.stepText(f.stepKey)}` : '');
            const late = f.lateBySeconds !== null ? `（${formatDuration(f.lateBySeconds, lang)}）` : '';
            return `${i + 1}. ${what}${late}${who ? ` — ${who}` : ''}`;
          })
          .join('\n')
      : m('drill.doc.none'),
  });
  return {
    lang,
    authority: d.authority,
    number: m('drill.doc.number', { year: parsed?.year ?? '', seq: parsed?.seq ?? d.incidentNumber }),
    title: m('drill.doc.title', { type: typeLabel(d.type, d.scenario, lang) }),
    blocks,
    signature: { unit: d.authority, date: docDate(new Date(ev.endedAt), d.timeZone, lang) },
  };
}

export function renderDrillEvaluationDocx(d: DrillEvaluationDocData): Promise<Buffer> {
  return renderOfficialDocument(drillEvaluationDocModel(d));
}
