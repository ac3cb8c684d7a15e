/**
 * The other deadlines of an open incident, end to end on Redis: progress reports (续报), the report to the
 * upper-level agency, overdue steps, and the written report after closure — reminders, then escalation;
 * a deadline met in time closes its timers and sends nothing.
 */
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { incidentSteps } from '../../src/db/schema.js';
import { acknowledgeIncident, closeIncident, reportIncident, reportProgress } from '../../src/services/incident.service.js';
import type { SandboxMessage } from '../../src/sandbox/bot-api-server.js';
import { TG } from '../helpers/fixtures.js';
import { botTexts, cardOf, cardsIn, eventTexts, fastPolicy, sentAtMs, sleep, startHarness, waitForIncidentSettled, type Harness } from './harness.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness({
    backend: 'redis',
    policy: fastPolicy({
      progressSeconds: { critical: 2, standard: 2 },
      progressEscalateSeconds: { critical: 2, standard: 2 },
      upperReportSeconds: { critical: 2, standard: 2 },
      upperReportEscalateSeconds: { critical: 2, standard: 2 },
      stepDueSeconds: { critical: 3, standard: 3 },
      stepEscalateSeconds: { critical: 2, standard: 2 },
      writtenReportDueSeconds: 4,
      writtenReportRemindBeforeSeconds: [2],
    }),
  });
});
afterAll(async () => h?.close());

const report = (who: 'officerA1' | 'officerB1', office: 'officeA' | 'officeB', description: string) =>
  reportIncident(h.deps, h.org.actor(who), { type: 'violent_crime', officeUnitId: h.org.units[office], subjectNote: '身份不明', discoveredAt: new Date(), injured: 0, dead: 0, description });

const has = (chat: number, ...parts: string[]) => (m: { text?: string }) => parts.every((p) => (m.text ?? '').includes(p)) && chat !== 0;
/** An event about the incident: a new message replying to the person's card (the notification rule). */
const event = (number: string, what: string) => (m: { text?: string; reply_to_message_id?: number }) => m.reply_to_message_id !== undefined && (m.text ?? '').includes(number) && (m.text ?? '').includes(what);
const TYPE_ONE = '一、行凶犯罪或以要挟为目的的自伤';

/**
 * An event as the rule draws it: first line what happened, second line which incident, no buttons, not the
 * card again; and the card it replies to is the person's one card of the incident in that chat.
 */
function expectEvent(m: SandboxMessage, number: string, firstLine: RegExp, opts: { listed?: number } = {}) {
  const lines = (m.text ?? '').split('\n');
  expect(lines[0]).toMatch(firstLine);
  // Which incident: right after what happened (and the list it gives, if any).
  expect(lines.indexOf(`事件 ${number}：${TYPE_ONE}`)).toBe(1 + (opts.listed ?? 0));
  expect(h.api.inlineButtons(m)).toEqual([]);
  expect(m.text).not.toContain('处置清单');
  const card = cardOf(h.api, m);
  expect(cardsIn(h.api, m.chat_id, number).map((c) => c.message_id)).toEqual([card.message_id]);
  return card;
}

