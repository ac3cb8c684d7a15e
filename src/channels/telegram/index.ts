/**
 * The bot: `createBot(deps)` wires the gates (well-formed, one at a time per chat, handled once, staff
 * only, size), the commands, the incident card's buttons and the conversational flows. `bot.catch` is the
 * one error edge: the log gets the error; the user gets "temporarily unavailable" when the database is
 * out of reach (and the update is left for Telegram to deliver again), else a short apology, in their
 * language.
 */
import type postgres from 'postgres';
import { Telegraf } from 'telegraf';
import { createDesk, type DeskPlugin, type Inbound } from '../../flows/desk.js';
import { FLOWS } from '../../flows/index.js';
import { metrics as processMetrics } from '../../ops/metrics.js';
import { opsMiddleware } from './ops-middleware.js';
import { installApiPipeline, useApiPipeline } from './api-pipeline.js';
import { createTelegramGateway } from './telegram-gateway.js';
import { isDatabaseUnavailable } from '../../db/database-unavailable.js';
import { createPgChatLocks } from '../../db/chat-locks.js';
import { identityChangesOf } from '../../db/identity-changes.js';
import { createIdentityCache } from '../../services/identity-cache.js';
import { decodeCallback } from './callback-data.js';
import { conversationOf } from './conversation.js';
import { loggableError } from './log-safe.js';
import { type BotContext, type BotDeps } from './context.js';
import { t } from '../../i18n/index.js';
import { clientLanguage, gateUpdates, guardSize, identifyStaff, ignoreGroupChatter, trackReachability, type TelegramIdentity } from './middleware.js';
import { dropMalformedUpdates } from './update-shape.js';
import { bindGroupCommand } from './duty-groups.js';

export type { BotContext, BotDeps, BotPlugin, Identity } from './context.js';
export { loggableError } from './log-safe.js';
export { mountTelegramWebhook, startBot, type RunningBot, type StartBotConfig } from './run.js';
export { renderIncidentCard, loadIncidentCardView, type IncidentCardView, type CardViewer, type CardFocus, type RenderedCard } from './views/incident-card.js';
export { sendCard, sendCardFromOutside, redrawCardIn, cardMessageOf, recordCardMessage } from './views/card-messages.js';

/** Every flow the bot runs (src/flows/index.ts); the store discards a saved state whose flow or version is not there. */
export { FLOWS };

export function createBot(deps: BotDeps): Telegraf<BotContext> {
  const bot = new Telegraf<BotContext>(deps.botToken, {
    telegram: { apiRoot: deps.telegramApiRoot, webhookReply: false },
    handlerTimeout: deps.handlerTimeoutMs ?? 90_000,
  });
  bot.context.deps = deps;
  bot.context.lang = 'zh';
  // One pipeline for every Bot API call (api-pipeline.ts): the bot's own client here, each update's in
  // the middleware below. Shared with the jobs' gateway when this process runs both.
  const gateway = deps.gateway ?? createTelegramGateway({ apiRoot: deps.telegramApiRoot, token: deps.botToken });
  const api = gateway.api;
  const metrics = deps.opsMetrics === false ? undefined : (deps.opsMetrics ?? processMetrics);
  installApiPipeline(bot.telegram, api, { mode: 'interactive', counter: metrics, logger: deps.logger });
  const locks = deps.chatLocks ?? createPgChatLocks(sqlClientOf(deps));
  // Identities are remembered while nothing about them changed (services/identity-cache.ts).
  const client = postgresClientOf(deps);
  const identities =
    deps.cacheIdentities !== false && client ? createIdentityCache<TelegramIdentity>({ changes: identityChangesOf(client), clock: deps.clock }) : undefined;

  const tellUnavailable = unavailableNotice(deps);
  bot.catch(async (err, ctx) => {
    const c = ctx as BotContext;
    const where = { updateId: c.update?.update_id, updateType: updateTypeOf(c), chatId: c.chat?.id, staffId: c.who?.staff.id };
    if (isDatabaseUnavailable(err)) {
      // The update was not recorded as handled (gateUpdates records it only afterwards). Webhook: a
      // non-2xx answer makes Telegram deliver it again, with growing pauses, for up to 24 hours, and it
      // is handled in full once the database is back. Polling: telegraf confirms the batch's offset
      // whatever happened to each update, so this one is gone — the user is told and must send it
      // again. Production runs the webhook (the compose default) for this reason.
      deps.logger.warn({ err: loggableError(err), ...where }, 'database unavailable: update left for redelivery');
      conversationOf(c).askForRedelivery();
      await tellUnavailable(c);
      return;
    }
    deps.logger.error({ err: loggableError(err), ...where }, 'update handling failed');
    try {
      await conversationOf(c).answer(t(c.lang ?? 'zh', 'error.generic'));
      if (c.chat) await c.telegram.sendMessage(c.chat.id, t(c.lang ?? 'zh', 'error.generic'));
    } catch (replyErr) {
      deps.logger.warn({ err: loggableError(replyErr), updateId: c.update?.update_id }, 'could not send the apology');
    }
  });

  // First of all: a malformed update goes no further (and is not timed as handled).
  bot.use(dropMalformedUpdates({ logger: deps.logger, metrics }));
  // Then every update is timed and counted (its sends are counted by the pipeline).
  if (deps.opsMetrics !== false) bot.use(opsMiddleware({ logger: deps.logger, ...(deps.opsMetrics ? { metrics: deps.opsMetrics } : {}), countSends: false }));
  // Every call of the update's client goes through the pipeline: the chat's spacing shared with the
  // jobs' notices, and a reply that meets a 429 waits as told instead of being lost.
  bot.use(useApiPipeline(api, { logger: deps.logger, counter: metrics }));
  // The chat's lock with the duplicate check under it: a duplicate waits for the first delivery to finish.
  bot.use(clientLanguage, gateUpdates(locks, { waitForReplyTurn: (chatId) => gateway.waitForReplyTurn(chatId) }), trackReachability, ignoreGroupChatter, identifyStaff(identities), guardSize, bindGroupCommand);

  // Telegram-level extensions (middleware), then the desk: every command, press and message.
  const deskPlugins: DeskPlugin[] = [];
  for (const plugin of deps.plugins ?? []) {
    if ('install' in plugin) plugin.install(bot);
    else deskPlugins.push(plugin);
  }
  const desk = createDesk({ plugins: deskPlugins });
  bot.use((ctx) => desk.handle(conversationOf(ctx), inboundOf(ctx)));
  return bot;
}

