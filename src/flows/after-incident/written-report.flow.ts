/**
 * The written report in the chat: /wr lists the reports waiting on you (or opens one by incident number);
 * the card shows where the report stands, each section and the sign-offs, and offers what you may do at
 * this stage — edit a section (the next message replaces it, as a new version), submit, approve, return
 * with a comment, download the .docx. The section's text and the comment are typed into a form of the engine.
 */
import { z } from 'zod';
import type { ButtonAction } from '../actions.js';
import { whoOf, type Conversation } from '../conversation.js';
import { button, grid, type Keyboard } from '../ui.js';
import { escapeHtml, truncate } from '../../i18n/markup.js';
import type { MessageKey } from '../../i18n/index.js';
import {
  canEditAt,
  canSignAt,
  isReportSectionKey,
  MAX_SECTION_CHARS,
  REPORT_SECTION_KEYS,
  SIGNOFF_CHAIN,
  signoffChain,
  signoffWording,
  stageAfterApproval,
  type SignoffDecision,
  type WrittenReportStage,
} from '../../domain/written-report.js';
import { formatLocal } from '../../domain/time.js';
import type { EpidemicScenario, IncidentType } from '../../domain/incident-types.js';
import { typeLabel } from '../../reports/docx/written-report.docx.js';
import {
  approveWrittenReport,
  canReadReport,
  editWrittenReport,
  exportWrittenReportDocx,
  loadWrittenReport,
  reportsAwaiting,
  returnWrittenReport,
  submitWrittenReport,
  writtenReportForIncident,
  type WrittenReportView,
} from '../../services/written-report.service.js';
import { ServiceRefusal } from '../../services/errors.js';
import type { Flow, FlowEngine, FlowEnv } from '../engine.js';
import { textStep } from '../steps/index.js';
import { drillMark, incidentByNumber, m, quote, reply, sendFile, show, type View } from './common.js';

const stageName = (conv: Conversation, stage: WrittenReportStage) => m(conv, `wr.stage.${stage}` as MessageKey);
const sectionName = (conv: Conversation, key: string) => m(conv, `wr.section.${key}` as MessageKey);

/** The card of a report for this viewer. */
export function renderReportCard(conv: Conversation, view: WrittenReportView): View {
  const actor = whoOf(conv).actor;
  const { report, incident, stage } = view;
  const tz = conv.deps.timeZone;
  const now = conv.deps.clock.now();
  const version = report.currentVersion;
  const lines: string[] = [];
  lines.push(`${drillMark(conv, incident.isDrill)}${m(conv, 'wr.card.title', { number: incident.number })}`);
  lines.push(escapeHtml(typeLabel(incident.type as IncidentType, (incident.scenario as EpidemicScenario | null) ?? null, conv.lang)));
  lines.push(
    stage === 'approved'
      ? m(conv, 'wr.card.approved', { version })
      : m(conv, 'wr.card.stage', { stage: escapeHtml(stageName(conv, stage)), version, due: formatLocal(report.dueAt, tz, now) }),
  );
  // The chain this report climbs: up to the bureau's last approver (a report left at the upper level shows it too).
  const chain = stage === 'upper_liaison' ? SIGNOFF_CHAIN : signoffChain(view.lastApprover);
  const reached = stage === 'approved' ? chain.length : chain.indexOf(stage);
  lines.push(chain.map((s, i) => `${i < reached ? '✔' : i === reached ? '●' : '○'} ${escapeHtml(stageName(conv, s))}`).join(' → '));
  lines.push('');
  for (const s of view.sections) {
    const text = (view.body[s.key] ?? '').trim();
    lines.push(
      text === ''
        ? m(conv, 'wr.card.section_empty', { section: escapeHtml(sectionName(conv, s.key)) })
        : m(conv, 'wr.card.section', { section: escapeHtml(sectionName(conv, s.key)), chars: [...text].length, preview: quote(text.replace(/\s+/g, ' '), 40) }),
    );
  }
  if (view.signoffs.length) {
    lines.push('', m(conv, 'wr.card.signoffs'));
    for (const s of view.signoffs.slice(-8)) {
      lines.push(
        m(conv, 'wr.card.signoff', {
          at: formatLocal(s.at, tz, now),
          name: escapeHtml(s.staffName),
          decision: m(conv, `wr.decision.${signoffWording(s.stage as WrittenReportStage, s.decision as SignoffDecision, view.lastApprover)}` as MessageKey),
          version: s.version,
          comment: s.comment ? m(conv, 'wr.card.comment', { comment: quote(s.comment, 120) }) : '',
        }),
      );
    }
  }

  const rows: Keyboard = [];
  const id = report.id;
  if (canEditAt(actor, stage, incident.officeUnitId)) {
    rows.push(...grid(view.sections.map((s) => button(m(conv, 'wr.button.edit', { section: sectionName(conv, s.key) }), { a: 'wr', i: id, k: `e.${s.key}`, v: version })), 2));
  }
  if (canSignAt(actor, stage, incident.officeUnitId, view.lastApprover)) {
    if (stage === 'office') {
      rows.push([button(m(conv, 'wr.button.submit'), { a: 'wr', i: id, k: 'sub', v: version })]);
    } else {
      const i = SIGNOFF_CHAIN.indexOf(stage as (typeof SIGNOFF_CHAIN)[number]);
      const next = stageAfterApproval(stage as Exclude<WrittenReportStage, 'approved' | 'office'>, view.lastApprover);
      rows.push([
        button(next === 'approved' ? m(conv, 'wr.button.approve_final') : m(conv, 'wr.button.approve', { next: stageName(conv, next) }), { a: 'wr', i: id, k: 'ok', v: version }),
        button(m(conv, 'wr.button.return', { prev: stageName(conv, SIGNOFF_CHAIN[i - 1]!) }), { a: 'wr', i: id, k: 'ret', v: version }),
      ]);
    }
  }
  rows.push([button(m(conv, 'wr.button.docx'), { a: 'wr', i: id, k: 'doc' }), button(m(conv, 'wr.button.refresh'), { a: 'wr', i: id, k: 'card' })]);
  return { text: lines.join('\n'), rows };
}

