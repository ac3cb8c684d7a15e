/**
 * What the after-incident views share: replies and redraws, refused presses and commands told from the
 * one refusal map, the incident a command names, and 【演练】. Their inputs are flows of the one engine
 * (../engine.ts), like every other form.
 */
import type { Conversation } from '../conversation.js';
import type { Keyboard } from '../ui.js';
import { escapeHtml, truncate } from '../../i18n/markup.js';
import { t, type MessageKey, type Params } from '../../i18n/index.js';
import { findIncidentByNumber, type IncidentRow } from '../../db/repositories/incident.repository.js';
import { canReadIncidentPapers } from '../../domain/roles.js';
import { parseIncidentNumber } from '../../domain/incident-number.js';
import { isRefusal, refusalText } from '../refusals.js';

export const m = (conv: Conversation, key: MessageKey, params?: Params) => t(conv.lang, key, params);

/** A message as a view draws it: the catalogue's markup and buttons. */
export interface View {
  text: string;
  rows?: Keyboard;
}

export async function reply(conv: Conversation, view: View): Promise<void> {
  await conv.send(view.text, view.rows);
}

/** Redraws the message the pressed button is on; without one (a command), sends a new message. */
export async function show(conv: Conversation, view: View): Promise<void> {
  await conv.show(view.text, view.rows ?? []);
}

export async function sendFile(conv: Conversation, file: { filename: string; data: Buffer }, caption?: string): Promise<void> {
  await conv.sendDocument(file, caption);
}

/**
 * Runs a handler; a refusal is told to the user (as an alert when a button was pressed) and the input
 * counts as handled. Anything else goes on to the channel's error edge.
 */
export async function guarded(conv: Conversation, run: () => Promise<void>): Promise<void> {
  try {
    await run();
    await conv.answer();
  } catch (err) {
    if (!isRefusal(err)) throw err;
    const text = refusalText(conv.lang, err);
    if (conv.isPress) await conv.answer(text, true);
    else await conv.send(text);
  }
}

/** The incident a command names by its number (`/wr 2026-0042`), if the user may see it. */
export async function incidentByNumber(conv: Conversation, text: string | undefined): Promise<IncidentRow | undefined> {
  const number = (text ?? '').trim();
  if (!parseIncidentNumber(number)) return undefined;
  const incident = await findIncidentByNumber(conv.deps.db, number);
  if (!incident || !conv.who) return undefined;
  if (!canReadIncidentPapers(conv.who.actor, incident.officeUnitId)) return undefined;
  return incident;
}

/** A user's free text inside a message. */
export const quote = (text: string, max = 200) => escapeHtml(truncate(text.trim(), max));

/** 【演练】 in front of anything about a drill incident. */
export function drillMark(conv: Conversation, isDrill: boolean): string {
  return isDrill ? escapeHtml(m(conv, 'drill.prefix')) : '';
}

/** The longest text an after-incident prompt takes, in characters. */
export const MAX_INPUT_CHARS = 4000;
