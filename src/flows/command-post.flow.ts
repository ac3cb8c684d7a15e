/**
 * The headquarters' command loop (三) from the card and its notices: 启动预案 (choose the response level),
 * 批示 / 指令 (choose which, type it), 处置建议 (type it), and 收到 on a notice. The forms run on the one
 * engine; the buttons come to the desk as the plugin `commandPostPlugin` (private chats).
 */
import { z } from 'zod';
import { canActivatePlan, canChangeResponseLevel, canIssueOrders, canPropose, commandSettingsOf } from '../domain/index.js';
import { rolesOf } from '../db/repositories/incident-role.repository.js';
import { staffNamesById } from '../db/repositories/staff.repository.js';
import { t } from '../i18n/index.js';
import { escapeHtml } from '../i18n/markup.js';
import { activatePlan, changeResponseLevel, levelsToChangeTo, postInstruction, postProposal, receiptMessage, responseLevelOf, responseLevels, isActivated } from '../services/command-post.service.js';
import { ServiceRefusal } from '../services/errors.js';
import { MAX_TEXT } from '../services/incident.service.js';
import { commandKindLabel, levelDirectionLabel, responseLevelLabel } from '../views/command-post-view.js';
import type { ButtonAction } from './actions.js';
import { CallbackRefused, pressedIncident } from './card-actions.js';
import { whoOf, type Conversation } from './conversation.js';
import type { DeskPlugin } from './desk.js';
import type { Flow, FlowEngine } from './engine.js';
import { choiceStep, textStep } from './steps/index.js';

const levelCode = z.string().regex(/^[A-Za-z0-9_]{1,12}$/);

export const activateData = z.object({ incidentId: z.uuid(), number: z.string().max(20), levels: z.array(levelCode).min(1).max(8) });
export type ActivateData = z.infer<typeof activateData>;

/** 启动预案: the response level, from the bureau's list; then the use case forms HQ. */
export const activateFlow: Flow<ActivateData> = {
  name: 'activate_plan',
  version: 1,
  data: activateData,
  steps: {
    level: choiceStep<ActivateData>({
      ask: (env, data) => env.say('activate.ask_level', { number: escapeHtml(data.number) }),
      choices: (env, data) => data.levels.map((l) => ({ key: l, text: responseLevelLabel(l, env.lang) })),
      perRow: 3,
      then: (env, data, choice) => ({
        finish: async () => {
          const done = await activatePlan(env.deps, env.who.actor, data.incidentId, choice.key);
          const names = await staffNames(env.deps, [done.hq.commander, done.hq.deputy_commander]);
          const name = (id: string | null) => escapeHtml((id && names.get(id)) || env.say('command.nobody'));
          return async () => {
            await env.conv.send(env.say('activate.done', { level: escapeHtml(responseLevelLabel(choice.key, env.lang)), commander: name(done.hq.commander), deputy: name(done.hq.deputy_commander) }));
            await env.conv.sendCard(data.incidentId);
          };
        },
      }),
    }),
  },
};

export const changeLevelData = z.object({
  incidentId: z.uuid(),
  number: z.string().max(20),
  /** The level in force when the form opened: the change is made from it, or refused as stale. */
  seen: levelCode,
  /** The levels it may go to (the bureau's list less the one in force). */
  levels: z.array(levelCode).min(1).max(8),
  to: levelCode.optional(),
});
export type ChangeLevelData = z.infer<typeof changeLevelData>;

