/**
 * The edge: updates that are not the shape Telegram sends — fields of the wrong type, missing, null,
 * kinds the bot never asked for — posted to the webhook with the right secret, from a registered
 * officer (so they would reach the flows). Each is answered 200 and dropped before any handler: no
 * handler error, no reply, nothing written. The well-formed update after them is handled as usual.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { updateProblem } from '../../src/channels/telegram/update-shape.js';
import { startBotHarness, type BotHarness } from '../helpers/bot-harness.js';
import { TG } from '../helpers/fixtures.js';

let h: BotHarness;
beforeAll(async () => {
  h = await startBotHarness();
});
afterAll(async () => {
  await h?.close();
});

const officer = TG.officerA1;
const from = { id: officer, is_bot: false, first_name: 'a', language_code: 'zh-hans' };
const chat = { id: officer, type: 'private' };
const message = (extra: object) => ({ message_id: 1, date: 1_700_000_000, chat, from, text: '/report', entities: [{ type: 'bot_command', offset: 0, length: 7 }], ...extra });
const press = (extra: object) => ({ id: 'q1', from, chat_instance: '1', data: 'list::0', message: { message_id: 1, date: 0, chat }, ...extra });

/** What the fuzzing of R5 (test/faults) found reaching handlers, one of each, and some more. */
const MALFORMED: Array<[string, unknown]> = [
  ['a number as language_code', { message: message({ from: { ...from, language_code: 5 } }) }],
  ['a number as callback data', { callback_query: press({ data: 12345 }) }],
  ['callback data as an object', { callback_query: press({ data: { a: 1 } }) }],
  ['a my_chat_member without chat', { my_chat_member: { from, date: 0, old_chat_member: { status: 'member', user: from }, new_chat_member: { status: 'kicked', user: from } } }],
  ['a my_chat_member with new_chat_member null', { my_chat_member: { chat, from, date: 0, old_chat_member: { status: 'member', user: from }, new_chat_member: null } }],
  ['an array as chat id', { message: message({ chat: { id: [null], type: 'private' } }) }],
  ['chat without type', { message: message({ chat: { id: officer } }) }],
  ['an object as text', { message: message({ text: {} }) }],
  ['a photo array with null', { message: message({ text: undefined, entities: undefined, photo: [null] }) }],
  ['a voice without file_id', { message: message({ text: undefined, entities: undefined, voice: { duration: 1 } }) }],
  ['from null', { message: message({ from: null }) }],
  ['entities not an array', { message: message({ entities: 'x' }) }],
  ['a press without from', { callback_query: press({ from: undefined }) }],
  ['a press on a message with chat null', { callback_query: press({ message: { message_id: 1, date: 0, chat: null } }) }],
  ['message null', { message: null }],
  ['two kinds at once', { message: message({}), callback_query: press({}) }],
  ['a kind the bot never asked for', { edited_message: message({}) }],
  ['an unknown kind', { weird_kind: { x: 1 } }],
  ['no kind at all', {}],
];

async function post(body: unknown): Promise<number> {
  const res = await fetch(h.webhookUrl!, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': h.webhookSecret! },
    body: JSON.stringify(body),
  });
  await res.arrayBuffer();
  return res.status;
}

describe('malformed updates', () => {
  it('are each answered 200 and dropped before any handler; the next good update is handled', async () => {
    const before = h.api.botMessages(officer).length;
    const statuses: number[] = [];
    let updateId = 9_100_000;
    for (const [, shape] of MALFORMED) statuses.push(await post({ update_id: updateId++, ...(shape as object) }));
    statuses.push(await post({ update_id: 'not-a-number', message: message({}) }));
    statuses.push(await post({ update_id: -1, message: message({}) }));
    statuses.push(await post(42));
    statuses.push(await post([message({})]));
    await h.idle();

    expect(statuses.every((s) => s === 200)).toBe(true);
    expect(h.api.botMessages(officer)).toHaveLength(before);
    expect(h.logs.filter((l) => l.msg === 'update handling failed')).toEqual([]);
    const dropped = h.logs.filter((l) => l.msg === 'malformed update dropped');
    expect(dropped).toHaveLength(MALFORMED.length + 4);
    // The log names fields, never their values.
    expect(JSON.stringify(dropped)).not.toContain('12345');
    const [flows] = await h.db.sql`select count(*)::int as n from flow_states where chat_id = ${officer}`;
    expect(flows!.n).toBe(0);
    const [processed] = await h.db.sql`select count(*)::int as n from processed_updates where update_id >= 9100000 and update_id < 9200000`;
    expect(processed!.n).toBe(0);

    const good = await h.send('officerA1', '/incidents');
    expect(good.text).toContain('目前没有进行中的事件');
  });

  it('what the stand-in sends passes as it is', () => {
    expect(updateProblem({ update_id: 1, message: message({}) })).toBeUndefined();
    expect(updateProblem({ update_id: 2, callback_query: press({}) })).toBeUndefined();
    expect(updateProblem({ update_id: 3, callback_query: press({ message: undefined, inline_message_id: 'abc' }) })).toBeUndefined();
    expect(updateProblem({ update_id: 4, message: message({ text: undefined, entities: undefined, photo: [{ file_id: 'a', file_unique_id: 'b', width: 1, height: 1 }], caption: 'c' }) })).toBeUndefined();
    expect(updateProblem({ update_id: 5, my_chat_member: { chat, from, date: 0, old_chat_member: { status: 'member', user: from }, new_chat_member: { status: 'kicked', user: from } } })).toBeUndefined();
    expect(updateProblem({ update_id: 6, message: message({ text: undefined, entities: undefined, location: { latitude: 30.1, longitude: 120.2 }, unknown_field: [1, 2] }) })).toBeUndefined();
  });
});
