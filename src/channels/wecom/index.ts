/**
 * The WeCom (企业微信, and 政务微信 built on it) adapter: everything about WeCom, behind the channel
 * port of src/services/channel-port.ts, as src/channels/telegram/ is for Telegram.
 *
 * What is here, and what each part is for:
 * - callback.ts: the callback URL as pure functions of the request. `verifyUrl` answers the GET that
 *   WeCom sends when the URL is saved; `openCallback` checks a POST (signature, timestamp window, corp)
 *   and decrypts it into a `WecomInbound`, or refuses it with a typed reason for the audit trail;
 *   `dedupKeyOf` names a delivery across WeCom's retries; `buildPassiveReply` encrypts a reply, though
 *   an empty answer (EMPTY_CALLBACK_ANSWER) is what the product gives: WeCom waits 5 s, then sends the
 *   request again, so answer at once and work afterwards.
 * - inbound.ts: the members' messages and events as a union (text, location, media, card events,
 *   ignored). xml.ts reads and writes WeCom's XML.
 * - wecom-api.ts: the client of one application — gettoken (cached, refreshed once on 40014/42001),
 *   message/send (text, markdown, template_card, file), message/update_template_card, media/upload.
 * - wecom-errors.ts: errcodes in the port's terms (RecipientNotFound, RequestRefused,
 *   ChannelRateLimited, ChannelTransient, MessageGone).
 * - limits.ts: the documented frequency limits of application messages and API calls, held here so that
 *   WeCom never silently drops a member's excess.
 * - template-card.ts: the template cards' JSON and their limits (6 buttons; 20 vote options; 3
 *   drop-downs of 10).
 *
 * Configuration, passed in by the caller (the app reads it once from the environment): WECOM_CORP_ID,
 * WECOM_AGENT_ID, WECOM_SECRET (gettoken), WECOM_TOKEN and WECOM_AES_KEY (the callback's Token and
 * EncodingAESKey), WECOM_API_ROOT.
 *
 * Where the WeCom form differs from Telegram's, for the renderers and flows still to come: a card has at
 * most 6 buttons (the checklist is a list opened from the card, not a button per step); a card is
 * redrawn only with a response_code, each used once within 72 hours, so a card with none left is
 * replaced by a new one; there is no reply-to; a member can send text, location, image, voice and video,
 * but no document.
 *
 * not yet: the NoticeChannel implementation (rendering, sending, redrawing), the inbound wiring into the
 * flows and the app, and the configuration fields.
 */
export {
  buildPassiveReply,
  dedupKeyOf,
  DEFAULT_TIMESTAMP_TOLERANCE_SECONDS,
  EMPTY_CALLBACK_ANSWER,
  openCallback,
  passiveTextReply,
  verifyUrl,
  type CallbackQuery,
  type CallbackRefusal,
  type CallbackRefusalReason,
  type OpenCallbackResult,
  type VerifyUrlResult,
  type WecomCallbackConfig,
} from './callback.js';
export type { CardSelection, InboundCardEvent, InboundIgnored, InboundLocation, InboundMedia, InboundText, WecomInbound } from './inbound.js';
export { CHINA_UTC_OFFSET_MINUTES, WECOM_LIMITS, WecomRateLimiter, type WecomLimits, type WecomLimitScope, type WecomLimitVerdict, type WecomRateLimiterOptions } from './limits.js';
export {
  isInteractive,
  TASK_ID_PATTERN,
  WECOM_CARD_LIMITS,
  type ButtonInteractionCard,
  type CardButton,
  type CardOption,
  type InteractiveCard,
  type MultipleInteractionCard,
  type TemplateCard,
  type TemplateCardUpdate,
  type TextNoticeCard,
  type VoteInteractionCard,
} from './template-card.js';
export { DEFAULT_WECOM_API_ROOT, WecomApi, type MediaFile, type SentCard, type SentMessage, type UploadedMedia, type WecomApiOptions } from './wecom-api.js';
export { portErrorFor, WecomApiError, WECOM_ERRCODES } from './wecom-errors.js';
