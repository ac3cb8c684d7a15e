/**
 * The gates every update passes, in order: handled once (update_id in PostgreSQL), one at a time per chat
 * (advisory lock), from registered and active staff (anyone else gets a polite refusal and an audit
 * entry), and of a size Telegram itself would accept.
 */
import type { MiddlewareFn } from 'telegraf';
import { appendAudit } from '../db/repositories/audit.repository.js';
import { actorFor, findStaffByTelegramId, markStaffUnreachable } from '../db/repositories/org.repository.js';
import { claimUpdate, pruneProcessedUpdates, type ChatLocks } from '../services/update-gate.js';
import { answerCallback, type BotContext } from './context.js';
import { MAX_CAPTION_CHARS, MAX_MESSAGE_CHARS } from './html.js';
import { langOf, t } from './messages/index.js';

/** The language of someone not yet known: their Telegram client's. Staff get theirs once identified. */
export const clientLanguage: MiddlewareFn<BotContext> = (ctx, next) => {
  ctx.lang = langOf(ctx.from?.language_code);
  return next();
};

/** (1) A Telegram update is handled once, even when delivered twice at the same moment. */
export const dedupeUpdates: MiddlewareFn<BotContext> = async (ctx, next) => {
  const first = await claimUpdate(ctx.deps.db, ctx.update.update_id, ctx.deps.clock.now());
  if (!first) {
    ctx.deps.logger.info({ updateId: ctx.update.update_id }, 'duplicate update dropped');
    return;
  }
  // Telegram keeps an update for 24 hours at most: now and then, forget ids older than two days.
  if (ctx.update.update_id % 500 === 0) {
    const before = new Date(ctx.deps.clock.now().getTime() - 2 * 86_400_000);
    await pruneProcessedUpdates(ctx.deps.db, before).catch(() => 0);
  }
  return next();
};

/** (2) Updates of one chat are handled one at a time, across processes. */
export function serialisePerChat(locks: ChatLocks): MiddlewareFn<BotContext> {
  return (ctx, next) => {
    const key = ctx.chat?.id ?? ctx.from?.id;
    if (key === undefined) return next();
    return locks.withChatLock(key, () => next());
  };
}

/** In groups the bot answers commands and buttons only; chatter is none of its business. */
export const ignoreGroupChatter: MiddlewareFn<BotContext> = (ctx, next) => {
  if (!ctx.chat || ctx.chat.type === 'private') return next();
  if (ctx.callbackQuery) return next();
  const text = ctx.message && 'text' in ctx.message ? ctx.message.text : undefined;
  if (text?.startsWith('/')) return next();
  return undefined;
};

/** A staff member blocking or unblocking the bot in their private chat: messages then go to their acting holder. */
export const trackReachability: MiddlewareFn<BotContext> = async (ctx, next) => {
  const change = ctx.myChatMember;
  if (!change) return next();
  if (change.chat.type !== 'private') return;
  const person = await findStaffByTelegramId(ctx.deps.db, change.from.id);
  if (!person) return;
  const reachable = change.new_chat_member.status !== 'kicked';
  if (reachable === person.reachable) return;
  await markStaffUnreachable(ctx.deps.db, person.id, reachable);
  await appendAudit(ctx.deps.db, {
    at: ctx.deps.clock.now(),
    action: reachable ? 'staff.reachable' : 'staff.unreachable',
    entity: 'staff',
    entityId: person.id,
    actorStaffId: person.id,
    actorTelegramId: change.from.id,
    data: { via: 'my_chat_member' },
  });
};

const START_WITH_CODE = /^\/start(?:@\w+)?\s+\S+/;

/** (3) Who is acting: active staff go on; a stranger may only redeem an invite; everyone else is refused. */
export const identifyStaff: MiddlewareFn<BotContext> = async (ctx, next) => {
  const from = ctx.from;
  if (!from || from.is_bot) return;
  const deps = ctx.deps;
  const person = await findStaffByTelegramId(deps.db, from.id);
  if (person?.active) {
    ctx.who = { staff: person, actor: await actorFor(deps.db, person) };
    ctx.lang = person.language === 'en' ? 'en' : 'zh';
    return next();
  }
  const text = ctx.message && 'text' in ctx.message ? ctx.message.text : undefined;
  if (!person && ctx.chat?.type === 'private' && text && START_WITH_CODE.test(text)) return next();
  // Only what a person did on purpose is answered and audited; background updates are dropped.
  if (!ctx.message && !ctx.callbackQuery) return;
  const reason = person ? 'inactive' : 'stranger';
  await appendAudit(deps.db, {
    at: deps.clock.now(),
    action: 'access.refused',
    entity: 'telegram_user',
    entityId: String(from.id),
    actorStaffId: person?.id ?? null,
    actorTelegramId: from.id,
    data: { reason, update: ctx.callbackQuery ? 'callback_query' : 'message', chatType: ctx.chat?.type ?? null },
  });
  const refusal = t(ctx.lang, person ? 'refuse.inactive' : 'refuse.stranger');
  if (ctx.callbackQuery) await answerCallback(ctx, refusal, true);
  else await ctx.reply(refusal);
};

/** (4) Oversized input gets a clear answer and changes nothing. */
export const guardSize: MiddlewareFn<BotContext> = async (ctx, next) => {
  const m = ctx.message;
  if (m) {
    if ('text' in m && m.text.length > MAX_MESSAGE_CHARS) {
      await ctx.reply(t(ctx.lang, 'refuse.too_long', { max: MAX_MESSAGE_CHARS }));
      return;
    }
    if ('caption' in m && (m.caption?.length ?? 0) > MAX_CAPTION_CHARS) {
      await ctx.reply(t(ctx.lang, 'refuse.too_long', { max: MAX_CAPTION_CHARS }));
      return;
    }
  }
  return next();
};
