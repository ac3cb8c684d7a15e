/**
 * /drills: the drill calendar. The section schedules a drill ahead — its type (for 疫情 the scenario),
 * the office where it plays out, and a date typed as a date — and cancels one not started; the daily run
 * starts each on its date at the policy's time (services/drill.service.ts startDueDrills). The director
 * and the deputy director see the list; everyone else is refused.
 */
import { z } from 'zod';
import { listUnits } from '../db/repositories/org.repository.js';
import { checkDrillDate, scheduledDrillStartsAt } from '../domain/drill-calendar.js';
import { EPIDEMIC_SCENARIOS, INCIDENT_TYPES, isEpidemicScenario, isIncidentType } from '../domain/incident-types.js';
import { isLeader, isSection } from '../domain/roles.js';
import { formatLocal } from '../domain/time.js';
import { t } from '../i18n/index.js';
import { escapeHtml } from '../i18n/markup.js';
import { cancelScheduledDrill, listScheduledDrills, scheduleDrill } from '../services/drill.service.js';
import { ServiceRefusal } from '../services/errors.js';
import { typeLabel, unitName } from '../views/labels.js';
import type { ButtonAction } from './actions.js';
import { whoOf, type Conversation } from './conversation.js';
import type { Flow, FlowEngine, FlowEnv } from './engine.js';
import { choiceStep, dateStep, officeChoices, scenarioChoices, typeChoices } from './steps/index.js';
import { button, type Keyboard } from './ui.js';

/** The calendar as a message: the drills to come, and for the section the buttons to add and cancel. */
export async function drillCalendarView(conv: Conversation, note?: string): Promise<{ text: string; rows: Keyboard }> {
  const actor = whoOf(conv).actor;
  const lang = conv.lang;
  const rows = await listScheduledDrills(conv.deps, actor);
  const policy = await conv.deps.policy();
  const offices = new Map((await listUnits(conv.deps.db, 'office')).map((u) => [u.id, unitName(u, lang)]));
  const lines = [...(note ? [note, ''] : []), t(lang, 'drs.title', { time: policy.drills.startsAt })];
  if (rows.length === 0) lines.push(t(lang, 'drs.none'));
  const keyboard: Keyboard = [];
  const section = isSection(actor);
  for (const r of rows) {
    const office = escapeHtml(offices.get(r.officeUnitId) ?? '');
    lines.push(t(lang, 'drs.line', { date: r.drillDate, office, type: escapeHtml(typeLabel(r.type, lang, r.scenario)) }));
    if (section && r.state === 'scheduled') keyboard.push([button(t(lang, 'drs.button.cancel', { date: r.drillDate.slice(5), office }), { a: 'drs', i: r.id, k: 'cancel' })]);
  }
  if (section) keyboard.push([button(t(lang, 'drs.button.add'), { a: 'drs', k: 'add' })]);
  else lines.push('', t(lang, 'drs.view_only'));
  return { text: lines.join('\n'), rows: keyboard };
}

export async function onDrillsCommand(conv: Conversation): Promise<void> {
  const actor = whoOf(conv).actor;
  if (!isSection(actor) && !isLeader(actor)) throw new ServiceRefusal('not_permitted');
  const view = await drillCalendarView(conv);
  await conv.send(view.text, view.rows);
}

export async function onDrillsPress(conv: Conversation, engine: FlowEngine, action: ButtonAction): Promise<void> {
  const actor = whoOf(conv).actor;
  if (action.k === 'list') {
    const view = await drillCalendarView(conv);
    await conv.show(view.text, view.rows);
    return;
  }
  if (!isSection(actor)) throw new ServiceRefusal('not_permitted');
  if (action.k === 'add') {
    await conv.answer();
    await engine.start(conv, drillScheduleFlow, 'type', {}, { edit: true });
    return;
  }
  if (action.k === 'cancel' && action.i) {
    const row = await cancelScheduledDrill(conv.deps, actor, action.i);
    const view = await drillCalendarView(conv, t(conv.lang, 'drs.cancelled', { date: row.drillDate }));
    await conv.show(view.text, view.rows);
    return;
  }
  throw new ServiceRefusal('invalid_input');
}

export const drillScheduleData = z.object({
  type: z.enum(INCIDENT_TYPES).optional(),
  scenario: z.enum(EPIDEMIC_SCENARIOS).optional(),
  officeUnitId: z.uuid().optional(),
});
export type DrillScheduleData = z.infer<typeof drillScheduleData>;

const dateError = (env: FlowEnv, reason: 'past' | 'too_far') => env.say(reason === 'past' ? 'drs.date_past' : 'drs.date_too_far');

/** A drill to schedule: its type, the scenario for an epidemic, the office, then its date. */
export const drillScheduleFlow: Flow<DrillScheduleData> = {
  name: 'drill_schedule',
  version: 1,
  data: drillScheduleData,
  steps: {
    type: choiceStep<DrillScheduleData>({
      ask: (env) => env.say('drs.choose_type'),
      choices: typeChoices,
      then: (_env, data, { key }) => {
        if (!isIncidentType(key)) return { stay: true };
        return { next: key === 'epidemic' ? 'scenario' : 'office', data: { ...data, type: key, scenario: undefined } };
      },
    }),
    scenario: choiceStep<DrillScheduleData>({
      ask: (env) => env.say('drill.choose_scenario'),
      choices: scenarioChoices,
      then: (_env, data, { key }) => (isEpidemicScenario(key) ? { next: 'office', data: { ...data, scenario: key } } : { stay: true }),
    }),
    office: choiceStep<DrillScheduleData>({
      ask: (env) => env.say('drs.choose_office'),
      choices: officeChoices,
      perRow: 2,
      then: (_env, data, office) => (office.id ? { next: 'date', data: { ...data, officeUnitId: office.id } } : { stay: true }),
    }),
    date: dateStep<DrillScheduleData>({
      ask: (env) => env.say('drs.ask_date'),
      invalid: 'drs.date_invalid',
      then: async (env, data, date) => {
        const type = data.type;
        const officeUnitId = data.officeUnitId;
        if (!type || !officeUnitId || (type === 'epidemic') !== (data.scenario !== undefined)) return { stay: true };
        const policy = await env.deps.policy();
        const check = checkDrillDate(date, env.now, policy, env.deps.timeZone);
        if (!check.ok) return { stay: true, error: dateError(env, check.reason) };
        return {
          keep: true,
          finish: async () => {
            const row = await scheduleDrill(env.deps, env.who.actor, { date, type, scenario: data.scenario ?? null, officeUnitId });
            const startsAt = formatLocal(scheduledDrillStartsAt(row.drillDate, policy, env.deps.timeZone), env.deps.timeZone);
            return async () => {
              const view = await drillCalendarView(env.conv, env.say('drs.scheduled', { when: startsAt, type: escapeHtml(typeLabel(type, env.lang, data.scenario ?? null)) }));
              await env.conv.show(view.text, view.rows);
            };
          },
        };
      },
    }),
  },
};
