/**
 * PostgreSQL going away while the bot works — this file's own embedded server, stopped and started
 * again (never the shared one). The bot runs in webhook mode against the Bot API stand-in, which
 * redelivers an update whose webhook call was not answered 2xx, as Telegram does. Must hold: the user is
 * told the system is temporarily unavailable, in their language; the update is not lost but handled,
 * once, when the database is back; and the process survives a database that vanishes while an update
 * holds its chat's lock (postgres.js throws from a timer when a dead reserved connection is written to:
 * porsager/postgres#1208 — here it would surface as an uncaught exception and fail the run).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BotContext } from '../../src/channels/telegram/index.js';
import { encodeCallback } from '../../src/channels/telegram/callback-data.js';
import { t } from '../../src/i18n/index.js';
import { connectDatabase, migrateDatabase, type DbHandle } from '../../src/db/client.js';
import { freePort, startEmbeddedPostgres, type EmbeddedDatabase } from '../../src/db/embedded.js';
import { processedUpdates, staff } from '../../src/db/schema.js';
import { isDatabaseUnavailable } from '../../src/db/database-unavailable.js';
import type { WebhookDeliveryRecord } from '../../src/sandbox/bot-api-delivery.js';
import { startBotHarness, type BotHarness } from '../helpers/bot-harness.js';
import { seedOrg, TG } from '../helpers/fixtures.js';

let dataDir: string;
let port: number;
let pg: EmbeddedDatabase | undefined;
let handle: DbHandle;
let h: BotHarness;
/** Runs once, inside the next update's handling (its chat's lock held, its sender identified). */
let duringNextUpdate: ((ctx: BotContext) => Promise<void>) | undefined;
/** Every answer the webhook gave, by update id. */
const statuses = new Map<number, number[]>();

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'db-outage-'));
  port = await freePort();
  pg = await startEmbeddedPostgres(dataDir, { port });
  handle = connectDatabase(pg.url, { max: 5, applicationName: 'db-outage-test' });
  await migrateDatabase(handle);
  const org = await seedOrg(handle.db);
  h = await startBotHarness({
    database: { db: { ...handle, name: 'corrections', drop: async () => {} }, org },
    plugins: [
      {
        name: 'outage-hook',
        install: (bot) =>
          void bot.use(async (ctx, next) => {
            const hook = duringNextUpdate;
            duringNextUpdate = undefined;
            if (hook) await hook(ctx);
            return next();
          }),
      },
    ],
  });
  h.api.on('webhook_delivery', (rec: WebhookDeliveryRecord) => {
    if (rec.status) statuses.set(rec.update_id, [...(statuses.get(rec.update_id) ?? []), rec.status]);
  });
}, 120_000);

