/**
 * Why an org file was refused, in the reader's language (Chinese unless asked for English): each
 * problem says where it is — the line, which entry of which list, which field, in plain words — and what
 * is wrong, from the catalogue (`orgfile.*`). The parser tags the problems it finds itself with a
 * catalogue key; zod's issues are mapped here by their code; the policy section's problems
 * (admin/policy.ts, the playbook edits) carry English messages, recognised by their wording, and what is
 * not recognised is "this value is not accepted", with the English detail in English only.
 */
import type { z } from 'zod';
import { hasMessage, t, type Lang, type MessageKey } from '../i18n/index.js';
import { POSITION_UNIT_KINDS } from './positions.js';
import type { InputFileError, InputProblem } from './errors.js';

type Issue = z.core.$ZodIssue;

const SECTIONS = ['units', 'staff', 'positions', 'outside_parties'] as const;
/** Fields whose value is a code (its own, or one it refers to). */
const CODE_FIELDS = new Set(['code', 'unit', 'parent', 'holder', 'acting', 'office']);

const TYPE_KEYS: Record<string, string> = {
  string: 'expected_text',
  number: 'expected_number',
  int: 'expected_integer',
  boolean: 'expected_boolean',
  array: 'expected_list',
  object: 'expected_mapping',
};

/** The value at a path of the parsed document, to tell a missing field from a wrong one. */
function valueAt(input: unknown, path: ReadonlyArray<PropertyKey>): unknown {
  let v: unknown = input;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
}

/** A zod issue over the org file as a catalogue key and its parameters. */
export function issueWords(issue: Issue, input: unknown): Pick<InputProblem, 'key' | 'params'> {
  const field = String(issue.path.at(-1) ?? '');
  switch (issue.code) {
    case 'invalid_type': {
      if (valueAt(input, issue.path) === undefined) return { key: 'missing' };
      if (CODE_FIELDS.has(field) && issue.expected === 'string') return { key: 'code_expected' };
      return { key: TYPE_KEYS[issue.expected] ?? 'invalid' };
    }
    case 'invalid_format':
      if (field === 'phone') return { key: 'bad_phone' };
      if (CODE_FIELDS.has(field)) return { key: 'bad_code' };
      return { key: 'invalid' };
    case 'too_small':
      if (issue.origin === 'string') return { key: 'empty' };
      if (issue.origin === 'array' && issue.path.length === 1 && issue.path[0] === 'units') return { key: 'no_units' };
      if (issue.origin === 'number') return Number(issue.minimum) === 0 && !issue.inclusive ? { key: 'positive' } : { key: 'too_small', params: { min: Number(issue.minimum) } };
      return { key: 'invalid' };
    case 'too_big':
      if (issue.origin === 'string') return { key: 'too_long', params: { max: Number(issue.maximum) } };
      if (issue.origin === 'number') return { key: 'too_big', params: { max: Number(issue.maximum) } };
      return { key: 'invalid' };
    case 'invalid_value':
      return { key: 'not_one_of', params: { value: String(valueAt(input, issue.path)), options: issue.values.map(String).join('|') } };
    case 'invalid_union':
      return field === 'phone' ? { key: 'bad_phone' } : { key: 'invalid' };
    default:
      return { key: 'invalid' };
  }
}

/** The policy section's English messages (admin/policy.ts, domain/playbook-edits.ts), recognised by their wording. */
const MESSAGE_WORDS: ReadonlyArray<[RegExp, string, ...string[]]> = [
  [/^is not a policy setting/, 'not_a_setting'],
  [/^is not an office setting/, 'not_an_office_setting'],
  [/^is not a playbook/, 'not_a_playbook'],
  [/^is not a field of /, 'not_an_edit_field'],
  [/^is not a known field/, 'unknown_field'],
  [/^expected exactly one of add, replace, remove/, 'one_edit_verb'],
  [/^expected a mapping/, 'expected_mapping'],
  [/^expected a list/, 'expected_list'],
  [/^step '([^']+)' is already in the checklist/, 'step_exists', 'step'],
  [/^no step '([^']+)' to /, 'no_step', 'step'],
  [/^'report_section' is the report itself/, 'report_step_fixed'],
  [/^unknown unit '([^']+)'/, 'unknown_unit', 'code'],
  [/^'([^']+)' is not a judicial office/, 'not_office', 'code'],
  [/^give the settings in one place/, 'policy_twice'],
  [/expected (string|number|int|boolean|array|object), received undefined/, 'missing'],
  [/expected one of (.+)$/, 'one_of', 'options'],
];

