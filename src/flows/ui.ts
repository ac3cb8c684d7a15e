/**
 * Buttons as the flows and renderers draw them, whatever the channel: a label and an action (or a link).
 * The channel adapter lays them out within its own limits (Telegram: an inline keyboard; WeCom: at most
 * six buttons on a card, the rest behind a list button).
 */
import type { ButtonAction } from './actions.js';

export type Button = { readonly text: string; readonly action: ButtonAction } | { readonly text: string; readonly url: string };
export type Keyboard = Button[][];

export function button(text: string, action: ButtonAction): Button {
  return { text, action };
}

export function linkButton(text: string, url: string): Button {
  return { text, url };
}

/** Lays buttons out `perRow` to a row. */
export function grid(buttons: readonly Button[], perRow: number): Keyboard {
  const rows: Keyboard = [];
  for (let i = 0; i < buttons.length; i += perRow) rows.push(buttons.slice(i, i + perRow));
  return rows;
}

/** The actions a keyboard carries, in order (a channel that cannot show them all picks from these). */
export function actionsOf(rows: Keyboard): Array<{ text: string; action: ButtonAction }> {
  return rows.flat().filter((b): b is { text: string; action: ButtonAction } => 'action' in b);
}
