/** The card renderer is pure: given a view, a viewer, a language and a time, the text and the buttons. */
import { describe, expect, it } from 'vitest';
import type { IncidentRow, StepRow } from '../../src/db/repositories/incident.repository.js';
import { decodeCallback } from '../../src/channels/telegram/callback-data.js';
import type { InlineKeyboardButton } from 'telegraf/types';
import { renderIncidentCard, type IncidentCardView, type RenderedCard } from '../../src/channels/telegram/views/incident-card.js';
import { DEFAULT_POLICY, instantiatePlaybook, timersOnReport, type Actor } from '../../src/domain/index.js';

const NOW = new Date('2026-11-29T02:30:00Z'); // 10:30 in Shanghai
const OFFICE_A = '00000000-0000-4000-8000-00000000000a';
const OFFICE_B = '00000000-0000-4000-8000-00000000000b';
const INCIDENT = '00000000-0000-4000-8000-000000000001';

const actor = (positions: Actor['positions'], unitId = OFFICE_A, staffId = 'officer-1'): Actor => ({ staffId, unitId, unitKind: 'office', positions });
const officerA = actor(['officer']);
const officerB = actor(['officer'], OFFICE_B, 'officer-b');
const section = actor(['section'], 'section-unit', 'section-1');
const headA = actor(['office_head'], OFFICE_A, 'head-a');

function makeView(over: Partial<IncidentRow> = {}, extra: Partial<IncidentCardView> = {}): IncidentCardView {
  const reportedAt = new Date('2026-11-29T02:05:00Z');
  const incident = {
    id: INCIDENT,
    number: '2026-0007',
    type: 'violent_crime',
    scenario: null,
    criticality: 'critical',
    subjectId: 's1',
    subjectNote: null,
    officeUnitId: OFFICE_A,
    reporterStaffId: 'officer-1',
    occurredAt: null,
    discoveredAt: new Date('2026-11-29T02:00:00Z'),
    reportedAt,
    place: '和睦新村 <3幢>',
    latitude: null,
    longitude: null,
    injured: 0,
    dead: 0,
    description: '持刀 & 威胁',
    media: [],
    status: 'reported',
    closure: null,
    isDrill: false,
    lateReport: false,
    policy: DEFAULT_POLICY,
    acknowledgedAt: null,
    acknowledgedByStaffId: null,
    closedAt: null,
    closedByStaffId: null,
    closeCause: null,
    closeLessons: null,
    closeMeasures: null,
    falseAlarmReason: null,
    lastProgressAt: reportedAt,
    progressCycle: 1,
    version: 3,
    updatedAt: reportedAt,
    ...over,
  } as IncidentRow;
  const steps = instantiatePlaybook('violent_crime', null, { injured: incident.injured, dead: incident.dead }).map(
    (s, i) => ({ ...s, id: `step-${i}`, incidentId: INCIDENT, how: null, note: null, doneByStaffId: null, doneAt: null }) as StepRow,
  );
  return {
    incident,
    steps,
    roles: [],
    lastUpdate: null,
    pendingTimers: timersOnReport({ id: INCIDENT, criticality: 'critical', reportedAt }, DEFAULT_POLICY).map((t) => ({ kind: t.kind, level: t.level, dueAt: t.dueAt, target: t.target })),
    subject: { code: 'SQ-A-001', name: '张三', idNumber: '330106199001011234' },
    office: { name: '甲街道司法所', nameEn: 'Office A' },
    staffNames: { 'officer-1': '矫正官甲一', 'section-1': '科员丙' },
    searchAttempts: [],
    ...extra,
  };
}

const dataOf = (b: InlineKeyboardButton) => ('callback_data' in b ? b.callback_data : undefined);
const actions = (card: RenderedCard) => card.reply_markup.inline_keyboard.flat().map((b) => decodeCallback(dataOf(b))!.a);

