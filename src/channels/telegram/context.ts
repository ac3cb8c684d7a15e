/**
 * What a handler knows about the update it handles: the dependencies, who is acting (once identified)
 * and in which language to answer.
 */
import { loggableError } from './log-safe.js';
import type { Context } from 'telegraf';
import type { Logger } from '../../logger.js';
import type { OpsMetrics } from '../../ops/metrics.js';
import type { ChatKind } from '../../domain/index.js';
import type { ChatLocks } from '../../db/chat-locks.js';
import type { DutyGroupRow } from '../../db/repositories/duty-group.repository.js';
import type { Conversation, FlowDeps, Identity } from '../../flows/conversation.js';
import type { DeskPlugin } from '../../flows/desk.js';
import { t, type Lang, type MessageKey, type Params } from '../../i18n/index.js';
import type { Telegraf } from 'telegraf';
import type { TelegramGateway } from './telegram-gateway.js';

/** Adds commands and handlers of another part of the product (written reports, drills…) to the bot. */
export interface BotPlugin {
  name: string;
  /** Installed after identification and the size guard, before the flows' own handlers. */
  install(bot: Telegraf<BotContext>): void;
}

export interface BotDeps extends FlowDeps {
  botToken: string;
  /** TELEGRAM_API_ROOT: every Bot API call goes there. */
  telegramApiRoot: string;
  /**
   * The gateway the jobs of this process send through: the bot's calls go through its API pipeline, so
   * replies and notices keep one spacing per chat and one pace overall. Default: a gateway of the bot's
   * own (a process that runs no workers).
   */
  gateway?: TelegramGateway;
  botUsername?: string;
  /** Per-chat serialisation and the update gate; default: advisory locks on the service database's own pool. */
  chatLocks?: ChatLocks;
  /** Whether identities are remembered between updates (default true, with a postgres.js database to listen on). */
  cacheIdentities?: boolean;
  /** telegraf's handlerTimeout, in milliseconds (default 90 s). */
  handlerTimeoutMs?: number;
  /** The desk's plugins (the after-incident commands), and Telegram-level middleware (`install`). */
  plugins?: readonly (BotPlugin | DeskPlugin)[];
  /** Where updates handled and messages sent are counted (default: the process-wide metrics); false: not at all. */
  opsMetrics?: OpsMetrics | false;
}

export type { Identity };

export interface BotContext extends Context {
  deps: BotDeps;
  /** Set by the identification middleware for registered, active staff. */
  who?: Identity;
  /** The identity version the update's gate read under the chat's lock (what a cached identity is checked against). */
  identityVersion?: number;
  lang: Lang;
  /** Whether the callback query was answered already (each must be answered once). */
  cbAnswered?: boolean;
  /** The duty group the update came from, when it came from a bound group chat (./duty-groups.ts). */
  dutyGroup?: DutyGroupRow;
  /** This update as the flows see it (./conversation.ts), made on first use. */
  conversation?: Conversation;
}

export function say(ctx: BotContext, key: MessageKey, params?: Params): string {
  return t(ctx.lang, key, params);
}

export function chatKindOf(ctx: Context): ChatKind {
  return ctx.chat?.type === 'private' || ctx.chat === undefined ? 'private' : 'group';
}

/** The identified staff member; handlers behind the identification middleware may rely on it. */
export function whoOf(ctx: BotContext): Identity {
  if (!ctx.who) throw new Error('handler reached without an identified staff member');
  return ctx.who;
}

/** Answers the callback query once; later calls are ignored. */
export async function answerCallback(ctx: BotContext, text?: string, alert = false): Promise<void> {
  if (!ctx.callbackQuery || ctx.cbAnswered) return;
  ctx.cbAnswered = true;
  await ctx.answerCbQuery(text, alert ? { show_alert: true } : undefined).catch((err: unknown) => {
    // A query older than about 15 s can no longer be answered; the edit that follows still shows the result.
    ctx.deps.logger.debug({ err: loggableError(err), updateId: ctx.update.update_id }, 'answerCallbackQuery failed');
  });
}
