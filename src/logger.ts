/**
 * Structured logs (pino): JSON, one object a line, for production's collectors; or the same records as
 * short readable lines (pino-pretty) for a person, in the sandbox or on a terminal. Secrets and subjects'
 * identities are redacted by path as a safety net, before either format; the first rule is not to log
 * them at all: log ids, never names or ID numbers.
 */
import { pino, type Logger } from 'pino';

export type { Logger };

export type LogFormat = 'json' | 'pretty';

/** LOG_FORMAT `auto`: readable lines for a person (the sandbox, or a terminal), JSON for everything else. */
export function resolveLogFormat(setting: LogFormat | 'auto', where: { sandbox: boolean; stdoutIsTTY: boolean }): LogFormat {
  if (setting !== 'auto') return setting;
  return where.sandbox || where.stdoutIsTTY ? 'pretty' : 'json';
}

/**
 * Readable lines on stdout: `12:00:01 INFO: [sandbox] sandbox ready …`, fields on the same line.
 *
 * A stream in the main thread, not a pino transport: a transport formats in a worker thread and can lose
 * the last lines when the process exits right after logging them (the `stopped` line, a fatal error).
 * Here every line is written synchronously before the call returns, and the formatting costs only the
 * sandbox or a person at a terminal. Loaded on demand: production never imports pino-pretty.
 */
export async function prettyDestination(): Promise<pino.DestinationStream> {
  const { default: pretty } = await import('pino-pretty');
  return pretty({
    destination: 1,
    sync: true,
    singleLine: true,
    translateTime: 'SYS:HH:MM:ss',
    ignore: 'pid,hostname,service,component',
    messageFormat: '{if component}[{component}] {end}{msg}',
  });
}

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
