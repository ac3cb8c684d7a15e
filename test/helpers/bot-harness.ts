/**
 * End-to-end harness: a fresh database with the seeded organisation, the Bot API stand-in over HTTP,
 * and `createBot` wired to both, in webhook mode (default) or long polling. Tests act as the seeded
 * staff (their Telegram ids) and read what each chat shows.
 *
 *   const h = await startBotHarness();
 *   const reply = await h.send('officerA1', '/report');
 *   await h.press('officerA1', reply, 'f:...');   // or h.pressText('officerA1', reply, '🕒 现在')
 *   await h.close();
 */
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import postgres from 'postgres';
import type { Telegraf } from 'telegraf';
import type { AddressInfo } from 'node:net';
import { createBot, mountTelegramWebhook, startBot, type BotContext, type BotDeps, type RunningBot } from '../../src/channels/telegram/index.js';
import { createHttpServer } from '../../src/http/server.js';
import { createLogger } from '../../src/logger.js';
import { langOf, t } from '../../src/i18n/index.js';
import { DEFAULT_POLICY, type EscalationPolicy, type PiiMode } from '../../src/domain/index.js';
import { noopDispatcher, type Dispatcher } from '../../src/services/ports.js';
import { createPgChatLocks } from '../../src/db/chat-locks.js';
import { startBotApiServer, type BotApiServer, type CallbackAnswer, type SandboxMessage } from '../../src/sandbox/bot-api-server.js';
import type { LimitsConfig } from '../../src/sandbox/bot-api-limits.js';
import { createTestDatabase, type TestDatabase } from './db.js';
import { ManualClock, seedOrg, TG, type SeededOrg, type StaffKey } from './fixtures.js';

export const TEST_BOT_TOKEN = '123456:TEST-TOKEN';

export interface BotHarnessOptions {
  mode?: 'webhook' | 'polling';
  clock?: ManualClock;
  policy?: EscalationPolicy;
  piiMode?: PiiMode;
  dispatcher?: Dispatcher;
  /** Telegram language of each seeded user (default: `en` for section2 and officerA2, else `zh-hans`). */
  languages?: Partial<Record<StaffKey | 'stranger', string>>;
  /** Installed into the bot (BotDeps.plugins); `h.deps.plugins = …` then `h.restart()` works too. */
  plugins?: NonNullable<BotDeps["plugins"]>;
  /**
   * Reuse an existing database (another harness's) instead of creating one. Mind that a new Bot API
   * stand-in numbers its updates from 1 again, and update ids already handled in that database are dropped.
   */
  database?: { db: TestDatabase; org: SeededOrg };
  /** The stand-in's flood limits (default off), e.g. Telegram's 20 a minute per group. */
  apiLimits?: LimitsConfig;
}

export type Who = StaffKey | 'stranger' | number;

