/**
 * After the incident and around it (issue 5), the chat side: the written report and its sign-off chain
 * (/wr), public releases (/release), statistics and the accountability register (/stats, /register,
 * /finding), drills (/drill), screening (/screen), cross-county notifications (/counties).
 *
 * Mount it after identification (it needs ctx.who, ctx.lang and ctx.deps) and before the flows' own text
 * handler: `plugins: [afterIncidentPlugin()]` in BotDeps, or `bot.use(afterIncidentComposer())`.
 * It handles its commands, the callback actions wr, rel, drill, stats, acct, scr and cty, and a text
 * message only while this chat waits for one of its inputs; everything else goes to `next()`.
 */
import { Composer } from 'telegraf';
import { decodeCallback, type CallbackData } from '../../channels/telegram/callback-data.js';
import type { BotContext, BotPlugin } from '../../channels/telegram/context.js';
import { ServiceRefusal } from '../../services/errors.js';
import { clearInput, guarded, m, pendingInput, refusalText, type PendingInput } from './common.js';
import { onCountiesCommand, onCountyButton, onCountyInput } from './county.flow.js';
import { onDrillButton, onDrillCommand } from './drill.flow.js';
import { onReleaseButton, onReleaseCommand, onReleaseInput } from './release.flow.js';
import { onScreenButton, onScreenCommand, onScreenInput } from './screening.flow.js';
import { onFindingButton, onFindingCommand, onFindingInput, onRegisterCommand, onStatsButton, onStatsCommand } from './stats.flow.js';
import { onWrittenReportButton, onWrittenReportCommand, onWrittenReportInput } from './written-report.flow.js';

export { renderReportCard } from './written-report.flow.js';
export { renderReleaseCard } from './release.flow.js';

/** Commands for setMyCommands, with their catalogue descriptions. */
export const AFTER_INCIDENT_COMMANDS = [
  { command: 'wr', description: 'cmd.wr' },
  { command: 'release', description: 'cmd.release' },
  { command: 'stats', description: 'cmd.stats' },
  { command: 'register', description: 'cmd.register' },
  { command: 'finding', description: 'cmd.finding' },
  { command: 'drill', description: 'cmd.drill' },
  { command: 'screen', description: 'cmd.screen' },
  { command: 'counties', description: 'cmd.counties' },
] as const;

const BUTTONS: Partial<Record<CallbackData['a'], (ctx: BotContext, cb: CallbackData) => Promise<void>>> = {
  wr: onWrittenReportButton,
  rel: onReleaseButton,
  drill: onDrillButton,
  stats: onStatsButton,
  acct: onFindingButton,
  scr: onScreenButton,
  cty: onCountyButton,
};

/** Refusals after which the input cannot succeed by typing again. */
const FINAL_REFUSALS = new Set(['stale', 'not_found', 'not_permitted', 'wrong_status', 'already_done']);

async function onInput(ctx: BotContext, input: PendingInput, text: string): Promise<void> {
  switch (input.kind) {
    case 'wr_edit':
    case 'wr_return':
      return onWrittenReportInput(ctx, input, text);
    case 'rel_draft':
    case 'rel_edit':
    case 'rel_return':
      return onReleaseInput(ctx, input, text);
    case 'finding_reason':
      return onFindingInput(ctx, input, text);
    case 'screen_note':
      return onScreenInput(ctx, input, text);
    case 'county_add':
    case 'county_how':
    case 'county_receipt':
      return onCountyInput(ctx, input, text);
  }
}

export interface AfterIncidentOptions {
  /** Longest text accepted as input, in characters (a Telegram message is at most 4096). */
  maxInputChars?: number;
}

export function afterIncidentComposer(options: AfterIncidentOptions = {}): Composer<BotContext> {
  const maxInput = options.maxInputChars ?? 4000;
  const composer = new Composer<BotContext>();
  // Commands and inputs belong in the private chat (reports and subjects are personal data); in a group
  // they go on to the bot's own "use the private chat" answer.
  const isPrivate = (ctx: BotContext) => ctx.chat?.type === 'private';
  const identified = (handler: (ctx: BotContext) => Promise<void>) => async (ctx: BotContext, next: () => Promise<void>) => {
    if (!ctx.who || !isPrivate(ctx)) return next();
    await guarded(ctx, () => handler(ctx));
  };

  composer.command('wr', identified(onWrittenReportCommand));
  composer.command('release', identified(onReleaseCommand));
  composer.command('stats', identified(onStatsCommand));
  composer.command('register', identified(onRegisterCommand));
  composer.command('finding', identified(onFindingCommand));
  composer.command('drill', identified(onDrillCommand));
  composer.command('screen', identified(onScreenCommand));
  composer.command('counties', identified(onCountiesCommand));

  // /cancel of one of our inputs; another flow's /cancel goes on.
  composer.command('cancel', async (ctx, next) => {
    if (!ctx.who || !isPrivate(ctx) || !(await pendingInput(ctx))) return next();
    await clearInput(ctx);
    await ctx.reply(m(ctx, 'cancelled'));
  });

  composer.on('callback_query', async (ctx, next) => {
    const raw = 'data' in ctx.callbackQuery ? ctx.callbackQuery.data : undefined;
    const cb = decodeCallback(raw);
    const handler = cb ? BUTTONS[cb.a] : undefined;
    if (!cb || !handler || !ctx.who) return next();
    await guarded(ctx, () => handler(ctx, cb));
  });

  composer.on('text', async (ctx, next) => {
    const text = ctx.message.text;
    if (!ctx.who || !isPrivate(ctx) || text.startsWith('/')) return next();
    const input = await pendingInput(ctx);
    if (!input) return next();
    if (text.trim() === '' || [...text].length > maxInput) {
      await ctx.reply(m(ctx, 'refuse.too_long', { max: maxInput }));
      return;
    }
    try {
      await onInput(ctx, input, text.trim());
    } catch (err) {
      const message = refusalText(ctx, err);
      if (message === undefined) throw err;
      if (!(err instanceof ServiceRefusal) || FINAL_REFUSALS.has(err.code)) await clearInput(ctx);
      await ctx.reply(message);
    }
  });

  return composer;
}

/** The same, as a plugin for BotDeps.plugins. */
export function afterIncidentPlugin(options: AfterIncidentOptions = {}): BotPlugin {
  return { name: 'after-incident', install: (bot) => void bot.use(afterIncidentComposer(options)) };
}
