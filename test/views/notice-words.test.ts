/**
 * Every kind of notice the domain knows has its words in the one module both channels draw from
 * (src/views/notice-words.ts), so a new kind cannot be drawn on one channel only, or close there as
 * "nothing to draw". The channels hold no words of their own: each turns these into its form.
 */
import { describe, expect, it } from 'vitest';
import { NOTICE_KINDS, SUBJECT_NOTICE_KINDS } from '../../src/domain/notifications.js';
import { CATALOGUE, hasMessage } from '../../src/i18n/index.js';
import { NOTICE_WORDS, noticeWordsOf } from '../../src/views/notice-words.js';
import { SUBJECT_NOTICE_WORDS } from '../../src/views/subject-notices.js';

describe('the words of every notice kind', () => {
  it('every NoticeKind of the domain has words, and no kind is there the domain does not have', () => {
    expect(NOTICE_KINDS.length).toBeGreaterThan(40);
    expect(NOTICE_KINDS.filter((kind) => noticeWordsOf(kind) === undefined)).toEqual([]);
    expect(Object.keys(NOTICE_WORDS).sort()).toEqual([...NOTICE_KINDS].sort());
  });

  it('each kind says something: a header for an incident event, a body for a notice of its own; only card_redraw is the card alone', () => {
    for (const kind of NOTICE_KINDS) {
      const words = NOTICE_WORDS[kind];
      if (words.about === 'incident') expect(words.header, kind).toBeTypeOf('function');
      else if (words.about === 'plain') expect(words.body, kind).toBeTypeOf('function');
      else expect(kind).toBe('card_redraw');
    }
  });

  it('the 12 absence and subject kinds have words of their own', () => {
    expect(SUBJECT_NOTICE_KINDS).toHaveLength(12);
    expect(Object.keys(SUBJECT_NOTICE_WORDS).sort()).toEqual([...SUBJECT_NOTICE_KINDS].sort());
    for (const kind of SUBJECT_NOTICE_KINDS) {
      expect(SUBJECT_NOTICE_WORDS[kind], kind).toBeTypeOf('function');
      expect(NOTICE_WORDS[kind].about, kind).toBe('plain');
    }
  });

  it('each kind has its name in the catalogue (the digest names undelivered notices by it), in both languages', () => {
    const missing = NOTICE_KINDS.filter((kind) => !hasMessage(`notice.kind.${kind}`) || !Object.hasOwn(CATALOGUE.en, `notice.kind.${kind}`));
    expect(missing).toEqual([]);
  });

  it('a kind the domain does not know has no words (a row of another release draws nothing)', () => {
    expect(noticeWordsOf('no_such_kind')).toBeUndefined();
    expect(noticeWordsOf('toString')).toBeUndefined();
  });
});
