/**
 * R5: 10,000 fuzzed and mutated updates — random JSON, fields of the wrong type, huge strings, unknown
 * update kinds, forged callback data — posted to the bot's webhook (with the right secret: what an
 * attacker who learnt it, or a broken Telegram, would send). Must hold: 0 crashes, 0 unhandled
 * rejections, 0 rows written on behalf of strangers.
 *
 * Seven in ten come from strangers (ids no staff member has); the rest from real staff, so garbage also
 * reaches the flows, the card actions and the forms behind the access gate.
 */
import { count, gte, and, ne } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, flowStates, incidents, incidentUpdates, staff, contactLogs, absences, incidentRoles } from '../../src/db/schema.js';
import { templateIncident } from '../../bench/lib/incidents.js';
import type { Sut } from '../../bench/lib/sut.js';
import { recordFigure, size } from './helpers/figures.js';
import { sampleUpdates, STRANGER_MIN } from './helpers/fuzz.js';
import { createWorld, sleep, type World } from './helpers/world.js';

const UPDATES = size(10_000, 1_000);
const CONCURRENCY = 16;
const SEED = 7;

let world: World;
let bot: Sut;
const rejections: string[] = [];
beforeAll(async () => {
  world = await createWorld({ offices: 2, officersPerOffice: 10 });
  bot = await world.start('all', { logLevel: 'warn' });
  bot.child.proc.on('message', (m: { type?: string; message?: string }) => {
    if (m.type === 'unhandled-rejection' || m.type === 'uncaught-exception') rejections.push(m.message ?? '');
  });
});
afterAll(async () => world?.close());

async function snapshot(w: World) {
  const n = async (q: Promise<Array<{ n: number }>>) => (await q)[0]!.n;
  const db = w.db.db;
  return {
    incidents: await n(db.select({ n: count() }).from(incidents)),
    updates: await n(db.select({ n: count() }).from(incidentUpdates)),
    roles: await n(db.select({ n: count() }).from(incidentRoles)),
    contacts: await n(db.select({ n: count() }).from(contactLogs)),
    absences: await n(db.select({ n: count() }).from(absences)),
    staff: await n(db.select({ n: count() }).from(staff)),
    strangerFlows: await n(db.select({ n: count() }).from(flowStates).where(gte(flowStates.userId, STRANGER_MIN))),
    strangerAudit: await n(db.select({ n: count() }).from(auditLog).where(and(gte(auditLog.actorTelegramId, STRANGER_MIN), ne(auditLog.action, 'access.refused')))),
    refusals: await n(db.select({ n: count() }).from(auditLog).where(and(gte(auditLog.actorTelegramId, STRANGER_MIN)))),
  };
}

