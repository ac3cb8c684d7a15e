/**
 * Every step of every playbook in domain.md (四 处置措施), with its actor and condition, then the common
 * procedure of 五 added once. The expected tables are written from domain.md, not from the code.
 * Actor: O = office, S = section, E = either (O/S, O+S, or staff on site).
 */
import { describe, expect, it } from 'vitest';
import {
  EPIDEMIC_SCENARIOS,
  INCIDENT_TYPES,
  instantiatePlaybook,
  playbookFor,
  findPlaybookStep,
  STEP_CONDITIONS,
  type EpidemicScenario,
  type IncidentType,
  type StepActor,
  type StepCondition,
} from '../../src/domain/index.js';

type Row = [key: string, actor: 'O' | 'S' | 'E', condition?: StepCondition | null, required?: boolean];
const ACTOR: Record<Row[1], StepActor> = { O: 'office', S: 'section', E: 'either' };

// 五(一): report to the section, report upward, notify the procuratorate; other counties when involved.
const COMMON: Row[] = [
  ['report_section', 'O'],
  ['report_upward', 'S'],
  ['notify_procuratorate', 'S'],
  ['notify_other_counties', 'S', 'other_counties'],
];

const TYPES: Record<Exclude<IncidentType, 'epidemic'>, Row[]> = {
  // 一: O call 110 · O report to section · O+S go to the scene · O+S assist police · (casualties) 120 ·
  // S punish · S report upward · S notify procuratorate · (suspected crime) assist investigation.
  violent_crime: [
    ['call_110', 'O'],
    ['report_section', 'O'],
    ['go_to_scene', 'E'],
    ['assist_police_counsel', 'E'],
    ['call_120', 'E', 'casualties'],
    ['punish', 'S'],
    ['report_upward', 'S'],
    ['notify_procuratorate', 'S'],
    ['assist_investigation', 'E', 'suspected_crime'],
  ],
  // 二: O/S educate and persuade · O/S notify police · (refuses to leave) 110 · S punish · upward · procuratorate.
  mass_incident: [
    ['educate_persuade', 'E'],
    ['notify_police', 'E'],
    ['call_110_refuses', 'E', 'refuses_to_leave'],
    ['punish', 'S'],
    ['report_upward', 'S'],
    ['notify_procuratorate', 'S'],
  ],
  // 三: O/S notify petitions office · O/S persuade and bring back · S punish · upward · procuratorate · S claims.
  abnormal_petition: [
    ['notify_petitions_office', 'E'],
    ['persuade_bring_back', 'E'],
    ['punish', 'S'],
    ['report_upward', 'S'],
    ['notify_procuratorate', 'S'],
    ['handle_claims', 'S'],
  ],
  // 四: O search by phone, system, field · (still not found) O report · (may escalate) O notify police ·
  // S ask police · S upward · S procuratorate · (found) order to report · S punish · S final upward · S procuratorate.
  absconding: [
    ['search_phone', 'O'],
    ['search_system', 'O'],
    ['search_field', 'O'],
    ['report_section_not_found', 'O', 'still_not_found'],
    ['notify_local_police', 'O', 'may_escalate'],
    ['request_police_search', 'S'],
    ['report_upward', 'S'],
    ['notify_procuratorate', 'S'],
    ['order_report_or_bring_back', 'O', 'found'],
    ['punish', 'S'],
    ['report_final_punishment', 'S'],
    ['notify_procuratorate_final', 'S'],
  ],
  // 五: O/S keep order and remove · (refuses) 110 · S punish · upward · procuratorate.
  disruption: [
    ['keep_order_remove', 'E'],
    ['call_110_refuses', 'E', 'refuses_to_leave'],
    ['punish', 'S'],
    ['report_upward', 'S'],
    ['notify_procuratorate', 'S'],
  ],
  // 六: O/S verify with family · (if needed) 110 · S terminate · S upward · S court · S procuratorate.
  abnormal_death: [
    ['verify_with_family', 'E'],
    ['call_110_if_needed', 'E', 'police_needed'],
    ['terminate_correction', 'S'],
    ['report_upward', 'S'],
    ['notify_court', 'S'],
    ['notify_procuratorate', 'S'],
  ],
  // 七: O/S 120 · O/S family · O/S stop and inspect · (died) S terminate · S upward · S authority, procuratorate, police.
  activity_casualty: [
    ['call_120', 'E'],
    ['notify_family', 'E'],
    ['stop_activity_inspect', 'E'],
    ['terminate_correction', 'S', 'subject_died'],
    ['report_upward', 'S'],
    ['notify_authority_police', 'S'],
    ['notify_procuratorate', 'S'],
  ],
  // 八: staff on site stop verbally · (not heeded) 110 · (at an office) O phone-report · S punish · upward · procuratorate.
  workplace_violence: [
    ['stop_verbally', 'E'],
    ['call_110_not_heeded', 'E', 'not_heeded'],
    ['phone_report_section', 'O', 'at_office'],
    ['punish', 'S'],
    ['report_upward', 'S'],
    ['notify_procuratorate', 'S'],
  ],
  // 十: O/S contact and require to leave · (refuses) dispatch + 110 · S punish · upward · procuratorate.
  sensitive_period_entry: [
    ['contact_verify_leave', 'E'],
    ['dispatch_and_call_110', 'E', 'refuses_to_leave'],
    ['punish', 'S'],
    ['report_upward', 'S'],
    ['notify_procuratorate', 'S'],
  ],
  // 十一: handle on site · coordinate police · S punish if warranted (not required) · upward · procuratorate.
  other: [
    ['handle_on_site', 'E'],
    ['coordinate_police', 'E'],
    ['punish', 'S', null, false],
    ['report_upward', 'S'],
    ['notify_procuratorate', 'S'],
  ],
};

