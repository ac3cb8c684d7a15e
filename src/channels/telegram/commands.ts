/**
 * The command menu: setMyCommands for the default scope in Chinese and English, and a menu per position
 * in each staff member's own chat. All of these calls are optional: some Bot API servers answer 500 to
 * them, and the bot must run anyway.
 */
import { loggableError } from './log-safe.js';
import type { Telegram } from 'telegraf';
import type { Executor } from '../../db/client.js';
import { actorFor } from '../../db/repositories/org.repository.js';
import { activeStaffWithChats } from '../../db/repositories/staff.repository.js';
import type { BotCommand } from 'telegraf/types';
import type { Logger } from '../../logger.js';
import type { Actor } from '../../domain/index.js';
import { commandsFor, GENERAL_COMMANDS, type Command } from '../../flows/commands.js';
import { t, type Lang, type MessageKey } from '../../i18n/index.js';

export { commandsFor };

export function botCommands(commands: readonly Command[], lang: Lang): BotCommand[] {
  return commands.map((c) => ({ command: c, description: t(lang, `cmd.${c}` as MessageKey) }));
}

async function optional(logger: Logger, what: string, call: () => Promise<unknown>): Promise<boolean> {
  try {
    await call();
    return true;
  } catch (err) {
    logger.warn({ err: loggableError(err), what }, 'optional Bot API call failed; carrying on');
    return false;
  }
}

/** Default menus (a chat with no menu of its own: before binding): Chinese for everyone, English for English-language clients. */
export async function syncDefaultCommands(telegram: Telegram, logger: Logger): Promise<void> {
  await optional(logger, 'setMyCommands zh', () => telegram.setMyCommands(botCommands(GENERAL_COMMANDS, 'zh')));
  await optional(logger, 'setMyCommands en', () => telegram.setMyCommands(botCommands(GENERAL_COMMANDS, 'en'), { language_code: 'en' }));
}

/** One person's menu, in their chat, for their positions and language. */
export async function setStaffMenu(telegram: Telegram, logger: Logger, chatId: number, actor: Actor, lang: Lang): Promise<boolean> {
  return optional(logger, 'setMyCommands chat', () => telegram.setMyCommands(botCommands(commandsFor(actor), lang), { scope: { type: 'chat', chat_id: chatId } }));
}

/**
 * Every bound staff member's menu, spaced to stay far below Telegram's ~30 messages a second. Run in
 * the background at start; a failure is logged and skipped.
 */
export async function syncStaffMenus(telegram: Telegram, db: Executor, logger: Logger, spacingMs = 100): Promise<number> {
  const people = await activeStaffWithChats(db);
  let set = 0;
  for (const person of people) {
    const actor = await actorFor(db, person);
    if (await setStaffMenu(telegram, logger, Number(person.chatId), actor, person.language === 'en' ? 'en' : 'zh')) set++;
    await new Promise((r) => setTimeout(r, spacingMs));
  }
  return set;
}
