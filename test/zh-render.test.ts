/**
 * Chinese output is Chinese (issue 11): every card, notice and document kind, rendered in zh from
 * fixtures that cover every stored value (statuses, step hows, search methods, outcomes, roles, timer
 * kinds, positions, sign-off stages and decisions, register rules), holds no Latin word outside a tiny
 * allow-list (people's names in the fixtures, subject codes, bot commands), and no ASCII , : ; ( ) ? ! "
 * right next to a Chinese character.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderIncidentCard, type CardFocus, type IncidentCardView } from '../src/channels/telegram/views/incident-card.js';
import type { IncidentRow, StepRow } from '../src/db/repositories/incident.repository.js';
import { enqueueNotices } from '../src/db/repositories/outbox.repository.js';
import { incidentSteps, incidents, publicReleases, sensitivePeriods } from '../src/db/schema.js';
import { createTelegramGateway } from '../src/channels/telegram/telegram-gateway.js';
import { hasMessage, t as message, type MessageKey } from '../src/i18n/index.js';
import {
  CONTACT_RESULTS,
  DEFAULT_POLICY,
  EPIDEMIC_SCENARIOS,
  INCIDENT_ROLES,
  INCIDENT_STATUSES,
  INCIDENT_TYPES,
  instantiatePlaybook,
  NOTICE_KINDS,
  POSITION_KINDS,
  SEARCH_METHODS,
  TIMER_KINDS,
  findPlaybookStep,
  type Actor,
  type EpidemicScenario,
  type IncidentType,
  type NoticeKind,
  type TimerTarget,
} from '../src/domain/index.js';
import { REGISTER_RULES, categoryOf, emptyEvidence, type MonthlyStats, type RegisterEntry } from '../src/domain/accountability.js';
import type { DrillEvaluation } from '../src/domain/drill.js';
import { WRITTEN_REPORT_STAGES, type WrittenReportStage } from '../src/domain/written-report.js';
import { registerCsv, statsCsv } from '../src/reports/csv.js';
import { renderDrillEvaluationDocx } from '../src/reports/docx/drill-evaluation.docx.js';
import { renderWrittenReportDocx } from '../src/reports/docx/written-report.docx.js';
import { registerCsvFile, statsCsvFile } from '../src/services/accountability.service.js';
import { nameCounties, recordCountyNotified } from '../src/services/county.service.js';
import {
  acknowledgeIncident,
  assignableStaff,
  closeIncident,
  markProcuratorateNotified,
  markStep,
  markUpperReported,
  recordAbscondingOutcome,
  recordSearchAttempt,
  reportIncident,
  reportProgress,
  setRole,
} from '../src/services/incident.service.js';
import { sendOutboxMessage, type NotificationDeps } from '../src/services/notification.service.js';
import { draftRelease } from '../src/services/release.service.js';
import { logContact, registerAbsence } from '../src/services/subject.service.js';
import { rejectAbsenceRequest, requestAbsence, requestExtension } from '../src/services/absence.service.js';
import {
  approveWrittenReport,
  exportWrittenReportDocx,
  returnWrittenReport,
  submitWrittenReport,
  writtenReportForIncident,
} from '../src/services/written-report.service.js';
import type { ServiceDeps } from '../src/services/ports.js';
import { docxText, makeDeps } from './after-incident/helpers.js';
import { createTestDatabase, type TestDatabase } from './helpers/db.js';
import { ManualClock, seedOrg, type SeededOrg } from './helpers/fixtures.js';
import { eq } from 'drizzle-orm';
import { telegramNoticeChannel } from '../src/channels/telegram/notice-channel.js';

// ---------------------------------------------------------------------------------------------
// The check

/**
 * What may stay Latin in Chinese text, and nothing else: the fixtures' two English staff names (seedOrg
 * has English-speaking staff), subject codes and bot commands, which a user types as they are.
 */
const ALLOWED: readonly RegExp[] = [/Section Two/g, /Officer A2/g, /\bSQ-[A-Z]-\d{3}\b/g, /\/(?:report|cancel|release|wr|finding|screen|counties|drill|stats|register|incidents|away|subjects|help|language)\b/g];
const HAN = '\\p{Script=Han}';
const ASCII_PUNCT = `[,:;()?!"]`;
const PUNCT_NEXT_TO_HAN = new RegExp(`${HAN}${ASCII_PUNCT}|${ASCII_PUNCT}${HAN}`, 'gu');

