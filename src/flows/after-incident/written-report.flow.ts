/**
 * The written report in the chat: /wr lists the reports waiting on you (or opens one by incident number);
 * the card shows where the report stands, each section and the sign-offs, and offers what you may do at
 * this stage — edit a section (the next message replaces it, as a new version), submit, approve, return
 * with a comment, download the .docx. The section's text and the comment are typed into a form of the engine.
 */
import { z } from 'zod';
import { answerCallback, type BotContext } from '../../channels/telegram/context.js';
import type { CallbackData } from '../../channels/telegram/callback-data.js';
import { escapeHtml, truncate } from '../../channels/telegram/html.js';
import { button, grid, markup, type Button } from '../../channels/telegram/keyboards.js';
import type { MessageKey } from '../../i18n/index.js';
import {
  canEditAt,
  canSignAt,
  isReportSectionKey,
  MAX_SECTION_CHARS,
  REPORT_SECTION_KEYS,
  SIGNOFF_CHAIN,
  signoffWording,
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
import { commandArgs, drillMark, incidentByNumber, m, quote, reply, sendFile, show, type View } from './common.js';

const stageName = (ctx: BotContext, stage: WrittenReportStage) => m(ctx, `wr.stage.${stage}` as MessageKey);
const sectionName = (ctx: BotContext, key: string) => m(ctx, `wr.section.${key}` as MessageKey);

/** The card of a report for this viewer. */
export function renderReportCard(ctx: BotContext, view: WrittenReportView): View {
  const actor = ctx.who!.actor;
  const { report, incident, stage } = view;
  const tz = ctx.deps.timeZone;
  const now = ctx.deps.clock.now();
  const version = report.currentVersion;
  const lines: string[] = [];
  lines.push(`${drillMark(ctx, incident.isDrill)}${m(ctx, 'wr.card.title', { number: incident.number })}`);
  lines.push(escapeHtml(typeLabel(incident.type as IncidentType, (incident.scenario as EpidemicScenario | null) ?? null, ctx.lang)));
  lines.push(
    stage === 'approved'
      ? m(ctx, 'wr.card.approved', { version })
      : m(ctx, 'wr.card.stage', { stage: escapeHtml(stageName(ctx, stage)), version, due: formatLocal(report.dueAt, tz, now) }),
  );
  const reached = stage === 'approved' ? SIGNOFF_CHAIN.length : SIGNOFF_CHAIN.indexOf(stage);
  lines.push(SIGNOFF_CHAIN.map((s, i) => `${i < reached ? '✔' : i === reached ? '●' : '○'} ${escapeHtml(stageName(ctx, s))}`).join(' → '));
  lines.push('');
  for (const s of view.sections) {
    const text = (view.body[s.key] ?? '').trim();
    lines.push(
      text === ''
        ? m(ctx, 'wr.card.section_empty', { section: escapeHtml(sectionName(ctx, s.key)) })
        : m(ctx, 'wr.card.section', { section: escapeHtml(sectionName(ctx, s.key)), chars: [...text].length, preview: quote(text.replace(/\s+/g, ' '), 40) }),
    );
  }
  if (view.signoffs.length) {
    lines.push('', m(ctx, 'wr.card.signoffs'));
    for (const s of view.signoffs.slice(-8)) {
      lines.push(
        m(ctx, 'wr.card.signoff', {
          at: formatLocal(s.at, tz, now),
          name: escapeHtml(s.staffName),
          decision: m(ctx, `wr.decision.${signoffWording(s.stage as WrittenReportStage, s.decision as SignoffDecision)}` as MessageKey),
          version: s.version,
          comment: s.comment ? m(ctx, 'wr.card.comment', { comment: quote(s.comment, 120) }) : '',
        }),
      );
    }
  }

  const rows: Button[][] = [];
  const id = report.id;
  if (canEditAt(actor, stage, incident.officeUnitId)) {
    rows.push(...grid(view.sections.map((s) => button(m(ctx, 'wr.button.edit', { section: sectionName(ctx, s.key) }), { a: 'wr', i: id, k: `e.${s.key}`, v: version })), 2));
  }
  if (canSignAt(actor, stage, incident.officeUnitId)) {
    if (stage === 'office') {
      rows.push([button(m(ctx, 'wr.button.submit'), { a: 'wr', i: id, k: 'sub', v: version })]);
    } else {
      const i = SIGNOFF_CHAIN.indexOf(stage as (typeof SIGNOFF_CHAIN)[number]);
      const next = stage === 'upper_liaison' ? 'approved' : SIGNOFF_CHAIN[i + 1]!;
      rows.push([
        button(stage === 'upper_liaison' ? m(ctx, 'wr.button.approve_final') : m(ctx, 'wr.button.approve', { next: stageName(ctx, next) }), { a: 'wr', i: id, k: 'ok', v: version }),
        button(m(ctx, 'wr.button.return', { prev: stageName(ctx, SIGNOFF_CHAIN[i - 1]!) }), { a: 'wr', i: id, k: 'ret', v: version }),
      ]);
    }
  }
  rows.push([button(m(ctx, 'wr.button.docx'), { a: 'wr', i: id, k: 'doc' }), button(m(ctx, 'wr.button.refresh'), { a: 'wr', i: id, k: 'card' })]);
  return { text: lines.join('\n'), reply_markup: markup(rows) };
}

async function readable(ctx: BotContext, reportId: string): Promise<WrittenReportView> {
  const view = await loadWrittenReport(ctx.deps.db, reportId);
  if (!view || !canReadReport(ctx.who!.actor, view.incident.officeUnitId)) throw new ServiceRefusal('not_found');
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
    await env.ctx.reply(text);
    await reply(env.ctx, renderReportCard(env.ctx, view));
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
        const view = await readable(env.ctx, data.reportId);
        const section = data.section ?? '';
        const current = (view.body[section as keyof typeof view.body] ?? '').trim();
        return {
          text: [
            env.say('wr.edit_prompt', { section: escapeHtml(sectionName(env.ctx, section)), number: data.number }),
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
          return told(env, env.say('wr.saved', { section: sectionName(env.ctx, section), version: view.report.currentVersion }), view);
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
          return told(env, env.say('wr.done_returned', { stage: stageName(env.ctx, result.view.stage) }), result.view);
        },
      }),
    }),
  },
};

