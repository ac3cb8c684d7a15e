/** What WeCom can do, in the port's terms (../../services/channel-port.ts). */
import type { ChannelCapabilities } from '../../services/channel-port.js';
import { WECOM_CARD_LIMITS } from './template-card.js';

export const WECOM_CAPABILITIES: ChannelCapabilities = {
  // A button_interaction card holds 6; the rest go behind 更多… (a choice card), the checklist behind 处置清单.
  buttonsPerMessage: WECOM_CARD_LIMITS.buttonsPerCard,
  // A card is redrawn with update_template_card, one response_code per redraw: one from the send, one
  // from each press, each for 72 hours. With none left, a new card replaces it.
  editInPlace: true,
  editsPerMessage: 1,
  replyTo: false,
  documents: true,
  locations: true,
  replyKeyboard: false,
  // not yet: WeCom's group chats (appchat) are not bound as duty groups; they are bound from Telegram.
  groupChats: false,
};
