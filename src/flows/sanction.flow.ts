/**
 * 处罚, from the card: on the punishment step, a sanction of the bureau's list with its grounds (typed),
 * the decision (proposed, or — for the section and the leaders — approved, rejected, executed) and its
 * date (a typed time), then whether to mark the step done; and later, a decision on a sanction still
 * open (a court's approval of 提请撤销缓刑 comes weeks on, after closing too). With the receipts' press,
 * these are the desk plugin `outsidePartyPlugin`.
 */
import { z } from 'zod';
import { formatLocal, isOpen, type IncidentStatus } from '../domain/index.js';
import { canDecideSanction, isFinalDecision, isSanctionStep, nextDecisions, SANCTION_DECISIONS, SANCTION_GROUNDS_MAX, type SanctionDecision } from '../domain/sanctions.js';
import { findIncident, findStep, type IncidentRow } from '../db/repositories/incident.repository.js';
import { escapeHtml } from '../i18n/markup.js';
import { ServiceRefusal } from '../services/errors.js';
import { markStep } from '../services/incident.service.js';
import { decideSanction, recordSanction, sanctionKindsFor, sanctionsOf } from '../services/sanction.service.js';
import { sanctionDecisionLabel, sanctionKindLabel, sanctionNamesOf } from '../views/outside-party-view.js';
import type { ButtonAction } from './actions.js';
import { CallbackRefused, pressedIncident } from './card-actions.js';
import { whoOf, type Conversation } from './conversation.js';
import type { DeskPlugin } from './desk.js';
import type { Flow, FlowEnv, FlowEngine, Outcome } from './engine.js';
import { onReceiptPress } from './receipt.flow.js';
import { aheadTime, choiceStep, pastTimeStep, textStep } from './steps/index.js';

export const sanctionData = z.object({
  incidentId: z.uuid(),
  number: z.string().max(20),
  /** The punishment step's ordinal, and whether it was open when the form started. */
  ordinal: z.number().int().min(1).max(100),
  stepPending: z.boolean(),
  kind: z.string().max(32).optional(),
  grounds: z.string().max(SANCTION_GROUNDS_MAX).optional(),
  decision: z.enum(SANCTION_DECISIONS).optional(),
  at: z.iso.datetime().optional(),
  ahead: aheadTime.optional(),
});
export type SanctionData = z.infer<typeof sanctionData>;

async function incidentOf(env: FlowEnv, incidentId: string): Promise<IncidentRow> {
  const incident = await findIncident(env.deps.db, incidentId);
  if (!incident) throw new ServiceRefusal('not_found');
  return incident;
}

async function kindName(env: FlowEnv, incidentId: string, kind: string): Promise<string> {
  return sanctionKindLabel(kind, env.lang, sanctionNamesOf((await incidentOf(env, incidentId)).policy));
}

const title = (env: FlowEnv, number: string) => env.say('sanction.title', { number: escapeHtml(number) });

function submit(env: FlowEnv, data: SanctionData, markDone: boolean): Outcome<SanctionData> {
  return {
    finish: async () => {
      const { sanction } = await recordSanction(env.deps, env.who.actor, data.incidentId, {
        kind: data.kind ?? '',
        grounds: data.grounds ?? '',
        decision: data.decision ?? 'proposed',
        decidedAt: new Date(data.at ?? env.now.toISOString()),
        submissionKey: env.formKey,
      });
      if (markDone) {
        try {
          await markStep(env.deps, env.who.actor, data.incidentId, { ordinal: data.ordinal }, { kind: 'done' });
        } catch (err) {
          if (!(err instanceof ServiceRefusal && err.code === 'already_done')) throw err;
        }
      }
      const kind = await kindName(env, data.incidentId, sanction.kind);
      return async () => {
        await env.conv.send(env.say(markDone ? 'sanction.done_and_marked' : 'sanction.done', { kind: escapeHtml(kind), decision: sanctionDecisionLabel(sanction.decision, env.lang) }));
        await env.conv.sendCard(data.incidentId);
      };
    },
  };
}

