/** Refusals a service gives for a request that changes nothing; the flow renders each from the catalogue. */
export type RefusalCode =
  | 'not_found'
  | 'not_permitted'
  | 'stale'
  | 'already_done'
  | 'invalid_input'
  | 'wrong_status'
  /** An invite past its expiry. */
  | 'expired'
  /** A Telegram account already bound to a staff record, or a staff record already bound to another account. */
  | 'already_bound';

export class ServiceRefusal extends Error {
  override readonly name = 'ServiceRefusal';
  constructor(
    readonly code: RefusalCode,
    readonly detail?: string,
  ) {
    super(`${code}${detail ? `: ${detail}` : ''}`);
  }
}
