/**
 * `policy show`: the plan in force as people read it, from the catalogue — every setting with its path
 * in the organisation file (so the reader knows what to edit), each type's criticality, and every
 * playbook step under the bureau's edits (and, for an office, its variant's). Pure: it renders a policy.
 */
import {
  EPIDEMIC_SCENARIOS,
  INCIDENT_TYPES,
  playbookFor,
  PLAYBOOK_KEYS,
  playbookOfKey,
  playbookUnder,
  type EscalationPolicy,
  type OfficeVariant,
  type PlaybookStep,
} from '../domain/index.js';
import { hasMessage, t, type Lang, type MessageKey } from '../i18n/index.js';
import { conditionText, criticalityLabel, positionLabel, typeLabel } from '../views/labels.js';

/** Shown in sections of their own, not as settings lines. */
const OWN_SECTIONS = new Set(['version', 'criticality', 'playbooks']);

export interface PolicyShowInput {
  policy: EscalationPolicy;
  lang: Lang;
  /** For an office: its name and code, and its variant as stored (undefined: it has none). */
  office?: { name: string; code: string; variant: OfficeVariant | undefined };
  /** The time scale when not 1 (POLICY_TIME_SCALE), as people read it. */
  scaleLabel?: string;
}

export function renderPolicy(input: PolicyShowInput): string {
  const { policy, lang } = input;
  const m = (key: MessageKey, params: Record<string, string | number> = {}) => t(lang, key, params);
  const lines: string[] = [];
  const office = input.office && (lang === 'zh' ? `${input.office.name}（${input.office.code}）` : `${input.office.name} (${input.office.code})`);
  lines.push(office ? m('plan.title.office', { office }) : m('plan.title.bureau'));
  if (input.scaleLabel) lines.push(m('plan.scaled', { scale: input.scaleLabel, name: 'POLICY_TIME_SCALE' }));

  lines.push('', `■ ${m('plan.section.times')}`);
  for (const [path, value] of settingLeaves(policy)) {
    const key = `plan.setting.${path}`;
    const label = hasMessage(key) ? m(key) : path;
    lines.push(`  ${m('plan.setting_line', { label, path, value: valueText(path, value, lang) })}`);
  }

  lines.push('', `■ ${m('plan.section.criticality')}`);
  for (const type of INCIDENT_TYPES) {
    if (type === 'epidemic') {
      for (const s of EPIDEMIC_SCENARIOS) lines.push(`  ${typeLabel(type, lang, s)}：${criticalityLabel(policy.criticality.epidemic[s], lang)}`);
    } else lines.push(`  ${typeLabel(type, lang)}：${criticalityLabel(policy.criticality[type], lang)}`);
  }

  lines.push('', `■ ${m('plan.section.playbooks')}`);
  for (const key of PLAYBOOK_KEYS) {
    const { type, scenario } = playbookOfKey(key);
    lines.push(`  ${m('plan.playbook_title', { type: typeLabel(type, lang, scenario), key })}`);
    const plan = playbookFor(type, scenario);
    playbookUnder(policy, type, scenario).forEach((s, i) => lines.push(`    ${stepLine(s, i + 1, edited(s, plan), lang)}`));
  }

  if (input.office) {
    lines.push('', `■ ${m('plan.section.variant')}`);
    const v = input.office.variant;
    lines.push(v && Object.keys(v).length ? JSON.stringify(v, null, 2).replace(/^/gm, '  ') : `  ${m('plan.no_variant')}`);
  }
  return lines.join('\n');
}

/** Whether a step differs from the plan's own (added, or replaced in any part). */
function edited(step: PlaybookStep, plan: readonly PlaybookStep[]): boolean {
  const own = plan.find((s) => s.key === step.key);
  return !own || JSON.stringify(own) !== JSON.stringify(step);
}

