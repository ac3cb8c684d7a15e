/**
 * /drill: the section starts a drill (one of the eleven types, the scenario for an epidemic, the office
 * where it plays out: a form of the engine), ends it, and downloads the evaluation. Everything about a
 * drill says 【演练】.
 */
import { z } from 'zod';
import { answerCallback, type BotContext } from '../../channels/telegram/context.js';
import type { CallbackData } from '../../channels/telegram/callback-data.js';
import { escapeHtml } from '../../channels/telegram/html.js';
import { button, markup, type Button } from '../../channels/telegram/keyboards.js';
import { findIncident } from '../../db/repositories/incident.repository.js';
import { EPIDEMIC_SCENARIOS, INCIDENT_TYPE_INFO, INCIDENT_TYPES, isEpidemicScenario, isIncidentType } from '../../domain/incident-types.js';
import { isSection } from '../../domain/roles.js';
import { formatLocal } from '../../domain/time.js';
import { findDrill, recentDrills } from '../../db/repositories/drill.repository.js';
import { endDrill, exportDrillEvaluationDocx, startDrill } from '../../services/drill.service.js';
import { ServiceRefusal } from '../../services/errors.js';
import type { Flow, FlowEngine } from '../engine.js';
import { choiceStep, officeChoices, scenarioChoices, typeChoices } from '../steps/index.js';
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

export const drillData = z.object({
  type: z.enum(INCIDENT_TYPES).optional(),
  scenario: z.enum(EPIDEMIC_SCENARIOS).optional(),
});
export type DrillData = z.infer<typeof drillData>;

/** The drill to start: its type, the scenario for an epidemic, then the office (which starts it). */
export const drillFlow: Flow<DrillData> = {
  name: 'drill',
  version: 1,
  data: drillData,
  steps: {
    type: choiceStep<DrillData>({
      ask: (env) => env.say('drill.choose_type'),
      choices: typeChoices,
      then: (_env, data, { key }) => {
        if (!isIncidentType(key)) return { stay: true };
        return { next: key === 'epidemic' ? 'scenario' : 'office', data: { ...data, type: key, scenario: undefined } };
      },
    }),
    scenario: choiceStep<DrillData>({
      ask: (env) => env.say('drill.choose_scenario'),
      choices: scenarioChoices,
      then: (_env, data, { key }) => (isEpidemicScenario(key) ? { next: 'office', data: { ...data, scenario: key } } : { stay: true }),
    }),
    office: choiceStep<DrillData>({
      ask: (env) => env.say('drill.choose_office'),
      choices: officeChoices,
      perRow: 2,
      then: (env, data, office) => {
        const type = data.type;
        if (!type || !office.id || (type === 'epidemic') !== (data.scenario !== undefined)) return { stay: true };
        // The message the form was in becomes the started drill, with its end button.
        return {
          keep: true,
          finish: async () => {
            const { incident, drill } = await startDrill(env.deps, env.who.actor, { type, scenario: data.scenario ?? null, officeUnitId: office.id! });
            return () =>
              show(env.ctx, {
                text: `${drillMark(env.ctx, true)}${env.say('drill.started', { number: incident.number, type: escapeHtml(INCIDENT_TYPE_INFO[type].name[env.lang]) })}`,
                reply_markup: markup([[button(env.say('drill.button.end', { number: incident.number }), { a: 'drill', i: drill.id, k: 'end' })]]),
              });
          },
        };
      },
    }),
  },
};

export async function onDrillButton(ctx: BotContext, engine: FlowEngine, cb: CallbackData): Promise<void> {
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
    await engine.start(ctx, drillFlow, 'type', {}, { edit: true });
    return;
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
