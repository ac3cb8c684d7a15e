/** Names of domain values in the user's language: the plan's own texts, or the catalogue's labels. */
import {
  CONDITION_TEXT,
  EPIDEMIC_SCENARIO_INFO,
  findStepUnder,
  INCIDENT_TYPE_INFO,
  INCIDENT_TYPES,
  STEP_CONDITIONS,
  subjectLabel,
  type ChatKind,
  type EpidemicScenario,
  type EscalationPolicy,
  type IncidentRole,
  type IncidentType,
  type PiiMode,
  type PositionKind,
  type StepCondition,
  type SubjectIdentity,
  type TimerKind,
  type TimerTarget,
} from '../domain/index.js';
import { hasMessage, t, type Lang, type MessageKey } from '../i18n/index.js';

/** `一、行凶犯罪…` in Chinese, `1. Violent crime…` in English. */
export function typeLabel(type: string, lang: Lang, scenario?: string | null): string {
  const info = INCIDENT_TYPE_INFO[type as IncidentType];
  if (!info) return type;
  const n = lang === 'zh' ? `${info.ordinal}、` : `${INCIDENT_TYPES.indexOf(info.code) + 1}. `;
  const base = `${n}${info.name[lang]}`;
  if (type === 'epidemic' && scenario) return `${base} · ${scenarioLabel(scenario, lang)}`;
  return base;
}

export function scenarioLabel(scenario: string, lang: Lang): string {
  const s = EPIDEMIC_SCENARIO_INFO[scenario as EpidemicScenario];
  if (!s) return scenario;
  return lang === 'zh' ? `${s.ordinal}：${s.name.zh}` : `Scenario ${scenario.slice(1)}: ${s.name.en}`;
}

/** A key built from a domain value, checked against the catalogue; unknown values show as they are. */
function labelOf(lang: Lang, prefix: string, value: string): string {
  const key = `${prefix}.${value}`;
  return hasMessage(key) ? t(lang, key as MessageKey) : value;
}

export const statusLabel = (status: string, lang: Lang) => labelOf(lang, 'status', status);
export const criticalityLabel = (c: string, lang: Lang) => labelOf(lang, 'criticality', c);
export const roleLabel = (role: IncidentRole | string, lang: Lang) => labelOf(lang, 'role', role);
export const timerKindLabel = (kind: TimerKind | string, lang: Lang) => labelOf(lang, 'timer', kind);
export const positionLabel = (p: PositionKind | string, lang: Lang) => labelOf(lang, 'position', p);
export const methodLabel = (m: string, lang: Lang) => labelOf(lang, 'method', m);
export const howLabel = (h: string, lang: Lang) => labelOf(lang, 'how', h);
export const contactResultLabel = (r: string, lang: Lang) => labelOf(lang, 'contact', r);
export const subjectStatusLabel = (s: string, lang: Lang) => labelOf(lang, 'subject_status', s);

export function targetLabel(target: TimerTarget, lang: Lang): string {
  if (target.kind === 'position') return positionLabel(target.position, lang);
  return labelOf(lang, 'target', target.kind);
}

/** A step's words; with the incident's policy snapshot, as the bureau's edits had them when it was reported. */
export function stepText(type: string, scenario: string | null, key: string, lang: Lang, policy?: unknown): string {
  try {
    return findStepUnder(policy as Partial<Pick<EscalationPolicy, 'playbooks'>> | undefined, type as IncidentType, scenario as EpidemicScenario | null, key)?.text[lang] ?? key;
  } catch {
    return key;
  }
}

export function conditionText(condition: string, lang: Lang): string {
  return (STEP_CONDITIONS as readonly string[]).includes(condition) ? CONDITION_TEXT[condition as StepCondition][lang] : condition;
}

/** A step's "not applicable" reason: a condition that does not hold, or the words of whoever marked it. */
export function notApplicableText(naReason: string | null, lang: Lang): string {
  if (naReason?.startsWith('condition:')) return t(lang, 'card.na_condition', { condition: conditionText(naReason.slice('condition:'.length), lang) });
  return t(lang, 'card.na_reason', { reason: naReason ?? '' });
}

/** A subject as this chat may show it (PII_MODE), or "unknown". */
export function subjectText(subject: SubjectIdentity | null, mode: PiiMode, chat: ChatKind, lang: Lang, note?: string | null): string {
  if (!subject) return note ? `${t(lang, 'subject.unknown')}${lang === 'zh' ? '：' : ': '}${note}` : t(lang, 'subject.unknown');
  return subjectLabel(subject, mode, chat);
}

export function casualtiesText(injured: number, dead: number, lang: Lang): string {
  return injured + dead === 0 ? t(lang, 'casualties.none') : t(lang, 'casualties.summary', { injured, dead });
}

/** A unit's name in the user's language. */
export function unitName(unit: { name: string; nameEn: string | null } | undefined, lang: Lang): string {
  if (!unit) return '';
  return lang === 'en' && unit.nameEn ? unit.nameEn : unit.name;
}
