/**
 * /stats: choose a month, read the figures per office and per person (drills left out), open the
 * accountability register (迟报、谎报、瞒报、未完成的处置步骤) with its evidence, export either as CSV. /finding <number>
 * records a false or concealed report by hand, in a form of the engine: which, whose, and the reason.
 */
import { z } from 'zod';
import type { ButtonAction } from '../actions.js';
import { whoOf, type Conversation } from '../conversation.js';
import { button, grid } from '../ui.js';
import { escapeHtml, fitMessage } from '../../i18n/markup.js';
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
import { monthlySanctionCounts } from '../../services/sanction.service.js';
import { sanctionKindLabel } from '../../views/outside-party-view.js';
import type { Flow, FlowEngine } from '../engine.js';
import { choiceStep, textStep } from '../steps/index.js';
import { incidentByNumber, m, reply, sendFile, show, type View } from './common.js';

/** How many months back /stats offers. */
const MONTHS_OFFERED = 6;

function monthChoice(conv: Conversation): View {
  let month = monthOf(conv.deps.clock.now(), conv.deps.timeZone);
  const buttons = [];
  for (let i = 0; i < MONTHS_OFFERED; i++) {
    buttons.push(button(month, { a: 'stats', k: `m.${month}` }));
    month = previousMonth(month);
  }
  return { text: m(conv, 'stats.choose_month'), rows: grid(buttons, 3) };
}

async function query(conv: Conversation, month: string) {
  return { month, timeZone: conv.deps.timeZone, now: conv.deps.clock.now(), policy: await conv.deps.policy() };
}

function durations(conv: Conversation, r: StatsRow): string {
  const d = (s: StatsRow['toReport']) => (s.count === 0 ? m(conv, 'dur.none') : m(conv, 'stats.median_worst', { median: formatDuration(s.medianSeconds, conv.lang), worst: formatDuration(s.worstSeconds, conv.lang) }));
  return m(conv, 'stats.durations', { report: d(r.toReport), ack: d(r.toAcknowledge), close: d(r.toClose) });
}

function counts(conv: Conversation, r: StatsRow): string {
  if (r.register.total === 0) return m(conv, 'stats.register_none');
  return m(conv, 'stats.register_counts', { late: r.register.late, false: r.register.false, concealed: r.register.concealed, unfinished: r.register.unfinished });
}

async function statsView(conv: Conversation, month: string): Promise<View> {
  const actor = whoOf(conv).actor;
  const { stats, entries } = await monthlyStats(conv.deps.db, await query(conv, month));
  const names = await namesFor(conv.deps.db, entries, stats, conv.lang);
  const visible = visibleStats(actor, stats, names.staffUnit);
  const lines = [m(conv, 'stats.title', { month })];
  if (visible.offices.length === 0 && visible.people.length === 0) lines.push('', m(conv, 'stats.empty'));
  if (visible.offices.length) {
    lines.push('', m(conv, 'stats.offices'));
    for (const r of visible.offices) lines.push(m(conv, 'stats.row', { name: escapeHtml(names.unit(r.id)), incidents: r.incidents, durations: durations(conv, r), register: counts(conv, r) }));
  }
  if (visible.people.length) {
    lines.push('', m(conv, 'stats.people'));
    for (const r of visible.people.slice(0, 15)) lines.push(m(conv, 'stats.row', { name: escapeHtml(names.staff(r.id)), incidents: r.incidents, durations: durations(conv, r), register: counts(conv, r) }));
  }
  lines.push('', await sanctionsLine(conv, month));
  return {
    text: fitMessage(lines),
    rows: [
      [button(m(conv, 'stats.button.csv'), { a: 'stats', k: `csv.${month}` }), button(m(conv, 'stats.button.register'), { a: 'stats', k: `reg.${month}` })],
      [button(m(conv, 'stats.button.months'), { a: 'stats', k: 'months' })],
    ],
  };
}

/** 处罚 proposed in the month, by kind and by where each stands now. */
async function sanctionsLine(conv: Conversation, month: string): Promise<string> {
  const c = await monthlySanctionCounts(conv.deps, whoOf(conv).actor, { month, timeZone: conv.deps.timeZone });
  if (c.total === 0) return m(conv, 'stats.sanctions_none');
  const kinds = c.byKind.map((k) => m(conv, 'stats.sanction_kind', { kind: escapeHtml(sanctionKindLabel(k.kind, conv.lang)), count: k.count })).join(conv.lang === 'zh' ? '、' : ', ');
  return m(conv, 'stats.sanctions', { total: c.total, kinds, ...c.byDecision });
}

function evidenceText(conv: Conversation, e: RegisterEntry): string {
  const parts: string[] = [];
  if (e.evidence.auditIds.length) parts.push(m(conv, 'acct.ev.audit', { ids: e.evidence.auditIds.map((id) => `#${id}`).join(' ') }));
  if (e.evidence.stepIds.length) parts.push(m(conv, 'acct.ev.steps', { count: e.evidence.stepIds.length }));
  if (e.evidence.updateIds.length) parts.push(m(conv, 'acct.ev.updates', { count: e.evidence.updateIds.length }));
  if (e.evidence.dates.length) parts.push(m(conv, 'acct.ev.dates', { dates: e.evidence.dates.join(' ') }));
  return parts.join(conv.lang === 'zh' ? '，' : '; ');
}

