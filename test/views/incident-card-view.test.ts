/**
 * The one card view model both channels render, and what each draws from it:
 * - progress up the line: 立即上报 goes once every level of the line has been told, 上报上一级 once the
 *   终报 is recorded (the domain's reportUpOffers), on Telegram and WeCom alike; read from the database;
 * - the WeCom card lists the command loop's latest messages with counts, as its text has room for;
 * - a type 十 report shows the sensitive period it was linked to, on both channels.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { InlineKeyboardButton } from 'telegraf/types';
import { decodeCallback } from '../../src/channels/telegram/callback-data.js';
import { renderIncidentCard, type RenderedCard } from '../../src/channels/telegram/views/incident-card.js';
import { commandSummaryLines, renderWecomIncidentCard } from '../../src/channels/wecom/incident-card.js';
import type { IncidentRow, StepRow } from '../../src/db/repositories/incident.repository.js';
import { DEFAULT_POLICY, instantiatePlaybook, type Actor } from '../../src/domain/index.js';
import { reportUpOffers, UPPER_STEP } from '../../src/domain/upward-steps.js';
import { forwardToNextLevel, reportIncident, reportUpward } from '../../src/services/incident.service.js';
import { addSensitivePeriod } from '../../src/services/sensitive-period.service.js';
import { loadIncidentCardView, type IncidentCardView } from '../../src/views/incident-card-view.js';
import { makeDeps } from '../after-incident/helpers.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { ManualClock, seedOrg } from '../helpers/fixtures.js';

const NOW = new Date('2026-11-29T02:30:00Z');
const OFFICE_A = '00000000-0000-4000-8000-00000000000a';
const INCIDENT = '00000000-0000-4000-8000-000000000001';
const section: Actor = { staffId: 'section-1', unitId: 'section-unit', unitKind: 'section', positions: ['section'] } as Actor;

function makeView(extra: Partial<IncidentCardView> = {}, upperState: 'pending' | 'done' = 'done'): IncidentCardView {
  const incident = {
    id: INCIDENT,
    number: '2026-0007',
    type: 'violent_crime',
    scenario: null,
    criticality: 'critical',
    subjectId: null,
    subjectNote: null,
    officeUnitId: OFFICE_A,
    reporterStaffId: 'officer-1',
    discoveredAt: new Date('2026-11-29T02:00:00Z'),
    reportedAt: new Date('2026-11-29T02:05:00Z'),
    occurredAt: null,
    place: null,
    latitude: null,
    longitude: null,
    injured: 0,
    dead: 0,
    description: '持刀威胁',
    status: 'in_progress',
    closure: null,
    isDrill: false,
    lateReport: false,
    policy: DEFAULT_POLICY,
    acknowledgedAt: NOW,
    acknowledgedByStaffId: 'section-1',
    closedAt: null,
    version: 5,
  } as unknown as IncidentRow;
  const steps = instantiatePlaybook('violent_crime', null, { injured: 0, dead: 0 }).map(
    (s, i) => ({ ...s, id: `step-${i}`, incidentId: INCIDENT, how: null, note: null, doneByStaffId: null, doneAt: null, ...(s.key === UPPER_STEP ? { state: upperState } : {}) }) as StepRow,
  );
  return {
    incident,
    steps,
    roles: [],
    lastUpdate: null,
    pendingTimers: [],
    subject: null,
    office: { name: '甲街道司法所', nameEn: 'Office A' },
    staffNames: { 'officer-1': '矫正官甲一', 'section-1': '科员丙', director: '局长甲' },
    searchAttempts: [],
    ...extra,
  };
}

const dataOf = (b: InlineKeyboardButton) => ('callback_data' in b ? b.callback_data : undefined);
const tgActions = (card: RenderedCard) => card.reply_markup.inline_keyboard.flat().map((b) => decodeCallback(dataOf(b))!.a);
const wecomCtx = { actor: section, lang: 'zh' as const, now: NOW, timeZone: 'Asia/Shanghai', piiMode: 'masked' as const };
const wecomActions = (view: IncidentCardView) => renderWecomIncidentCard(view, wecomCtx).buttons.map((b) => ('key' in b ? b.key.split(':')[0] : ''));

describe('used-up buttons of progress up the line', () => {
  it('the domain: 续报 upward repeats until the 终报; 立即上报 while a level is left; nothing once closed', () => {
    const base = { open: true, upperStep: 'done', phasesDone: ['first'] as const, forwardLevelLeft: true };
    expect(reportUpOffers({ ...base, phasesDone: ['first'] })).toEqual({ forward: true, upward: ['progress', 'final'] });
    expect(reportUpOffers({ ...base, phasesDone: ['first', 'progress', 'progress'] })).toEqual({ forward: true, upward: ['progress', 'final'] });
    expect(reportUpOffers({ ...base, phasesDone: ['first', 'final'] })).toEqual({ forward: true, upward: [] });
    expect(reportUpOffers({ ...base, upperStep: 'pending', phasesDone: [] })).toEqual({ forward: true, upward: [] });
    expect(reportUpOffers({ ...base, upperStep: 'not_applicable', phasesDone: [] })).toEqual({ forward: true, upward: [] });
    expect(reportUpOffers({ ...base, forwardLevelLeft: false })).toEqual({ forward: false, upward: ['progress', 'final'] });
    expect(reportUpOffers({ ...base, open: false })).toEqual({ forward: false, upward: [] });
  });

  it('both channels draw 立即上报 and 上报上一级 only while they apply', () => {
    const live = makeView({ reportUp: { phasesDone: ['first', 'progress'], forwardLevelLeft: true } });
    for (const actions of [tgActions(renderIncidentCard(live, { actor: section }, 'zh', NOW, 'Asia/Shanghai', 'masked')), wecomActions(live)]) {
      expect(actions).toContain('fwd');
      expect(actions).toContain('upw');
    }
    const used = makeView({ reportUp: { phasesDone: ['first', 'progress', 'final'], forwardLevelLeft: false } });
    for (const actions of [tgActions(renderIncidentCard(used, { actor: section }, 'zh', NOW, 'Asia/Shanghai', 'masked')), wecomActions(used)]) {
      expect(actions).not.toContain('fwd');
      expect(actions).not.toContain('upw');
      expect(actions).toContain('card');
    }
  });

  it('the view model read from the database: after both levels were told and the 终报, neither applies', async () => {
    const { t, org, deps } = await setUp();
    const r = await reportIncident(deps, org.actor('officerA1'), { type: 'abnormal_petition', subjectId: org.subjects.a1, officeUnitId: org.units.officeA, discoveredAt: deps.clock.now(), injured: 0, dead: 0, description: '到区政府上访' });
    const id = r.incident.id;
    const view = async () => (await loadIncidentCardView(t.db, id, org.cipher))!;
    expect((await view()).reportUp).toEqual({ phasesDone: [], forwardLevelLeft: true });
    await forwardToNextLevel(deps, org.actor('section'), id, '请副局长知悉');
    expect((await view()).reportUp?.forwardLevelLeft).toBe(true);
    await forwardToNextLevel(deps, org.actor('section'), id, '请局长知悉');
    expect((await view()).reportUp?.forwardLevelLeft).toBe(false);
    await reportUpward(deps, org.actor('section'), id, { phase: 'first', how: 'phone', note: null });
    await reportUpward(deps, org.actor('section'), id, { phase: 'progress', how: 'phone', note: null });
    expect((await view()).reportUp?.phasesDone).toEqual(['first', 'progress']);
    await reportUpward(deps, org.actor('section'), id, { phase: 'final', how: 'written', note: '处置完毕' });
    const done = await view();
    expect(done.reportUp).toEqual({ phasesDone: ['first', 'progress', 'final'], forwardLevelLeft: false });
    const actions = tgActions(renderIncidentCard(done, { actor: org.actor('section') }, 'zh', deps.clock.now(), 'Asia/Shanghai', 'masked'));
    expect(actions).not.toContain('fwd');
    expect(actions).not.toContain('upw');
  });
});

describe('the WeCom card and the command loop', () => {
  it('counts the 批示、指令 and 处置建议, and names the latest two with their receipts, within the card’s text', () => {
    const at = (m: number) => new Date(NOW.getTime() + m * 60_000);
    const messages = [
      { updateId: 'u1', kind: 'order', fromStaffId: 'director', text: '立即疏散围观群众', at: at(1), receipts: [{ staffId: 'section-1', at: at(2) }] },
      { updateId: 'u2', kind: 'remark', fromStaffId: 'director', text: '注意保护对象隐私', at: at(3), receipts: [] },
      { updateId: 'u3', kind: 'proposal', fromStaffId: 'officer-1', text: '建议联系家属到场劝导，稳定对象情绪，防止事态进一步扩大', at: at(4), receipts: [{ staffId: 'director', at: at(5) }, { staffId: 'section-1', at: at(6) }] },
    ];
    const view = makeView({ commandPost: { activation: { level: 'II', byStaffId: 'section-1', at: NOW }, levelChanges: [{ from: 'II', to: 'I', direction: 'raise', byStaffId: 'director', at: at(2), reason: '事态扩大' }], messages, staffNames: {} } });
    const lines = commandSummaryLines(view, 'zh', (id) => view.staffNames[id] ?? '');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toBe('📜 批示、指令 2 条，处置建议 1 条，1 条尚无人收到');
    // The latest first, its text cut short.
    expect(lines[1]).toMatch(/^矫正官甲一处置建议：建议联系家属到场劝导，稳定对象情绪，防止.*…（2 人已收到）$/);
    expect(lines[2]).toBe('局长甲批示：注意保护对象隐私（待收到）');
    const card = renderWecomIncidentCard(view, wecomCtx);
    expect(card.subtitle).toContain('📜 批示、指令 2 条，处置建议 1 条');
    expect([...(card.subtitle ?? '')].length).toBeLessThanOrEqual(112);
    // The level in force after the 升级, on the card's flags.
    expect(card.desc).toContain('Ⅰ级响应');
    expect(card.desc).not.toContain('Ⅱ级响应');
    expect(card.horizontal!.length).toBeLessThanOrEqual(6);
    expect(commandSummaryLines(makeView(), 'zh', () => '')).toEqual([]);
  });
});

describe('the sensitive period of a type 十 report', () => {
  it('is named on both channels’ cards, from the view model read from the database', async () => {
    const { t, org, deps } = await setUp();
    await addSensitivePeriod(deps, org.actor('section'), { name: '全国两会', startsOn: '2026-11-29', endsOn: '2026-12-03' });
    const r = await reportIncident(deps, org.actor('officerA1'), { type: 'sensitive_period_entry', subjectId: org.subjects.a1, officeUnitId: org.units.officeA, discoveredAt: deps.clock.now(), injured: 0, dead: 0, description: '对象进入会场周边' });
    const view = (await loadIncidentCardView(t.db, r.incident.id, org.cipher))!;
    expect(view.sensitivePeriod).toEqual({ name: '全国两会', startsOn: '2026-11-29', endsOn: '2026-12-03' });
    const viewer = org.actor('section');
    expect(renderIncidentCard(view, { actor: viewer }, 'zh', deps.clock.now(), 'Asia/Shanghai', 'masked').text).toContain('🛡️ 特殊敏感时间段：全国两会（2026-11-29 至 2026-12-03）');
    expect(renderWecomIncidentCard(view, { ...wecomCtx, actor: viewer, now: deps.clock.now() }).subtitle).toContain('特殊敏感时间段：全国两会');
    expect(renderIncidentCard(view, { actor: viewer }, 'en', deps.clock.now(), 'Asia/Shanghai', 'masked').text).toContain('Sensitive period: 全国两会');

    const other = await reportIncident(deps, org.actor('officerA1'), { type: 'violent_crime', subjectId: org.subjects.a2, officeUnitId: org.units.officeA, discoveredAt: deps.clock.now(), injured: 0, dead: 0, description: '别的事件' });
    expect((await loadIncidentCardView(t.db, other.incident.id, org.cipher))!.sensitivePeriod).toBeNull();
  });
});

// ---------------------------------------------------------------------------------------------

const opened: TestDatabase[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((x) => x.drop()));
});

async function setUp() {
  const t = await createTestDatabase();
  opened.push(t);
  const org = await seedOrg(t.db);
  const clock = new ManualClock(new Date('2026-11-29T02:00:00Z'));
  return { t, org, clock, deps: makeDeps(t, org, clock) };
}
