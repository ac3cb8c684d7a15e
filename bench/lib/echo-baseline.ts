/** Starts the bare telegraf echo bot (P1's baseline) as its own process against the stand-in. */
import { fileURLToPath } from 'node:url';
import type { BotApiServer } from '../../src/sandbox/bot-api-server.js';
import { spawnTs, type Child } from './processes.js';
import { BENCH_BOT } from './telegram-side.js';

const ENTRY = fileURLToPath(new URL('../baselines/echo-bot.ts', import.meta.url));

export const ECHO_SECRET = 'bench-echo-secret-0123456789';

export async function startEchoBot(server: BotApiServer): Promise<{ child: Child; webhookUrl: string }> {
  const child = spawnTs(ENTRY, [], {
    ipc: true,
    captureOutput: true,
    label: 'echo bot',
    env: { BOT_TOKEN: BENCH_BOT.token, TELEGRAM_API_ROOT: server.url, WEBHOOK_SECRET: ECHO_SECRET },
  });
  const ready = await child.waitForMessage<{ url: string }>((m) => (m as { type?: string }).type === 'ready', 30_000);
  return { child, webhookUrl: ready.url };
}
