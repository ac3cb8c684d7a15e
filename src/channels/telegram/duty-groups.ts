/**
 * Duty groups on Telegram (issue 15): the bot serves only the group chats a unit bound with
 * /bindgroup <code>. In a bound group it answers the one-tap card buttons (签收, 收到, 刷新) for whoever
 * may press them, checked by their own Telegram account; an unbound group is told once that the bot is
 * not bound there, and everything else in it is ignored. The bot removed from a group ends its binding.
 */
import type { MiddlewareFn } from 'telegraf';
import type { ChatMemberUpdated } from 'telegraf/types';
import { findIncident } from '../../db/repositories/incident.repository.js';
import { actorFor, findStaffById, findUnit } from '../../db/repositories/org.repository.js';
import type { DutyGroupRow } from '../../db/repositories/duty-group.repository.js';
import type { Actor } from '../../domain/index.js';
import { t, type Lang, type MessageKey } from '../../i18n/index.js';
import { escapeHtml } from '../../i18n/markup.js';
import { bindDutyGroup, dutyGroupOfChat, firstTimeUnbound, unbindDutyGroup, unbindDutyGroupByCommand } from '../../services/duty-group.service.js';
import { ServiceRefusal } from '../../services/errors.js';
import { unitName } from '../../views/labels.js';
import { answerCallback, type BotContext } from './context.js';
import { loggableError } from './log-safe.js';

const COMMAND = /^\/([A-Za-z0-9_]+)(?:@\w+)?(?:\s+([\s\S]*))?$/;

function commandOf(ctx: BotContext): { name: string; args: string } | undefined {
  const text = ctx.message && 'text' in ctx.message ? ctx.message.text : undefined;
  const m = text ? COMMAND.exec(text) : null;
  return m ? { name: m[1]!.toLowerCase(), args: (m[2] ?? '').trim() } : undefined;
}

const isGroupChat = (ctx: BotContext) => ctx.chat !== undefined && ctx.chat.type !== 'private';

/**
 * In groups the bot answers commands and buttons only, and only where it was bound: chatter is none of
 * its business; in an unbound group a command is answered once with "not bound", a button press with the
 * same words as a toast, and nothing else happens. /bindgroup goes on, to bind the group.
 */
export const gateGroupChats: MiddlewareFn<BotContext> = async (ctx, next) => {
  if (!isGroupChat(ctx)) return next();
  const command = commandOf(ctx);
  if (!ctx.callbackQuery && !command) return undefined;
  if (command?.name === 'bindgroup') return next();
  const group = await dutyGroupOfChat(ctx.deps, ctx.chat!.id);
  if (group) {
    ctx.dutyGroup = group;
    return next();
  }
  const text = t(ctx.lang, 'dutygroup.not_bound');
  if (ctx.callbackQuery) return answerCallback(ctx, text, true);
  if (await firstTimeUnbound(ctx.deps, ctx.chat!.id)) await ctx.reply(text);
};

/** The bot added to a group (told once that it is not bound yet), or removed from one (the binding ends). */
export async function onGroupMembership(ctx: BotContext, change: ChatMemberUpdated): Promise<void> {
  const chatId = change.chat.id;
  const status = change.new_chat_member.status;
  if (status === 'left' || status === 'kicked') {
    if (await unbindDutyGroup(ctx.deps, chatId, 'bot_removed', { telegramUserId: change.from.id })) ctx.deps.logger.info({ chatId }, 'duty group unbound: the bot was removed');
    return;
  }
  if (change.old_chat_member.status !== 'left' && change.old_chat_member.status !== 'kicked') return;
  if (await dutyGroupOfChat(ctx.deps, chatId)) return;
  if (await firstTimeUnbound(ctx.deps, chatId)) {
    await ctx.telegram.sendMessage(chatId, t(ctx.lang, 'dutygroup.not_bound')).catch((err: unknown) => {
      ctx.deps.logger.debug({ err: loggableError(err), chatId }, 'could not tell a group it is not bound');
    });
  }
}

