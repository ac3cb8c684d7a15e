/**
 * WeCom's answers in the port's terms. Every API answers HTTP 200 with `{ errcode, errmsg }`, errcode 0
 * for success; the errcode, never the errmsg (WeCom changes its wording), decides what a failure means:
 * - the recipient is not there for this application → RecipientNotFound (invalid userid, not in the
 *   directory, outside the application's visible range; 81013 when every recipient was);
 * - too many calls → ChannelRateLimited: 45009 (a frequency limit: WeCom blocks a minute's excess for
 *   60 s, an hour's for 60 min, a day's for the rest of the natural day; the errcode does not say which,
 *   so the shortest block is waited and the limiter holds the sends) and 45033 (too many concurrent calls);
 * - -1 (system busy) and 6000 (data version conflict) → ChannelTransient: WeCom answered that it did not
 *   do it, so nothing was delivered;
 * - update_template_card refusing its parameters → MessageGone: the response_code was used or is over
 *   72 hours old (WeCom documents no errcode of its own for it), so the card cannot be redrawn;
 * - the rest, configuration included (wrong secret, corp id or agentid, an IP outside the trusted list,
 *   the application disabled) → RequestRefused: retrying cannot help.
 * The token errcodes (40014, 42001) never get here: the client fetches a new token and retries once.
 * Errors name the API and the errcode only: errmsg can repeat a userid, which is personal data.
 */
import { ChannelRateLimited, ChannelTransient, MessageGone, RecipientBlocked, RecipientNotFound, RequestRefused, type ChannelError } from '../../services/channel-port.js';

/** WeCom said no: the API and its errcode. The port's error carries this as `cause`. */
export class WecomApiError extends Error {
  override name = 'WecomApiError';
  constructor(
    readonly api: string,
    readonly errcode: number,
  ) {
    super(`WeCom ${api} answered errcode ${errcode}`);
  }
}

export const WECOM_ERRCODES = {
  systemBusy: -1,
  ok: 0,
  invalidSecret: 40001,
  invalidUserId: 40003,
  invalidCorpId: 40013,
  invalidAccessToken: 40014,
  invalidUserIdList: 40031,
  invalidParameter: 40035,
  invalidAgentId: 40056,
  invalidParameterValue: 40058,
  accessTokenExpired: 42001,
  emptyTextContent: 44004,
  frequencyLimit: 45009,
  concurrencyLimit: 45033,
  userNotFound: 46004,
  noApiPermission: 48002,
  memberOutOfRange: 50002,
  applicationDisabled: 50003,
  dataVersionConflict: 6000,
  noPermissionForTarget: 60011,
  ipNotTrusted: 60020,
  userIdNotFound: 60111,
  allRecipientsInvalid: 81013,
  allTargetsInvalid: 82001,
} as const;

const C = WECOM_ERRCODES;

/** Errcodes that mean the access token must be fetched again (then the call is retried once). */
export const TOKEN_ERRCODES: ReadonlySet<number> = new Set([C.invalidAccessToken, C.accessTokenExpired]);

const RECIPIENT_ERRCODES: ReadonlySet<number> = new Set([
  C.invalidUserId,
  C.invalidUserIdList,
  C.userNotFound,
  C.memberOutOfRange,
  C.noPermissionForTarget,
  C.userIdNotFound,
  C.allRecipientsInvalid,
  C.allTargetsInvalid,
]);

/** Seconds to wait after a rate errcode: the shortest block WeCom applies for it. */
export const RATE_ERRCODE_WAIT_SECONDS: Readonly<Record<number, number>> = { [C.frequencyLimit]: 60, [C.concurrencyLimit]: 1 };

const TRANSIENT_ERRCODES: ReadonlySet<number> = new Set([C.systemBusy, C.dataVersionConflict]);

const CARD_CODE_REFUSED: ReadonlySet<number> = new Set([C.invalidParameter, C.invalidParameterValue]);

/** The port's error for a non-zero errcode of `api`. */
export function portErrorFor(api: string, errcode: number): ChannelError {
  const cause = new WecomApiError(api, errcode);
  const message = cause.message;
  if (RECIPIENT_ERRCODES.has(errcode)) return new RecipientNotFound(message, { cause });
  const wait = RATE_ERRCODE_WAIT_SECONDS[errcode];
  if (wait !== undefined) return new ChannelRateLimited(message, wait, { cause });
  if (TRANSIENT_ERRCODES.has(errcode)) return new ChannelTransient(message, false, { cause });
  if (api === 'message/update_template_card' && CARD_CODE_REFUSED.has(errcode)) return new MessageGone(message, { cause });
  return new RequestRefused(message, { cause });
}

/** A send that WeCom accepted but could not deliver to the one recipient it had. */
export function undeliveredTo(api: string, list: 'invaliduser' | 'unlicenseduser'): ChannelError {
  const message = `WeCom ${api} accepted the message but listed its recipient in ${list}`;
  return list === 'invaliduser' ? new RecipientNotFound(message) : new RecipientBlocked(message);
}
