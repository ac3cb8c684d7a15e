// Text formatting as Telegram's server (tdlib) does it: parse_mode HTML / MarkdownV2 /
// Markdown into plain text + entities, trimming, and the entities Telegram detects by itself
// (bot_command, mention, hashtag, url, email). Offsets are UTF-16 units, like the Bot API;
// error texts follow tdlib's wording, including UTF-8 byte offsets.

import { ApiError, type MessageEntity } from './bot-api-types.js';

export interface FormattedText {
  text: string;
  entities: MessageEntity[];
}

/** Thrown for markup errors; becomes `Bad Request: can't parse entities: ...`. */
export class EntityParseError extends Error {}

const byteOffset = (src: string, index: number): number => Buffer.byteLength(src.slice(0, index), 'utf8');
const isSpace = (c: string | undefined): boolean => c === ' ' || c === '\t' || c === '\n' || c === '\r';

const HTML_TAGS = new Set([
  'a', 'b', 'strong', 'i', 'em', 's', 'strike', 'del', 'u', 'ins',
  'tg-spoiler', 'tg-emoji', 'span', 'pre', 'code', 'blockquote',
]);

interface OpenTag {
  tag: string;
  arg: string;
  start: number;
  expandable: boolean;
  preLanguage?: string;
  mergedCode?: boolean;
}

