/**
 * /periods: the 特殊敏感时间段 the section keeps — a name, a first and a last day — listed, added and
 * removed. Officers are reminded before each (services/sensitive-period.service.ts); a type 十 report in
 * one is linked to it. The director and the deputy director see the list; everyone else is refused.
 */
import { z } from 'zod';
import { MAX_PERIOD_NAME, checkSensitivePeriod, periodReminderDate } from '../domain/drill-calendar.js';
import { isLeader, isSection } from '../domain/roles.js';
import { t, type MessageKey } from '../i18n/index.js';
import { escapeHtml } from '../i18n/markup.js';
import { ServiceRefusal } from '../services/errors.js';
import { addSensitivePeriod, listSensitivePeriods, removeSensitivePeriod } from '../services/sensitive-period.service.js';
import type { ButtonAction } from './actions.js';
import { whoOf, type Conversation } from './conversation.js';
import type { Flow, FlowEngine } from './engine.js';
import { dateStep, textStep, todayIn } from './steps/index.js';
import { button, type Keyboard } from './ui.js';

export async function periodsView(conv: Conversation, note?: string): Promise<{ text: string; rows: Keyboard }> {
  const actor = whoOf(conv).actor;
  const lang = conv.lang;
  const periods = await listSensitivePeriods(conv.deps, actor);
  const policy = await conv.deps.policy();
  const lines = [...(note ? [note, ''] : []), t(lang, 'per.title', { days: policy.sensitivePeriods.remindDaysBefore })];
  if (periods.length === 0) lines.push(t(lang, 'per.none'));
  const keyboard: Keyboard = [];
  const section = isSection(actor);
  for (const p of periods) {
    const name = escapeHtml(p.name);
    const reminder = p.remindedAt ? t(lang, 'per.reminded') : t(lang, 'per.remind_on', { date: periodReminderDate(p, policy) });
    lines.push(t(lang, 'per.line', { name, start: p.startsOn, end: p.endsOn, reminder }));
    if (section) keyboard.push([button(t(lang, 'per.button.remove', { name }), { a: 'per', i: p.id, k: 'rm' })]);
  }
  if (section) keyboard.push([button(t(lang, 'per.button.add'), { a: 'per', k: 'add' })]);
  else lines.push('', t(lang, 'per.view_only'));
  return { text: lines.join('\n'), rows: keyboard };
}

export async function onPeriodsCommand(conv: Conversation): Promise<void> {
  const actor = whoOf(conv).actor;
  if (!isSection(actor) && !isLeader(actor)) throw new ServiceRefusal('not_permitted');
  const view = await periodsView(conv);
  await conv.send(view.text, view.rows);
}

export async function onPeriodsPress(conv: Conversation, engine: FlowEngine, action: ButtonAction): Promise<void> {
  const actor = whoOf(conv).actor;
  if (action.k === 'list') {
    const view = await periodsView(conv);
    await conv.show(view.text, view.rows);
    return;
  }
  if (!isSection(actor)) throw new ServiceRefusal('not_permitted');
  if (action.k === 'add') {
    await conv.answer();
    await engine.start(conv, sensitivePeriodFlow, 'name', {}, { edit: true });
    return;
  }
  if (action.k === 'rm' && action.i) {
    const removed = await removeSensitivePeriod(conv.deps, actor, action.i);
    const view = await periodsView(conv, t(conv.lang, 'per.removed', { name: escapeHtml(removed.name) }));
    await conv.show(view.text, view.rows);
    return;
  }
  throw new ServiceRefusal('invalid_input');
}

export const sensitivePeriodData = z.object({
  name: z.string().max(MAX_PERIOD_NAME).optional(),
  startsOn: z.iso.date().optional(),
});
export type SensitivePeriodData = z.infer<typeof sensitivePeriodData>;

/** A period to add: its name, its first day, its last day. */
export const sensitivePeriodFlow: Flow<SensitivePeriodData> = {
  name: 'sensitive_period',
  version: 1,
  data: sensitivePeriodData,
  steps: {
    name: textStep<SensitivePeriodData>({
      prompt: (env) => ({ text: env.say('per.ask_name') }),
      blank: 'per.name_blank',
      max: MAX_PERIOD_NAME,
      then: (_env, data, name) => ({ next: 'start', data: { ...data, name } }),
    }),
    start: dateStep<SensitivePeriodData>({
      ask: (env, data) => env.say('per.ask_start', { name: escapeHtml(data.name ?? '') }),
      invalid: 'per.date_invalid',
      then: (_env, data, startsOn) => ({ next: 'end', data: { ...data, startsOn } }),
    }),
    end: dateStep<SensitivePeriodData>({
      ask: (env, data) => env.say('per.ask_end', { start: data.startsOn ?? '' }),
      invalid: 'per.date_invalid',
      // A last day typed without a year is read from the first day (12-30 to 01-03 crosses the year).
      from: (env, data) => data.startsOn ?? todayIn(env),
      then: (env, data, endsOn) => {
        const name = data.name;
        const startsOn = data.startsOn;
        if (!name || !startsOn) return { stay: true };
        const check = checkSensitivePeriod({ name, startsOn, endsOn }, todayIn(env));
        if (!check.ok) return { stay: true, error: env.say(`per.refuse.${check.reason}` as MessageKey) };
        return {
          keep: true,
          finish: async () => {
            const { period, linked, reminded } = await addSensitivePeriod(env.deps, env.who.actor, { name, startsOn, endsOn });
            return async () => {
              const note = env.say('per.added', { name: escapeHtml(period.name), start: period.startsOn, end: period.endsOn }) + (linked ? env.say('per.added_linked', { count: linked }) : '') + (reminded ? env.say('per.added_reminded', { count: reminded }) : '');
              const view = await periodsView(env.conv, note);
              await env.conv.show(view.text, view.rows);
            };
          },
        };
      },
    }),
  },
};