afterAll(async () => {
  await h?.close();
  await handle?.close();
  await pg?.stop().catch(() => undefined);
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

async function stopDatabase(): Promise<void> {
  const running = pg;
  pg = undefined;
  await running?.stop();
}

async function startDatabase(): Promise<void> {
  pg = await startEmbeddedPostgres(dataDir, { port });
}

async function handledIds(updateId: number): Promise<number> {
  return (await handle.db.select().from(processedUpdates).where(eq(processedUpdates.updateId, updateId))).length;
}

/** The webhook's answers to an update, once it gave at least `n`. */
async function answersTo(updateId: number, n = 1): Promise<number[]> {
  const deadline = Date.now() + 10_000;
  while ((statuses.get(updateId)?.length ?? 0) < n) {
    if (Date.now() > deadline) throw new Error(`the webhook did not answer update ${updateId} ${n}×`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return statuses.get(updateId)!;
}

const unavailable = { zh: t('zh', 'error.unavailable'), en: t('en', 'error.unavailable') };

describe('the database goes away', () => {
  it('an update that arrives meanwhile: the user is told, and it is handled once the database is back', async () => {
    await h.send('officerA1', '/help'); // all is well first
    const chat = TG.officerA1;
    await stopDatabase();

    const sent = h.api.sendText(chat, '/incidents');
    const told = await h.api.waitForBotMessage(chat, (m) => m.text === unavailable.zh, { timeoutMs: 10_000 });
    expect((await answersTo(sent.updateId))[0]).toBe(503);
    expect(h.api.webhookDeliveries.find((d) => d.update_id === sent.updateId)?.outcome).toBe('pending');

    await startDatabase();
    const list = await h.api.waitForBotMessage(chat, (m) => m.text === t('zh', 'incidents.none'), { timeoutMs: 30_000, after: told.message_id });
    await h.idle();
    const answers = statuses.get(sent.updateId)!;
    expect(answers.at(-1)).toBe(200);
    expect(answers.slice(0, -1).every((s) => s === 503)).toBe(true);
    expect(h.api.webhookDeliveries.find((d) => d.update_id === sent.updateId)?.outcome).toBe('delivered');
    // Told once however often the update came back; the list once; the update recorded once.
    const after = h.api.botMessages(chat).filter((m) => m.message_id > sent.messageId);
    expect(after.filter((m) => m.text === unavailable.zh)).toHaveLength(1);
    expect(after.filter((m) => m.text === list.text)).toHaveLength(1);
    expect(await handledIds(sent.updateId)).toBe(1);
  }, 60_000);

  it('while a button press is being handled (its chat locked): the user is told, in English, and the press takes effect once', async () => {
    const chat = TG.officerA2;
    const menu = await h.send('officerA2', '/language');
    expect(menu.text).toBe(t('en', 'language.ask'));

    duringNextUpdate = () => stopDatabase();
    const { callbackQueryId, updateId } = h.api.pressButton(chat, menu.message_id, encodeCallback({ a: 'lang', k: 'zh' }));
    const toast = await h.api.waitForCallbackAnswer(callbackQueryId, { timeoutMs: 15_000 });
    expect(toast.text).toBe(unavailable.en);
    const told = await h.api.waitForBotMessage(chat, (m) => m.text === unavailable.en, { timeoutMs: 10_000 });
    expect((await answersTo(updateId))[0]).toBe(503);

    await startDatabase();
    await h.api.waitForBotMessage(chat, (m) => m.message_id === menu.message_id && m.text === t('zh', 'language.set'), { timeoutMs: 30_000, after: menu.message_id - 1 });
    await h.idle();
    expect(statuses.get(updateId)!.at(-1)).toBe(200);
    const [row] = await handle.db.select({ language: staff.language }).from(staff).where(eq(staff.id, h.org.staff.officerA2));
    expect(row!.language).toBe('zh');
    expect(await handledIds(updateId)).toBe(1);
    expect(h.api.botMessages(chat).filter((m) => m.message_id > told.message_id && m.text === unavailable.en)).toHaveLength(0);

    // The bot still works for everyone, the chat's lock included.
    expect((await h.send('officerA2', '/incidents')).text).toBe(t('zh', 'incidents.none'));
    expect((await h.send('officerA1', '/incidents')).text).toBe(t('zh', 'incidents.none'));
  }, 60_000);
});

describe('what counts as "the database is unavailable"', () => {
  const system = (code: string, name = 'Error') => Object.assign(new Error(`connect ${code} 127.0.0.1:5432`), { code, name, syscall: 'connect' });
  it('connection refused, reset or closed, and the server shutting down', () => {
    expect(isDatabaseUnavailable(system('ECONNREFUSED'))).toBe(true);
    expect(isDatabaseUnavailable(system('ECONNRESET'))).toBe(true);
    expect(isDatabaseUnavailable(Object.assign(new Error('write CONNECTION_CLOSED'), { code: 'CONNECTION_CLOSED' }))).toBe(true);
    expect(isDatabaseUnavailable(Object.assign(new Error('terminating connection due to administrator command'), { name: 'PostgresError', code: '57P01' }))).toBe(true);
    expect(isDatabaseUnavailable(Object.assign(new Error('the database system is starting up'), { name: 'PostgresError', code: '57P03' }))).toBe(true);
    expect(isDatabaseUnavailable(Object.assign(new Error('connection failure'), { name: 'PostgresError', code: '08006' }))).toBe(true);
    // drizzle wraps the driver's error as the cause; postgres.js tries each host (AggregateError).
    expect(isDatabaseUnavailable(new Error('Failed query: select 1', { cause: system('ECONNREFUSED') }))).toBe(true);
    expect(isDatabaseUnavailable(new AggregateError([system('ECONNREFUSED')]))).toBe(true);
  });
  it('not: a refusal by the database, a bug, or the Telegram side of the network', () => {
    expect(isDatabaseUnavailable(Object.assign(new Error('duplicate key'), { name: 'PostgresError', code: '23505' }))).toBe(false);
    expect(isDatabaseUnavailable(Object.assign(new Error('lock timeout'), { name: 'PostgresError', code: '55P03' }))).toBe(false);
    expect(isDatabaseUnavailable(new TypeError("Cannot read properties of undefined (reading 'id')"))).toBe(false);
    expect(isDatabaseUnavailable(system('ECONNRESET', 'FetchError'))).toBe(false);
    expect(isDatabaseUnavailable(undefined)).toBe(false);
  });
});
