/**
 * The deployment's escalation policy: the bureau's own time settings (the plan sets no times; it says
 * 立即, 及时, 第一时间), i.e. DEFAULT_POLICY overlaid with the overrides the org file sets, stored in
 * `settings` under `policy_overrides`. New incidents snapshot the result.
 */
import { z } from 'zod';
import type { Executor } from '../db/client.js';
import { readSetting } from '../db/repositories/settings.repository.js';
import {
  DEFAULT_POLICY,
  layerPlaybookEdits,
  OFFICE_SETTING_KEYS,
  PLAYBOOK_EDIT_SCHEMAS,
  PLAYBOOK_KEYS,
  playbookEditProblems,
  playbookEditsSchema,
  playbookEditVerb,
  policyForOffice,
  resolvePolicy,
  scalePolicy,
  type EscalationPolicy,
  type OfficeVariant,
  type PolicyOverrides,
} from '../domain/index.js';
import { formatPath, type InputProblem } from './errors.js';

export const POLICY_OVERRIDES_KEY = 'policy_overrides';
/** 七(五): each office's own variant, by the office's unit id (OfficeVariant). */
export const POLICY_OFFICES_KEY = 'policy_offices';

/** Settings whose value is a table keyed by playbook, checked by its own rules rather than against the defaults' keys. */
const PLAYBOOKS = 'playbooks';

/**
 * Checks overrides against the policy's shape: unknown settings are named (resolvePolicy would drop a
 * misspelt key silently), then the merged policy is validated.
 */
export function validatePolicyOverrides(raw: unknown, at: ReadonlyArray<PropertyKey> = ['policy_overrides']): { overrides: PolicyOverrides; problems: InputProblem[] } {
  if (raw === undefined || raw === null) return { overrides: {}, problems: [] };
  const problems: InputProblem[] = [];
  const walk = (value: unknown, base: unknown, path: PropertyKey[]) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return;
    for (const [k, v] of Object.entries(value)) {
      const baseObj = base as Record<string, unknown>;
      if (k === 'version' || !(k in baseObj)) problems.push({ where: formatPath([...path, k]), message: 'is not a policy setting' });
      else if (path.length === at.length && k === PLAYBOOKS) problems.push(...playbookShapeProblems(v, [...path, k]));
      else if (typeof baseObj[k] === 'object' && !Array.isArray(baseObj[k])) {
        if (typeof v !== 'object' || v === null || Array.isArray(v)) problems.push({ where: formatPath([...path, k]), message: 'expected a mapping' });
        else walk(v, baseObj[k], [...path, k]);
      }
    }
  };
  if (typeof raw !== 'object' || Array.isArray(raw)) return { overrides: {}, problems: [{ where: formatPath(at), message: 'expected a mapping' }] };
  walk(raw, DEFAULT_POLICY, [...at]);
  if (problems.length) return { overrides: {}, problems };
  let resolved: EscalationPolicy;
  try {
    resolved = resolvePolicy(raw as PolicyOverrides);
  } catch (e) {
    if (!(e instanceof z.ZodError)) throw e;
    return {
      overrides: {},
      problems: e.issues.map((i) => ({ where: formatPath([...at, ...i.path]), message: i.message })),
    };
  }
  const stepProblems = playbookEditProblems(resolved.playbooks).map((p) => ({ where: formatPath([...at, PLAYBOOKS, p.playbook, p.index]), message: p.message }));
  if (stepProblems.length) return { overrides: {}, problems: stepProblems };
  // Stored as parsed, so defaults inside an edit (`required: true`) are written out.
  return { overrides: { ...(raw as PolicyOverrides), ...('playbooks' in raw ? { playbooks: resolved.playbooks } : {}) }, problems: [] };
}

/** The playbook table's shape: known playbooks, each a list of edits, each edit one verb with its own fields. */
function playbookShapeProblems(value: unknown, path: PropertyKey[]): InputProblem[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [{ where: formatPath(path), message: 'expected a mapping of playbooks' }];
  return Object.entries(value).flatMap(([key, list]): InputProblem[] => {
    const where = [...path, key];
    if (!(PLAYBOOK_KEYS as readonly string[]).includes(key)) return [{ where: formatPath(where), message: `is not a playbook (one of ${PLAYBOOK_KEYS.join(', ')})` }];
    if (!Array.isArray(list)) return [{ where: formatPath(where), message: 'expected a list of edits' }];
    return list.flatMap((edit, i): InputProblem[] => {
      const verb = playbookEditVerb(edit);
      if (!verb) return [{ where: formatPath([...where, i]), message: 'expected exactly one of add, replace, remove' }];
      const parsed = PLAYBOOK_EDIT_SCHEMAS[verb].safeParse(edit);
      if (parsed.success) return [];
      return parsed.error.issues.flatMap((issue) =>
        issue.code === 'unrecognized_keys'
          ? issue.keys.map((k) => ({ where: formatPath([...where, i, k]), message: `is not a field of ${verb}` }))
          : [{ where: formatPath([...where, i, ...issue.path]), message: issue.message }],
      );
    });
  });
}

