/**
 * A button's action (../../flows/actions.ts) as Telegram callback data: `<action>:<id>:<key>:<version>`, at
 * most 64 bytes. Everything parsed from a button is untrusted: it goes through zod, and the server
 * re-checks permission and version on every press.
 */
import { BUTTON_ACTIONS, buttonActionSchema, type ButtonAction, type ButtonActionName } from '../../flows/actions.js';

/** Telegram's name for a button's action. */
export type CallbackData = ButtonAction;
export type CallbackAction = ButtonActionName;
export const CALLBACK_ACTIONS = BUTTON_ACTIONS;
export const callbackSchema = buttonActionSchema;

export const MAX_CALLBACK_BYTES = 64;

export function encodeCallback(d: CallbackData): string {
  const s = [d.a, d.i ?? '', d.k ?? '', d.v === undefined ? '' : String(d.v)].join(':').replace(/:+$/, '');
  if (Buffer.byteLength(s) > MAX_CALLBACK_BYTES) throw new RangeError(`callback data over 64 bytes: ${d.a}`);
  return s;
}

/** Parses untrusted callback data; undefined for anything malformed or forged. */
export function decodeCallback(raw: unknown): CallbackData | undefined {
  if (typeof raw !== 'string' || !raw || Buffer.byteLength(raw) > MAX_CALLBACK_BYTES) return undefined;
  const [a, i, k, v, ...rest] = raw.split(':');
  if (rest.length) return undefined;
  const parsed = callbackSchema.safeParse({
    a,
    ...(i ? { i } : {}),
    ...(k ? { k } : {}),
    ...(v ? { v } : {}),
  });
  return parsed.success ? parsed.data : undefined;
}