async function registerView(conv: Conversation, month: string): Promise<View> {
  const entries = await accountabilityRegister(conv.deps.db, await query(conv, month));
  const names = await namesFor(conv.deps.db, entries, undefined, conv.lang);
  const visible = visibleRegister(whoOf(conv).actor, entries, names.staffUnit);
  const now = conv.deps.clock.now();
  const lines = [m(conv, 'acct.title', { month, count: visible.length })];
  if (visible.length === 0) lines.push('', m(conv, 'acct.empty'));
  for (const e of visible.slice(0, 30)) {
    const who = [e.staffId ? names.staff(e.staffId) : null, e.unitId ? names.unit(e.unitId) : null].filter(Boolean).join(' · ');
    lines.push(
      m(conv, 'acct.line', {
        at: formatLocal(e.at, conv.deps.timeZone, now),
        category: m(conv, `acct.cat.${e.category}` as MessageKey),
        rule: m(conv, `acct.rule.${e.rule}` as MessageKey),
        who: escapeHtml(who),
        about: escapeHtml(e.incidentId ? names.incidentNumber(e.incidentId) : e.subjectId ? names.subjectCode(e.subjectId) : ''),
        late: e.lateBySeconds ? m(conv, 'acct.late_by', { duration: formatDuration(e.lateBySeconds, conv.lang) }) : '',
        evidence: escapeHtml(evidenceText(conv, e)),
        reason: e.reason ? m(conv, 'acct.reason', { reason: escapeHtml(e.reason) }) : '',
      }),
    );
  }
  if (visible.length > 30) lines.push(m(conv, 'acct.more', { count: visible.length - 30 }));
  return {
    text: fitMessage(lines),
    rows: [[button(m(conv, 'acct.button.csv'), { a: 'stats', k: `rcsv.${month}` }), button(m(conv, 'stats.button.back'), { a: 'stats', k: `m.${month}` })]],
  };
}

export async function onStatsCommand(conv: Conversation, args: string): Promise<void> {
  if (!canViewAccountability(whoOf(conv).actor)) throw new ServiceRefusal('not_permitted');
  const arg = args.trim();
  await reply(conv, MONTH_PATTERN.test(arg) ? await statsView(conv, arg) : monthChoice(conv));
}

export async function onRegisterCommand(conv: Conversation, args: string): Promise<void> {
  if (!canViewAccountability(whoOf(conv).actor)) throw new ServiceRefusal('not_permitted');
  const arg = args.trim();
  await reply(conv, await registerView(conv, MONTH_PATTERN.test(arg) ? arg : monthOf(conv.deps.clock.now(), conv.deps.timeZone)));
}

export async function onStatsButton(conv: Conversation, action: ButtonAction): Promise<void> {
  const actor = whoOf(conv).actor;
  if (!canViewAccountability(actor)) throw new ServiceRefusal('not_permitted');
  const [what, month] = (action.k ?? '').split(/\.(.*)/s) as [string, string | undefined];
  if (what === 'months') return show(conv, monthChoice(conv));
  if (!month || !MONTH_PATTERN.test(month)) throw new ServiceRefusal('invalid_input');
  switch (what) {
    case 'm':
      return show(conv, await statsView(conv, month));
    case 'reg':
      return show(conv, await registerView(conv, month));
    case 'csv':
      await conv.answer();
      return sendFile(conv, await statsCsvFile(conv.deps, actor, month, conv.lang));
    case 'rcsv':
      await conv.answer();
      return sendFile(conv, await registerCsvFile(conv.deps, actor, month, conv.lang));
    default:
      throw new ServiceRefusal('invalid_input');
  }
}

// ---------------------------------------------------------------------------------------------
// /finding: a false or concealed report, recorded by the section with a reason

const canRecordFindings = (conv: Conversation) => isSection(whoOf(conv).actor) || isLeader(whoOf(conv).actor);

/** The longest reason, in characters (as the accountability use case checks). */
const MAX_FINDING_REASON = 2000;

export const findingData = z.object({
  incidentId: z.uuid(),
  number: z.string().max(20),
  rule: z.enum(['false_report', 'concealed_report']).optional(),
  who: z.enum(['office', 'reporter']).optional(),
});
export type FindingData = z.infer<typeof findingData>;

const ruleName = (conv: Conversation, rule: string) => m(conv, `acct.rule.${rule}` as MessageKey);

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
      ask: (env, data) => env.say('acct.finding_who', { number: data.number, rule: ruleName(env.conv, data.rule ?? '') }),
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
            await env.conv.send(env.say('acct.finding_recorded', { number: incident.number, rule: ruleName(env.conv, row.rule), count: auditIds.length }));
          };
        },
      }),
    }),
  },
};

export async function onFindingCommand(conv: Conversation, args: string, engine: FlowEngine): Promise<void> {
  if (!canRecordFindings(conv)) throw new ServiceRefusal('not_permitted');
  const arg = args.trim();
  const incident = await incidentByNumber(conv, arg);
  if (!incident) {
    // The number as typed, shown as text.
    await conv.send(m(conv, arg ? 'ai.no_incident' : 'acct.finding_usage', { number: escapeHtml(arg) }));
    return;
  }
  if (incident.isDrill) throw new ServiceRefusal('invalid_input', 'drill');
  await engine.start(conv, findingFlow, 'rule', { incidentId: incident.id, number: incident.number });
}
