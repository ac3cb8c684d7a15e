/**
 * What the sandbox page reads at start (sandbox-page/config.json): the people and their chats, the
 * shortened deadlines next to the production ones, how the drill button starts a drill, and the page's
 * strings from the message catalogue (both languages). Pure.
 */
import { CATALOGUE } from '../bot/messages/index.js';
import type { EscalationPolicy } from '../domain/index.js';
import type { SandboxPerson } from './sandbox-org.js';

export type DrillTrigger =
  /** The page sends this command as the given person, through their pane, as a user would. */
  | { mode: 'command'; personKey: string; command: string }
  /** The page POSTs to this URL; the drill's messages then arrive in the panes. */
  | { mode: 'endpoint'; personKey: string; url: string };

export interface PolicyRow {
  id: 'ack' | 'inform_deputy' | 'inform_director' | 'progress' | 'upper' | 'late';
  labelKey: string;
  /** Sandbox durations, seconds (critical, standard — or a single value). */
  seconds: number[];
  productionSeconds: number[];
}

export interface PageConfig {
  version: 1;
  bot: { username: string };
  persons: Array<Omit<SandboxPerson, 'staffId' | 'unitId'>>;
  policy: { scale: number; scaleLabel: string; rows: PolicyRow[] };
  drill: DrillTrigger;
  /** Where "share location" puts the user: the bureau's district (Gongshu, Hangzhou). */
  location: { latitude: number; longitude: number };
  /** Links shown on the page (operations surface), when running. */
  links: Array<{ label: string; url: string }>;
  strings: { zh: Record<string, string>; en: Record<string, string> };
}

export const SANDBOX_LOCATION = { latitude: 30.3197, longitude: 120.142 } as const;

/** `1/60` for a factor of 1/60; the decimal otherwise. */
export function scaleLabel(scale: number): string {
  const inverse = 1 / scale;
  return Math.abs(inverse - Math.round(inverse)) < 1e-9 && inverse > 1 ? `1/${Math.round(inverse)}` : String(scale);
}

export function policyRows(policy: EscalationPolicy, production: EscalationPolicy): PolicyRow[] {
  const pair = (p: EscalationPolicy, pick: (x: EscalationPolicy) => { critical: number; standard: number }) => [pick(p).critical, pick(p).standard];
  const row = (id: PolicyRow['id'], key: string, pick: (x: EscalationPolicy) => { critical: number; standard: number }): PolicyRow => ({
    id,
    labelKey: `sandbox.policy.${key}`,
    seconds: pair(policy, pick),
    productionSeconds: pair(production, pick),
  });
  return [
    row('ack', 'ack', (p) => p.ackSeconds),
    row('inform_deputy', 'inform_deputy', (p) => p.informSeconds.deputy_director),
    row('inform_director', 'inform_director', (p) => p.informSeconds.director),
    row('progress', 'progress', (p) => p.progressSeconds),
    row('upper', 'upper', (p) => p.upperReportSeconds),
    { id: 'late', labelKey: 'sandbox.policy.late', seconds: [policy.lateReportSeconds], productionSeconds: [production.lateReportSeconds] },
  ];
}

function sandboxStrings(table: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(table).filter(([k]) => k.startsWith('sandbox.')));
}

export function buildPageConfig(input: {
  persons: readonly SandboxPerson[];
  policy: EscalationPolicy;
  productionPolicy: EscalationPolicy;
  scale: number;
  botUsername: string;
  drill: DrillTrigger;
  links?: PageConfig['links'];
}): PageConfig {
  return {
    version: 1,
    bot: { username: input.botUsername },
    persons: input.persons.map(({ staffId: _id, unitId: _unit, ...p }) => p),
    policy: { scale: input.scale, scaleLabel: scaleLabel(input.scale), rows: policyRows(input.policy, input.productionPolicy) },
    drill: input.drill,
    location: { ...SANDBOX_LOCATION },
    links: input.links ?? [],
    strings: { zh: sandboxStrings(CATALOGUE.zh), en: sandboxStrings(CATALOGUE.en) },
  };
}