export const sanctionFlow: Flow<SanctionData> = {
  name: 'sanction',
  version: 1,
  data: sanctionData,
  steps: {
    kind: choiceStep<SanctionData>({
      ask: (env, data) => `${title(env, data.number)}\n${env.say('sanction.ask_kind')}`,
      choices: async (env, data) => {
        const incident = await incidentOf(env, data.incidentId);
        const names = sanctionNamesOf(incident.policy);
        return (await sanctionKindsFor(env.deps, incident)).map((k) => ({ key: k.code, text: sanctionKindLabel(k.code, env.lang, names) }));
      },
      perRow: 2,
      then: (_env, data, choice) => ({ next: 'grounds', data: { ...data, kind: choice.key } }),
    }),
    grounds: textStep<SanctionData>({
      prompt: (env) => ({ text: env.say('sanction.ask_grounds') }),
      blank: 'sanction.grounds_blank',
      max: SANCTION_GROUNDS_MAX,
      then: (_env, data, text) => ({ next: 'decision', data: { ...data, grounds: text } }),
    }),
    decision: choiceStep<SanctionData>({
      ask: async (env, data) => env.say('sanction.ask_decision', { kind: escapeHtml(await kindName(env, data.incidentId, data.kind ?? '')) }),
      // Whoever handles the incident proposes; the section and the leaders record the decision itself.
      choices: (env) => (canDecideSanction(env.who.actor) ? SANCTION_DECISIONS : (['proposed'] as const)).map((d) => ({ key: d, text: sanctionDecisionLabel(d, env.lang) })),
      perRow: 2,
      then: (_env, data, choice) => ({ next: 'when', data: { ...data, decision: choice.key as SanctionDecision } }),
    }),
    when: pastTimeStep<SanctionData>({
      ask: (env) => env.say('sanction.ask_when'),
      now: 'button.now',
      then: (env, data, at) => {
        const next = { ...data, at: at.toISOString() };
        return data.stepPending ? { next: 'mark', data: next } : submit(env, next, false);
      },
    }),
    mark: {
      prompt: async (env, data) => ({
        text: env.say('sanction.ask_mark', {
          kind: escapeHtml(await kindName(env, data.incidentId, data.kind ?? '')),
          decision: sanctionDecisionLabel(data.decision ?? 'proposed', env.lang),
          time: formatLocal(new Date(data.at ?? env.now.toISOString()), env.deps.timeZone, env.now),
        }),
        rows: [[env.choice(env.say('button.sanction_and_done'), 'done')], [env.choice(env.say('button.sanction_only'), 'only')]],
      }),
      onChoice: (env, data, key) => (key === 'done' || key === 'only' ? submit(env, data, key === 'done') : { stay: true }),
    },
  },
};

export const sanctionDecisionData = z.object({
  incidentId: z.uuid(),
  number: z.string().max(20),
  sanctionId: z.uuid().optional(),
  decision: z.enum(SANCTION_DECISIONS).optional(),
  ahead: aheadTime.optional(),
});
export type SanctionDecisionData = z.infer<typeof sanctionDecisionData>;

async function openSanctions(env: FlowEnv, incidentId: string) {
  const incident = await incidentOf(env, incidentId);
  const names = sanctionNamesOf(incident.policy);
  const rows = (await sanctionsOf(env.deps, env.who.actor, incident)).filter((s) => !isFinalDecision(s.decision as SanctionDecision));
  return rows.map((s) => ({ row: s, kind: sanctionKindLabel(s.kind, env.lang, names) }));
}

