/**
 * Structured JSON logs (pino). Secrets and subjects' identities are redacted by path as a safety net;
 * the first rule is not to log them at all: log ids, never names or ID numbers.
 */
import { pino, type Logger } from 'pino';

export type { Logger };

export const REDACT_PATHS = [
  'token',
  'botToken',
  '*.token',
  '*.botToken',
  'secret',
  '*.secret',
  'webhookSecret',
  '*.webhookSecret',
  'password',
  '*.password',
  'headers["x-telegram-bot-api-secret-token"]',
  '*.headers["x-telegram-bot-api-secret-token"]',
  'name',
  '*.name',
  'idNumber',
  '*.idNumber',
  'subjectName',
  '*.subjectName',
  'text',
  '*.text',
  'update.message.text',
  'update.message.from.first_name',
  'update.message.from.last_name',
];

export function createLogger(level: string = 'info', destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'corrections-bot' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      // Tokens appear inside URLs of errors thrown by HTTP clients.
      hooks: {
        logMethod(args, method) {
          method.apply(
            this,
            args.map((a) => (typeof a === 'string' ? scrubTokens(a) : a)) as Parameters<typeof method>,
          );
        },
      },
      serializers: { err: (e: unknown) => scrubError(e) },
    },
    destination,
  );
}

/** Removes bot tokens (`123456:ABC…`) from any text, e.g. a URL in an error message. */
export function scrubTokens(text: string): string {
  return text.replace(/\d{5,}:[A-Za-z0-9_-]{20,}/g, '[token]');
}

function scrubError(e: unknown): unknown {
  const s = pino.stdSerializers.err(e as Error);
  if (s && typeof s === 'object') {
    if (typeof s.message === 'string') s.message = scrubTokens(s.message);
    if (typeof s.stack === 'string') s.stack = scrubTokens(s.stack);
  }
  return s;
}