export interface BotHarness {
  api: BotApiServer;
  db: TestDatabase;
  org: SeededOrg;
  clock: ManualClock;
  deps: BotDeps;
  bot: Telegraf<BotContext>;
  mode: 'webhook' | 'polling';
  /** Webhook mode: the bot's HTTP server, its URL and secret. */
  http?: FastifyInstance;
  webhookUrl?: string;
  webhookSecret?: string;
  /** Structured log lines the bot wrote. */
  logs: Array<Record<string, unknown>>;
  tg(who: Who): number;
  /** Sends a text as `who`, waits until the bot is done, returns the bot's last message in that chat. */
  send(who: Who, text: string): Promise<SandboxMessage>;
  sendLocation(who: Who, latitude: number, longitude: number): Promise<SandboxMessage>;
  sendPhoto(who: Who, caption?: string): Promise<SandboxMessage>;
  sendVoice(who: Who): Promise<SandboxMessage>;
  /** Presses a button (by callback data) on a message, waits until the bot is done, returns the answer. */
  press(who: Who, message: SandboxMessage | number, data: string): Promise<CallbackAnswer>;
  /** Presses a button the message no longer shows (an old keyboard, a forged press), as a stale client would. */
  pressForced(who: Who, messageId: number, data: string): Promise<CallbackAnswer>;
  /** Presses the button with this text (exact, or the first containing it). */
  pressText(who: Who, message: SandboxMessage | number, text: string): Promise<CallbackAnswer>;
  last(who: Who): SandboxMessage;
  messages(who: Who): SandboxMessage[];
  idle(): Promise<void>;
  /** A new bot instance (same database), as after a process restart. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

const DEFAULT_LANGUAGES: Partial<Record<StaffKey | 'stranger', string>> = { section2: 'en', officerA2: 'en' };

export async function startBotHarness(opts: BotHarnessOptions = {}): Promise<BotHarness> {
  const mode = opts.mode ?? 'webhook';
  const clock = opts.clock ?? new ManualClock();
  const db = opts.database?.db ?? (await createTestDatabase());
  const org = opts.database?.org ?? (await seedOrg(db.db));
  const api = await startBotApiServer({ longPollMaxSeconds: 1, ...(opts.apiLimits ? { limits: opts.apiLimits } : {}) });
  const languages = { ...DEFAULT_LANGUAGES, ...opts.languages };
  for (const [key, id] of Object.entries(TG)) {
    api.addUser({ id, first_name: key, language_code: languages[key as StaffKey] ?? 'zh-hans' });
  }

  const logs: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const logger = createLogger('debug', sink);
  // A pool of its own for the chat locks, so a held lock never takes a connection the handlers need.
  const lockSql = postgres(db.url, { max: 4, onnotice: () => {} });
  const deps: BotDeps = {
    db: db.db,
    clock,
    timeZone: 'Asia/Shanghai',
    piiMode: opts.piiMode ?? 'masked',
    cipher: org.cipher,
    policy: async () => opts.policy ?? DEFAULT_POLICY,
    dispatcher: opts.dispatcher ?? noopDispatcher,
    logger,
    botToken: TEST_BOT_TOKEN,
    telegramApiRoot: api.url,
    chatLocks: createPgChatLocks(lockSql, { dedicated: true }),
    ...(opts.plugins ? { plugins: opts.plugins } : {}),
  };

  const webhookSecret = randomBytes(24).toString('base64url');
  let bot!: Telegraf<BotContext>;
  let http: FastifyInstance | undefined;
  let running: RunningBot | undefined;
  let webhookUrl: string | undefined;

  async function boot(): Promise<void> {
    bot = createBot(deps);
    if (mode === 'webhook') {
      http = createHttpServer({ logger });
      const path = '/telegram/webhook';
      mountTelegramWebhook(http, bot, path, webhookSecret);
      await http.listen({ port: 0, host: '127.0.0.1' });
      webhookUrl = `http://127.0.0.1:${(http.server.address() as AddressInfo).port}${path}`;
      running = await startBot(bot, { botMode: 'webhook', webhookUrl, webhookSecret }, http);
    } else {
      const polling = api.waitForRequest('getUpdates', undefined, { timeoutMs: 10_000 });
      running = await startBot(bot, { botMode: 'polling' });
      await polling;
    }
    harness.bot = bot;
    harness.http = http;
    harness.webhookUrl = webhookUrl;
  }

  async function shutdown(): Promise<void> {
    await running?.stop();
    if (http) await http.close();
    running = undefined;
    http = undefined;
  }

  const tg = (who: Who) => (typeof who === 'number' ? who : TG[who]);
  const idle = () => api.waitForIdle({ quietMs: mode === 'polling' ? 150 : 60, timeoutMs: 15_000 });
  const last = (who: Who) => {
    const m = api.lastBotMessage(tg(who));
    if (!m) throw new Error(`no bot message in the chat of ${String(who)}`);
    return m;
  };
  const idOf = (m: SandboxMessage | number) => (typeof m === 'number' ? m : m.message_id);

  const harness: BotHarness = {
    api,
    db,
    org,
    clock,
    deps,
    bot,
    mode,
    webhookSecret,
    logs,
    tg,
    async send(who, text) {
      api.sendText(tg(who), text);
      await idle();
      return last(who);
    },
    async sendLocation(who, latitude, longitude) {
      api.sendLocation(tg(who), latitude, longitude);
      await idle();
      return last(who);
    },
    async sendPhoto(who, caption) {
      api.sendPhoto(tg(who), caption === undefined ? {} : { caption });
      await idle();
      return last(who);
    },
    async sendVoice(who) {
      api.sendVoice(tg(who));
      await idle();
      return last(who);
    },
    async press(who, message, data) {
      const { callbackQueryId } = api.pressButton(tg(who), idOf(message), data);
      await idle();
      return api.waitForCallbackAnswer(callbackQueryId, { timeoutMs: 5000 });
    },
    async pressForced(who, messageId, data) {
      const { callbackQueryId } = api.pressButton(tg(who), messageId, data, { force: true });
      await idle();
      return api.waitForCallbackAnswer(callbackQueryId, { timeoutMs: 5000 });
    },
    async pressText(who, message, text) {
      const m = typeof message === 'number' ? api.message(tg(who), message) : api.message(tg(who), message.message_id);
      const buttons = api.inlineButtons(m);
      const b = buttons.find((x) => x.text === text) ?? buttons.find((x) => x.text.includes(text));
      if (!b?.callback_data) throw new Error(`no button "${text}" on message ${idOf(message)}: ${buttons.map((x) => x.text).join(' | ')}`);
      return harness.press(who, idOf(message), b.callback_data);
    },
    last,
    messages: (who) => api.messages(tg(who)),
    idle,
    async restart() {
      await shutdown();
      await boot();
    },
    async close() {
      await shutdown().catch(() => {});
      await api.close();
      await lockSql.end({ timeout: 5 });
      if (!opts.database) await db.drop();
    },
  };
  await boot();
  return harness;
}

/** The callback data of the button whose text is (or contains) `text`. */
export function buttonData(message: SandboxMessage | undefined, text: string): string {
  const buttons = message?.reply_markup?.inline_keyboard.flat() ?? [];
  const b = buttons.find((x) => x.text === text) ?? buttons.find((x) => x.text.includes(text));
  if (!b?.callback_data) throw new Error(`no button "${text}": ${buttons.map((x) => x.text).join(' | ')}`);
  return b.callback_data;
}

/** All button texts of a message. */
export function buttonTexts(message: SandboxMessage | undefined): string[] {
  return message?.reply_markup?.inline_keyboard.flat().map((b) => b.text) ?? [];
}

/** What `reportThroughForm` answers at each step of /report. Button texts are in the user's language. */
export interface ReportAnswers {
  /** The type button's text or part of it: '五、严重滋扰', '一、', '5. '. Not type 九: its scenario step is not walked. */
  type: string;
  /** Typed at the subject step: a name, a code or an ID number. */
  subject: string;
  /** The found subject's button text or part of it: 'SQ-B-001'. */
  pick: string;
  /** Typed at the time step ('09:45', '昨天 23:00'); without it the "now" button is pressed. */
  time?: string;
  place: string;
  /** A casualties button that leads straight to the description (default: the "none" button). */
  casualties?: string;
  description: string;
}

/** Walks /report for `who` up to its confirmation screen, and returns that message (its submit not pressed). */
export async function fillReportForm(h: BotHarness, who: Who, answers: ReportAnswers): Promise<SandboxMessage> {
  const lang = langOf(h.api.users().find((u) => u.id === h.tg(who))?.language_code);
  let m = await h.send(who, '/report');
  await h.pressText(who, m, answers.type);
  m = await h.send(who, answers.subject);
  await h.pressText(who, m, answers.pick);
  if (answers.time === undefined) await h.pressText(who, h.last(who), t(lang, 'button.now'));
  else await h.send(who, answers.time);
  m = await h.send(who, answers.place);
  await h.pressText(who, m, answers.casualties ?? t(lang, 'button.casualties_none'));
  m = await h.send(who, answers.description);
  await h.pressText(who, m, t(lang, 'button.next'));
  return h.last(who);
}

/**
 * Walks /report for `who` from the command to the submit, for tests where the report is only setup,
 * and returns the number the bot announced and the incident's id. Form buttons are read from the
 * catalogue in the user's Telegram language, so zh and en staff both work; a step that does not show
 * the expected button fails at that step.
 */
export async function reportThroughForm(h: BotHarness, who: Who, answers: ReportAnswers): Promise<{ number: string; incidentId: string }> {
  const lang = langOf(h.api.users().find((u) => u.id === h.tg(who))?.language_code);
  const confirm = await fillReportForm(h, who, answers);
  const seen = h.api.botMessages(h.tg(who)).length;
  await h.pressText(who, confirm, t(lang, 'button.submit_report'));
  // The text before {number} in "✅ 已上报，编号 <b>{number}</b>…", without its markup.
  const marker = t(lang, 'report.submitted').split('{number}')[0]!.replace(/<[^>]*>/g, '').trim();
  const told = h.api.botMessages(h.tg(who)).slice(seen).map((x) => x.text ?? '').find((x) => x.includes(marker)) ?? '';
  const number = /\d{4}-\d{4,}/.exec(told.slice(told.indexOf(marker)))?.[0];
  if (!number) throw new Error(`no "${marker}" after submitting; last message: ${h.last(who).text ?? ''}`);
  const [row] = await h.db.sql`select id from incidents where number = ${number}`;
  if (!row) throw new Error(`incident ${number} not in the database`);
  return { number, incidentId: row.id as string };
}