function plain(html: string): string {
  return html
    .replace(/<[^>]+>/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&');
}

const found: string[] = [];
let checked = 0;

/** Records every Latin word and every ASCII punctuation mark next to a Chinese character in `text`. */
function check(where: string, text: string): void {
  checked++;
  const p = plain(text);
  let rest = p;
  for (const re of ALLOWED) rest = rest.replace(re, ' ');
  const around = (s: string, i: number) => s.slice(Math.max(0, i - 12), i + 12).replace(/\s+/g, ' ');
  const note = (s: string) => found.includes(s) || found.push(s);
  for (const m of rest.matchAll(/[A-Za-z]{2,}/g)) note(`${where}: Latin "${m[0]}" in “${around(rest, m.index)}”`);
  for (const m of p.matchAll(PUNCT_NEXT_TO_HAN)) note(`${where}: ASCII punctuation "${m[0]}" in “${around(p, m.index)}”`);
}

function checkButtons(where: string, markup: { inline_keyboard: Array<Array<{ text: string }>> } | undefined): void {
  for (const b of markup?.inline_keyboard.flat() ?? []) check(`${where} [button]`, b.text);
}

/** The fields of a CSV document (RFC 4180, as src/reports/csv.ts writes it). */
function csvFields(csv: string): string[] {
  const out: string[] = [];
  const s = csv.replace(/^\uFEFF/, '');
  let i = 0;
  while (i < s.length) {
    if (s[i] === '"') {
      let j = i + 1;
      let v = '';
      while (j < s.length) {
        if (s[j] === '"' && s[j + 1] === '"') {
          v += '"';
          j += 2;
        } else if (s[j] === '"') break;
        else v += s[j++];
      }
      out.push(v);
      i = j + 1;
    } else {
      let j = i;
      while (j < s.length && s[j] !== ',' && s[j] !== '\r' && s[j] !== '\n') j++;
      out.push(s.slice(i, j));
      i = j;
    }
    while (s[i] === ',' || s[i] === '\r' || s[i] === '\n') i++;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Fixtures

const TZ = 'Asia/Shanghai';
const NOW = new Date('2026-11-29T02:30:00Z'); // 10:30 in Shanghai
/** Every value stored in incident_steps.how. */
const STEP_HOWS = ['bot', 'phone', 'written', 'system', 'field', 'ordered_to_report', 'brought_back'] as const;
const STAFF = { a: '王立新', b: '钱宇', c: '孙丽' } as const;
const ID = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

const sectionActor: Actor = { staffId: 'b', unitId: 'section-unit', unitKind: 'section', positions: ['section'] };
const officeHead: Actor = { staffId: 'c', unitId: ID(1), unitKind: 'office', positions: ['office_head'] };

function targets(): TimerTarget[] {
  return [
    { kind: 'reporter' },
    { kind: 'responsible_officer' },
    ...POSITION_KINDS.map((position) => ({ kind: 'position' as const, position, scope: 'bureau' as const })),
  ];
}

let howAt = 0;
function cardView(type: IncidentType, scenario: EpidemicScenario | null, n: number, over: Partial<IncidentRow> = {}): IncidentCardView {
  const reportedAt = new Date(NOW.getTime() - 25 * 60_000);
  const incident = {
    id: ID(100 + n),
    number: `2026-${String(n).padStart(4, '0')}`,
    type,
    scenario,
    criticality: n % 2 ? 'critical' : 'standard',
    subjectId: n % 3 ? 's1' : null,
    subjectNote: n % 3 ? null : '外来人员，男，约三十岁',
    officeUnitId: ID(1),
    reporterStaffId: 'a',
    occurredAt: null,
    discoveredAt: new Date(reportedAt.getTime() - 40 * 60_000),
    reportedAt,
    place: '和睦新村三幢',
    latitude: n % 2 ? 30.3195 : null,
    longitude: n % 2 ? 120.1432 : null,
    injured: 1,
    dead: 1,
    description: '对象持刀与邻居发生冲突。',
    media: [],
    status: INCIDENT_STATUSES[n % INCIDENT_STATUSES.length]!,
    closure: null,
    isDrill: n === 3,
    lateReport: n % 2 === 0,
    policy: DEFAULT_POLICY,
    acknowledgedAt: new Date(reportedAt.getTime() + 3 * 60_000),
    acknowledgedByStaffId: 'b',
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
  const steps = instantiatePlaybook(type, scenario, { injured: 1, dead: 1 }).map((s, i) => {
    const base = { ...s, id: `step-${i}`, incidentId: incident.id, how: null, note: null, naReason: s.naReason ?? null, doneByStaffId: null, doneAt: null } as StepRow;
    switch (i % 4) {
      case 0:
        return { ...base, state: 'done', how: STEP_HOWS[howAt++ % STEP_HOWS.length]!, doneByStaffId: 'a', doneAt: NOW } as StepRow;
      case 1:
        return base;
      case 2:
        return { ...base, state: 'not_applicable', naReason: s.condition ? `condition:${s.condition}` : '现场无人受伤' } as StepRow;
      default:
        return { ...base, state: 'done', note: '已电话联系家属', doneByStaffId: 'c', doneAt: new Date(NOW.getTime() - 86_400_000) } as StepRow;
    }
  });
  return {
    incident,
    steps,
    roles: INCIDENT_ROLES.map((role, i) => ({ role, staffId: (['a', 'b', 'c'] as const)[i % 3]! })),
    lastUpdate: { text: '对象已被控制，现场秩序恢复。', at: NOW, staffId: 'a', media: 2 },
    pendingTimers: [],
    subject: { code: 'SQ-A-001', name: '张三', idNumber: '330106199001011234' },
    office: { name: '甲街道司法所', nameEn: 'Office A' },
    staffNames: { ...STAFF },
    searchAttempts: SEARCH_METHODS.map((method, i) => ({ method, result: i ? '未找到' : '已找到', found: i === 0, at: new Date(NOW.getTime() - i * 3_600_000) })),
  };
}

function allCardViews(): IncidentCardView[] {
  const views: IncidentCardView[] = [];
  let n = 1;
  for (const type of INCIDENT_TYPES) {
    const scenarios: Array<EpidemicScenario | null> = type === 'epidemic' ? [...EPIDEMIC_SCENARIOS] : [null];
    for (const scenario of scenarios) views.push(cardView(type, scenario, n++));
  }
  // Every timer kind to every kind of target, three a card (the card shows the next three), one overdue.
  const all = TIMER_KINDS.flatMap((kind, k) => targets().map((target, j) => ({ kind, level: 1, target, dueAt: new Date(NOW.getTime() + (k * 20 + j - 2) * 60_000) })));
  for (let i = 0; i < all.length; i += 3) views.push({ ...cardView('violent_crime', null, n++, { status: 'in_progress' }), pendingTimers: all.slice(i, i + 3) });
  const closedAt = new Date(NOW.getTime() - 60_000);
  views.push(cardView('absconding', null, n++, { status: 'closed', closure: 'resolved', closedAt, closedByStaffId: 'c', closeCause: '对象擅自外出务工。', closeLessons: '日常监管不到位。', closeMeasures: '加强信息化核查。' }));
  views.push(cardView('other', null, n++, { status: 'closed', closure: 'false_alarm', closedAt, closedByStaffId: 'b', falseAlarmReason: '经核实为邻居误会。' }));
  views.push(cardView('absconding', null, n++, { status: 'report_submitted', closure: 'resolved', closedAt, closedByStaffId: 'c', closeCause: '一', closeLessons: '二', closeMeasures: '三' }));
  views.push({ ...cardView('abnormal_death', null, n++, { status: 'reported', acknowledgedAt: null, acknowledgedByStaffId: null }), roles: [], lastUpdate: null, searchAttempts: [], subject: null });
  return views;
}

// ---------------------------------------------------------------------------------------------

describe('every stored value has a label in both languages', () => {
  it.each([
    ['how', STEP_HOWS],
    ['wr.how', STEP_HOWS],
    ['method', SEARCH_METHODS],
    ['wr.search', SEARCH_METHODS],
    ['status', INCIDENT_STATUSES],
    ['role', INCIDENT_ROLES],
    ['wr.role', INCIDENT_ROLES],
    ['timer', TIMER_KINDS],
    ['position', POSITION_KINDS],
    ['contact', CONTACT_RESULTS],
    ['acct.rule', REGISTER_RULES],
    ['acct.cat', REGISTER_RULES.map(categoryOf)],
    ['wr.stage', WRITTEN_REPORT_STAGES],
    ['wr.decision', ['submitted', 'approved', 'returned', 'finalised']],
  ] as const)('%s.*', (prefix, values) => {
    for (const v of values) {
      const key = `${prefix}.${v}` as MessageKey;
      expect(hasMessage(key), key).toBe(true);
      check(key, message('zh', key));
      expect(message('en', key), key).not.toMatch(/\p{Script=Han}/u);
    }
    expect(found).toEqual([]);
  });
});

describe('every card kind in Chinese', () => {
  it('the incident card, for every type and state, every viewer and focus', () => {
    for (const view of allCardViews()) {
      const where = 'card';
      const focuses: Array<CardFocus | undefined> = [undefined, { kind: 'step', ordinal: 2 }, { kind: 'how', action: 'upper' }, { kind: 'how', action: 'proc' }];
      for (const viewer of [{ actor: sectionActor }, { actor: officeHead }, { actor: sectionActor, chatKind: 'group' as const }]) {
        for (const focus of focuses) {
          const card = renderIncidentCard(view, viewer, 'zh', NOW, TZ, 'masked', focus);
          check(where, card.text);
          checkButtons(where, card.reply_markup);
        }
      }
    }
    expect(found).toEqual([]);
  });
});

describe('every document in Chinese', () => {
  it('the written report at every stage, with every sign-off stage and decision', async () => {
    const before = found.length;
    const signoffs = WRITTEN_REPORT_STAGES.filter((s): s is Exclude<WrittenReportStage, 'approved'> => s !== 'approved').flatMap((stage, i) => [
      { stage, decision: stage === 'office' ? ('submitted' as const) : ('approved' as const), comment: null, name: STAFF.a, at: new Date(NOW.getTime() + i * 60_000), version: 2 },
      ...(stage === 'office' ? [] : [{ stage, decision: 'returned' as const, comment: '请补充查找经过。', name: STAFF.b, at: new Date(NOW.getTime() + i * 60_000 + 30_000), version: 1 }]),
    ]);
    for (const stage of WRITTEN_REPORT_STAGES) {
      const buf = await renderWrittenReportDocx({
        lang: 'zh',
        timeZone: TZ,
        now: NOW,
        authority: '拱墅区司法局',
        upperName: '杭州市司法局',
        officeName: '甲街道司法所',
        incident: {
          number: '2026-0001',
          type: 'epidemic',
          scenario: 's4',
          occurredAt: null,
          discoveredAt: NOW,
          reportedAt: NOW,
          closedAt: NOW,
          place: null,
          injured: 1,
          dead: 0,
          reporterName: STAFF.a,
          subjectLabel: '张*（SQ-A-001）',
        },
        stage,
        version: 3,
        sections: (['course', 'handling', 'search', 'casualties', 'counties', 'screening', 'cause', 'lessons', 'measures'] as const).map((key, i) => ({ key, text: i % 2 ? '' : '已按预案处置。' })),
        signoffs,
      });
      check(`written report .docx (${stage})`, docxText(buf));
    }
    expect(found.slice(before)).toEqual([]);
  });

  it('the drill evaluation, with every kind of response and every register rule', async () => {
    const before = found.length;
    const names = new Map<string, string>([
      ['a', STAFF.a],
      ['b', STAFF.b],
      ['u', '甲街道司法所'],
    ]);
    const evaluation: DrillEvaluation = {
      version: 1,
      incidentId: ID(9),
      startedAt: NOW.toISOString(),
      endedAt: new Date(NOW.getTime() + 3_600_000).toISOString(),
      people: [
        {
          staffId: 'a',
          responses: (['report', 'acknowledge', 'progress', 'step', 'close'] as const).map((kind, i) => ({
            kind,
            stepKey: kind === 'step' ? 'call_110' : null,
            at: NOW.toISOString(),
            seconds: [40, 400, 4_000, 40_000, 400_000][i]!,
            deadlineSeconds: i === 4 ? null : 300,
            onTime: i % 2 === 0,
          })),
          onTime: 3,
          late: 2,
        },
      ],
      missedSteps: [{ stepId: 's', key: 'notify_procuratorate', actor: 'section' }],
      findings: REGISTER_RULES.map((rule, i) => ({ rule, staffId: i % 2 ? 'a' : null, unitId: 'u', stepKey: rule === 'missed_step' ? 'notify_procuratorate' : null, lateBySeconds: i % 3 ? 90 : null })),
      summary: { responses: 5, onTime: 3, late: 2, missedSteps: 1 },
    };
    const buf = await renderDrillEvaluationDocx({
      lang: 'zh',
      timeZone: TZ,
      authority: '拱墅区司法局',
      incidentNumber: '2026-0009',
      type: 'violent_crime',
      scenario: null,
      evaluation,
      names,
      stepText: (key) => findPlaybookStep('violent_crime', null, key)?.text.zh ?? key,
    });
    check('drill evaluation .docx', docxText(buf));
    expect(found.slice(before)).toEqual([]);
  });

  it('the CSV exports: the statistics and the register, with every rule and category', () => {
    const before = found.length;
    const row = (scope: 'office' | 'person', id: string) => ({
      scope,
      id,
      incidents: 2,
      toReport: { count: 2, medianSeconds: 300, worstSeconds: 900 },
      toAcknowledge: { count: 2, medianSeconds: 60, worstSeconds: 120 },
      toClose: { count: 0, medianSeconds: null, worstSeconds: null },
      register: { late: 1, false: 0, concealed: 0, missed: 1, unfinished: 1, total: 2 },
    });
    const stats = { offices: [row('office', 'u')], people: [row('person', 'a')] } as unknown as MonthlyStats;
    const names = { unit: () => '甲街道司法所', staff: () => STAFF.a };
    for (const f of csvFields(statsCsv(stats, names, 'zh'))) check('stats .csv', f);
    const entries: RegisterEntry[] = REGISTER_RULES.map((rule, i) => ({
      rule,
      category: categoryOf(rule),
      incidentId: 'i',
      subjectId: i % 2 ? 's' : null,
      staffId: 'a',
      unitId: 'u',
      at: NOW,
      deadlineAt: NOW,
      actualAt: null,
      lateBySeconds: i % 2 ? 600 : null,
      stepKey: rule === 'missed_step' ? 'notify_procuratorate' : null,
      evidence: { ...emptyEvidence(), auditIds: [12, 13], stepIds: [ID(500 + i)], updateIds: [ID(600 + i)], absenceIds: [ID(700 + i)], dates: ['2026-11-27'] },
      reason: i % 2 ? '续报中隐瞒了对象持刀的事实。' : null,
      findingId: null,
    }));
    const ctx = {
      ...names,
      incidentNumber: () => '2026-0001',
      subjectCode: () => 'SQ-A-002',
      timeZone: TZ,
      step: () => '第 3 步：实地查访',
      update: () => '2026年11月29日 10:05 续报',
      absence: () => '2026年11月27日至2026年11月30日 外出',
    };
    for (const f of csvFields(registerCsv(entries, ctx, 'zh'))) check('register .csv', f);
    expect(found.slice(before)).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// Through the database: the written report's prefill, the notices, the CSV files as served.

let t: TestDatabase;
let org: SeededOrg;
let deps: ServiceDeps;
const clock = new ManualClock(new Date('2026-11-29T02:00:00Z'));
const sent: Array<{ method: string; text: string; reply_markup?: { inline_keyboard: Array<Array<{ text: string }>> } }> = [];
let messageId = 1;

beforeAll(async () => {
  t = await createTestDatabase();
  org = await seedOrg(t.db);
  deps = makeDeps(t, org, clock);
});
afterAll(async () => t?.drop());

/** An absconding incident worked through: search by every method, an outcome, the section's two steps, roles, progress, counties, closed. */
async function workedAbsconding(outcome: 'found_ordered' | 'found_brought_back', upperHow: string, procHow: string) {
  const { incident } = await reportIncident(deps, org.actor('officerA1'), {
    type: 'absconding',
    subjectId: org.subjects.a2,
    officeUnitId: org.units.officeA,
    discoveredAt: new Date(clock.now().getTime() - 50 * 60_000),
    injured: 0,
    dead: 0,
    description: '对象今日未报到，电话关机。',
    place: '住所',
  });
  clock.advance(4 * 60_000);
  await acknowledgeIncident(deps, org.actor('section'), incident.id);
  const staffIds = (await assignableStaff(deps, org.units.officeA)).map((s) => s.id);
  for (const [i, role] of INCIDENT_ROLES.entries()) await setRole(deps, org.actor('section'), incident.id, role, staffIds[i % staffIds.length]!, true);
  clock.advance(10 * 60_000);
  await reportProgress(deps, org.actor('officerA1'), incident.id, { text: '已联系家属，正在查找。' });
  for (const method of SEARCH_METHODS) {
    clock.advance(5 * 60_000);
    await recordSearchAttempt(deps, org.actor('officerA1'), incident.id, { method, result: method === 'field' ? '在城东找到' : '未找到', found: method === 'field', at: clock.now() });
  }
  await recordAbscondingOutcome(deps, org.actor('officerA1'), incident.id, outcome);
  await markUpperReported(deps, org.actor('section'), incident.id, upperHow);
  await markProcuratorateNotified(deps, org.actor('section'), incident.id, procHow);
  const counties = await nameCounties(deps, org.actor('section'), incident.id, ['西湖区', '上城区']);
  await recordCountyNotified(deps, org.actor('section'), counties[0]!.id, { how: '电话', receipt: '值班员李明' });
  const pending = await t.db.select().from(incidentSteps).where(eq(incidentSteps.incidentId, incident.id));
  const open = pending.filter((s) => s.state === 'pending');
  if (open[0]) await markStep(deps, org.actor('section'), incident.id, { ordinal: open[0].ordinal }, { kind: 'not_applicable', reason: '对象已找到，无需再报。' });
  clock.advance(30 * 60_000);
  // Closed with steps still open, as the close form allows with a reason (the close rule names them).
  await closeIncident(deps, org.actor('headA'), incident.id, { cause: '对象擅自外出务工。', lessons: '日常监管不到位。', measures: '加强信息化核查。', openDutiesReason: '其余步骤另行办理。' });
  return incident;
}

// The notices are drawn from the incidents and reports the first step makes: the steps keep their order.
describe('through the database, in Chinese', { shuffle: false }, () => {
  it('the written report prefilled from the timeline, every level signed, as a .docx', async () => {
    const before = found.length;
    const a = await workedAbsconding('found_brought_back', 'written', 'phone');
    const b = await workedAbsconding('found_ordered', 'system', 'written');
    for (const incident of [a, b]) {
      const report = (await writtenReportForIncident(t.db, incident.id))!;
      for (const [key, text] of Object.entries(report.body)) check(`written report prefill ${incident.number} ${key}`, text);
    }
    const report = (await writtenReportForIncident(t.db, a.id))!.report;
    check('written report .docx (office)', docxText((await exportWrittenReportDocx(deps, org.actor('headA'), report.id, 'zh')).data));
    await submitWrittenReport(deps, org.actor('headA'), report.id);
    await approveWrittenReport(deps, org.actor('section'), report.id);
    await returnWrittenReport(deps, org.actor('deputy'), report.id, '请补充查找经过。');
    await approveWrittenReport(deps, org.actor('section'), report.id);
    for (const who of ['deputy', 'director'] as const) await approveWrittenReport(deps, org.actor(who), report.id);
    check('written report .docx (approved)', docxText((await exportWrittenReportDocx(deps, org.actor('section'), report.id, 'zh')).data));
    expect(found.slice(before)).toEqual([]);
  });

  it('every notice kind, as its recipient receives it', async () => {
    const before = found.length;
    const gateway = createTelegramGateway({
      apiRoot: 'http://telegram.invalid',
      token: '1:x',
      perChatIntervalMs: 0,
      perGroupIntervalMs: 0,
      globalPerSecond: 0,
      fetch: (async (_url: string | URL | Request, init?: RequestInit) => {
        const body = JSON.parse(String(init?.body)) as { text: string; reply_markup?: { inline_keyboard: Array<Array<{ text: string }>> } };
        sent.push({ method: String(_url).split('/').pop()!, text: body.text, ...(body.reply_markup ? { reply_markup: body.reply_markup } : {}) });
        return new Response(JSON.stringify({ ok: true, result: { message_id: messageId++ } }), { headers: { 'content-type': 'application/json' } });
      }) as typeof fetch,
    });
    const notify: NotificationDeps = { ...deps, channel: telegramNoticeChannel(gateway, deps) };
    const { incident } = await reportIncident(deps, org.actor('officerA1'), {
      type: 'violent_crime',
      subjectId: org.subjects.a1,
      officeUnitId: org.units.officeA,
      discoveredAt: clock.now(),
      injured: 1,
      dead: 0,
      description: '对象持刀威胁邻居。',
    });
    const { updateId } = await reportProgress(deps, org.actor('officerA1'), incident.id, { text: '已报警，民警到场。' });
    const release = await draftRelease(deps, org.actor('section'), incident.id, '我局已妥善处置一起突发事件。');
    // As the functional department's send-back leaves it (the seeded org has no reviewer).
    await t.db.update(publicReleases).set({ state: 'draft', returnComment: '请删去对象姓名。', returnedAt: clock.now(), returnedByStaffId: org.staff.section }).where(eq(publicReleases.id, release.id));
    const today = '2026-11-29';
    // The office heads approve at once (up to their days); the officers' requests wait for a decision.
    const a2Stay = await registerAbsence(deps, org.actor('headA'), { subjectId: org.subjects.a2, destination: '宁波', startsOn: today, endsOn: '2026-12-02' });
    await registerAbsence(deps, org.actor('headB'), { subjectId: org.subjects.b1, destination: '上海', startsOn: today, endsOn: '2026-12-01' });
    const waiting = await requestAbsence(deps, org.actor('officerA1'), { subjectId: org.subjects.a1, destination: '温州', startsOn: '2026-12-05', endsOn: '2026-12-06', reason: '探亲' });
    const extension = await requestExtension(deps, org.actor('officerA2'), a2Stay.absence!.id, { endsOn: '2026-12-04', reason: '车票改签' });
    const refused = await requestAbsence(deps, org.actor('officerA1'), { subjectId: org.subjects.a1, destination: '丽水', startsOn: '2026-12-10', endsOn: '2026-12-11' });
    await rejectAbsenceRequest(deps, org.actor('headA'), refused.request.id, '期间须参加集中教育。');
    const abnormal = await logContact(deps, org.actor('officerB1'), org.subjects.b1, { result: CONTACT_RESULTS[2]!, note: '对象称身体不适' });
    const [headSeat] = await t.sql`select id from positions where holder_staff_id = ${org.staff.headA}`;
    const [closedOne] = await t.db.select({ id: incidents.id }).from(incidents).where(eq(incidents.status, 'closed')).limit(1);
    const [signoff] = await t.sql`select id from written_report_signoffs where decision = 'returned' limit 1`;
    const [period] = await t.db.insert(sensitivePeriods).values({ name: '国庆假期', startsOn: '2026-10-01', endsOn: '2026-10-07', createdByStaffId: org.staff.section, createdAt: clock.now() }).returning();

    const rows: Array<{ kind: NoticeKind; incidentId?: string; subjectId?: string; params?: Record<string, unknown> }> = [];
    const at = clock.now().toISOString();
    for (const kind of NOTICE_KINDS) {
      switch (kind) {
        case 'incident_closed':
          rows.push({ kind, incidentId: closedOne!.id, params: { closure: 'resolved', byStaffId: org.staff.headA } }, { kind, incidentId: incident.id, params: { closure: 'false_alarm', byStaffId: org.staff.section } });
          break;
        case 'inform_level':
          for (const position of POSITION_KINDS) rows.push({ kind, incidentId: incident.id, params: { position } });
          break;
        case 'timer_overdue_alert':
          for (const timerKind of TIMER_KINDS) rows.push({ kind, incidentId: incident.id, params: { timerKind, due: at, minutes: 12 } });
          rows.push({ kind, subjectId: org.subjects.a2, params: { timerKind: 'contact_check', due: at, minutes: 3 } });
          break;
        case 'role_assigned':
          for (const role of INCIDENT_ROLES) rows.push({ kind, incidentId: incident.id, params: { role, byStaffId: org.staff.section } });
          break;
        case 'missed_days':
          rows.push({ kind, params: { what: 'digest', dates: ['2026-11-27', '2026-11-28'] } }, { kind, params: { what: 'contact_reminder', dates: ['2026-11-28'], subjectDaysWithoutContact: 2 } });
          break;
        case 'drill_reminder':
          rows.push({ kind, params: { lastDrillAt: null } }, { kind, params: { lastDrillAt: '2025-11-01T02:00:00Z', year: 2026, officeUnitIds: [org.units.officeA, org.units.officeB] } });
          break;
        case 'sensitive_period_reminder':
          rows.push({ kind, params: { periodId: period!.id } });
          break;
        case 'contact_reminder':
          rows.push({ kind, params: { date: today, subjectIds: [org.subjects.a2, org.subjects.b1] } });
          break;
        case 'contact_check_head':
        case 'contact_check_section':
        case 'screening_due':
          rows.push({ kind, subjectId: org.subjects.a2, params: { date: today, officerStaffId: org.staff.officerA2 } });
          break;
        case 'absconding_suggestion':
          rows.push({ kind, subjectId: org.subjects.a2, params: { count: 2, last: at } });
          break;
        case 'absence_requested':
          for (const r of [waiting, extension]) rows.push({ kind, subjectId: r.request.subjectId, params: { requestId: r.request.id, level: r.level, extension: r.request.extendsAbsenceId !== null } });
          break;
        case 'absence_approved':
          rows.push({ kind, subjectId: org.subjects.a2, params: { requestId: a2Stay.request.id, absenceId: a2Stay.absence!.id, byStaffId: org.staff.headA } });
          break;
        case 'absence_rejected':
          rows.push({ kind, subjectId: org.subjects.a1, params: { requestId: refused.request.id, byStaffId: org.staff.headA } });
          break;
        case 'absence_overdue':
        case 'absence_overdue_section':
        case 'absence_returned':
          rows.push({ kind, subjectId: org.subjects.a2, params: { absenceId: a2Stay.absence!.id, endsOn: '2026-12-02', level: kind === 'absence_overdue' ? 0 : 2, byStaffId: org.staff.officerA2 } });
          break;
        case 'absconding_offer':
          rows.push(
            { kind, subjectId: org.subjects.a2, params: { reason: 'absence_overdue', absenceId: a2Stay.absence!.id, endsOn: '2026-12-02' } },
            { kind, subjectId: org.subjects.b1, params: { reason: 'no_contact', days: 2, since: '2026-11-28' } },
          );
          break;
        case 'contact_abnormal':
          rows.push({ kind, subjectId: org.subjects.b1, params: { contactLogId: abnormal.log.id, byStaffId: org.staff.officerB1 } });
          break;
        case 'contact_missed_escalation':
          rows.push({ kind, subjectId: org.subjects.b1, params: { reason: 'no_contact', days: 3, since: '2026-11-27' } });
          break;
        case 'subject_transferred':
          rows.push({ kind, subjectId: org.subjects.a1, params: { fromUnitId: org.units.officeB, toUnitId: org.units.officeA } });
          break;
        case 'acting_holder_set':
          rows.push({ kind, params: { positionId: headSeat!.id, positionKind: 'office_head', unitId: org.units.officeA, holderStaffId: org.staff.headA, byStaffId: org.staff.section } });
          break;
        case 'standing_in':
          rows.push({ kind, params: { forStaffId: org.staff.headA, positionId: headSeat!.id, from: '2026-11-30', until: '2026-12-04' } });
          break;
        case 'daily_digest':
          rows.push({ kind, params: { date: today } });
          break;
        case 'ack_escalation':
          rows.push({ kind, incidentId: incident.id, params: { notAcknowledgedBy: ['section', 'deputy_director'], since: at, level: 2 } });
          break;
        case 'progress_reported':
          rows.push({ kind, incidentId: incident.id, params: { updateId, byStaffId: org.staff.officerA1 } });
          break;
        case 'report_returned':
          rows.push({ kind, incidentId: closedOne!.id, params: signoff ? { signoffId: signoff.id } : { comment: '请补充查找经过。' } });
          break;
        case 'release_returned':
          rows.push({ kind, incidentId: incident.id, params: { releaseId: release.id, byStaffId: org.staff.section } });
          break;
        default:
          rows.push({ kind, incidentId: incident.id, params: { byStaffId: org.staff.section, last: at, due: at } });
      }
    }
    const outbox = await enqueueNotices(
      t.db,
      rows.map((r, i) => ({ recipientStaffId: org.staff.section, kind: r.kind, dedupeKey: `zh-render-${i}`, incidentId: r.incidentId ?? null, subjectId: r.subjectId ?? null, params: r.params ?? {} })),
    );
    for (const [i, row] of outbox.entries()) {
      const seen = sent.length;
      const outcome = await sendOutboxMessage(notify, row.id);
      expect(outcome.status, `${rows[i]!.kind}: ${outcome.outcome}`).toBe('sent');
      for (const m of sent.slice(seen)) {
        check(`notice ${rows[i]!.kind}`, m.text);
        checkButtons(`notice ${rows[i]!.kind}`, m.reply_markup);
      }
    }
    expect(new Set(rows.map((r) => r.kind))).toEqual(new Set(NOTICE_KINDS));
    expect(found.slice(before)).toEqual([]);
  });

  it('the CSV files as served, for the month of the fixtures', async () => {
    const before = found.length;
    for (const f of csvFields((await statsCsvFile(deps, org.actor('section'), '2026-11', 'zh')).data.toString('utf8'))) check('stats .csv (served)', f);
    for (const f of csvFields((await registerCsvFile(deps, org.actor('section'), '2026-11', 'zh')).data.toString('utf8'))) check('register .csv (served)', f);
    expect(found.slice(before)).toEqual([]);
  });
});

// Whatever order the parts ran in: the file as a whole checked a fair amount of text, so a pass means something.
afterAll(() => {
  expect(checked).toBeGreaterThan(500);
});
