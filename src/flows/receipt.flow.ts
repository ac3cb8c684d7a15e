/**
 * 回执: a step of the card that calls or notifies an outside party (110, 120, the police station, the
 * procuratorate…) records the call — which party (when the step names more than one), how, when (a typed
 * time, by the same rules as every past time), who answered, and the reference number — then, if the
 * step is still open, whether to mark it done too. Each prompt shows the numbers the bureau's directory
 * offers for the incident's office. The press comes as the desk plugin `outsidePartyPlugin` (./sanction.flow.ts).
 */
import { z } from 'zod';
import { canMarkStep, formatLocal, type StepActor } from '../domain/index.js';
import { OUTSIDE_PARTIES, RECEIPT_LIMITS, RECEIPT_METHODS, partiesOfStep, stepHowOfMethod, type OutsideParty } from '../domain/outside-parties.js';
import { findStep } from '../db/repositories/incident.repository.js';
import { escapeHtml } from '../i18n/markup.js';
import { ServiceRefusal } from '../services/errors.js';
import { markStep } from '../services/incident.service.js';
import { contactsOfStep, recordReceipt } from '../services/outside-party.service.js';
import { stepText } from '../views/labels.js';
import { contactLine, partyLabel, receiptMethodLabel } from '../views/outside-party-view.js';
import type { ButtonAction } from './actions.js';
import { CallbackRefused, pressedIncident } from './card-actions.js';
import { whoOf, type Conversation } from './conversation.js';
import type { Flow, FlowEnv, FlowEngine, Outcome } from './engine.js';
import { aheadTime, choiceStep, pastTimeStep, requiredText, textStep } from './steps/index.js';

export const receiptData = z.object({
  incidentId: z.uuid(),
  number: z.string().max(20),
  officeUnitId: z.uuid(),
  ordinal: z.number().int().min(1).max(100),
  stepKey: z.string().max(40),
  type: z.string().max(32),
  scenario: z.string().max(4).nullable(),
  /** Whether the step was still open when the form started: then it asks whether to mark it done. */
  stepPending: z.boolean(),
  parties: z.array(z.enum(OUTSIDE_PARTIES)).min(1).max(4),
  party: z.enum(OUTSIDE_PARTIES).optional(),
  method: z.enum(RECEIPT_METHODS).optional(),
  at: z.iso.datetime().optional(),
  answeredBy: z.string().max(RECEIPT_LIMITS.answeredBy).optional(),
  reference: z.string().max(RECEIPT_LIMITS.reference).nullable().optional(),
  ahead: aheadTime.optional(),
});
export type ReceiptData = z.infer<typeof receiptData>;

const partyOf = (data: ReceiptData): OutsideParty => data.party ?? data.parties[0]!;

/** The form's header: the incident, the step, and the numbers to call for it. */
async function header(env: FlowEnv, data: ReceiptData, party?: OutsideParty): Promise<string> {
  const title = env.say('opr.title', { number: escapeHtml(data.number), ordinal: data.ordinal, step: escapeHtml(stepText(data.type, data.scenario, data.stepKey, env.lang)) });
  const contacts = await contactsOfStep(env.deps, data.officeUnitId, data.stepKey, party);
  const lines = contacts.length ? [env.say('opr.contacts'), ...contacts.map((c) => contactLine(c, env.lang))] : [env.say('opr.no_contact')];
  return [title, ...lines].join('\n');
}

function summary(env: FlowEnv, data: ReceiptData): Record<string, string> {
  return {
    party: escapeHtml(partyLabel(partyOf(data), env.lang)),
    method: receiptMethodLabel(data.method ?? 'phone', env.lang),
    time: formatLocal(new Date(data.at ?? env.now.toISOString()), env.deps.timeZone, env.now),
    who: escapeHtml(data.answeredBy ?? ''),
    reference: data.reference ? env.say('card.receipt_reference', { reference: escapeHtml(data.reference) }) : '',
  };
}

function submit(env: FlowEnv, data: ReceiptData, markDone: boolean): Outcome<ReceiptData> {
  return {
    closing: env.say(markDone ? 'opr.done_and_marked' : 'opr.done'),
    finish: async () => {
      const { receipt } = await recordReceipt(env.deps, env.who.actor, data.incidentId, {
        ordinal: data.ordinal,
        party: partyOf(data),
        method: data.method ?? 'phone',
        at: new Date(data.at ?? env.now.toISOString()),
        answeredBy: data.answeredBy ?? '',
        reference: data.reference ?? null,
        submissionKey: env.formKey,
      });
      if (markDone) {
        const how = stepHowOfMethod(receipt.method as (typeof RECEIPT_METHODS)[number]);
        try {
          await markStep(env.deps, env.who.actor, data.incidentId, { ordinal: data.ordinal }, { kind: 'done', ...(how ? { how } : {}) });
        } catch (err) {
          // Marked by someone else meanwhile: the receipt stands, the step is done either way.
          if (!(err instanceof ServiceRefusal && err.code === 'already_done')) throw err;
        }
      }
      return () => env.conv.sendCard(data.incidentId).then(() => {});
    },
  };
}

