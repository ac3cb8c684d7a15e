/**
 * The WeCom side of the notice port (src/services/channel-port.ts): draws an outbox row as WeCom shows
 * it and sends or redraws it through the messenger (./messenger.ts), in the port's terms.
 *
 * Where the WeCom form differs from Telegram's:
 * - the incident's card is the WeCom card (./incident-card.ts): counts, the next due step and
 *   deadline, the viewer's buttons within 6, 处置清单 as a choice;
 * - an event (noticeShape `event`) is a message of its own: WeCom has no reply-to, so it names the
 *   incident in its first lines (`notice.about`), as Telegram's does too; a paper notice's button makes
 *   it a card;
 * - a redraw spends one of the card's response_codes; with none left a new card takes its place and
 *   the message number stays the card's (the old card is pointed to it when it can be);
 * - the "re-sent" note opens the card's quote, whole (the quote after it is cut to fit: the English
 *   note alone is longer than CARD_TEXT.quote), or is the text's first line;
 * - limits: WeCom drops, without an error, what a member gets past 30 a minute or 1 000 an hour, so
 *   the client's limiter (./limits.ts) holds such a send back before it leaves. Held back, or refused by
 *   WeCom's own frequency errcode, the send comes back later (ChannelSlotAhead): never a pause of the
 *   send queue, which Telegram's notices share.
 */
import { actorFor, type StaffRow } from '../../db/repositories/org.repository.js';
import type { OutboxRow } from '../../db/repositories/outbox.repository.js';
import { wecomUserOfChat } from '../../db/repositories/wecom.repository.js';
import type { Keyboard } from '../../flows/ui.js';
import { t, type Lang } from '../../i18n/index.js';
import { escapeHtml, fitMessage } from '../../i18n/markup.js';
import { ChannelRateLimited, ChannelSlotAhead, RecipientNotFound, type DrawnNotice, type NoticeChannel, type SendHooks } from '../../services/channel-port.js';
import type { IncidentRef } from '../../services/ports.js';
import { loadIncidentCardView } from '../../views/incident-card-view.js';
import { drawNoticeWords, type NoticeDrawDeps } from '../../views/notice-words.js';
import { WECOM_CAPABILITIES } from './capabilities.js';
import { renderWecomIncidentCard } from './incident-card.js';
import type { WecomChatTarget, WecomMessenger } from './messenger.js';
import { hasButtons, promptCard, type CardSpec } from './render.js';

type WecomNoticeMessage = { kind: 'card'; spec: CardSpec } | { kind: 'text'; markup: string; rows?: Keyboard | undefined };

/** A drawn WeCom notice, with the language it was drawn in (for the "re-sent" note). */
interface WecomDrawn extends DrawnNotice {
  readonly message: WecomNoticeMessage;
  readonly lang: Lang;
}

/** What drawing needs of the app: the database, the PII cipher and mode, the zone, the policy. */
export type DrawDeps = NoticeDrawDeps;

interface Drawn {
  message: WecomNoticeMessage;
  cardVersion?: number;
  incident?: IncidentRef;
}

/** The send queue's pace when WeCom is the only channel: WeCom sets no per-second figure; its day's budget is held by the limiter. */
export const WECOM_QUEUE_LIMITER = { max: 20, duration: 1000 } as const;

/**
 * Requests one notice may make, for the in-flight guard: a preface, the card, and the old card's pointer.
 * The port's `requestTimeoutMs` is the whole send's.
 */
const REQUESTS_PER_NOTICE = 3;

