/**
 * The catalogue's markup, which the flows and renderers write too: plain text with the tags <b>, <i>,
 * <code> and <a href>, and `&`, `<`, `>` escaped. It is Telegram's HTML subset, so the Telegram adapter
 * sends it as it is; another channel turns it into its own form (WeCom: markdown, or plain text on a card).
 */
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

/** The longest text a message carries here, in characters: within every channel's limit (Telegram's is 4096). */
export const MAX_TEXT_CHARS = 4000;

/** Joins lines and keeps the result under `max` by dropping whole lines (so tags stay balanced). */
export function fitMessage(lines: readonly string[], max = MAX_TEXT_CHARS): string {
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

/** The text without its tags and escapes: for a channel that shows plain text only. */
export function plainText(markup: string): string {
  return markup
    .replace(/<a\s+href="([^"]*)">([\s\S]*?)<\/a>/g, '$2')
    .replace(/<\/?(b|i|u|s|code|pre)>/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&');
}
