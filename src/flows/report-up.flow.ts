/**
 * Progress up the line, from the section's card: 立即上报 (forward the incident to the next level now,
 * with a note, instead of waiting for the mandatory-information deadline) and 上报上一级 with its phase
 * (首报, then 续报 as often as needed, then 终报), each with how it was made and an optional note.
 * Both are forms of the one engine; the buttons come as the desk plugin `reportUpPlugin`.
 */
import { z } from 'zod';
import { canMarkStep, isOpen, isSection, type IncidentStatus, type StepActor } from '../domain/index.js';
import { REPORT_HOWS, UPPER_STEP, UPWARD_PHASES, type UpwardPhase } from '../domain/upward-steps.js';
import { findStep } from '../db/repositories/incident.repository.js';
import { escapeHtml } from '../i18n/markup.js';
import { forwardToNextLevel, MAX_TEXT, reportUpward, upwardPhasesAvailable } from '../services/incident.service.js';
import { howLabel, positionLabel } from '../views/labels.js';
import type { ButtonAction } from './actions.js';
import { CallbackRefused, pressedIncident } from './card-actions.js';
import { whoOf, type Conversation } from './conversation.js';
import type { DeskPlugin } from './desk.js';
import type { Flow, FlowEngine } from './engine.js';
import { choiceStep, requiredText, textStep } from './steps/index.js';

export const forwardData = z.object({ incidentId: z.uuid(), number: z.string().max(20) });
export type ForwardData = z.infer<typeof forwardData>;

/** 立即上报: the note (required), then the use case picks the level and tells it. */
export const forwardFlow: Flow<ForwardData> = {
  name: 'forward_up',
  version: 1,
  data: forwardData,
  steps: {
    note: textStep<ForwardData>({
      prompt: (env, data) => ({ text: env.say('forward.ask', { number: escapeHtml(data.number) }), noBack: true }),
      blank: 'forward.blank',
      max: MAX_TEXT,
      then: (env, data, text) => ({
        finish: async () => {
          const done = await forwardToNextLevel(env.deps, env.who.actor, data.incidentId, text);
          return async () => {
            await env.conv.send(env.say('forward.done', { position: positionLabel(done.position, env.lang), count: done.recipients }));
            await env.conv.sendCard(data.incidentId);
          };
        },
      }),
    }),
  },
};

export const upwardData = z.object({
  incidentId: z.uuid(),
  number: z.string().max(20),
  /** The phases that could be reported when the form opened. */
  phases: z.array(z.enum(UPWARD_PHASES)).min(1).max(3),
  phase: z.enum(UPWARD_PHASES).optional(),
  how: z.enum(REPORT_HOWS).optional(),
});
export type UpwardData = z.infer<typeof upwardData>;

const phaseName = (env: { say: (k: 'upward.phase.first' | 'upward.phase.progress' | 'upward.phase.final') => string }, phase: UpwardPhase) => env.say(`upward.phase.${phase}`);

/** 上报上一级: which report this is, how it was made, and an optional note. */
export const upwardFlow: Flow<UpwardData> = {
  name: 'upward_report',
  version: 1,
  data: upwardData,
  steps: {
    phase: choiceStep<UpwardData>({
      ask: (env, data) => env.say('upward.ask_phase', { number: escapeHtml(data.number) }),
      choices: (env, data) => data.phases.map((p) => ({ key: p, text: phaseName(env, p) })),
      perRow: 2,
      then: (_env, data, choice) => ({ next: 'how', data: { ...data, phase: choice.key as UpwardPhase } }),
    }),
    how: choiceStep<UpwardData>({
      ask: (env, data) => env.say('upward.ask_how', { number: escapeHtml(data.number), phase: phaseName(env, data.phase ?? data.phases[0]!) }),
      choices: (env) => REPORT_HOWS.map((h) => ({ key: h, text: howLabel(h, env.lang) })),
      perRow: 3,
      then: (_env, data, choice) => ({ next: 'note', data: { ...data, how: choice.key as UpwardData['how'] } }),
    }),
    note: {
      prompt: (env) => ({ text: env.say('upward.ask_note'), rows: [[env.choice(env.say('button.upward_no_note'), 'none')]] }),
      onChoice: (env, data, key) => (key === 'none' ? submitUpward(env, data, null) : { stay: true }),
      onText: (env, data, text) => {
        const r = requiredText(env, text, { blank: 'upward.ask_note', max: MAX_TEXT });
        return 'error' in r ? { stay: true, error: r.error } : submitUpward(env, data, r.ok);
      },
    },
  },
};

function submitUpward(env: Parameters<NonNullable<Flow<UpwardData>['steps'][string]['onText']>>[0], data: UpwardData, note: string | null) {
  const phase = data.phase ?? data.phases[0]!;
  return {
    closing: env.say('upward.done', { phase: phaseName(env, phase) }),
    finish: async () => {
      await reportUpward(env.deps, env.who.actor, data.incidentId, { phase, how: data.how ?? 'phone', note });
      return async () => {
        await env.conv.sendCard(data.incidentId);
      };
    },
  };
}


/** 立即上报 pressed: the section, on an open incident, is asked for the note. */
export async function onForwardPress(conv: Conversation, cb: ButtonAction, engine: FlowEngine): Promise<void> {
  const incident = await pressedIncident(conv, cb);
  if (!isSection(whoOf(conv).actor)) throw new CallbackRefused('not_permitted', 'refuse.not_permitted', incident.id);
  if (!isOpen(incident.status as IncidentStatus)) throw new CallbackRefused('wrong_status', 'refuse.wrong_status', incident.id);
  await conv.answer();
  await engine.start(conv, forwardFlow, 'note', { incidentId: incident.id, number: incident.number });
}

/** 上报上一级 pressed: whoever may mark the step picks the phase (when more than one is open), how, and a note. */
export async function onUpwardPress(conv: Conversation, cb: ButtonAction, engine: FlowEngine): Promise<void> {
  const incident = await pressedIncident(conv, cb);
  const step = await findStep(conv.deps.db, incident.id, { key: UPPER_STEP });
  if (!step) throw new CallbackRefused('malformed', 'refuse.bad_button', incident.id);
  if (!canMarkStep(whoOf(conv).actor, incident.officeUnitId, step.actor as StepActor)) throw new CallbackRefused('not_permitted', 'refuse.not_permitted', incident.id);
  if (!isOpen(incident.status as IncidentStatus)) throw new CallbackRefused('wrong_status', 'refuse.wrong_status', incident.id);
  const phases = await upwardPhasesAvailable(conv.deps, incident.id);
  if (phases.length === 0) throw new CallbackRefused('already_done', 'upward.none', incident.id);
  await conv.answer();
  await engine.start(conv, upwardFlow, phases.length === 1 ? 'how' : 'phase', { incidentId: incident.id, number: incident.number, phases, ...(phases.length === 1 ? { phase: phases[0] } : {}) });
}

/** The buttons of progress up the line, for the desk (private chats). */
export function reportUpPlugin(): DeskPlugin {
  return {
    name: 'report-up',
    commands: {},
    presses: {
      fwd: (conv, action, engine) => onForwardPress(conv, action, engine),
      upw: (conv, action, engine) => onUpwardPress(conv, action, engine),
    },
  };
}
