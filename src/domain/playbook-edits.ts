/**
 * The bureau's edits to the plan's playbooks (四, 五) and to each type's criticality, as data: the plan's
 * text is the default, the organisation file may add, replace or remove a step of a type, keyed by the
 * step's key, for the whole bureau or for one office (七(五)). Pure: edits are applied to the plan's
 * checklist in order, so an office's edits come after the bureau's.
 */
import { z } from 'zod';
import { EPIDEMIC_SCENARIOS, EPIDEMIC_SCENARIO_INFO, INCIDENT_TYPE_INFO, INCIDENT_TYPES, type Criticality, type EpidemicScenario, type IncidentType } from './incident-types.js';
import { playbookFor, STEP_CONDITIONS, type PlaybookStep } from './playbooks.js';

/** A playbook is named by its type, and an epidemic's by its scenario: `absconding`, `epidemic_s3`. */
export const PLAYBOOK_KEYS = [...INCIDENT_TYPES.filter((t) => t !== 'epidemic'), ...EPIDEMIC_SCENARIOS.map((s) => `epidemic_${s}` as const)] as const;
export type PlaybookKey = (typeof PLAYBOOK_KEYS)[number];

export function playbookKeyOf(type: IncidentType, scenario?: EpidemicScenario | null): PlaybookKey {
  if (type !== 'epidemic') return type;
  if (!scenario) throw new RangeError('an epidemic incident needs a scenario');
  return `epidemic_${scenario}`;
}

export function playbookOfKey(key: PlaybookKey): { type: IncidentType; scenario: EpidemicScenario | null } {
  return key.startsWith('epidemic_') ? { type: 'epidemic', scenario: key.slice('epidemic_'.length) as EpidemicScenario } : { type: key as IncidentType, scenario: null };
}

const stepKey = z.string().regex(/^[a-z][a-z0-9_]{0,47}$/, 'must be 1–48 characters of lower-case letters, digits and _');
const stepText = z.string().trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters');
const actor = z.enum(['office', 'section', 'either']);
const condition = z.enum(STEP_CONDITIONS);

/**
 * One edit, as the file writes it:
 *   - { add: notify_village, actor: office, text: 通知村（社区）协助查找, after: search_field }
 *   - { replace: search_field, text: 实地查访（两人以上） }
 *   - { remove: search_system }
 * `text_en` is the English wording (the Chinese one when left out). A replace changes only what it names.
 */
export const addStepSchema = z.strictObject({
  add: stepKey,
  actor,
  text: stepText,
  text_en: stepText.optional(),
  required: z.boolean().default(true),
  condition: condition.optional(),
  /** The step it follows; the end of the checklist when left out. */
  after: stepKey.optional(),
});
export const replaceStepSchema = z.strictObject({
  replace: stepKey,
  actor: actor.optional(),
  text: stepText.optional(),
  text_en: stepText.optional(),
  required: z.boolean().optional(),
  /** `null` makes the step unconditional. */
  condition: condition.nullable().optional(),
});
export const removeStepSchema = z.strictObject({ remove: stepKey });
export const playbookEditSchema = z.union([addStepSchema, replaceStepSchema, removeStepSchema]);

/** The branch an edit as written means (by its verb), to name its problems precisely; undefined when it has none. */
export function playbookEditVerb(raw: unknown): 'add' | 'replace' | 'remove' | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return undefined;
  const verbs = (['add', 'replace', 'remove'] as const).filter((v) => v in raw);
  return verbs.length === 1 ? verbs[0] : undefined;
}
export const PLAYBOOK_EDIT_SCHEMAS = { add: addStepSchema, replace: replaceStepSchema, remove: removeStepSchema } as const;
export type PlaybookEdit = z.output<typeof playbookEditSchema>;

/** Edits by playbook; a playbook not named is the plan's. */
export const playbookEditsSchema = z.partialRecord(z.enum(PLAYBOOK_KEYS), z.array(playbookEditSchema).max(40));
export type PlaybookEdits = z.output<typeof playbookEditsSchema>;

const criticality = z.enum(['critical', 'standard']);

/** Each type's criticality (and each epidemic scenario's), which chooses every time of its incidents. */
export const criticalitySchema = z.strictObject({
  ...(Object.fromEntries(INCIDENT_TYPES.filter((t) => t !== 'epidemic').map((t) => [t, criticality])) as Record<Exclude<IncidentType, 'epidemic'>, typeof criticality>),
  epidemic: z.strictObject(Object.fromEntries(EPIDEMIC_SCENARIOS.map((s) => [s, criticality])) as Record<EpidemicScenario, typeof criticality>),
});
export type CriticalityTable = z.output<typeof criticalitySchema>;

