/**
 * The eleven kinds of incident in section 一 of the plan (适用范围), and the four
 * epidemic scenarios of 四(九). Definitions are the seed's own words.
 */

export const INCIDENT_TYPES = [
  'violent_crime',
  'mass_incident',
  'abnormal_petition',
  'absconding',
  'disruption',
  'abnormal_death',
  'activity_casualty',
  'workplace_violence',
  'epidemic',
  'sensitive_period_entry',
  'other',
] as const;
export type IncidentType = (typeof INCIDENT_TYPES)[number];

export const EPIDEMIC_SCENARIOS = ['s1', 's2', 's3', 's4'] as const;
export type EpidemicScenario = (typeof EPIDEMIC_SCENARIOS)[number];

export type Criticality = 'critical' | 'standard';

export interface IncidentTypeInfo {
  code: IncidentType;
  /** Ordinal in the plan, 一 … 十一. */
  ordinal: string;
  name: { zh: string; en: string };
  /** The seed's definition, 一、适用范围. */
  definition: { zh: string; en: string };
  /** Default criticality; for epidemic it depends on the scenario. */
  criticality: Criticality;
}

export const INCIDENT_TYPE_INFO: Readonly<Record<IncidentType, IncidentTypeInfo>> = {
  violent_crime: {
    code: 'violent_crime',
    ordinal: '一',
    name: { zh: '行凶犯罪或以要挟为目的的自伤', en: 'Violent crime or coercive self-harm' },
    definition: {
      zh: '社区矫正对象准备或正在实施行凶、杀人、放火、抢劫、绑架等犯罪，或者以要挟或制造重大社会影响为目的的自杀、自焚、自残等行为的。',
      en: 'The subject is preparing or committing assault, homicide, arson, robbery, kidnapping or a similar crime, or suicide, self-immolation or self-harm meant to coerce or to cause major social impact.',
    },
    criticality: 'critical',
  },
  mass_incident: {
    code: 'mass_incident',
    ordinal: '二',
    name: { zh: '组织或参与群体性事件', en: 'Mass incident' },
    definition: {
      zh: '社区矫正对象非法组织或参与群体性事件的。',
      en: 'The subject illegally organises or takes part in a mass incident.',
    },
    criticality: 'critical',
  },
  abnormal_petition: {
    code: 'abnormal_petition',
    ordinal: '三',
    name: { zh: '参与非正常上访', en: 'Abnormal petitioning' },
    definition: {
      zh: '社区矫正对象参与非正常上访的。',
      en: 'The subject takes part in abnormal petitioning.',
    },
    criticality: 'standard',
  },
  absconding: {
    code: 'absconding',
    ordinal: '四',
    name: { zh: '脱离监督管理（脱管）', en: 'Absconding from supervision' },
    definition: {
      zh: '社区矫正对象脱离监督管理的。',
      en: 'The subject has escaped supervision and cannot be reached or located.',
    },
    criticality: 'critical',
  },
  disruption: {
    code: 'disruption',
    ordinal: '五',
    name: { zh: '严重滋扰管理秩序', en: 'Serious disruption of an activity' },
    definition: {
      zh: '社区矫正对象在参加教育学习、公益活动等过程中严重滋扰管理秩序的。',
      en: 'The subject seriously disrupts order during education, study or community-service activities.',
    },
    criticality: 'standard',
  },
  abnormal_death: {
    code: 'abnormal_death',
    ordinal: '六',
    name: { zh: '非正常死亡', en: 'Abnormal death' },
    definition: {
      zh: '社区矫正对象非正常死亡的。',
      en: 'The subject dies of unnatural causes.',
    },
    criticality: 'critical',
  },
  activity_casualty: {
    code: 'activity_casualty',
    ordinal: '七',
    name: { zh: '活动中发生人身伤亡', en: 'Casualty during an activity' },
    definition: {
      zh: '社区矫正对象在参加教育学习、公益活动等过程中发生人身伤亡的。',
      en: 'The subject is injured or killed during education, study or community-service activities.',
    },
    criticality: 'critical',
  },
  workplace_violence: {
    code: 'workplace_violence',
    ordinal: '八',
    name: { zh: '工作场所内暴力事件', en: 'Violence at a corrections workplace' },
    definition: {
      zh: '社区矫正工作场所内发生暴力事件的。',
      en: 'A violent incident takes place inside a community-corrections workplace.',
    },
    criticality: 'critical',
  },
  epidemic: {
    code: 'epidemic',
    ordinal: '九',
    name: { zh: '涉及重大疫情相关情形', en: 'Major epidemic situation' },
    definition: {
      zh: '社区矫正对象发生涉及重大疫情相关情形的。',
      en: 'The subject is involved in a situation related to a major epidemic.',
    },
    criticality: 'standard',
  },
  sensitive_period_entry: {
    code: 'sensitive_period_entry',
    ordinal: '十',
    name: { zh: '敏感时段违规进入重要场所', en: 'Entering a restricted venue in a sensitive period' },
    definition: {
      zh: '社区矫正对象在特殊敏感时间段违规进入重要场所和设施的。',
      en: 'The subject enters an important venue or facility without permission during a specially sensitive period.',
    },
    criticality: 'standard',
  },
  other: {
    code: 'other',
    ordinal: '十一',
    name: { zh: '其他突发事件', en: 'Other emergency' },
    definition: {
      zh: '其他突发事件。',
      en: 'Any other emergency involving a subject.',
    },
    criticality: 'standard',
  },
};

