/**
 * Seeded generators of hostile Telegram updates (fast-check): random JSON, real update shapes with fields
 * of the wrong type or missing, huge strings, unknown update kinds, and forged callback data — actions the
 * bot knows with ids of incidents the sender may not touch, versions from nowhere, bytes past 64.
 */
import fc from 'fast-check';
import { CALLBACK_ACTIONS } from '../../../src/channels/telegram/callback-data.js';

export interface FuzzPeople {
  /** Telegram ids of staff (who may pass the gate and reach deeper code). */
  staff: number[];
  /** Incident ids and other uuids to forge callbacks with. */
  ids: string[];
}

/** Ids no staff member has: strangers. */
export const STRANGER_MIN = 500_000_000;
const stranger = fc.integer({ min: STRANGER_MIN, max: STRANGER_MIN + 1_000_000 });

const weird = fc.oneof(
  fc.jsonValue(),
  fc.string({ maxLength: 50 }),
  fc.integer(),
  fc.double(),
  fc.constant(null),
  fc.boolean(),
  fc.array(fc.anything({ maxDepth: 2 }), { maxLength: 4 }),
  fc.constant(''),
  fc.constant('x'.repeat(5_000)),
);

const hugeText = fc.oneof(fc.constant('字'.repeat(4_097)), fc.constant('a'.repeat(100_000)), fc.string({ minLength: 4_000, maxLength: 5_000 }), fc.constant('\u0000\uFFFF\uD800'));

export function updateArbitrary(people: FuzzPeople): fc.Arbitrary<unknown> {
  const who = fc.oneof({ weight: 7, arbitrary: stranger }, { weight: 3, arbitrary: fc.constantFrom(...people.staff) });
  const user = (id: fc.Arbitrary<number>) => id.map((i) => ({ id: i, is_bot: false, first_name: 'F', language_code: 'zh' }));
  const text = fc.oneof(
    fc.constantFrom('/start', '/report', '/incidents', '/cancel', '/help', '/subjects', '/away', '/lang en', '/start bogus-invite', '/start ' + 'A'.repeat(64)),
    fc.string({ maxLength: 200 }),
    hugeText,
  );
  const message = fc.record({ id: who, text, date: fc.integer({ min: 0, max: 2 ** 31 }) }).map(({ id, text, date }) => ({
    message_id: (date % 100_000) + 1,
    date,
    chat: { id, type: 'private', first_name: 'F' },
    from: { id, is_bot: false, first_name: 'F' },
    text,
  }));
  const callbackData = fc.oneof(
    fc
      .record({ a: fc.constantFrom(...CALLBACK_ACTIONS), i: fc.oneof(fc.constantFrom(...people.ids), fc.uuid(), fc.constant('')), k: fc.oneof(fc.constantFrom('open', 'ack', 'type', 'submit', 'pick', 'now', '0', 'n1', '_back', '_cancel', 'violent_crime'), fc.string({ maxLength: 30 })), v: fc.oneof(fc.integer({ min: -5, max: 2_000_000 }), fc.constant('')) })
      .map(({ a, i, k, v }) => `${a}:${i}:${k}:${v}`),
    fc.string({ maxLength: 100 }),
    fc.constant(':::::'),
  );
  const callback = fc.record({ id: who, data: callbackData, qid: fc.string({ minLength: 1, maxLength: 20 }), mid: fc.integer({ min: -1, max: 1_000_000 }) }).map(({ id, data, qid, mid }) => ({
    id: qid,
    from: { id, is_bot: false, first_name: 'F' },
    chat_instance: '1',
    data,
    message: { message_id: mid, date: 0, chat: { id, type: 'private' } },
  }));
  const shaped = fc.oneof(
    message.map((m) => ({ message: m })),
    message.map((m) => ({ edited_message: m })),
    callback.map((c) => ({ callback_query: c })),
    user(who).map((u) => ({ my_chat_member: { chat: { id: u.id, type: 'private' }, from: u, date: 0, old_chat_member: { status: 'member', user: u }, new_chat_member: { status: 'kicked', user: u } } })),
    who.map((id) => ({ message: { message_id: 1, date: 0, chat: { id: -id, type: 'supergroup', title: 'g' }, from: { id, is_bot: false, first_name: 'F' }, text: '/report' } })),
    who.map((id) => ({ message: { message_id: 1, date: 0, chat: { id, type: 'private' }, from: { id, is_bot: false, first_name: 'F' }, location: { latitude: 999, longitude: -999 } } })),
    who.map((id) => ({ message: { message_id: 1, date: 0, chat: { id, type: 'private' }, from: { id, is_bot: false, first_name: 'F' }, photo: [{ file_id: 'x', file_unique_id: 'y', width: -1, height: 'a' }] } })),
    fc.record({ kind: fc.string({ minLength: 1, maxLength: 20 }), body: fc.jsonValue() }).map(({ kind, body }) => ({ [kind]: body })),
  );
  // Mutations of a well-formed update: a field of the wrong type, or removed.
  const mutated = fc.tuple(shaped, fc.nat(), weird, fc.boolean()).map(([u, pick, value, remove]) => mutate(u, pick, value, remove));
  const withId = fc.tuple(fc.oneof({ weight: 3, arbitrary: shaped }, { weight: 4, arbitrary: mutated }), fc.oneof(fc.integer({ min: 1, max: 2 ** 31 }), weird)).map(([u, id]) => ({ update_id: id, ...(u as object) }));
  return fc.oneof({ weight: 1, arbitrary: fc.jsonValue() }, { weight: 9, arbitrary: withId });
}

function mutate(u: unknown, pick: number, value: unknown, remove: boolean): unknown {
  const copy = structuredClone(u) as Record<string, unknown>;
  const paths: Array<[Record<string, unknown>, string]> = [];
  const walk = (o: unknown): void => {
    if (!o || typeof o !== 'object') return;
    for (const k of Object.keys(o)) {
      paths.push([o as Record<string, unknown>, k]);
      walk((o as Record<string, unknown>)[k]);
    }
  };
  walk(copy);
  if (paths.length === 0) return copy;
  const [obj, key] = paths[pick % paths.length]!;
  if (remove) delete obj[key];
  else obj[key] = value;
  return copy;
}

export function sampleUpdates(people: FuzzPeople, count: number, seed: number): unknown[] {
  return fc.sample(updateArbitrary(people), { seed, numRuns: count });
}