describe('R5 fuzzed and mutated updates', () => {
  it(`survives ${UPDATES.toLocaleString('en')} hostile updates and writes nothing for strangers`, async () => {
    const { org, db } = world;
    const tpl = await templateIncident(db, org);
    const people = { staff: org.officers.map((o) => o.telegramId).concat(org.heads.map((h) => h.telegramId)), ids: [tpl, org.officers[0]!.subjectId, org.officers[0]!.staffId] };
    const updates = sampleUpdates(people, UPDATES, SEED);
    const before = await snapshot(world);

    const statuses: Record<string, number> = {};
    /** Updates the webhook did not answer within 60 s (Telegram would retry them, holding up their chat). */
    const hung: string[] = [];
    let next = 0;
    const started = Date.now();
    const post = async () => {
      while (next < updates.length) {
        const u = updates[next++];
        let status = 'network error';
        try {
          const res = await fetch(bot.webhookUrl!, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': bot.webhookSecret },
            body: JSON.stringify(u),
            signal: AbortSignal.timeout(60_000),
          });
          await res.arrayBuffer();
          status = String(res.status);
        } catch (e) {
          status = (e as Error).name === 'TimeoutError' ? 'timeout' : 'network error';
          if (hung.length < 3) hung.push(JSON.stringify(u).slice(0, 300));
        }
        statuses[status] = (statuses[status] ?? 0) + 1;
        if (!bot.child.alive) return;
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, post));
    const elapsed = Date.now() - started;
    await sleep(1_000);

    // Still alive and still serving: a staff member's /report gets its form.
    const officer = org.officers[1]!;
    // (An update id above any the fuzz used: a fuzzed id the stand-in hands out later would rightly be dropped as a duplicate.)
    const lastBefore = world.server.botMessages(officer.telegramId).at(-1)?.message_id ?? 0;
    const from = { id: officer.telegramId, is_bot: false, first_name: 'probe' };
    world.server.injectUpdate({ update_id: 3_000_000_001, message: { message_id: 1, date: Math.floor(Date.now() / 1000), chat: { id: officer.telegramId, type: 'private', first_name: 'probe' }, from, text: '/report', entities: [{ type: 'bot_command', offset: 0, length: 7 }] } });
    const alive = bot.child.alive && (await world.server.waitForBotMessage(officer.telegramId, (m) => (m.text ?? '').length > 0, { timeoutMs: 20_000, after: lastBefore }).then(() => true, () => false));

    const after = await snapshot(world);
    const logged = bot.child.output.filter((l) => /unhandled rejection|uncaught exception/i.test(l));
    const strangerRows = after.strangerFlows + after.strangerAudit + (after.staff - before.staff) + (after.incidents - before.incidents);
    // Programming errors reached by malformed input (handled by bot.catch, but a sign of trusting a type).
    const typeErrors = new Map<string, number>();
    for (const l of bot.child.output) {
      let entry: { msg?: string; err?: { stack?: string } };
      try {
        entry = JSON.parse(l) as typeof entry;
      } catch {
        continue;
      }
      const stack = entry.msg === 'update handling failed' ? (entry.err?.stack ?? '') : '';
      if (!stack.startsWith('TypeError')) continue;
      const [first, ...frames] = stack.split('\n');
      const key = `${first!.slice(0, 90)} at ${frames.find((f) => f.includes('/src/'))?.trim().replace(/^at /, '').replace(/\(?\/work\/main\//, '(') ?? '?'}`;
      typeErrors.set(key, (typeErrors.get(key) ?? 0) + 1);
    }
    const fiveHundreds = Object.entries(statuses).filter(([k]) => k.startsWith('5')).reduce((s, [, v]) => s + v, 0);
    const crashes = bot.child.alive ? 0 : 1;
    recordFigure({
      id: 'R5',
      what: `${UPDATES.toLocaleString('en')} fuzzed/mutated updates to the webhook (70% from strangers; seed ${SEED})`,
      figure: `${crashes} crashes, ${rejections.length + logged.length} unhandled rejections, ${strangerRows} rows for strangers (${after.refusals - before.refusals} refusals audited); answers ${Object.entries(statuses).sort().map(([k, v]) => `${k}×${v}`).join(' ')} in ${(elapsed / 1000).toFixed(0)} s; still serving: ${alive ? 'yes' : 'NO'}`,
      target: '0 crashes, 0 unhandled rejections, 0 rows written on behalf of strangers',
      verdict: crashes === 0 && rejections.length + logged.length === 0 && strangerRows === 0 && alive ? 'held' : 'broken',
      ...(fiveHundreds || typeErrors.size || hung.length
        ? {
            note: [
              fiveHundreds ? `${fiveHundreds} updates were answered 5xx: Telegram would redeliver those for up to 24 h` : '',
              hung.length ? `${statuses.timeout ?? hung.length} updates not answered within 60 s, e.g. ${hung.join(' ; ')}` : '',
              typeErrors.size ? `handler errors from malformed input (caught by bot.catch): ${[...typeErrors].map(([k, v]) => `${v}× ${k}`).join('; ')}` : '',
            ]
              .filter(Boolean)
              .join('. '),
          }
        : {}),
      data: { statuses, before, after, elapsedMs: elapsed, rejections, logged: logged.slice(0, 5), hung },
    });
    expect(crashes).toBe(0);
    expect(rejections.length + logged.length).toBe(0);
    expect(strangerRows).toBe(0);
    expect(alive).toBe(true);
  });
});
