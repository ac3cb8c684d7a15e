/**
 * One member's chat with the application, as the conversation (./conversation.ts) and the notices
 * (./notice-channel.ts) both write to it. WeCom's msgid is a string and a card is known by its task_id,
 * so every message gets a number of ours (wecom_message_id_seq), the one the flows, flow_states and
 * incident_cards hold; wecom_cards ties each card's task_id to its message.
 *
 * - A message without buttons is markdown or text (./render.ts).
 * - A message with buttons is a button_interaction card of at most 6 buttons; with more, the first 5
 *   and 更多…, which opens the rest as a choice card (vote_interaction, single choice, 20 options;
 *   past 19, 更多… again). A choice made there acts on the card it was opened from.
 * - A redraw is update_template_card with a response_code of the card (one from the send, one from each
 *   press, each used once, for 72 hours). With none left, or when the new text does not fit on a card,
 *   a new card takes the message's number and the old card is pointed to it: at once when it still has
 *   a code, else on its next press (which brings one). An update that got no answer may have landed and
 *   spent its code: the new card goes at once, marked as sent again (as a re-sent notice is), and stays
 *   marked if it only goes on a later attempt, in this process or another: the doubt is kept on the
 *   card's row (wecom_cards.update_in_doubt_at) until an update or the replacement goes through.
 */
import { randomBytes } from 'node:crypto';
import type { Executor } from '../../db/client.js';
import {
  clearWecomCardUpdateInDoubt,
  currentWecomCard,
  markWecomCardUpdateInDoubt,
  nextWecomMessageId,
  recordWecomCard,
  setWecomCardOverflow,
  takeResponseCode,
  wecomCardByTask,
} from '../../db/repositories/wecom.repository.js';
import type { Clock } from '../../domain/index.js';
import { t, type Lang } from '../../i18n/index.js';
import { plainText, truncate } from '../../i18n/markup.js';
import type { Logger } from '../../logger.js';
import { ChannelTransient, MessageGone } from '../../services/channel-port.js';
import { CHOICE_QUESTION, MORE_KEY, PICK_KEY, uniqueKey } from './button-keys.js';
import { CARD_TEXT, quoteText, textMessages, type CardButtonSpec, type CardSpec } from './render.js';
import { WECOM_CARD_LIMITS, type ButtonInteractionCard, type CardButton, type VoteInteractionCard } from './template-card.js';
import type { WecomApi } from './wecom-api.js';

/** Where a message goes: the chat's key (ours) and the member's userid (WeCom's), and their language. */
export interface WecomChatTarget {
  chatKey: number;
  userId: string;
  lang: Lang;
}

export interface WecomMessengerDeps {
  db: Executor;
  api: WecomApi;
  clock: Clock;
  logger: Logger;
}

/** A choice card: options whose ids are button keys, acting on the parent message when submitted. */
export interface ChoiceSpec {
  title: string;
  desc?: string | undefined;
  subtitle?: string | undefined;
  /** Markup sent before the card (the whole list, when the card cannot show it). */
  preface?: string | undefined;
  options: Array<{ text: string; key: string }>;
  parentMessageId: number;
}

/** How long a response_code is counted usable, in milliseconds: WeCom's 72 hours, less 10 minutes for clocks. */
export const RESPONSE_CODE_LIFETIME_MS = 72 * 3_600_000 - 10 * 60_000;

const newTaskId = (): string => `c_${randomBytes(12).toString('hex')}`;

/** Keys unique on their card: a repeated action gets `#n`. */
function uniqueKeys<T extends { key: string }>(items: readonly T[]): T[] {
  const seen = new Map<string, number>();
  return items.map((item) => {
    const n = seen.get(item.key) ?? 0;
    seen.set(item.key, n + 1);
    return n === 0 ? item : { ...item, key: uniqueKey(item.key, n) };
  });
}

export class WecomMessenger {
  constructor(private readonly deps: WecomMessengerDeps) {}

  get api(): WecomApi {
    return this.deps.api;
  }

  /** When a response_code got now stops being usable. */
  codeExpiry(issuedAt: Date = this.deps.clock.now()): Date {
    return new Date(issuedAt.getTime() + RESPONSE_CODE_LIFETIME_MS);
  }

  /** A message without buttons; its number. */
  async sendText(to: WecomChatTarget, markup: string): Promise<number> {
    const messageId = await nextWecomMessageId(this.deps.db);
    await this.sendPieces(to, markup);
    return messageId;
  }

