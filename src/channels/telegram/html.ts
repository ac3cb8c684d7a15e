/** Telegram HTML parse mode: only `<`, `>` and `&` need escaping in text. */
export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Cuts text to at most `max` characters (code points), with an ellipsis when cut. */
export function truncate(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : chars.slice(0, Math.max(0, max - 1)).join('') + '…';
}

/** Escaped and cut, the usual treatment of a user's free text inside a message. */
export function userText(text: string, max: number): string {
  return escapeHtml(truncate(text.trim(), max));
}

/** Telegram's limit for a message text, in characters. */
export const MAX_MESSAGE_CHARS = 4096;
/** Telegram's limit for a media caption, in characters. */
export const MAX_CAPTION_CHARS = 1024;

/** Joins lines and keeps the result under Telegram's limit by dropping whole lines (so tags stay balanced). */
export function fitMessage(lines: readonly string[], max = MAX_MESSAGE_CHARS - 96): string {
  const out: string[] = [];
  let length = 0;
  for (const line of lines) {
    if (length + line.length + 1 > max) {
      out.push('…');
      break;
    }
    out.push(line);
    length += line.length + 1;
  }
  return out.join('\n');
}
