/**
 * The Telegram side of the notice port (src/services/channel-port.ts): draws an outbox row as Telegram
 * shows it — HTML, the incident's card with its buttons, callback data — and sends or edits it through
 * the gateway, turning the gateway's errors into the port's.
 *
 * What a notice says is every channel's (src/views/notice-words.ts), drawn at send time from ids (the row
 * holds no names): the incident's card; a short event that names the incident and says what happened and
 * what is expected (sent here as a reply to the card); or a plain notice (daily contact, the digest,
 * system alerts, the absence process).
 */
import { TELEGRAM_CAPABILITIES } from './capabilities.js';
import { actorFor, type StaffRow } from '../../db/repositories/org.repository.js';
import type { OutboxRow } from '../../db/repositories/outbox.repository.js';
import { piiModeForChat, type ChatKind } from '../../domain/index.js';
import { t, type Lang } from '../../i18n/index.js';
import {
  ChannelRateLimited,
  ChannelSlotAhead,
  ChannelTransient,
  MessageGone,
  RecipientBlocked,
  RecipientNotFound,
  RequestRefused,
  type DrawnNotice,
  type NoticeChannel,
  type SendHooks,
} from '../../services/channel-port.js';
import type { IncidentRef } from '../../services/ports.js';
import { drawNoticeWords, type NoticeDrawDeps } from '../../views/notice-words.js';
import { escapeHtml, fitMessage } from './html.js';
import { markup } from './keyboards.js';
import {
  ChatSlotAhead,
  SEND_QUEUE_LIMITER,
  TelegramBadRequest,
  TelegramBlocked,
  TelegramRateLimited,
  TelegramTransient,
  type CallHooks,
  type OutgoingMessage,
  type TelegramGateway,
} from './telegram-gateway.js';
import { loadIncidentCardView, renderIncidentCard } from './views/incident-card.js';

/** What drawing needs of the app: the database, the PII cipher and mode, the zone, the policy. */
export type DrawDeps = NoticeDrawDeps;

/** Telegram, as the port sees it. */

/** A drawn Telegram message, with the language it was drawn in (for the "re-sent" note). */
interface TelegramDrawn extends DrawnNotice {
  readonly message: OutgoingMessage;
  readonly lang: Lang;
}

export function telegramNoticeChannel(gateway: TelegramGateway, deps: DrawDeps): NoticeChannel {
  const callHooks = (drawn: TelegramDrawn, hooks?: SendHooks): CallHooks =>
    hooks
      ? {
          spacingKey: hooks.spacingKey,
          urgent: hooks.urgent,
          ...(hooks.followUp ? { followUp: true } : {}),
          beforeRequest: async () => {
            const { resent } = await hooks.beforeRequest();
            if (resent) return withNote(drawn.message, t(drawn.lang, 'notice.resent'));
          },
        }
      : {};
  return {
    name: 'telegram',
    capabilities: TELEGRAM_CAPABILITIES,
    requestTimeoutMs: gateway.requestTimeoutMs,
    maxInlineWaitMs: gateway.maxInlineWaitMs,
    queueLimiter: SEND_QUEUE_LIMITER,
    reserve: (chatId, key, opts) => gateway.reserveChat(chatId, key, opts),
    draw: async (row, recipient, lang, now, chat) => {
      const drawn = await drawTelegramNotice(deps, row, recipient, lang, now, chat);
      return drawn ? { ...drawn, lang } : undefined;
    },
    drawCard: async (incidentId, recipient, lang, now, chat) => {
      const drawn = await drawTelegramCard(deps, incidentId, recipient, lang, now, chat);
      return drawn ? { ...drawn, lang } : undefined;
    },
    send: (chatId, drawn, hooks, opts) => {
      const message = opts?.replyTo !== undefined ? { ...(drawn as TelegramDrawn).message, replyTo: opts.replyTo } : (drawn as TelegramDrawn).message;
      return portErrors(() => gateway.sendMessage(chatId, message, callHooks({ ...(drawn as TelegramDrawn), message }, hooks)));
    },
    edit: (chatId, messageId, drawn, hooks) =>
      portErrors(() => gateway.editMessage(chatId, messageId, (drawn as TelegramDrawn).message, callHooks(drawn as TelegramDrawn, hooks))),
  };
}

/** The gateway's errors in the port's terms; anything else (the service's own claim refusal) as it is. */
async function portErrors<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (e) {
    throw toPortError(e);
  }
}

export function toPortError(e: unknown): unknown {
  if (e instanceof TelegramRateLimited) return new ChannelRateLimited(e.message, e.retryAfterSeconds, { cause: e });
  if (e instanceof TelegramBlocked) return new RecipientBlocked(e.message, { cause: e });
  if (e instanceof TelegramBadRequest) {
    if (e.chatNotFound) return new RecipientNotFound(e.message, { cause: e });
    if (e.messageGone) return new MessageGone(e.message, { cause: e });
    return new RequestRefused(e.message, { cause: e });
  }
  if (e instanceof TelegramTransient) return new ChannelTransient(e.message, e.ambiguous, { cause: e });
  if (e instanceof ChatSlotAhead) return new ChannelSlotAhead(e.until);
  return e;
}

function withNote(message: OutgoingMessage, note: string): OutgoingMessage {
  return { ...message, text: fitMessage([escapeHtml(note), ...message.text.split('\n')]) };
}

// ---------------------------------------------------------------------------------------------
// Drawing a notice for its recipient: the words are every channel's (src/views/notice-words.ts); here
// they become Telegram HTML (the catalogue's markup as it is) and an inline keyboard.

interface Drawn {
  message: OutgoingMessage;
  /** Set when the message is the incident's card: its version, recorded in incident_cards. */
  cardVersion?: number;
  /** The incident the message is about, for the log. */
  incident?: IncidentRef;
}

export async function drawTelegramNotice(deps: DrawDeps, row: OutboxRow, recipient: StaffRow, lang: Lang, now: Date, chat: ChatKind = 'private'): Promise<Drawn | undefined> {
  // A duty group's copy: the words name the subject as a group may see it (always masked).
  const words = await drawNoticeWords({ ...deps, piiMode: piiModeForChat(deps.piiMode, chat) }, row, recipient, lang, now);
  if (!words) return undefined;
  if (words.kind === 'card') return drawTelegramCard(deps, words.incidentId, recipient, lang, now, chat);
  return {
    message: { text: words.text, parseMode: 'HTML', ...(words.rows.length ? { replyMarkup: markup(words.rows) } : {}) },
    ...(words.incident ? { incident: words.incident } : {}),
  };
}

/** The incident's card alone, as the recipient may see it now. */
export async function drawTelegramCard(deps: DrawDeps, incidentId: string, recipient: StaffRow, lang: Lang, now: Date, chat: ChatKind = 'private'): Promise<Drawn | undefined> {
  const view = await loadIncidentCardView(deps.db, incidentId, deps.cipher);
  if (!view) return undefined;
  const actor = await actorFor(deps.db, recipient);
  const card = renderIncidentCard(view, { actor, chatKind: chat }, lang, now, deps.timeZone, piiModeForChat(deps.piiMode, chat));
  return { message: { text: card.text, parseMode: 'HTML', replyMarkup: card.reply_markup }, cardVersion: view.incident.version, incident: { id: view.incident.id, number: view.incident.number } };
}