async function readable(conv: Conversation, reportId: string): Promise<WrittenReportView> {
  const view = await loadWrittenReport(conv.deps.db, reportId);
  if (!view || !canReadReport(whoOf(conv).actor, view.incident.officeUnitId)) throw new ServiceRefusal('not_found');
  return view;
}

export const writtenReportData = z.object({
  reportId: z.uuid(),
  number: z.string().max(20),
  /** The version the card showed: an edit or a return against a newer one is refused as stale. */
  version: z.number().int(),
  section: z.enum(REPORT_SECTION_KEYS).optional(),
});
export type WrittenReportData = z.infer<typeof writtenReportData>;

/** What was done, then the card as it stands now. */
function told(env: FlowEnv, text: string, view: WrittenReportView) {
  return async () => {
    await env.conv.send(text);
    await reply(env.conv, renderReportCard(env.conv, view));
  };
}

/** A section's new text (`edit`), or the comment it is returned with (`return`). */
export const writtenReportFlow: Flow<WrittenReportData> = {
  name: 'written_report',
  version: 1,
  data: writtenReportData,
  steps: {
    edit: textStep<WrittenReportData>({
      prompt: async (env, data) => {
        const view = await readable(env.conv, data.reportId);
        const section = data.section ?? '';
        const current = (view.body[section as keyof typeof view.body] ?? '').trim();
        return {
          text: [
            env.say('wr.edit_prompt', { section: escapeHtml(sectionName(env.conv, section)), number: data.number }),
            current ? `<blockquote expandable>${quote(current, 3000)}</blockquote>` : env.say('wr.edit_empty'),
          ].join('\n\n'),
        };
      },
      blank: 'flow.text_expected',
      max: MAX_SECTION_CHARS,
      quiet: true,
      then: (env, data, text) => ({
        finish: async () => {
          if (!data.section) throw new ServiceRefusal('not_found');
          const section = data.section;
          const view = await editWrittenReport(env.deps, env.who.actor, data.reportId, { [section]: text }, data.version);
          return told(env, env.say('wr.saved', { section: escapeHtml(sectionName(env.conv, section)), version: view.report.currentVersion }), view);
        },
      }),
    }),
    return: textStep<WrittenReportData>({
      prompt: (env, data) => ({ text: env.say('wr.return_prompt', { number: data.number }) }),
      blank: 'flow.text_expected',
      max: MAX_SECTION_CHARS,
      quiet: true,
      then: (env, data, text) => ({
        finish: async () => {
          const result = await returnWrittenReport(env.deps, env.who.actor, data.reportId, text, data.version);
          return told(env, env.say('wr.done_returned', { stage: escapeHtml(stageName(env.conv, result.view.stage)) }), result.view);
        },
      }),
    }),
  },
};

