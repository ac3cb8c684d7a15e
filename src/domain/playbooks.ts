/**
 * Section 四 (处置措施) of the plan as data: the steps each incident type requires, who acts,
 * and the condition under which a step applies. Section 五 (处置程序) adds the common steps.
 */
import type { Criticality, EpidemicScenario, IncidentType } from './incident-types.js';

/** Who performs a step: the judicial office, the corrections section, or whichever organised the activity. */
export type StepActor = 'office' | 'section' | 'either';

/**
 * A fact that decides whether a conditional step applies. Some are known when the incident is
 * reported (casualties); the rest stay open until someone marks the step done or not applicable.
 */
export const STEP_CONDITIONS = [
  'casualties',
  'suspected_crime',
  'refuses_to_leave',
  'still_not_found',
  'may_escalate',
  'found',
  'police_needed',
  'subject_died',
  'not_heeded',
  'at_office',
  'other_counties',
] as const;
export type StepCondition = (typeof STEP_CONDITIONS)[number];

export interface PlaybookStep {
  /** Unique within an incident; also the callback-data id of the step. */
  key: string;
  actor: StepActor;
  condition?: StepCondition;
  required: boolean;
  text: { zh: string; en: string };
}

export const CONDITION_TEXT: Readonly<Record<StepCondition, { zh: string; en: string }>> = {
  casualties: { zh: '有人员伤亡', en: 'there are casualties' },
  suspected_crime: { zh: '涉嫌犯罪', en: 'a crime is suspected' },
  refuses_to_leave: { zh: '对象拒不离开', en: 'the subject refuses to leave' },
  still_not_found: { zh: '查找后仍未发现', en: 'still not found after searching' },
  may_escalate: { zh: '可能引发一、二、三类事件', en: 'it may lead to types 1–3' },
  found: { zh: '发现对象下落', en: 'the subject is found' },
  police_needed: { zh: '确有必要', en: 'police are needed' },
  subject_died: { zh: '对象死亡', en: 'the subject died' },
  not_heeded: { zh: '劝阻无效', en: 'verbal warnings are not heeded' },
  at_office: { zh: '发生在司法所', en: 'it happened at a judicial office' },
  other_counties: { zh: '涉及其他县（市、区）', en: 'other counties are involved' },
};

const step = (
  key: string,
  actor: StepActor,
  zh: string,
  en: string,
  opts: { condition?: StepCondition; required?: boolean } = {},
): PlaybookStep => ({
  key,
  actor,
  required: opts.required ?? true,
  text: { zh, en },
  ...(opts.condition ? { condition: opts.condition } : {}),
});

// Shared wording for the steps most types end with.
const punish = (key = 'punish') => step(key, 'section', '依法对社区矫正对象予以处罚', 'Punish the subject according to law');
const reportUpward = () => step('report_upward', 'section', '上报上一级社区矫正机构', 'Report to the upper-level agency');
const notifyProcuratorate = () =>
  step('notify_procuratorate', 'section', '通报执行地人民检察院', 'Notify the procuratorate of the place of execution');
const callPoliceIfRefuses = (actor: StepActor) =>
  step('call_110_refuses', actor, '向公安“110”或执行地派出所报警', 'Call 110 or the local police station', {
    condition: 'refuses_to_leave',
  });

