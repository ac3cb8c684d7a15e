/**
 * The seams between the parts, end to end on PostgreSQL, Redis and the Bot API stand-in over HTTP:
 * closing opens the written report; counties named at report time; the person given a role is told;
 * every card of an incident stops offering 签收 once it is acknowledged and is redrawn when it closes;
 * the daily checks (screenings, drill reminder in each reader's language, pruning) and the digest's
 * unstable subjects; the written report's reminders after a return to the office; incident log lines;
 * the metrics hook sees every worker.
 */
import { Writable } from 'node:stream';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueueNotices } from '../../src/db/repositories/outbox.repository.js';
import { auditLog, incidentCards, incidentSteps, outbox, processedUpdates, timers } from '../../src/db/schema.js';
import { DAY, localDate } from '../../src/domain/index.js';
import { createLogger } from '../../src/logger.js';
import { countiesOf } from '../../src/db/repositories/county.repository.js';
import { runDailyDigest } from '../../src/services/digest.service.js';
import { acknowledgeIncident, closeFalseAlarm, closeIncident, setRole } from '../../src/services/incident.service.js';
import { logScreening } from '../../src/services/screening.service.js';
import { returnWrittenReport, submitWrittenReport, writtenReportForIncident } from '../../src/services/written-report.service.js';
import { TG, type StaffKey } from '../helpers/fixtures.js';
import { botTexts, fastPolicy, reportViolentCrime, startHarness, waitFor, type Harness } from '../jobs/harness.js';

const closing = { cause: '邻里纠纷激化', lessons: '走访不够', measures: '每周谈话一次', openDutiesReason: '其余步骤由派出所办理' };

const report = (h: Harness, description: string, extra: { otherCounties?: string[] } = {}) => reportViolentCrime(h, description, extra);

const hasAckButton = (h: Harness, chat: number, messageId: number) => h.api.inlineButtons(h.api.message(chat, messageId)).some((b) => b.callback_data?.startsWith('ack:'));

