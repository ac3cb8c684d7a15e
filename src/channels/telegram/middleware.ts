/**
 * The gates every update passes, in order: one at a time per chat and handled once (one gate: the
 * chat's advisory lock, with the update_id checked under it and recorded once handled), from registered
 * and active staff (anyone else gets a polite refusal and an audit entry), and of a size Telegram
 * itself would accept. Malformed updates never get here (update-shape.ts drops them first).
 */
import type { MiddlewareFn } from 'telegraf';
import { appendAudit } from '../../db/repositories/audit.repository.js';
import { findStaffByTelegramId, identityByTelegramId, markStaffUnreachable, type StaffRow } from '../../db/repositories/org.repository.js';
import type { ChatLocks } from '../../db/chat-locks.js';
import { withKnownFlowState } from '../../db/repositories/flow-state.repository.js';
import { claimUpdate, PROCESSED_UPDATE_KEEP_MS, pruneProcessedUpdates } from '../../db/repositories/processed-updates.repository.js';
import type { Actor } from '../../domain/index.js';
import type { IdentityCache } from '../../services/identity-cache.js';
import { answerCallback, type BotContext } from './context.js';
import { loggableError } from './log-safe.js';
import { gateGroupChats, onGroupMembership } from './duty-groups.js';
import { MAX_CAPTION_CHARS, MAX_MESSAGE_CHARS } from './html.js';
import { langOf, t } from '../../i18n/index.js';

/** The language of someone not yet known: their Telegram client's. Staff get theirs once identified. */
export const clientLanguage: MiddlewareFn<BotContext> = (ctx, next) => {
  ctx.lang = langOf(ctx.from?.language_code);
  return next();
};

/** The key updates are serialised by: the chat, else the sender. */
function chatKeyOf(ctx: BotContext): number | undefined {
  return ctx.chat?.id ?? ctx.from?.id;
}

/**
 * (1) Updates of one chat are handled one at a time, across processes, and each update once, even when
 * delivered twice at the same moment: under the chat's lock a duplicate waits for the first delivery to
 * finish, then finds its id recorded. The lock's round trip also reads the chat's flow state and the
 * identity version, for the gates and the flow after it. The id is recorded only after the handlers
 * finished, so an update whose handling failed — the database went away mid-way — is handled in full
 * when Telegram delivers it again (bot.catch asks for that).
 */
export interface GateOptions {
  /**
   * Waits until a reply could go to the chat. A command in a private chat is answered with a new message,
   * which waits for the chat's line: that wait is made first, before the chat's lock takes a connection,
   * so one chat's wait does not hold up the others.
   */
  waitForReplyTurn?(chatId: number): Promise<void>;
}

export function gateUpdates(locks: ChatLocks, opts: GateOptions = {}): MiddlewareFn<BotContext> {
  return async (ctx, next) => {
    const { db, clock, logger } = ctx.deps;
    const updateId = ctx.update.update_id;
    const key = chatKeyOf(ctx);
    if (key === undefined) {
      // Nothing to serialise by: claimed up front, so two concurrent deliveries cannot both run.
      if (!(await claimUpdate(db, updateId, clock.now()))) return void logger.info({ updateId }, 'duplicate update dropped');
      return next();
    }
    // Handled: should the database go away just now, the update is still done. Asking Telegram for it
    // again would apply it twice (a form's text to the step after), so a failed record is only logged.
    let handled = false;
    const onRecordFailed = (err: unknown) => void logger.warn({ err: loggableError(err), updateId }, 'handled update not recorded');
    const wait = opts.waitForReplyTurn;
    // A command is answered with a new message (a form, a list); text inside a form edits its message.
    const text = ctx.message && 'text' in ctx.message ? ctx.message.text : undefined;
    const beforeLock = wait && ctx.chat?.type === 'private' && text?.startsWith('/') ? () => wait(key) : undefined;
    await locks.withUpdateGate({ chatId: key, updateId, onRecordFailed, ...(beforeLock ? { beforeLock } : {}) }, async (gate) => {
      if (gate.handled) return void logger.info({ updateId }, 'duplicate update dropped');
      ctx.identityVersion = gate.identityVersion;
      await withKnownFlowState(key, gate.flowState, () => next());
      gate.recordHandled(clock.now());
      handled = true;
    });
    // Now and then, forget ids past their keeping time (the daily checks do it too).
    if (handled && updateId % 500 === 0) {
      const before = new Date(clock.now().getTime() - PROCESSED_UPDATE_KEEP_MS);
      await pruneProcessedUpdates(db, before).catch(() => 0);
    }
  };
}

/**
 * In groups the bot answers commands and buttons only, and only in the groups a unit bound (duty
 * groups): chatter is none of its business, and an unbound group is told once that it is not bound.
 */
export const ignoreGroupChatter: MiddlewareFn<BotContext> = gateGroupChats;

/** A staff member blocking or unblocking the bot in their private chat: messages then go to their acting holder. */
export const trackReachability: MiddlewareFn<BotContext> = async (ctx, next) => {
  const change = ctx.myChatMember;
  if (!change) return next();
  // The bot added to a group or removed from one: a duty group's binding, not a person's reachability.
  if (change.chat.type !== 'private') return onGroupMembership(ctx, change);
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

export type TelegramIdentity = { staff: StaffRow; actor: Actor };

/**
 * (3) Who is acting: active staff go on; a stranger may only redeem an invite; everyone else is refused.
 * The identity comes from the cache while the identity version the gate read is the one it was loaded at.
 */
export const identifyStaff = (identities?: IdentityCache<TelegramIdentity>): MiddlewareFn<BotContext> => async (ctx, next) => {
  const from = ctx.from;
  if (!from || from.is_bot) return;
  const deps = ctx.deps;
  const version = ctx.identityVersion;
  const load = () => identityByTelegramId(deps.db, from.id);
  const identity = identities && version !== undefined ? await identities.through(from.id, version, load) : await load();
  const person = identity?.staff;
  if (identity?.staff.active) {
    ctx.who = identity;
    ctx.lang = identity.staff.language === 'en' ? 'en' : 'zh';
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