const TYPE_PLAYBOOKS: Readonly<Record<Exclude<IncidentType, 'epidemic'>, readonly PlaybookStep[]>> = {
  violent_crime: [
    step('call_110', 'office', '立即向公安“110”或执行地派出所报警', 'Call 110 or the local police station at once'),
    step('report_section', 'office', '向区司法局社区矫正管理科报告', 'Report to the corrections section'),
    step('go_to_scene', 'either', '管理科和司法所第一时间赶赴现场', 'Section and office go to the scene at once'),
    step(
      'assist_police_counsel',
      'either',
      '配合公安开展思想教育和心理疏导，控制事态',
      'Assist the police: talk down and counsel the subject, contain the situation',
    ),
    step('call_120', 'either', '立即拨打120或协调医院救治', 'Call 120 or arrange hospital treatment', { condition: 'casualties' }),
    punish(),
    reportUpward(),
    notifyProcuratorate(),
    step('assist_investigation', 'either', '配合公安开展犯罪侦查和调查取证', 'Assist the police investigation and evidence collection', {
      condition: 'suspected_crime',
    }),
  ],
  mass_incident: [
    step('educate_persuade', 'either', '批评教育，劝导其离开现场', 'Criticise and educate the subject; persuade them to leave the scene'),
    step('notify_police', 'either', '向公安机关通报情况', 'Notify the police'),
    callPoliceIfRefuses('either'),
    punish(),
    reportUpward(),
    notifyProcuratorate(),
  ],
  abnormal_petition: [
    step('notify_petitions_office', 'either', '向同级信访部门通报情况', 'Notify the petitions office at the same level'),
    step('persuade_bring_back', 'either', '协助说服教育并将其带回执行地', 'Help persuade the subject and bring them back to the place of execution'),
    punish(),
    reportUpward(),
    notifyProcuratorate(),
    step('handle_claims', 'section', '认真研究处理合法合理诉求', "Study and handle the subject's legitimate and reasonable claims"),
  ],
  absconding: [
    step('search_phone', 'office', '通讯联络查找', 'Search by phone and messages'),
    step('search_system', 'office', '信息化核查', 'Information-system check'),
    step('search_field', 'office', '实地查访', 'Field visits'),
    step('report_section_not_found', 'office', '查找未果，上报管理科', 'Still not found: report to the section', {
      condition: 'still_not_found',
    }),
    step('notify_local_police', 'office', '立即通知执行地派出所协助查找并上报管理科', 'Notify the local police station at once to help search, and report to the section', {
      condition: 'may_escalate',
    }),
    step('request_police_search', 'section', '通知执行地公安机关协助查找', 'Ask the police at the place of execution to help search'),
    reportUpward(),
    notifyProcuratorate(),
    step('order_report_or_bring_back', 'office', '责令其立即到司法所报告；情形紧急的立即带回', 'Order the subject to report to the office at once; if urgent, bring them back', {
      condition: 'found',
    }),
    punish(),
    // The seed ties only the order to report to "found"; punishment and its reports follow in any case.
    step('report_final_punishment', 'section', '将最终处罚结果上报上一级社区矫正机构', 'Report the final punishment to the upper-level agency'),
    step('notify_procuratorate_final', 'section', '将最终处罚结果通报执行地人民检察院', 'Notify the procuratorate of the final punishment'),
  ],
  disruption: [
    step('keep_order_remove', 'either', '维护现场秩序，将违规人员劝离现场并批评训诫，教育其他人员', 'Keep order, remove the offender, admonish them and educate the others'),
    callPoliceIfRefuses('either'),
    punish(),
    reportUpward(),
    notifyProcuratorate(),
  ],
  abnormal_death: [
    step('verify_with_family', 'either', '立即联系家属、监护人、保证人等核实情况', 'Contact family, guardian, guarantor and others at once to verify'),
    step('call_110_if_needed', 'either', '必要时向公安“110”或执行地派出所报警', 'If needed, call 110 or the local police station to the scene', {
      condition: 'police_needed',
    }),
    step('terminate_correction', 'section', '核实后按程序终止社区矫正', 'Once the death is verified, terminate the community correction by procedure'),
    reportUpward(),
    step('notify_court', 'section', '通报原判法院或决定机关', 'Notify the sentencing court or deciding authority'),
    notifyProcuratorate(),
  ],
  activity_casualty: [
    step('call_120', 'either', '立即拨打120或联系医院救治', 'Call 120 or arrange hospital treatment at once'),
    step('notify_family', 'either', '通知对象家属，做好解释工作', 'Notify the family and explain'),
    step('stop_activity_inspect', 'either', '终止活动，开展现场设施安全检查', "Stop the activity and inspect the site's facilities"),
    step('terminate_correction', 'section', '按死亡程序终止社区矫正', 'Terminate the community correction by the death procedure', {
      condition: 'subject_died',
    }),
    reportUpward(),
    // The procuratorate has its own step below, so it is not counted twice.
    step('notify_authority_police', 'section', '通报决定机关和公安机关', 'Notify the deciding authority and the police'),
    notifyProcuratorate(),
  ],
  workplace_violence: [
    step('stop_verbally', 'either', '现场工作人员立即语言劝诫制止', 'Staff on site stop the subject verbally'),
    step('call_110_not_heeded', 'either', '不听劝阻的立即报警；情形紧急的使用执勤装备制止', 'If not heeded, call 110; if urgent, stop the violence with on-duty equipment', {
      condition: 'not_heeded',
    }),
    step('phone_report_section', 'office', '处置后立即电话报告管理科', 'Phone-report to the section right after handling', {
      condition: 'at_office',
    }),
    punish(),
    reportUpward(),
    notifyProcuratorate(),
  ],
  sensitive_period_entry: [
    step('contact_verify_leave', 'either', '立即联系对象核实情况，要求其离开', 'Contact the subject at once to verify, and require them to leave'),
    step('dispatch_and_call_110', 'either', '拒不离开的，立即派员赶赴现场并同步报警', 'If they refuse, send staff to the scene and call 110 at the same time', {
      condition: 'refuses_to_leave',
    }),
    punish(),
    reportUpward(),
    notifyProcuratorate(),
  ],
  other: [
    step('handle_on_site', 'either', '根据实际情况先予现场处置', 'Handle on site as the facts require'),
    step('coordinate_police', 'either', '联系协调公安等相关职能部门妥善处置', 'Coordinate the police and other departments'),
    step('punish', 'section', '对应予处罚的对象依法处罚', 'Punish the subject if warranted', { required: false }),
    reportUpward(),
    notifyProcuratorate(),
  ],
};

