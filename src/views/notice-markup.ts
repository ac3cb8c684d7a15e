/**
 * What the notice modules of this folder draw with: the catalogue's markup (../i18n/markup.ts) with
 * every value escaped, and buttons in the shape of the flows' (src/flows/ui.ts), which this layer may not
 * import. An adapter passes the rows on as its Keyboard; the compiler checks each action there, so an
 * action named here that the flows do not know fails to build.
 */
import { t, type Lang, type MessageKey, type Params } from '../i18n/index.js';
import { escapeHtml } from '../i18n/markup.js';

/** The actions a notice's buttons carry (each one of src/flows/actions.ts). */
export type NoticeActionName = 'areq' | 'away' | 'abscond' | 'contact' | 'card' | 'rel' | 'wr' | 'rcpt';

/** A button's action: `a` the action, `i` the id it acts on, `k` a key, `v` the version it was drawn at. */
export interface NoticeAction {
  a: NoticeActionName;
  i?: string;
  k?: string;
  v?: number;
}

export interface NoticeButton {
  readonly text: string;
  readonly action: NoticeAction;
}

/** Rows of buttons, as a keyboard lays them out. */
export type NoticeRows = NoticeButton[][];

export function noticeButton(text: string, action: NoticeAction): NoticeButton {
  return { text, action };
}

/** One catalogue text with every value escaped for the markup. */
export function tx(lang: Lang, key: MessageKey, params: Params = {}): string {
  const safe: Params = {};
  for (const [k, v] of Object.entries(params)) safe[k] = typeof v === 'string' ? escapeHtml(v) : v;
  return t(lang, key, safe);
}

/** What a notice that is not the card says: its markup, and its buttons (none is an empty list). */
export interface NoticeBody {
  text: string;
  rows?: NoticeRows;
}