function stepLine(s: PlaybookStep, ordinal: number, changed: boolean, lang: Lang): string {
  return t(lang, 'plan.step_line', {
    mark: changed ? '✎ ' : '',
    ordinal,
    text: s.text[lang],
    key: s.key,
    actor: t(lang, `plan.actor.${s.actor}`),
    optional: s.required ? '' : t(lang, 'plan.step_optional'),
    condition: s.condition ? t(lang, 'plan.step_condition', { condition: conditionText(s.condition, lang) }) : '',
  });
}

/** Each setting as a path and its value: objects are opened down to their leaves, except a criticality pair or a table. */
function settingLeaves(policy: EscalationPolicy): Array<[string, unknown]> {
  const out: Array<[string, unknown]> = [];
  const walk = (v: unknown, path: string) => {
    if (v && typeof v === 'object' && !Array.isArray(v) && !isByCriticality(v) && !isTable(path)) {
      for (const [k, x] of Object.entries(v)) walk(x, path ? `${path}.${k}` : k);
    } else out.push([path, v]);
  };
  for (const [k, v] of Object.entries(policy)) if (!OWN_SECTIONS.has(k)) walk(v, k);
  return out;
}

const isTable = (path: string) => path === 'screening.intervalDays' || path === 'sanctions.kinds';

function isByCriticality(v: object): v is { critical: unknown; standard: unknown } {
  const keys = Object.keys(v).sort();
  return keys.length === 2 && keys[0] === 'critical' && keys[1] === 'standard';
}

function valueText(path: string, value: unknown, lang: Lang): string {
  const sep = t(lang, 'plan.list_sep');
  const leaf = path.split('.').at(-1)!;
  const seconds = /Seconds$/.test(leaf) || /Seconds\./.test(path);
  const one = (x: unknown): string => {
    if (typeof x === 'number') return seconds ? durationText(x, lang) : /Days$/.test(leaf) ? t(lang, 'plan.days', { n: x }) : String(x);
    if (typeof x === 'boolean') return t(lang, x ? 'plan.yes' : 'plan.no');
    if (x === 'critical' || x === 'standard') return criticalityLabel(x, lang);
    return String(x);
  };
  if (path === 'writtenReport.lastApprover') return positionLabel(String(value), lang);
  if (path === 'screening.intervalDays') {
    const d = value as Record<string, number>;
    return (['high', 'normal', 'low'] as const).map((r) => `${t(lang, `plan.risk.${r}`)} ${t(lang, 'plan.days', { n: d[r] ?? '' })}`).join(sep);
  }
  if (path === 'sanctions.kinds') {
    const kinds = value as Array<{ code: string; name?: string; name_en?: string }>;
    return kinds.map((k) => (hasMessage(`sanction.kind.${k.code}`) ? t(lang, `sanction.kind.${k.code}` as MessageKey) : ((lang === 'en' ? k.name_en : undefined) ?? k.name ?? k.code))).join(sep);
  }
  if (Array.isArray(value)) return value.length ? value.map(one).join(sep) : t(lang, 'plan.none');
  if (value && typeof value === 'object' && isByCriticality(value)) {
    return t(lang, 'plan.by_criticality', { critical: criticalityLabel('critical', lang), a: one(value.critical), standard: criticalityLabel('standard', lang), b: one(value.standard) });
  }
  return one(value);
}

/** Seconds as days, hours, minutes and seconds, largest first, zero parts left out. */
export function durationText(total: number, lang: Lang): string {
  const parts: string[] = [];
  let rest = Math.round(total);
  for (const [unit, size] of [['day', 86_400], ['hour', 3_600], ['minute', 60], ['second', 1]] as const) {
    const n = Math.floor(rest / size);
    rest -= n * size;
    if (n > 0) parts.push(t(lang, `plan.unit.${unit}`, { n }));
  }
  return parts.length ? parts.join(lang === 'zh' ? '' : ' ') : t(lang, 'plan.unit.second', { n: 0 });
}
