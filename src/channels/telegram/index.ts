/**
 * The bot: `createBot(deps)` wires the gates (well-formed, one at a time per chat, handled once, staff
 * only, size), the commands, the incident card's buttons and the conversational flows. `bot.catch` is the
 * one error edge: the log gets the error; the user gets "temporarily unavailable" when the database is
 * out of reach (and the update is left for Telegram to deliver again), else a short apology, in their
 * language.
 */
import type { ServerResponse } from 'node:http';
import type postgres from 'postgres';
import { Telegraf } from 'telegraf';
import type { Message } from 'telegraf/types';
import { actorFor, findUnit } from '../../db/repositories/org.repository.js';
import { canReportIncident } from '../../domain/index.js';
import { abscondingPrefill, REPORT_START, reportFlow } from '../../flows/report.flow.js';
import { absenceFlow } from '../../flows/absence.flow.js';
import { auditRefusal, CARD_ACTIONS, CallbackRefused, handleCardAction, type RefusalReason } from '../../flows/card-actions.js';
import { contactFlow } from '../../flows/contact.flow.js';
import { createFlowEngine, leaveOnElsewhere, StaleFlowButton, type FlowEngine, type MediaInput } from '../../flows/engine.js';
import { FLOWS } from '../../flows/index.js';
import { refusalKey } from '../../flows/refusals.js';
import { subjectsFlow } from '../../flows/subjects.flow.js';
import { sendAwayList, sendAwayMenu, sendIncidentList } from '../../flows/subject-view.js';
import { metrics as processMetrics } from '../../ops/metrics.js';
import { opsMiddleware } from '../../ops/telegraf.js';
import { installApiPipeline, useApiPipeline } from './api-pipeline.js';
import { createTelegramGateway } from './telegram-gateway.js';
import { isDatabaseUnavailable } from '../../db/database-unavailable.js';
import { ServiceRefusal } from '../../services/errors.js';
import { redeemInvite } from '../../services/invite.service.js';
import { setStaffLanguage } from '../../services/staff.service.js';
import { getSubject } from '../../services/subject.service.js';
import { createPgChatLocks } from '../../db/chat-locks.js';
import { decodeCallback, type CallbackData } from './callback-data.js';
import { commandsFor, setStaffMenu } from './commands.js';
import { loggableError } from './log-safe.js';
import { answerCallback, say, whoOf, type BotContext, type BotDeps, type Identity } from './context.js';
import { escapeHtml } from './html.js';
import { button, markup } from './keyboards.js';
import { langOf, t, type Lang, type MessageKey, type Params } from '../../i18n/index.js';
import { clientLanguage, dedupeUpdates, guardSize, identifyStaff, ignoreGroupChatter, serialisePerChat, trackReachability } from './middleware.js';
import { dropMalformedUpdates } from './update-shape.js';
import { redrawCardHere } from './views/card-messages.js';
import { positionLabel, unitName } from './views/labels.js';

