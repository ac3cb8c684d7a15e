/** Telegram HTML parse mode is the catalogue's own markup (src/i18n/markup.ts); here only Telegram's limits. */
export { escapeHtml, fitMessage, truncate, userText } from '../../i18n/markup.js';

/** Telegram's limit for a message text, in characters. */
export const MAX_MESSAGE_CHARS = 4096;
/** Telegram's limit for a media caption, in characters. */
export const MAX_CAPTION_CHARS = 1024;
