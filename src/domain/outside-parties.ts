/**
 * The outside parties the plan calls or notifies (四, 五): 110, 120, the police station, the public
 * security organ, the procuratorate, the petitions office, epidemic control, the sentencing court or
 * deciding authority, another county's justice bureau. They do not use the bot: what is done towards them
 * is a step staff mark, and each call or notice leaves a receipt (回执) — how it was made, when, who
 * answered, and a reference number (接警单号…) when there is one. The bureau keeps a directory of them,
 * per office. Pure.
 */

export const OUTSIDE_PARTIES = [
  'police_110',
  'police_station',
  'public_security',
  'emergency_120',
  'procuratorate',
  'petitions_office',
  'epidemic_control',
  'deciding_authority',
  'other_county',
] as const;
export type OutsideParty = (typeof OUTSIDE_PARTIES)[number];

export function isOutsideParty(value: string): value is OutsideParty {
  return (OUTSIDE_PARTIES as readonly string[]).includes(value);
}

/** How the call or notice was made: 电话, 书面, 当面, 系统. */
export const RECEIPT_METHODS = ['phone', 'written', 'in_person', 'system'] as const;
export type ReceiptMethod = (typeof RECEIPT_METHODS)[number];

/**
 * Which playbook step calls or notifies which party, by step key (a key means the same step in every
 * type's playbook). Kept beside the playbooks rather than in them, so the plan's text stays as written;
 * the first party is the one a step usually means.
 */
const STEP_PARTIES: Readonly<Record<string, readonly OutsideParty[]>> = {
  call_110: ['police_110', 'police_station'],
  call_110_refuses: ['police_110', 'police_station'],
  call_110_if_needed: ['police_110', 'police_station'],
  call_110_not_heeded: ['police_110', 'police_station'],
  dispatch_and_call_110: ['police_110', 'police_station'],
  call_120: ['emergency_120'],
  notify_police: ['public_security', 'police_station'],
  coordinate_police: ['public_security', 'police_station'],
  notify_local_police: ['police_station'],
  request_police_search: ['public_security', 'police_station'],
  notify_procuratorate: ['procuratorate'],
  notify_procuratorate_final: ['procuratorate'],
  notify_petitions_office: ['petitions_office'],
  contact_epidemic_control: ['epidemic_control'],
  contact_local_epidemic_control: ['epidemic_control'],
  learn_facts: ['epidemic_control'],
  notify_court: ['deciding_authority'],
  notify_authority_police: ['deciding_authority', 'public_security'],
  notify_other_counties: ['other_county'],
};

/** The parties a step calls or notifies; none for a step that stays within the bureau. */
export function partiesOfStep(stepKey: string): readonly OutsideParty[] {
  return STEP_PARTIES[stepKey] ?? [];
}

export function callsOutsideParty(stepKey: string): boolean {
  return partiesOfStep(stepKey).length > 0;
}

/** One entry of the bureau's directory: a party's unit, its number, for one office or (no office) for all. */
export interface DirectoryEntry {
  party: OutsideParty;
  /** The unit that answers: 拱宸桥派出所, 拱墅区人民检察院. */
  name: string;
  phone: string;
  /** The judicial office this entry serves; null: every office. */
  officeUnitId: string | null;
  note?: string | null;
}

/** Numbers that are the same everywhere, offered when the directory names none for the party. */
const NATIONAL_NUMBERS: Partial<Record<OutsideParty, string>> = { police_110: '110', emergency_120: '120' };

export interface OfferedContact {
  party: OutsideParty;
  name: string | null;
  phone: string;
  note: string | null;
  /** Where it came from: the office's own entry, the bureau-wide one, or the national number. */
  source: 'office' | 'bureau' | 'national';
}

/**
 * The contacts a step offers for an incident of this office: the office's own entries for the party,
 * else the bureau-wide ones, else the national number (110, 120). Order follows the directory.
 */
export function contactsFor(party: OutsideParty, officeUnitId: string, directory: readonly DirectoryEntry[]): OfferedContact[] {
  const ofParty = directory.filter((e) => e.party === party);
  const own = ofParty.filter((e) => e.officeUnitId === officeUnitId);
  const pick = own.length ? own : ofParty.filter((e) => e.officeUnitId === null);
  if (pick.length) return pick.map((e) => ({ party, name: e.name, phone: e.phone, note: e.note ?? null, source: own.length ? 'office' : 'bureau' }));
  const national = NATIONAL_NUMBERS[party];
  return national ? [{ party, name: null, phone: national, note: null, source: 'national' }] : [];
}

/** The contacts of every party a step calls, in the step's order of parties. */
export function contactsForStep(stepKey: string, officeUnitId: string, directory: readonly DirectoryEntry[]): OfferedContact[] {
  return partiesOfStep(stepKey).flatMap((p) => contactsFor(p, officeUnitId, directory));
}

/** A directory number as it is dialled: digits, with a leading + kept; spaces, dashes and brackets dropped. */
export function dialable(phone: string): string {
  const trimmed = phone.trim();
  return (trimmed.startsWith('+') ? '+' : '') + trimmed.replace(/[^0-9]/g, '');
}

/** The longest texts a receipt keeps, in characters. */
export const RECEIPT_LIMITS = { answeredBy: 100, reference: 64 } as const;

export interface ReceiptInput {
  party: string;
  method: string;
  at: Date;
  answeredBy: string;
  reference?: string | null;
}

export type ReceiptProblem = 'party' | 'method' | 'at' | 'answered_by' | 'reference';

/** Five minutes of slack for clocks and "just now". */
const FUTURE_SLACK_MS = 5 * 60_000;

/**
 * What is wrong with a receipt, if anything: a party the step calls, a known method, a time not in the
 * future, who answered (required: the plan's accountability asks who was told), a reference within limits.
 */
export function receiptProblem(input: ReceiptInput, stepKey: string, now: Date): ReceiptProblem | undefined {
  if (!isOutsideParty(input.party) || !partiesOfStep(stepKey).includes(input.party)) return 'party';
  if (!(RECEIPT_METHODS as readonly string[]).includes(input.method)) return 'method';
  if (input.at.getTime() - now.getTime() > FUTURE_SLACK_MS) return 'at';
  const who = input.answeredBy.trim();
  if (who === '' || who.length > RECEIPT_LIMITS.answeredBy) return 'answered_by';
  if ((input.reference?.trim().length ?? 0) > RECEIPT_LIMITS.reference) return 'reference';
  return undefined;
}

/** How a receipt's method marks its step (incident_steps.how), where the step has a word for it. */
export function stepHowOfMethod(method: ReceiptMethod): 'phone' | 'written' | 'system' | undefined {
  return method === 'in_person' ? undefined : method;
}
