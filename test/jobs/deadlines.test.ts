/**
 * The other deadlines of an open incident, end to end on Redis: progress reports (续报), the report to the
 * upper-level agency, overdue steps, and the written report after closure — reminders, then escalation;
 * a deadline met in time closes its timers and sends nothing.
 */
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { incidentSteps } from '../../src/db/schema.js';
import { acknowledgeIncident, closeIncident, reportIncident, reportProgress } from '../../src/services/incident.service.js';
import { TG } from '../helpers/fixtures.js';
import { botTexts, fastPolicy, sleep, startHarness, type Harness } from './harness.js';

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

describe('deadlines of an open incident', () => {
  it('a missed progress report: the reporter is reminded, then the section is told', async () => {
    const { incident } = await report('officerA1', 'officeA', '续报测试');
    await acknowledgeIncident(h.deps, h.org.actor('section'), incident.id);
    const reminder = await h.api.waitForBotMessage(TG.officerA1, has(TG.officerA1, incident.number, '续报已逾期'), { after: 0, timeoutMs: 8_000 });
    expect(h.api.inlineButtons(reminder).some((b) => b.callback_data?.startsWith('prog:'))).toBe(true);
    const escalation = await h.api.waitForBotMessage(TG.section, has(TG.section, incident.number, '续报逾期'), { after: 0, timeoutMs: 8_000 });
    expect(escalation.text).toContain('矫正官甲一');
    // The upper-report reminder went to the section at the same time, and its escalation to the deputy.
    await h.api.waitForBotMessage(TG.deputy, has(TG.deputy, incident.number, '尚未上报上一级'), { after: 0, timeoutMs: 8_000 });
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
    const reminder = await h.api.waitForBotMessage(TG.officerA1, has(TG.officerA1, incident.number, '处置步骤尚未完成'), { after: 0, timeoutMs: 8_000 });
    expect(reminder.text).toMatch(/· \d+\. /);
    await h.api.waitForBotMessage(TG.section, has(TG.section, incident.number, '处置步骤逾期未完成'), { after: 0, timeoutMs: 8_000 });
    const upper = await h.t.sql`select level, outcome from timers where incident_id = ${incident.id} and kind = 'upper_report' order by level`;
    expect(upper.map((x) => x.outcome)).toEqual(['skipped: already reported upward', 'skipped: already reported upward']);
  }, 30_000);

  it('the written report after closure: the office head is reminded before it is due, the section when overdue', async () => {
    const { incident } = await report('officerA1', 'officeA', '书面报告测试');
    await acknowledgeIncident(h.deps, h.org.actor('section'), incident.id);
    await closeIncident(h.deps, h.org.actor('section'), incident.id, { cause: '邻里纠纷', lessons: '加强走访', measures: '每周谈话' });
    await h.api.waitForBotMessage(TG.headA, has(TG.headA, incident.number, '书面报告将于'), { after: 0, timeoutMs: 8_000 });
    await h.api.waitForBotMessage(TG.section, has(TG.section, incident.number, '书面报告已逾期'), { after: 0, timeoutMs: 8_000 });
    // Closing stopped the incident's running deadlines: no progress reminder afterwards.
    const open = await h.t.sql`select kind from timers where incident_id = ${incident.id} and state = 'pending' and kind in ('ack', 'progress', 'upper_report', 'steps_overdue')`;
    expect(open).toHaveLength(0);
  }, 30_000);
});
