/**
 * The plan in force for one office's incidents (七(五): an office may have its own variant): the bureau's
 * policy, with the office's times over it and the office's playbook edits after the bureau's. What comes
 * out is what an incident snapshots when it is reported. Pure.
 */
import type { Criticality, EpidemicScenario, IncidentType } from './incident-types.js';
import { criticalityIn, editedPlaybook, layerPlaybookEdits, type PlaybookEdits } from './playbook-edits.js';
import { findPlaybookStep, instantiatePlaybook, type IncidentFacts, type PlaybookStep, type StepInstance } from './playbooks.js';
import { resolvePolicy, type EscalationPolicy, type PolicyOverrides } from './policy.js';

/**
 * What an office may set for its own incidents: the times each incident snapshots, the criticalities and
 * the playbooks. The rest (daily contact, absences, drills, the digest…) is the bureau's alone.
 */
export const OFFICE_SETTING_KEYS = [
  'ackSeconds',
  'informSeconds',
  'progressSeconds',
  'progressEscalateSeconds',
  'upperReportSeconds',
  'upperReportEscalateSeconds',
  'stepDueSeconds',
  'stepEscalateSeconds',
  'writtenReportDueSeconds',
  'writtenReportRemindBeforeSeconds',
  'writtenReportEscalateSeconds',
  'lateReportSeconds',
  'criticality',
  'playbooks',
] as const satisfies ReadonlyArray<keyof EscalationPolicy>;
export type OfficeSettingKey = (typeof OFFICE_SETTING_KEYS)[number];

export type OfficeVariant = Pick<PolicyOverrides, OfficeSettingKey>;

/** The bureau's policy with one office's variant over it (none: the bureau's). */
export function policyForOffice(policy: EscalationPolicy, variant: OfficeVariant | undefined): EscalationPolicy {
  if (!variant || Object.keys(variant).length === 0) return policy;
  const { playbooks, ...times } = variant;
  const merged = resolvePolicy(times as PolicyOverrides, policy);
  return { ...merged, playbooks: layerPlaybookEdits(policy.playbooks, playbooks as PlaybookEdits | undefined) };
}

/** Parts of a policy an older incident snapshot may lack: it was reported under the plan's defaults for them. */
type Snapshot = Partial<Pick<EscalationPolicy, 'criticality' | 'playbooks'>>;

/** A type's criticality under a policy (or a snapshot). */
export function criticalityUnder(policy: Snapshot | undefined, type: IncidentType, scenario?: EpidemicScenario | null): Criticality {
  return criticalityIn(policy?.criticality, type, scenario);
}

/** A type's checklist under a policy (or a snapshot). */
export function playbookUnder(policy: Snapshot | undefined, type: IncidentType, scenario?: EpidemicScenario | null): readonly PlaybookStep[] {
  return editedPlaybook(type, scenario, policy?.playbooks);
}

/** The checklist an incident starts with, under the policy it is reported under. */
export function instantiatePlaybookUnder(policy: Snapshot | undefined, type: IncidentType, scenario: EpidemicScenario | null | undefined, facts: IncidentFacts): StepInstance[] {
  return instantiatePlaybook(type, scenario, facts, playbookUnder(policy, type, scenario));
}

/**
 * A step's definition as the incident's snapshot has it (an added step, a replaced wording), else the
 * plan's: for rendering a step of an incident reported under edits.
 */
export function findStepUnder(policy: Snapshot | undefined, type: IncidentType, scenario: EpidemicScenario | null | undefined, key: string): PlaybookStep | undefined {
  return (policy?.playbooks ? playbookUnder(policy, type, scenario).find((s) => s.key === key) : undefined) ?? findPlaybookStep(type, scenario, key);
}