export function wecomNoticeChannel(messenger: WecomMessenger, deps: DrawDeps): NoticeChannel {
  const targetOf = async (chatId: number, lang: Lang): Promise<WecomChatTarget> => {
    const user = await wecomUserOfChat(deps.db, chatId);
    if (!user) throw new RecipientNotFound('no WeCom member is bound to this chat');
    return { chatKey: chatId, userId: user.userid, lang };
  };

  /** WeCom's limits in the port's terms: come back when the slot is free; the queue goes on for others. */
  async function limited<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (e) {
      if (e instanceof ChannelRateLimited) throw new ChannelSlotAhead(Date.now() + Math.max(1, e.retryAfterSeconds) * 1000);
      throw e;
    }
  }

  const withNote = (m: WecomNoticeMessage, note: string): WecomNoticeMessage =>
    m.kind === 'card' ? { kind: 'card', spec: { ...m.spec, note } } : { ...m, markup: fitMessage([escapeHtml(note), ...m.markup.split('\n')]) };

  const specOf = (m: WecomNoticeMessage): CardSpec | undefined => (m.kind === 'card' ? m.spec : hasButtons(m.rows) ? promptCard(m.markup, m.rows) : undefined);

  return {
    name: 'wecom',
    capabilities: WECOM_CAPABILITIES,
    requestTimeoutMs: messenger.api.requestTimeoutMs * REQUESTS_PER_NOTICE,
    maxInlineWaitMs: 0,
    queueLimiter: WECOM_QUEUE_LIMITER,
    // WeCom's per-member limits are the limiter's (a send past them comes back as ChannelSlotAhead).
    reserve: () => 0,
    draw: async (row, recipient, lang, now) => {
      const drawn = await drawWecomNotice(deps, row, recipient, lang, now);
      return drawn ? { ...drawn, lang } : undefined;
    },
    drawCard: async (incidentId, recipient, lang, now) => {
      const drawn = await drawWecomCard(deps, incidentId, recipient, lang, now);
      return drawn ? { ...drawn, lang } : undefined;
    },
    // No reply-to in WeCom: an event names its incident itself.
    send: (chatId, drawn, hooks) =>
      limited(async () => {
        const d = drawn as WecomDrawn;
        const to = await targetOf(chatId, d.lang);
        const { resent } = await hooks.beforeRequest();
        const message = resent ? withNote(d.message, t(d.lang, 'notice.resent')) : d.message;
        const spec = specOf(message);
        const messageId = spec ? await messenger.sendCard(to, spec) : await messenger.sendText(to, (message as { markup: string }).markup);
        return { messageId };
      }),
    edit: (chatId, messageId, drawn, hooks?: SendHooks) =>
      limited(async () => {
        const d = drawn as WecomDrawn;
        const to = await targetOf(chatId, d.lang);
        if (hooks) await hooks.beforeRequest();
        const spec = specOf(d.message);
        // A message without buttons cannot be redrawn as such: it goes anew.
        if (!spec) return { messageId: await messenger.sendText(to, (d.message as { markup: string }).markup) };
        await messenger.redraw(to, messageId, spec);
        return { messageId };
      }),
  };
}

// ---------------------------------------------------------------------------------------------
// Drawing a notice for its recipient: the words are every channel's (src/views/notice-words.ts); here
// they become a WeCom text, or a card when they carry buttons.

export async function drawWecomNotice(deps: DrawDeps, row: OutboxRow, recipient: StaffRow, lang: Lang, now: Date): Promise<Drawn | undefined> {
  const words = await drawNoticeWords(deps, row, recipient, lang, now);
  if (!words) return undefined;
  if (words.kind === 'card') return drawWecomCard(deps, words.incidentId, recipient, lang, now);
  return { message: { kind: 'text', markup: words.text, ...(words.rows.length ? { rows: words.rows } : {}) }, ...(words.incident ? { incident: words.incident } : {}) };
}

/** The incident's WeCom card alone, as the recipient may see it now. */
export async function drawWecomCard(deps: DrawDeps, incidentId: string, recipient: StaffRow, lang: Lang, now: Date): Promise<Drawn | undefined> {
  const view = await loadIncidentCardView(deps.db, incidentId, deps.cipher);
  if (!view) return undefined;
  const actor = await actorFor(deps.db, recipient);
  const spec = renderWecomIncidentCard(view, { actor, lang, now, timeZone: deps.timeZone, piiMode: deps.piiMode });
  return { message: { kind: 'card', spec }, cardVersion: view.incident.version, incident: { id: view.incident.id, number: view.incident.number } };
}
