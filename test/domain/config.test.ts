/** parseConfig is pure: defaults, the webhook pair, and errors that name variables but never echo values. */
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config.js';

function refusal(env: Record<string, string | undefined>): ConfigError {
  try {
    parseConfig(env);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

/** Everything an error could leak through: message, problems, stack, JSON. */
const everything = (e: ConfigError) => [e.message, String(e), e.stack ?? '', JSON.stringify(e), JSON.stringify(e.problems)].join('\n');

describe('parseConfig', () => {
  it('applies the defaults to an empty environment', () => {
    expect(parseConfig({})).toMatchObject({
      botToken: undefined,
      telegramApiRoot: 'https://api.telegram.org',
      databaseUrl: undefined,
      redisUrl: undefined,
      botMode: 'polling',
      port: 8080,
      timeZone: 'Asia/Shanghai',
      dataDir: './data',
      logLevel: 'info',
      piiMode: 'masked',
      piiKey: undefined,
      policyTimeScale: 1,
    });
  });

  it('treats blank values as unset', () => {
    expect(parseConfig({ DATABASE_URL: '  ', BOT_TOKEN: '' })).toMatchObject({ databaseUrl: undefined, botToken: undefined });
  });

  it('reads every variable it knows and ignores others', () => {
    const key = 'ab'.repeat(32);
    const c = parseConfig({
      BOT_TOKEN: '123456:ABCdefGHIjklMNOpqr',
      TELEGRAM_API_ROOT: 'http://127.0.0.1:8081',
      DATABASE_URL: 'postgres://u:p@db:5432/x',
      REDIS_URL: 'redis://127.0.0.1:6379',
      BOT_MODE: 'webhook',
      WEBHOOK_URL: 'https://bot.example.org/tg',
      WEBHOOK_SECRET: 'a'.repeat(32),
      PORT: '3000',
      TIMEZONE: 'Europe/Berlin',
      DATA_DIR: '/var/lib/bot',
      LOG_LEVEL: 'debug',
      PII_MODE: 'codes',
      PII_KEY: key,
      SOMETHING_ELSE: 'x',
    });
    expect(c).toMatchObject({ botMode: 'webhook', port: 3000, timeZone: 'Europe/Berlin', piiMode: 'codes', dataDir: '/var/lib/bot', logLevel: 'debug' });
    expect(c.piiKey).toEqual(Buffer.from(key, 'hex'));
  });

  it('reads the operational timings, passing on only those set', () => {
    expect(parseConfig({}).jobTuning).toEqual({});
    expect(parseConfig({}).handlerTimeoutMs).toBeUndefined();
    const c = parseConfig({ SEND_CONCURRENCY: '4', TIMER_CONCURRENCY: '2', JOB_LOCK_MS: '60000', OUTBOX_RELAY_EVERY_MS: '2000', RECONCILE_EVERY_MS: '0', SHUTDOWN_DEADLINE_MS: '15000', HANDLER_TIMEOUT_MS: '15000' });
    expect(c.jobTuning).toEqual({ sendConcurrency: 4, timerConcurrency: 2, lockDurationMs: 60_000, relayEveryMs: 2_000, reconcileEveryMs: 0, shutdownDeadlineMs: 15_000 });
    expect(c.handlerTimeoutMs).toBe(15_000);
  });

  it('refuses a timing out of range or not a number, naming the variable', () => {
    const problems = (env: Record<string, string>) => {
      try {
        parseConfig(env);
        return [];
      } catch (e) {
        return (e as ConfigError).problems.map((p) => p.variable);
      }
    };
    expect(problems({ SEND_CONCURRENCY: '0' })).toEqual(['SEND_CONCURRENCY']);
    expect(problems({ JOB_LOCK_MS: '100' })).toEqual(['JOB_LOCK_MS']);
    expect(problems({ RECONCILE_EVERY_MS: 'soon' })).toEqual(['RECONCILE_EVERY_MS']);
    expect(problems({ HANDLER_TIMEOUT_MS: '1.5' })).toEqual(['HANDLER_TIMEOUT_MS']);
  });

  it('webhook mode needs both WEBHOOK_URL and WEBHOOK_SECRET', () => {
    const e = refusal({ BOT_MODE: 'webhook' });
    expect(e.problems.map((p) => p.variable).sort()).toEqual(['WEBHOOK_SECRET', 'WEBHOOK_URL']);
    expect(refusal({ BOT_MODE: 'webhook', WEBHOOK_URL: 'https://x.example/tg' }).problems.map((p) => p.variable)).toEqual(['WEBHOOK_SECRET']);
  });

  it.each([
    ['PII_MODE', 'everything'],
    ['BOT_MODE', 'push'],
    ['TIMEZONE', 'Mars/Olympus_Mons'],
    ['LOG_LEVEL', 'loud'],
  ])('%s=%s is refused by name', (variable, value) => {
    const e = refusal({ [variable]: value });
    expect(e.problems.map((p) => p.variable)).toEqual([variable]);
  });

  // Values that look like secrets: none may appear anywhere in the error.
  it.each([
    ['BOT_TOKEN', 'sk_live_S3cr3tT0kenVALUE_no_colon'],
    ['BOT_TOKEN', '12345:S3cr3t'],
    ['WEBHOOK_SECRET', 'short$ecret!!'],
    ['DATABASE_URL', 'mysql://admin:Hunter2Secret@db.internal/corrections'],
    ['DATABASE_URL', 'not a url Hunter2Secret'],
    ['REDIS_URL', 'http://:RedisPassw0rdSecret@cache:6379'],
    ['PII_KEY', 'VGhpc0lzTm90QTMyQnl0ZUtleVNlY3JldA'],
    ['TELEGRAM_API_ROOT', 'ftp://token:S3cretApiRoot@example.org'],
    ['PORT', 'S3cretPortValue'],
    ['POLICY_TIME_SCALE', 'S3cretScale'],
  ])('an invalid %s names the variable and never prints its value', (variable, value) => {
    const e = refusal({ [variable]: value, ...(variable === 'WEBHOOK_SECRET' ? { BOT_MODE: 'webhook', WEBHOOK_URL: 'https://x.example/tg' } : {}) });
    expect(e.problems.map((p) => p.variable)).toContain(variable);
    expect(e.message).toContain(variable);
    const leaked = everything(e);
    expect(leaked).not.toContain(value);
    // Nor a telling part of it.
    for (const part of value.split(/[^A-Za-z0-9]+/).filter((p) => p.length >= 6)) expect(leaked).not.toContain(part);
  });

  it('lists every problem at once', () => {
    const e = refusal({ PORT: '-1', PII_MODE: 'x', BOT_TOKEN: 'nope' });
    expect(e.problems.map((p) => p.variable).sort()).toEqual(['BOT_TOKEN', 'PII_MODE', 'PORT']);
  });
});
