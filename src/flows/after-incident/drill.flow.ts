/**
 * /drill: the section starts a drill (one of the eleven types, the scenario for an epidemic, the office
 * where it plays out: a form of the engine), ends it, and downloads the evaluation. Everything about a
 * drill says 【演练】.
 */
import { z } from 'zod';
import type { ButtonAction } from '../actions.js';
import { whoOf, type Conversation } from '../conversation.js';
import { button, type Keyboard } from '../ui.js';
import { escapeHtml } from '../../i18n/markup.js';
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

async function overview(conv: Conversation): Promise<View> {
  const drills = await recentDrills(conv.deps.db, 8);
  const now = conv.deps.clock.now();
  const lines = [m(conv, 'drill.title')];
  const rows: Keyboard = [];
  if (drills.length === 0) lines.push(m(conv, 'drill.none_yet'));
  for (const d of drills) {
    const incident = d.incidentId ? await findIncident(conv.deps.db, d.incidentId) : undefined;
    const number = incident?.number ?? '';
    const type = INCIDENT_TYPE_INFO[d.type as keyof typeof INCIDENT_TYPE_INFO]?.name[conv.lang] ?? d.type;
    if (d.endedAt) {
      lines.push(m(conv, 'drill.line_ended', { number, type: escapeHtml(type), start: formatLocal(d.startedAt, conv.deps.timeZone, now), end: formatLocal(d.endedAt, conv.deps.timeZone, now) }));
      rows.push([button(m(conv, 'drill.button.docx', { number }), { a: 'drill', i: d.id, k: 'doc' })]);
    } else {
      lines.push(m(conv, 'drill.line_running', { number, type: escapeHtml(type), start: formatLocal(d.startedAt, conv.deps.timeZone, now) }));
      rows.push([button(m(conv, 'drill.button.end', { number }), { a: 'drill', i: d.id, k: 'end' })]);
    }
  }
  rows.push([button(m(conv, 'drill.button.start'), { a: 'drill', k: 'types' })]);
  return { text: lines.join('\n'), rows };
}

/** The arguments and the engine are the plugin's common shape; the overview takes neither. */
export async function onDrillCommand(conv: Conversation, _args?: string, _engine?: FlowEngine): Promise<void> {
  if (!isSection(whoOf(conv).actor)) throw new ServiceRefusal('not_permitted');
  await reply(conv, await overview(conv));
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
              show(env.conv, {
                text: `${drillMark(env.conv, true)}${env.say('drill.started', { number: incident.number, type: escapeHtml(INCIDENT_TYPE_INFO[type].name[env.lang]) })}`,
                rows: [[button(env.say('drill.button.end', { number: incident.number }), { a: 'drill', i: drill.id, k: 'end' })]],
              });
          },
        };
      },
    }),
  },
};

export async function onDrillButton(conv: Conversation, engine: FlowEngine, action: ButtonAction): Promise<void> {
  const actor = whoOf(conv).actor;
  const k = action.k ?? '';
  if (k === 'doc') {
    if (!action.i) throw new ServiceRefusal('invalid_input');
    await conv.answer();
    await sendFile(conv, await exportDrillEvaluationDocx(conv.deps, actor, action.i, conv.lang));
    return;
  }
  if (!isSection(actor)) throw new ServiceRefusal('not_permitted');
  if (k === 'types') {
    await engine.start(conv, drillFlow, 'type', {}, { edit: true });
    return;
  }
  if (k === 'end') {
    if (!action.i) throw new ServiceRefusal('invalid_input');
    const drill = await findDrill(conv.deps.db, action.i);
    if (!drill) throw new ServiceRefusal('not_found');
    const { evaluation } = await endDrill(conv.deps, actor, drill.id);
    const incident = drill.incidentId ? await findIncident(conv.deps.db, drill.incidentId) : undefined;
    return show(conv, {
      text: `${drillMark(conv, true)}${m(conv, 'drill.ended', {
        number: incident?.number ?? '',
        responses: evaluation.summary.responses,
        onTime: evaluation.summary.onTime,
        late: evaluation.summary.late,
        missed: evaluation.summary.missedSteps,
      })}`,
      rows: [[button(m(conv, 'drill.button.docx', { number: incident?.number ?? '' }), { a: 'drill', i: drill.id, k: 'doc' })]],
    });
  }
  throw new ServiceRefusal('invalid_input');
}