const EPIDEMIC: Record<EpidemicScenario, Row[]> = {
  // 情形一: stop the activity · isolate · contact epidemic control · counsel · keep the others on site.
  s1: [
    ['stop_activity', 'E'],
    ['isolate_subject', 'E'],
    ['contact_epidemic_control', 'E'],
    ['counsel', 'E'],
    ['keep_others_on_site', 'E'],
  ],
  // 情形二: learn facts · require cooperation · counsel · follow up.
  s2: [
    ['learn_facts', 'E'],
    ['require_cooperation', 'E'],
    ['counsel', 'E'],
    ['follow_up', 'E'],
  ],
  // 情形三: contact the subject · contact local epidemic control · counsel · the office keeps daily contact.
  s3: [
    ['contact_subject', 'E'],
    ['contact_local_epidemic_control', 'E'],
    ['counsel', 'E'],
    ['daily_contact', 'O'],
  ],
  // 情形四: learn facts · require cooperation · screen · phone-report upward at once · written report later.
  s4: [
    ['learn_facts', 'E'],
    ['require_cooperation', 'E'],
    ['screen_staff_subjects', 'E'],
    ['phone_report_screening', 'S'],
    ['written_report_screening', 'S'],
  ],
};

/** The type's own steps, then each common step it did not already name. */
function withCommon(own: Row[]): Row[] {
  const keys = new Set(own.map((r) => r[0]));
  return [...own, ...COMMON.filter((r) => !keys.has(r[0]))];
}

const view = (type: IncidentType, scenario?: EpidemicScenario) =>
  playbookFor(type, scenario ?? null).map((s) => [s.key, s.actor, s.condition ?? null, s.required]);
const expected = (rows: Row[]) => rows.map(([key, actor, condition, required]) => [key, ACTOR[actor], condition ?? null, required ?? true]);

