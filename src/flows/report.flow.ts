/**
 * /report 上报: type (with the plan's definitions) → epidemic scenario → subject → time → place →
 * casualties → description and media → confirmation. Confirming calls reportIncident (one transaction)
 * and shows the incident card.
 */
import { z } from 'zod';
import { listUnits } from '../db/repositories/org.repository.js';
import {
  chainAudience,
  EPIDEMIC_SCENARIO_INFO,
  EPIDEMIC_SCENARIOS,
  formatLocal,
  INCIDENT_TYPE_INFO,
  INCIDENT_TYPES,
  isEpidemicScenario,
  isIncidentType,
  isLateReport,
  subjectLabel,
  type ChainAudience,
} from '../domain/index.js';
import { escapeHtml, userText } from '../i18n/markup.js';
import type { MessageKey } from '../i18n/index.js';
import { casualtiesText, scenarioLabel, typeLabel, unitName } from '../views/labels.js';
import { reportIncident } from '../services/incident.service.js';
import { getSubject } from '../services/subject.service.js';
import type { Flow, FlowEnv, MediaInput, Outcome, Prompt, Step } from './engine.js';
import { aheadTime, choiceStep, countStep, officeChoices, pastTimeStep, scenarioChoices, subjectPicker, textStep, typeChoices, type Choice } from './steps/index.js';

export const MAX_PLACE = 200;
export const MAX_DESCRIPTION = 4000;
export const MAX_MEDIA = 10;

const mediaItem = z.object({ kind: z.string().max(16), fileId: z.string().min(1).max(256) });

export const reportData = z.object({
  type: z.enum(INCIDENT_TYPES).optional(),
  scenario: z.enum(EPIDEMIC_SCENARIOS).optional(),
  subjectId: z.uuid().optional(),
  subjectUnknown: z.boolean().optional(),
  subjectNote: z.string().max(200).optional(),
  query: z.string().max(40).optional(),
  officeUnitId: z.uuid().optional(),
  discoveredAt: z.iso.datetime().optional(),
  /** A bare time typed ahead of now, waiting for the user to confirm it as yesterday. */
  ahead: aheadTime.optional(),
  place: z.string().max(MAX_PLACE).optional(),
  latitude: z.number().min(-90).max(90).optional(),
  longitude: z.number().min(-180).max(180).optional(),
  casualtyMode: z.enum(['injured', 'dead', 'both']).optional(),
  injured: z.number().int().min(0).max(999).default(0),
  dead: z.number().int().min(0).max(999).default(0),
  description: z.string().max(MAX_DESCRIPTION).optional(),
  media: z.array(mediaItem).max(MAX_MEDIA).default([]),
  /** One part of the report being changed from the review (修改): when it is done, back to the review. */
  editing: z.enum(['type', 'subject', 'time', 'place', 'casualties', 'description']).optional(),
});
export type ReportData = z.infer<typeof reportData>;

/** What the reporter is told about who has heard: never their own unit. */
const REPORT_SUBMITTED: Record<ChainAudience, MessageKey> = {
  section_and_head: 'report.submitted',
  section: 'report.submitted.to_section',
  head_and_other_section: 'report.submitted.to_head',
};

/** The stages the user sees counted ("step 3/7"); sub-steps belong to one of them. */
const STAGES = ['type', 'subject', 'time', 'place', 'casualties', 'description', 'confirm'] as const;
type Stage = (typeof STAGES)[number];
const STAGE_TITLE: Record<Stage, MessageKey> = {
  type: 'report.step.type',
  subject: 'report.step.subject',
  time: 'report.step.time',
  place: 'report.step.place',
  casualties: 'report.step.casualties',
  description: 'report.step.description',
  confirm: 'report.step.confirm',
};

function header(env: FlowEnv, stage: Stage, body: string): string {
  const n = STAGES.indexOf(stage);
  const next = STAGES[n + 1];
  const lines = [env.say('report.title'), `<i>${env.say('flow.step_of', { n: n + 1, total: STAGES.length, title: env.say(STAGE_TITLE[stage]) })}</i>`, '', body];
  if (next) lines.push('', `<i>${env.say('flow.next', { step: env.say(STAGE_TITLE[next]) })}</i>`);
  return lines.join('\n');
}

