/**
 * The port between the use cases and a messenger. The services decide what happened and to whom (an
 * outbox row: a notice kind, ids, a recipient); a channel adapter (src/channels/<name>/) draws it as its
 * messenger shows things, sends it or redraws a card in place, and says how a send failed in the
 * port's terms. Nothing here knows HTML, keyboards, callback data or any messenger's limits.
 *
 * The port's shape follows what messengers can do, not what Telegram can: a channel states its
 * capabilities, and the flows and renderers adapt where one is missing.
 */
import type { OutboxRow } from '../db/repositories/outbox.repository.js';
import type { StaffRow } from '../db/repositories/org.repository.js';
import type { ChatKind } from '../domain/index.js';
import type { Lang } from '../i18n/index.js';
import type { IncidentRef } from './ports.js';

export type ChannelName = 'telegram' | 'wecom';

/**
 * What a messenger can do, as the flows and renderers need to know it.
 * - Fewer buttons per card than a checklist has steps: the card shows counts and the next due steps, and
 *   a list button opens the steps as a choice.
 * - No edit in place (or edits used up): a new message replaces the card, and the old one is pointed to it.
 * - No reply-to: the notice names the incident in its first line instead of leading to the card.
 * - No free-form reply keyboard: choices are buttons on the message, text is typed back.
 * - No documents: a link to download the file. No locations: the place is typed.
 */
export interface ChannelCapabilities {
  /** Buttons one message may carry; Infinity where the messenger sets no practical limit. */
  buttonsPerMessage: number;
  /** A sent message can be edited in place (the card is redrawn, not sent again). */
  editInPlace: boolean;
  /** How many times one message can be edited; Infinity where unlimited. */
  editsPerMessage: number;
  /** A message can reply to another, so its notification leads to the card. */
  replyTo: boolean;
  /** Files (the .docx reports) can be sent in the chat. */
  documents: boolean;
  /** A user can share a location. */
  locations: boolean;
  /** A keyboard of free-form choices under the text box. */
  replyKeyboard: boolean;
  /**
   * Group chats a unit can bind as duty groups (issue 15: /groupcode, /bindgroup, /unbindgroup). Where
   * false, those commands say where groups are bound, change nothing, and are not in the menu.
   */
  groupChats: boolean;
}

/** A notice drawn for one recipient: opaque to the services, which only keep its card version. */
export interface DrawnNotice {
  /** The messenger's own form of the message; only the adapter that drew it reads it. */
  readonly message: unknown;
  /** Set when the message is (or carries) the incident's card: the incident version it shows. */
  readonly cardVersion?: number;
  /** The incident the message is about, for the log. */
  readonly incident?: IncidentRef;
}

export interface SendHooks {
  /** Names the send for the channel's own spacing (a slot kept for this row). */
  spacingKey: string;
  /** Escalations and deadlines: ahead of routine notices at every stage. */
  urgent: boolean;
  /**
   * The event that follows the card an earlier run of the same notice sent: the card already rang the
   * phone, so this one gives way to other people's first messages where the messenger has an overall rate.
   */
  followUp?: boolean;
  /**
   * Called right before the request leaves (after any wait for a slot): the service claims its row here.
   * `resent`: an earlier attempt may have been delivered, so the message says it is sent again.
   */
  beforeRequest(): Promise<{ resent: boolean }>;
}

export interface NoticeChannel {
  readonly name: ChannelName;
  readonly capabilities: ChannelCapabilities;
  /** Longest one request may take, in milliseconds: an attempt older than this plus a margin is over. */
  readonly requestTimeoutMs: number;
  /** Longest a send may wait in place for its chat's slot, in milliseconds; longer waits come back later. */
  readonly maxInlineWaitMs: number;
  /** The send queue's limiter across every worker process (the messenger's overall rate). */
  readonly queueLimiter: { max: number; duration: number };
  /** Keeps a send slot for `key` in the chat; milliseconds until it is due (0: now). */
  reserve(chatId: number, key: string, opts: { urgent: boolean }): number;
  /**
   * Draws the notice for its recipient, in their language, now; undefined when there is nothing to show.
   * A `card` notice (domain noticeShape) is the incident's card; an `event` is the short message that goes
   * with the card; a `paper` opens a written report or a release.
   */
  draw(row: OutboxRow, recipient: StaffRow, lang: Lang, now: Date, chat?: ChatKind): Promise<DrawnNotice | undefined>;
  /**
   * Draws the incident's card alone, as the recipient may see it now. `chat`: 'group' for a duty
   * group's copy (masked, forms left out); default the recipient's private chat.
   */
  drawCard(incidentId: string, recipient: StaffRow, lang: Lang, now: Date, chat?: ChatKind): Promise<DrawnNotice | undefined>;
  /** Sends a new message; `replyTo`: as a reply to this message of the chat (where the messenger can). */
  send(chatId: number, drawn: DrawnNotice, hooks: SendHooks, opts?: { replyTo?: number }): Promise<{ messageId: number }>;
  /** Redraws a message in place. */
  edit(chatId: number, messageId: number, drawn: DrawnNotice, hooks?: SendHooks): Promise<{ messageId: number }>;
}

// ---------------------------------------------------------------------------------------------
// How a send failed, in the port's terms. Adapters throw these (their own errors as `cause`).

export class ChannelError extends Error {
  override name = 'ChannelError';
}

/** The person blocked the bot or left the messenger: they cannot receive it. */
export class RecipientBlocked extends ChannelError {
  override name = 'RecipientBlocked';
}

/** The person never opened a chat with the bot (or it no longer exists). */
export class RecipientNotFound extends ChannelError {
  override name = 'RecipientNotFound';
}

/** The message to redraw is gone or can no longer be edited: send a new one instead. */
export class MessageGone extends ChannelError {
  override name = 'MessageGone';
}

/** The messenger refused the request itself (bad parameters): retrying cannot help. */
export class RequestRefused extends ChannelError {
  override name = 'RequestRefused';
}

/** Too many requests: wait `retryAfterSeconds`, then try again. Nothing was sent. */
export class ChannelRateLimited extends ChannelError {
  override name = 'ChannelRateLimited';
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * A server error, a network failure or a timeout: try again with backoff. `ambiguous`: the request may
 * have reached the messenger, so the message may have been delivered.
 */
export class ChannelTransient extends ChannelError {
  override name = 'ChannelTransient';
  constructor(
    message: string,
    readonly ambiguous: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The chat has sends queued ahead of this one: come back at `until` (ms since the epoch). Nothing was sent. */
export class ChannelSlotAhead extends ChannelError {
  override name = 'ChannelSlotAhead';
  constructor(readonly until: number) {
    super(`chat busy until ${new Date(until).toISOString()}`);
  }
}
