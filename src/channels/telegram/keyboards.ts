/** Inline keyboards from the flows' buttons (../../flows/ui.ts): every action goes through encodeCallback (64-byte check). */
import type { InlineKeyboardButton, InlineKeyboardMarkup } from 'telegraf/types';
import type { Keyboard } from '../../flows/ui.js';
import { encodeCallback } from './callback-data.js';

export { button, grid, type Button, type Keyboard } from '../../flows/ui.js';

export function markup(rows: Keyboard): InlineKeyboardMarkup {
  return {
    inline_keyboard: rows
      .filter((r) => r.length > 0)
      .map((r) => r.map((b): InlineKeyboardButton => ('action' in b ? { text: b.text, callback_data: encodeCallback(b.action) } : { text: b.text, url: b.url }))),
  };
}