/** 升级 / 降级响应: the new level, from the bureau's list, then the reason (required); the use case tells HQ. */
export const changeLevelFlow: Flow<ChangeLevelData> = {
  name: 'change_level',
  version: 1,
  data: changeLevelData,
  steps: {
    level: choiceStep<ChangeLevelData>({
      ask: (env, data) => env.say('level.ask', { number: escapeHtml(data.number), level: escapeHtml(responseLevelLabel(data.seen, env.lang)) }),
      choices: (env, data) => data.levels.map((l) => ({ key: l, text: responseLevelLabel(l, env.lang) })),
      perRow: 3,
      then: (_env, data, choice) => ({ next: 'reason', data: { ...data, to: choice.key } }),
    }),
    reason: textStep<ChangeLevelData>({
      prompt: (env, data) => ({ text: env.say('level.ask_reason', { from: escapeHtml(responseLevelLabel(data.seen, env.lang)), to: escapeHtml(responseLevelLabel(data.to ?? data.seen, env.lang)) }) }),
      blank: 'level.blank',
      max: MAX_TEXT,
      then: (env, data, text) => ({
        finish: async () => {
          try {
            const done = await changeResponseLevel(env.deps, env.who.actor, data.incidentId, { to: data.to ?? data.seen, seen: data.seen, reason: text });
            return async () => {
              await env.conv.send(env.say('level.done', { direction: levelDirectionLabel(done.direction, env.lang), from: escapeHtml(responseLevelLabel(done.from, env.lang)), to: escapeHtml(responseLevelLabel(done.to, env.lang)) }));
              await env.conv.sendCard(data.incidentId);
            };
          } catch (err) {
            // Someone changed the level while this form was open: say to what, and show the card as it is now.
            if (!(err instanceof ServiceRefusal) || err.code !== 'stale') throw err;
            const now = await responseLevelOf(env.deps, data.incidentId);
            return async () => {
              await env.conv.send(env.say('level.stale', { level: escapeHtml(responseLevelLabel(now ?? data.seen, env.lang)) }));
              await env.conv.sendCard(data.incidentId);
            };
          }
        },
      }),
    }),
  },
};

async function staffNames(deps: { db: Parameters<typeof rolesOf>[0] }, ids: ReadonlyArray<string | null>): Promise<Map<string, string>> {
  return staffNamesById(deps.db, ids.filter((id): id is string => !!id));
}

export const instructData = z.object({
  incidentId: z.uuid(),
  number: z.string().max(20),
  /** 'proposal' for the on-site command's form; 'remark' or 'order' once HQ chose. */
  kind: z.enum(['remark', 'order', 'proposal']).optional(),
});
export type InstructData = z.infer<typeof instructData>;

/** 批示 / 指令 (HQ) or 处置建议 (the on-site command): which, then the text; the use case sends it with 收到. */
export const instructFlow: Flow<InstructData> = {
  name: 'command_message',
  version: 1,
  data: instructData,
  steps: {
    kind: choiceStep<InstructData>({
      ask: (env, data) => env.say('instruct.ask_kind', { number: escapeHtml(data.number) }),
      choices: (env) => (['remark', 'order'] as const).map((k) => ({ key: k, text: commandKindLabel(k, env.lang) })),
      perRow: 2,
      then: (_env, data, choice) => ({ next: 'text', data: { ...data, kind: choice.key as 'remark' | 'order' } }),
    }),
    text: textStep<InstructData>({
      prompt: (env, data) => ({
        text: data.kind === 'proposal' ? env.say('propose.ask_text', { number: escapeHtml(data.number) }) : env.say('instruct.ask_text', { kind: commandKindLabel(data.kind ?? 'order', env.lang) }),
        noBack: data.kind === 'proposal',
      }),
      blank: 'instruct.blank',
      max: MAX_TEXT,
      then: (env, data, text) => ({
        finish: async () => {
          const kind = data.kind ?? 'order';
          const sent = kind === 'proposal' ? await postProposal(env.deps, env.who.actor, data.incidentId, text) : await postInstruction(env.deps, env.who.actor, data.incidentId, kind, text);
          const minutes = Math.round(commandSettingsOf(await env.deps.policy()).receiptSeconds / 60);
          return async () => {
            await env.conv.send(
              kind === 'proposal'
                ? env.say('propose.done', { count: sent.addressees.length, minutes })
                : env.say('instruct.done', { kind: commandKindLabel(kind, env.lang), count: sent.addressees.length, minutes }),
            );
            await env.conv.sendCard(data.incidentId);
          };
        },
      }),
    }),
  },
};


/** 启动预案 pressed: the section or a leader chooses the level. */
export async function onActivatePress(conv: Conversation, cb: ButtonAction, engine: FlowEngine): Promise<void> {
  const incident = await pressedIncident(conv, cb, { open: true });
  if (!canActivatePlan(whoOf(conv).actor)) throw new CallbackRefused('not_permitted', 'refuse.not_permitted', incident.id);
  if (await isActivated(conv.deps, incident.id)) throw new CallbackRefused('already_done', 'activate.already', incident.id);
  await conv.answer();
  await engine.start(conv, activateFlow, 'level', { incidentId: incident.id, number: incident.number, levels: [...(await responseLevels(conv.deps))] });
}

