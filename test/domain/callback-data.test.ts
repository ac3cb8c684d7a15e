/** Callback data: ids and a key only, at most 64 bytes, everything from Telegram parsed as untrusted. */
import { describe, expect, it } from 'vitest';
import { decodeCallback, encodeCallback, MAX_CALLBACK_BYTES } from '../../src/channels/telegram/callback-data.js';

const ID = '0b6f3a52-8c1d-4e2f-9a7b-1c2d3e4f5a6b';

describe('callback data', () => {
  it.each([
    [{ a: 'ack' as const, i: ID, v: 3 }, `ack:${ID}::3`],
    [{ a: 'card' as const, i: ID }, `card:${ID}`],
    [{ a: 'sdone' as const, i: ID, k: 'call_110', v: 12 }, `sdone:${ID}:call_110:12`],
    [{ a: 'list' as const, k: 'p2' }, 'list::p2'],
    [{ a: 'nop' as const }, 'nop'],
  ])('round-trips %j', (data, encoded) => {
    expect(encodeCallback(data)).toBe(encoded);
    expect(decodeCallback(encoded)).toEqual(data);
  });

  it('refuses to encode more than 64 bytes', () => {
    expect(() => encodeCallback({ a: 'sdone', i: ID, k: 'a'.repeat(24), v: 1_000_000 })).toThrow(RangeError);
  });

  it.each([
    ['undefined', undefined],
    ['empty', ''],
    ['an unknown action', `drop:${ID}`],
    ['an action in another case', `ACK:${ID}`],
    ['an id that is not a uuid', 'ack:1 OR 1=1'],
    ['an upper-case uuid', `ack:${ID.toUpperCase()}`],
    ['a key with a space', `step:${ID}:a b`],
    ['a key too long', `step::${'k'.repeat(25)}`],
    ['a negative version', `ack:${ID}::-1`],
    ['a version that is not a number', `ack:${ID}::abc`],
    ['a fractional version', `ack:${ID}::1.5`],
    ['extra fields', `ack:${ID}:k:1:extra`],
    ['oversized data', `ack:${ID}::1${'0'.repeat(MAX_CALLBACK_BYTES)}`],
    ['multi-byte characters over the byte limit', `step::${'签'.repeat(22)}`],
  ])('decodes %s as nothing', (_, raw) => {
    expect(decodeCallback(raw)).toBeUndefined();
  });
});
