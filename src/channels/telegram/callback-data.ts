/**
 * Callback data carries an action and ids only, never a name: `<action>:<id>:<key>:<version>`, at most
 * 64 bytes. Everything parsed from a button is untrusted: it goes through zod, and the server re-checks
 * permission and version on every press.
 */
import { z } from 'zod';

export const CALLBACK_ACTIONS = [
  // incident card
  'card', // open or redraw the card
  'ack', // 签收
  'prog', // 续报
  'asgn', // 指派 roles
  'upper', // 上报上一级 done
  'proc', // 通报检察院 done
  'close', // close
  'falarm', // close as false alarm
  'step', // open a step's actions
  'sdone', // mark step done
  'sna', // mark step not applicable
  'snote', // add a note to a step
  'search', // absconding search attempt
  'found', // absconding outcome
  'list', // /incidents page
  // subjects and away
  'contact', // log a daily contact for a subject
  'abscond', // open an absconding report prefilled for a subject
  'away', // absence actions
  // written reports, releases, drills (issue 5)
  'wr',
  'rel',
  'drill',
  'stats', // /stats month choice and CSV exports
  'acct', // manual accountability finding (谎报、瞒报)
  'scr', // screening result for a subject
  'cty', // cross-county notification
  // conversational form steps
  'f', // flow choice: key = choice, id = flow token
  'lang', // /language: key = zh | en
  'nop',
] as const;
export type CallbackAction = (typeof CALLBACK_ACTIONS)[number];

const uuid = z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
const key = z.string().regex(/^[A-Za-z0-9_.-]{1,24}$/);

export const callbackSchema = z.object({
  a: z.enum(CALLBACK_ACTIONS),
  i: uuid.optional(),
  k: key.optional(),
  v: z.coerce.number().int().min(0).max(1_000_000).optional(),
});
export type CallbackData = z.infer<typeof callbackSchema>;

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