/** A later decision on a sanction: which one (when more than one is open), the new decision, its date. */
export const sanctionDecisionFlow: Flow<SanctionDecisionData> = {
  name: 'sanction_decision',
  version: 1,
  data: sanctionDecisionData,
  steps: {
    which: choiceStep<SanctionDecisionData>({
      ask: (env, data) => env.say('sanction.ask_which', { number: escapeHtml(data.number) }),
      choices: async (env, data) =>
        (await openSanctions(env, data.incidentId)).map((s) => ({ key: 's', id: s.row.id, text: `${s.kind}（${sanctionDecisionLabel(s.row.decision, env.lang)}）` })),
      then: (_env, data, choice) => ({ next: 'next', data: { ...data, sanctionId: choice.id } }),
    }),
    next: choiceStep<SanctionDecisionData>({
      ask: async (env, data) => {
        const s = (await openSanctions(env, data.incidentId)).find((x) => x.row.id === data.sanctionId);
        return env.say('sanction.ask_next', { kind: escapeHtml(s?.kind ?? ''), decision: sanctionDecisionLabel(s?.row.decision ?? '', env.lang) });
      },
      choices: async (env, data) => {
        const s = (await openSanctions(env, data.incidentId)).find((x) => x.row.id === data.sanctionId);
        return s ? nextDecisions(s.row.decision as SanctionDecision).map((d) => ({ key: d, text: sanctionDecisionLabel(d, env.lang) })) : [];
      },
      perRow: 3,
      then: (_env, data, choice) => ({ next: 'when', data: { ...data, decision: choice.key as SanctionDecision } }),
    }),
    when: pastTimeStep<SanctionDecisionData>({
      ask: (env) => env.say('sanction.ask_when'),
      now: 'button.now',
      then: (env, data, at) => ({
        finish: async () => {
          const saved = await decideSanction(env.deps, env.who.actor, data.sanctionId ?? '', { decision: data.decision ?? 'approved', decidedAt: at });
          const kind = await kindName(env, data.incidentId, saved.kind);
          return async () => {
            await env.conv.send(env.say('sanction.decided', { kind: escapeHtml(kind), decision: sanctionDecisionLabel(saved.decision, env.lang) }));
            await env.conv.sendCard(data.incidentId);
          };
        },
      }),
    }),
  },
};


/** 记录处罚 (key n.<ordinal>, on the punishment step of an open incident) or 更新处罚决定 (key dec). */
export async function onSanctionPress(conv: Conversation, cb: ButtonAction, engine: FlowEngine): Promise<void> {
  const incident = await pressedIncident(conv, cb);
  const { actor } = whoOf(conv);
  if (cb.k === 'dec') {
    if (!canDecideSanction(actor)) throw new CallbackRefused('not_permitted', 'refuse.not_permitted', incident.id);
    const open = (await sanctionsOf(conv.deps, actor, incident)).filter((s) => !isFinalDecision(s.decision as SanctionDecision));
    if (open.length === 0) throw new CallbackRefused('already_done', 'sanction.none_open', incident.id);
    await conv.answer();
    await engine.start(conv, sanctionDecisionFlow, open.length === 1 ? 'next' : 'which', { incidentId: incident.id, number: incident.number, ...(open.length === 1 ? { sanctionId: open[0]!.id } : {}) });
    return;
  }
  const ordinal = Number(/^n\.(\d{1,3})$/.exec(cb.k ?? '')?.[1]);
  if (!Number.isInteger(ordinal) || ordinal < 1) throw new CallbackRefused('malformed', 'refuse.bad_button', incident.id);
  if (!isOpen(incident.status as IncidentStatus)) throw new CallbackRefused('wrong_status', 'refuse.wrong_status', incident.id);
  const step = await findStep(conv.deps.db, incident.id, { ordinal });
  if (!step || !isSanctionStep(step.key)) throw new CallbackRefused('malformed', 'refuse.bad_button', incident.id);
  if (step.state === 'not_applicable') throw new CallbackRefused('already_done', 'refuse.already_done', incident.id);
  await conv.answer();
  await engine.start(conv, sanctionFlow, 'kind', { incidentId: incident.id, number: incident.number, ordinal, stepPending: step.state === 'pending' });
}

/** The buttons of receipts from outside parties and of sanctions, for the desk (private chats). */
export function outsidePartyPlugin(): DeskPlugin {
  return {
    name: 'outside-parties',
    commands: {},
    presses: {
      opr: (conv, action, engine) => onReceiptPress(conv, action, engine),
      sanc: (conv, action, engine) => onSanctionPress(conv, action, engine),
    },
  };
}
