/**
 * The sandbox's start-up without a browser: first start loads the examples and binds every staff member
 * to a sandbox Telegram user; a restart on the same DATA_DIR keeps the data (no second import) and the
 * same chats; the page and its config are served by the local Bot API server; getUpdates really waits;
 * the drill endpoint answers only the page's origin.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { listUnits } from '../../src/db/repositories/org.repository.js';
import { staff, subjects } from '../../src/db/schema.js';
import { createLogger } from '../../src/logger.js';
import type { PageConfig } from '../../src/sandbox/page-config.js';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/run-sandbox.js';
import { PANE_KEYS, sandboxTelegramId } from '../../src/app-trainer.js';

let dataDir: string;
let sandbox: RunningSandbox | undefined;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'sandbox-start-'));
});

afterAll(async () => {
  await sandbox?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

const start = () => startSandbox(parseConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent' }), createLogger('silent'), { port: 0 });

// One sandbox's life in order: first start, use, restart. Each step stands on the one before, so the
// steps keep their order when the suite is shuffled (the files still run in any order).
describe('startSandbox', { shuffle: false }, () => {
  it('loads the examples on first start and binds every staff member to a sandbox user', async () => {
    sandbox = await start();
    const db = sandbox.app.db.db;
    const staffRows = await db.select().from(staff);
    expect(staffRows.length).toBeGreaterThanOrEqual(15);
    for (const s of staffRows) expect(s.telegramUserId).toBe(sandboxTelegramId(s.code));
    expect(await db.select().from(subjects)).toHaveLength(20);
    // One pane per position of the reporting line, each a distinct person known to the Bot API server.
    expect(sandbox.persons.filter((p) => p.pane).map((p) => p.key)).toEqual([...PANE_KEYS]);
    const users = new Set(sandbox.botApi.users().map((u) => u.id));
    for (const p of sandbox.persons) expect(users.has(p.userId)).toBe(true);
    expect(new Set(sandbox.persons.map((p) => p.userId)).size).toBe(sandbox.persons.length);
  });

  it('serves the page and its config from the local Bot API server, with the deadlines scaled', async () => {
    const html = await fetch(`${sandbox!.url}/`);
    expect(html.status).toBe(200);
    expect(await html.text()).toContain('app.js');
    for (const asset of ['app.js', 'style.css']) expect((await fetch(`${sandbox!.url}/${asset}`)).status).toBe(200);
    const config = (await (await fetch(`${sandbox!.url}/sandbox-page/config.json`)).json()) as PageConfig;
    expect(config.policy.scaleLabel).toBe('1/60');
    const ack = config.policy.rows.find((r) => r.id === 'ack')!;
    expect(ack.productionSeconds).toEqual([300, 900]);
    expect(ack.seconds).toEqual([5, 15]);
    // Every page string exists in both languages; no staff ids leak into the page.
    expect(Object.keys(config.strings.en).sort()).toEqual(Object.keys(config.strings.zh).sort());
    expect(JSON.stringify(config)).not.toMatch(/staffId|unitId/);
    // The control API the page uses.
    const users = (await (await fetch(`${sandbox!.url}/sandbox/api/users`)).json()) as Array<{ id: number }>;
    expect(users.length).toBe(sandbox!.persons.length);
  });

  it('lets the bot long-poll: getUpdates waits instead of spinning', async () => {
    const polls = () => sandbox!.botApi.requests.filter((r) => r.method === 'getUpdates').length;
    // An update ends the waiting poll (logged), the bot answers, then polls again and waits.
    const officer = sandbox!.persons.find((p) => p.key === 'officer')!;
    sandbox!.botApi.sendText(officer.userId, '/help');
    await sandbox!.botApi.waitForBotMessage(officer.chatId, undefined, { timeoutMs: 10_000 });
    await sandbox!.botApi.waitForIdle({ quietMs: 300, timeoutMs: 10_000 });
    const before = polls();
    expect(before).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 1_500));
    // An idle bot has one getUpdates call open the whole time; a spinning one would make dozens.
    expect(polls() - before).toBeLessThanOrEqual(1);
  });

  it('refuses a drill asked for by another origin', async () => {
    const url = sandbox!.pageConfig.drill.mode === 'endpoint' ? sandbox!.pageConfig.drill.url : '';
    expect(url).not.toBe('');
    const foreign = await fetch(url, { method: 'POST', headers: { origin: 'https://evil.example', 'content-type': 'application/json' }, body: '{}' });
    expect(foreign.status).toBe(403);
    const bad = await fetch(url, { method: 'POST', headers: { origin: new URL(sandbox!.url).origin, 'content-type': 'application/json' }, body: '{"type":"nope"}' });
    expect(bad.status).toBe(400);
  });

  it('keeps its data across a restart on the same DATA_DIR, without importing again', async () => {
    const before = sandbox!.persons.map((p) => [p.key, p.userId]);
    const db = sandbox!.app.db.db;
    const units = (await listUnits(db)).length;
    await sandbox!.stop();
    sandbox = await start();
    expect(sandbox.persons.map((p) => [p.key, p.userId])).toEqual(before);
    expect((await listUnits(sandbox.app.db.db)).length).toBe(units);
    expect(await sandbox.app.db.db.select().from(subjects)).toHaveLength(20);
  }, 60_000);

  it('answers at once after a restart: the stand-in’s update ids keep rising, as Telegram’s do, so none is dropped as seen', async () => {
    const officer = sandbox!.persons.find((p) => p.key === 'officer')!;
    const ask = async (): Promise<number> => {
      const { updateId } = sandbox!.botApi.sendText(officer.userId, '/help');
      // The answer to this message (a bot message after the user's last action).
      await sandbox!.botApi.waitForBotMessage(officer.chatId, undefined, { timeoutMs: 5_000 });
      return updateId;
    };
    const before = await ask();
    await sandbox!.stop();
    sandbox = await start();
    const after = await ask();
    expect(after).toBeGreaterThan(before);
    // Recorded as handled once its handling finished (just after the answer went out).
    const recorded = async () => (await sandbox!.app.db.sql`select 1 from processed_updates where update_id = ${after}`).length;
    await expect.poll(recorded, { timeout: 5_000 }).toBe(1);
  }, 60_000);
});