/** /wr [number]: one report's card, or the list of those waiting on you. */
export async function onWrittenReportCommand(conv: Conversation, args: string): Promise<void> {
  const arg = args.trim();
  if (arg) {
    const incident = await incidentByNumber(conv, arg);
    const view = incident ? await writtenReportForIncident(conv.deps.db, incident.id) : undefined;
    if (!view || !canReadReport(whoOf(conv).actor, view.incident.officeUnitId)) {
      // The number as typed, shown as text.
      await conv.send(m(conv, 'wr.none_for_incident', { number: escapeHtml(arg) }));
      return;
    }
    await reply(conv, renderReportCard(conv, view));
    return;
  }
  const waiting = await reportsAwaiting(conv.deps.db, whoOf(conv).actor);
  if (waiting.length === 0) {
    await conv.send(m(conv, 'wr.list_empty'));
    return;
  }
  const now = conv.deps.clock.now();
  await reply(conv, {
    text: m(conv, 'wr.list_title', { count: waiting.length }),
    rows: waiting.map((w) => [
      button(
        truncate(
          m(conv, 'wr.list_item', {
            number: w.incident.number,
            stage: stageName(conv, w.report.stage as WrittenReportStage),
            due: formatLocal(w.report.dueAt, conv.deps.timeZone, now),
          }),
          60,
        ),
        { a: 'wr', i: w.report.id, k: 'card' },
      ),
    ]),
  });
}

/** A button on a report card. */
export async function onWrittenReportButton(conv: Conversation, engine: FlowEngine, action: ButtonAction): Promise<void> {
  if (!action.i || !action.k) throw new ServiceRefusal('invalid_input');
  const actor = whoOf(conv).actor;
  const reportId = action.i;
  if (action.k === 'card') {
    await show(conv, renderReportCard(conv, await readable(conv, reportId)));
    return;
  }
  if (action.k === 'doc') {
    await conv.answer(m(conv, 'wr.docx_preparing'));
    const file = await exportWrittenReportDocx(conv.deps, actor, reportId, conv.lang);
    await sendFile(conv, file, m(conv, 'wr.docx_caption', { number: file.view.incident.number, version: file.view.report.currentVersion }));
    return;
  }
  const view = await readable(conv, reportId);
  if (action.v !== undefined && action.v !== view.report.currentVersion) {
    await show(conv, renderReportCard(conv, view));
    throw new ServiceRefusal('stale');
  }
  if (action.k.startsWith('e.')) {
    const section = action.k.slice(2);
    if (!isReportSectionKey(section) || !view.sections.some((s) => s.key === section)) throw new ServiceRefusal('invalid_input');
    if (!canEditAt(actor, view.stage, view.incident.officeUnitId)) throw new ServiceRefusal('not_permitted');
    await engine.start(conv, writtenReportFlow, 'edit', { reportId, number: view.incident.number, version: view.report.currentVersion, section });
    return;
  }
  if (action.k === 'ret') {
    if (!canSignAt(actor, view.stage, view.incident.officeUnitId) || view.stage === 'office') throw new ServiceRefusal('not_permitted');
    await engine.start(conv, writtenReportFlow, 'return', { reportId, number: view.incident.number, version: view.report.currentVersion });
    return;
  }
  if (action.k === 'sub' || action.k === 'ok') {
    const result = action.k === 'sub' ? await submitWrittenReport(conv.deps, actor, reportId, action.v) : await approveWrittenReport(conv.deps, actor, reportId, action.v);
    await conv.answer(m(conv, result.view.stage === 'approved' ? 'wr.done_approved' : 'wr.done_forwarded', { stage: stageName(conv, result.view.stage) }));
    await show(conv, renderReportCard(conv, result.view));
    return;
  }
  throw new ServiceRefusal('invalid_input');
}
