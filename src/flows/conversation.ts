/**
 * The conversation port: what a flow may do in the chat it answers, whatever the messenger. A channel
 * adapter (src/channels/<name>/) turns what comes in — a command, a button press, a text, a location, a
 * file — into one `Conversation` and a call on the desk (./desk.ts) or the engine (./engine.ts), and
 * carries out what the flow asks: send, redraw, answer the press, send a file, show the incident's card.
 *
 * Text is the catalogue's markup (../i18n/markup.ts); buttons are ./ui.ts's. Where a channel lacks a
 * capability (`capabilities`, ../services/channel-port.ts) the adapter adapts: a card with more buttons
 * than the channel allows shows the first ones and a list button for the rest; a channel that cannot edit
 * sends the redrawn message anew; a channel without documents sends a download link.
 */
import type { Logger } from '../logger.js';
import type { StaffRow } from '../db/repositories/org.repository.js';
import type { Actor, ChatKind } from '../domain/index.js';
import type { Lang } from '../i18n/index.js';
import type { ChannelCapabilities, ChannelName } from '../services/channel-port.js';
import type { ServiceDeps } from '../services/ports.js';
import type { Keyboard } from './ui.js';

/** What the flows need from the process: the services' dependencies, the log and the forms' lifetime. */
export interface FlowDeps extends ServiceDeps {
  logger: Logger;
  /** How long an unfinished form is kept, in seconds (default 24 h). */
  flowTtlSeconds?: number;
}

/** A registered, active staff member, as identified by the channel. */
export interface Identity {
  staff: StaffRow;
  actor: Actor;
}

/** Which part of the card to open: a step's actions, or how an upward report was made. */
export type CardFocus = { kind: 'step'; ordinal: number } | { kind: 'how'; action: 'upper' | 'proc' };

export interface Conversation {
  readonly channel: ChannelName;
  readonly capabilities: ChannelCapabilities;
  readonly deps: FlowDeps;
  /** Set once the channel identified a registered, active staff member. */
  who: Identity | undefined;
  /** The language to answer in (the staff member's, else their messenger's). */
  lang: Lang;
  /** The chat this conversation is in: where flow states and cards are kept. */
  readonly chatId: number;
  /** The person acting, as the channel knows them. */
  readonly userId: number;
  readonly chatKind: ChatKind;
  /** Set when the input is a button press: the message the button was on. */
  readonly pressedMessageId: number | undefined;
  readonly isPress: boolean;
  /** Whether the press was answered already (each press is answered once). */
  readonly answered: boolean;

  /** Sends a new message to this chat; the message's id. */
  send(text: string, rows?: Keyboard): Promise<number>;
  /** Redraws a message of this chat; a redraw that changes nothing is success. */
  edit(messageId: number, text: string, rows?: Keyboard): Promise<void>;
  /** Redraws the pressed message, or sends a new one when this input was not a press. */
  show(text: string, rows?: Keyboard): Promise<number>;
  /** Takes a message's buttons away (optionally replacing its text); a failure is logged, not thrown. */
  retire(messageId: number, text?: string): Promise<void>;
  /** Answers the press once (a short notice, or an alert); later calls and non-presses do nothing. */
  answer(text?: string, alert?: boolean): Promise<void>;
  /** The content of a file the person sent (MediaInput.fileId), at most `maxBytes`; refused when larger. */
  fetchFile(fileId: string, maxBytes: number): Promise<Buffer>;
  /** Sends a file; a channel without documents sends what it can instead. */
  sendDocument(file: { filename: string; data: Buffer }, caption?: string): Promise<void>;
  /** Sends the incident's card here (the chat's earlier card becomes a pointer); the message id. */
  sendCard(incidentId: string): Promise<number | undefined>;
  /** Redraws the incident's card in a message of this chat (default: the pressed one). */
  redrawCard(incidentId: string, opts?: { messageId?: number; focus?: CardFocus }): Promise<void>;
  /** Puts this person's command menu in line with their positions and language (where the channel has menus). */
  refreshMenu(): Promise<void>;
  /** Asks the channel to deliver this input again later (the database was out of reach). */
  askForRedelivery(): void;
}

/** The identified staff member; handlers behind identification may rely on it. */
export function whoOf(conv: Conversation): Identity {
  if (!conv.who) throw new Error('handler reached without an identified staff member');
  return conv.who;
}

/** A file sent in the chat is larger than the flow takes: nothing of it was read. */
export class FileTooLarge extends Error {
  override readonly name = 'FileTooLarge';
  constructor(readonly maxBytes: number) {
    super(`file larger than ${maxBytes} bytes`);
  }
}
