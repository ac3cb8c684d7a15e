/**
 * The one map from a refusal to what the user reads. A refusal is an expected "no" from a use case: a
 * service's ServiceRefusal, or the written report's and the public release's own rule errors. The engine,
 * the card's buttons, the after-incident views and the bot's callback router all render refusals here.
 */
import { hasMessage, t, type Lang, type MessageKey, type Params } from '../i18n/index.js';
import { MAX_SEND_BACK_COMMENT_CHARS, ReleaseError } from '../domain/public-release.js';
import { WrittenReportError } from '../domain/written-report.js';
import { ServiceRefusal, type RefusalCode } from '../services/errors.js';

export type Refusal = ServiceRefusal | WrittenReportError | ReleaseError;

export function isRefusal(err: unknown): err is Refusal {
  return err instanceof ServiceRefusal || err instanceof WrittenReportError || err instanceof ReleaseError;
}

/** Service refusal codes with a message of their own; the others read as invalid input. */
const TOLD: ReadonlySet<RefusalCode> = new Set(['not_found', 'not_permitted', 'stale', 'already_done', 'invalid_input', 'wrong_status']);

/** The catalogue key of a refusal. */
export function refusalKey(err: Refusal): MessageKey {
  if (err instanceof WrittenReportError) return `wr.refuse.${err.reason}` as MessageKey;
  if (err instanceof ReleaseError) return `rel.refuse.${err.reason}` as MessageKey;
  return TOLD.has(err.code) ? (`refuse.${err.code}` as MessageKey) : 'refuse.invalid_input';
}

/** The refusal as text, with the values its message takes. */
export function refusalText(lang: Lang, err: Refusal): string {
  return t(lang, refusalKey(err), refusalParams(lang, err));
}

function refusalParams(lang: Lang, err: Refusal): Params {
  if (err instanceof WrittenReportError) {
    const sections = err.detail.map((k) => (hasMessage(`wr.section.${k}`) ? t(lang, `wr.section.${k}` as MessageKey) : k)).join(lang === 'zh' ? '、' : ', ');
    return { sections };
  }
  if (err instanceof ReleaseError) return { max: MAX_SEND_BACK_COMMENT_CHARS };
  return {};
}

/** Why a refused press is written to the audit trail: the service's code, or invalid input for the rest. */
export type AuditedRefusal = 'not_found' | 'not_permitted' | 'stale' | 'already_done' | 'invalid_input' | 'wrong_status';

export function refusalReason(err: ServiceRefusal): AuditedRefusal {
  return TOLD.has(err.code) ? (err.code as AuditedRefusal) : 'invalid_input';
}

/** A typed answer the use case refused as invalid: typing it again can fix it, so the prompt stays. */
export function canRetype(err: Refusal): boolean {
  return err instanceof ServiceRefusal && err.code === 'invalid_input';
}
