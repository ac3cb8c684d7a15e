/**
 * R2: Redis loses everything (FLUSHALL on the case's own redis-server) in the middle of a run.
 * Must hold: every timer and daily reminder restored from PostgreSQL; 0 lost; the drift is reported.
 *
 * Before the wipe: escalations falling due one after another, timers due later in the hour, a daily contact
 * check for a subject away from home, and the daily job schedulers (09:00 reminders, 18:00 digest). After
 * it, the reconciler must put every pending timer and both schedulers back, and every escalation due
 * around the wipe must still reach its recipient, once.
 */
import { and, eq, inArray, lt } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobIdOf } from '../../src/jobs/catalogue.js';
import { TIMER_QUEUE_HORIZON_MS } from '../../src/jobs/dispatcher.js';
import type { Database } from '../../src/db/client.js';
import { absences, incidentCards, outbox, staff, timers } from '../../src/db/schema.js';
import { localDate } from '../../src/domain/index.js';
import { t } from '../../src/i18n/index.js';
import type { BotApiServer } from '../../src/sandbox/bot-api-server.js';
import { cloneOpenIncidents, templateIncident } from '../../bench/lib/incidents.js';
import { summarize } from '../../bench/lib/stats.js';
import { countDelivery } from './helpers/delivery.js';
import { recordFigure, size } from './helpers/figures.js';
import { createWorld, eventually, sleep, type World } from './helpers/world.js';

const DUE = size(300, 40);
const LATER = size(2_000, 200);
const WINDOW_MS = size(20_000, 6_000);

const RESENT = [t('zh', 'notice.resent'), t('en', 'notice.resent')];

/**
 * What reached each chat, under the notification rule: a reminder about an incident is an event replying
 * to the recipient's one card of it, so a chat holds the rows' messages and one card per incident
 * (incident_cards). A message that neither a row nor a card records is a duplicate; so is a second card
 * of one incident in one chat. A row of an incident whose message does not reply to that card breaks the rule.
 */
async function cardsAndEvents(db: Database, server: BotApiServer, outboxIds: readonly string[]) {
  const rows = await db
    .select({ id: outbox.id, incidentId: outbox.incidentId, messageId: outbox.telegramMessageId, status: outbox.status, chatId: staff.chatId })
    .from(outbox)
    .innerJoin(staff, eq(staff.id, outbox.recipientStaffId))
    .where(inArray(outbox.id, [...outboxIds]));
  const chats = [...new Set(rows.map((r) => Number(r.chatId)))];
  const cards = await db.select().from(incidentCards).where(inArray(incidentCards.chatId, chats));
  const cardOf = new Map(cards.map((c) => [`${c.incidentId}:${c.chatId}`, c.messageId]));
  let duplicates = 0;
  let markedResends = 0;
  let cardsSent = 0;
  const offRule: string[] = [];
  for (const chat of chats) {
    const messages = server.botMessages(chat).filter((m) => !m.deleted);
    const byId = new Map(messages.map((m) => [m.message_id, m]));
    const chatCards = cards.filter((c) => Number(c.chatId) === chat);
    cardsSent += chatCards.filter((c) => byId.has(c.messageId)).length;
    const recorded = new Set([...rows.filter((r) => Number(r.chatId) === chat && r.status === 'sent').map((r) => r.messageId), ...chatCards.map((c) => c.messageId)]);
    const extra = messages.filter((m) => !recorded.has(m.message_id));
    duplicates += extra.length;
    markedResends += extra.filter((m) => RESENT.some((n) => (m.text ?? '').includes(n))).length;
    for (const r of rows.filter((x) => Number(x.chatId) === chat && x.incidentId && x.status === 'sent')) {
      const card = cardOf.get(`${r.incidentId}:${chat}`);
      const event = byId.get(r.messageId!);
      if (card === undefined || !byId.has(card) || event?.reply_to_message_id !== card || event.reply_markup) offRule.push(`chat ${chat} row ${r.id}: ${JSON.stringify(event?.text?.split('\n')[0])}`);
    }
  }
  return { duplicates, markedResends, cardsSent, offRule };
}

let world: World;
beforeAll(async () => {
  world = await createWorld({ offices: 4, officersPerOffice: 25 });
});
afterAll(async () => world?.close());