  /** Sends a card (its preface first) as message `messageId`, by default a new one; its number. */
  async sendCard(to: WecomChatTarget, spec: CardSpec, opts: { messageId?: number } = {}): Promise<number> {
    if (spec.preface) await this.sendPieces(to, spec.preface);
    const messageId = opts.messageId ?? (await nextWecomMessageId(this.deps.db));
    const { card, overflow } = this.buttonCard(to.lang, newTaskId(), spec);
    const sent = await this.deps.api.sendTemplateCard(to.userId, card);
    const now = this.deps.clock.now();
    await recordWecomCard(this.deps.db, {
      taskId: card.task_id,
      chatKey: to.chatKey,
      messageId,
      kind: 'card',
      overflow,
      responseCode: sent.responseCode,
      expiresAt: this.codeExpiry(now),
      now,
    });
    return messageId;
  }

  /**
   * Redraws message `messageId` as `spec`: in place with a response_code, else as a new card that takes
   * the number (the old card pointed to it). A message that was not a card is sent anew the same way.
   */
  async redraw(to: WecomChatTarget, messageId: number, spec: CardSpec): Promise<'updated' | 'replaced'> {
    const current = await currentWecomCard(this.deps.db, to.chatKey, messageId);
    // An update of the card that got no answer, before (maybe in another process) or now: the card that
    // replaces it says it is sent again, also when it goes on a later attempt (the first try met a limit, say).
    let mayHaveLanded = current?.updateInDoubtAt != null;
    if (current?.kind === 'card' && !spec.preface) {
      for (;;) {
        const code = await takeResponseCode(this.deps.db, current.taskId, this.deps.clock.now());
        if (!code) break;
        const { card, overflow } = this.buttonCard(to.lang, current.taskId, spec);
        try {
          await this.deps.api.updateTemplateCard([to.userId], code, { card });
        } catch (err) {
          // The code was spent or too old after all: the next one, if any.
          if (err instanceof MessageGone) continue;
          // No answer, but the update may have arrived and spent the code: a retry could only send a new
          // card beside one that may already show it, unmarked. The new card goes now, saying it is sent again.
          if (err instanceof ChannelTransient && err.ambiguous) {
            await markWecomCardUpdateInDoubt(this.deps.db, current.taskId, this.deps.clock.now());
            mayHaveLanded = true;
            break;
          }
          throw err;
        }
        await setWecomCardOverflow(this.deps.db, current.taskId, overflow);
        return 'updated';
      }
    }
    await this.sendCard(to, mayHaveLanded ? { ...spec, note: t(to.lang, 'notice.resent') } : spec, { messageId });
    if (current && mayHaveLanded) await clearWecomCardUpdateInDoubt(this.deps.db, current.taskId);
    if (current) await this.pointToNewCard(to, current.taskId);
    return 'replaced';
  }

  /**
   * Greys out the buttons of a card with a label (the card's text stays): the message's current card,
   * or the card `taskId`. False when no response_code was left to do it with.
   */
  async grey(to: WecomChatTarget, which: { messageId: number } | { taskId: string }, label: string): Promise<boolean> {
    const card = 'taskId' in which ? await wecomCardByTask(this.deps.db, which.taskId) : await currentWecomCard(this.deps.db, to.chatKey, which.messageId);
    if (!card || card.chatKey !== to.chatKey) return false;
    const replaceName = truncate(plainText(label).replace(/\s+/g, ' ').trim(), CARD_TEXT.replaceName) || t(to.lang, 'wecom.card.closed');
    for (;;) {
      const code = await takeResponseCode(this.deps.db, card.taskId, this.deps.clock.now());
      if (!code) return false;
      try {
        await this.deps.api.updateTemplateCard([to.userId], code, { replaceName });
        return true;
      } catch (err) {
        if (err instanceof MessageGone) continue;
        throw err;
      }
    }
  }

  /** An old card of a message, superseded by a new one: its buttons say so (when it has a code left). */
  async pointToNewCard(to: WecomChatTarget, taskId: string): Promise<boolean> {
    return this.grey(to, { taskId }, t(to.lang, 'wecom.card.replaced'));
  }

