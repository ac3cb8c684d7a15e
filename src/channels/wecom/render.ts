/**
 * The catalogue's markup (../../i18n/markup.ts) in WeCom's forms, and a flow's prompt as a card:
 * - a message without buttons is markdown when it has formatting (<b> → **bold**, <code> → `code`,
 *   <a> → [text](url), <i> → grey text), plain text otherwise; content over 2 048 bytes (WeCom cuts
 *   there) goes as several messages, split between lines;
 * - a message with buttons is a button_interaction card: its first line the title, the rest the card's
 *   text. WeCom shows little text on a card (its guide: a title of 26 characters, 112 for the text), so
 *   a longer prompt goes first as a message of its own, and the card under it carries the buttons.
 */
import type { Keyboard } from '../../flows/ui.js';
import { plainText, truncate } from '../../i18n/markup.js';
import { encodeButtonKey } from './button-keys.js';
import { WECOM_CARD_LIMITS } from './template-card.js';

/** How much text a card shows, in characters (WeCom's guide; its clients cut the rest). */
export const CARD_TEXT = {
  title: 26,
  desc: 30,
  subtitle: 112,
  /**
   * A quote (quote_area.quote_text). WeCom's documentation gives no length for it (it does for the
   * title, desc and sub_title_text): this figure is ours, a quote kept short beside the card's text.
   */
  quote: 60,
  /** What a quote keeps at least beside a note longer than `quote` leaves room for (the English "re-sent" line). */
  quoteBesideNote: 24,
  keyname: 5,
  value: 26,
  /** A button's label; WeCom advises 10, a longer one is still shown in part. */
  button: 20,
  option: 30,
  /** The label of buttons greyed out by an update (button.replace_name). */
  replaceName: 24,
} as const;

/** A button as the card will carry it: a callback key, or a link. */
export type CardButtonSpec = { text: string; key: string } | { text: string; url: string };

/** A button card before it is sent: what the messenger (./messenger.ts) turns into WeCom's JSON. */
export interface CardSpec {
  title: string;
  desc?: string | undefined;
  /** Why the card came (a notice's first line): shown as the card's quote. */
  quote?: string | undefined;
  /** A line the quote area shows whole, before the quote: the "re-sent" note. */
  note?: string | undefined;
  subtitle?: string | undefined;
  horizontal?: Array<{ keyname: string; value: string }> | undefined;
  buttons: CardButtonSpec[];
  /** Markup sent as its own message before the card: text the card has no room for. */
  preface?: string | undefined;
}

const FORMATTED = /<(b|i|code|a)\b/;

/** Whether the markup has formatting worth markdown. */
export const hasFormatting = (markup: string): boolean => FORMATTED.test(markup);

/** WeCom's markdown from the catalogue's markup. */
export function toMarkdown(markup: string): string {
  return markup
    .replace(/<a\s+href="([^"]*)">([\s\S]*?)<\/a>/g, (_m, url: string, label: string) => `[${label}](${url.replace(/&amp;/g, '&')})`)
    .replace(/<\/?b>/g, '**')
    .replace(/<code>([\s\S]*?)<\/code>/g, '`$1`')
    .replace(/<i>([\s\S]*?)<\/i>/g, '<font color="comment">$1</font>')
    .replace(/<\/?(u|s|pre)>/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&');
}

const bytes = (s: string): number => Buffer.byteLength(s, 'utf8');

/** Splits text into pieces of at most `maxBytes`, between lines where it can, never inside a character. */
export function splitContent(text: string, maxBytes = WECOM_CARD_LIMITS.contentBytes): string[] {
  const pieces: string[] = [];
  let current = '';
  const flush = () => {
    if (current !== '') pieces.push(current);
    current = '';
  };
  for (const line of text.split('\n')) {
    const candidate = current === '' ? line : `${current}\n${line}`;
    if (bytes(candidate) <= maxBytes) {
      current = candidate;
      continue;
    }
    flush();
    if (bytes(line) <= maxBytes) {
      current = line;
      continue;
    }
    // A single line over the limit: cut by characters.
    let part = '';
    for (const ch of line) {
      if (bytes(part + ch) > maxBytes) {
        pieces.push(part);
        part = '';
      }
      part += ch;
    }
    current = part;
  }
  flush();
  return pieces.length ? pieces : [''];
}

/** A message without buttons, as WeCom sends it: markdown or text, in one or more pieces. */
export function textMessages(markup: string): Array<{ kind: 'markdown' | 'text'; content: string }> {
  const kind = hasFormatting(markup) ? 'markdown' : 'text';
  const body = kind === 'markdown' ? toMarkdown(markup) : plainText(markup);
  return splitContent(body.trim() === '' ? '—' : body).map((content) => ({ kind, content }));
}

/**
 * The card's quote_area text: the note first and whole (it must survive), then the quote, cut with an
 * ellipsis to what is left of CARD_TEXT.quote, and never below CARD_TEXT.quoteBesideNote: a note as long
 * as the English "re-sent" line (77 characters, more than CARD_TEXT.quote on its own) would otherwise
 * leave no room for the quote at all.
 */
export function quoteText(spec: Pick<CardSpec, 'quote' | 'note'>): string | undefined {
  const quote = spec.quote?.trim() ? spec.quote.trim() : undefined;
  const note = spec.note?.trim() ? spec.note.trim() : undefined;
  if (!note) return quote === undefined ? undefined : truncate(quote, CARD_TEXT.quote);
  if (quote === undefined) return note;
  const room = Math.max(CARD_TEXT.quote - [...note].length - 1, CARD_TEXT.quoteBesideNote);
  return `${note} ${truncate(quote, room)}`;
}

/** The keyboard's buttons in order, as card buttons. */
export function cardButtons(rows: Keyboard | undefined): CardButtonSpec[] {
  const out: CardButtonSpec[] = [];
  for (const b of (rows ?? []).flat()) {
    if ('action' in b) out.push({ text: truncate(b.text, CARD_TEXT.button), key: encodeButtonKey(b.action) });
    else out.push({ text: truncate(b.text, CARD_TEXT.button), url: b.url });
  }
  return out;
}

/** Whether a keyboard has any button at all. */
export const hasButtons = (rows: Keyboard | undefined): boolean => (rows ?? []).some((r) => r.length > 0);

/** A prompt (markup and buttons) as a card: the first line its title, the rest its text or a message before it. */
export function promptCard(markup: string, rows: Keyboard | undefined): CardSpec {
  const lines = plainText(markup)
    .split('\n')
    .map((l) => l.trimEnd());
  const first = lines.findIndex((l) => l.trim() !== '');
  const titleLine = first >= 0 ? lines[first]!.trim() : '—';
  const title = truncate(titleLine, CARD_TEXT.title);
  const rest = lines.slice(first >= 0 ? first + 1 : 0);
  if (title !== titleLine) rest.unshift(titleLine);
  const body = rest.join('\n').replace(/\n{3,}/g, '\n\n').trim();
  const spec: CardSpec = { title, buttons: cardButtons(rows) };
  // Too long for the card: the whole prompt goes first as a message, the card carries the title and buttons.
  if ([...body].length > CARD_TEXT.subtitle) spec.preface = markup;
  else if (body !== '') spec.subtitle = body;
  return spec;
}