const EPIDEMIC_PLAYBOOKS: Readonly<Record<EpidemicScenario, readonly PlaybookStep[]>> = {
  s1: [
    step('stop_activity', 'either', '立即停止正在开展的活动', 'Stop the activity at once'),
    step('isolate_subject', 'either', '将该对象单独安置', 'Isolate the subject'),
    step('contact_epidemic_control', 'either', '联系社区或疫情防控部门，配合转运、隔离', 'Contact the community or epidemic control; help transfer and isolate'),
    step('counsel', 'either', '做好心理疏导', 'Counsel the subject'),
    step('keep_others_on_site', 'either', '其他在场人员留在场所内等待疫情防控部门通知', 'Keep everyone else on site until epidemic control says otherwise'),
  ],
  s2: [
    step('learn_facts', 'either', '向疫情防控部门了解情况', 'Learn the facts from epidemic control'),
    step('require_cooperation', 'either', '要求对象积极配合属地疫情防控', 'Require the subject to cooperate with local epidemic control'),
    step('counsel', 'either', '做好心理疏导', 'Counsel the subject'),
    step('follow_up', 'either', '做好后续动态关注', 'Follow up'),
  ],
  s3: [
    step('contact_subject', 'either', '立即与外出对象取得联系，了解情况', 'Contact the subject at once'),
    step('contact_local_epidemic_control', 'either', '联系当地疫情防控部门，明确状态和措施', 'Contact the local epidemic control; establish status and measures'),
    step('counsel', 'either', '做好心理疏导和后续动态关注', 'Counsel the subject and follow up'),
    step('daily_contact', 'office', '每日与外出对象保持联系', 'Keep daily contact with the subject while away'),
  ],
  s4: [
    step('learn_facts', 'either', '向疫情防控部门了解情况', 'Learn the facts from epidemic control'),
    step('require_cooperation', 'either', '要求对象积极配合属地疫情防控', 'Require the subject to cooperate with local epidemic control'),
    step('screen_staff_subjects', 'either', '按要求对工作人员和其余对象开展排查', 'Screen staff and other subjects as epidemic control requires'),
    step('phone_report_screening', 'section', '排查结果第一时间电话报告上一级社区矫正机构', 'Phone-report the screening results upward at once'),
    step('written_report_screening', 'section', '情况基本明确后向上一级书面报告', 'Send a written report upward once the facts are clear'),
  ],
};

/** 五(一)(二): every incident is reported to the section, upward level by level, and to the procuratorate. */
const COMMON_PROCEDURE: readonly PlaybookStep[] = [
  step('report_section', 'office', '向区司法局社区矫正管理科报告', 'Report to the corrections section'),
  reportUpward(),
  notifyProcuratorate(),
  step('notify_other_counties', 'section', '通报相关县（市、区）司法行政机关协助配合', 'Notify the justice bureaus of the other counties involved', {
    condition: 'other_counties',
  }),
];

