/**
 * Issue 17: a notice nobody can receive. An organisation where most staff have not bound the bot, driven
 * over several simulated days (09:00 reminders and checks, incidents, the 18:00 and 19:00 contact checks,
 * the digest) with an injected clock, on the real database, Redis and the Bot API stand-in.
 *
 * The outbox must stay bounded: per notice, at most one row per person it was given to, and one
 * undeliverable record when nobody in the stand-in chain could get it. Before the fix the reroute wrote a
 * new row for each stand-in and rerouted those again, round the people without Telegram, for ever.
 */
import { Writable } from 'node:stream';
import { and, eq, inArray, lte } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CATALOGUE } from '../../src/i18n/index.js';
import { absences, contactLogs, outbox, staff, subjects, timers, undeliverableNotices } from '../../src/db/schema.js';
import { addDays, atLocalTime, NOTICE_KINDS, UNRECEIVABLE_REASONS } from '../../src/domain/index.js';
import { createLogger } from '../../src/logger.js';
import { createOpsMetrics } from '../../src/ops/metrics.js';
import { runDailyChecks } from '../../src/services/daily-checks.service.js';
import { fireProcessTimer, runDailyContactReminders } from '../../src/services/daily-contact.service.js';
import { runDailyDigest } from '../../src/services/digest.service.js';
import { reportIncident } from '../../src/services/incident.service.js';
import { fireTimer } from '../../src/services/timer.service.js';
import { ManualClock, TG, type StaffKey } from '../helpers/fixtures.js';
import { botTexts, cardsIn, eventTexts, fastPolicy, sleep, startHarness, type Harness } from './harness.js';
import { deliveredThroughOwnRow } from '../helpers/outbox-notices.js';

const TZ = 'Asia/Shanghai';
const D = '2026-12-01';
const DAYS = 4;
/** Everyone else has not bound the bot: 7 of the 10 staff. */
const BOUND: readonly StaffKey[] = ['headA', 'headB', 'officerB1'];

export interface NoticeGroup {
  /** The dedupe key of the notice as first written; a reroute's rows carry it before `-via-`. */
  root: string;
  rows: Array<{ id: string; key: string; recipient: string; status: string; kind: string; lastError: string | null; params: unknown }>;
}


/** The outbox grouped by notice: the first row and every row written for it by a reroute. */
export async function noticeGroups(db: Harness['t']['db']): Promise<NoticeGroup[]> {
  const rows = await db
    .select({ id: outbox.id, key: outbox.dedupeKey, recipient: outbox.recipientStaffId, status: outbox.status, kind: outbox.kind, lastError: outbox.lastError, params: outbox.params })
    .from(outbox);
  const groups = new Map<string, NoticeGroup>();
  for (const r of rows) {
    const root = r.key.split('-via-')[0]!;
    const g = groups.get(root) ?? { root, rows: [] };
    g.rows.push(r);
    groups.set(root, g);
  }
  return [...groups.values()];
}

