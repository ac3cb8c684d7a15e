/**
 * A choice from a list: one button per option, and a press counts only for an option the list still
 * holds (it is read again when pressed). The incident types, scenarios and offices that /report and
 * /drill offer are here too.
 */
import { listUnits } from '../../db/repositories/org.repository.js';
import { EPIDEMIC_SCENARIOS, INCIDENT_TYPES } from '../../domain/index.js';
import type { Keyboard } from '../ui.js';
import { scenarioLabel, typeLabel, unitName } from '../../views/labels.js';
import type { FlowEnv, Result, Step } from '../engine.js';

export interface Choice {
  /** What the step receives; not one of the engine's own keys (`_back`, `_cancel`). */
  key: string;
  text: string;
  /** A record's id, when the options are records (offices). */
  id?: string;
}

export interface ChoiceStepOptions<D> {
  /** The question, as Telegram HTML. */
  ask(env: FlowEnv, data: D): string | Promise<string>;
  choices(env: FlowEnv, data: D): Choice[] | Promise<Choice[]>;
  /** Buttons per row: a number for every row, or each row's in turn (default one per row). */
  perRow?: number | readonly number[];
  /** More buttons under the options, and what their keys do. */
  more?(env: FlowEnv, data: D): Keyboard;
  onMore?(env: FlowEnv, data: D, key: string, id: string | undefined): Result<D>;
  then(env: FlowEnv, data: D, choice: Choice): Result<D>;
}

function layout<T>(items: readonly T[], perRow: number | readonly number[]): T[][] {
  const rows: T[][] = [];
  let at = 0;
  for (let r = 0; at < items.length; r++) {
    const n = typeof perRow === 'number' ? perRow : (perRow[r] ?? perRow[perRow.length - 1] ?? 1);
    rows.push(items.slice(at, at + Math.max(1, n)));
    at += Math.max(1, n);
  }
  return rows;
}

export function choiceStep<D>(o: ChoiceStepOptions<D>): Step<D> {
  return {
    prompt: async (env, data) => {
      const choices = await o.choices(env, data);
      const buttons = choices.map((c) => env.choice(c.text, c.key, c.id));
      return { text: await o.ask(env, data), rows: [...layout(buttons, o.perRow ?? 1), ...(o.more?.(env, data) ?? [])] };
    },
    onChoice: async (env, data, key, id) => {
      const chosen = (await o.choices(env, data)).find((c) => c.key === key && c.id === id);
      if (chosen) return o.then(env, data, chosen);
      return o.onMore?.(env, data, key, id) ?? { stay: true };
    },
  };
}

/** The eleven incident types, as the plan numbers them. */
export function typeChoices(env: FlowEnv): Choice[] {
  return INCIDENT_TYPES.map((type) => ({ key: type, text: typeLabel(type, env.lang) }));
}

/** The epidemic's four scenarios. */
export function scenarioChoices(env: FlowEnv): Choice[] {
  return EPIDEMIC_SCENARIOS.map((s) => ({ key: s, text: scenarioLabel(s, env.lang) }));
}

/** The judicial offices. */
export async function officeChoices(env: FlowEnv): Promise<Choice[]> {
  const offices = await listUnits(env.deps.db, 'office');
  return offices.map((u) => ({ key: 'office', id: u.id, text: unitName(u, env.lang) }));
}