/** The plan's criticalities (incident-types.ts). */
export const DEFAULT_CRITICALITY: CriticalityTable = {
  ...(Object.fromEntries(INCIDENT_TYPES.filter((t) => t !== 'epidemic').map((t) => [t, INCIDENT_TYPE_INFO[t].criticality])) as Record<Exclude<IncidentType, 'epidemic'>, Criticality>),
  epidemic: Object.fromEntries(EPIDEMIC_SCENARIOS.map((s) => [s, EPIDEMIC_SCENARIO_INFO[s].criticality])) as Record<EpidemicScenario, Criticality>,
};

/** A type's criticality under a table; a table without the type (an older snapshot) leaves the plan's. */
export function criticalityIn(table: Partial<CriticalityTable> | undefined, type: IncidentType, scenario?: EpidemicScenario | null): Criticality {
  if (type === 'epidemic') {
    if (!scenario) throw new RangeError('an epidemic incident needs a scenario');
    return table?.epidemic?.[scenario] ?? DEFAULT_CRITICALITY.epidemic[scenario];
  }
  return table?.[type] ?? DEFAULT_CRITICALITY[type];
}

/** What was wrong with an edit, and which one (its index in the playbook's list). */
export interface PlaybookEditProblem {
  playbook: PlaybookKey;
  index: number;
  message: string;
}

/**
 * A checklist with edits applied in order. An edit that names a step the checklist does not have (or
 * adds one it has) is a problem, and is skipped, so the rest still apply.
 */
export function applyPlaybookEdits(steps: readonly PlaybookStep[], edits: readonly PlaybookEdit[] = [], playbook: PlaybookKey = 'other'): { steps: PlaybookStep[]; problems: PlaybookEditProblem[] } {
  const out = [...steps];
  const problems: PlaybookEditProblem[] = [];
  const at = (key: string) => out.findIndex((s) => s.key === key);
  edits.forEach((edit, index) => {
    const problem = (message: string) => problems.push({ playbook, index, message });
    if ('add' in edit) {
      if (at(edit.add) >= 0) return problem(`step '${edit.add}' is already in the checklist (replace it instead)`);
      const after = edit.after === undefined ? out.length - 1 : at(edit.after);
      if (after < 0) return problem(`no step '${edit.after}' to add after`);
      const added: PlaybookStep = { key: edit.add, actor: edit.actor, required: edit.required, text: { zh: edit.text, en: edit.text_en ?? edit.text }, ...(edit.condition ? { condition: edit.condition } : {}) };
      out.splice(after + 1, 0, added);
    } else if ('replace' in edit) {
      const i = at(edit.replace);
      if (i < 0) return problem(`no step '${edit.replace}' to replace`);
      const old = out[i]!;
      const { condition: _dropped, ...rest } = old;
      const cond = edit.condition === undefined ? old.condition : (edit.condition ?? undefined);
      out[i] = {
        ...rest,
        actor: edit.actor ?? old.actor,
        required: edit.required ?? old.required,
        text: edit.text !== undefined ? { zh: edit.text, en: edit.text_en ?? edit.text } : edit.text_en !== undefined ? { zh: old.text.zh, en: edit.text_en } : old.text,
        ...(cond ? { condition: cond } : {}),
      };
    } else {
      const i = at(edit.remove);
      if (i < 0) return problem(`no step '${edit.remove}' to remove`);
      // The report to the section is what reporting through the bot does (五(一)); it stays.
      if (edit.remove === 'report_section') return problem("'report_section' is the report itself and cannot be removed");
      out.splice(i, 1);
    }
  });
  return { steps: out, problems };
}

/** The checklist a type has under the bureau's edits (the plan's when there are none). */
export function editedPlaybook(type: IncidentType, scenario: EpidemicScenario | null | undefined, edits: PlaybookEdits | undefined): readonly PlaybookStep[] {
  const key = playbookKeyOf(type, scenario);
  const list = edits?.[key];
  return list?.length ? applyPlaybookEdits(playbookFor(type, scenario), list, key).steps : playbookFor(type, scenario);
}

/** Every problem in a set of edits, playbook by playbook. */
export function playbookEditProblems(edits: PlaybookEdits | undefined): PlaybookEditProblem[] {
  return PLAYBOOK_KEYS.flatMap((key) => {
    const list = edits?.[key];
    if (!list?.length) return [];
    const { type, scenario } = playbookOfKey(key);
    return applyPlaybookEdits(playbookFor(type, scenario), list, key).problems;
  });
}

/** Two layers of edits as one: the office's come after the bureau's. */
export function layerPlaybookEdits(base: PlaybookEdits | undefined, over: PlaybookEdits | undefined): PlaybookEdits {
  const out: PlaybookEdits = { ...(base ?? {}) };
  for (const key of PLAYBOOK_KEYS) {
    const more = over?.[key];
    if (more?.length) out[key] = [...(base?.[key] ?? []), ...more];
  }
  return out;
}
