/**
 * The plan's end-to-end scenarios, once, in words: each step is what a person does ("press 签收", "type
 * 09:50") or what they should find ("the deputy sees 未按时签收"). A channel's driver turns the words
 * into API calls (telegram-driver.ts, wecom-driver.ts), and the runner (run.ts) plays every scenario on
 * Telegram, on WeCom and mixed, each person bound where the run puts them.
 *
 * Words the steps use:
 * - `type`: a message the person types; `press`: the button with that label (or part of it) on the
 *   newest message or card that has it; `openStep`: opens checklist step n for marking;
 *   `forge`: the same press or text sent without the channel's proof (a wrong webhook secret, a bad
 *   msg_signature); `wait`: the clock moves on, and every deadline and daily job due on the way runs.
 * - `sees` / `seesNot`: among everything the person received in this scenario; `cardShows` /
 *   `cardLacks`: their card of the incident as it is now, its buttons included; `checklistDone`: the
 *   step (its number, or words of it) is marked done in their checklist; `refusedWith`: what they were
 *   told after their last action, a catalogue key, in their language.
 * - `{number}` in any text stands for the scenario's incident number.
 * Every person acting takes a few seconds of the clock (run.ts), as a person on a phone does.
 */
import type { MessageKey } from '../../src/i18n/index.js';

export const PEOPLE = ['officerA', 'headA', 'section', 'deputy', 'director', 'upper', 'stranger'] as const;
export type Person = (typeof PEOPLE)[number];

export type Action =
  | { who: Person; do: 'type'; text: string }
  | { who: Person; do: 'press'; button: string }
  | { who: Person; do: 'openStep'; step: number }
  | { who: Person; do: 'forge'; press: string }
  | { who: Person; do: 'forge'; text: string }
  | { do: 'wait'; minutes: number }
  /** Until the next local time of day (HH:MM, Asia/Shanghai). */
  | { do: 'wait'; until: string };

export type Expectation =
  | { who: Person; sees: string }
  | { who: Person; seesNot: string }
  | { who: Person; cardShows: string }
  | { who: Person; cardLacks: string }
  | { who: Person; checklistDone: number | string }
  | { who: Person; refusedWith: MessageKey }
  | { incidentIs: 'reported' | 'acknowledged' | 'in_progress' | 'closed' | 'report_submitted' | 'report_approved' }
  /** Nothing in the plan changed with the last action: incidents, steps, flows, notices, timers, people. */
  | { nothingChanged: true }
  /** The audit trail got an entry of this action with the last action. */
  | { audited: string }
  /** The last forged call was refused, and the refusal written down (the channel's record of it). */
  | { forgeryRecorded: true };

export type Step = Action | Expectation;

/** What is already so when a scenario starts, done through the use cases rather than by hand. */
export type Given =
  /** Officer A has just reported a type 一 incident (critical) about subject SQ-A-001; its notices are out. */
  | { reported: 'violent_crime' }
  /** Subject SQ-A-001 is away (外出) from yesterday to the day after tomorrow. */
  | { away: 'SQ-A-001' }
  /** A type 五 incident of office A, acknowledged, its steps done and closed: its written report is a draft. */
  | { closed: 'disruption' };

export interface Scenario {
  name: string;
  given?: Given[];
  steps: Step[];
}