function afterType(env: FlowEnv, data: ReportData): Outcome<ReportData> {
  if (data.type === 'epidemic') return { next: 'scenario', data };
  return data.subjectId ? { next: 'time', data } : { next: 'subject', data };
}

function chooseType(env: FlowEnv, data: ReportData, choice: Choice): Outcome<ReportData> {
  if (!isIncidentType(choice.key)) return { stay: true };
  return afterType(env, { ...data, type: choice.key, ...(choice.key === 'epidemic' ? {} : { scenario: undefined }) });
}

/** The type step and the definitions step offer the same choice. */
function typeStep(ask: (env: FlowEnv) => string, withDefinitions: boolean): Step<ReportData> {
  return choiceStep<ReportData>({
    ask,
    choices: typeChoices,
    ...(withDefinitions
      ? { more: (env) => [[env.choice(env.say('button.definitions'), 'defs')]], onMore: (env, data, key) => (key === 'defs' ? { next: 'definitions', data } : { stay: true }) }
      : {}),
    then: chooseType,
  });
}

const unknownSubject = (data: ReportData): Outcome<ReportData> => ({ next: 'subject_note', data: { ...data, subjectUnknown: true, subjectId: undefined, officeUnitId: undefined } });

/** After the subject: the office is the subject's, the reporter's own, or (for the section) chosen. */
function afterSubject(env: FlowEnv, data: ReportData): Outcome<ReportData> {
  if (data.officeUnitId) return { next: 'time', data };
  if (env.who.actor.unitKind === 'office') return { next: 'time', data: { ...data, officeUnitId: env.who.actor.unitId } };
  return { next: 'office', data };
}

function addMedia(env: FlowEnv, data: ReportData, media: MediaInput): { data: ReportData; note: string } | { error: string } {
  if (data.media.length >= MAX_MEDIA) return { error: env.say('report.media_full', { max: MAX_MEDIA }) };
  const next = { ...data, media: [...data.media, { kind: media.kind, fileId: media.fileId }] };
  return { data: next, note: env.say('report.media_saved', { count: next.media.length }) };
}

async function summary(env: FlowEnv, data: ReportData): Promise<string[]> {
  const subject = data.subjectId ? await getSubject(env.deps, env.who.actor, data.subjectId) : null;
  const offices = data.officeUnitId ? await listUnits(env.deps.db, 'office') : [];
  const office = offices.find((u) => u.id === data.officeUnitId);
  const discovered = data.discoveredAt ? new Date(data.discoveredAt) : env.now;
  const place = [data.place ? userText(data.place, MAX_PLACE) : '', data.latitude !== undefined ? `📍 ${data.latitude.toFixed(5)}, ${data.longitude!.toFixed(5)}` : '']
    .filter(Boolean)
    .join(' ');
  const lines = [
    env.say('report.summary_type', { type: escapeHtml(typeLabel(data.type ?? 'other', env.lang, data.scenario)) }),
    env.say('report.summary_subject', {
      subject: escapeHtml(subject ? subjectLabel(subject, env.deps.piiMode, 'private') : env.say('subject.unknown') + (data.subjectNote ? ` — ${data.subjectNote}` : '')),
    }),
    env.say('report.summary_office', { office: escapeHtml(unitName(office, env.lang)) }),
    env.say('report.summary_time', { time: formatLocal(discovered, env.deps.timeZone, env.now) }),
    env.say('report.summary_place', { place: place || '—' }),
    env.say('report.summary_casualties', { casualties: casualtiesText(data.injured, data.dead, env.lang) }),
    env.say('report.summary_description', { text: userText(data.description ?? '', 1500) }),
  ];
  if (data.media.length) lines.push(env.say('report.summary_media', { count: data.media.length }));
  return lines;
}

/** What was entered before, under a prompt asked again (« 返回 or 修改): typing replaces it, nothing clears it. */
function current(env: FlowEnv, value: string | undefined): string {
  return value ? `\n\n${env.say('flow.current_value', { value: userText(value, 300) })}` : '';
}