export interface PolicySection {
  overrides: PolicyOverrides;
  /** By office code, as the file names them. */
  offices: Record<string, OfficeVariant>;
  problems: InputProblem[];
}

/**
 * The org file's `policy` section: the bureau's settings (any of the policy's, as `policy_overrides`
 * takes them) and `offices`, each office's variant (七(五)): its own times, criticalities and playbook
 * edits, applied after the bureau's. Office codes are checked against the units by the importer.
 */
export function validatePolicySection(raw: unknown, at: ReadonlyArray<PropertyKey> = ['policy']): PolicySection {
  if (raw === undefined || raw === null) return { overrides: {}, offices: {}, problems: [] };
  if (typeof raw !== 'object' || Array.isArray(raw)) return { overrides: {}, offices: {}, problems: [{ where: formatPath(at), message: 'expected a mapping' }] };
  const { offices: rawOffices, ...settings } = raw as Record<string, unknown>;
  const bureau = validatePolicyOverrides(settings, at);
  if (bureau.problems.length) return { overrides: {}, offices: {}, problems: bureau.problems };
  if (rawOffices === undefined || rawOffices === null) return { overrides: bureau.overrides, offices: {}, problems: [] };
  if (typeof rawOffices !== 'object' || Array.isArray(rawOffices)) return { overrides: {}, offices: {}, problems: [{ where: formatPath([...at, 'offices']), message: 'expected a mapping of office codes' }] };
  const base = resolvePolicy(bureau.overrides);
  const offices: Record<string, OfficeVariant> = {};
  const problems: InputProblem[] = [];
  for (const [code, variant] of Object.entries(rawOffices)) {
    const where = [...at, 'offices', code];
    const r = validateOfficeVariant(variant, base, where);
    problems.push(...r.problems);
    if (!r.problems.length) offices[code] = r.variant;
  }
  return problems.length ? { overrides: {}, offices: {}, problems } : { overrides: bureau.overrides, offices, problems: [] };
}

function validateOfficeVariant(raw: unknown, base: EscalationPolicy, at: PropertyKey[]): { variant: OfficeVariant; problems: InputProblem[] } {
  if (raw === null || raw === undefined) return { variant: {}, problems: [] };
  if (typeof raw !== 'object' || Array.isArray(raw)) return { variant: {}, problems: [{ where: formatPath(at), message: 'expected a mapping' }] };
  const foreign = Object.keys(raw).filter((k) => !(OFFICE_SETTING_KEYS as readonly string[]).includes(k));
  if (foreign.length) return { variant: {}, problems: foreign.map((k) => ({ where: formatPath([...at, k]), message: `is not an office setting (an office sets only ${OFFICE_SETTING_KEYS.join(', ')})` })) };
  const { playbooks, ...times } = raw as Record<string, unknown>;
  if (playbooks !== undefined) {
    const own = playbookShapeProblems(playbooks, [...at, PLAYBOOKS]);
    if (own.length) return { variant: {}, problems: own };
  }
  const timesOk = validatePolicyOverrides(times, at);
  if (timesOk.problems.length) return { variant: {}, problems: timesOk.problems };
  const edits = playbooks === undefined ? undefined : playbookEditsSchema.parse(playbooks);
  const variant: OfficeVariant = { ...timesOk.overrides, ...(edits ? { playbooks: edits } : {}) };
  try {
    policyForOffice(base, variant);
  } catch (e) {
    if (!(e instanceof z.ZodError)) throw e;
    return { variant: {}, problems: e.issues.map((i) => ({ where: formatPath([...at, ...i.path]), message: i.message })) };
  }
  // An office's edit may name a step the bureau added: check the two layers together, naming the office's index.
  const layered = layerPlaybookEdits(base.playbooks, edits);
  const stepProblems = playbookEditProblems(layered).flatMap((p) => {
    const own = p.index - (base.playbooks[p.playbook]?.length ?? 0);
    return own < 0 ? [] : [{ where: formatPath([...at, PLAYBOOKS, p.playbook, own]), message: p.message }];
  });
  return stepProblems.length ? { variant: {}, problems: stepProblems } : { variant, problems: [] };
}

export async function loadPolicyOverrides(db: Executor): Promise<PolicyOverrides> {
  return ((await readSetting(db, POLICY_OVERRIDES_KEY)) ?? {}) as PolicyOverrides;
}

/** Each office's variant, by the office's unit id. */
export async function loadOfficeVariants(db: Executor): Promise<Record<string, OfficeVariant>> {
  return ((await readSetting(db, POLICY_OFFICES_KEY)) ?? {}) as Record<string, OfficeVariant>;
}

/**
 * Defaults + stored overrides, with the office's variant when an office is named (its incidents'
 * policy), then scaled (POLICY_TIME_SCALE; 1 in production).
 */
export async function effectivePolicy(db: Executor, timeScale = 1, officeUnitId?: string): Promise<EscalationPolicy> {
  const bureau = resolvePolicy(await loadPolicyOverrides(db));
  const policy = officeUnitId === undefined ? bureau : policyForOffice(bureau, (await loadOfficeVariants(db))[officeUnitId]);
  return timeScale === 1 ? policy : scalePolicy(policy, timeScale);
}
