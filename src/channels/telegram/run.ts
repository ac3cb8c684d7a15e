/**
 * Running the bot: long polling, or a webhook on the process's HTTP server. Either way the default
 * command menus are set (optional calls: a failure is logged and the bot runs on).
 */
import { loggableError } from './log-safe.js';
import type { FastifyInstance } from 'fastify';
import type { Telegraf } from 'telegraf';
import type { AddressInfo } from 'node:net';
import { refusalAuditor } from '../../http/refusal-audit.js';
import { isWebhookMounted, mountWebhook } from '../../http/server.js';
import { syncDefaultCommands, syncStaffMenus } from './commands.js';
import type { BotContext } from './context.js';

export interface StartBotConfig {
  botMode: 'polling' | 'webhook';
  /** Public URL Telegram posts updates to (webhook mode); its path is the route mounted. */
  webhookUrl?: string | undefined;
  webhookSecret?: string | undefined;
  /** Where the HTTP server listens when it is not listening yet (webhook mode). */
  port?: number;
  host?: string;
  /** Also set each bound staff member's menu, in the background (default false). */
  staffMenus?: boolean;
}

export interface RunningBot {
  mode: 'polling' | 'webhook';
  /** Stops taking updates (polling stops; the webhook stays registered so Telegram keeps them until we are back). */
  stop(): Promise<void>;
}

export const ALLOWED_UPDATES = ['message', 'callback_query', 'my_chat_member'] as const;

/** The webhook route on the process's HTTP server: the secret checked first, a refusal audited. */
export function mountTelegramWebhook(http: FastifyInstance, bot: Telegraf<BotContext>, path: string, secretToken: string): void {
  const deps = bot.context.deps!;
  const audit = refusalAuditor({ db: deps.db, clock: deps.clock, logger: deps.logger, action: 'telegram.webhook.refused', entity: 'telegram_webhook' });
  mountWebhook(http, { path, secretToken, handler: bot.webhookCallback(path, { secretToken }), logger: deps.logger, audit });
}

export async function startBot(bot: Telegraf<BotContext>, config: StartBotConfig, http?: FastifyInstance): Promise<RunningBot> {
  const logger = bot.context.deps!.logger;
  bot.botInfo ??= await bot.telegram.getMe();
  await syncDefaultCommands(bot.telegram, logger);
  const deps = bot.context.deps!;
  const menus = config.staffMenus
    ? syncStaffMenus(bot.telegram, deps.db, logger).catch((err: unknown) => logger.warn({ err: loggableError(err) }, 'staff menus not set'))
    : Promise.resolve();

  if (config.botMode === 'polling') {
    // telegraf confirms a batch's offset whether or not each update was handled: an update that fails
    // while the database is away is lost (its user is told to try again). The webhook does not lose it
    // (bot.catch answers 503 and Telegram delivers it again), which is why production runs the webhook.
    let started!: () => void;
    const ready = new Promise<void>((resolve) => (started = resolve));
    const running = bot.launch({ dropPendingUpdates: false, allowedUpdates: [...ALLOWED_UPDATES] }, () => started()).catch((err: unknown) => {
      logger.fatal({ err: loggableError(err) }, 'polling stopped with an error');
    });
    await Promise.race([ready, running]);
    logger.info({ mode: 'polling', bot: bot.botInfo.username }, 'bot started');
    return {
      mode: 'polling',
      async stop() {
        try {
          bot.stop('shutdown');
        } catch {
          // not running
        }
        await Promise.race([Promise.all([running, menus]), new Promise((r) => setTimeout(r, 5000))]);
      },
    };
  }

  if (!http) throw new Error('webhook mode needs the HTTP server');
  if (!config.webhookUrl || !config.webhookSecret) throw new Error('webhook mode needs WEBHOOK_URL and WEBHOOK_SECRET');
  const path = new URL(config.webhookUrl).pathname;
  if (!isWebhookMounted(http, path)) {
    mountTelegramWebhook(http, bot, path, config.webhookSecret);
  }
  if (!http.server.listening) await http.listen({ port: config.port ?? 8080, host: config.host ?? '0.0.0.0' });
  await bot.telegram.setWebhook(config.webhookUrl, { secret_token: config.webhookSecret, drop_pending_updates: false, allowed_updates: [...ALLOWED_UPDATES] });
  const port = (http.server.address() as AddressInfo | null)?.port;
  logger.info({ mode: 'webhook', path, port, bot: bot.botInfo.username }, 'bot started');
  return {
    mode: 'webhook',
    stop: async () => {
      await Promise.race([menus, new Promise((r) => setTimeout(r, 5000))]);
    },
  };
}