/** telegraf's update kind, or undefined for an update it cannot classify (its getter throws). */
function updateTypeOf(ctx: BotContext): string | undefined {
  try {
    return ctx.updateType;
  } catch {
    return undefined;
  }
}

/** Milliseconds between two "temporarily unavailable" notices to one chat: Telegram redelivers every few seconds. */
const UNAVAILABLE_NOTICE_EVERY_MS = 60_000;

/**
 * Tells the user, in their language (their Telegram's: the staff record is out of reach), that the system
 * is temporarily unavailable — once a minute per chat, however often the update comes back meanwhile.
 * Answers a button press every time, so the client stops its spinner.
 */
function unavailableNotice(deps: BotDeps): (ctx: BotContext) => Promise<void> {
  const lastTold = new Map<number, number>();
  return async (ctx) => {
    const text = t(ctx.lang ?? 'zh', 'error.unavailable');
    try {
      await conversationOf(ctx).answer(text);
      const chatId = ctx.chat?.id;
      if (chatId === undefined) return;
      const now = deps.clock.now().getTime();
      const last = lastTold.get(chatId);
      if (last !== undefined && now - last < UNAVAILABLE_NOTICE_EVERY_MS && now >= last) return;
      if (lastTold.size > 10_000) lastTold.clear();
      lastTold.set(chatId, now);
      await ctx.telegram.sendMessage(chatId, text);
    } catch (replyErr) {
      deps.logger.warn({ err: loggableError(replyErr), updateId: ctx.update?.update_id }, 'could not say the system is unavailable');
    }
  };
}

/** The postgres.js client under drizzle, if it is one. */
function postgresClientOf(deps: BotDeps): postgres.Sql | undefined {
  const client = (deps.db as unknown as { $client?: postgres.Sql }).$client;
  return client && typeof client.reserve === 'function' && typeof client.listen === 'function' ? client : undefined;
}

/** The postgres.js client under drizzle, for advisory locks on reserved connections. */
function sqlClientOf(deps: BotDeps): postgres.Sql {
  const client = postgresClientOf(deps);
  if (!client) throw new Error('createBot needs deps.chatLocks, or a postgres.js database to lock chats with');
  return client;
}

/** What the update carries, as the desk takes it. */
export function inboundOf(ctx: BotContext): Inbound {
  if (ctx.callbackQuery) {
    const raw = 'data' in ctx.callbackQuery ? ctx.callbackQuery.data : undefined;
    return { kind: 'press', action: decodeCallback(raw), raw };
  }
  const m = ctx.message;
  if (!m) return { kind: 'other' };
  if ('text' in m) {
    const command = /^\/([A-Za-z0-9_]+)(?:@\w+)?(?:\s+([\s\S]*))?$/.exec(m.text);
    if (command) {
      const from = ctx.from;
      return {
        kind: 'command',
        name: command[1]!.toLowerCase(),
        args: (command[2] ?? '').trim(),
        ...(from ? { person: { displayName: [from.first_name, from.last_name].filter(Boolean).join(' '), languageCode: from.language_code } } : {}),
      };
    }
    if (m.text.startsWith('/')) return { kind: 'command', name: '', args: '' };
    return { kind: 'text', text: m.text };
  }
  if ('location' in m) return { kind: 'location', location: { latitude: m.location.latitude, longitude: m.location.longitude } };
  const caption = 'caption' in m && m.caption ? { caption: m.caption } : {};
  if ('photo' in m && m.photo.length) return { kind: 'media', media: { kind: 'photo', fileId: m.photo[m.photo.length - 1]!.file_id, ...caption } };
  if ('voice' in m) return { kind: 'media', media: { kind: 'voice', fileId: m.voice.file_id, ...caption } };
  if ('video' in m) return { kind: 'media', media: { kind: 'video', fileId: m.video.file_id, ...caption } };
  if ('audio' in m) return { kind: 'media', media: { kind: 'audio', fileId: m.audio.file_id, ...caption } };
  if ('document' in m) return { kind: 'media', media: { kind: 'document', fileId: m.document.file_id, ...caption } };
  return { kind: 'other' };
}
