/**
 * After the incident and around it (issue 5), the chat side: the written report and its sign-off chain
 * (/wr), public releases (/release), statistics and the accountability register (/stats, /register,
 * /finding), drills (/drill), screening (/screen), cross-county notifications (/counties). What the user
 * types or picks for them is a flow of the one engine (../engine.ts), listed in FLOWS (../index.ts).
 *
 * Mount it after identification (it needs ctx.who, ctx.lang and ctx.deps) and before the bot's own
 * handlers: `plugins: [afterIncidentPlugin()]` in BotDeps, or `bot.use(afterIncidentComposer())`.
 * It first ends a pending prompt when the user turns elsewhere (a command, a button outside the form:
 * the bot's own handlers come after it, so this covers them too), then handles its commands and the
 * callback actions wr, rel, drill, stats, scr and cty; everything else goes to `next()`, where the bot's
 * engine takes the flows' own buttons and the text they wait for.
 */
import { Composer } from 'telegraf';
import { decodeCallback, type CallbackData } from '../../channels/telegram/callback-data.js';
import type { BotContext, BotPlugin } from '../../channels/telegram/context.js';
import { createFlowEngine, type FlowEngine } from '../engine.js';
import { FLOWS } from '../index.js';
import { guarded } from './common.js';
import { onCountiesCommand, onCountyButton } from './county.flow.js';
import { onDrillButton, onDrillCommand } from './drill.flow.js';
import { onReleaseButton, onReleaseCommand } from './release.flow.js';
import { onScreenButton, onScreenCommand } from './screening.flow.js';
import { onFindingCommand, onRegisterCommand, onStatsButton, onStatsCommand } from './stats.flow.js';
import { onWrittenReportButton, onWrittenReportCommand } from './written-report.flow.js';

export { AFTER_INCIDENT_FLOWS } from './flows.js';
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

type ButtonHandler = (ctx: BotContext, engine: FlowEngine, cb: CallbackData) => Promise<void>;

const BUTTONS: Partial<Record<CallbackData['a'], ButtonHandler>> = {
  wr: onWrittenReportButton,
  rel: onReleaseButton,
  drill: onDrillButton,
  stats: (ctx, _engine, cb) => onStatsButton(ctx, cb),
  scr: onScreenButton,
  cty: onCountyButton,
};

export function afterIncidentComposer(): Composer<BotContext> {
  const engine = createFlowEngine(FLOWS);
  const composer = new Composer<BotContext>();

  // Commands and forms belong in the private chat (reports and subjects are personal data); in a group
  // they go on to the bot's own "use the private chat" answer.
  const isPrivate = (ctx: BotContext) => ctx.chat?.type === 'private';
  const identified = (handler: (ctx: BotContext, engine: FlowEngine) => Promise<void>) => async (ctx: BotContext, next: () => Promise<void>) => {
    if (!ctx.who || !isPrivate(ctx)) return next();
    await guarded(ctx, () => handler(ctx, engine));
  };

  composer.command('wr', identified(onWrittenReportCommand));
  composer.command('release', identified(onReleaseCommand));
  composer.command('stats', identified(onStatsCommand));
  composer.command('register', identified(onRegisterCommand));
  composer.command('finding', identified(onFindingCommand));
  composer.command('drill', identified(onDrillCommand));
  composer.command('screen', identified(onScreenCommand));
  composer.command('counties', identified(onCountiesCommand));

  composer.on('callback_query', async (ctx, next) => {
    const raw = 'data' in ctx.callbackQuery ? ctx.callbackQuery.data : undefined;
    const cb = decodeCallback(raw);
    const handler = cb ? BUTTONS[cb.a] : undefined;
    if (!cb || !handler || !ctx.who || !isPrivate(ctx)) return next();
    await guarded(ctx, () => handler(ctx, engine, cb));
  });

  return composer;
}

/** The same, as a plugin for BotDeps.plugins. */
export function afterIncidentPlugin(): BotPlugin {
  return { name: 'after-incident', install: (bot) => void bot.use(afterIncidentComposer()) };
}
