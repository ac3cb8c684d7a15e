/**
 * Defects found when the product was tried: drills, the false alarm's card, the reporter's unit, and
 * 查找未果 — on real queues and the Bot API stand-in.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { endDrill, startDrill } from '../../src/services/drill.service.js';
import { closeFalseAlarm, recordAbscondingOutcome, reportIncident } from '../../src/services/incident.service.js';
import { TG } from '../helpers/fixtures.js';
import { cardsIn, eventTexts, fastPolicy, startHarness, waitFor, waitForSendsSettled, type Harness } from '../jobs/harness.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness({ backend: 'redis', policy: fastPolicy() });
});
afterAll(async () => h?.close());

describe('drills', () => {
  it('a drill has its own number series, its events begin with 【演练】, the card names the section as the reporter’s unit, and ending it leaves no deadline or button on any card', async () => {
    const [before] = await h.t.sql`select coalesce(max(last), 0)::int as n from incident_counters where series = 'real'`;
    const { drill, incident } = await startDrill(h.deps, h.org.actor('section'), { type: 'violent_crime', officeUnitId: h.org.units.officeA });
    expect(incident.number).toMatch(/^演练\d{4}-0001$/);
    const [after] = await h.t.sql`select coalesce(max(last), 0)::int as n from incident_counters where series = 'real'`;
    expect(after!.n).toBe(before!.n); // the real register has no gap

    // The office head hears of it: the event's first line (what the phone's preview shows) says 【演练】.
    const event = await h.api.waitForBotMessage(TG.headA, (m) => (m.text ?? '').includes(incident.number) && m.reply_to_message_id !== undefined, { after: 0, timeoutMs: 8_000 });
    expect((event.text ?? '').split('\n')[0]).toMatch(/^【演练】/);
    const card = h.api.message(TG.headA, event.reply_to_message_id!)!;
    // 科员丙 is section staff reporting for office A: the card names their section, not the office.
    expect(card.text).toMatch(/科员丙 · (社区矫正)?管理科/);
    expect(card.text).not.toContain('科员丙 · 米市巷');

    const { evaluation } = await endDrill(h.deps, h.org.actor('section'), drill.id);
    // Nobody was hurt and no crime was suspected in the scenario played: those steps did not apply.
    expect(evaluation.missedSteps.map((s) => s.key)).not.toContain('call_120');
    expect(evaluation.missedSteps.map((s) => s.key)).not.toContain('assist_investigation');
    await waitForSendsSettled(h);
    await waitFor(() => {
      const now = h.api.message(TG.headA, card.message_id)!;
      return !(now.text ?? '').includes('时限') && h.api.inlineButtons(now).every((b) => (b.callback_data ?? '').startsWith('card:')) ? now : undefined;
    }, { what: 'the office head’s drill card to be redrawn ended', timeoutMs: 8_000 });
  }, 30_000);
});

describe('cards and notices', () => {
  it('a false alarm’s card lists no deadlines', async () => {
    const { incident } = await reportIncident(h.deps, h.org.actor('officerA1'), {
      type: 'disruption',
      officeUnitId: h.org.units.officeA,
      subjectId: h.org.subjects.a1,
      discoveredAt: new Date(),
      injured: 0,
      dead: 0,
      description: '误报测试',
    });
    await h.api.waitForBotMessage(TG.section, (m) => (m.text ?? '').includes(incident.number) && m.reply_to_message_id !== undefined, { after: 0, timeoutMs: 8_000 });
    await closeFalseAlarm(h.deps, h.org.actor('section'), incident.id, '核实后并非突发事件');
    await waitForSendsSettled(h);
    // (A drill's number, 演练2026-0001, contains a real one: keep to the real incident's card.)
    const [card] = cardsIn(h.api, TG.headA, incident.number).filter((m) => !(m.text ?? '').includes(`演练${incident.number}`));
    expect(card!.text).toContain('误报');
    expect(card!.text).not.toContain('时限');
  }, 20_000);

  it('❌ 查找未果，报管理科 tells the section at once, as an event replying to its card', async () => {
    const { incident } = await reportIncident(h.deps, h.org.actor('officerA1'), {
      type: 'absconding',
      officeUnitId: h.org.units.officeA,
      subjectId: h.org.subjects.a2,
      discoveredAt: new Date(),
      injured: 0,
      dead: 0,
      description: '查找未果测试',
    });
    await waitForSendsSettled(h);
    const before = eventTexts(h.api, TG.section, incident.number).length;
    await recordAbscondingOutcome(h.deps, h.org.actor('officerA1'), incident.id, 'not_found');
    await waitForSendsSettled(h);
    const events = eventTexts(h.api, TG.section, incident.number);
    expect(events).toHaveLength(before + 1);
    expect(events.at(-1)!.text).toContain('查找未果');
  }, 20_000);
});