export type { BotContext, BotDeps, BotPlugin, Identity } from './context.js';
export { loggableError } from './log-safe.js';
export { startBot, type RunningBot, type StartBotConfig } from './run.js';
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
  const api = (deps.gateway ?? createTelegramGateway({ apiRoot: deps.telegramApiRoot, token: deps.botToken })).api;
  const metrics = deps.opsMetrics === false ? undefined : (deps.opsMetrics ?? processMetrics);
  installApiPipeline(bot.telegram, api, { mode: 'interactive', counter: metrics, logger: deps.logger });
  const engine = createFlowEngine(FLOWS);
  const locks = deps.chatLocks ?? createPgChatLocks(sqlClientOf(deps));

  const tellUnavailable = unavailableNotice(deps);
  bot.catch(async (err, ctx) => {
    const c = ctx as BotContext;
    const where = { updateId: c.update?.update_id, updateType: updateTypeOf(c), chatId: c.chat?.id, staffId: c.who?.staff.id };
    if (isDatabaseUnavailable(err)) {
      // The update was not recorded as handled (dedupeUpdates records it only afterwards). Webhook: a
      // non-2xx answer makes Telegram deliver it again, with growing pauses, for up to 24 hours, and it
      // is handled in full once the database is back. Polling: telegraf confirms the batch's offset
      // whatever happened to each update, so this one is gone — the user is told and must send it
      // again. Production runs the webhook (the compose default) for this reason.
      deps.logger.warn({ err: loggableError(err), ...where }, 'database unavailable: update left for redelivery');
      askForRedelivery(c);
      await tellUnavailable(c);
      return;
    }
    deps.logger.error({ err: loggableError(err), ...where }, 'update handling failed');
    try {
      await answerCallback(c, t(c.lang ?? 'zh', 'error.generic'));
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
  // The chat's lock before the duplicate check: a duplicate waits for the first delivery to finish.
  bot.use(clientLanguage, serialisePerChat(locks), dedupeUpdates, trackReachability, ignoreGroupChatter, identifyStaff, guardSize);

  // A command, or a button outside the form, ends a pending prompt (a /report in progress is kept).
  bot.use(leaveOnElsewhere(engine));

  for (const plugin of deps.plugins ?? []) plugin.install(bot);

  // Commands work in the private chat only: forms and cards with personal data do not belong in groups.
  bot.use((ctx, next) => {
    const text = ctx.message && 'text' in ctx.message ? ctx.message.text : undefined;
    if (ctx.chat && ctx.chat.type !== 'private' && text?.startsWith('/')) return ctx.reply(say(ctx, 'group.use_private')).then(() => {});
    return next();
  });

  bot.start((ctx) => onStart(ctx));
  bot.command('help', (ctx) => sendHelp(ctx));
  bot.command('cancel', async (ctx) => {
    if (!(await engine.cancel(ctx))) await ctx.reply(say(ctx, 'nothing_to_cancel'));
  });
  bot.command('language', (ctx) =>
    ctx.reply(say(ctx, 'language.ask'), {
      reply_markup: markup([[button(t('zh', 'button.lang_zh'), { a: 'lang', k: 'zh' }), button(t('en', 'button.lang_en'), { a: 'lang', k: 'en' })]]),
    }),
  );
  bot.command('report', async (ctx) => {
    if (!canReportIncident(whoOf(ctx).actor)) return void (await ctx.reply(say(ctx, 'refuse.not_permitted')));
    await engine.start(ctx, reportFlow, REPORT_START, reportFlow.data.parse({}));
  });
  bot.command('incidents', (ctx) => sendIncidentList(ctx, 0, false));
  bot.command('away', (ctx) => sendAwayMenu(ctx));
  bot.command('subjects', (ctx) => engine.start(ctx, subjectsFlow, 'query', {}).then(() => {}));

  bot.on('callback_query', (ctx) => onCallback(ctx, engine));

  bot.on('message', async (ctx) => {
    if (ctx.chat.type !== 'private') return;
    const input = inputOf(ctx.message);
    if (input === 'command') return void (await ctx.reply(say(ctx, 'unknown_text')));
    if (input && (await engine.onInput(ctx, input))) return;
    await ctx.reply(say(ctx, (await engine.current(ctx)) ? 'flow.use_buttons' : 'unknown_text'));
  });

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

/** Webhook mode: the answer to this webhook call becomes 503, so Telegram delivers the update again later. */
function askForRedelivery(ctx: BotContext): void {
  // telegraf gives each update's Telegram client the webhook's response (`webhookReply`) and ends it
  // with 200 after bot.catch, keeping the status set here. Absent in polling mode.
  const response = (ctx.telegram as unknown as { response?: ServerResponse }).response;
  if (response && !response.headersSent) response.statusCode = 503;
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
      await answerCallback(ctx, text);
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

/** The postgres.js client under drizzle, for advisory locks on reserved connections. */
function sqlClientOf(deps: BotDeps): postgres.Sql {
  const client = (deps.db as unknown as { $client?: postgres.Sql }).$client;
  if (!client || typeof client.reserve !== 'function') throw new Error('createBot needs deps.chatLocks, or a postgres.js database to lock chats with');
  return client;
}

/** What a message carries, as a flow takes it. */
function inputOf(m: Message): { text: string } | { location: { latitude: number; longitude: number } } | { media: MediaInput } | 'command' | undefined {
  if ('text' in m) return m.text.startsWith('/') ? 'command' : { text: m.text };
  if ('location' in m) return { location: { latitude: m.location.latitude, longitude: m.location.longitude } };
  const caption = 'caption' in m && m.caption ? { caption: m.caption } : {};
  if ('photo' in m && m.photo.length) return { media: { kind: 'photo', fileId: m.photo[m.photo.length - 1]!.file_id, ...caption } };
  if ('voice' in m) return { media: { kind: 'voice', fileId: m.voice.file_id, ...caption } };
  if ('video' in m) return { media: { kind: 'video', fileId: m.video.file_id, ...caption } };
  if ('audio' in m) return { media: { kind: 'audio', fileId: m.audio.file_id, ...caption } };
  if ('document' in m) return { media: { kind: 'document', fileId: m.document.file_id, ...caption } };
  return undefined;
}

async function onCallback(ctx: BotContext, engine: FlowEngine): Promise<void> {
  const raw = ctx.callbackQuery && 'data' in ctx.callbackQuery ? ctx.callbackQuery.data : undefined;
  const cb = decodeCallback(raw);
  try {
    if (!cb) throw new CallbackRefused('malformed', 'refuse.bad_button');
    await routeCallback(ctx, cb, engine);
  } catch (err) {
    const refusal = asRefusal(err);
    // Anything else goes to bot.catch, which answers the press with the apology.
    if (!refusal) throw err;
    await auditRefusal(ctx, cb, refusal.reason, cb ? undefined : raw);
    const text = say(ctx, refusal.key, refusal.params);
    if (ctx.cbAnswered) await ctx.reply(text);
    else await answerCallback(ctx, text, refusal.reason === 'not_permitted');
    if ((refusal.reason === 'stale' || refusal.reason === 'already_done') && refusal.incidentId) {
      await redrawCardHere(ctx, refusal.incidentId).catch((e: unknown) => ctx.deps.logger.warn({ err: loggableError(e), incidentId: refusal.incidentId }, 'could not redraw a stale card'));
    }
  }
  // Every press is answered once, so the client stops its spinner.
  await answerCallback(ctx);
}

function asRefusal(err: unknown): { reason: RefusalReason; key: MessageKey; incidentId?: string | undefined; params?: Params | undefined } | undefined {
  if (err instanceof CallbackRefused) return err;
  if (err instanceof StaleFlowButton) return { reason: 'stale_flow', key: 'refuse.bad_button' };
  if (err instanceof ServiceRefusal) return { reason: err.code === 'expired' || err.code === 'already_bound' ? 'invalid_input' : err.code, key: refusalKey(err) };
  return undefined;
}

async function routeCallback(ctx: BotContext, cb: CallbackData, engine: FlowEngine): Promise<void> {
  const private_ = ctx.chat?.type === 'private';
  if ((CARD_ACTIONS as readonly string[]).includes(cb.a)) return handleCardAction(ctx, cb, engine);
  if (!private_) throw new CallbackRefused('malformed', 'refuse.bad_button');
  const who = whoOf(ctx);
  switch (cb.a) {
    case 'f':
      return engine.onChoice(ctx, cb);
    case 'list': {
      const page = Number(cb.k ?? '0');
      if (!Number.isInteger(page) || page < 0 || page > 1000) throw new CallbackRefused('malformed', 'refuse.bad_button');
      await answerCallback(ctx);
      return sendIncidentList(ctx, page, true);
    }
    case 'contact': {
      if (!cb.i) throw new CallbackRefused('malformed', 'refuse.bad_button');
      const subject = await getSubjectOrRefuse(ctx, cb.i);
      await answerCallback(ctx);
      await engine.start(ctx, contactFlow, 'result', { subjectId: subject.id });
      return;
    }
    case 'abscond': {
      if (!cb.i) throw new CallbackRefused('malformed', 'refuse.bad_button');
      if (!canReportIncident(who.actor)) throw new CallbackRefused('not_permitted', 'refuse.not_permitted');
      await getSubjectOrRefuse(ctx, cb.i);
      await answerCallback(ctx);
      await engine.start(ctx, reportFlow, 'time', await abscondingPrefill({ deps: ctx.deps, who }, cb.i));
      return;
    }
    case 'away':
      if (cb.k === 'list') {
        await answerCallback(ctx);
        return sendAwayList(ctx);
      }
      if (cb.k === 'new') {
        await answerCallback(ctx);
        if (cb.i) {
          const subject = await getSubjectOrRefuse(ctx, cb.i);
          await engine.start(ctx, absenceFlow, 'destination', { subjectId: subject.id });
        } else {
          await engine.start(ctx, absenceFlow, 'subject', {});
        }
        return;
      }
      throw new CallbackRefused('malformed', 'refuse.bad_button');
    case 'lang': {
      if (cb.k !== 'zh' && cb.k !== 'en') throw new CallbackRefused('malformed', 'refuse.bad_button');
      const lang: Lang = cb.k;
      await setStaffLanguage(ctx.deps, who.staff.id, lang);
      ctx.lang = lang;
      await answerCallback(ctx, t(lang, 'language.set'));
      await ctx.editMessageText(t(lang, 'language.set')).catch(() => {});
      await setStaffMenu(ctx.telegram, ctx.deps.logger, ctx.chat!.id, who.actor, lang);
      return;
    }
    case 'nop':
      return answerCallback(ctx);
    default:
      throw new CallbackRefused('unknown_action', 'refuse.bad_button');
  }
}

async function getSubjectOrRefuse(ctx: BotContext, subjectId: string) {
  try {
    return await getSubject(ctx.deps, whoOf(ctx).actor, subjectId);
  } catch (err) {
    if (err instanceof ServiceRefusal) throw new CallbackRefused('not_found', 'refuse.not_found');
    throw err;
  }
}

/** /start: a known person gets the help; a stranger with an invite code is bound to their staff record. */
async function onStart(ctx: BotContext & { payload?: string }): Promise<void> {
  const code = (ctx.payload ?? '').trim();
  if (ctx.who) {
    if (code) await ctx.reply(say(ctx, 'start.already_bound'));
    await setStaffMenu(ctx.telegram, ctx.deps.logger, ctx.chat!.id, ctx.who.actor, ctx.lang);
    return sendHelp(ctx);
  }
  const from = ctx.from!;
  try {
    const person = await redeemInvite(ctx.deps, code, {
      telegramUserId: from.id,
      chatId: ctx.chat!.id,
      language: langOf(from.language_code),
      displayName: [from.first_name, from.last_name].filter(Boolean).join(' '),
    });
    ctx.who = { staff: person, actor: await actorFor(ctx.deps.db, person) } satisfies Identity;
    ctx.lang = person.language === 'en' ? 'en' : 'zh';
  } catch (err) {
    if (!(err instanceof ServiceRefusal)) throw err;
    const key: MessageKey =
      err.code === 'already_done'
        ? 'start.invite_used'
        : err.code === 'expired'
          ? 'start.invite_expired'
          : err.code === 'already_bound' && err.detail !== 'staff'
            ? 'start.already_bound'
            : 'start.invite_invalid';
    await ctx.reply(say(ctx, key));
    return;
  }
  const unit = await findUnit(ctx.deps.db, ctx.who.staff.unitId);
  await ctx.reply(say(ctx, 'start.bound', { name: ctx.who.staff.name, unit: unitName(unit, ctx.lang) }));
  await setStaffMenu(ctx.telegram, ctx.deps.logger, ctx.chat!.id, ctx.who.actor, ctx.lang);
  await sendHelp(ctx);
}

/** /help: what this person can do, by position. */
async function sendHelp(ctx: BotContext): Promise<void> {
  const { staff, actor } = whoOf(ctx);
  const unit = await findUnit(ctx.deps.db, staff.unitId);
  const commands = commandsFor(actor);
  const lines = [
    say(ctx, 'help.intro', {
      name: escapeHtml(staff.name),
      // The seats held; a seat stood in for shows as 代理… only while its holder cannot act.
      positions:
        actor.positions
          .map((p) => (actor.acting?.includes(p) ? say(ctx, 'help.acting_position', { position: positionLabel(p, ctx.lang) }) : positionLabel(p, ctx.lang)))
          .join(ctx.lang === 'zh' ? '、' : ', ') || '—',
      unit: escapeHtml(unitName(unit, ctx.lang)),
    }),
    '',
  ];
  if (commands.includes('report')) lines.push(say(ctx, 'help.report'));
  lines.push(say(ctx, 'help.incidents'));
  if (commands.includes('away')) lines.push(say(ctx, 'help.away'));
  if (commands.includes('subjects')) lines.push(say(ctx, 'help.subjects'));
  lines.push('', say(ctx, 'help.card'), say(ctx, 'help.general'));
  await ctx.reply(lines.join('\n'), { parse_mode: 'HTML' });
}
