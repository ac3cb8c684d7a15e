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
import { escapeHtml, userText } from '../channels/telegram/html.js';
import type { MessageKey } from '../i18n/index.js';
import { casualtiesText, scenarioLabel, typeLabel, unitName } from '../channels/telegram/views/labels.js';
import { sendCard } from '../channels/telegram/views/card-messages.js';
import { reportIncident } from '../services/incident.service.js';
import { getSubject, searchSubjects } from '../services/subject.service.js';
import { AHEAD_RETYPE, AHEAD_YESTERDAY, aheadQuestion, aheadTime, parseCount, readPastTime, stillAhead, subjectButtonText } from './common.js';
import type { Flow, FlowEnv, MediaInput, Outcome, Prompt, Step } from './engine.js';

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

const typeRows = (env: FlowEnv) => INCIDENT_TYPES.map((type) => [env.choice(typeLabel(type, env.lang), type)]);

function afterType(env: FlowEnv, data: ReportData): Outcome<ReportData> {
  if (data.type === 'epidemic') return { next: 'scenario', data };
  return data.subjectId ? { next: 'time', data } : { next: 'subject', data };
}

function chooseType(env: FlowEnv, data: ReportData, key: string): Outcome<ReportData> {
  if (key === 'defs') return { next: 'definitions', data };
  if (!isIncidentType(key)) return { stay: true };
  return afterType(env, { ...data, type: key, ...(key === 'epidemic' ? {} : { scenario: undefined }) });
}

async function searchStep(env: FlowEnv, data: ReportData, text: string): Promise<Outcome<ReportData>> {
  const query = text.trim().slice(0, 40);
  const found = await searchSubjects(env.deps, env.who.actor, query);
  if (found.length === 0) return { stay: true, error: env.say('report.subject_none', { query: escapeHtml(query) }) };
  return { next: 'subject_pick', data: { ...data, query } };
}

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