/** Which part of the report each step belongs to. */
const STAGE_OF: Record<string, Stage> = {
  type: 'type',
  definitions: 'type',
  scenario: 'type',
  subject: 'subject',
  subject_pick: 'subject',
  subject_note: 'subject',
  office: 'subject',
  time: 'time',
  time_ahead: 'time',
  place: 'place',
  casualties: 'casualties',
  injured: 'casualties',
  dead: 'casualties',
  description: 'description',
  media: 'description',
  confirm: 'confirm',
};
type EditableStage = NonNullable<ReportData['editing']>;
const EDITABLE: readonly EditableStage[] = ['type', 'subject', 'time', 'place', 'casualties', 'description'];
const FIRST_STEP: Record<EditableStage, string> = { type: 'type', subject: 'subject', time: 'time', place: 'place', casualties: 'casualties', description: 'description' };

/**
 * A part changed from the review goes back to the review once it is done, keeping everything else: the
 * step it would go to next is replaced by the review as soon as that step belongs to another part.
 */
function backToReview(outcome: Outcome<ReportData>): Outcome<ReportData> {
  if (!('next' in outcome) || !outcome.data.editing) return outcome;
  const stage = STAGE_OF[outcome.next];
  if (stage === outcome.data.editing) return outcome;
  return { ...outcome, next: 'confirm', data: { ...outcome.data, editing: undefined } };
}

function editable(all: Record<string, Step<ReportData>>): Record<string, Step<ReportData>> {
  const wrap =
    <A extends unknown[]>(fn: ((env: FlowEnv, data: ReportData, ...args: A) => Outcome<ReportData> | Promise<Outcome<ReportData>>) | undefined) =>
    fn && (async (env: FlowEnv, data: ReportData, ...args: A) => backToReview(await fn(env, data, ...args)));
  return Object.fromEntries(
    Object.entries(all).map(([name, step]) => [
      name,
      {
        ...step,
        ...(step.onChoice ? { onChoice: wrap(step.onChoice) } : {}),
        ...(step.onText ? { onText: wrap(step.onText) } : {}),
        ...(step.onLocation ? { onLocation: wrap(step.onLocation) } : {}),
        ...(step.onMedia ? { onMedia: wrap(step.onMedia) } : {}),
      } as Step<ReportData>,
    ]),
  );
}

