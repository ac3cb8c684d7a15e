/**
 * Progress reaches HQ, on the real database and the Bot API stand-in:
 * - a 续报 of a critical incident reaches the deputy director and the director, each with the card and a
 *   message that replies to it; their cards are then redrawn in place on the next change;
 * - a standard incident's 续报 stays with the section and the office, until a leader has been told of it;
 * - 立即上报 informs the next level at once, with the note, and that level's mandatory-information
 *   deadline then closes as already informed (the next level's still fires); a second goes to the
 *   director, a third is refused, and only the section may;
 * - 上报上一级 records 首报, then 续报 as often as needed, then 终报, each in the timeline.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pendingTimers } from '../../src/db/repositories/timer.repository.js';
import { DISTRICT_GOVERNMENT_STEP, MINUTE, resolvePolicy, type IncidentType } from '../../src/domain/index.js';
import { timelinePlugin } from '../../src/flows/timeline.js';
import { reportUpPlugin } from '../../src/flows/report-up.flow.js';
import { t as message, type MessageKey, type Params } from '../../src/i18n/index.js';
import { plainText } from '../../src/i18n/markup.js';
import { markStep, reportIncident, reportProgress } from '../../src/services/incident.service.js';
import { fireTimer } from '../../src/services/timer.service.js';
import { buttonTexts, startBotHarness, type BotHarness } from '../helpers/bot-harness.js';
import { TG, type StaffKey } from '../helpers/fixtures.js';
import { deliver } from './deliver-notices.js';

let h: BotHarness;
const t = (key: MessageKey, params?: Params) => plainText(message('zh', key, params));

beforeAll(async () => {
  h = await startBotHarness({ plugins: [timelinePlugin(), reportUpPlugin()] });
});
afterAll(async () => h?.close());

async function report(type: IncidentType): Promise<{ id: string; number: string; steps: Awaited<ReturnType<typeof reportIncident>>['steps'] }> {
  const r = await reportIncident(h.deps, h.org.actor('officerA1'), {
    type,
    subjectId: h.org.subjects.a1,
    officeUnitId: h.org.units.officeA,
    discoveredAt: h.clock.now(),
    injured: 0,
    dead: 0,
    description: '现场情况说明',
  });
  return { id: r.incident.id, number: r.incident.number, steps: r.steps };
}

async function recipientsOf(kind: string, incidentId: string): Promise<StaffKey[]> {
  const rows = await h.db.sql`select recipient_staff_id from outbox where kind = ${kind} and incident_id = ${incidentId}`;
  const keyOf = (id: string) => (Object.keys(h.org.staff) as StaffKey[]).find((k) => h.org.staff[k] === id)!;
  return rows.map((r) => keyOf(r.recipient_staff_id as string)).sort();
}

async function cardOf(incidentId: string, who: StaffKey): Promise<number | undefined> {
  const [row] = await h.db.sql`select message_id from incident_cards where incident_id = ${incidentId} and chat_id = ${TG[who]}`;
  return row ? Number(row.message_id) : undefined;
}

describe('a 续报 reaches the leaders', () => {
  it('of a critical incident: each leader gets the card and a reply to it, and the card is redrawn on the next change', async () => {
    const incident = await report('violent_crime');
    await deliver(h, 'incident_reported');
    h.clock.advance(2 * MINUTE);
    await reportProgress(h.deps, h.org.actor('officerA1'), incident.id, { text: '对象已被控制，无人受伤' });
    expect(await recipientsOf('progress_reported', incident.id)).toEqual(['deputy', 'director', 'headA', 'section', 'section2']);

    const sent = await deliver(h, 'progress_reported', ['deputy', 'director']);
    expect(sent).toHaveLength(2);
    for (const leader of ['deputy', 'director'] as const) {
      const card = await cardOf(incident.id, leader);
      expect(card, `${leader} holds a card`).toBeDefined();
      // The card shows the 续报 too; the event is the other message, a reply to the card.
      const events = h.api.botMessages(TG[leader]).filter((m) => m.message_id !== card && (m.text ?? '').includes('对象已被控制，无人受伤'));
      expect(events).toHaveLength(1);
      expect(events[0]!.reply_to_message_id).toBe(card);
    }

    // The next change redraws the leaders' cards in place: they are card holders now.
    const step = incident.steps.find((s) => s.state === 'pending' && s.actor === 'office')!;
    h.clock.advance(MINUTE);
    await markStep(h.deps, h.org.actor('officerA1'), incident.id, { ordinal: step.ordinal }, { kind: 'done' });
    expect(await recipientsOf('card_redraw', incident.id)).toEqual(expect.arrayContaining(['deputy', 'director']));
    const before = h.api.botMessages(TG.deputy).length;
    await deliver(h, 'card_redraw', 'deputy');
    expect(h.api.botMessages(TG.deputy).length).toBe(before);
    const redrawn = h.api.message(TG.deputy, (await cardOf(incident.id, 'deputy'))!)!;
    expect(redrawn.text).toContain(`✅ ${step.ordinal}.`);
  });

  it('of a standard incident: not to the leaders, unless told of it already', async () => {
    const incident = await report('disruption');
    h.clock.advance(MINUTE);
    await reportProgress(h.deps, h.org.actor('officerA1'), incident.id, { text: '第一次续报' });
    expect(await recipientsOf('progress_reported', incident.id)).toEqual(['headA', 'section', 'section2']);
  });
});

describe('立即上报', () => {
  let incident: { id: string; number: string };

  beforeAll(async () => {
    incident = await report('abnormal_petition'); // standard: the deputy director must be told within 1 h, the director within 4 h
    await deliver(h, 'incident_reported', 'section');
  });

  it('informs the next level at once, with the note; that level\'s deadline then skips as already informed', async () => {
    const card = (await cardOf(incident.id, 'section'))!;
    h.clock.advance(5 * MINUTE);
    await h.pressText('section', card, t('button.forward'));
    expect(h.last('section').text).toContain(`立即上报 ${incident.number}`);
    await h.send('section', '对象在区政府门口聚集，请副局长知悉');
    expect(h.api.botMessages(TG.section).some((m) => m.text === t('forward.done', { position: '分管副局长', count: 1 }))).toBe(true);

    expect(await recipientsOf('forwarded_up', incident.id)).toEqual(['deputy']);
    const [notice] = await deliver(h, 'forwarded_up', 'deputy');
    expect(notice!.text).toContain('科员丙');
    expect(notice!.text).toContain('对象在区政府门口聚集，请副局长知悉');
    expect(notice!.reply_to_message_id).toBe(await cardOf(incident.id, 'deputy'));

    // A leader told of a standard incident stays current: the next 续报 reaches the deputy director (not the director).
    await reportProgress(h.deps, h.org.actor('officerA1'), incident.id, { text: '人员已劝离' });
    expect((await recipientsOf('progress_reported', incident.id)).filter((k) => k === 'deputy' || k === 'director')).toEqual(['deputy']);

    const timers = await pendingTimers(h.db.db, { incidentId: incident.id });
    const deputyLevel = timers.find((x) => x.kind === 'inform' && x.level === 1)!;
    const directorLevel = timers.find((x) => x.kind === 'inform' && x.level === 2)!;
    h.clock.set(deputyLevel.dueAt);
    expect(await fireTimer(h.deps, deputyLevel.id)).toMatchObject({ status: 'skipped', reason: 'already informed' });
    expect(await recipientsOf('inform_level', incident.id)).toEqual([]);
    h.clock.set(directorLevel.dueAt);
    expect(await fireTimer(h.deps, directorLevel.id)).toMatchObject({ status: 'sent' });
    expect(await recipientsOf('inform_level', incident.id)).toEqual(['director']);

    const timeline = await h.send('section', `/timeline ${incident.number} 1`);
    expect(timeline.text).toContain('科员丙：立即上报分管副局长：对象在区政府门口聚集，请副局长知悉（输入文字）');
  });

  it('goes to the director next, then is refused; only the section may', async () => {
    const other = await report('abnormal_petition');
    const card = (await deliver(h, 'incident_reported', 'section')).find((m) => (m.text ?? '').includes(other.number))!;
    await h.pressForced('section', card.message_id, `fwd:${other.id}`);
    await h.send('section', '请副局长知悉');
    await h.pressForced('section', card.message_id, `fwd:${other.id}`);
    await h.send('section', '请局长知悉');
    expect(await recipientsOf('forwarded_up', other.id)).toEqual(['deputy', 'director']);
    // Every level has been told: the section's card no longer offers 立即上报.
    expect(buttonTexts(h.api.message(TG.section, (await cardOf(other.id, 'section'))!))).not.toContain(t('button.forward'));
    await h.pressForced('section', card.message_id, `fwd:${other.id}`);
    await h.send('section', '再报一次');
    expect(h.last('section').text).toBe(t('refuse.already_done'));
    expect(await recipientsOf('forwarded_up', other.id)).toEqual(['deputy', 'director']);

    const [headCard] = await deliver(h, 'incident_reported', 'headA');
    const answer = await h.pressForced('headA', headCard!.message_id, `fwd:${other.id}`);
    expect(answer.text).toBe(t('refuse.not_permitted'));
  });
});

describe('上报上一级 with its phase', () => {
  it('records 首报, then 续报 as often as needed, then 终报, and nothing after it', async () => {
    const incident = await report('violent_crime');
    const card = (await deliver(h, 'incident_reported', 'section')).find((m) => (m.text ?? '').includes(incident.number))!;
    const upperTimers = async () => (await pendingTimers(h.db.db, { incidentId: incident.id })).filter((x) => x.kind === 'upper_report');
    expect((await upperTimers()).length).toBeGreaterThan(0);

    // Before the 首报 the card offers the step's own button, not the repeatable one.
    expect(buttonTexts(card)).not.toContain(t('button.upward'));
    // 首报: only that phase is open, so the form asks how at once.
    await h.pressForced('section', card.message_id, `upw:${incident.id}`);
    expect(h.last('section').text).toContain('（首报）');
    await h.pressText('section', h.last('section'), '电话');
    await h.pressText('section', h.last('section'), t('button.upward_no_note'));
    expect(await upperTimers()).toEqual([]);

    // The card the section holds now offers 上报上一级 again, for 续报 and 终报.
    const cardNow = async () => h.api.message(TG.section, (await cardOf(incident.id, 'section'))!)!;
    expect(buttonTexts(await cardNow())).toContain(t('button.upward'));
    for (const [phase, how, note] of [
      ['续报', '书面', '已书面报告现场处置进展'],
      ['续报', '电话', '对象已送医'],
      ['终报', '系统', '处置完毕'],
    ] as const) {
      h.clock.advance(10 * MINUTE);
      await h.pressText('section', await cardNow(), t('button.upward'));
      await h.pressText('section', h.last('section'), phase);
      await h.pressText('section', h.last('section'), how);
      await h.send('section', note);
    }
    // After the 终报 the card the section holds no longer offers it; an old card's press is refused.
    expect(buttonTexts(await cardNow())).not.toContain(t('button.upward'));
    const refused = await h.pressForced('section', card.message_id, `upw:${incident.id}`);
    expect(refused.text).toBe(t('upward.none'));

    const timeline = (await h.send('section', `/timeline ${incident.number} 1`)).text ?? '';
    const upward = timeline.split('\n').filter((l) => l.includes('上报上一级'));
    expect(upward).toEqual([
      expect.stringMatching(/科员丙：上报上一级（首报），方式：📞 电话（按钮）$/),
      expect.stringMatching(/科员丙：上报上一级（续报），方式：📄 书面，说明：已书面报告现场处置进展（按钮）$/),
      expect.stringMatching(/科员丙：上报上一级（续报），方式：📞 电话，说明：对象已送医（按钮）$/),
      expect.stringMatching(/科员丙：上报上一级（终报），方式：💻 系统，说明：处置完毕（按钮）$/),
    ]);
  });
});

describe('向区人民政府报告', () => {
  it('is a step of the section\'s card where the bureau\'s settings ask for it, marked like any other', async () => {
    const policy = resolvePolicy({ reportToDistrictGovernment: ['critical'] });
    const r = await reportIncident({ ...h.deps, policy: async () => policy }, h.org.actor('officerA1'), {
      type: 'violent_crime',
      subjectId: h.org.subjects.a1,
      officeUnitId: h.org.units.officeA,
      discoveredAt: h.clock.now(),
      injured: 0,
      dead: 0,
      description: '需报区政府',
    });
    const step = r.steps.find((s) => s.key === DISTRICT_GOVERNMENT_STEP.key)!;
    expect(step).toMatchObject({ actor: 'section', state: 'pending' });
    await deliver(h, 'incident_reported', 'section');
    const card = h.api.message(TG.section, (await cardOf(r.incident.id, 'section'))!)!;
    expect(card.text).toContain(`⬜ ${step.ordinal}. 向区人民政府报告`);
    await h.pressText('section', card, `⬜ ${step.ordinal}. 向区人民政府报告`);
    await h.pressText('section', card.message_id, message('zh', 'button.step_done'));
    const [row] = await h.db.sql`select state, done_by_staff_id from incident_steps where id = ${step.id}`;
    expect(row).toMatchObject({ state: 'done', done_by_staff_id: h.org.staff.section });
  });
});