export const receiptFlow: Flow<ReceiptData> = {
  name: 'outside_receipt',
  version: 1,
  data: receiptData,
  steps: {
    party: choiceStep<ReceiptData>({
      ask: async (env, data) => `${await header(env, data)}\n\n${env.say('opr.ask_party')}`,
      choices: (env, data) => data.parties.map((p) => ({ key: p, text: partyLabel(p, env.lang) })),
      then: (_env, data, choice) => ({ next: 'method', data: { ...data, party: choice.key as OutsideParty } }),
    }),
    method: choiceStep<ReceiptData>({
      ask: async (env, data) => `${await header(env, data, partyOf(data))}\n\n${env.say('opr.ask_method', { party: escapeHtml(partyLabel(partyOf(data), env.lang)) })}`,
      choices: (env) => RECEIPT_METHODS.map((m) => ({ key: m, text: receiptMethodLabel(m, env.lang) })),
      perRow: 2,
      then: (_env, data, choice) => ({ next: 'when', data: { ...data, method: choice.key as ReceiptData['method'] } }),
    }),
    when: pastTimeStep<ReceiptData>({
      ask: (env) => env.say('opr.ask_when'),
      now: 'button.just_now',
      then: (_env, data, at) => ({ next: 'who', data: { ...data, at: at.toISOString() } }),
    }),
    who: textStep<ReceiptData>({
      prompt: (env) => ({ text: env.say('opr.ask_who') }),
      blank: 'opr.who_blank',
      max: RECEIPT_LIMITS.answeredBy,
      then: (_env, data, text) => ({ next: 'reference', data: { ...data, answeredBy: text } }),
    }),
    reference: {
      prompt: (env) => ({ text: env.say('opr.ask_reference'), rows: [[env.choice(env.say('button.no_reference'), 'none')]] }),
      onChoice: (_env, data, key) => (key === 'none' ? afterReference({ ...data, reference: null }) : { stay: true }),
      onText: (env, data, text) => {
        const r = requiredText(env, text, { blank: 'opr.ask_reference', max: RECEIPT_LIMITS.reference });
        return 'error' in r ? { stay: true, error: r.error } : afterReference({ ...data, reference: r.ok });
      },
    },
    mark: {
      prompt: (env, data) => ({
        text: env.say('opr.ask_mark', summary(env, data)),
        rows: [[env.choice(env.say('button.receipt_and_done'), 'done')], [env.choice(env.say('button.receipt_only'), 'only')]],
      }),
      onChoice: (env, data, key) => (key === 'done' || key === 'only' ? submit(env, data, key === 'done') : { stay: true }),
    },
    // Reached only for a step no longer open: nothing to mark, the receipt is recorded as it is.
    confirm: {
      prompt: (env, data) => ({ text: env.say('opr.ask_mark', summary(env, data)).split('\n')[0]!, rows: [[env.choice(env.say('button.receipt_only'), 'only')]] }),
      onChoice: (env, data, key) => (key === 'only' ? submit(env, data, false) : { stay: true }),
    },
  },
};

function afterReference(data: ReceiptData): Outcome<ReceiptData> {
  return { next: data.stepPending ? 'mark' : 'confirm', data };
}

/** 记录回执 pressed on a step: whoever may mark the step, on an open incident, for a step that calls an outside party. */
export async function onReceiptPress(conv: Conversation, cb: ButtonAction, engine: FlowEngine): Promise<void> {
  if (!cb.i) throw new CallbackRefused('malformed', 'refuse.bad_button');
  const ordinal = Number(cb.k);
  if (!Number.isInteger(ordinal) || ordinal < 1 || ordinal > 100) throw new CallbackRefused('malformed', 'refuse.bad_button');
  const { actor } = whoOf(conv);
  const incident = await pressedIncident(conv, cb, { open: true });
  const step = await findStep(conv.deps.db, incident.id, { ordinal });
  const parties = step ? partiesOfStep(step.key) : [];
  if (!step || parties.length === 0) throw new CallbackRefused('malformed', 'refuse.bad_button', incident.id);
  if (!canMarkStep(actor, incident.officeUnitId, step.actor as StepActor)) throw new CallbackRefused('not_permitted', 'refuse.not_permitted', incident.id);
  if (step.state === 'not_applicable') throw new CallbackRefused('already_done', 'refuse.already_done', incident.id);
  await conv.answer();
  await engine.start(conv, receiptFlow, parties.length > 1 ? 'party' : 'method', {
    incidentId: incident.id,
    number: incident.number,
    officeUnitId: incident.officeUnitId,
    ordinal,
    stepKey: step.key,
    type: incident.type,
    scenario: incident.scenario,
    stepPending: step.state === 'pending',
    parties: [...parties],
  });
}