export interface EpidemicScenarioInfo {
  code: EpidemicScenario;
  ordinal: string;
  name: { zh: string; en: string };
  definition: { zh: string; en: string };
  criticality: Criticality;
}

export const EPIDEMIC_SCENARIO_INFO: Readonly<Record<EpidemicScenario, EpidemicScenarioInfo>> = {
  s1: {
    code: 's1',
    ordinal: '情形一',
    name: { zh: '工作场所内被赋红黄码', en: 'Flagged red/yellow at a workplace' },
    definition: {
      zh: '社区矫正对象在社区矫正工作场所内被疫情防控部门通知为健康码“红黄码”人员的。',
      en: 'Epidemic control flags the subject red or yellow while at a community-corrections workplace.',
    },
    criticality: 'critical',
  },
  s2: {
    code: 's2',
    ordinal: '情形二',
    name: { zh: '本市辖区内被赋红黄码', en: 'Flagged red/yellow within the city' },
    definition: {
      zh: '社区矫正对象在全市辖区内被疫情防控部门通知为健康码“红黄码”人员的。',
      en: 'Epidemic control flags the subject red or yellow within the city.',
    },
    criticality: 'standard',
  },
  s3: {
    code: 's3',
    ordinal: '情形三',
    name: { zh: '外出期间被赋红黄码', en: 'Flagged red/yellow while away' },
    definition: {
      zh: '社区矫正对象在外出期间被疫情防控部门通知为健康码“红黄码”人员的。',
      en: 'Epidemic control flags the subject red or yellow while the subject is away from home.',
    },
    criticality: 'standard',
  },
  s4: {
    code: 's4',
    ordinal: '情形四',
    name: { zh: '密接、次密接或确诊', en: 'Close contact, secondary contact or confirmed case' },
    definition: {
      zh: '社区矫正对象被疫情防控部门通知为密接、次密接、确诊人员的。',
      en: 'Epidemic control declares the subject a close contact, secondary contact or confirmed case.',
    },
    criticality: 'critical',
  },
};

export function isIncidentType(value: string): value is IncidentType {
  return (INCIDENT_TYPES as readonly string[]).includes(value);
}

export function isEpidemicScenario(value: string): value is EpidemicScenario {
  return (EPIDEMIC_SCENARIOS as readonly string[]).includes(value);
}

/** Criticality drives every timer; epidemic takes it from the scenario. */
export function criticalityOf(type: IncidentType, scenario?: EpidemicScenario | null): Criticality {
  if (type === 'epidemic') {
    if (!scenario) throw new RangeError('an epidemic incident needs a scenario');
    return EPIDEMIC_SCENARIO_INFO[scenario].criticality;
  }
  return INCIDENT_TYPE_INFO[type].criticality;
}