const steps: Record<string, Step<ReportData>> = {
  type: {
    prompt: (env) => ({
      text: header(env, 'type', env.say('report.ask_type')),
      rows: [...typeRows(env), [env.choice(env.say('button.definitions'), 'defs')]],
    }),
    onChoice: (env, data, key) => chooseType(env, data, key),
  },
  definitions: {
    prompt: (env) => {
      const defs = INCIDENT_TYPES.map((type) => `<b>${escapeHtml(typeLabel(type, env.lang))}</b>\n${escapeHtml(INCIDENT_TYPE_INFO[type].definition[env.lang])}`);
      return { text: [env.say('report.definitions_title'), ...defs].join('\n\n'), rows: typeRows(env) };
    },
    onChoice: (env, data, key) => chooseType(env, data, key),
  },
  scenario: {
    prompt: (env) => {
      const defs = EPIDEMIC_SCENARIOS.map((s) => `<b>${escapeHtml(scenarioLabel(s, env.lang))}</b>\n${escapeHtml(EPIDEMIC_SCENARIO_INFO[s].definition[env.lang])}`);
      return {
        text: header(env, 'type', [env.say('report.ask_scenario'), ...defs].join('\n\n')),
        rows: EPIDEMIC_SCENARIOS.map((s) => [env.choice(scenarioLabel(s, env.lang), s)]),
      };
    },
    onChoice: (env, data, key) => {
      if (!isEpidemicScenario(key)) return { stay: true };
      const next = { ...data, scenario: key };
      return next.subjectId ? { next: 'time', data: next } : { next: 'subject', data: next };
    },
  },
  subject: {
    prompt: (env) => ({ text: header(env, 'subject', env.say('report.ask_subject')), rows: [[env.choice(env.say('button.subject_unknown'), 'unknown')]] }),
    onText: (env, data, text) => searchStep(env, data, text),
    onChoice: (env, data, key) =>
      key === 'unknown' ? { next: 'subject_note', data: { ...data, subjectUnknown: true, subjectId: undefined, officeUnitId: undefined } } : { stay: true },
  },
  subject_pick: {
    prompt: async (env, data) => {
      const found = await searchSubjects(env.deps, env.who.actor, data.query ?? '');
      return {
        text: header(env, 'subject', env.say('report.subject_results', { count: found.length })),
        rows: [
          ...found.map((s) => [env.choice(subjectButtonText(env, s), 'pick', s.id)]),
          [env.choice(env.say('button.search_again'), 'again'), env.choice(env.say('button.subject_unknown'), 'unknown')],
        ],
      };
    },
    onText: (env, data, text) => searchStep(env, data, text),
    onChoice: async (env, data, key, id) => {
      if (key === 'again') return { next: 'subject', data };
      if (key === 'unknown') return { next: 'subject_note', data: { ...data, subjectUnknown: true, subjectId: undefined, officeUnitId: undefined } };
      if (key !== 'pick' || !id) return { stay: true };
      const subject = await getSubject(env.deps, env.who.actor, id);
      return afterSubject(env, { ...data, subjectId: subject.id, subjectUnknown: false, subjectNote: undefined, officeUnitId: subject.officeUnitId });
    },
  },
  subject_note: {
    prompt: (env) => ({ text: header(env, 'subject', env.say('report.ask_subject_note')), rows: [[env.choice(env.say('button.skip'), 'skip')]] }),
    onText: (env, data, text) => afterSubject(env, { ...data, subjectNote: text.trim().slice(0, 200) || undefined }),
    onChoice: (env, data, key) => (key === 'skip' ? afterSubject(env, { ...data, subjectNote: undefined }) : { stay: true }),
  },
  office: {
    prompt: async (env) => {
      const offices = await listUnits(env.deps.db, 'office');
      return { text: header(env, 'subject', env.say('report.ask_office')), rows: offices.map((u) => [env.choice(unitName(u, env.lang), 'office', u.id)]) };
    },
    onChoice: async (env, data, key, id) => {
      const offices = await listUnits(env.deps.db, 'office');
      if (key !== 'office' || !offices.some((u) => u.id === id)) return { stay: true };
      return { next: 'time', data: { ...data, officeUnitId: id } };
    },
  },
  time: {
    prompt: (env, data) => {
      // The discovery time cannot be later today: a bare time ahead of now is yesterday's, if the user says so.
      const ahead = stillAhead(env, data.ahead);
      if (ahead) {
        const q = aheadQuestion(env, ahead);
        return { text: header(env, 'time', q.text), rows: q.rows };
      }
      return { text: header(env, 'time', env.say('report.ask_time')), rows: [[env.choice(env.say('button.now'), 'now')]] };
    },
    onChoice: (env, data, key) => {
      if (key === 'now') return { next: 'place', data: { ...data, ahead: undefined, discoveredAt: env.now.toISOString() } };
      const ahead = stillAhead(env, data.ahead);
      if (key === AHEAD_YESTERDAY && ahead) return { next: 'place', data: { ...data, ahead: undefined, discoveredAt: ahead.yesterday } };
      if (key === AHEAD_RETYPE) return { stay: true, data: { ...data, ahead: undefined } };
      return { stay: true };
    },
    onText: (env, data, text) => {
      const read = readPastTime(env, text);
      if ('error' in read) return { stay: true, data: { ...data, ahead: undefined }, error: read.error };
      if ('ahead' in read) return { stay: true, data: { ...data, ahead: read.ahead } };
      return { next: 'place', data: { ...data, ahead: undefined, discoveredAt: read.at.toISOString() } };
    },
  },
  place: {
    prompt: (env) => ({ text: header(env, 'place', env.say('report.ask_place')) }),
    onText: (env, data, text) => {
      const place = text.trim();
      if (place.length > MAX_PLACE) return { stay: true, error: env.say('report.place_too_long', { max: MAX_PLACE }) };
      if (place === '') return { stay: true, error: env.say('flow.text_expected') };
      return { next: 'casualties', data: { ...data, place } };
    },
    onLocation: (env, data, loc) => ({ next: 'casualties', data: { ...data, latitude: loc.latitude, longitude: loc.longitude } }),
  },
  casualties: {
    prompt: (env) => ({
      text: header(env, 'casualties', env.say('report.ask_casualties')),
      rows: [
        [env.choice(env.say('button.casualties_none'), 'none')],
        [env.choice(env.say('button.casualties_injured'), 'injured'), env.choice(env.say('button.casualties_dead'), 'dead')],
        [env.choice(env.say('button.casualties_both'), 'both')],
      ],
    }),
    onChoice: (env, data, key) => {
      if (key === 'none') return { next: 'description', data: { ...data, injured: 0, dead: 0, casualtyMode: undefined } };
      if (key === 'injured' || key === 'both') return { next: 'injured', data: { ...data, casualtyMode: key, dead: key === 'injured' ? 0 : data.dead } };
      if (key === 'dead') return { next: 'dead', data: { ...data, casualtyMode: key, injured: 0 } };
      return { stay: true };
    },
  },
  injured: countStep('report.ask_injured', (data, n) => ({ next: data.casualtyMode === 'both' ? 'dead' : 'description', data: { ...data, injured: n } })),
  dead: countStep('report.ask_dead', (data, n) => ({ next: 'description', data: { ...data, dead: n } })),
  description: {
    prompt: (env) => ({ text: header(env, 'description', env.say('report.ask_description')) }),
    onText: (env, data, text) => {
      const description = text.trim();
      if (description === '') return { stay: true, error: env.say('report.description_blank') };
      if (description.length > MAX_DESCRIPTION) return { stay: true, error: env.say('report.description_too_long', { max: MAX_DESCRIPTION }) };
      return { next: 'media', data: { ...data, description } };
    },
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
      return { text: header(env, 'confirm', [env.say('report.confirm_title'), ...lines].join('\n')), rows: [[env.choice(env.say('button.submit_report'), 'submit')]] };
    },
    onChoice: async (env, data, key) => {
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
            await env.ctx.reply(env.say(REPORT_SUBMITTED[chainAudience(env.who.actor)], { number: incident.number }), { parse_mode: 'HTML' });
            await sendCard(env.ctx.telegram, env.deps, env.chatId, incident.id, { actor: env.who.actor }, env.lang);
          };
        },
      };
    },
  },
};

