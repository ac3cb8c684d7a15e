/**
 * What the sandbox page reads at start (sandbox-page/config.json): the people and their chats, the
 * shortened deadlines next to the production ones, the bureau's time zone (every time the page shows is
 * in it), how the drill button starts a drill and what the drill picker offers, where the trainer's
 * controls and the WeCom panes' routes are, and the page's strings from the message catalogue (both languages). Pure.
 */
import {
  EPIDEMIC_SCENARIO_INFO,
  EPIDEMIC_SCENARIOS,
  INCIDENT_TYPE_INFO,
  INCIDENT_TYPES,
  timeScaleLabel,
  type EpidemicScenario,
  type EscalationPolicy,
  type IncidentType,
  type SandboxPerson,
} from '../app.js';
import { CATALOGUE } from '../i18n/index.js';

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

/** What the drill picker offers: the plan's eleven types, the epidemic's scenarios, the offices. */
export interface DrillPicker {
  types: Array<{ type: IncidentType; ordinal: string; name: { zh: string; en: string } }>;
  scenarios: Array<{ scenario: EpidemicScenario; ordinal: string; name: { zh: string; en: string } }>;
  /** Offices by their code in the org file (ids stay out of the page). */
  offices: Array<{ code: string; name: string; nameEn: string | null }>;
  defaultType: IncidentType;
  /** The officer's office, whose head has a pane. */
  defaultOffice: string | undefined;
}

/** Where the WeCom panes read and act (the sandbox's own server; origin-checked): sandbox-routes.ts. */
export interface WecomPaneUrls {
  state: string;
  events: string;
  act: string;
  /** A file sent to a member: `${files}/${mediaId}`. */
  files: string;
}

/** Where the page's trainer controls post to (the sandbox's own server; origin-checked). */
export interface TrainerUrls {
  reset: string;
  runNow: string;
}

export interface PageConfig {
  version: 1;
  bot: { username: string };
  /** The bureau's IANA time zone (config TIMEZONE): chat times and cards alike are shown in it. */
  timeZone: string;
  persons: Array<Omit<SandboxPerson, 'staffId' | 'unitId'>>;
  policy: { scale: number; scaleLabel: string; rows: PolicyRow[] };
  /** The day's scheduled runs, local times of day (not scaled): the trainer's "run now" buttons name them. */
  daily: { reminderAt: string; checkAt: string; digestAt: string };
  drill: DrillTrigger;
  drillPicker: DrillPicker;
  trainer: TrainerUrls | null;
  /** The WeCom panes' routes, when the sandbox runs WeCom (a person whose `channel` is wecom has such a pane). */
  wecom: WecomPaneUrls | null;
  /** Where "share location" puts the user: the bureau's district (Gongshu, Hangzhou); `label` is WeCom's place name. */
  location: { latitude: number; longitude: number; label: string };
  /** Links shown on the page (operations surface), when running; `id` names the page's label for it. */
  links: Array<{ id: string; label: string; url: string }>;
  strings: { zh: Record<string, string>; en: Record<string, string> };
}

export const SANDBOX_LOCATION = { latitude: 30.3197, longitude: 120.142, label: '浙江省杭州市拱墅区' } as const;


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

export function drillPicker(offices: DrillPicker['offices'], opts: { defaultType: IncidentType; defaultOffice?: string | undefined }): DrillPicker {
  return {
    types: INCIDENT_TYPES.map((type) => ({ type, ordinal: INCIDENT_TYPE_INFO[type].ordinal, name: { ...INCIDENT_TYPE_INFO[type].name } })),
    scenarios: EPIDEMIC_SCENARIOS.map((scenario) => ({ scenario, ordinal: EPIDEMIC_SCENARIO_INFO[scenario].ordinal, name: { ...EPIDEMIC_SCENARIO_INFO[scenario].name } })),
    offices: offices.map((o) => ({ code: o.code, name: o.name, nameEn: o.nameEn })),
    defaultType: opts.defaultType,
    defaultOffice: opts.defaultOffice ?? offices[0]?.code,
  };
}

export function buildPageConfig(input: {
  persons: readonly SandboxPerson[];
  policy: EscalationPolicy;
  productionPolicy: EscalationPolicy;
  scale: number;
  botUsername: string;
  timeZone: string;
  drill: DrillTrigger;
  drillPicker: DrillPicker;
  trainer?: TrainerUrls | null;
  wecom?: WecomPaneUrls | null;
  links?: PageConfig['links'];
}): PageConfig {
  return {
    version: 1,
    bot: { username: input.botUsername },
    timeZone: input.timeZone,
    persons: input.persons.map(({ staffId: _id, unitId: _unit, ...p }) => p),
    policy: { scale: input.scale, scaleLabel: timeScaleLabel(input.scale), rows: policyRows(input.policy, input.productionPolicy) },
    daily: { reminderAt: input.policy.dailyContact.reminderAt, checkAt: input.policy.dailyContact.checkAt, digestAt: input.policy.digestAt },
    drill: input.drill,
    drillPicker: input.drillPicker,
    trainer: input.trainer ?? null,
    wecom: input.wecom ?? null,
    location: { ...SANDBOX_LOCATION },
    links: input.links ?? [],
    strings: { zh: sandboxStrings(CATALOGUE.zh), en: sandboxStrings(CATALOGUE.en) },
  };
}
