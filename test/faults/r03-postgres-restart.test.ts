/**
 * R3: PostgreSQL stops in the middle of a run and comes back (the case's own embedded PostgreSQL, fast
 * shutdown: every connection is cut). Must hold: users get "temporarily unavailable"; 0 updates lost
 * once it is back.
 *
 * Staff fill in report forms (the load generator, a process of its own, acting through the Bot API
 * stand-in) while the database goes away for a few seconds. An update that arrives during the outage must
 * be answered "temporarily unavailable" and must not be consumed: Telegram delivers it again (the webhook
 * did not accept it) and it is handled once the database is back, so every form still completes, once.
 */
import { count } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { t } from '../../src/i18n/index.js';
import { incidents } from '../../src/db/schema.js';
import { runLoad, startLoadGenerator } from '../../bench/lib/loadgen-client.js';
import type { Child } from '../../bench/lib/processes.js';
import { recordFigure, size } from './helpers/figures.js';
import { createWorld, sleep, type World } from './helpers/world.js';

const USERS = size(10, 5);
const FORMS = size(6, 3);
const DOWN_MS = size(6_000, 3_000);
const LEAD_MS = size(4_000, 3_000);
/** Actions in one report form (bench/loadgen.ts's script). */
const ACTIONS_PER_FORM = 10;
// Paced so that the load outlasts the outage by a few seconds whatever the machine's speed: a closed
// loop could finish every form before PostgreSQL goes away, and the case would test nothing.
const RATE = Math.max(1, Math.floor((USERS * FORMS * ACTIONS_PER_FORM) / ((LEAD_MS + DOWN_MS) / 1000 + 5)));

let world: World;
let gen: Child;
beforeAll(async () => {
  // Webhook redelivery as Telegram does it, spaced out long enough to outlast the outage.
  world = await createWorld({ offices: 1, officersPerOffice: USERS, embeddedPostgres: true, webhookRetry: { maxAttempts: 30, backoffMs: [250, 500, 1_000, 2_000] } });
  gen = await startLoadGenerator();
});
afterAll(async () => {
  await gen?.stop();
  await world?.close();
});

describe('R3 PostgreSQL restarted mid-run', () => {
  it('answers "temporarily unavailable" during the outage and loses no update', async () => {
    const { server, tracker, org, db } = world;
    // Supervised as compose runs it (restart: unless-stopped): a process that dies is started again.
    const bot = await world.supervise('all');
    const users = org.officers.slice(0, USERS).map((o) => ({ userId: o.telegramId, chatId: o.telegramId, subjectQuery: o.subjectCode }));
    const before = (await db.db.select({ n: count() }).from(incidents))[0]!.n;

    const load = runLoad(gen, tracker, { apiUrl: server.url, scenario: 'report-form', users, iterations: FORMS, ratePerSecond: RATE, stepTimeoutMs: 120_000 });
    await sleep(LEAD_MS);
    const outage = await world.restartPostgres(DOWN_MS);
    const result = await load;

    // Updates Telegram had to deliver more than once because the webhook did not take them.
    const retried = [...tracker.timings.values()].filter((x) => x.attempts > 1);
    const unavailable = [t('zh', 'error.unavailable'), t('en', 'error.unavailable')];
    const told = users.reduce((n, u) => n + server.botMessages(u.chatId).filter((m) => unavailable.some((x) => (m.text ?? '').includes(x))).length, 0);
    const generic = [t('zh', 'error.generic'), t('en', 'error.generic')];
    const apologies = users.reduce((n, u) => n + server.botMessages(u.chatId).filter((m) => generic.some((x) => (m.text ?? '').includes(x))).length, 0);
    const dropped = [...tracker.timings.values()].filter((x) => x.outcome === 'dropped').length;
    const created = (await db.db.select({ n: count() }).from(incidents))[0]!.n - before;
    const expected = USERS * FORMS;
    // Every form ends in one incident: a form that did not (stuck part-way, or a submit answered but not
    // carried out) lost an update. Updates dropped by the webhook after every retry are lost too.
    const lostUpdates = Math.max(0, expected - created) + dropped;
    // More incidents than forms: an update carried out twice (e.g. a submit redelivered after it had taken effect).
    const appliedTwice = Math.max(0, created - expected);
    recordFigure({
      id: 'R3',
      what: `PostgreSQL stopped for ${DOWN_MS / 1000} s and started again under ${USERS} users' forms`,
      figure: `${result.completed}/${expected} forms completed, ${created} incidents; ${retried.length} updates redelivered; ${told} "temporarily unavailable" replies (${apologies} generic apologies); ${lostUpdates} updates lost, ${appliedTwice} carried out twice; process crashed ${bot.restarts}×`,
      target: '"temporarily unavailable" to users; 0 updates lost once back',
      verdict: lostUpdates === 0 && appliedTwice === 0 && result.completed === expected && told > 0 ? 'held' : 'broken',
      ...(result.errors.length || bot.restarts ? { note: [bot.restarts ? `crash: ${bot.exits[0]}` : '', result.errors.length ? `first failures: ${result.errors.slice(0, 2).join(' | ')}` : ''].filter(Boolean).join('; ') } : {}),
      data: { outage, restarts: bot.restarts, exits: bot.exits, result: { ...result, clientLatencyMs: undefined }, retried: retried.length, told, apologies, dropped, created },
    });
    expect(told).toBeGreaterThan(0);
    expect(lostUpdates).toBe(0);
    expect(appliedTwice).toBe(0);
    expect(result.completed).toBe(expected);
  });
});
