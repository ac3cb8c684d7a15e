/**
 * /stats: choose a month, read the figures per office and per person (drills left out), open the
 * accountability register (迟报、谎报、瞒报、未完成的处置步骤) with its evidence, export either as CSV. /finding <number>
 * records a false or concealed report by hand, in a form of the engine: which, whose, and the reason.
 */
import { z } from 'zod';
import { answerCallback, type BotContext } from '../../channels/telegram/context.js';
import type { CallbackData } from '../../channels/telegram/callback-data.js';
import { escapeHtml, fitMessage } from '../../channels/telegram/html.js';
import { button, grid, markup } from '../../channels/telegram/keyboards.js';
import type { MessageKey } from '../../i18n/index.js';
import { findIncident } from '../../db/repositories/incident.repository.js';
import { findStaffById, findUnit } from '../../db/repositories/org.repository.js';
import { MONTH_PATTERN, monthOf, previousMonth, type RegisterEntry, type StatsRow } from '../../domain/accountability.js';
import { isLeader, isSection } from '../../domain/roles.js';
import { formatLocal } from '../../domain/time.js';
import { formatDuration } from '../../reports/format.js';
import {
  accountabilityRegister,
  canViewAccountability,
  incidentAuditIds,
  monthlyStats,
  namesFor,
  recordFinding,
  registerCsvFile,
  statsCsvFile,
  visibleRegister,
  visibleStats,
} from '../../services/accountability.service.js';
import { ServiceRefusal } from '../../services/errors.js';
import type { Flow, FlowEngine } from '../engine.js';
import { choiceStep, textStep } from '../steps/index.js';
import { commandArgs, incidentByNumber, m, reply, sendFile, show, type View } from './common.js';

/** How many months back /stats offers. */
const MONTHS_OFFERED = 6;

function monthChoice(ctx: BotContext): View {
  let month = monthOf(ctx.deps.clock.now(), ctx.deps.timeZone);
  const buttons = [];
  for (let i = 0; i < MONTHS_OFFERED; i++) {
    buttons.push(button(month, { a: 'stats', k: `m.${month}` }));
    month = previousMonth(month);
  }
  return { text: m(ctx, 'stats.choose_month'), reply_markup: markup(grid(buttons, 3)) };
}

async function query(ctx: BotContext, month: string) {
  return { month, timeZone: ctx.deps.timeZone, now: ctx.deps.clock.now(), policy: await ctx.deps.policy() };
}

function durations(ctx: BotContext, r: StatsRow): string {
  const d = (s: StatsRow['toReport']) => (s.count === 0 ? m(ctx, 'dur.none') : m(ctx, 'stats.median_worst', { median: formatDuration(s.medianSeconds, ctx.lang), worst: formatDuration(s.worstSeconds, ctx.lang) }));
  return m(ctx, 'stats.durations', { report: d(r.toReport), ack: d(r.toAcknowledge), close: d(r.toClose) });
}

function counts(ctx: BotContext, r: StatsRow): string {
  if (r.register.total === 0) return m(ctx, 'stats.register_none');
  return m(ctx, 'stats.register_counts', { late: r.register.late, false: r.register.false, concealed: r.register.concealed, unfinished: r.register.unfinished });
}

async function statsView(ctx: BotContext, month: string): Promise<View> {
  const actor = ctx.who!.actor;
  const { stats, entries } = await monthlyStats(ctx.deps.db, await query(ctx, month));
  const names = await namesFor(ctx.deps.db, entries, stats, ctx.lang);
  const visible = visibleStats(actor, stats, names.staffUnit);
  const lines = [m(ctx, 'stats.title', { month })];
  if (visible.offices.length === 0 && visible.people.length === 0) lines.push('', m(ctx, 'stats.empty'));
  if (visible.offices.length) {
    lines.push('', m(ctx, 'stats.offices'));
    for (const r of visible.offices) lines.push(m(ctx, 'stats.row', { name: escapeHtml(names.unit(r.id)), incidents: r.incidents, durations: durations(ctx, r), register: counts(ctx, r) }));
  }
  if (visible.people.length) {
    lines.push('', m(ctx, 'stats.people'));
    for (const r of visible.people.slice(0, 15)) lines.push(m(ctx, 'stats.row', { name: escapeHtml(names.staff(r.id)), incidents: r.incidents, durations: durations(ctx, r), register: counts(ctx, r) }));
  }
  return {
    text: fitMessage(lines),
    reply_markup: markup([
      [button(m(ctx, 'stats.button.csv'), { a: 'stats', k: `csv.${month}` }), button(m(ctx, 'stats.button.register'), { a: 'stats', k: `reg.${month}` })],
      [button(m(ctx, 'stats.button.months'), { a: 'stats', k: 'months' })],
    ]),
  };
}