export const SCENARIOS: Scenario[] = [
  {
    name: 'report type 一 with casualties',
    steps: [
      { who: 'officerA', do: 'type', text: '/report' },
      { who: 'officerA', do: 'press', button: '一、' },
      { who: 'officerA', do: 'type', text: '张' },
      { who: 'officerA', do: 'press', button: 'SQ-A-001' },
      { who: 'officerA', do: 'type', text: '09:45' },
      { who: 'officerA', do: 'type', text: '拱墅区和睦新村 3 幢' },
      { who: 'officerA', do: 'press', button: '有伤有亡' },
      { who: 'officerA', sees: '受伤人数' },
      { who: 'officerA', do: 'press', button: '2' },
      { who: 'officerA', sees: '死亡人数' },
      { who: 'officerA', do: 'type', text: '1' },
      { who: 'officerA', do: 'type', text: '对象持刀与邻居发生冲突，邻居两人受伤，一人死亡。已报警。' },
      { who: 'officerA', do: 'press', button: '下一步' },
      { who: 'officerA', sees: '伤 2 人，亡 1 人' },
      { who: 'officerA', do: 'press', button: '确认上报' },
      { who: 'officerA', sees: '已上报，编号' },
      { incidentIs: 'reported' },
      // The section and the office head hear of it at once, with a card to act on.
      { who: 'section', sees: '{number}' },
      { who: 'section', cardShows: '签收' },
      { who: 'headA', sees: '{number}' },
      // The reporter does not acknowledge their own report.
      { who: 'officerA', cardLacks: '✍ 签收' },
    ],
  },
  {
    name: 'report type 四, and the search for the subject',
    steps: [
      { who: 'officerA', do: 'type', text: '/report' },
      { who: 'officerA', do: 'press', button: '四、' },
      { who: 'officerA', do: 'type', text: '张三' },
      { who: 'officerA', do: 'press', button: 'SQ-A-001' },
      { who: 'officerA', do: 'type', text: '09:45' },
      { who: 'officerA', do: 'type', text: '住所' },
      { who: 'officerA', do: 'press', button: '无伤亡' },
      { who: 'officerA', do: 'type', text: '今日未报到，电话关机。' },
      { who: 'officerA', do: 'press', button: '下一步' },
      { who: 'officerA', do: 'press', button: '确认上报' },
      { who: 'officerA', sees: '已上报，编号' },
      { who: 'section', sees: '{number}' },
      // The search: a phone call that finds nobody, then a field visit that finds the subject.
      { who: 'officerA', do: 'press', button: '查找记录' },
      { who: 'officerA', sees: '尚无查找记录' },
      { who: 'officerA', do: 'press', button: '通讯联络' },
      { who: 'officerA', do: 'press', button: '未找到' },
      { who: 'officerA', sees: '何时进行' },
      { who: 'officerA', do: 'type', text: '09:50' },
      { who: 'officerA', sees: '09:50 通讯联络：未找到' },
      { who: 'officerA', do: 'press', button: '实地查访' },
      { who: 'officerA', do: 'press', button: '找到了' },
      { who: 'officerA', do: 'press', button: '刚刚' },
      { who: 'officerA', sees: '对象已找到' },
      { who: 'officerA', do: 'press', button: '已带回' },
      { who: 'officerA', checklistDone: '通讯联络查找' },
      { who: 'officerA', checklistDone: '责令其立即到司法所报告' },
    ],
  },
  {
    name: 'the ladder: nobody acknowledges, and the clock goes up the levels',
    given: [{ reported: 'violent_crime' }],
    steps: [
      { who: 'section', sees: '{number}' },
      { who: 'section', cardShows: '签收' },
      { who: 'deputy', seesNot: '未按时签收' },
      // Type 一 is critical: 5 minutes to acknowledge before the deputy director is told.
      { do: 'wait', minutes: 6 },
      { who: 'deputy', sees: '未按时签收' },
      { who: 'deputy', sees: '{number}' },
      { who: 'director', seesNot: '未按时签收' },
      // As long again, and the director is told, that the deputy has not acknowledged either.
      { do: 'wait', minutes: 5 },
      { who: 'director', sees: '未按时签收' },
      { who: 'director', sees: '分管副局长' },
      { incidentIs: 'reported' },
      // Any of them may still acknowledge from their card.
      { who: 'director', cardShows: '签收' },
    ],
  },
  {
    name: '签收: the section acknowledges, and the ladder stops',
    given: [{ reported: 'violent_crime' }],
    steps: [
      { who: 'section', cardShows: '✍ 签收' },
      { who: 'section', do: 'press', button: '签收' },
      { incidentIs: 'acknowledged' },
      { who: 'section', cardShows: '科员丙' },
      { who: 'section', cardLacks: '✍ 签收' },
      // The office head's card is redrawn with who acknowledged.
      { who: 'headA', cardShows: '科员丙' },
      { do: 'wait', minutes: 11 },
      { who: 'deputy', seesNot: '未按时签收' },
      { who: 'director', seesNot: '未按时签收' },
    ],
  },
  {
    name: '续报: the officer sends a progress update',
    given: [{ reported: 'violent_crime' }],
    steps: [
      { who: 'section', do: 'press', button: '签收' },
      { who: 'officerA', do: 'type', text: '/incidents' },
      { who: 'officerA', do: 'press', button: '{number}' },
      { who: 'officerA', do: 'press', button: '续报' },
      { who: 'officerA', sees: '续报 {number}' },
      { who: 'officerA', do: 'type', text: '对象已被控制，伤者送医。' },
      { who: 'officerA', do: 'press', button: '提交' },
      { incidentIs: 'in_progress' },
      { who: 'officerA', cardShows: '对象已被控制，伤者送医。' },
      // The section and the office head hear of it.
      { who: 'section', sees: '对象已被控制，伤者送医。' },
      { who: 'headA', sees: '对象已被控制，伤者送医。' },
    ],
  },
  {
    name: 'steps: the officer marks a step of the checklist done',
    given: [{ reported: 'violent_crime' }],
    steps: [
      { who: 'officerA', do: 'type', text: '/incidents' },
      { who: 'officerA', do: 'press', button: '{number}' },
      { who: 'officerA', do: 'openStep', step: 1 },
      { who: 'officerA', cardShows: '第 1 步' },
      { who: 'officerA', do: 'press', button: '已完成' },
      { who: 'officerA', checklistDone: 1 },
      { who: 'officerA', checklistDone: '立即向公安“110”或执行地派出所报警' },
    ],
  },
  {
    name: 'close: the office head closes, and says why with steps still open',
    given: [{ reported: 'violent_crime' }],
    steps: [
      { who: 'section', do: 'press', button: '签收' },
      { who: 'headA', do: 'press', button: '结案' },
      { who: 'headA', sees: '还有以下事项未完成' },
      { who: 'headA', do: 'type', text: '处罚由派出所依法决定，另行跟进。' },
      { who: 'headA', sees: '（1/3）' },
      { who: 'headA', do: 'type', text: '对象因邻里纠纷情绪失控持刀。' },
      { who: 'headA', sees: '经验教训' },
      { who: 'headA', do: 'type', text: '对高风险对象的情绪变化掌握不及时。' },
      { who: 'headA', sees: '改进措施' },
      { who: 'headA', do: 'type', text: '每周走访高风险对象并记录。' },
      { who: 'headA', sees: '请核对结案内容' },
      { who: 'headA', do: 'press', button: '确认结案' },
      { who: 'headA', sees: '已结案。书面报告截止' },
      { incidentIs: 'closed' },
      { who: 'headA', cardShows: '已结案' },
      { who: 'headA', cardLacks: '结案原因' },
      { who: 'section', sees: '{number}' },
    ],
  },
  {
    name: 'the written report goes up the chain and is approved',
    given: [{ closed: 'disruption' }],
    steps: [
      { who: 'headA', do: 'type', text: '/wr' },
      { who: 'headA', sees: '待您处理的书面报告 1 份' },
      { who: 'headA', do: 'press', button: '{number}' },
      { who: 'headA', sees: '书面报告 · 事件 {number}' },
      { who: 'headA', do: 'press', button: '提交' },
      { incidentIs: 'report_submitted' },
      { who: 'section', do: 'type', text: '/wr {number}' },
      { who: 'section', do: 'press', button: '同意' },
      { who: 'deputy', do: 'type', text: '/wr {number}' },
      { who: 'deputy', do: 'press', button: '同意' },
      { who: 'director', do: 'type', text: '/wr {number}' },
      { who: 'director', do: 'press', button: '审定通过' },
      { who: 'director', sees: '已逐级审定' },
      { incidentIs: 'report_approved' },
    ],
  },
  {
    name: 'daily contact from the 09:00 reminder',
    given: [{ away: 'SQ-A-001' }],
    steps: [
      { do: 'wait', until: '09:00' },
      { who: 'officerA', sees: '外出对象' },
      { who: 'officerA', sees: '张*（SQ-A-001）' },
      { who: 'officerA', seesNot: '张三' },
      { who: 'officerA', do: 'press', button: 'SQ-A-001' },
      { who: 'officerA', sees: '今天的联系结果' },
      { who: 'officerA', do: 'press', button: '已联系上' },
      { who: 'officerA', do: 'type', text: '对象在上海务工，状态正常。' },
      { who: 'officerA', sees: '已记录' },
      // Logged before 18:00: the office head is not told of a missing contact.
      { do: 'wait', until: '18:30' },
      { who: 'headA', seesNot: '尚无联系记录' },
    ],
  },
  {
    name: 'a forged callback is refused, written down, and changes nothing',
    given: [{ reported: 'violent_crime' }],
    steps: [
      { who: 'section', do: 'forge', press: '签收' },
      { forgeryRecorded: true },
      { nothingChanged: true },
      { incidentIs: 'reported' },
      { who: 'officerA', do: 'forge', text: '/report' },
      { forgeryRecorded: true },
      { nothingChanged: true },
      { who: 'officerA', seesNot: '请选择事件类型' },
    ],
  },
  {
    name: 'a stranger is refused in their language, and nothing changes',
    steps: [
      { who: 'stranger', do: 'type', text: '/report' },
      { who: 'stranger', refusedWith: 'refuse.stranger' },
      { audited: 'access.refused' },
      { nothingChanged: true },
      { who: 'stranger', do: 'type', text: '你好' },
      { who: 'stranger', refusedWith: 'refuse.stranger' },
      { nothingChanged: true },
    ],
  },
];
