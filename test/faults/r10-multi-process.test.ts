/**
 * R10: two bot processes in webhook mode (behind a round-robin load balancer) and two worker processes
 * share one PostgreSQL and one Redis, under report-form load like P6, with Telegram's flood limits on in
 * the stand-in. Must hold: every incident handled once; no duplicate notifications; and Telegram's limits
 * kept across the processes (they share each chat's send line): no answer of 429, replies and notices alike.
 */
import { count, inArray, like, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { t } from '../../src/i18n/index.js';
import { incidents, outbox } from '../../src/db/schema.js';
import { runLoad, startLoadGenerator } from '../../bench/lib/loadgen-client.js';
import type { Child } from '../../bench/lib/processes.js';
import { pointWebhook } from '../../bench/lib/webhook.js';
import { startBalancer, type Balancer } from './helpers/balancer.js';
import { TELEGRAM_LIMITS } from '../../bench/lib/context.js';
import { countDelivery } from './helpers/delivery.js';
import { recordFigure, size } from './helpers/figures.js';
import { createWorld, eventually, sleep, type World } from './helpers/world.js';

const STAFF = size(200, 20);
const RATE = size(120, 40);

let world: World;
let gen: Child;
let lb: Balancer | undefined;
/** Answers of 429 for Telegram's own limits during the load (set by the first case). */
let limitHits: number | undefined;
beforeAll(async () => {
  world = await createWorld({ offices: size(8, 2), officersPerOffice: STAFF / size(8, 2), limits: { ...TELEGRAM_LIMITS } });
  gen = await startLoadGenerator();
});
afterAll(async () => {
  await gen?.stop();
  await lb?.close();
  await world?.close();
});

describe('R10 two bots and two workers sharing PostgreSQL and Redis', { shuffle: false }, () => {
  it('handles every incident once and sends no notification twice', async () => {
    const { server, tracker, org, db } = world;
    const bots = [await world.start('bot'), await world.start('bot')];
    await world.start('worker');
    await world.start('worker');
    lb = await startBalancer(bots.map((b) => b.webhookUrl!), '/telegram/webhook');
    await pointWebhook(server, lb.url, world.webhookSecret);

    const staff = org.officers.slice(0, STAFF);
    const hitsBefore = server.rateLimitHits.length;
    const run = await runLoad(gen, tracker, {
      apiUrl: server.url,
      scenario: 'report-form',
      users: staff.map((o) => ({ userId: o.telegramId, chatId: o.telegramId, subjectQuery: o.subjectCode })),
      iterations: 1,
      ratePerSecond: RATE,
      stepTimeoutMs: 120_000,
    });

    // Every notice of these incidents sent (the section's arrive one a second: wait for them).
    const ours = await db.db.select({ id: incidents.id }).from(incidents).where(like(incidents.description, 'bench description %'));
    const ids = ours.map((i) => i.id);
    const rowsOf = async () => (ids.length ? await db.db.select({ id: outbox.id, status: outbox.status }).from(outbox).where(inArray(outbox.incidentId, ids)) : []);
    await eventually(async () => (await rowsOf()).every((r) => r.status === 'sent' || r.status === 'dead'), 'every notice sent', size(600_000, 120_000), 1_000);
    await sleep(1_500);
    const rows = await rowsOf();
    const delivery = await countDelivery(db.db, server, rows.map((r) => r.id));

    // Handled once: one incident per form, and each reporter told "submitted" once.
    const perForm = await db.db
      .select({ d: incidents.description, n: count() })
      .from(incidents)
      .where(like(incidents.description, 'bench description %'))
      .groupBy(incidents.description)
      .having(sql`count(*) > 1`);
    const submitted = t('zh', 'report.submitted', { number: '' }).slice(0, 4);
    const confirmations = staff.map((o) => server.botMessages(o.telegramId).filter((m) => (m.text ?? '').startsWith(submitted)).length);
    const twice = confirmations.filter((n) => n > 1).length;
    const hits = server.rateLimitHits.slice(hitsBefore).filter((h) => h.scope !== 'fault');
    limitHits = hits.length;
    const byScope = hits.reduce<Record<string, number>>((m, h) => ((m[h.scope] = (m[h.scope] ?? 0) + 1), m), {});
    const byMethod = hits.reduce<Record<string, number>>((m, h) => ((m[h.method] = (m[h.method] ?? 0) + 1), m), {});
    // Whose chats: the staff filing (the bots' replies) or the notices' recipients (the workers' sends).
    const filing = new Set(staff.map((o) => o.telegramId));
    const toFilers = hits.filter((h) => filing.has(Number(h.chat_id))).length;
    const chatsHit = new Set(hits.map((h) => String(h.chat_id))).size;
    const limits = hits.length
      ? `${hits.length} answers of 429 (${Object.entries(byScope).map(([k, v]) => `${v} ${k}`).join(', ')}; in ${chatsHit} chats, ${toFilers} to staff filing a form and ${hits.length - toFilers} to notices' recipients)`
      : 'no answer of 429';
    const held = run.failed === 0 && ids.length === STAFF && perForm.length === 0 && twice === 0 && delivery.duplicates === 0 && delivery.lost === 0;
    recordFigure({
      id: 'R10',
      what: `2 bot processes (webhook, load-balanced) + 2 workers, ${STAFF} staff completing the report form at ${RATE}/s`,
      figure: `${run.completed}/${STAFF} forms → ${ids.length} incidents, ${perForm.length} handled twice, ${twice} double confirmations; ${rows.length} notices: ${delivery.duplicates} duplicates, ${delivery.lost} lost; webhook calls per bot ${lb.counts.join('/')}; ${limits}`,
      target: "every incident handled once; no duplicate notifications; Telegram's limits kept (0 answers of 429)",
      verdict: held ? (hits.length === 0 ? 'held' : 'missed') : 'broken',
      ...(run.errors.length ? { note: `first failures: ${run.errors.slice(0, 2).join(' | ')}` } : {}),
      data: { run: { ...run, clientLatencyMs: undefined }, incidents: ids.length, perForm, delivery, balancer: lb.counts, rateLimited: hits.length, byScope, byMethod, toFilers, chatsHit },
    });
    expect(run.failed).toBe(0);
    expect(ids.length).toBe(STAFF);
    expect(perForm).toEqual([]);
    expect(twice).toBe(0);
    expect(delivery.lost).toBe(0);
    expect(delivery.duplicates).toBe(0);
  });

  it("keeps Telegram's per-chat limit across the processes: no answer of 429", () => {
    expect(limitHits).toBeDefined();
    expect(limitHits).toBe(0);
  });
});