function evidenceText(ctx: BotContext, e: RegisterEntry): string {
  const parts: string[] = [];
  if (e.evidence.auditIds.length) parts.push(m(ctx, 'acct.ev.audit', { ids: e.evidence.auditIds.map((id) => `#${id}`).join(' ') }));
  if (e.evidence.stepIds.length) parts.push(m(ctx, 'acct.ev.steps', { count: e.evidence.stepIds.length }));
  if (e.evidence.updateIds.length) parts.push(m(ctx, 'acct.ev.updates', { count: e.evidence.updateIds.length }));
  if (e.evidence.dates.length) parts.push(m(ctx, 'acct.ev.dates', { dates: e.evidence.dates.join(' ') }));
  return parts.join(ctx.lang === 'zh' ? '，' : '; ');
}

async function registerView(ctx: BotContext, month: string): Promise<View> {
  const entries = await accountabilityRegister(ctx.deps.db, await query(ctx, month));
  const names = await namesFor(ctx.deps.db, entries, undefined, ctx.lang);
  const visible = visibleRegister(ctx.who!.actor, entries, names.staffUnit);
  const now = ctx.deps.clock.now();
  const lines = [m(ctx, 'acct.title', { month, count: visible.length })];
  if (visible.length === 0) lines.push('', m(ctx, 'acct.empty'));
  for (const e of visible.slice(0, 30)) {
    const who = [e.staffId ? names.staff(e.staffId) : null, e.unitId ? names.unit(e.unitId) : null].filter(Boolean).join(' · ');
    lines.push(
      m(ctx, 'acct.line', {
        at: formatLocal(e.at, ctx.deps.timeZone, now),
        category: m(ctx, `acct.cat.${e.category}` as MessageKey),
        rule: m(ctx, `acct.rule.${e.rule}` as MessageKey),
        who: escapeHtml(who),
        about: escapeHtml(e.incidentId ? names.incidentNumber(e.incidentId) : e.subjectId ? names.subjectCode(e.subjectId) : ''),
        late: e.lateBySeconds ? m(ctx, 'acct.late_by', { duration: formatDuration(e.lateBySeconds, ctx.lang) }) : '',
        evidence: escapeHtml(evidenceText(ctx, e)),
        reason: e.reason ? m(ctx, 'acct.reason', { reason: escapeHtml(e.reason) }) : '',
      }),
    );
  }
  if (visible.length > 30) lines.push(m(ctx, 'acct.more', { count: visible.length - 30 }));
  return {
    text: fitMessage(lines),
    reply_markup: markup([[button(m(ctx, 'acct.button.csv'), { a: 'stats', k: `rcsv.${month}` }), button(m(ctx, 'stats.button.back'), { a: 'stats', k: `m.${month}` })]]),
  };
}

export async function onStatsCommand(ctx: BotContext): Promise<void> {
  if (!canViewAccountability(ctx.who!.actor)) throw new ServiceRefusal('not_permitted');
  const arg = commandArgs(ctx);
  await reply(ctx, MONTH_PATTERN.test(arg) ? await statsView(ctx, arg) : monthChoice(ctx));
}

export async function onRegisterCommand(ctx: BotContext): Promise<void> {
  if (!canViewAccountability(ctx.who!.actor)) throw new ServiceRefusal('not_permitted');
  const arg = commandArgs(ctx);
  await reply(ctx, await registerView(ctx, MONTH_PATTERN.test(arg) ? arg : monthOf(ctx.deps.clock.now(), ctx.deps.timeZone)));
}

export async function onStatsButton(ctx: BotContext, cb: CallbackData): Promise<void> {
  const actor = ctx.who!.actor;
  if (!canViewAccountability(actor)) throw new ServiceRefusal('not_permitted');
  const [what, month] = (cb.k ?? '').split(/\.(.*)/s) as [string, string | undefined];
  if (what === 'months') return show(ctx, monthChoice(ctx));
  if (!month || !MONTH_PATTERN.test(month)) throw new ServiceRefusal('invalid_input');
  switch (what) {
    case 'm':
      return show(ctx, await statsView(ctx, month));
    case 'reg':
      return show(ctx, await registerView(ctx, month));
    case 'csv':
      await answerCallback(ctx);
      return sendFile(ctx, await statsCsvFile(ctx.deps, actor, month, ctx.lang));
    case 'rcsv':
      await answerCallback(ctx);
      return sendFile(ctx, await registerCsvFile(ctx.deps, actor, month, ctx.lang));
    default:
      throw new ServiceRefusal('invalid_input');
  }
}