function countStep(ask: MessageKey, onCount: (data: ReportData, n: number) => Outcome<ReportData>): Step<ReportData> {
  return {
    prompt: (env) => ({
      text: header(env, 'casualties', env.say(ask)),
      rows: [[1, 2, 3, 4, 5].map((n) => env.choice(String(n), `n${n}`))],
    }),
    onChoice: (env, data, key) => {
      const n = /^n([1-5])$/.exec(key)?.[1];
      return n ? onCount(data, Number(n)) : { stay: true };
    },
    onText: (env, data, text) => {
      const n = parseCount(text);
      return n === undefined ? { stay: true, error: env.say('report.count_invalid') } : onCount(data, n);
    },
  };
}

export const reportFlow: Flow<ReportData> = {
  name: 'report',
  version: 1,
  data: reportData,
  steps,
};

/** The first step of /report: a fresh form. */
export const REPORT_START = 'type';

/** The daily reminder's "report absconding" button: the form starts at the time, type and subject filled in. */
export async function abscondingPrefill(env: Pick<FlowEnv, 'deps' | 'who'>, subjectId: string): Promise<ReportData> {
  const subject = await getSubject(env.deps, env.who.actor, subjectId);
  return reportData.parse({ type: 'absconding', subjectId: subject.id, officeUnitId: subject.officeUnitId, subjectUnknown: false });
}