describe('playbooks (四) with the common procedure (五)', () => {
  it.each(Object.keys(TYPES) as Array<keyof typeof TYPES>)('%s: every step, actor and condition, in order', (type) => {
    expect(view(type)).toEqual(expected(withCommon(TYPES[type])));
  });

  it.each([...EPIDEMIC_SCENARIOS])('epidemic %s: every step, actor and condition, in order', (scenario) => {
    expect(view('epidemic', scenario)).toEqual(expected(withCommon(EPIDEMIC[scenario])));
  });

  it('covers all eleven types and all four epidemic scenarios', () => {
    expect([...Object.keys(TYPES), 'epidemic'].sort()).toEqual([...INCIDENT_TYPES].sort());
    expect(Object.keys(EPIDEMIC).sort()).toEqual([...EPIDEMIC_SCENARIOS].sort());
  });

  const all: Array<[string, ReturnType<typeof playbookFor>]> = [
    ...INCIDENT_TYPES.filter((t) => t !== 'epidemic').map((t) => [t, playbookFor(t)] as [string, ReturnType<typeof playbookFor>]),
    ...EPIDEMIC_SCENARIOS.map((s) => [`epidemic/${s}`, playbookFor('epidemic', s)] as [string, ReturnType<typeof playbookFor>]),
  ];

  it.each(all)('%s: the common procedure appears exactly once, and keys are unique', (_, steps) => {
    const keys = steps.map((s) => s.key);
    expect(new Set(keys).size).toBe(keys.length);
    for (const [key] of COMMON) expect(keys.filter((k) => k === key)).toHaveLength(1);
  });

  it.each(all)('%s: every step has zh and en text and a known condition', (_, steps) => {
    for (const s of steps) {
      expect(s.text.zh.trim()).not.toBe('');
      expect(s.text.en.trim()).not.toBe('');
      if (s.condition) expect(STEP_CONDITIONS).toContain(s.condition);
      expect(s.key).toMatch(/^[a-z0-9_]+$/);
    }
  });

  it('an epidemic incident needs a scenario', () => {
    expect(() => playbookFor('epidemic')).toThrow(RangeError);
  });

  it('finds a step by key for the incident type', () => {
    expect(findPlaybookStep('absconding', null, 'search_field')?.actor).toBe('office');
    expect(findPlaybookStep('absconding', null, 'call_120')).toBeUndefined();
    expect(findPlaybookStep('epidemic', 's3', 'daily_contact')?.actor).toBe('office');
  });
});

describe('instantiating a checklist from the facts at report time', () => {
  const stateOf = (steps: ReturnType<typeof instantiatePlaybook>, key: string) => steps.find((s) => s.key === key)!;

  it('a casualty step applies with casualties and is kept as not applicable (with a reason) without', () => {
    const hurt = instantiatePlaybook('violent_crime', null, { injured: 1, dead: 0 });
    expect(stateOf(hurt, 'call_120')).toMatchObject({ state: 'pending', naReason: null });
    const dead = instantiatePlaybook('violent_crime', null, { injured: 0, dead: 1 });
    expect(stateOf(dead, 'call_120').state).toBe('pending');
    const none = instantiatePlaybook('violent_crime', null, { injured: 0, dead: 0 });
    expect(stateOf(none, 'call_120')).toMatchObject({ state: 'not_applicable', naReason: 'condition:casualties' });
    // Never dropped: the same number of steps either way.
    expect(none).toHaveLength(hurt.length);
  });

  it('conditions only known later stay pending', () => {
    const steps = instantiatePlaybook('absconding', null, { injured: 0, dead: 0 });
    for (const key of ['report_section_not_found', 'notify_local_police', 'order_report_or_bring_back']) {
      expect(stateOf(steps, key)).toMatchObject({ state: 'pending', naReason: null });
    }
  });

  it('other counties: not applicable unless named', () => {
    expect(stateOf(instantiatePlaybook('other', null, { injured: 0, dead: 0 }), 'notify_other_counties').state).toBe('not_applicable');
    expect(stateOf(instantiatePlaybook('other', null, { injured: 0, dead: 0, otherCounties: true }), 'notify_other_counties').state).toBe('pending');
  });

  it('at an office: pending when unknown or true, not applicable when false', () => {
    const at = (atOffice?: boolean) =>
      stateOf(instantiatePlaybook('workplace_violence', null, { injured: 0, dead: 0, ...(atOffice === undefined ? {} : { atOffice }) }), 'phone_report_section').state;
    expect(at(undefined)).toBe('pending');
    expect(at(true)).toBe('pending');
    expect(at(false)).toBe('not_applicable');
  });

  it('numbers steps from 1 in playbook order and copies actor, condition and required', () => {
    const steps = instantiatePlaybook('other', null, { injured: 0, dead: 0 });
    expect(steps.map((s) => s.ordinal)).toEqual(steps.map((_, i) => i + 1));
    expect(stateOf(steps, 'punish')).toMatchObject({ actor: 'section', required: false, condition: null });
  });
});