describe('deadlines of an open incident', () => {
  it('a missed progress report: the reporter is reminded, then the section is told', async () => {
    const { incident } = await report('officerA1', 'officeA', '续报测试');
    await acknowledgeIncident(h.deps, h.org.actor('section'), incident.id);
    // The reminder is a short event replying to the reporter's card (sent to them on the acknowledgement),
    // and the card, current, is where 续报 is pressed.
    const reminder = await h.api.waitForBotMessage(TG.officerA1, event(incident.number, '续报已逾期'), { after: 0, timeoutMs: 8_000 });
    const reporterCard = expectEvent(reminder, incident.number, /^⏰ 续报已逾期：上次报告于 /);
    expect(reporterCard.text).toContain('签收：科员丙');
    expect(h.api.inlineButtons(reporterCard).some((b) => b.callback_data?.startsWith('prog:'))).toBe(true);

    const escalation = await h.api.waitForBotMessage(TG.section, event(incident.number, '续报逾期'), { after: 0, timeoutMs: 8_000 });
    const sectionCard = expectEvent(escalation, incident.number, /^⚠️ 续报逾期：矫正官甲一自 /);
    // The section's card (sent with the new report) is current: it shows the 签收, and offers no 签收 button.
    expect(sectionCard.text).toContain('签收：科员丙');
    expect(h.api.inlineButtons(sectionCard).some((b) => b.callback_data?.startsWith('ack:'))).toBe(false);

    // The upper-report reminder went to the section at the same time, and its escalation to the deputy,
    // who had no card: the card comes first, the event replying to it after it (the chat's burst lets the
    // two go at once: the event does not wait a second behind the card).
    const upper = await h.api.waitForBotMessage(TG.deputy, event(incident.number, '尚未上报上一级'), { after: 0, timeoutMs: 8_000 });
    const deputyCard = expectEvent(upper, incident.number, /^⚠️ 社区矫正管理科尚未上报上一级社区矫正机构/);
    const at = await sentAtMs(h.api, TG.deputy);
    expect(upper.message_id).toBeGreaterThan(deputyCard.message_id);
    expect(at.get(upper.message_id)!).toBeGreaterThanOrEqual(at.get(deputyCard.message_id)!);

    // Once these deadlines have run, each was told once: no reminder was sent twice, none rewrote another.
    await waitForIncidentSettled(h, incident.id, { kinds: ['progress', 'upper_report'] });
    const events = (chat: number, first: RegExp) => eventTexts(h.api, chat, incident.number).filter((m) => first.test(m.text!.split('\n')[0]!));
    expect(events(TG.officerA1, /^⏰ 续报已逾期/)).toHaveLength(1);
    expect(events(TG.section, /^⚠️ 续报逾期/)).toHaveLength(1);
    expect(events(TG.section, /^⏰ 尚未标记“已上报上一级社区矫正机构”/)).toHaveLength(1);
    expect(eventTexts(h.api, TG.deputy, incident.number).map((m) => m.message_id)).toEqual([upper.message_id]);
    for (const chat of [TG.officerA1, TG.section, TG.deputy]) {
      expect(cardsIn(h.api, chat, incident.number)).toHaveLength(1);
      for (const e of eventTexts(h.api, chat, incident.number)) expect(e.edit_date, e.text).toBeUndefined();
    }
  }, 30_000);

  it('a progress report in time closes the cycle: no reminder for it, and the next cycle counts from the report', async () => {
    const { incident } = await report('officerB1', 'officeB', '按时续报测试');
    await acknowledgeIncident(h.deps, h.org.actor('section'), incident.id);
    await sleep(1_000);
    await reportProgress(h.deps, h.org.actor('officerB1'), incident.id, { text: '已到场，对象情绪稳定' });
    const cycle1 = await h.t.sql`select state from timers where incident_id = ${incident.id} and kind = 'progress' and cycle = '1'`;
    expect(cycle1.every((x) => x.state === 'cancelled')).toBe(true);
    // Cycle 2 is due 2 s after the progress report, after cycle 1's own due time: by the time its reminder
    // is sent, a cycle-1 reminder would have been too. There is exactly one.
    await h.api.waitForBotMessage(TG.officerB1, has(TG.officerB1, incident.number, '续报已逾期'), { after: 0, timeoutMs: 6_000 });
    expect(botTexts(h.api, TG.officerB1, /续报已逾期/).filter((m) => (m.text ?? '').includes(incident.number))).toHaveLength(1);
    const fired = await h.t.sql`select cycle, level, outcome from timers where incident_id = ${incident.id} and kind = 'progress' and state = 'fired' order by cycle, level`;
    expect(fired[0]).toMatchObject({ cycle: '2', level: 0, outcome: 'sent' });
  }, 30_000);

  it('upper report marked in time: no reminder; overdue steps: reminder lists them, then the section', async () => {
    const { incident } = await report('officerA1', 'officeA', '步骤逾期测试');
    await h.t.db
      .update(incidentSteps)
      .set({ state: 'done', doneAt: new Date(), doneByStaffId: h.org.staff.section, how: 'phone' })
      .where(and(eq(incidentSteps.incidentId, incident.id), eq(incidentSteps.key, 'report_upward')));
    const reminder = await h.api.waitForBotMessage(TG.officerA1, event(incident.number, '处置步骤尚未完成'), { after: 0, timeoutMs: 8_000 });
    // The overdue steps are listed under the first line; the one done is not among them.
    const listed = reminder.text!.split('\n').filter((l) => /^· \d+\. /.test(l));
    expect(listed.length).toBeGreaterThan(0);
    const reporterCard = expectEvent(reminder, incident.number, new RegExp(`^⏰ 有 ${listed.length} 项处置步骤尚未完成：$`), { listed: listed.length });
    expect(reminder.text).not.toContain('上报上一级社区矫正机构');
    // The reporter had no card before the first deadline: it came first, the event after it.
    const at = await sentAtMs(h.api, TG.officerA1);
    expect(reminder.message_id).toBeGreaterThan(reporterCard.message_id);
    expect(at.get(reminder.message_id)!).toBeGreaterThanOrEqual(at.get(reporterCard.message_id)!);

    const escalation = await h.api.waitForBotMessage(TG.section, event(incident.number, '处置步骤逾期未完成'), { after: 0, timeoutMs: 8_000 });
    const sectionCard = expectEvent(escalation, incident.number, new RegExp(`^⚠️ 有 ${listed.length} 项处置步骤逾期未完成：$`), { listed: listed.length });
    // The section's card is the one the new report brought, still offering 签收: nobody has acknowledged.
    expect(h.api.inlineButtons(sectionCard).some((b) => b.callback_data?.startsWith('ack:'))).toBe(true);
    expect(escalation.text!.split('\n').filter((l) => /^· \d+\. /.test(l))).toEqual(listed);

    const upper = await h.t.sql`select level, outcome from timers where incident_id = ${incident.id} and kind = 'upper_report' order by level`;
    expect(upper.map((x) => x.outcome)).toEqual(['skipped: already reported upward', 'skipped: already reported upward']);
    await waitForIncidentSettled(h, incident.id, { kinds: ['upper_report', 'steps_overdue'] });
    expect(eventTexts(h.api, TG.section, incident.number).filter((m) => /尚未标记|尚未上报上一级/.test(m.text ?? ''))).toEqual([]);
    expect(eventTexts(h.api, TG.officerA1, incident.number).filter((m) => (m.text ?? '').includes('处置步骤尚未完成'))).toHaveLength(1);
    expect(eventTexts(h.api, TG.section, incident.number).filter((m) => (m.text ?? '').includes('处置步骤逾期未完成'))).toHaveLength(1);
  }, 30_000);

  it('the written report after closure: the office head is reminded before it is due, the section when overdue', async () => {
    const { incident } = await report('officerA1', 'officeA', '书面报告测试');
    await acknowledgeIncident(h.deps, h.org.actor('section'), incident.id);
    // Closed with its steps still open: closing says why.
    await closeIncident(h.deps, h.org.actor('section'), incident.id, { cause: '邻里纠纷', lessons: '加强走访', measures: '每周谈话', openDutiesReason: '现场已由公安处置完毕' });
    await h.api.waitForBotMessage(TG.headA, has(TG.headA, incident.number, '书面报告将于'), { after: 0, timeoutMs: 8_000 });
    await h.api.waitForBotMessage(TG.section, has(TG.section, incident.number, '书面报告已逾期'), { after: 0, timeoutMs: 8_000 });
    // Closing stopped the incident's running deadlines: no progress reminder afterwards.
    const open = await h.t.sql`select kind from timers where incident_id = ${incident.id} and state = 'pending' and kind in ('ack', 'progress', 'upper_report', 'steps_overdue')`;
    expect(open).toHaveLength(0);
  }, 30_000);
});