// Several simulated days on one clock, then what they left: the steps keep their order when shuffled.
describe('an organisation where most staff have not bound the bot', { shuffle: false }, () => {
  let h: Harness;
  const clock = new ManualClock(atLocalTime(D, '08:00', TZ));
  const bound = new Set<string>();
  const logs: Array<{ level: number; msg: string }> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) logs.push(JSON.parse(line) as { level: number; msg: string });
      done();
    },
  });

  beforeAll(async () => {
    h = await startHarness({ backend: 'redis', clock, policy: fastPolicy(), logger: createLogger('info', sink) });
    for (const key of BOUND) bound.add(h.org.staff[key]);
    const unbound = Object.entries(h.org.staff).filter(([key]) => !BOUND.includes(key as StaffKey)).map(([, id]) => id);
    await h.t.db.update(staff).set({ chatId: null, telegramUserId: null }).where(inArray(staff.id, unbound));
    // The subjects were registered a month before: their first screening is due on day one.
    await h.t.db.update(subjects).set({ createdAt: new Date('2026-11-01T02:00:00Z') });
    const { a1, a2, b1 } = h.org.subjects;
    await h.t.db.insert(absences).values([
      { subjectId: a1, destination: '上海', startsOn: D, endsOn: addDays(D, DAYS) },
      { subjectId: a2, destination: '宁波', startsOn: addDays(D, 1), endsOn: addDays(D, 2) },
      { subjectId: b1, destination: '苏州', startsOn: D, endsOn: D },
    ]);
  }, 60_000);
  afterAll(async () => h?.close());

  /** What the timer worker would do: fire every pending timer that is due by the clock, each by the service of its kind. */
  const fireDue = async () => {
    const due = await h.t.db.select({ id: timers.id }).from(timers).where(and(eq(timers.state, 'pending'), lte(timers.dueAt, clock.now()))).orderBy(timers.dueAt);
    for (const t of due) if (!(await fireProcessTimer(h.deps, t.id))) await fireTimer(h.deps, t.id);
  };

  /** Waits until no row is left to send; gives up (without failing: the assertions will) past a cap. */
  const settle = async (cap = 1_500, timeoutMs = 20_000) => {
    const until = Date.now() + timeoutMs;
    let quietSince = 0;
    for (;;) {
      const [c] = await h.t.sql`select count(*) filter (where status in ('pending', 'sending', 'failed'))::int as live, count(*)::int as total from outbox`;
      if (c!.live === 0) {
        if (!quietSince) quietSince = Date.now();
        if (Date.now() - quietSince > 400) return;
      } else quietSince = 0;
      if (c!.total > cap || Date.now() > until) return;
      await sleep(100);
    }
  };

  const expectBounded = async (day: string) => {
    const groups = await noticeGroups(h.t.db);
    const [records] = await h.t.sql`select count(*)::int as n from outbox`;
    const live = groups.flatMap((g) => g.rows).filter((r) => ['pending', 'sending', 'failed'].includes(r.status));
    expect(live, `day ${day}: rows still to send`).toEqual([]);
    // At most one row per notice per person: nobody is given the same notice twice.
    const repeated = groups.filter((g) => new Set(g.rows.map((r) => r.recipient)).size !== g.rows.length);
    expect(repeated.map((g) => `${g.root}: ${g.rows.length} rows for ${new Set(g.rows.map((r) => r.recipient)).size} people`), `day ${day}`).toEqual([]);
    // Beyond the first row, rows only for people who can receive (bound): nobody without a chat is written to.
    for (const g of groups) expect(g.rows.length, g.root).toBeLessThanOrEqual(1 + bound.size);
    expect(records!.n).toBeLessThanOrEqual(groups.length * (1 + bound.size));

    // Nothing lost: each notice reached someone, or is recorded undeliverable, once, with whom it was for.
    const recorded = await h.t.db.select().from(undeliverableNotices);
    const byRoot = new Map(recorded.map((r) => [r.rootOutboxId, r]));
    expect(byRoot.size).toBe(recorded.length);
    const statusByKey = new Map(groups.flatMap((g) => g.rows).map((r) => [r.key, r.status]));
    for (const g of groups) {
      const first = g.rows.find((r) => r.key === g.root)!;
      const record = byRoot.get(first.id);
      const delivered = g.rows.some((r) => r.status === 'sent') || deliveredThroughOwnRow(first, statusByKey);
      const unreachable = g.rows.every((r) => r.status === 'dead' && r.lastError?.startsWith('unreachable:'));
      if (delivered || !unreachable) expect(record, `${g.root}: delivered or closed for another reason, not undeliverable`).toBeUndefined();
      else {
        expect(record, `${g.root}: nobody could get it`).toBeDefined();
        expect(record!.intendedStaffId).toBe(first.recipient);
        expect(record!.kind).toBe(first.kind);
        const tried = record!.tried as Array<{ staffId: string; reason: string }>;
        expect(tried[0]!.staffId).toBe(first.recipient);
        expect(new Set(tried.map((t) => t.staffId)).size).toBe(tried.length);
        for (const t of tried) expect(UNRECEIVABLE_REASONS).toContain(t.reason);
      }
    }
    for (const r of recorded) expect(groups.some((g) => g.rows.some((x) => x.id === r.rootOutboxId && x.key === g.root))).toBe(true);
    return { groups, recorded };
  };

  const figures: Array<{ day: string; notices: number; rows: number; undeliverable: number }> = [];

  it('over several days the outbox stays bounded: one row per notice per person reached, and one undeliverable record per notice nobody could get', async () => {
    const a1 = h.org.subjects.a1;
    for (let i = 0; i < DAYS; i++) {
      const day = addDays(D, i);
      clock.set(atLocalTime(day, '09:00', TZ));
      await runDailyContactReminders(h.deps, day);
      await runDailyChecks(h.deps);
      if (i % 2 === 0) {
        clock.set(atLocalTime(day, '10:00', TZ));
        await reportIncident(h.deps, h.org.actor('officerA1'), {
          type: 'disruption',
          subjectId: h.org.subjects.a2,
          officeUnitId: h.org.units.officeA,
          discoveredAt: clock.now(),
          injured: 0,
          dead: 0,
          description: `学习期间滋扰秩序（第 ${i + 1} 天）`,
        });
        clock.set(atLocalTime(day, '11:30', TZ));
        await fireDue();
      }
      // a1's officer cannot reach them on days two and three: the offer to report absconding follows.
      if (i === 1 || i === 2) {
        await h.t.db.insert(contactLogs).values({ subjectId: a1, localDate: day, result: 'not_reached', staffId: h.org.staff.officerA1, at: atLocalTime(day, '12:00', TZ) });
      }
      clock.set(atLocalTime(day, '18:00', TZ));
      await fireDue();
      await runDailyDigest(h.deps, day);
      clock.set(atLocalTime(day, '19:00', TZ));
      await fireDue();
      await settle();
      const { groups, recorded } = await expectBounded(day);
      figures.push({ day, notices: groups.length, rows: groups.reduce((n, g) => n + g.rows.length, 0), undeliverable: recorded.length });
    }
    // Notices kept coming (several kinds), many of them nobody could get, and the rows grew with the notices only.
    const last = figures.at(-1)!;
    // Everyone tried had no chat: nobody bound was tried (they received), and nobody was tried twice (checked above).
    const tried = (await h.t.db.select({ tried: undeliverableNotices.tried }).from(undeliverableNotices)).flatMap((r) => r.tried as Array<{ staffId: string; reason: string }>);
    expect(tried.filter((t) => t.reason !== 'no_chat' || bound.has(t.staffId))).toEqual([]);
    expect(last.undeliverable).toBeGreaterThan(10);
    expect(new Set((await h.t.db.select({ kind: undeliverableNotices.kind }).from(undeliverableNotices)).map((r) => r.kind)).size).toBeGreaterThanOrEqual(4);
    expect(last.rows).toBeLessThan(last.notices * 2);
    // Office A's notices reach its head, who is bound: delivered to a stand-in, not recorded.
    const [reminder] = await h.t.sql`select count(*)::int as n from outbox where kind = 'contact_reminder' and recipient_staff_id = ${h.org.staff.headA} and status = 'sent'`;
    expect(reminder!.n).toBeGreaterThanOrEqual(DAYS);
  }, 180_000);

  it('the office head standing in for the unbound reporter: one card per incident, and every event a reply to it that says for whom', async () => {
    const incidents = await h.t.sql<Array<{ number: string }>>`select number from incidents order by number`;
    expect(incidents.length).toBe(Math.ceil(DAYS / 2));
    const standIn = '（矫正官甲一暂时无法接收消息，由您代为接收）';
    for (const { number } of incidents) {
      const cards = cardsIn(h.api, TG.headA, number);
      expect(cards, number).toHaveLength(1);
      const card = cards[0]!;
      expect(card.text).not.toContain('暂时无法接收消息');
      const events = eventTexts(h.api, TG.headA, number);
      for (const e of events) {
        expect(e.reply_to_message_id, e.text).toBe(card.message_id);
        expect(h.api.inlineButtons(e), e.text).toEqual([]);
        expect(e.edit_date, e.text).toBeUndefined();
        expect(e.text!.split('\n')).toContain(`事件 ${number}：五、严重滋扰管理秩序`);
      }
      const firstLines = events.map((e) => e.text!.split('\n')[0]!);
      // Told of the new report in its own right (no stand-in note), once.
      const reported = events.filter((e) => e.text!.startsWith('🆕 辖区新上报一起事件。'));
      expect(reported, number).toHaveLength(1);
      expect(reported[0]!.text).not.toContain('暂时无法接收消息');
      // The reporter's reminders, each once, each saying whom it stands in for.
      const reminders = events.filter((e) => /^⏰ (续报已逾期|有 \d+ 项处置步骤尚未完成)/.test(e.text!));
      const which = reminders.map((e) => (e.text!.startsWith('⏰ 续报已逾期') ? 'progress' : 'steps')).sort();
      expect(which, number).toEqual(['progress', 'steps']);
      for (const e of reminders) expect(e.text!.split('\n').at(-1)).toBe(standIn);
      expect(new Set(firstLines).size, number).toBe(firstLines.length);
    }
    // Office B's people hear nothing of office A's incidents.
    for (const chat of [TG.headB, TG.officerB1]) for (const { number } of incidents) expect(botTexts(h.api, chat, new RegExp(number))).toEqual([]);
  });

  it('a reroute is normal operation: logged at info, never a failed job', () => {
    const moved = logs.filter((l) => l.msg.startsWith('recipient unreachable: notice moved to who stands in'));
    expect(moved.length).toBeGreaterThan(0);
    expect(moved.every((l) => l.level === 30)).toBe(true);
    expect(logs.filter((l) => l.msg === 'job failed')).toEqual([]);
    expect(logs.filter((l) => l.level >= 50)).toEqual([]);
  });

  it('the section could not be reached: said at warn level once a day, not once per notice', () => {
    const warned = logs.filter((l) => l.level === 40 && l.msg.startsWith('the corrections section cannot be reached'));
    const undeliverable = logs.filter((l) => l.msg.startsWith('notice undeliverable'));
    expect(undeliverable.length).toBeGreaterThan(DAYS * 2);
    expect(warned).toHaveLength(DAYS);
  });

  it('/metrics shows the notices nobody could receive in the last 24 hours, by kind', async () => {
    const metrics = createOpsMetrics({ defaultMetrics: false, clock }).useDatabase(h.t.db);
    const text = await metrics.render();
    const series = (kind: string) => Number(new RegExp(`^corrections_notices_undeliverable\\{kind="${kind}"\\} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
    const [digests] = await h.t.sql`select count(*)::int as n from undeliverable_notices where kind = 'daily_digest' and created_at > ${new Date(clock.now().getTime() - 86_400_000).toISOString()}`;
    expect(digests!.n).toBeGreaterThan(0);
    expect(series('daily_digest')).toBe(digests!.n);
    expect(series('role_assigned')).toBe(0);
  });

  it('the next digest tells the section who could not be reached and what they missed, in their language', async () => {
    // The section binds the bot; the next day's digest lists the last 24 hours.
    await h.t.db.update(staff).set({ chatId: TG.section, telegramUserId: TG.section }).where(eq(staff.id, h.org.staff.section));
    await h.t.db.update(staff).set({ chatId: TG.section2, telegramUserId: TG.section2 }).where(eq(staff.id, h.org.staff.section2));
    bound.add(h.org.staff.section).add(h.org.staff.section2);
    const day = addDays(D, DAYS - 1);
    clock.set(atLocalTime(addDays(D, DAYS), '08:00', TZ));
    await runDailyDigest(h.deps, addDays(D, DAYS));
    const zh = await h.api.waitForBotMessage(TG.section, (m) => (m.text ?? '').includes('每日汇总'), { after: 0, timeoutMs: 15_000 });
    expect(zh.text).toMatch(/近 24 小时无人能接收的通知 \d+ 条：/);
    expect(zh.text).toMatch(/· 局长甲（拱墅区司法局）漏收 \d+ 条：.*每日汇总 \d+ 条/);
    expect(zh.text).toContain('以下人员无法接收消息，请督促绑定或核实：');
    expect(zh.text).toContain('副局长乙（未绑定机器人）');
    const en = await h.api.waitForBotMessage(TG.section2, (m) => (m.text ?? '').includes('Daily digest'), { after: 0, timeoutMs: 15_000 });
    expect(en.text).toMatch(/Notices nobody could receive in the last 24 h: \d+/);
    expect(en.text).toContain('not bound to the bot');
    expect(en.text).toMatch(/daily digest ×\d+/);
    await settle();
    await expectBounded(day);
  }, 60_000);

  it('a notice moved to two stand-ins who both blocked the bot is recorded once, with everyone tried', async () => {
    // The deputy's chain runs up to the section, whose two members are bound now but have blocked the bot.
    h.api.blockBot(TG.section);
    h.api.blockBot(TG.section2);
    try {
      const [row] = await h.t.db
        .insert(outbox)
        .values({ recipientStaffId: h.org.staff.deputy, kind: 'drill_reminder', dedupeKey: 'drill_reminder-issue17-both-blocked', params: { lastDrillAt: null } })
        .returning();
      await h.deps.dispatcher.afterCommit({ timersCreated: [], timersCancelled: [], outboxCreated: [{ id: row!.id, kind: row!.kind }] });
      await settle();
      const [record] = await h.t.db.select().from(undeliverableNotices).where(eq(undeliverableNotices.rootOutboxId, row!.id));
      expect(record).toBeDefined();
      const tried = record!.tried as Array<{ staffId: string; reason: string }>;
      const reasonOf = new Map(tried.map((t) => [t.staffId, t.reason]));
      expect(reasonOf.get(h.org.staff.deputy)).toBe('no_chat');
      expect(reasonOf.get(h.org.staff.section)).toBe('blocked');
      expect(reasonOf.get(h.org.staff.section2)).toBe('blocked');
      const rows = await h.t.db.select().from(outbox).where(inArray(outbox.dedupeKey, [row!.dedupeKey, `${row!.dedupeKey}-via-${h.org.staff.section}`, `${row!.dedupeKey}-via-${h.org.staff.section2}`]));
      expect(rows.map((r) => r.status)).toEqual(['dead', 'dead', 'dead']);
    } finally {
      h.api.blockBot(TG.section, false);
      h.api.blockBot(TG.section2, false);
    }
  }, 60_000);

  it('every notice kind has a name in the digest, in both languages; the Chinese ones in Chinese', () => {
    for (const kind of NOTICE_KINDS) {
      expect(CATALOGUE.zh[`notice.kind.${kind}`], kind).toBeTruthy();
      expect(CATALOGUE.en[`notice.kind.${kind}`], kind).toBeTruthy();
    }
    const ours = Object.entries(CATALOGUE.zh).filter(([k]) => /^notice\.(kind|unreachable)\.|^notice\.digest\.(undeliverable|unreachable)/.test(k));
    expect(ours.length).toBeGreaterThan(NOTICE_KINDS.length);
    for (const [key, text] of ours) expect(text.replace(/\{\w+\}/g, ''), key).not.toMatch(/[A-Za-z,;:()]/);
  });
});
