/**
 * The conversation port (../../flows/conversation.ts) over one WeCom callback: the flows' sends,
 * redraws and answers become WeCom API calls, through the messenger (./messenger.ts).
 *
 * Where WeCom differs from Telegram, and what is done instead:
 * - send with buttons: a button card, at most 6 buttons (5 and 更多… past that); its text on the card
 *   when it is short, else as a message above the card;
 * - edit: update_template_card with one of the card's response_codes; with none left, or text too long
 *   for a card, a new card under the same message number, the old card pointed to it;
 * - edit without buttons, retire: the card's buttons greyed out with the text as their label (a card
 *   cannot lose its buttons, nor be a bare text); a longer text also goes as a message;
 * - answer: there is no toast; a press's answer with words is a short message, one without is nothing;
 * - sendDocument: media/upload, then a file message (its caption a message before it);
 * - fetchFile: media/get of a picture, voice note or video the member sent (a member cannot send an
 *   application a document), within the three days WeCom keeps it;
 * - sendCard / redrawCard: the WeCom card (./incident-card.ts): counts, next due steps, 处置清单;
 * - refreshMenu: nothing (an application's menu is the same for every member, set in the admin console);
 * - askForRedelivery: nothing (the callback was answered at once); the edge tells the member instead.
 */
import { cardMessageOf, recordCardMessage } from '../../db/repositories/card-message.repository.js';
import { FileTooLarge, type Conversation, type FlowDeps, type Identity } from '../../flows/conversation.js';
import type { Keyboard } from '../../flows/ui.js';
import { t, type Lang } from '../../i18n/index.js';
import { plainText } from '../../i18n/markup.js';
import { WECOM_CAPABILITIES } from './capabilities.js';
import { loadWecomCardView, renderWecomIncidentCard, type WecomCardContext, type WecomCardView } from './incident-card.js';
import type { WecomMessenger, WecomChatTarget } from './messenger.js';
import { CARD_TEXT, hasButtons, promptCard } from './render.js';

export interface WecomConversationInit {
  deps: FlowDeps;
  messenger: WecomMessenger;
  /** The chat's key (wecom_users.chat_key) and the member's userid. */
  chatKey: number;
  userId: string;
  who: Identity | undefined;
  lang: Lang;
  /** Set when the input is a press: the message it acts on. */
  pressedMessageId?: number | undefined;
  isPress: boolean;
  /** WECOM_API_ROOT, for media/get. */
  apiRoot: string;
}

export interface WecomConversation extends Conversation {
  /** Where this conversation writes, in its current language. */
  readonly target: WecomChatTarget;
  /** Set when a flow asked for the input again (the database was out of reach). */
  readonly redeliveryAsked: boolean;
}

