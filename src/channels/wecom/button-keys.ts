/**
 * A button's action (../../flows/actions.ts) as a WeCom card button's `key` (it comes back as the
 * callback's EventKey) or a choice card's option id: `<action>:<id>:<key>:<version>`, as Telegram's
 * callback data, so it stays short (WeCom allows 1 024 bytes for a key, 128 for an option id). What
 * comes back is untrusted: it is parsed with buttonActionSchema, and the flows and services check
 * permission and version again on every press.
 *
 * Keys starting with `~` are the adapter's own buttons, which no flow draws: 更多… (the buttons a card
 * could not show, as a choice card) and 处置清单 (an incident's steps as a choice card).
 */
import { buttonActionSchema, type ButtonAction } from '../../flows/actions.js';
import { WECOM_CARD_LIMITS } from './template-card.js';

/** 更多…: the buttons the card could not show. */
export const MORE_KEY = '~more';
/** The submit button of a choice card. */
export const PICK_KEY = '~pick';
/** The one question of a choice card. */
export const CHOICE_QUESTION = 'choice';
const STEPS_PREFIX = '~steps:';

export type OwnKey = { kind: 'more' } | { kind: 'steps'; incidentId: string } | { kind: 'pick' };

export function encodeButtonKey(action: ButtonAction): string {
  const s = [action.a, action.i ?? '', action.k ?? '', action.v === undefined ? '' : String(action.v)].join(':').replace(/:+$/, '');
  if (Buffer.byteLength(s) > WECOM_CARD_LIMITS.optionIdBytes) throw new RangeError(`button key over ${WECOM_CARD_LIMITS.optionIdBytes} bytes: ${action.a}`);
  return s;
}

/** The 处置清单 button of an incident's card. */
export const stepsKey = (incidentId: string): string => `${STEPS_PREFIX}${incidentId}`;

/** A key made unique on its card (two buttons with one action): `#n` is added, and dropped on the way back. */
export const uniqueKey = (key: string, n: number): string => `${key}#${n}`;

const withoutSuffix = (raw: string): string => raw.replace(/#\d{1,2}$/, '');

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The adapter's own key, or undefined for a flow's. */
export function ownKeyOf(raw: string): OwnKey | undefined {
  const key = withoutSuffix(raw);
  if (key === MORE_KEY) return { kind: 'more' };
  if (key === PICK_KEY) return { kind: 'pick' };
  if (key.startsWith(STEPS_PREFIX)) {
    const id = key.slice(STEPS_PREFIX.length);
    return UUID.test(id) ? { kind: 'steps', incidentId: id } : undefined;
  }
  return undefined;
}

/** Parses an untrusted key; undefined for anything malformed or forged. */
export function decodeButtonKey(raw: unknown): ButtonAction | undefined {
  if (typeof raw !== 'string' || raw === '' || Buffer.byteLength(raw) > WECOM_CARD_LIMITS.keyBytes) return undefined;
  const [a, i, k, v, ...rest] = withoutSuffix(raw).split(':');
  if (rest.length) return undefined;
  const parsed = buttonActionSchema.safeParse({ a, ...(i ? { i } : {}), ...(k ? { k } : {}), ...(v ? { v } : {}) });
  return parsed.success ? parsed.data : undefined;
}