function decodeHtmlEntity(src: string, i: number): { char: string; end: number } | null {
  const semi = src.indexOf(';', i + 1);
  if (semi < 0 || semi - i > 12) return null;
  const name = src.slice(i + 1, semi);
  const named: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"' };
  if (name in named) return { char: named[name] ?? '', end: semi + 1 };
  let code: number | null = null;
  if (/^#x[0-9a-fA-F]{1,6}$/.test(name)) code = parseInt(name.slice(2), 16);
  else if (/^#[0-9]{1,7}$/.test(name)) code = parseInt(name.slice(1), 10);
  if (code === null || code === 0 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return null;
  return { char: String.fromCodePoint(code), end: semi + 1 };
}

function textMentionUser(url: string): number | null {
  const m = /^tg:\/\/user\?id=(\d+)$/i.exec(url);
  return m?.[1] ? Number(m[1]) : null;
}

/** URL check used for text links: invalid links are silently dropped, as in tdlib. */
export function normalizeLink(raw: string): string | null {
  const url = raw.trim();
  if (url === '') return null;
  if (/^tg:\/\//i.test(url) || /^ton:\/\//i.test(url)) return url;
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(url) ? url : `http://${url}`;
  try {
    const parsed = new URL(withScheme);
    if (!['http:', 'https:', 'ftp:'].includes(parsed.protocol)) return null;
    if (!parsed.hostname.includes('.') && parsed.hostname !== 'localhost' && !/^\d+\.\d+\.\d+\.\d+$/.test(parsed.hostname)) return null;
    return parsed.href;
  } catch {
    return null;
  }
}

export function parseHtml(src: string): FormattedText {
  let out = '';
  const stack: OpenTag[] = [];
  const entities: MessageEntity[] = [];
  const fail = (msg: string): never => {
    throw new EntityParseError(msg);
  };
  let i = 0;
  const n = src.length;
  while (i < n) {
    const c = src[i];
    if (c === '&') {
      const decoded = decodeHtmlEntity(src, i);
      if (decoded) {
        out += decoded.char;
        i = decoded.end;
        continue;
      }
      out += c;
      i++;
      continue;
    }
    if (c !== '<') {
      out += c;
      i++;
      continue;
    }
    const begin = i;
    i++;
    if (src[i] !== '/') {
      const nameStart = i;
      while (i < n && !isSpace(src[i]) && src[i] !== '>') i++;
      if (i >= n) fail(`Unclosed start tag at byte offset ${byteOffset(src, begin)}`);
      const tag = src.slice(nameStart, i).toLowerCase();
      if (!HTML_TAGS.has(tag)) fail(`Unsupported start tag "${tag}" at byte offset ${byteOffset(src, begin)}`);
      let arg = '';
      let expandable = false;
      while (src[i] !== '>') {
        while (i < n && isSpace(src[i])) i++;
        if (i >= n) fail(`Unclosed start tag "${tag}" at byte offset ${byteOffset(src, begin)}`);
        if (src[i] === '>') break;
        const attrStart = i;
        while (i < n && !isSpace(src[i]) && src[i] !== '=' && src[i] !== '>') i++;
        const attr = src.slice(attrStart, i).toLowerCase();
        if (attr === '') fail(`Empty attribute name in the tag "${tag}" at byte offset ${byteOffset(src, begin)}`);
        while (i < n && isSpace(src[i])) i++;
        if (src[i] !== '=') {
          if (tag === 'blockquote' && attr === 'expandable') {
            expandable = true;
            continue;
          }
          fail(`Expected equal sign in declaration of an attribute of the tag "${tag}" at byte offset ${byteOffset(src, begin)}`);
        }
        i++;
        while (i < n && isSpace(src[i])) i++;
        if (i >= n) fail(`Unclosed start tag "${tag}" at byte offset ${byteOffset(src, begin)}`);
        let value = '';
        const q = src[i];
        if (q !== '"' && q !== "'") {
          const tokenStart = i;
          while (i < n && /[A-Za-z0-9.\-]/.test(src[i] ?? '')) i++;
          if (!isSpace(src[i]) && src[i] !== '>') fail(`Unexpected end of name token at byte offset ${byteOffset(src, tokenStart)}`);
          value = src.slice(tokenStart, i);
        } else {
          const stringStart = i;
          i++;
          while (i < n && src[i] !== q) {
            if (src[i] === '&') {
              const decoded = decodeHtmlEntity(src, i);
              if (decoded) {
                value += decoded.char;
                i = decoded.end;
                continue;
              }
            }
            value += src[i];
            i++;
          }
          if (src[i] !== q) fail(`Unclosed start tag at byte offset ${byteOffset(src, stringStart)}`);
          i++;
        }
        if (tag === 'a' && attr === 'href') arg = value;
        else if (tag === 'code' && attr === 'class' && value.startsWith('language-')) arg = value.slice('language-'.length);
        else if (tag === 'span' && attr === 'class' && value.startsWith('tg-')) arg = value;
        else if (tag === 'tg-emoji' && attr === 'emoji-id') arg = value;
        else if (tag === 'blockquote' && attr === 'expandable') expandable = true;
      }
      if (tag === 'span' && arg !== 'tg-spoiler') fail(`Tag "span" must have class "tg-spoiler" at byte offset ${byteOffset(src, begin)}`);
      i++;
      stack.push({ tag, arg, start: out.length, expandable });
      continue;
    }
    // End tag.
    if (stack.length === 0) fail(`Unexpected end tag at byte offset ${byteOffset(src, begin)}`);
    i++;
    const nameStart = i;
    while (i < n && !isSpace(src[i]) && src[i] !== '>') i++;
    const endName = src.slice(nameStart, i).toLowerCase();
    while (i < n && isSpace(src[i])) i++;
    if (src[i] !== '>') fail(`Unclosed end tag at byte offset ${byteOffset(src, begin)}`);
    i++;
    const open = stack.pop() as OpenTag;
    if (endName !== '' && endName !== open.tag) {
      fail(`Unmatched end tag at byte offset ${byteOffset(src, begin)}, expected "</${open.tag}>", found "</${endName}>"`);
    }
    const length = out.length - open.start;
    const parent = stack[stack.length - 1];
    if (open.tag === 'code' && parent?.tag === 'pre' && parent.start === open.start && !parent.mergedCode) {
      // <pre><code class="language-x"> is a single pre entity with a language.
      parent.mergedCode = true;
      if (open.arg) parent.preLanguage = open.arg;
      continue;
    }
    if (length <= 0) continue;
    const e = htmlEntity(open, length);
    if (e) entities.push(e);
  }
  if (stack.length > 0) {
    const top = stack[stack.length - 1] as OpenTag;
    fail(`Can't find end tag corresponding to start tag "${top.tag}"`);
  }
  return { text: out, entities: sortEntities(entities) };
}

function htmlEntity(open: OpenTag, length: number): MessageEntity | null {
  const base = { offset: open.start, length };
  switch (open.tag) {
    case 'b':
    case 'strong':
      return { type: 'bold', ...base };
    case 'i':
    case 'em':
      return { type: 'italic', ...base };
    case 'u':
    case 'ins':
      return { type: 'underline', ...base };
    case 's':
    case 'strike':
    case 'del':
      return { type: 'strikethrough', ...base };
    case 'tg-spoiler':
    case 'span':
      return { type: 'spoiler', ...base };
    case 'code':
      return { type: 'code', ...base };
    case 'pre':
      return open.preLanguage ? { type: 'pre', ...base, language: open.preLanguage } : { type: 'pre', ...base };
    case 'blockquote':
      return { type: open.expandable ? 'expandable_blockquote' : 'blockquote', ...base };
    case 'tg-emoji':
      return open.arg ? { type: 'custom_emoji', ...base, custom_emoji_id: open.arg } : null;
    case 'a': {
      const userId = textMentionUser(open.arg);
      if (userId !== null) return { type: 'text_mention', ...base, user: { id: userId, is_bot: false, first_name: '' } };
      const url = normalizeLink(open.arg);
      return url ? { type: 'text_link', ...base, url } : null;
    }
    default:
      return null;
  }
}

type MdType = 'Bold' | 'Italic' | 'Underline' | 'Strikethrough' | 'Spoiler' | 'TextUrl' | 'Code' | 'Pre' | 'CustomEmoji' | 'BlockQuote';
interface MdOpen {
  type: MdType;
  arg: string;
  start: number;
  byte: number;
}

const MD_ENTITY: Record<Exclude<MdType, 'TextUrl' | 'CustomEmoji' | 'BlockQuote'>, string> = {
  Bold: 'bold',
  Italic: 'italic',
  Underline: 'underline',
  Strikethrough: 'strikethrough',
  Spoiler: 'spoiler',
  Code: 'code',
  Pre: 'pre',
};

export function parseMarkdownV2(src: string): FormattedText {
  let out = '';
  const stack: MdOpen[] = [];
  const entities: MessageEntity[] = [];
  let quote: { start: number } | null = null;
  const n = src.length;
  const reservedMsg = (ch: string): never => {
    throw new EntityParseError(`Character '${ch}' is reserved and must be escaped with the preceding '\\'`);
  };
  const closeQuote = (): void => {
    if (quote && out.length > quote.start) entities.push({ type: 'blockquote', offset: quote.start, length: out.length - quote.start });
    quote = null;
  };
  for (let i = 0; i < n; i++) {
    const c = src[i] as string;
    const top = stack[stack.length - 1];
    const inCode = top?.type === 'Code' || top?.type === 'Pre';
    if (c === '\\') {
      const next = src.charCodeAt(i + 1);
      if (next > 0 && next <= 126) {
        i++;
        out += src[i];
        continue;
      }
    }
    if (c === '\n' && quote && !inCode) {
      if (src[i + 1] !== '>') closeQuote();
      out += c;
      continue;
    }
    const atLineStart = i === 0 || src[i - 1] === '\n';
    if (c === '>' && atLineStart && !inCode) {
      if (!quote) quote = { start: out.length };
      continue;
    }
    const reserved = inCode ? '`' : '_*[]()~`>#+-=|{}.!';
    if (!reserved.includes(c)) {
      out += c;
      continue;
    }
    let isEnd = false;
    if (top) {
      switch (top.type) {
        case 'Bold': isEnd = c === '*'; break;
        case 'Italic': isEnd = c === '_' && src[i + 1] !== '_'; break;
        case 'Code': isEnd = c === '`'; break;
        case 'Pre': isEnd = c === '`' && src[i + 1] === '`' && src[i + 2] === '`'; break;
        case 'TextUrl':
        case 'CustomEmoji': isEnd = c === ']'; break;
        case 'Underline': isEnd = c === '_' && src[i + 1] === '_'; break;
        case 'Strikethrough': isEnd = c === '~'; break;
        case 'Spoiler': isEnd = c === '|' && src[i + 1] === '|'; break;
        default: isEnd = false;
      }
    }
    if (!isEnd) {
      const byte = byteOffset(src, i);
      let type: MdType;
      let arg = '';
      switch (c) {
        case '_':
          if (src[i + 1] === '_') {
            type = 'Underline';
            i++;
          } else type = 'Italic';
          break;
        case '*': type = 'Bold'; break;
        case '~': type = 'Strikethrough'; break;
        case '|':
          if (src[i + 1] === '|') {
            type = 'Spoiler';
            i++;
          } else return reservedMsg(c);
          break;
        case '[': type = 'TextUrl'; break;
        case '`':
          if (src[i + 1] === '`' && src[i + 2] === '`') {
            i += 3;
            type = 'Pre';
            let langEnd = i;
            while (langEnd < n && !isSpace(src[langEnd]) && src[langEnd] !== '`') langEnd++;
            if (i !== langEnd && langEnd < n && src[langEnd] !== '`') {
              arg = src.slice(i, langEnd);
              i = langEnd;
            }
            if (src[i] === '\n' || src[i] === '\r') {
              if ((src[i + 1] === '\n' || src[i + 1] === '\r') && src[i] !== src[i + 1]) i += 2;
              else i++;
            }
            i--;
          } else type = 'Code';
          break;
        case '!':
          if (src[i + 1] === '[') {
            i++;
            type = 'CustomEmoji';
            break;
          }
          return reservedMsg(c);
        default:
          return reservedMsg(c);
      }
      stack.push({ type, arg, start: out.length, byte });
      continue;
    }
    const open = stack.pop() as MdOpen;
    let skip = out.length === open.start;
    let entity: MessageEntity | null = null;
    switch (open.type) {
      case 'Underline':
      case 'Spoiler':
        i++;
        break;
      case 'Pre':
        i += 2;
        break;
      case 'TextUrl':
      case 'CustomEmoji': {
        let url = '';
        if (src[i + 1] !== '(') {
          url = out.slice(open.start);
        } else {
          i += 2;
          const urlBegin = i;
          while (i < n && src[i] !== ')') {
            const next = src.charCodeAt(i + 1);
            if (src[i] === '\\' && next > 0 && next <= 126) {
              url += src[i + 1];
              i += 2;
              continue;
            }
            url += src[i];
            i++;
          }
          if (src[i] !== ')') throw new EntityParseError(`Can't find end of a URL at byte offset ${byteOffset(src, urlBegin)}`);
        }
        if (skip) break;
        if (open.type === 'CustomEmoji') {
          const m = /^tg:\/\/emoji\?id=(\d+)$/.exec(url);
          if (!m?.[1]) throw new EntityParseError(`Custom emoji URL must have an emoji identifier`);
          entity = { type: 'custom_emoji', offset: open.start, length: out.length - open.start, custom_emoji_id: m[1] };
          break;
        }
        const userId = textMentionUser(url);
        if (userId !== null) {
          entity = { type: 'text_mention', offset: open.start, length: out.length - open.start, user: { id: userId, is_bot: false, first_name: '' } };
          break;
        }
        const link = normalizeLink(url);
        if (link) entity = { type: 'text_link', offset: open.start, length: out.length - open.start, url: link };
        else skip = true;
        break;
      }
      default:
        break;
    }
    if (skip) continue;
    if (entity) {
      entities.push(entity);
      continue;
    }
    const type = MD_ENTITY[open.type as keyof typeof MD_ENTITY];
    const e: MessageEntity = { type, offset: open.start, length: out.length - open.start };
    if (open.type === 'Pre' && open.arg) e.language = open.arg;
    entities.push(e);
  }
  const unclosed = stack[stack.length - 1];
  if (unclosed) throw new EntityParseError(`Can't find end of ${unclosed.type} entity at byte offset ${unclosed.byte}`);
  closeQuote();
  return { text: out, entities: sortEntities(entities) };
}

/** Legacy `Markdown` parse mode. */
export function parseMarkdownLegacy(src: string): FormattedText {
  let out = '';
  const entities: MessageEntity[] = [];
  const n = src.length;
  for (let i = 0; i < n; i++) {
    const c = src[i] as string;
    if (c === '\\' && ['_', '*', '`', '['].includes(src[i + 1] ?? '')) {
      i++;
      out += src[i];
      continue;
    }
    if (c !== '_' && c !== '*' && c !== '`' && c !== '[') {
      out += c;
      continue;
    }
    const begin = i;
    const endChar = c === '[' ? ']' : c;
    let isPre = false;
    i++;
    let language = '';
    if (c === '`' && src[i] === '`' && src[i + 1] === '`') {
      i += 2;
      isPre = true;
      let langEnd = i;
      while (langEnd < n && !isSpace(src[langEnd]) && src[langEnd] !== '`') langEnd++;
      if (i !== langEnd && langEnd < n && src[langEnd] !== '`') {
        language = src.slice(i, langEnd);
        i = langEnd;
      }
      if (src[i] === '\n' || src[i] === '\r') {
        if ((src[i + 1] === '\n' || src[i + 1] === '\r') && src[i] !== src[i + 1]) i += 2;
        else i++;
      }
    }
    const start = out.length;
    while (i < n && (src[i] !== endChar || (isPre && !(src[i + 1] === '`' && src[i + 2] === '`')))) {
      out += src[i];
      i++;
    }
    if (i >= n) throw new EntityParseError(`Can't find end of the entity starting at byte offset ${byteOffset(src, begin)}`);
    const length = out.length - start;
    if (length > 0) {
      if (c === '_') entities.push({ type: 'italic', offset: start, length });
      else if (c === '*') entities.push({ type: 'bold', offset: start, length });
      else if (c === '`') {
        const e: MessageEntity = { type: isPre ? 'pre' : 'code', offset: start, length };
        if (isPre && language) e.language = language;
        entities.push(e);
      } else {
        let url = '';
        if (src[i + 1] !== '(') url = out.slice(start);
        else {
          i += 2;
          while (i < n && src[i] !== ')') {
            url += src[i];
            i++;
          }
        }
        const userId = textMentionUser(url);
        const link = normalizeLink(url);
        if (userId !== null) entities.push({ type: 'text_mention', offset: start, length, user: { id: userId, is_bot: false, first_name: '' } });
        else if (link) entities.push({ type: 'text_link', offset: start, length, url: link });
      }
    }
    if (isPre) i += 2;
  }
  return { text: out, entities: sortEntities(entities) };
}

export function sortEntities(entities: MessageEntity[]): MessageEntity[] {
  return [...entities].sort((a, b) => a.offset - b.offset || b.length - a.length);
}

/** Telegram strips leading and trailing whitespace from texts and captions. */
export function trimFormatted(ft: FormattedText): FormattedText {
  const { text } = ft;
  let start = 0;
  let end = text.length;
  while (start < end && isSpace(text[start])) start++;
  while (end > start && isSpace(text[end - 1])) end--;
  if (start === 0 && end === text.length) return ft;
  const entities: MessageEntity[] = [];
  for (const e of ft.entities) {
    const from = Math.max(e.offset, start);
    const to = Math.min(e.offset + e.length, end);
    if (to > from) entities.push({ ...e, offset: from - start, length: to - from });
  }
  return { text: text.slice(start, end), entities };
}

const BARE_TLDS = 'com|org|net|ru|io|gov|edu|us|uk|de|info|app|dev|me|co';
const AUTO_PATTERNS: Array<[string, RegExp]> = [
  ['email', /(?<![\p{L}\p{N}_.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(?![\p{L}\p{N}_])/gu],
  ['url', new RegExp(`(?<![\\p{L}\\p{N}_@/.])(?:(?:https?|ftp)://[^\\s<>"]+|www\\.[^\\s<>"]+|[A-Za-z0-9-]+(?:\\.[A-Za-z0-9-]+)*\\.(?:${BARE_TLDS})(?![\\p{L}\\p{N}_-])(?:/[^\\s<>"]*)?)`, 'gu')],
  ['bot_command', /(?<![\p{L}\p{N}_/<>])\/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\p{L}\p{N}_/<>])/gu],
  ['mention', /(?<![\p{L}\p{N}_@])@[A-Za-z0-9_]{4,32}(?![\p{L}\p{N}_])/gu],
  ['hashtag', /(?<![\p{L}\p{N}_#])#[\p{L}\p{N}_]*[\p{L}_][\p{L}\p{N}_]*/gu],
];
const BLOCKING_TYPES = new Set(['code', 'pre', 'text_link', 'text_mention', 'url', 'email', 'mention', 'bot_command', 'hashtag', 'custom_emoji']);

/** Entities Telegram adds on its own to every text (for user and bot messages alike). */
export function detectEntities(text: string, existing: MessageEntity[] = []): MessageEntity[] {
  const taken: Array<[number, number]> = existing.filter((e) => BLOCKING_TYPES.has(e.type)).map((e) => [e.offset, e.offset + e.length]);
  const found: MessageEntity[] = [];
  const overlaps = (a: number, b: number): boolean => taken.some(([x, y]) => a < y && x < b);
  for (const [type, re] of AUTO_PATTERNS) {
    re.lastIndex = 0;
    for (let m = re.exec(text); m; m = re.exec(text)) {
      let value = m[0];
      if (type === 'url') value = trimUrlTail(value);
      const from = m.index;
      const to = from + value.length;
      if (value.length === 0 || overlaps(from, to)) continue;
      taken.push([from, to]);
      found.push({ type, offset: from, length: value.length });
    }
  }
  return found;
}

function trimUrlTail(url: string): string {
  let u = url.replace(/[.,:;!?'"]+$/, '');
  while (u.endsWith(')') && (u.match(/\(/g)?.length ?? 0) < (u.match(/\)/g)?.length ?? 0)) u = u.slice(0, -1).replace(/[.,:;!?'"]+$/, '');
  return u;
}

export type ParseMode = 'HTML' | 'MarkdownV2' | 'Markdown';

export function resolveParseMode(raw: unknown): ParseMode | null {
  if (raw === undefined || raw === null || raw === '') return null;
  const s = String(raw).toLowerCase();
  if (s === 'html') return 'HTML';
  if (s === 'markdownv2') return 'MarkdownV2';
  if (s === 'markdown') return 'Markdown';
  throw new ApiError(400, 'Bad Request: unsupported parse_mode');
}

/**
 * Full pipeline for a text or caption the bot sends: explicit entities win over parse_mode,
 * then trimming, then auto-detected entities.
 */
export function formatOutgoing(raw: string, parseMode: unknown, explicit: MessageEntity[] | undefined): FormattedText {
  let ft: FormattedText;
  const mode = explicit && explicit.length > 0 ? null : resolveParseMode(parseMode);
  try {
    if (explicit && explicit.length > 0) ft = { text: raw, entities: sanitizeEntities(raw, explicit) };
    else if (mode === 'HTML') ft = parseHtml(raw);
    else if (mode === 'MarkdownV2') ft = parseMarkdownV2(raw);
    else if (mode === 'Markdown') ft = parseMarkdownLegacy(raw);
    else ft = { text: raw, entities: [] };
  } catch (err) {
    if (err instanceof EntityParseError) throw new ApiError(400, `Bad Request: can't parse entities: ${err.message}`);
    throw err;
  }
  ft = trimFormatted(ft);
  const auto = detectEntities(ft.text, ft.entities);
  return { text: ft.text, entities: sortEntities([...ft.entities, ...auto]) };
}

const KNOWN_ENTITY_TYPES = new Set([
  'mention', 'hashtag', 'cashtag', 'bot_command', 'url', 'email', 'phone_number', 'bold', 'italic', 'underline',
  'strikethrough', 'spoiler', 'blockquote', 'expandable_blockquote', 'code', 'pre', 'text_link', 'text_mention', 'custom_emoji',
]);
// Telegram recomputes these itself, so client-supplied ones are dropped.
const AUTO_TYPES = new Set(['mention', 'hashtag', 'cashtag', 'bot_command', 'url', 'email', 'phone_number']);

function sanitizeEntities(text: string, list: MessageEntity[]): MessageEntity[] {
  const out: MessageEntity[] = [];
  for (const raw of list) {
    if (!raw || typeof raw !== 'object') throw new ApiError(400, "Bad Request: can't parse entities: entity must be an object");
    const type = String(raw.type);
    const offset = Number(raw.offset);
    const length = Number(raw.length);
    if (!Number.isInteger(offset) || !Number.isInteger(length)) throw new ApiError(400, "Bad Request: can't parse entities: Field \"offset\" must be of type Number");
    if (!KNOWN_ENTITY_TYPES.has(type)) throw new ApiError(400, `Bad Request: can't parse entities: Unsupported type "${type}" of the MessageEntity`);
    if (AUTO_TYPES.has(type)) continue;
    const from = Math.max(0, offset);
    const to = Math.min(text.length, offset + length);
    if (to <= from) continue;
    const e: MessageEntity = { type, offset: from, length: to - from };
    if (type === 'text_link') {
      const url = normalizeLink(String(raw.url ?? ''));
      if (!url) continue;
      e.url = url;
    }
    if (type === 'text_mention' && raw.user) e.user = raw.user;
    if (type === 'pre' && raw.language) e.language = String(raw.language);
    if (type === 'custom_emoji' && raw.custom_emoji_id) e.custom_emoji_id = String(raw.custom_emoji_id);
    out.push(e);
  }
  return sortEntities(out);
}

/** Text a user types in a client: no markup, but Telegram still detects commands, links, etc. */
export function formatIncoming(text: string): FormattedText {
  return { text, entities: sortEntities(detectEntities(text)) };
}