// One harness and one database for the whole file, and steps that stand on what the steps before
// them left: they keep their order when the suite is shuffled (the files still run in any order).
describe('wiring, in order', { shuffle: false }, () => {
  describe('cards held by others follow the incident', () => {
    let h: Harness;
    beforeAll(async () => {
      // The ladder pages the deputy director after 1 s and the director after 2 s.
      // The drill reminder all year (it comes from October by default), since this test runs on the machine's clock.
      h = await startHarness({ backend: 'redis', policy: fastPolicy({ ackSeconds: { critical: 1, standard: 1 }, drills: { remindFromMonth: 1 } }) });
    });
    afterAll(async () => h?.close());

    it('after 签收 no card of the incident offers 签收 any more — the paged leaders’ and the other section holder’s are edited in place; closing redraws them again', async () => {
      const { incident } = await report(h, '持刀威胁邻居');
      const about = (m: { text?: string }) => (m.text ?? '').includes(incident.number);
      const isEvent = (m: { reply_to_message_id?: number }) => m.reply_to_message_id !== undefined;
      // Each escalation is a short event replying to the person's card; the card carries the buttons.
      const deputyEvent = await h.api.waitForBotMessage(TG.deputy, (m) => about(m) && isEvent(m) && (m.text ?? '').includes('未按时签收'), { after: 0, timeoutMs: 8_000 });
      const directorEvent = await h.api.waitForBotMessage(TG.director, (m) => about(m) && isEvent(m) && (m.text ?? '').includes('未按时签收'), { after: 0, timeoutMs: 8_000 });
      const section2Event = await h.api.waitForBotMessage(TG.section2, (m) => about(m) && isEvent(m), { after: 0, timeoutMs: 8_000 });
      const cards = [
        [TG.deputy, deputyEvent.reply_to_message_id!],
        [TG.director, directorEvent.reply_to_message_id!],
        [TG.section2, section2Event.reply_to_message_id!],
      ] as const;
      for (const [chat, card] of cards) expect(hasAckButton(h, chat, card)).toBe(true);
      for (const [chat, event] of [[TG.deputy, deputyEvent], [TG.director, directorEvent], [TG.section2, section2Event]] as const) expect(hasAckButton(h, chat, event.message_id)).toBe(false);
      // Each card is recorded right after Telegram answered: the section's two, the office head's and the two leaders'.
      await waitFor(async () => ((await h.t.db.select().from(incidentCards).where(eq(incidentCards.incidentId, incident.id))).length === 5 ? true : undefined), { what: 'the cards to be recorded' });

      await acknowledgeIncident(h.deps, h.org.actor('section'), incident.id);
      for (const [chat, card] of cards) {
        await waitFor(() => !hasAckButton(h, chat, card) || undefined, { timeoutMs: 8_000, what: `the card in chat ${chat} to lose 签收` });
        // An edit of the card, not a new message: the card and the one event.
        expect(botTexts(h.api, chat, new RegExp(incident.number))).toHaveLength(2);
      }
      expect(h.api.message(TG.deputy, cards[0][1])!.text).toContain('签收：科员丙');
      expect(h.api.message(TG.section2, cards[2][1])!.text).toContain('Acknowledged: 科员丙');
      // No event was rewritten into another.
      expect(h.api.message(TG.deputy, deputyEvent.message_id)!.text).toBe(deputyEvent.text);
      // The director is none of the people told of an acknowledgement: their row only redraws the card.
      const [toDirector] = await h.t.db.select().from(outbox).where(and(eq(outbox.incidentId, incident.id), eq(outbox.kind, 'incident_acknowledged'), eq(outbox.recipientStaffId, h.org.staff.director)));
      expect(toDirector!.params).toMatchObject({ cardOnly: true });

      await closeIncident(h.deps, h.org.actor('section'), incident.id, closing);
      await waitFor(() => (h.api.message(TG.director, cards[1][1])!.text ?? '').includes('已结案') || undefined, { timeoutMs: 8_000, what: 'the director’s card to show the closing' });
      expect(h.api.message(TG.director, directorEvent.message_id)!.text).toBe(directorEvent.text);
    }, 30_000);

    it('签收 while a leader’s escalation is still on its way: that card is redrawn as soon as it is recorded', async () => {
      const { incident } = await report(h, '签收与催办同时');
      const about = (m: { text?: string; reply_to_message_id?: number }) => (m.text ?? '').includes(incident.number) && (m.text ?? '').includes('未按时签收');
      // The deputy's card, at the first rung; the deputy's event and the director's card come next, in either order.
      await h.api.waitForBotMessage(TG.deputy, (m) => (m.text ?? '').includes(incident.number) && m.reply_to_message_id === undefined, { after: 0, timeoutMs: 8_000 });
      // The director's card reaches the chat, but Telegram's answer takes 1.5 s: it is not recorded yet.
      h.api.failNext('sendMessage', { delayMs: 1_500, times: 2 });
      const directorCard = await h.api.waitForBotMessage(TG.director, (m) => (m.text ?? '').includes(incident.number) && m.reply_to_message_id === undefined, { after: 0, timeoutMs: 8_000 });
      await acknowledgeIncident(h.deps, h.org.actor('section'), incident.id);
      const rows = await h.t.db.select().from(outbox).where(and(eq(outbox.incidentId, incident.id), eq(outbox.kind, 'incident_acknowledged'), eq(outbox.recipientStaffId, h.org.staff.director)));
      // Mostly the acknowledgement finds no card of the director's to redraw yet (its answer is delayed). On a
      // loaded machine the delay can fall on another send and the card be recorded first: then the director's
      // row may only redraw the card. Either way the card must end current, with the event replying to it.
      for (const row of rows) expect(row.params).toMatchObject({ cardOnly: true });
      await waitFor(() => !hasAckButton(h, TG.director, directorCard.message_id) || undefined, { timeoutMs: 8_000, what: 'the director’s card to lose 签收' });
      const event = await h.api.waitForBotMessage(TG.director, about, { after: 0, timeoutMs: 8_000 });
      expect(event.reply_to_message_id).toBe(directorCard.message_id);
      expect(botTexts(h.api, TG.director, new RegExp(incident.number))).toHaveLength(2);
    }, 20_000);

    it('a card redraw for someone who holds no card sends nothing', async () => {
      const { incident } = await report(h, '无卡片测试');
      const [row] = await enqueueNotices(h.t.db, [
        { recipientStaffId: h.org.staff.officerB1, kind: 'incident_acknowledged', incidentId: incident.id, dedupeKey: `test-cardonly-${incident.id}`, params: { cardOnly: true } },
      ]);
      const closed = await waitFor(async () => {
        const [r] = await h.t.db.select().from(outbox).where(eq(outbox.id, row!.id));
        return r!.status === 'dead' ? r : undefined;
      }, { timeoutMs: 8_000, what: 'the relay to close the row' });
      expect(closed.lastError).toBe('no card to redraw');
      expect(h.api.botMessages(TG.officerB1)).toHaveLength(0);
    }, 20_000);
  });

  describe('the other seams', () => {
    let h: Harness;
    const logs: Array<Record<string, unknown>> = [];
    const observed: string[] = [];

    beforeAll(async () => {
      const sink = new Writable({
        write(chunk: Buffer, _enc, done) {
          for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) logs.push(JSON.parse(line) as Record<string, unknown>);
          done();
        },
      });
      h = await startHarness({
        backend: 'redis',
        // The written report is due 3 s after closing: the office head 2 s before, the deputy director 1 s after.
        policy: fastPolicy({ writtenReportDueSeconds: 3, writtenReportRemindBeforeSeconds: [2], writtenReportEscalateSeconds: 1 }),
        logger: createLogger('debug', sink),
        metrics: { observeWorker: (w) => void observed.push(w.name) },
      });
    });
    afterAll(async () => h?.close());

    it('the metrics hook follows every worker the job system starts', () => {
      expect(observed).toHaveLength(3);
      expect(observed.join(' ')).toMatch(/timers.*send.*daily/);
    });

    it('closing opens the written report’s draft, prefilled; a false alarm opens none', async () => {
      const { incident } = await report(h, '结案即起草');
      await acknowledgeIncident(h.deps, h.org.actor('section'), incident.id);
      const closed = await closeIncident(h.deps, h.org.actor('headA'), incident.id, closing);
      const view = await writtenReportForIncident(h.t.db, incident.id);
      expect(view).toMatchObject({ stage: 'office', report: { dueAt: new Date(closed.closedAt!.getTime() + 3_000) } });
      expect(view!.body.cause).toBe(closing.cause);
      expect(view!.body.course).toContain('矫正官甲一');

      const { incident: alarm } = await report(h, '误报测试');
      await closeFalseAlarm(h.deps, h.org.actor('section'), alarm.id, '对象在家，系误会');
      expect(await writtenReportForIncident(h.t.db, alarm.id)).toBeUndefined();
    });

    it('counties named in the report are recorded at once, each once, and the county step waits for them', async () => {
      const { incident } = await report(h, '涉及外区', { otherCounties: ['余杭区', ' 余杭区 ', '滨江区'] });
      expect((await countiesOf(h.t.db, incident.id)).map((c) => c.county)).toEqual(['余杭区', '滨江区']);
      const [step] = await h.t.db.select().from(incidentSteps).where(and(eq(incidentSteps.incidentId, incident.id), eq(incidentSteps.key, 'notify_other_counties')));
      expect(step!.state).toBe('pending');
      const audit = await h.t.db.select().from(auditLog).where(and(eq(auditLog.incidentId, incident.id), eq(auditLog.action, 'county.named')));
      expect(audit).toHaveLength(1);
    });

    it('指派: the assignee is told, in their language, with the card; someone who takes a role themselves is not', async () => {
      const { incident } = await report(h, '指派测试');
      await setRole(h.deps, h.org.actor('section'), incident.id, 'group_onsite', h.org.staff.officerA2, true);
      const told = await h.api.waitForBotMessage(TG.officerA2, (m) => (m.text ?? '').includes(incident.number) && m.reply_to_message_id !== undefined, { after: 0, timeoutMs: 8_000 });
      expect(told.text).toContain('科员丙 put you in the "On-site handling group"');
      // The event replies to the card, which has the buttons.
      expect(h.api.inlineButtons(h.api.message(TG.officerA2, told.reply_to_message_id!)!).length).toBeGreaterThan(0);

      await setRole(h.deps, h.org.actor('section'), incident.id, 'commander', h.org.staff.section, true);
      const rows = await h.t.db.select().from(outbox).where(and(eq(outbox.incidentId, incident.id), eq(outbox.kind, 'role_assigned')));
      expect(rows.map((r) => r.recipientStaffId)).toEqual([h.org.staff.officerA2]);
      expect(rows[0]!.params).toEqual({ role: 'group_onsite', byStaffId: h.org.staff.section, cardAttempt: true }); // ids only; the stamp of the card sent with it
    }, 20_000);

    it('the daily checks run on the daily queue (a scheduler at 09:00 local): screenings due, the drill reminder in each reader’s language, old update ids pruned', async () => {
      await h.jobs.installSchedulers();
      const checks = (await h.jobs.queues.daily.getJobSchedulers()).find((s) => s.key === 'daily-checks');
      expect(checks).toMatchObject({ pattern: '0 0 9 * * *', tz: 'Asia/Shanghai', name: 'daily.checks' });

      const now = Date.now();
      await h.t.db.insert(processedUpdates).values([
        { updateId: 900_001, receivedAt: new Date(now - 8 * DAY) },
        { updateId: 900_002, receivedAt: new Date(now - DAY) },
      ]);
      const job = await h.jobs.queues.daily.add('daily.checks', {}, { jobId: 'daily-checks-test' });
      const outcome = await waitFor(async () => ((await job.getState()) === 'completed' ? (await h.jobs.queues.daily.getJob(job.id!))?.returnvalue : undefined), {
        timeoutMs: 10_000,
        what: 'the daily checks job',
      });
      expect(String(outcome)).toMatch(/3 screening reminders, drill reminder due \(2 sent\), 1 update ids pruned/);
      expect((await h.t.db.select().from(processedUpdates)).map((r) => r.updateId)).toEqual([900_002]);

      // The section's chat still has the earlier tests' notices queued, one message a second after its burst.
      const zh = await h.api.waitForBotMessage(TG.section, (m) => (m.text ?? '').includes('应急演练提醒'), { after: 0, timeoutMs: 20_000 });
      expect(zh.text).toContain('年尚未组织且未安排应急处置演练的司法所：甲街道司法所、乙街道司法所（上次演练：从未）');
      const en = await h.api.waitForBotMessage(TG.section2, (m) => (m.text ?? '').includes('Drill reminder'), { after: 0, timeoutMs: 8_000 });
      expect(en.text).toContain(': Office A, Office B (last drill: never)');
      const screening = await h.api.waitForBotMessage(TG.officerA1, (m) => (m.text ?? '').includes('定期排查已到期'), { after: 0, timeoutMs: 8_000 });
      expect(screening.text).toContain('张*（SQ-A-001）');
      expect(screening.text).not.toContain('张三');
    }, 45_000);

    it('the daily digest lists the subjects whose latest screening found them unstable', async () => {
      await logScreening(h.deps, h.org.actor('officerA1'), { subjectId: h.org.subjects.a1, result: 'unstable', note: '情绪激动' });
      expect((await runDailyDigest(h.deps, localDate(new Date(), 'Asia/Shanghai'))).recipients).toBe(4);
      const zh = await h.api.waitForBotMessage(TG.director, (m) => (m.text ?? '').includes('每日汇总'), { after: 0, timeoutMs: 8_000 });
      expect(zh.text).toMatch(/排查不稳定对象 1 人：\n· 张\*（SQ-A-001）（甲街道司法所）（近 24 小时新发现）/);
      expect(zh.text).not.toContain('张三');
      const en = await h.api.waitForBotMessage(TG.section2, (m) => (m.text ?? '').includes('Daily digest'), { after: 0, timeoutMs: 8_000 });
      expect(en.text).toContain('Subjects screened unstable: 1');
    }, 20_000);

    it('a report returned to the office owes its deadlines again, from the original due date: the section when due, then the deputy director', async () => {
      const { incident } = await report(h, '退回后提醒');
      await acknowledgeIncident(h.deps, h.org.actor('section'), incident.id);
      await closeIncident(h.deps, h.org.actor('headA'), incident.id, closing);
      const view = (await writtenReportForIncident(h.t.db, incident.id))!;
      await submitWrittenReport(h.deps, h.org.actor('headA'), view.report.id);
      const pendingAfterSubmit = await h.t.db.select().from(timers).where(and(eq(timers.incidentId, incident.id), eq(timers.kind, 'written_report'), eq(timers.state, 'pending')));
      expect(pendingAfterSubmit).toHaveLength(0);

      await returnWrittenReport(h.deps, h.org.actor('section'), view.report.id, '请补充原因分析');
      const round = await h.t.db.select().from(timers).where(and(eq(timers.incidentId, incident.id), eq(timers.kind, 'written_report'), eq(timers.cycle, 'r1')));
      expect(round.find((r) => r.level === 2)!.dueAt).toEqual(view.report.dueAt);
      expect(round.find((r) => r.level === 3)!.target).toEqual({ kind: 'position', position: 'deputy_director', scope: 'bureau' });

      const overdue = (who: StaffKey) => h.api.waitForBotMessage(TG[who], (m) => (m.text ?? '').includes(incident.number) && (m.text ?? '').includes('书面报告已逾期'), { after: 0, timeoutMs: 8_000 });
      await overdue('section');
      await overdue('deputy');
      const fired = await h.t.db.select().from(timers).where(and(eq(timers.incidentId, incident.id), eq(timers.cycle, 'r1'), eq(timers.state, 'fired')));
      expect(fired.map((r) => `${r.level}:${r.outcome}`)).toEqual(expect.arrayContaining(['2:sent', '3:sent']));
    }, 30_000);

    it('log lines about an incident carry its id and its number, and no names', () => {
      const fired = logs.filter((l) => l.msg === 'timer fired');
      expect(fired.length).toBeGreaterThan(0);
      for (const l of fired) {
        expect(l.incidentId).toMatch(/^[0-9a-f-]{36}$/);
        expect(l.incident).toMatch(/^\d{4}-\d+$/);
      }
      const text = JSON.stringify(logs);
      for (const personal of ['张三', '330106199001011234', '科员丙']) expect(text).not.toContain(personal);
    });
  });
});
