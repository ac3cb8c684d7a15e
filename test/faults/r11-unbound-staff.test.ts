/**
 * R11: an organisation where 80% of the staff have not bound the bot (issue 17), over a simulated week of
 * daily runs and incidents. Must hold: the outbox and the send queue stay bounded (per notice, at most one
 * row per person it was given to); nothing is lost (every notice reached someone, or is recorded
 * undeliverable); every undeliverable notice is recorded, once.
 *
 * The product's worker process sends (with its own clock, the machine's); this process plays the days
 * through the services with an injected clock — the week before today — and its dispatcher puts the jobs
 * in the product's queues, as the bot process would. Timers due in those days are due at once, so the
 * worker fires them as soon as they are queued. The bound 20% are office staff: the section and the
 * leaders cannot be reached, so bureau-level notices end undeliverable, and an office's end at whoever of
 * the office is bound.
 */
import { inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { absences, outbox, staff, subjects, undeliverableNotices } from '../../src/db/schema.js';
import { addDays, atLocalTime, DEFAULT_POLICY, localDate, type Actor } from '../../src/domain/index.js';
import { runDailyChecks } from '../../src/services/daily-checks.service.js';
import { runDailyContactReminders } from '../../src/services/daily-contact.service.js';
import { runDailyDigest } from '../../src/services/digest.service.js';
import { reportIncident } from '../../src/services/incident.service.js';
import type { ServiceDeps } from '../../src/services/ports.js';
import { logContact } from '../../src/services/subject.service.js';
import { ManualClock } from '../helpers/fixtures.js';
import { countDelivery } from './helpers/delivery.js';
import { recordFigure, size } from './helpers/figures.js';
import { createWorld, eventually, sleep, type World } from './helpers/world.js';
import { deliveredThroughOwnRow } from '../helpers/outbox-notices.js';

const TZ = 'Asia/Shanghai';
const OFFICES = size(4, 2);
const OFFICERS = size(6, 3);
const DAYS = size(7, 3);
const INCIDENTS_PER_DAY = size(2, 1);
const UNBOUND_SHARE = 0.8;

/** A small seeded generator, so a run can be repeated. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

let world: World;
beforeAll(async () => {
  world = await createWorld({ offices: OFFICES, officersPerOffice: OFFICERS });
});
afterAll(async () => world?.close());

describe('R11 80% of staff unbound, a simulated week', () => {
  it('keeps the outbox and the queues bounded, loses nothing, and records every undeliverable notice', async () => {
    const { db, org, queues, server } = world;
    const random = prng(11);
    // 80% unbound. The bound fifth are drawn from the offices (heads and officers).
    const everyone = org.everyone;
    const boundCount = Math.round(everyone.length * (1 - UNBOUND_SHARE));
    const officeStaff = [...org.heads, ...org.officers].map((p) => p.staffId).sort(() => random() - 0.5);
    const bound = new Set(officeStaff.slice(0, boundCount));
    const unbound = everyone.map((p) => p.staffId).filter((id) => !bound.has(id));
    await db.db.update(staff).set({ chatId: null, telegramUserId: null }).where(inArray(staff.id, unbound));
    // Screenings fall due during the week for a third of the subjects.
    const overdue = org.officers.filter((_, i) => i % 3 === 0).map((o) => o.subjectId);
    await db.db.update(subjects).set({ lastScreenedAt: new Date(Date.now() - 40 * 86_400_000) }).where(inArray(subjects.id, overdue));

    const worker = await world.start('worker', { logLevel: 'info' });
    const today = localDate(new Date(), TZ);
    const first = addDays(today, -DAYS);
    const clock = new ManualClock(atLocalTime(first, '08:00', TZ));
    const deps: ServiceDeps = { db: db.db, clock, timeZone: TZ, piiMode: 'masked', cipher: org.cipher, policy: async () => DEFAULT_POLICY, dispatcher: queues.dispatcher };
    const actorOf = (o: (typeof org.officers)[number]): Actor => ({ staffId: o.staffId, unitId: o.unitId, unitKind: 'office', positions: ['officer'] });

    // A third of the subjects away all week; their officers reach some of them, not others.
    const away = org.officers.filter((_, i) => i % 3 === 1);
    await db.db.insert(absences).values(away.map((o) => ({ subjectId: o.subjectId, destination: '外地', startsOn: first, endsOn: today })));

    const daily: Array<{ day: string; notices: number; rows: number; undeliverable: number; sendJobs: number; live: number }> = [];
    const groups = async () => {
      const rows = await db.db
        .select({ id: outbox.id, key: outbox.dedupeKey, recipient: outbox.recipientStaffId, status: outbox.status, lastError: outbox.lastError, kind: outbox.kind, params: outbox.params })
        .from(outbox);
      const byRoot = new Map<string, typeof rows>();
      for (const r of rows) {
        const root = r.key.split('-via-')[0]!;
        byRoot.set(root, [...(byRoot.get(root) ?? []), r]);
      }
      return { rows, byRoot };
    };
    const liveRows = async () => (await groups()).rows.filter((r) => ['pending', 'sending', 'failed'].includes(r.status)).length;
    const settleTimeout = size(300_000, 45_000);

    for (let d = 0; d < DAYS; d++) {
      const day = addDays(first, d);
      clock.set(atLocalTime(day, '09:00', TZ));
      await runDailyContactReminders(deps, day);
      await runDailyChecks(deps);
      for (let i = 0; i < INCIDENTS_PER_DAY; i++) {
        clock.set(atLocalTime(day, `${10 + i * 3}:00`, TZ));
        const reporter = org.officers[Math.floor(random() * org.officers.length)]!;
        await reportIncident(deps, actorOf(reporter), {
          type: i % 2 === 0 ? 'absconding' : 'disruption',
          subjectId: reporter.subjectId,
          officeUnitId: reporter.unitId,
          discoveredAt: clock.now(),
          injured: 0,
          dead: 0,
          description: `R11 第 ${d + 1} 天事件 ${i + 1}`,
        });
      }
      clock.set(atLocalTime(day, '16:00', TZ));
      for (const o of away) if (random() < 0.5) await logContact(deps, actorOf(o), o.subjectId, { result: random() < 0.5 ? 'reached' : 'not_reached' });
      clock.set(atLocalTime(day, '18:00', TZ));
      await runDailyDigest(deps, day);
      // The day's notices drain: whatever reaches a bound person is sent (1 a second per chat), the rest is recorded.
      await eventually(async () => (await liveRows()) === 0, `day ${day}: every notice sent or recorded`, settleTimeout, 500);
      const g = await groups();
      const sendCounts = await queues.send.getJobCounts('waiting', 'delayed', 'active', 'prioritized', 'failed', 'completed');
      const recorded = await db.db.select({ id: undeliverableNotices.id }).from(undeliverableNotices);
      daily.push({
        day,
        notices: g.byRoot.size,
        rows: g.rows.length,
        undeliverable: recorded.length,
        sendJobs: Object.values(sendCounts).reduce((s, n) => s + Number(n), 0),
        live: Number(sendCounts.waiting ?? 0) + Number(sendCounts.delayed ?? 0) + Number(sendCounts.active ?? 0) + Number(sendCounts.prioritized ?? 0),
      });
    }
    await sleep(1_500);

    // Bounded: per notice, nobody twice, and no row beyond the first for anyone who cannot receive.
    const { rows, byRoot } = await groups();
    const repeated = [...byRoot].filter(([, rs]) => new Set(rs.map((r) => r.recipient)).size !== rs.length).length;
    const beyond = [...byRoot].filter(([, rs]) => rs.length > 1 + bound.size).length;
    const toUnbound = rows.filter((r) => r.key.includes('-via-') && !bound.has(r.recipient)).length;
    // Nothing lost: every notice reached someone (the message is in their chat) or is recorded, once.
    const records = await db.db.select().from(undeliverableNotices);
    const recordOf = new Map(records.map((r) => [r.rootOutboxId, r]));
    let delivered = 0;
    let undeliverable = 0;
    let closed = 0;
    let lost = 0;
    let wrongRecords = 0;
    const statusByKey = new Map(rows.map((r) => [r.key, r.status]));
    for (const [root, rs] of byRoot) {
      const first = rs.find((r) => r.key === root)!;
      const record = recordOf.get(first.id);
      // Sent, or reached a stand-in through their own row of the same notice (one message, 'also for').
      if (rs.some((r) => r.status === 'sent') || deliveredThroughOwnRow(first, statusByKey)) {
        delivered++;
        if (record) wrongRecords++;
      } else if (rs.every((r) => r.status === 'dead' && r.lastError?.startsWith('unreachable:'))) {
        undeliverable++;
        if (!record || record.intendedStaffId !== first.recipient) lost++;
      } else if (rs.every((r) => r.status === 'dead')) closed++; // nothing to draw (e.g. a card redraw for someone without the card)
      else lost++;
    }
    const sent = rows.filter((r) => r.status === 'sent').map((r) => r.id);
    const delivery = await countDelivery(db.db, server, sent);
    const sendCounts = await queues.send.getJobCounts('waiting', 'delayed', 'active', 'prioritized', 'failed', 'completed');
    const sendJobs = Object.values(sendCounts).reduce((s, n) => s + Number(n), 0);
    const queueLive = Number(sendCounts.waiting ?? 0) + Number(sendCounts.delayed ?? 0) + Number(sendCounts.active ?? 0) + Number(sendCounts.prioritized ?? 0);
    const warns = worker.child.output.filter((l) => l.includes('the corrections section cannot be reached')).length;
    const undeliverableLogs = worker.child.output.filter((l) => l.includes('notice undeliverable')).length;

    const held = repeated === 0 && beyond === 0 && toUnbound === 0 && lost === 0 && delivery.lost === 0 && wrongRecords === 0 && records.length === undeliverable && queueLive === 0 && sendJobs <= rows.length;
    const last = daily.at(-1)!;
    recordFigure({
      id: 'R11',
      what: `${Math.round(UNBOUND_SHARE * 100)}% of ${everyone.length} staff unbound (all of the section and the leaders), ${DAYS} simulated days of daily runs, ${DAYS * INCIDENTS_PER_DAY} incidents`,
      figure:
        `${byRoot.size.toLocaleString('en')} notices → ${rows.length.toLocaleString('en')} outbox rows (max ${Math.max(...[...byRoot.values()].map((r) => r.length))} per notice; ${repeated} given twice to one person): ` +
        `${delivered} delivered (${delivery.lost} lost, ${delivery.duplicates} duplicates), ${undeliverable} undeliverable, each recorded once (${records.length} records), ${closed} closed with nothing to send; ` +
        `send queue ${sendJobs} jobs in all, ${queueLive} left; rows by day ${daily.map((x) => x.rows).join('→')}; "section cannot be reached" warned ${warns}× for ${undeliverableLogs} undeliverable notices`,
      target: 'outbox and queues bounded (≤ 1 row per notice per person reached); nothing lost; every undeliverable notice recorded',
      verdict: held ? 'held' : 'broken',
      note: "the bound fifth are office staff, so an office's notices end at whoever of the office is bound, and the bureau-level ones (digests, the ladder, the section's notices) are recorded undeliverable",
      data: { daily, bound: bound.size, staff: everyone.length, delivery, sendCounts, warns, last },
    });
    expect(repeated).toBe(0);
    expect(beyond).toBe(0);
    expect(toUnbound).toBe(0);
    expect(lost).toBe(0);
    expect(wrongRecords).toBe(0);
    expect(delivery.lost).toBe(0);
    expect(delivery.duplicates - delivery.markedResends).toBe(0);
    expect(records.length).toBe(undeliverable);
    expect(undeliverable).toBeGreaterThan(DAYS);
    expect(delivered).toBeGreaterThan(DAYS);
    expect(queueLive).toBe(0);
    expect(sendJobs).toBeLessThanOrEqual(rows.length);
    // Said once per process and day, not once per notice.
    expect(warns).toBeGreaterThanOrEqual(1);
    expect(warns).toBeLessThanOrEqual(2);
  });
});
