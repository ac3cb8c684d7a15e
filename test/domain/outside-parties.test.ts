/** Receipts from outside parties (四, 五): which step calls whom, which number a step offers, what a receipt must hold. */
import { describe, expect, it } from 'vitest';
import { INCIDENT_TYPES, playbookFor, EPIDEMIC_SCENARIOS, type IncidentType } from '../../src/domain/index.js';
import { contactsFor, contactsForStep, dialable, partiesOfStep, receiptProblem, stepHowOfMethod, type DirectoryEntry } from '../../src/domain/outside-parties.js';

const OFFICE_A = 'office-a';
const OFFICE_B = 'office-b';
const directory: DirectoryEntry[] = [
  { party: 'police_station', name: '拱宸桥派出所', phone: '0571-8800 0001', officeUnitId: OFFICE_A },
  { party: 'police_station', name: '区公安分局指挥室', phone: '0571-88000000', officeUnitId: null },
  { party: 'procuratorate', name: '拱墅区人民检察院', phone: '0571-88000009', officeUnitId: null },
  { party: 'police_110', name: '市局110指挥中心', phone: '110', officeUnitId: OFFICE_B, note: '直拨' },
];

describe('which step calls which party', () => {
  it('every step that calls 110, 120, the police, the procuratorate, petitions, epidemic control or the court names its parties', () => {
    expect(partiesOfStep('call_110')).toEqual(['police_110', 'police_station']);
    expect(partiesOfStep('call_120')).toEqual(['emergency_120']);
    expect(partiesOfStep('notify_procuratorate')).toEqual(['procuratorate']);
    expect(partiesOfStep('notify_petitions_office')).toEqual(['petitions_office']);
    expect(partiesOfStep('contact_epidemic_control')).toEqual(['epidemic_control']);
    expect(partiesOfStep('notify_court')).toEqual(['deciding_authority']);
    expect(partiesOfStep('notify_other_counties')).toEqual(['other_county']);
    expect(partiesOfStep('report_section')).toEqual([]);
    expect(partiesOfStep('punish')).toEqual([]);
  });

  it('every playbook step whose text calls 110, 120 or notifies the procuratorate is marked', () => {
    const all = INCIDENT_TYPES.flatMap((type: IncidentType) => (type === 'epidemic' ? EPIDEMIC_SCENARIOS.flatMap((s) => playbookFor(type, s)) : playbookFor(type)));
    // 其他在场人员…等待疫情防控部门通知 waits for them; it calls nobody.
    const calling = all.filter((s) => /110|120|检察院|信访部门|疫情防控部门|决定机关/.test(s.text.zh) && s.key !== 'keep_others_on_site');
    expect(calling.length).toBeGreaterThan(10);
    for (const s of calling) expect(partiesOfStep(s.key), s.key).not.toEqual([]);
  });
});

describe('the contact a step offers', () => {
  it("is the office's own entry first, else the bureau-wide one, else the national number", () => {
    expect(contactsFor('police_station', OFFICE_A, directory)).toMatchObject([{ name: '拱宸桥派出所', source: 'office' }]);
    expect(contactsFor('police_station', OFFICE_B, directory)).toMatchObject([{ name: '区公安分局指挥室', source: 'bureau' }]);
    expect(contactsFor('police_110', OFFICE_A, directory)).toEqual([{ party: 'police_110', name: null, phone: '110', note: null, source: 'national' }]);
    expect(contactsFor('police_110', OFFICE_B, directory)).toMatchObject([{ name: '市局110指挥中心', note: '直拨', source: 'office' }]);
    expect(contactsFor('petitions_office', OFFICE_A, directory)).toEqual([]);
  });

  it('a step with two parties offers both, in the step order', () => {
    expect(contactsForStep('call_110', OFFICE_A, directory).map((c) => c.phone)).toEqual(['110', '0571-8800 0001']);
  });

  it('a number is dialled as digits', () => {
    expect(dialable(' 0571-8800 0001 ')).toBe('057188000001');
    expect(dialable('+86 (571) 8800-0001')).toBe('+8657188000001');
  });
});

describe('a receipt', () => {
  const now = new Date('2026-11-29T02:00:00Z');
  const ok = { party: 'police_110', method: 'phone', at: new Date('2026-11-29T01:50:00Z'), answeredBy: '接警员王某', reference: 'JJ-2026-001' };

  it('holds a party of the step, a method, a past time and who answered', () => {
    expect(receiptProblem(ok, 'call_110', now)).toBeUndefined();
    expect(receiptProblem({ ...ok, reference: null }, 'call_110', now)).toBeUndefined();
    expect(receiptProblem({ ...ok, party: 'procuratorate' }, 'call_110', now)).toBe('party');
    expect(receiptProblem({ ...ok, party: 'nobody' }, 'call_110', now)).toBe('party');
    expect(receiptProblem({ ...ok, method: 'pigeon' }, 'call_110', now)).toBe('method');
    expect(receiptProblem({ ...ok, at: new Date('2026-11-29T03:00:00Z') }, 'call_110', now)).toBe('at');
    expect(receiptProblem({ ...ok, answeredBy: '  ' }, 'call_110', now)).toBe('answered_by');
    expect(receiptProblem({ ...ok, reference: 'x'.repeat(65) }, 'call_110', now)).toBe('reference');
  });

  it('marks its step with the method where the step has a word for it', () => {
    expect(stepHowOfMethod('phone')).toBe('phone');
    expect(stepHowOfMethod('in_person')).toBeUndefined();
  });
});
