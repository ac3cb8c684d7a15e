/**
 * Whether an error means "PostgreSQL cannot be reached right now" (restarting, failing over, network
 * cut) rather than "this request is wrong". The bot answers the first kind with "temporarily
 * unavailable" and leaves the update for Telegram to deliver again; the second kind is a bug or a
 * refusal and gets the usual apology.
 */

/** postgres.js's own codes for a connection that went away or never came (`Errors.connection`). */
const POSTGRES_JS_CONNECTION_CODES: ReadonlySet<string> = new Set(['CONNECTION_CLOSED', 'CONNECTION_DESTROYED', 'CONNECTION_ENDED', 'CONNECT_TIMEOUT']);

/**
 * SQLSTATEs of a server going away: class 08 (connection exception) and 57P01–57P03 (admin shutdown,
 * crash shutdown, cannot connect now — the server is starting or stopping).
 */
const UNAVAILABLE_SQLSTATE = /^(08[0-9A-Z]{3}|57P0[123])$/;

/** Socket errors as postgres.js passes them on when it cannot connect, or the connection breaks. */
const SOCKET_CODES: ReadonlySet<string> = new Set(['ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/** Errors from the Telegram side carry socket codes too; they are not the database's. */
const TELEGRAM_SIDE = new Set(['FetchError', 'TelegramError', 'AbortError']);

type ErrorLike = { name?: unknown; code?: unknown; message?: unknown; stack?: unknown; cause?: unknown; errors?: unknown };

export function isDatabaseUnavailable(err: unknown): boolean {
  for (const e of causes(err)) {
    if (TELEGRAM_SIDE.has(String(e.name))) return false;
    const code = typeof e.code === 'string' ? e.code : undefined;
    if (code && (POSTGRES_JS_CONNECTION_CODES.has(code) || UNAVAILABLE_SQLSTATE.test(code) || SOCKET_CODES.has(code))) return true;
    if (isPostgresJsClosedSocketWrite(e)) return true;
  }
  return false;
}

/**
 * postgres.js 3.4.9 writes to a connection whose socket is already gone when a small write was
 * scheduled (setImmediate) or a reserved connection is used after its server closed it
 * (porsager/postgres#1154, #1208; fixes proposed, none released). It surfaces as this TypeError.
 */
export function isPostgresJsClosedSocketWrite(err: unknown): boolean {
  if (!(err instanceof TypeError)) return false;
  return /reading 'write'/.test(err.message) && /postgres[\\/](src|cjs|cf)[\\/]connection\.js/.test(err.stack ?? '');
}

/** The error, its `cause` chain and an AggregateError's members (postgres.js tries each host), at most 10. */
function* causes(err: unknown): Generator<ErrorLike> {
  const queue: unknown[] = [err];
  const seen = new Set<unknown>();
  while (queue.length && seen.size < 10) {
    const e = queue.shift();
    if (!e || typeof e !== 'object' || seen.has(e)) continue;
    seen.add(e);
    const x = e as ErrorLike;
    yield x;
    if (x.cause !== undefined) queue.push(x.cause);
    if (Array.isArray(x.errors)) queue.push(...(x.errors as unknown[]));
  }
}