/** /wr [number]: one report's card, or the list of those waiting on you. */
export async function onWrittenReportCommand(ctx: BotContext): Promise<void> {
  const arg = commandArgs(ctx);
  if (arg) {
    const incident = await incidentByNumber(ctx, arg);
    const view = incident ? await writtenReportForIncident(ctx.deps.db, incident.id) : undefined;
    if (!view || !canReadReport(ctx.who!.actor, view.incident.officeUnitId)) {
      await ctx.reply(m(ctx, 'wr.none_for_incident', { number: arg }));
      return;
    }
    await reply(ctx, renderReportCard(ctx, view));
    return;
  }
  const waiting = await reportsAwaiting(ctx.deps.db, ctx.who!.actor);
  if (waiting.length === 0) {
    await ctx.reply(m(ctx, 'wr.list_empty'));
    return;
  }
  const now = ctx.deps.clock.now();
  await reply(ctx, {
    text: m(ctx, 'wr.list_title', { count: waiting.length }),
    reply_markup: markup(
      waiting.map((w) => [
        button(
          truncate(
            m(ctx, 'wr.list_item', {
              number: w.incident.number,
              stage: stageName(ctx, w.report.stage as WrittenReportStage),
              due: formatLocal(w.report.dueAt, ctx.deps.timeZone, now),
            }),
            60,
          ),
          { a: 'wr', i: w.report.id, k: 'card' },
        ),
      ]),
    ),
  });
}

/** A button on a report card. */
export async function onWrittenReportButton(ctx: BotContext, engine: FlowEngine, cb: CallbackData): Promise<void> {
  if (!cb.i || !cb.k) throw new ServiceRefusal('invalid_input');
  const actor = ctx.who!.actor;
  const reportId = cb.i;
  if (cb.k === 'card') {
    await show(ctx, renderReportCard(ctx, await readable(ctx, reportId)));
    return;
  }
  if (cb.k === 'doc') {
    await answerCallback(ctx, m(ctx, 'wr.docx_preparing'));
    const file = await exportWrittenReportDocx(ctx.deps, actor, reportId, ctx.lang);
    await sendFile(ctx, file, m(ctx, 'wr.docx_caption', { number: file.view.incident.number, version: file.view.report.currentVersion }));
    return;
  }
  const view = await readable(ctx, reportId);
  if (cb.v !== undefined && cb.v !== view.report.currentVersion) {
    await show(ctx, renderReportCard(ctx, view));
    throw new ServiceRefusal('stale');
  }
  if (cb.k.startsWith('e.')) {
    const section = cb.k.slice(2);
    if (!isReportSectionKey(section) || !view.sections.some((s) => s.key === section)) throw new ServiceRefusal('invalid_input');
    if (!canEditAt(actor, view.stage, view.incident.officeUnitId)) throw new ServiceRefusal('not_permitted');
    await engine.start(ctx, writtenReportFlow, 'edit', { reportId, number: view.incident.number, version: view.report.currentVersion, section });
    return;
  }
  if (cb.k === 'ret') {
    if (!canSignAt(actor, view.stage, view.incident.officeUnitId) || view.stage === 'office') throw new ServiceRefusal('not_permitted');
    await engine.start(ctx, writtenReportFlow, 'return', { reportId, number: view.incident.number, version: view.report.currentVersion });
    return;
  }
  if (cb.k === 'sub' || cb.k === 'ok') {
    const result = cb.k === 'sub' ? await submitWrittenReport(ctx.deps, actor, reportId, cb.v) : await approveWrittenReport(ctx.deps, actor, reportId, cb.v);
    await answerCallback(ctx, m(ctx, result.view.stage === 'approved' ? 'wr.done_approved' : 'wr.done_forwarded', { stage: stageName(ctx, result.view.stage) }));
    await show(ctx, renderReportCard(ctx, result.view));
    return;
  }
  throw new ServiceRefusal('invalid_input');
}