const REFUSALS: Partial<Record<ServiceRefusal['code'], MessageKey>> = {
  not_found: 'dutygroup.code_invalid',
  already_done: 'dutygroup.code_used',
  expired: 'dutygroup.code_expired',
  not_permitted: 'dutygroup.not_permitted',
};

/**
 * `/bindgroup <code>`, typed in the group to bind (identified staff only; in a private chat it says where
 * to type it), and `/unbindgroup` typed in a bound group (in a private chat it goes on, to the flow that
 * lists the groups one may unbind).
 */
export const bindGroupCommand: MiddlewareFn<BotContext> = async (ctx, next) => {
  const command = commandOf(ctx);
  if (command?.name === 'unbindgroup' && isGroupChat(ctx)) return unbindHere(ctx);
  if (command?.name !== 'bindgroup') return next();
  if (!ctx.who) return;
  if (!isGroupChat(ctx) || !command.args) return void (await ctx.reply(t(ctx.lang, 'dutygroup.code_usage')));
  let group: DutyGroupRow;
  try {
    group = await bindDutyGroup(ctx.deps, ctx.who.actor, command.args, ctx.chat!.id);
  } catch (err) {
    if (!(err instanceof ServiceRefusal)) throw err;
    return void (await ctx.reply(t(ctx.lang, REFUSALS[err.code] ?? 'dutygroup.code_invalid')));
  }
  await ctx.reply(t(ctx.lang, 'dutygroup.bound', { purpose: await dutyGroupLabel(ctx.deps, group, ctx.lang) }), { parse_mode: 'HTML' });
};

/** `/unbindgroup` in a bound group (the gate let only bound groups' commands through): by someone who may bind it. */
async function unbindHere(ctx: BotContext): Promise<void> {
  if (!ctx.who) return void (await ctx.reply(t(ctx.lang, 'dutygroup.unbind_not_permitted')));
  try {
    await unbindDutyGroupByCommand(ctx.deps, ctx.who.actor, ctx.chat!.id, 'group');
  } catch (err) {
    if (!(err instanceof ServiceRefusal)) throw err;
    return void (await ctx.reply(t(ctx.lang, err.code === 'not_permitted' ? 'dutygroup.unbind_not_permitted' : 'dutygroup.not_bound')));
  }
  await ctx.reply(t(ctx.lang, 'dutygroup.unbound'));
}

/** What a group was bound as, in words: the section's duty group, an office's group, an incident's HQ group. */
export async function dutyGroupLabel(deps: BotContext['deps'], group: Pick<DutyGroupRow, 'purpose' | 'unitId' | 'incidentId'>, lang: Lang): Promise<string> {
  if (group.purpose === 'office') return t(lang, 'dutygroup.purpose.office', { unit: escapeHtml(unitName(await findUnit(deps.db, group.unitId), lang)) });
  if (group.purpose === 'hq' && group.incidentId) return t(lang, 'dutygroup.purpose.hq', { number: escapeHtml((await findIncident(deps.db, group.incidentId))?.number ?? '') });
  return t(lang, 'dutygroup.purpose.section');
}

/**
 * Whom a group's card is drawn for: the person who bound it, as a group sees it (masked, no forms), so
 * a press by anyone leaves the group the same buttons. Their record gone, the presser's view.
 */
export async function groupViewerOf(ctx: BotContext): Promise<{ actor: Actor; chatKind: 'group' } | undefined> {
  const group = ctx.dutyGroup;
  if (!group) return undefined;
  const binder = await findStaffById(ctx.deps.db, group.boundByStaffId);
  if (binder?.active) return { actor: await actorFor(ctx.deps.db, binder), chatKind: 'group' };
  return ctx.who ? { actor: ctx.who.actor, chatKind: 'group' } : undefined;
}
