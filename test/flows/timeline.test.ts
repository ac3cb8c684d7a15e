/**
 * /timeline on the Bot API stand-in: a long incident (more than twenty entries, a deadline among them)
 * pages forwards and back in place, each entry saying when, who, what and how; another office and a
 * stranger are refused; a page the timeline does not have, and a page button drawn before newer entries,
 * are answered in words.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pendingTimers } from '../../src/db/repositories/timer.repository.js';
import { MINUTE } from '../../src/domain/index.js';
import { timelinePlugin, TIMELINE_PAGE_SIZE } from '../../src/flows/timeline.js';
import { t as message, type MessageKey } from '../../src/i18n/index.js';
import { plainText } from '../../src/i18n/markup.js';
import { acknowledgeIncident, markStep, markUpperReported, reportIncident, reportProgress, setRole } from '../../src/services/incident.service.js';
import { fireTimer } from '../../src/services/timer.service.js';
import type { ServiceDeps } from '../../src/services/ports.js';
import { buttonData, buttonTexts, startBotHarness, type BotHarness } from '../helpers/bot-harness.js';
import { TG } from '../helpers/fixtures.js';

let h: BotHarness;
let deps: ServiceDeps;
let number: string;
let incidentId: string;

/** A catalogue text as the stand-in shows it: without its markup. */
const t = (lang: 'zh' | 'en', key: MessageKey) => plainText(message(lang, key));

/** The entry lines of a timeline page: those that start with a `MM-DD HH:mm` time. */
const entryLines = (text: string | undefined) => (text ?? '').split('\n').filter((l) => /^\d{2}-\d{2} \d{2}:\d{2} /.test(l));

beforeAll(async () => {
  h = await startBotHarness({ plugins: [timelinePlugin()] });
  deps = h.deps;
  const { org, clock } = h;
  const r = await reportIncident(deps, org.actor('officerA1'), {
    type: 'violent_crime',
    subjectId: org.subjects.a1,
    officeUnitId: org.units.officeA,
    discoveredAt: clock.now(),
    injured: 0,
    dead: 0,
    description: '持刀威胁邻居',
  });
  incidentId = r.incident.id;
  number = r.incident.number;
  clock.advance(2 * MINUTE);
  await acknowledgeIncident(deps, org.actor('section'), incidentId);
  clock.advance(MINUTE);
  await setRole(deps, org.actor('section'), incidentId, 'commander', org.staff.director, true);
  await setRole(deps, org.actor('section'), incidentId, 'onsite_command', org.staff.headA, true);
  const inform = (await pendingTimers(h.db.db, { incidentId })).find((x) => x.kind === 'inform' && x.level === 1)!;
  for (let n = 1; n <= 14; n++) {
    clock.advance(3 * MINUTE);
    await reportProgress(deps, org.actor(n % 2 ? 'officerA1' : 'headA'), incidentId, { text: `第${n}次续报：现场情况稳定` });
    // The inform deadline (15 min for a critical incident) fires on the way: the deputy director has not been told.
    if (clock.now().getTime() === inform.dueAt.getTime()) expect((await fireTimer(deps, inform.id)).status).toBe('sent');
  }
  clock.advance(MINUTE);
  await markUpperReported(deps, org.actor('section'), incidentId, 'phone');
  const office = r.steps.find((s) => s.state === 'pending' && s.actor === 'office' && s.key !== 'report_upward');
  await markStep(deps, org.actor('officerA1'), incidentId, { ordinal: office!.ordinal }, { kind: 'done' });
  expect((await pendingTimers(h.db.db, { incidentId })).some((x) => x.id === inform.id)).toBe(false);
}, 60_000);

afterAll(async () => {
  await h?.close();
});

