/**
 * /drill: the section starts a drill (one of the eleven types, the scenario for an epidemic, the office
 * where it plays out), ends it, and downloads the evaluation. Everything about a drill says 【演练】.
 */
import { answerCallback, type BotContext } from '../../channels/telegram/context.js';
import type { CallbackData } from '../../channels/telegram/callback-data.js';
import { escapeHtml } from '../../channels/telegram/html.js';
import { button, grid, markup, type Button } from '../../channels/telegram/keyboards.js';
import { findIncident } from '../../db/repositories/incident.repository.js';
import { listUnits } from '../../db/repositories/org.repository.js';
import { EPIDEMIC_SCENARIO_INFO, EPIDEMIC_SCENARIOS, INCIDENT_TYPE_INFO, INCIDENT_TYPES, isEpidemicScenario, isIncidentType } from '../../domain/incident-types.js';
import { isSection } from '../../domain/roles.js';
import { formatLocal } from '../../domain/time.js';
import { endDrill, exportDrillEvaluationDocx, findDrill, recentDrills, startDrill } from '../../services/drill.service.js';
import { ServiceRefusal } from '../../services/errors.js';
import { drillMark, m, reply, sendFile, show, type View } from './common.js';

async function overview(ctx: BotContext): Promise<View> {
  const drills = await recentDrills(ctx.deps.db, 8);
  const now = ctx.deps.clock.now();
  const lines = [m(ctx, 'drill.title')];
  const rows: Button[][] = [];
  if (drills.length === 0) lines.push(m(ctx, 'drill.none_yet'));
  for (const d of drills) {
    const incident = d.incidentId ? await findIncident(ctx.deps.db, d.incidentId) : undefined;
    const number = incident?.number ?? '';
    const type = INCIDENT_TYPE_INFO[d.type as keyof typeof INCIDENT_TYPE_INFO]?.name[ctx.lang] ?? d.type;
    if (d.endedAt) {
      lines.push(m(ctx, 'drill.line_ended', { number, type: escapeHtml(type), start: formatLocal(d.startedAt, ctx.deps.timeZone, now), end: formatLocal(d.endedAt, ctx.deps.timeZone, now) }));
      rows.push([button(m(ctx, 'drill.button.docx', { number }), { a: 'drill', i: d.id, k: 'doc' })]);
    } else {
      lines.push(m(ctx, 'drill.line_running', { number, type: escapeHtml(type), start: formatLocal(d.startedAt, ctx.deps.timeZone, now) }));
      rows.push([button(m(ctx, 'drill.button.end', { number }), { a: 'drill', i: d.id, k: 'end' })]);
    }
  }
  rows.push([button(m(ctx, 'drill.button.start'), { a: 'drill', k: 'types' })]);
  return { text: lines.join('\n'), reply_markup: markup(rows) };
}

export async function onDrillCommand(ctx: BotContext): Promise<void> {
  if (!isSection(ctx.who!.actor)) throw new ServiceRefusal('not_permitted');
  await reply(ctx, await overview(ctx));
}

export async function onDrillButton(ctx: BotContext, cb: CallbackData): Promise<void> {
  const actor = ctx.who!.actor;
  const k = cb.k ?? '';
  if (k === 'doc') {
    if (!cb.i) throw new ServiceRefusal('invalid_input');
    await answerCallback(ctx);
    await sendFile(ctx, await exportDrillEvaluationDocx(ctx.deps, actor, cb.i, ctx.lang));
    return;
  }
  if (!isSection(actor)) throw new ServiceRefusal('not_permitted');
  if (k === 'types') {
    return show(ctx, {
      text: m(ctx, 'drill.choose_type'),
      reply_markup: markup(grid(INCIDENT_TYPES.map((type) => button(`${INCIDENT_TYPE_INFO[type].ordinal} ${INCIDENT_TYPE_INFO[type].name[ctx.lang]}`, { a: 'drill', k: `t.${type}` })), 1)),
    });
  }
  if (k.startsWith('t.')) {
    const type = k.slice(2);
    if (!isIncidentType(type)) throw new ServiceRefusal('invalid_input');
    if (type === 'epidemic') {
      return show(ctx, {
        text: m(ctx, 'drill.choose_scenario'),
        reply_markup: markup(grid(EPIDEMIC_SCENARIOS.map((s) => button(`${EPIDEMIC_SCENARIO_INFO[s].ordinal} ${EPIDEMIC_SCENARIO_INFO[s].name[ctx.lang]}`, { a: 'drill', k: `s.${s}` })), 1)),
      });
    }
    return chooseOffice(ctx, String(INCIDENT_TYPES.indexOf(type)));
  }
  if (k.startsWith('s.')) {
    const scenario = k.slice(2);
    if (!isEpidemicScenario(scenario)) throw new ServiceRefusal('invalid_input');
    return chooseOffice(ctx, `${INCIDENT_TYPES.indexOf('epidemic')}.${scenario}`);
  }
  if (k.startsWith('o.')) {
    // `o.<type index>[.<scenario>]`: the type by its index keeps the button within 64 bytes with the office id.
    const [index, scenario] = k.slice(2).split('.');
    const type = INCIDENT_TYPES[Number(index)];
    if (!cb.i || !type || !/^\d+$/.test(index ?? '') || (scenario !== undefined && !isEpidemicScenario(scenario))) throw new ServiceRefusal('invalid_input');
    const { incident, drill } = await startDrill(ctx.deps, actor, { type, scenario: scenario ?? null, officeUnitId: cb.i });
    await answerCallback(ctx, m(ctx, 'drill.started_short'));
    return show(ctx, {
      text: `${drillMark(ctx, true)}${m(ctx, 'drill.started', { number: incident.number, type: escapeHtml(INCIDENT_TYPE_INFO[type].name[ctx.lang]) })}`,
      reply_markup: markup([[button(m(ctx, 'drill.button.end', { number: incident.number }), { a: 'drill', i: drill.id, k: 'end' })]]),
    });
  }
  if (k === 'end') {
    if (!cb.i) throw new ServiceRefusal('invalid_input');
    const drill = await findDrill(ctx.deps.db, cb.i);
    if (!drill) throw new ServiceRefusal('not_found');
    const { evaluation } = await endDrill(ctx.deps, actor, drill.id);
    const incident = drill.incidentId ? await findIncident(ctx.deps.db, drill.incidentId) : undefined;
    return show(ctx, {
      text: `${drillMark(ctx, true)}${m(ctx, 'drill.ended', {
        number: incident?.number ?? '',
        responses: evaluation.summary.responses,
        onTime: evaluation.summary.onTime,
        late: evaluation.summary.late,
        missed: evaluation.summary.missedSteps,
      })}`,
      reply_markup: markup([[button(m(ctx, 'drill.button.docx', { number: incident?.number ?? '' }), { a: 'drill', i: drill.id, k: 'doc' })]]),
    });
  }
  throw new ServiceRefusal('invalid_input');
}

async function chooseOffice(ctx: BotContext, typeKey: string): Promise<void> {
  const offices = await listUnits(ctx.deps.db, 'office');
  await show(ctx, {
    text: m(ctx, 'drill.choose_office'),
    reply_markup: markup(grid(offices.map((o) => button((ctx.lang === 'en' ? o.nameEn : null) ?? o.name, { a: 'drill', i: o.id, k: `o.${typeKey}` })), 2)),
  });
}