export function wecomConversation(init: WecomConversationInit): WecomConversation {
  const { deps, messenger, chatKey, userId } = init;
  let lang = init.lang;
  let who = init.who;
  let answered = false;
  let redeliveryAsked = false;
  const target = (): WecomChatTarget => ({ chatKey, userId, lang });
  const cardContext = (): WecomCardContext | undefined =>
    who ? { actor: who.actor, lang, now: deps.clock.now(), timeZone: deps.timeZone, piiMode: deps.piiMode } : undefined;
  const loadView = (incidentId: string): Promise<WecomCardView | undefined> => loadWecomCardView(deps.db, incidentId, deps.cipher);

  const conv: WecomConversation = {
    channel: 'wecom',
    capabilities: WECOM_CAPABILITIES,
    deps,
    get who() {
      return who;
    },
    set who(value) {
      who = value;
    },
    get lang() {
      return lang;
    },
    set lang(value) {
      lang = value;
    },
    get target() {
      return target();
    },
    get redeliveryAsked() {
      return redeliveryAsked;
    },
    chatId: chatKey,
    userId: chatKey,
    chatKind: 'private',
    pressedMessageId: init.pressedMessageId,
    isPress: init.isPress,
    get answered() {
      return answered;
    },

    async send(text, rows) {
      return hasButtons(rows) ? messenger.sendCard(target(), promptCard(text, rows)) : messenger.sendText(target(), text);
    },

    async edit(messageId, text, rows?: Keyboard) {
      if (hasButtons(rows)) {
        await messenger.redraw(target(), messageId, promptCard(text, rows));
        return;
      }
      const greyed = await messenger.grey(target(), { messageId }, text);
      if (!greyed || [...plainText(text).trim()].length > CARD_TEXT.replaceName) await messenger.sendText(target(), text);
    },

    async show(text, rows) {
      if (conv.pressedMessageId === undefined) return conv.send(text, rows);
      await conv.edit(conv.pressedMessageId, text, rows);
      return conv.pressedMessageId;
    },

    async retire(messageId, text) {
      try {
        await messenger.grey(target(), { messageId }, text ?? t(lang, 'wecom.card.closed'));
      } catch (err) {
        deps.logger.debug({ err: { name: (err as Error).name, message: (err as Error).message }, chatKey, messageId }, 'could not close an old card');
      }
    },

    async answer(text) {
      if (!conv.isPress || answered) return;
      answered = true;
      if (!text) return;
      await messenger.sendText(target(), text).catch((err: unknown) => {
        deps.logger.debug({ err: { name: (err as Error).name, message: (err as Error).message }, chatKey }, 'could not answer the press');
      });
    },

    async fetchFile(fileId, maxBytes) {
      const url = new URL(`${init.apiRoot.replace(/\/+$/, '')}/cgi-bin/media/get`);
      url.searchParams.set('access_token', await messenger.api.accessToken());
      url.searchParams.set('media_id', fileId);
      const response = await fetch(url, { signal: AbortSignal.timeout(messenger.api.requestTimeoutMs) });
      // WeCom answers an error as JSON, the file as anything else.
      if (!response.ok || (response.headers.get('content-type') ?? '').includes('json')) throw new Error(`WeCom media/get failed: HTTP ${response.status}`);
      const declared = Number(response.headers.get('content-length') ?? '0');
      if (declared > maxBytes) throw new FileTooLarge(maxBytes);
      const data = Buffer.from(await response.arrayBuffer());
      if (data.length > maxBytes) throw new FileTooLarge(maxBytes);
      return data;
    },

    async sendDocument(file, caption) {
      if (caption) await messenger.sendText(target(), caption);
      const media = await messenger.api.uploadMedia({ filename: file.filename, data: file.data });
      await messenger.api.sendFile(userId, media.mediaId);
    },

    async sendCard(incidentId) {
      const ctx = cardContext();
      if (!ctx) return undefined;
      const view = await loadView(incidentId);
      if (!view) return undefined;
      const previous = await cardMessageOf(deps.db, incidentId, chatKey);
      const messageId = await messenger.sendCard(target(), renderWecomIncidentCard(view, ctx));
      await recordCardMessage(deps.db, incidentId, chatKey, messageId, view.incident.version, deps.clock.now());
      if (previous && previous.messageId !== messageId) {
        await messenger
          .grey(target(), { messageId: previous.messageId }, t(lang, 'card.moved', { number: view.incident.number }))
          .catch((err: unknown) => deps.logger.debug({ err: { name: (err as Error).name }, incidentId, chatKey }, 'could not retire an old card'));
      }
      return messageId;
    },

    async redrawCard(incidentId, opts = {}) {
      const messageId = opts.messageId ?? conv.pressedMessageId;
      const ctx = cardContext();
      if (messageId === undefined || !ctx) return;
      const view = await loadView(incidentId);
      if (!view) return;
      await messenger.redraw(target(), messageId, renderWecomIncidentCard(view, ctx, opts.focus));
      await recordCardMessage(deps.db, incidentId, chatKey, messageId, view.incident.version, deps.clock.now());
    },

    async refreshMenu() {
      // An application's menu is set in the admin console, the same for every member.
    },

    askForRedelivery() {
      redeliveryAsked = true;
    },
  };
  return conv;
}