// ---------------------------------------------------------------------------------------------
// /finding: a false or concealed report, recorded by the section with a reason

const canRecordFindings = (ctx: BotContext) => isSection(ctx.who!.actor) || isLeader(ctx.who!.actor);

/** The longest reason, in characters (as the accountability use case checks). */
const MAX_FINDING_REASON = 2000;

export const findingData = z.object({
  incidentId: z.uuid(),
  number: z.string().max(20),
  rule: z.enum(['false_report', 'concealed_report']).optional(),
  who: z.enum(['office', 'reporter']).optional(),
});
export type FindingData = z.infer<typeof findingData>;

const ruleName = (ctx: BotContext, rule: string) => m(ctx, `acct.rule.${rule}` as MessageKey);

/** 谎报 or 瞒报 (`rule`), the office's or the reporter's (`who`), and why (`reason`). */
export const findingFlow: Flow<FindingData> = {
  name: 'finding',
  version: 1,
  data: findingData,
  steps: {
    rule: choiceStep<FindingData>({
      ask: (env, data) => env.say('acct.finding_rule', { number: data.number }),
      choices: (env) => [
        { key: 'false_report', text: env.say('acct.cat.false') },
        { key: 'concealed_report', text: env.say('acct.cat.concealed') },
      ],
      perRow: 2,
      then: (_env, data, { key }) => ({ next: 'who', data: { ...data, rule: key === 'false_report' ? 'false_report' : 'concealed_report' } }),
    }),
    who: choiceStep<FindingData>({
      ask: (env, data) => env.say('acct.finding_who', { number: data.number, rule: ruleName(env.ctx, data.rule ?? '') }),
      choices: async (env, data) => {
        const incident = await findIncident(env.deps.db, data.incidentId);
        if (!incident) throw new ServiceRefusal('not_found');
        const [office, reporter] = await Promise.all([findUnit(env.deps.db, incident.officeUnitId), findStaffById(env.deps.db, incident.reporterStaffId)]);
        return [
          { key: 'office', text: env.say('acct.who_office', { name: office?.name ?? '' }) },
          { key: 'reporter', text: env.say('acct.who_reporter', { name: reporter?.name ?? '' }) },
        ];
      },
      then: (_env, data, { key }) => ({ next: 'reason', data: { ...data, who: key === 'reporter' ? 'reporter' : 'office' } }),
    }),
    reason: textStep<FindingData>({
      prompt: (env, data) => ({ text: env.say('acct.finding_reason', { number: data.number }) }),
      blank: 'flow.text_expected',
      max: MAX_FINDING_REASON,
      quiet: true,
      // The finding is recorded with the incident's timeline as its evidence.
      then: (env, data, reason) => ({
        finish: async () => {
          const incident = await findIncident(env.deps.db, data.incidentId);
          if (!incident || !data.rule || !data.who) throw new ServiceRefusal('not_found');
          const auditIds = await incidentAuditIds(env.deps.db, incident.id);
          const row = await recordFinding(env.deps, env.who.actor, {
            incidentId: incident.id,
            rule: data.rule,
            staffId: data.who === 'reporter' ? incident.reporterStaffId : null,
            unitId: incident.officeUnitId,
            reason,
            evidence: { auditIds, stepIds: [], updateIds: [], absenceIds: [], dates: [] },
          });
          return async () => {
            await env.ctx.reply(env.say('acct.finding_recorded', { number: incident.number, rule: ruleName(env.ctx, row.rule), count: auditIds.length }));
          };
        },
      }),
    }),
  },
};

export async function onFindingCommand(ctx: BotContext, engine: FlowEngine): Promise<void> {
  if (!canRecordFindings(ctx)) throw new ServiceRefusal('not_permitted');
  const arg = commandArgs(ctx);
  const incident = await incidentByNumber(ctx, arg);
  if (!incident) {
    await ctx.reply(m(ctx, arg ? 'ai.no_incident' : 'acct.finding_usage', { number: arg }));
    return;
  }
  if (incident.isDrill) throw new ServiceRefusal('invalid_input', 'drill');
  await engine.start(ctx, findingFlow, 'rule', { incidentId: incident.id, number: incident.number });
}