describe('/timeline', () => {
  it('pages a long incident forwards and back, in place', async () => {
    const [count] = await h.db.sql`select count(*)::int as n from audit_log where incident_id = ${incidentId} and action <> 'callback.refused'`;
    const total = count!.n as number;
    expect(total).toBeGreaterThanOrEqual(20);
    const pages = Math.ceil(total / TIMELINE_PAGE_SIZE);

    const first = await h.send('section', `/timeline ${number}`);
    expect(first.text).toContain(`${number} 时间线 · 第 1/${pages} 页 · 共 ${total} 条`);
    const lines1 = entryLines(first.text);
    expect(lines1).toHaveLength(TIMELINE_PAGE_SIZE);
    // When (the bureau's zone: 10:00 in Shanghai), who, what and how.
    expect(lines1[0]).toBe('11-29 10:00 矫正官甲一：上报事件（上报表单）');
    expect(lines1[1]).toBe('11-29 10:02 科员丙：签收（按钮）');
    expect(lines1[2]).toBe('11-29 10:03 科员丙：指派 局长甲：总指挥（按钮）');
    expect(lines1.some((l) => l.includes('所长甲：续报：第2次续报：现场情况稳定（输入文字）'))).toBe(true);
    expect(buttonTexts(first)).toEqual([t('zh', 'button.timeline_next'), t('zh', 'button.timeline_card')]);

    const seen: string[] = [...lines1];
    for (let page = 2; page <= pages; page++) {
      await h.pressText('section', first.message_id, t('zh', 'button.timeline_next'));
      const now = h.api.message(TG.section, first.message_id)!;
      expect(now.text).toContain(`第 ${page}/${pages} 页`);
      const lines = entryLines(now.text);
      expect(lines.length).toBe(page < pages ? TIMELINE_PAGE_SIZE : total - (pages - 1) * TIMELINE_PAGE_SIZE);
      seen.push(...lines);
      const buttons = buttonTexts(now);
      expect(buttons.includes(t('zh', 'button.timeline_prev'))).toBe(true);
      expect(buttons.includes(t('zh', 'button.timeline_next'))).toBe(page < pages);
    }
    // Every entry once, oldest first; the step marked by phone says so, and the deadline is the system's.
    expect(seen).toHaveLength(total);
    expect(seen.filter((l) => l.includes('续报：第'))).toHaveLength(14);
    expect(seen.filter((l) => /^11-29 10:4\d 科员丙：上报上一级（首报），方式：📞 电话（按钮）$/.test(l))).toHaveLength(1);
    expect(seen.filter((l) => /矫正官甲一：完成第 \d+ 项“.+”（按钮）$/.test(l))).toHaveLength(1);
    expect(seen.filter((l) => /^11-29 10:15 系统：“逐级告知”时限到期，第 1 级，通知 1 人（时限到期）$/.test(l))).toHaveLength(1);

    await h.pressText('section', first.message_id, t('zh', 'button.timeline_prev'));
    expect(h.api.message(TG.section, first.message_id)!.text).toContain(`第 ${pages - 1}/${pages} 页`);
    // Turning pages edits the one message; nothing new is sent.
    expect(h.api.lastBotMessage(TG.section)!.message_id).toBe(first.message_id);
  });

  it('opens from the card\'s button as a new message, page 1', async () => {
    const list = await h.send('headA', '/incidents');
    await h.pressText('headA', list, number);
    const card = h.last('headA');
    await h.pressText('headA', card, t('zh', 'button.timeline'));
    const opened = h.last('headA');
    expect(opened.message_id).not.toBe(card.message_id);
    expect(opened.text).toMatch(new RegExp(`${number} 时间线 · 第 1/\\d+ 页`));
    expect(entryLines(opened.text)[0]).toBe('11-29 10:00 矫正官甲一：上报事件（上报表单）');
    // The card is still the card.
    expect(h.api.message(TG.headA, card.message_id)!.text).toContain('处置清单');
  });

  it('opens at a page given after the number, in English for an English speaker', async () => {
    const m = await h.send('section2', `/timeline ${number} 2`);
    expect(m.text).toMatch(new RegExp(`${number} timeline · page 2/\\d+`));
    expect(entryLines(m.text)).toHaveLength(TIMELINE_PAGE_SIZE);
    expect(m.text).toContain('(typed)');
  });

  it('refuses another office and a stranger, in the catalogue\'s words', async () => {
    const other = await h.send('officerB1', `/timeline ${number}`);
    expect(other.text).toBe(t('zh', 'timeline.refused'));
    // A number that names nothing reads the same: the refusal does not tell what exists.
    expect((await h.send('officerB1', '/timeline 2026-9999')).text).toBe(t('zh', 'timeline.refused'));
    // A page button forged for another office's incident is refused in the answer.
    const answer = await h.pressForced('officerB1', other.message_id, `tl:${incidentId}:1`);
    expect(answer.text).toBe(t('zh', 'timeline.refused'));
    expect(h.api.message(TG.officerB1, other.message_id)!.text).toBe(t('zh', 'timeline.refused'));

    const before = h.api.botMessages(TG.stranger).length;
    const stranger = await h.send('stranger', `/timeline ${number}`);
    expect(h.api.botMessages(TG.stranger).length).toBe(before + 1);
    expect(stranger.text).not.toContain(number);
    expect(stranger.text).not.toContain('时间线');
  });

  it('answers a page it does not have, a missing number and a stale page button clearly', async () => {
    expect((await h.send('headA', `/timeline ${number} 99`)).text).toMatch(/^⚠️ 时间线共 \d+ 页，没有第 99 页。$/);
    expect((await h.send('headA', '/timeline')).text).toBe(t('zh', 'timeline.usage'));
    expect((await h.send('headA', '/timeline 甲乙')).text).toBe(t('zh', 'timeline.usage'));

    const m = await h.send('headA', `/timeline ${number}`);
    const forged = await h.pressForced('headA', m.message_id, `tl:${incidentId}:99`);
    expect(forged.text).toMatch(/时间线共 \d+ 页，没有第 99 页/);
    expect(entryLines(h.api.message(TG.headA, m.message_id)!.text)).toHaveLength(TIMELINE_PAGE_SIZE);

    // A new entry after the page was drawn: the old button still turns the page, as the timeline is now, and says so.
    const next = buttonData(m, t('zh', 'button.timeline_next'));
    h.clock.advance(MINUTE);
    await reportProgress(deps, h.org.actor('officerA1'), incidentId, { text: '最新续报' });
    const answer = await h.press('headA', m.message_id, next);
    expect(answer.text).toBe(t('zh', 'timeline.stale'));
    const redrawn = h.api.message(TG.headA, m.message_id)!.text!;
    const [count] = await h.db.sql`select count(*)::int as n from audit_log where incident_id = ${incidentId} and action <> 'callback.refused'`;
    expect(redrawn).toContain(`第 2/${Math.ceil((count!.n as number) / TIMELINE_PAGE_SIZE)} 页 · 共 ${count!.n} 条`);
  });
});
