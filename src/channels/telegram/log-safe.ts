/** Errors made safe for the log: no chat text, no personal data. */

/**
 * An error as the log may hold it. telegraf's TelegramError carries the request payload (`on.payload`),
 * which is chat text and may name a subject: only the method and Telegram's answer are kept.
 */
export function loggableError(err: unknown): unknown {
  if (!(err instanceof Error)) return err;
  const e = err as Error & { on?: { method?: string }; response?: { error_code?: number; description?: string }; code?: unknown };
  const safe = new Error(e.message, { cause: e.cause });
  safe.name = e.name;
  if (e.stack) safe.stack = e.stack;
  return Object.assign(safe, {
    ...(e.on?.method ? { method: e.on.method } : {}),
    ...(e.response ? { response: { error_code: e.response.error_code, description: e.response.description } } : {}),
    ...(e.code !== undefined ? { code: e.code } : {}),
  });
}

