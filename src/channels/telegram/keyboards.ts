/** Inline keyboards from callback data: every button goes through encodeCallback (64-byte check). */
import type { InlineKeyboardButton, InlineKeyboardMarkup } from 'telegraf/types';
import { encodeCallback, type CallbackData } from './callback-data.js';

export type Button = InlineKeyboardButton.CallbackButton;
export type Keyboard = Button[][];

export function button(text: string, data: CallbackData): Button {
  return { text, callback_data: encodeCallback(data) };
}

export function markup(rows: Keyboard): InlineKeyboardMarkup {
  return { inline_keyboard: rows.filter((r) => r.length > 0) };
}

/** Lays buttons out `perRow` to a row. */
export function grid(buttons: readonly Button[], perRow: number): Keyboard {
  const rows: Keyboard = [];
  for (let i = 0; i < buttons.length; i += perRow) rows.push(buttons.slice(i, i + perRow));
  return rows;
}