/** The type's own steps (四), then the common procedure (五) for any it did not already name. */
export function playbookFor(type: IncidentType, scenario?: EpidemicScenario | null): readonly PlaybookStep[] {
  let own: readonly PlaybookStep[];
  if (type === 'epidemic') {
    if (!scenario) throw new RangeError('an epidemic incident needs a scenario');
    own = EPIDEMIC_PLAYBOOKS[scenario];
  } else {
    own = TYPE_PLAYBOOKS[type];
  }
  const keys = new Set(own.map((s) => s.key));
  return [...own, ...COMMON_PROCEDURE.filter((s) => !keys.has(s.key))];
}

/** What is known about an incident that decides conditional steps; undefined means "not known yet". */
export interface IncidentFacts {
  injured: number;
  dead: number;
  otherCounties?: boolean;
  atOffice?: boolean;
}

export type StepApplicability = { applies: 'yes' } | { applies: 'no'; reason: StepCondition } | { applies: 'unknown'; condition: StepCondition };

/** Decides a step from the facts at hand; only casualties and counties are known when the report is made. */
export function stepApplicability(s: PlaybookStep, facts: IncidentFacts): StepApplicability {
  if (!s.condition) return { applies: 'yes' };
  const known = knownCondition(s.condition, facts);
  if (known === undefined) return { applies: 'unknown', condition: s.condition };
  return known ? { applies: 'yes' } : { applies: 'no', reason: s.condition };
}

function knownCondition(condition: StepCondition, facts: IncidentFacts): boolean | undefined {
  switch (condition) {
    case 'casualties':
      return facts.injured + facts.dead > 0;
    case 'other_counties':
      return facts.otherCounties ?? false;
    case 'at_office':
      return facts.atOffice;
    default:
      return undefined;
  }
}

export type StepState = 'pending' | 'done' | 'not_applicable';

export interface StepInstance {
  key: string;
  ordinal: number;
  actor: StepActor;
  required: boolean;
  condition: StepCondition | null;
  state: StepState;
  /** Why a step is not applicable: a condition that does not hold, or a note from the person who marked it. */
  naReason: string | null;
}

/** The checklist an incident starts with: every step, none dropped; those whose condition fails are not applicable. */
export function instantiatePlaybook(
  type: IncidentType,
  scenario: EpidemicScenario | null | undefined,
  facts: IncidentFacts,
  /** The checklist under the bureau's edits (./plan-variants.ts); the plan's by default. */
  playbook: readonly PlaybookStep[] = playbookFor(type, scenario),
): StepInstance[] {
  return playbook.map((s, i) => {
    const a = stepApplicability(s, facts);
    return {
      key: s.key,
      ordinal: i + 1,
      actor: s.actor,
      required: s.required,
      condition: s.condition ?? null,
      state: a.applies === 'no' ? 'not_applicable' : 'pending',
      naReason: a.applies === 'no' ? `condition:${a.reason}` : null,
    };
  });
}

/** Looks up a step's definition by key for an incident's type, for rendering and validation. */
export function findPlaybookStep(type: IncidentType, scenario: EpidemicScenario | null | undefined, key: string): PlaybookStep | undefined {
  return playbookFor(type, scenario).find((s) => s.key === key) ?? SETTING_STEPS.find((s) => s.key === key);
}

/** 三(一): where the bureau's settings ask for it, the section reports to the district people's government, as a step of its own. */
export const DISTRICT_GOVERNMENT_STEP: PlaybookStep = step('report_district_government', 'section', '向区人民政府报告', 'Report to the district people’s government');

/** Steps the bureau's settings add to a checklist, beyond the plan's playbooks. */
const SETTING_STEPS: readonly PlaybookStep[] = [DISTRICT_GOVERNMENT_STEP];

/**
 * The checklist with the steps the bureau's settings add, after the playbook's: 向区人民政府报告 for
 * the criticalities `reportToDistrictGovernment` names (none by default). Pure.
 */
export function withSettingSteps(steps: readonly StepInstance[], criticality: Criticality, reportToDistrictGovernment: readonly Criticality[]): StepInstance[] {
  if (!reportToDistrictGovernment.includes(criticality) || steps.some((s) => s.key === DISTRICT_GOVERNMENT_STEP.key)) return [...steps];
  const s = DISTRICT_GOVERNMENT_STEP;
  return [...steps, { key: s.key, ordinal: steps.length + 1, actor: s.actor, required: s.required, condition: null, state: 'pending', naReason: null }];
}
