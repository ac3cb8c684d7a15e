/**
 * What the runner asks of a channel's driver: act as a person (type, press, open a checklist step,
 * forge a call), and say what that person sees (the texts they received, their incident card, their
 * checklist, the refusal they were given). A driver knows its channel; the runner knows neither.
 */
import { hasMessage, type Lang, type MessageKey } from '../../src/i18n/index.js';
import type { Person } from './table.js';

export interface ChannelDriver {
  readonly channel: 'telegram' | 'wecom';
  /** Binds the seeded person on this channel (the stranger: makes them a user of the channel, bound to nobody). */
  bind(person: Person): Promise<void>;
  type(person: Person, text: string): Promise<void>;
  press(person: Person, label: string): Promise<void>;
  /** Opens checklist step `ordinal` of the person's incident card for marking. */
  openStep(person: Person, ordinal: number, incidentId: string): Promise<void>;
  forgePress(person: Person, label: string): Promise<void>;
  forgeText(person: Person, text: string): Promise<void>;
  /** Whether the last forged call was refused, and recorded where this channel records it. */
  forgeryRecorded(): Promise<boolean>;
  /** Called after every settle: what changed since the last look is newest now. */
  rescan(): void;
  /** A point from which `seen` counts (the scenario's start). */
  markScenario(person: Person): void;
  /** A point from which `seenSinceAction` counts (before each action). */
  markAction(person: Person): void;
  seen(person: Person): string[];
  seenSinceAction(person: Person): string[];
  /** The person's card of the incident as it is now, its buttons included; undefined when they hold none. */
  card(person: Person, incidentId: string): Promise<string | undefined>;
  /** The person's checklist of the incident, one line a step. */
  checklist(person: Person, incidentId: string): Promise<string[]>;
  lang(person: Person): Lang;
  /** The catalogue key this channel says a refusal with. */
  refusalKey(key: MessageKey): MessageKey;
}

/** The seeded staff member each person of the table is. */
export const STAFF_OF = {
  officerA: 'officerA1',
  headA: 'headA',
  section: 'section',
  deputy: 'deputy',
  director: 'director',
  upper: 'upper',
} as const satisfies Record<Exclude<Person, 'stranger'>, string>;

/** A catalogue text or a received one, compared as the person reads it: no markup, entities decoded. */
export function readable(text: string): string {
  return text
    .replace(/<[^>]+>/g, '')
    .replace(/\*\*/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&')
    .trim();
}

/** The channel's own words for a refusal when the catalogue has them (`wecom.<key>`), else the shared ones. */
export function channelKey(prefix: string, key: MessageKey): MessageKey {
  const own = `${prefix}.${key}`;
  return hasMessage(own) ? own : key;
}

/** The button whose text is the label, else the first that contains it. */
export function matchLabel<T extends { text: string }>(items: readonly T[], label: string): T | undefined {
  return items.find((b) => b.text === label) ?? items.find((b) => b.text.includes(label));
}