function wordsOf(lang: Lang, p: InputProblem): { key: MessageKey; params: Record<string, string | number> } {
  let key = p.key;
  let params: Record<string, string | number> = { ...p.params };
  if (key === undefined) {
    for (const [re, k, ...names] of MESSAGE_WORDS) {
      const m = re.exec(p.message);
      if (!m) continue;
      key = k;
      names.forEach((n, i) => (params[n] = n === 'options' ? m[i + 1]!.replaceAll('"', '') : m[i + 1]!));
      break;
    }
    if (key === undefined) {
      const typed = /expected (\w+), received/.exec(p.message);
      key = typed ? (TYPE_KEYS[typed[1]!] ?? 'invalid') : 'invalid';
    }
  }
  // A problem that names another entry (the first with this code) names it in words too.
  for (const n of ['first', 'other'] as const) if (typeof params[n] === 'string') params[n] = whereWords(lang, { where: params[n] });
  if (typeof params.options === 'string') params.options = params.options.split('|').join(lang === 'zh' ? '、' : ', ');
  if (key === 'seat_mismatch') params = seatMismatchParams(lang, String(params.position), String(params.unitKind));
  const full = `orgfile.problem.${key}`;
  if (!hasMessage(full)) return { key: 'orgfile.problem.invalid', params: { detail: p.message } };
  if (full === 'orgfile.problem.invalid' || full === 'orgfile.problem.yaml') params = { detail: p.message, ...params };
  return { key: full, params };
}

/** `staff[3].unit` → ['staff', 3, 'unit']. */
function segments(where: string): Array<string | number> {
  return [...where.matchAll(/([^.[\]]+)|\[(\d+)\]/g)].map((m) => (m[2] !== undefined ? Number(m[2]) : m[1]!));
}

/** Where a problem is, in words: the entry of a list and its field, a policy setting, the whole file. */
export function whereWords(lang: Lang, p: Pick<InputProblem, 'where' | 'line'>): string {
  let where: string;
  if (p.where === '(yaml)') where = t(lang, 'orgfile.where.yaml');
  else if (p.where === '(file)') where = t(lang, 'orgfile.where.file');
  else if (/^policy(_overrides)?[.[]/.test(p.where)) where = t(lang, 'orgfile.where.setting', { path: p.where.replace(/^policy(_overrides)?\.?/, '') });
  else {
    const [section, n, field, ...rest] = segments(p.where);
    if (typeof section === 'string' && (SECTIONS as readonly string[]).includes(section)) {
      const name = t(lang, `orgfile.section.${section}` as MessageKey);
      if (typeof n !== 'number') where = t(lang, 'orgfile.where.section', { section: name });
      else if (field === undefined) where = t(lang, 'orgfile.where.item', { section: name, n: n + 1 });
      else {
        const label = hasMessage(`orgfile.field.${field}`) && rest.length === 0 ? t(lang, `orgfile.field.${field}` as MessageKey) : [field, ...rest].join('.');
        where = t(lang, 'orgfile.where.field', { section: name, n: n + 1, field: label });
      }
    } else where = t(lang, 'orgfile.where.other', { path: p.where });
  }
  return p.line === undefined ? where : t(lang, 'orgfile.at_line', { line: p.line, where });
}

/** One problem in words: where, then what. */
export function problemWords(lang: Lang, p: InputProblem): string {
  const { key, params } = wordsOf(lang, p);
  return t(lang, 'orgfile.line', { where: whereWords(lang, p), problem: t(lang, key, params) });
}

/** The whole refusal, as the CLI prints it. */
export function describeOrgFileError(err: InputFileError, lang: Lang): string {
  return [t(lang, 'orgfile.refused'), ...err.problems.map((p) => problemWords(lang, p))].join('\n');
}

/** A seat in the wrong kind of unit: the seat, the kinds of unit it belongs in, and the one it was put in, in words. */
function seatMismatchParams(lang: Lang, position: string, unitKind: string): Record<string, string> {
  const kindName = (k: string) => (hasMessage(`orgfile.unit_kind.${k}`) ? t(lang, `orgfile.unit_kind.${k}` as MessageKey) : k);
  const positionName = hasMessage(`position.${position}`) ? t(lang, `position.${position}` as MessageKey) : position;
  const allowed = (POSITION_UNIT_KINDS as Record<string, readonly string[]>)[position] ?? [];
  return { position: positionName, allowed: allowed.map(kindName).join(lang === 'zh' ? '或' : ' or '), unitKind: kindName(unitKind) };
}
