/** Points the stand-in's webhook at a bot, as that bot's own setWebhook call would. */
import type { BotApiServer } from '../../src/sandbox/bot-api-server.js';
import { ALLOWED_UPDATES } from '../../src/channels/telegram/run.js';
import { BENCH_BOT } from './telegram-side.js';

export async function pointWebhook(server: BotApiServer, url: string, secret: string): Promise<void> {
  const res = await fetch(`${server.url}/bot${BENCH_BOT.token}/setWebhook`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ url, secret_token: secret, allowed_updates: [...ALLOWED_UPDATES] }),
  });
  if (!res.ok) throw new Error(`setWebhook: HTTP ${res.status}`);
}