const steps: Record<string, Step<ReportData>> = {
  type: typeStep((env) => header(env, 'type', env.say('report.ask_type')), true),
  definitions: typeStep((env) => {
    const defs = INCIDENT_TYPES.map((type) => `<b>${escapeHtml(typeLabel(type, env.lang))}</b>\n${escapeHtml(INCIDENT_TYPE_INFO[type].definition[env.lang])}`);
    return [env.say('report.definitions_title'), ...defs].join('\n\n');
  }, false),
  scenario: choiceStep<ReportData>({
    ask: (env) => {
      const defs = EPIDEMIC_SCENARIOS.map((s) => `<b>${escapeHtml(scenarioLabel(s, env.lang))}</b>\n${escapeHtml(EPIDEMIC_SCENARIO_INFO[s].definition[env.lang])}`);
      return header(env, 'type', [env.say('report.ask_scenario'), ...defs].join('\n\n'));
    },
    choices: scenarioChoices,
    then: (env, data, choice) => {
      if (!isEpidemicScenario(choice.key)) return { stay: true };
      const next = { ...data, scenario: choice.key };
      return next.subjectId ? { next: 'time', data: next } : { next: 'subject', data: next };
    },
  }),
  ...subjectPicker<ReportData>({
    steps: { ask: 'subject', found: 'subject_pick' },
    ask: (env) => header(env, 'subject', env.say('report.ask_subject')),
    found: (env, _data, count) => header(env, 'subject', env.say('report.subject_results', { count })),
    more: {
      buttons: (env) => [env.choice(env.say('button.subject_unknown'), 'unknown')],
      onChoice: (_env, data, key) => (key === 'unknown' ? unknownSubject(data) : { stay: true }),
    },
    picked: (env, data, subject) => afterSubject(env, { ...data, subjectId: subject.id, subjectUnknown: false, subjectNote: undefined, officeUnitId: subject.officeUnitId }),
  }),
  subject_note: {
    prompt: (env) => ({ text: header(env, 'subject', env.say('report.ask_subject_note')), rows: [[env.choice(env.say('button.skip'), 'skip')]] }),
    onText: (env, data, text) => afterSubject(env, { ...data, subjectNote: text.trim().slice(0, 200) || undefined }),
    onChoice: (env, data, key) => (key === 'skip' ? afterSubject(env, { ...data, subjectNote: undefined }) : { stay: true }),
  },
  office: choiceStep<ReportData>({
    ask: (env) => header(env, 'subject', env.say('report.ask_office')),
    choices: officeChoices,
    then: (_env, data, office) => ({ next: 'time', data: { ...data, officeUnitId: office.id } }),
  }),
  // The discovery time cannot be later today: a bare time ahead of now is yesterday's, if the user says so.
  time: pastTimeStep<ReportData>({
    ask: (env) => env.say('report.ask_time'),
    now: 'button.now',
    frame: (env, text) => header(env, 'time', text),
    then: (_env, data, at) => ({ next: 'place', data: { ...data, discoveredAt: at.toISOString() } }),
  }),
  place: {
    ...textStep<ReportData>({
      // For 脱管 nobody knows where "it happened": the last known place or the destination, if any.
      prompt: (env, data) =>
        data.type === 'absconding'
          ? { text: header(env, 'place', env.say('report.ask_place_absconding')) + current(env, data.place), rows: [[env.choice(env.say('button.skip'), 'skip')]] }
          : { text: header(env, 'place', env.say('report.ask_place')) + current(env, data.place) },
      blank: 'flow.text_expected',
      max: MAX_PLACE,
      tooLong: 'report.place_too_long',
      then: (_env, data, place) => ({ next: 'casualties', data: { ...data, place } }),
    }),
    onLocation: (env, data, loc) => ({ next: 'casualties', data: { ...data, latitude: loc.latitude, longitude: loc.longitude } }),
    onChoice: (env, data, key) => (key === 'skip' && data.type === 'absconding' ? { next: 'casualties', data: { ...data, place: undefined } } : { stay: true }),
  },
  casualties: choiceStep<ReportData>({
    ask: (env) => header(env, 'casualties', env.say('report.ask_casualties')),
    choices: (env) => [
      { key: 'none', text: env.say('button.casualties_none') },
      { key: 'injured', text: env.say('button.casualties_injured') },
      { key: 'dead', text: env.say('button.casualties_dead') },
      { key: 'both', text: env.say('button.casualties_both') },
    ],
    perRow: [1, 2, 1],
    then: (_env, data, { key }) => {
      if (key === 'none') return { next: 'description', data: { ...data, injured: 0, dead: 0, casualtyMode: undefined } };
      if (key === 'injured' || key === 'both') return { next: 'injured', data: { ...data, casualtyMode: key, dead: key === 'injured' ? 0 : data.dead } };
      return { next: 'dead', data: { ...data, casualtyMode: 'dead', injured: 0 } };
    },
  }),
  injured: countStep<ReportData>({
    ask: (env) => header(env, 'casualties', env.say('report.ask_injured')),
    then: (_env, data, n) => ({ next: data.casualtyMode === 'both' ? 'dead' : 'description', data: { ...data, injured: n } }),
  }),
  dead: countStep<ReportData>({
    ask: (env) => header(env, 'casualties', env.say('report.ask_dead')),
    then: (_env, data, n) => ({ next: 'description', data: { ...data, dead: n } }),
  }),
  description: {
    ...textStep<ReportData>({
      prompt: (env, data) => ({ text: header(env, 'description', env.say('report.ask_description')) + current(env, data.description) }),
      blank: 'report.description_blank',
      max: MAX_DESCRIPTION,
      tooLong: 'report.description_too_long',
      then: (_env, data, description) => ({ next: 'media', data: { ...data, description } }),
    }),
    onMedia: (env, data, media) => {
      const added = addMedia(env, data, media);
      if ('error' in added) return { stay: true, error: added.error };
      const caption = media.caption?.trim();
      if (caption) return { next: 'media', data: { ...added.data, description: caption.slice(0, MAX_DESCRIPTION) }, note: added.note };
      return { stay: true, data: added.data, note: added.note };
    },
  },
  media: {
    prompt: (env, data) => ({
      text: header(env, 'description', [env.say('report.ask_media'), data.media.length ? env.say('report.media_saved', { count: data.media.length }) : ''].filter(Boolean).join('\n')),
      rows: [[env.choice(env.say('button.next'), 'next')]],
    }),
    onChoice: (env, data, key) => (key === 'next' ? { next: 'confirm', data } : { stay: true }),
    onMedia: (env, data, media) => {
      const added = addMedia(env, data, media);
      return 'error' in added ? { stay: true, error: added.error } : { stay: true, data: added.data };
    },
    onText: (env, data, text) => {
      // More text at this point adds to the description rather than being lost.
      const description = `${data.description ?? ''}\n${text.trim()}`.trim();
      if (description.length > MAX_DESCRIPTION) return { stay: true, error: env.say('report.description_too_long', { max: MAX_DESCRIPTION }) };
      return { stay: true, data: { ...data, description } };
    },
  },
  confirm: {
    prompt: async (env, data): Promise<Prompt> => {
      const lines = await summary(env, data);
      const policy = await env.deps.policy();
      const discovered = data.discoveredAt ? new Date(data.discoveredAt) : env.now;
      if (isLateReport(discovered, env.now, policy)) lines.push('', env.say('report.late_warning', { minutes: Math.round(policy.lateReportSeconds / 60) }));
      // 修改: one button per part; the part changed comes back here with everything else kept.
      const edits = EDITABLE.map((stage) => env.choice(env.say('button.edit_part', { part: env.say(STAGE_TITLE[stage]) }), `edit.${stage}`));
      return {
        text: header(env, 'confirm', [env.say('report.confirm_title'), ...lines].join('\n')),
        rows: [[env.choice(env.say('button.submit_report'), 'submit')], edits.slice(0, 3), edits.slice(3)],
      };
    },
    onChoice: async (env, data, key) => {
      const stage = key.startsWith('edit.') ? (key.slice(5) as EditableStage) : undefined;
      if (stage && EDITABLE.includes(stage)) return { next: FIRST_STEP[stage], data: { ...data, editing: stage } };
      if (key !== 'submit' || !data.type || !data.officeUnitId || !data.description) return { stay: true };
      const closing = [env.say('report.confirm_title'), ...(await summary(env, data))].join('\n');
      return {
        closing,
        finish: async () => {
          const discoveredAt = data.discoveredAt ? new Date(data.discoveredAt) : env.now;
          const { incident } = await reportIncident(env.deps, env.who.actor, {
            type: data.type!,
            scenario: data.type === 'epidemic' ? (data.scenario ?? null) : null,
            subjectId: data.subjectId ?? null,
            subjectNote: data.subjectNote ?? null,
            officeUnitId: data.officeUnitId!,
            occurredAt: discoveredAt,
            discoveredAt,
            place: data.place ?? null,
            latitude: data.latitude ?? null,
            longitude: data.longitude ?? null,
            injured: data.injured,
            dead: data.dead,
            description: data.description!,
            media: data.media,
            ...(env.formKey ? { submissionKey: env.formKey } : {}),
          });
          return async () => {
            await env.conv.send(env.say(REPORT_SUBMITTED[chainAudience(env.who.actor)], { number: incident.number }));
            await env.conv.sendCard(incident.id);
          };
        },
      };
    },
  },
};

export const reportFlow: Flow<ReportData> = {
  name: 'report',
  version: 2,
  data: reportData,
  steps: editable(steps),
  // A report takes minutes to fill in: nothing else replaces it unasked.
  guard: 'flow.busy_report',
};

/** The first step of /report: a fresh form. */
export const REPORT_START = 'type';

/** The daily reminder's "report absconding" button: the form starts at the time, type and subject filled in. */
export async function abscondingPrefill(env: Pick<FlowEnv, 'deps' | 'who'>, subjectId: string): Promise<ReportData> {
  const subject = await getSubject(env.deps, env.who.actor, subjectId);
  return reportData.parse({ type: 'absconding', subjectId: subject.id, officeUnitId: subject.officeUnitId, subjectUnknown: false });
}
