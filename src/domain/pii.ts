/**
 * How much of a subject's identity a chat message shows (PII_MODE). Telegram's servers are outside
 * mainland China, so the default is the least that lets an officer recognise the case.
 */
export type PiiMode = 'codes' | 'masked' | 'full';
export type ChatKind = 'private' | 'group';

/** `330106199001011234` → `3301**********1234`. */
export function maskIdNumber(id: string): string {
  const chars = [...id.trim()];
  if (chars.length <= 8) return '*'.repeat(chars.length);
  return chars.slice(0, 4).join('') + '*'.repeat(chars.length - 8) + chars.slice(-4).join('');
}

/** `张三` → `张*`; `欧阳娜娜` → `欧***`; `John Smith` → `J*** S****`. The first character stays, to tell cases apart. */
export function maskName(name: string): string {
  const trimmed = name.trim();
  if (/^[\p{Script=Han}·]+$/u.test(trimmed)) {
    const chars = [...trimmed];
    return chars.length <= 1 ? '*' : chars[0] + '*'.repeat(chars.length - 1);
  }
  return trimmed
    .split(/\s+/)
    .map((w) => {
      const chars = [...w];
      return chars.length <= 1 ? '*' : chars[0] + '*'.repeat(chars.length - 1);
    })
    .join(' ');
}

export interface SubjectIdentity {
  code: string;
  name: string;
  idNumber?: string | null;
}

/** The label of a subject in a message: codes only, masked name with code, or the full name (never in groups). */
export function subjectLabel(subject: SubjectIdentity, mode: PiiMode, chat: ChatKind = 'private'): string {
  if (mode === 'codes') return subject.code;
  if (mode === 'full' && chat === 'private') return `${subject.name}（${subject.code}）`;
  return `${maskName(subject.name)}（${subject.code}）`;
}

/** The ID number as a message may show it: never in codes mode or in groups, masked unless full. */
export function idNumberLabel(idNumber: string | null | undefined, mode: PiiMode, chat: ChatKind = 'private'): string | null {
  if (!idNumber || mode === 'codes' || chat === 'group') return null;
  return mode === 'full' ? idNumber : maskIdNumber(idNumber);
}

/**
 * The mode a chat gets: groups are always masked, whatever PII_MODE says (codes stay codes). For the
 * drawings that take only a mode: subjectLabel and idNumberLabel say the same when given the chat.
 */
export function piiModeForChat(mode: PiiMode, chat: ChatKind): PiiMode {
  return chat === 'group' && mode === 'full' ? 'masked' : mode;
}
