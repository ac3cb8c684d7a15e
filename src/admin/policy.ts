/**
 * The deployment's escalation policy: the bureau's own time settings (the plan sets no times; it says
 * 立即, 及时, 第一时间), i.e. DEFAULT_POLICY overlaid with the overrides the org file sets, stored in
 * `settings` under `policy_overrides`. New incidents snapshot the result.
 */
import { z } from 'zod';
import type { Executor } from '../db/client.js';
import { readSetting } from '../db/repositories/settings.repository.js';
import { DEFAULT_POLICY, resolvePolicy, scalePolicy, type EscalationPolicy, type PolicyOverrides } from '../domain/index.js';
import { formatPath, type InputProblem } from './errors.js';

export const POLICY_OVERRIDES_KEY = 'policy_overrides';

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
      else if (typeof baseObj[k] === 'object' && !Array.isArray(baseObj[k])) {
        if (typeof v !== 'object' || v === null || Array.isArray(v)) problems.push({ where: formatPath([...path, k]), message: 'expected a mapping' });
        else walk(v, baseObj[k], [...path, k]);
      }
    }
  };
  if (typeof raw !== 'object' || Array.isArray(raw)) return { overrides: {}, problems: [{ where: formatPath(at), message: 'expected a mapping' }] };
  walk(raw, DEFAULT_POLICY, [...at]);
  if (problems.length) return { overrides: {}, problems };
  try {
    resolvePolicy(raw as PolicyOverrides);
  } catch (e) {
    if (!(e instanceof z.ZodError)) throw e;
    return {
      overrides: {},
      problems: e.issues.map((i) => ({ where: formatPath([...at, ...i.path]), message: i.message })),
    };
  }
  return { overrides: raw as PolicyOverrides, problems: [] };
}

export async function loadPolicyOverrides(db: Executor): Promise<PolicyOverrides> {
  return ((await readSetting(db, POLICY_OVERRIDES_KEY)) ?? {}) as PolicyOverrides;
}

/** Defaults + stored overrides, then scaled (POLICY_TIME_SCALE; 1 in production). */
export async function effectivePolicy(db: Executor, timeScale = 1): Promise<EscalationPolicy> {
  const policy = resolvePolicy(await loadPolicyOverrides(db));
  return timeScale === 1 ? policy : scalePolicy(policy, timeScale);
}