describe('renderIncidentCard', () => {
  it('shows number, type, status, masked subject, times, place (escaped), deadlines and the checklist', () => {
    const card = renderIncidentCard(makeView(), { actor: officerA }, 'zh', NOW, 'Asia/Shanghai', 'masked');
    expect(card.text).toContain('<b>2026-0007</b> 一、行凶犯罪或以要挟为目的的自伤');
    expect(card.text).toContain('待签收 · 紧急');
    expect(card.text).toContain('对象：张*（SQ-A-001）');
    expect(card.text).not.toContain('张三');
    expect(card.text).toContain('时间：10:00 发现 · 10:05 上报');
    expect(card.text).toContain('地点：和睦新村 &lt;3幢&gt;');
    expect(card.text).toContain('情况：持刀 &amp; 威胁');
    // The next deadlines: the acknowledgement at 10:10 is overdue at 10:30, and goes to the deputy director.
    expect(card.text).toContain('· 10:10 签收 → 分管副局长（已逾期）');
    expect(card.text).toContain('➖ 5. 立即拨打120或协调医院救治 — 不适用：“有人员伤亡”不成立');
    expect(card.text).toContain('⬜ 9. 配合公安开展犯罪侦查和调查取证（视情况：涉嫌犯罪）');
  });

  it('full names only in private chats in full mode; codes mode shows only the code', () => {
    expect(renderIncidentCard(makeView(), { actor: officerA }, 'zh', NOW, 'Asia/Shanghai', 'full').text).toContain('张三（SQ-A-001）');
    expect(renderIncidentCard(makeView(), { actor: officerA, chatKind: 'group' }, 'zh', NOW, 'Asia/Shanghai', 'full').text).toContain('张*（SQ-A-001）');
    const codes = renderIncidentCard(makeView(), { actor: officerA }, 'zh', NOW, 'Asia/Shanghai', 'codes').text;
    expect(codes).toContain('对象：SQ-A-001');
    expect(codes).not.toContain('张');
  });

  it('offers each viewer only the buttons they may use, carrying the version', () => {
    const view = makeView();
    const officer = renderIncidentCard(view, { actor: officerA }, 'zh', NOW, 'Asia/Shanghai', 'masked');
    expect(actions(officer)).not.toContain('ack');
    expect(actions(officer)).not.toContain('upper');
    expect(actions(officer)).toContain('prog');
    expect(actions(officer)).not.toContain('close'); // not yet acknowledged, and an officer does not close
    const sec = renderIncidentCard(view, { actor: section }, 'zh', NOW, 'Asia/Shanghai', 'masked');
    expect(actions(sec)).toEqual(expect.arrayContaining(['ack', 'prog', 'asgn', 'upper', 'proc', 'falarm', 'card']));
    for (const b of sec.reply_markup.inline_keyboard.flat()) {
      const d = decodeCallback(dataOf(b))!;
      if (d.a !== 'card') expect(d.v).toBe(3);
    }
    const other = renderIncidentCard(view, { actor: officerB }, 'zh', NOW, 'Asia/Shanghai', 'masked');
    expect(actions(other)).toEqual(['card']);
    const head = renderIncidentCard(makeView({ status: 'in_progress' }), { actor: headA }, 'zh', NOW, 'Asia/Shanghai', 'masked');
    expect(actions(head)).toContain('close');
    expect(actions(head)).not.toContain('falarm');
    const group = renderIncidentCard(view, { actor: section, chatKind: 'group' }, 'zh', NOW, 'Asia/Shanghai', 'masked');
    expect(actions(group)).toEqual(['ack', 'upper', 'proc', 'card']);
  });

  it('a closed card shows the three texts and only a refresh button', () => {
    const card = renderIncidentCard(
      makeView({ status: 'closed', closure: 'resolved', closedAt: NOW, closedByStaffId: 'section-1', closeCause: '原因', closeLessons: '教训', closeMeasures: '措施' }),
      { actor: section },
      'en',
      NOW,
      'Asia/Shanghai',
      'masked',
    );
    expect(card.text).toContain('✅ <b>Closed</b> 10:30 科员丙');
    expect(card.text).toContain('Course and cause: 原因');
    expect(card.text).toContain('Measures: 措施');
    expect(actions(card)).toEqual(['card']);
  });

  it('stays within Telegram’s 4096 characters with long texts everywhere', () => {
    const long = '很长的内容'.repeat(800);
    const card = renderIncidentCard(
      makeView(
        { description: long, place: long, subjectId: null, subjectNote: long, status: 'closed', closure: 'resolved', closedAt: NOW, closeCause: long, closeLessons: long, closeMeasures: long },
        { subject: null, lastUpdate: { text: long, at: NOW, staffId: 'officer-1', media: 3 }, searchAttempts: Array.from({ length: 20 }, () => ({ method: 'phone', result: long, found: false, at: NOW })) },
      ),
      { actor: section },
      'zh',
      NOW,
      'Asia/Shanghai',
      'masked',
    );
    expect(card.text.length).toBeLessThanOrEqual(4096);
  });
});
