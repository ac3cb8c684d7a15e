/** Masking per PII_MODE, in private chats and in groups. */
import { describe, expect, it } from 'vitest';
import { idNumberLabel, maskIdNumber, maskName, subjectLabel, type ChatKind, type PiiMode } from '../../src/domain/index.js';

const SUBJECT = { code: 'SQ-HS-003', name: '孙建军', idNumber: '330105197001264354' };

describe('masking', () => {
  it('masks an ID number to its first and last four', () => {
    expect(maskIdNumber('330106199001011234')).toBe('3301**********1234');
    expect(maskIdNumber(' 41010519750505334X ')).toBe('4101**********334X');
    expect(maskIdNumber('1234567')).toBe('*******');
  });

  it.each([
    ['张三', '张*'],
    ['孙建军', '孙**'],
    ['欧阳娜娜', '欧***'],
    ['阿依·买买提', '阿*****'],
    ['王', '*'],
    ['John Smith', 'J*** S****'],
  ])('masks the name %s as %s', (name, masked) => {
    expect(maskName(name)).toBe(masked);
  });
});

describe('what a message may show, per PII_MODE and chat', () => {
  const cases: Array<[PiiMode, ChatKind, string, string | null]> = [
    ['codes', 'private', 'SQ-HS-003', null],
    ['codes', 'group', 'SQ-HS-003', null],
    ['masked', 'private', '孙**（SQ-HS-003）', '3301**********4354'],
    ['masked', 'group', '孙**（SQ-HS-003）', null],
    ['full', 'private', '孙建军（SQ-HS-003）', '330105197001264354'],
    // Full names never go to a group, whatever the mode.
    ['full', 'group', '孙**（SQ-HS-003）', null],
  ];
  it.each(cases)('%s in a %s chat', (mode, chat, label, id) => {
    expect(subjectLabel(SUBJECT, mode, chat)).toBe(label);
    expect(idNumberLabel(SUBJECT.idNumber, mode, chat)).toBe(id);
  });

  it.each(cases)('%s in a %s chat never shows more than allowed', (mode, chat) => {
    const shown = `${subjectLabel(SUBJECT, mode, chat)} ${idNumberLabel(SUBJECT.idNumber, mode, chat) ?? ''}`;
    if (!(mode === 'full' && chat === 'private')) {
      expect(shown).not.toContain(SUBJECT.name);
      expect(shown).not.toContain(SUBJECT.idNumber);
    }
    if (mode === 'codes') expect(shown).not.toContain('孙');
  });

  it('defaults to a private chat and shows nothing for a missing ID number', () => {
    expect(subjectLabel(SUBJECT, 'full')).toBe('孙建军（SQ-HS-003）');
    expect(idNumberLabel(null, 'full')).toBeNull();
  });
});