/**
 * 调整响应级别 pressed: the section or a leader, on an activated plan, chooses the new level. The button
 * carries the level the card showed (`k`): a press from a card drawn before someone else's change is
 * refused as stale, in the viewer's language, and the card is brought up to date.
 */
export async function onChangeLevelPress(conv: Conversation, cb: ButtonAction, engine: FlowEngine): Promise<void> {
  const incident = await pressedIncident(conv, cb, { open: true });
  if (!canChangeResponseLevel(whoOf(conv).actor)) throw new CallbackRefused('not_permitted', 'refuse.not_permitted', incident.id);
  const current = await responseLevelOf(conv.deps, incident.id);
  if (!current) throw new CallbackRefused('wrong_status', 'level.not_activated', incident.id);
  // The desk redraws the card of a stale press.
  if (cb.k !== undefined && cb.k !== current) throw new CallbackRefused('stale', 'level.stale_press', incident.id, { level: responseLevelLabel(current, conv.lang) });
  const levels = await levelsToChangeTo(conv.deps, incident, current);
  if (levels.length === 0) throw new CallbackRefused('invalid_input', 'level.no_other', incident.id);
  await conv.answer();
  await engine.start(conv, changeLevelFlow, 'level', { incidentId: incident.id, number: incident.number, seen: current, levels: levels.slice(0, 8) });
}

/** 批示、指令 pressed: HQ chooses which and types it. */
export async function onInstructPress(conv: Conversation, cb: ButtonAction, engine: FlowEngine): Promise<void> {
  const incident = await pressedIncident(conv, cb, { open: true });
  if (!canIssueOrders(whoOf(conv).actor, await rolesOf(conv.deps.db, incident.id))) throw new CallbackRefused('not_permitted', 'refuse.not_permitted', incident.id);
  await conv.answer();
  await engine.start(conv, instructFlow, 'kind', { incidentId: incident.id, number: incident.number });
}

/** 处置建议 pressed: the on-site command types it. */
export async function onProposePress(conv: Conversation, cb: ButtonAction, engine: FlowEngine): Promise<void> {
  const incident = await pressedIncident(conv, cb, { open: true });
  if (!canPropose(whoOf(conv).actor, await rolesOf(conv.deps.db, incident.id))) throw new CallbackRefused('not_permitted', 'refuse.not_permitted', incident.id);
  await conv.answer();
  await engine.start(conv, instructFlow, 'text', { incidentId: incident.id, number: incident.number, kind: 'proposal' });
}

/**
 * 收到 pressed on a notice: the receipt is recorded, the press answered, and the notice loses its button
 * (a second press, or one after the button was taken, is told it is done already).
 */
export async function onReceiptPress(conv: Conversation, cb: ButtonAction): Promise<void> {
  if (!cb.i) throw new CallbackRefused('malformed', 'refuse.bad_button');
  try {
    await receiptMessage(conv.deps, whoOf(conv).actor, cb.i);
  } catch (err) {
    // In a duty group the message is everyone's: its 收到 stays for the others.
    if (err instanceof ServiceRefusal && err.code === 'already_done' && conv.pressedMessageId !== undefined && conv.chatKind === 'private') await conv.retire(conv.pressedMessageId);
    if (err instanceof ServiceRefusal && err.code === 'not_found') throw new CallbackRefused('not_found', 'refuse.not_found');
    throw err;
  }
  await conv.answer(t(conv.lang, 'receipt.done'));
  if (conv.pressedMessageId !== undefined && conv.chatKind === 'private') await conv.retire(conv.pressedMessageId);
}

/** The command loop's buttons, for the desk (private chats). */
export function commandPostPlugin(): DeskPlugin {
  return {
    name: 'command-post',
    commands: {},
    presses: {
      cpa: (conv, action, engine) => onActivatePress(conv, action, engine),
      cpl: (conv, action, engine) => onChangeLevelPress(conv, action, engine),
      cpi: (conv, action, engine) => onInstructPress(conv, action, engine),
      cpp: (conv, action, engine) => onProposePress(conv, action, engine),
      rcpt: (conv, action) => onReceiptPress(conv, action),
    },
  };
}
