/** What Telegram can do, in the port's terms (../../services/channel-port.ts). */
import type { ChannelCapabilities } from '../../services/channel-port.js';

export const TELEGRAM_CAPABILITIES: ChannelCapabilities = {
  // 100 inline buttons a message; the card never comes near it.
  buttonsPerMessage: 100,
  editInPlace: true,
  editsPerMessage: Infinity,
  replyTo: true,
  documents: true,
  locations: true,
  replyKeyboard: true,
  // Duty groups: group chats bound with /bindgroup (./duty-groups.ts).
  groupChats: true,
};