describe('R2 Redis FLUSHALL mid-run', () => {
  it('restores every timer and daily schedule from PostgreSQL and loses nothing', async () => {
    const { db, org, queues, redis, server } = world;
    const worker = await world.start('worker', { logLevel: 'warn' });
    const schedulersBefore = (await queues.daily.getJobSchedulers()).map((s) => s.key).sort();
    expect(schedulersBefore.length).toBeGreaterThan(0);

    const tpl = await templateIncident(db, org);
    const first = Date.now() + 2_000;
    const due = await cloneOpenIncidents(db, tpl, { count: DUE, reporters: org.officers, dueAt: (i) => new Date(first + (i * WINDOW_MS) / DUE), numberPrefix: 'R2D-' });
    // Due later within the hour: the queue's horizon, so each has a job to lose (a later timer has none until it comes near).
    const later = await cloneOpenIncidents(db, tpl, { count: LATER, reporters: org.officers, dueAt: (i) => new Date(Date.now() + 30 * 60_000 + ((i % 1_500) + 1) * 1_000), numberPrefix: 'R2L-' });
    // A subject away from home today, and the evening check on that day's contact, due in the window.
    const away = org.officers[0]!;
    const today = localDate(new Date(), 'Asia/Shanghai');
    await db.db.insert(absences).values({ subjectId: away.subjectId, destination: 'bench', startsOn: today, endsOn: today, approvedByStaffId: org.heads[0]!.staffId });
    const [contactCheck] = await db.db
      .insert(timers)
      .values({ kind: 'contact_check', subjectId: away.subjectId, level: 0, cycle: today, dueAt: new Date(first + WINDOW_MS * 0.75), dedupeKey: `contact_check-${away.subjectId}-${today}-0`, target: { kind: 'position', position: 'office_head', scope: 'office' } })
      .returning();
    const all = [...due, ...later].map((c) => ({ id: c.timerId, dedupeKey: c.dedupeKey, dueAt: c.dueAt }));
    await queues.dispatcher.scheduleTimers([...all, { id: contactCheck!.id, dedupeKey: contactCheck!.dedupeKey, dueAt: contactCheck!.dueAt }]);

    // Wipe when about half of the due escalations have fired.
    const dueIds = due.map((d) => d.timerId);
    await eventually(async () => (await db.db.select({ id: timers.id }).from(timers).where(and(inArray(timers.id, dueIds), eq(timers.state, 'fired')))).length >= DUE / 2, 'half the escalations fired', WINDOW_MS + 60_000, 100);
    const jobsBefore = await queues.liveTimerJobs();
    const wipedAt = Date.now();
    await redis.flushAll();
    expect(await queues.liveTimerJobs()).toBe(0);

    // Every pending timer has its job again, and the schedulers are back.
    // Those due within the queue's horizon: a later one (the ladder's next rung, hours ahead) has no job to lose.
    const pendingKeys = async () =>
      (await db.db.select({ key: timers.dedupeKey }).from(timers).where(and(eq(timers.state, 'pending'), lt(timers.dueAt, new Date(Date.now() + TIMER_QUEUE_HORIZON_MS))))).map((r) => jobIdOf(r.key));
    let restoredAt = 0;
    await eventually(
      async () => {
        const live = new Set(await queues.timers.getRanges(['delayed', 'wait', 'active', 'prioritized'], 0, -1));
        const missing = (await pendingKeys()).filter((k) => !live.has(k));
        const schedulers = (await queues.daily.getJobSchedulers()).map((s) => s.key).sort();
        const ok = missing.length === 0 && JSON.stringify(schedulers) === JSON.stringify(schedulersBefore);
        if (ok && !restoredAt) restoredAt = Date.now();
        return ok;
      },
      'every pending timer and scheduler restored',
      60_000,
      100,
    );

    // Every escalation due in the window, and the contact check, reach their recipients.
    const firedOrDone = async () => (await db.db.select({ id: timers.id, state: timers.state }).from(timers).where(inArray(timers.id, [...dueIds, contactCheck!.id]))).every((t) => t.state === 'fired');
    await eventually(firedOrDone, 'every due timer fired', WINDOW_MS + 90_000, 200);
    const rows = await db.db.select({ id: outbox.id }).from(outbox).where(inArray(outbox.timerId, [...dueIds, contactCheck!.id]));
    await eventually(async () => (await countDelivery(db.db, server, rows.map((r) => r.id))).sent === rows.length, 'every notice sent', 60_000, 200);
    await sleep(1_000);
    const c = await countDelivery(db.db, server, rows.map((r) => r.id));
    const shown = await cardsAndEvents(db.db, server, rows.map((r) => r.id));
    const laterMissing = (await pendingKeys()).length - LATER;

    // Lateness of the escalations that fell due after the wipe: what a wipe costs the people waiting for them.
    const fired = await db.db.select({ dueAt: timers.dueAt, firedAt: timers.firedAt }).from(timers).where(inArray(timers.id, dueIds));
    const afterWipe = summarize(fired.filter((f) => f.dueAt.getTime() >= wipedAt).map((f) => f.firedAt!.getTime() - f.dueAt.getTime()));

    // The drift, as the reconciler reported it in the worker's log.
    const drift = worker.child.output
      .map((l) => {
        try {
          return JSON.parse(l) as { msg?: string; drift?: { missing: number; orphaned: number; pending: number } };
        } catch {
          return {};
        }
      })
      .filter((l) => l.msg === 'timer reconciliation' && l.drift && l.drift.missing > 0)
      .map((l) => l.drift!);
    const lost = c.lost + Math.max(0, -laterMissing) + (rows.length >= DUE + 1 ? 0 : DUE + 1 - rows.length);
    recordFigure({
      id: 'R2',
      what: `Redis FLUSHALL mid-run (${jobsBefore.toLocaleString('en')} jobs, ${DUE + LATER + 1} timers, daily schedulers)`,
      figure: `restored in ${((restoredAt - wipedAt) / 1000).toFixed(1)} s (reconciler every 2 s here, 60 s in production); ${lost} lost, ${shown.duplicates} duplicates (${shown.cardsSent} cards, each reminder replying to its card); drift reported: ${drift.map((d) => `${d.missing} missing of ${d.pending}`).join(', ') || 'none'}; escalations due after the wipe fired ${Math.round(afterWipe.median)} ms late (median), ${Math.round(afterWipe.max)} ms (max)`,
      target: 'every timer and daily reminder restored from PostgreSQL; 0 lost; drift reported',
      verdict: lost === 0 && shown.duplicates === 0 && shown.offRule.length === 0 && drift.length > 0 ? 'held' : 'broken',
      data: { jobsBefore, restoredMs: restoredAt - wipedAt, delivery: c, shown, drift, afterWipe },
    });
    expect(lost).toBe(0);
    expect(shown.duplicates - shown.markedResends).toBe(0);
    // Every reminder about an incident replied to its recipient's card, and each reporter had one card:
    // the 0 duplicates above count cards as the cards they are, not as second copies.
    expect(shown.offRule).toEqual([]);
    expect(shown.cardsSent).toBe(DUE);
    expect(drift.length).toBeGreaterThan(0);
  });
});