  /** A choice card (vote_interaction, single choice) whose pick acts on `parentMessageId`; its number. */
  async sendChoice(to: WecomChatTarget, choice: ChoiceSpec): Promise<number> {
    if (choice.preface) await this.sendPieces(to, choice.preface);
    const max = WECOM_CARD_LIMITS.voteOptions;
    const all = uniqueKeys(choice.options);
    const shown = all.length > max ? [...all.slice(0, max - 1), { text: t(to.lang, 'wecom.button.more'), key: MORE_KEY }] : all;
    const overflow = all.length > max ? all.slice(max - 1) : [];
    const card: VoteInteractionCard = {
      card_type: 'vote_interaction',
      task_id: newTaskId(),
      main_title: { title: truncate(choice.title, CARD_TEXT.title), ...(choice.desc ? { desc: truncate(choice.desc, CARD_TEXT.desc) } : {}) },
      ...(choice.subtitle ? { sub_title_text: truncate(choice.subtitle, CARD_TEXT.subtitle) } : {}),
      checkbox: { question_key: CHOICE_QUESTION, mode: 0, option_list: shown.map((o) => ({ id: o.key, text: truncate(o.text, CARD_TEXT.option) })) },
      submit_button: { text: t(to.lang, 'wecom.button.pick'), key: PICK_KEY },
    };
    const messageId = await nextWecomMessageId(this.deps.db);
    const sent = await this.deps.api.sendTemplateCard(to.userId, card);
    const now = this.deps.clock.now();
    await recordWecomCard(this.deps.db, {
      taskId: card.task_id,
      chatKey: to.chatKey,
      messageId,
      kind: 'list',
      parentMessageId: choice.parentMessageId,
      overflow,
      responseCode: sent.responseCode,
      expiresAt: this.codeExpiry(now),
      now,
    });
    return messageId;
  }

  /** Text and markdown pieces of a message, in order. */
  private async sendPieces(to: WecomChatTarget, markup: string): Promise<void> {
    for (const piece of textMessages(markup)) {
      if (piece.kind === 'markdown') await this.deps.api.sendMarkdown(to.userId, piece.content);
      else await this.deps.api.sendText(to.userId, piece.content);
    }
  }

  /** WeCom's JSON of a button card, and the buttons it could not show. */
  private buttonCard(lang: Lang, taskId: string, spec: CardSpec): { card: ButtonInteractionCard; overflow: Array<{ text: string; key: string }> } {
    const max = WECOM_CARD_LIMITS.buttonsPerCard;
    const keyed = uniqueKeys(spec.buttons.filter((b): b is { text: string; key: string } => 'key' in b));
    const links = spec.buttons.filter((b): b is { text: string; url: string } => 'url' in b);
    // Links first among what is shown: a choice card cannot carry them.
    let ordered: CardButtonSpec[] = [...keyed, ...links];
    let overflow: Array<{ text: string; key: string }> = [];
    if (ordered.length > max) {
      const room = max - 1 - links.length;
      ordered = [...keyed.slice(0, Math.max(0, room)), ...links.slice(0, max - 1), { text: t(lang, 'wecom.button.more'), key: MORE_KEY }];
      overflow = keyed.slice(Math.max(0, room));
    }
    const quote = quoteText(spec);
    // A card needs a button: one that only redraws nothing stands in for an empty keyboard.
    if (ordered.length === 0) ordered = [{ text: t(lang, 'wecom.card.closed'), key: 'nop' }];
    const button_list: CardButton[] = ordered.map((b) =>
      'url' in b ? { type: 1, text: truncate(b.text, CARD_TEXT.button), url: b.url } : { type: 0, text: truncate(b.text, CARD_TEXT.button), key: b.key, style: 1 },
    );
    const card: ButtonInteractionCard = {
      card_type: 'button_interaction',
      task_id: taskId,
      main_title: { title: truncate(spec.title || '—', CARD_TEXT.title), ...(spec.desc ? { desc: truncate(spec.desc, CARD_TEXT.desc) } : {}) },
      ...(quote !== undefined ? { quote_area: { type: 0 as const, quote_text: quote } } : {}),
      ...(spec.subtitle ? { sub_title_text: truncate(spec.subtitle, CARD_TEXT.subtitle) } : {}),
      ...(spec.horizontal?.length
        ? {
            horizontal_content_list: spec.horizontal
              .slice(0, WECOM_CARD_LIMITS.horizontalContent)
              .map((h) => ({ keyname: truncate(h.keyname, CARD_TEXT.keyname), value: truncate(h.value || '—', CARD_TEXT.value) })),
          }
        : {}),
      button_list,
    };
    return { card, overflow };
  }
}
