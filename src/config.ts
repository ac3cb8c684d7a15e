import { z } from 'zod';
import type { JobTuning } from './jobs/job-system.js';

/** How much of a subject's identity a chat message may show. */
export const PII_MODES = ['codes', 'masked', 'full'] as const;
export type PiiMode = (typeof PII_MODES)[number];

const TELEGRAM_DEFAULT_API_ROOT = 'https://api.telegram.org';
/** WeCom's public API root; a private deployment (政务微信) sets its own. */
const WECOM_DEFAULT_API_ROOT = 'https://qyapi.weixin.qq.com';

/** The WeCom variables that are required once WECOM_CORP_ID turns WeCom on. */
const WECOM_REQUIRED = ['WECOM_AGENT_ID', 'WECOM_SECRET', 'WECOM_TOKEN', 'WECOM_AES_KEY'] as const;

const optionalString = z
  .string()
  .trim()
  .transform((v) => (v === '' ? undefined : v))
  .optional();

/** An optional whole number within bounds, from an environment string. */
function optionalInt(min: number, max: number) {
  return optionalString.pipe(z.coerce.number<string | undefined>().int().min(min).max(max).optional());
}

const configSchema = z
  .object({
    BOT_TOKEN: optionalString.pipe(
      z
        .string()
        .regex(/^\d+:[A-Za-z0-9_-]{10,}$/, 'must look like 123456:ABC… (from @BotFather)')
        .optional(),
    ),
    BOT_USERNAME: optionalString,
    TELEGRAM_API_ROOT: z.url({ protocol: /^https?$/ }).default(TELEGRAM_DEFAULT_API_ROOT),
    DATABASE_URL: optionalString.pipe(z.url({ protocol: /^postgres(ql)?$/ }).optional()),
    REDIS_URL: optionalString.pipe(z.url({ protocol: /^rediss?$/ }).optional()),
    BOT_MODE: z.enum(['polling', 'webhook']).default('polling'),
    WEBHOOK_URL: optionalString.pipe(z.url({ protocol: /^https?$/ }).optional()),
    WEBHOOK_SECRET: optionalString.pipe(
      z
        .string()
        .regex(/^[A-Za-z0-9_-]{16,256}$/, 'must be 16–256 characters of A-Z a-z 0-9 _ -')
        .optional(),
    ),
    PORT: z.coerce.number().int().min(0).max(65535).default(8080),
    HOST: z.string().default('0.0.0.0'),
    TIMEZONE: z
      .string()
      .default('Asia/Shanghai')
      .refine(isKnownTimeZone, 'must be an IANA time zone such as Asia/Shanghai'),
    DATA_DIR: z.string().min(1).default('./data'),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /** `json` (one object a line, for collectors), `pretty` (for people), or `auto`: pretty in the sandbox or on a terminal. */
    LOG_FORMAT: z.enum(['auto', 'json', 'pretty']).default('auto'),
    PII_MODE: z.enum(PII_MODES).default('masked'),
    /** 32-byte key (base64 or 64 hex chars) that encrypts subjects' names and ID numbers at rest. */
    PII_KEY: optionalString.pipe(
      z
        .string()
        .refine((v) => decodeKey(v) !== undefined, 'must be 32 bytes as base64 or 64 hex characters')
        .optional(),
    ),
    ADMIN_PASSWORD: optionalString,
    /** Multiplies every policy duration; the sandbox uses a small factor so escalation shows in minutes. */
    POLICY_TIME_SCALE: z.coerce.number().positive().max(1).default(1),
    // Operational timings (src/jobs/job-system.ts DEFAULT_TUNING when unset; docs/operations.md says when to change them).
    /** Longest a bot handler may take before the update is answered with an apology. */
    HANDLER_TIMEOUT_MS: optionalInt(1_000, 600_000),
    /** Telegram sends a worker runs at once. */
    SEND_CONCURRENCY: optionalInt(1, 100),
    /** Escalation timers a worker runs at once. */
    TIMER_CONCURRENCY: optionalInt(1, 100),
    /** A worker's job lock; a killed worker's job runs again once it expires. */
    JOB_LOCK_MS: optionalInt(5_000, 600_000),
    /** How often the outbox relay looks for notices the queue does not have. */
    OUTBOX_RELAY_EVERY_MS: optionalInt(500, 600_000),
    /** How often the timers in PostgreSQL are compared with the queue (0: at start only). */
    RECONCILE_EVERY_MS: optionalInt(0, 3_600_000),
    /** How long a stopping worker waits for jobs in hand. */
    SHUTDOWN_DEADLINE_MS: optionalInt(1_000, 600_000),
    // WeCom (企业微信, 政务微信): on when WECOM_CORP_ID is set; then the four after it are required.
    /** The corp id (企业ID), from the admin console's 我的企业 page. */
    WECOM_CORP_ID: optionalString.pipe(
      z
        .string()
        .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be the corp id from the admin console (letters and digits)')
        .optional(),
    ),
    /** The application's AgentId. */
    WECOM_AGENT_ID: optionalInt(1, 2_147_483_647),
    /** The application's Secret (gettoken). */
    WECOM_SECRET: optionalString.pipe(z.string().regex(/^[\x21-\x7e]{8,128}$/, 'must be the application secret (8–128 visible characters)').optional()),
    /** The callback's Token (接收消息 settings). */
    WECOM_TOKEN: optionalString.pipe(z.string().regex(/^[A-Za-z0-9]{1,32}$/, 'must be 1–32 letters and digits, as the admin console sets it').optional()),
    /** The callback's EncodingAESKey: 43 characters of base64. */
    WECOM_AES_KEY: optionalString.pipe(z.string().regex(/^[A-Za-z0-9+/]{43}$/, 'must be the 43-character EncodingAESKey').optional()),
    WECOM_API_ROOT: z.url({ protocol: /^https?$/ }).default(WECOM_DEFAULT_API_ROOT),
  })
  .superRefine((cfg, ctx) => {
    if (cfg.WECOM_CORP_ID !== undefined) {
      for (const key of WECOM_REQUIRED) if (cfg[key] === undefined) ctx.addIssue({ code: 'custom', path: [key], message: 'is required when WECOM_CORP_ID is set' });
    }
    if (cfg.BOT_MODE === 'webhook') {
      if (!cfg.WEBHOOK_URL) ctx.addIssue({ code: 'custom', path: ['WEBHOOK_URL'], message: 'is required when BOT_MODE=webhook' });
      if (!cfg.WEBHOOK_SECRET)
        ctx.addIssue({ code: 'custom', path: ['WEBHOOK_SECRET'], message: 'is required when BOT_MODE=webhook' });
    }
  });

export type RawConfig = z.output<typeof configSchema>;

export interface Config {
  botToken: string | undefined;
  botUsername: string | undefined;
  telegramApiRoot: string;
  databaseUrl: string | undefined;
  redisUrl: string | undefined;
  botMode: 'polling' | 'webhook';
  webhookUrl: string | undefined;
  webhookSecret: string | undefined;
  port: number;
  host: string;
  timeZone: string;
  dataDir: string;
  logLevel: RawConfig['LOG_LEVEL'];
  logFormat: RawConfig['LOG_FORMAT'];
  piiMode: PiiMode;
  piiKey: Buffer | undefined;
  adminPassword: string | undefined;
  policyTimeScale: number;
  handlerTimeoutMs: number | undefined;
  /** Only what the environment set; the rest keeps the job system's defaults. */
  jobTuning: Partial<JobTuning>;
  /** Set when WeCom is on (WECOM_CORP_ID and the rest). */
  wecom: WecomConfig | undefined;
}

/**
 * Whether `npm start` runs the sandbox: with no channel configured at all (no Telegram token and no
 * WeCom application), and only as the whole program. WeCom alone is a real deployment, not a sandbox.
 */
export function runsSandbox(config: Pick<Config, 'botToken' | 'wecom'>, role: string): boolean {
  return !config.botToken && config.wecom === undefined && role === 'all';
}

/** One WeCom application: the API credentials and the callback's Token and EncodingAESKey. */
export interface WecomConfig {
  corpId: string;
  agentId: number;
  secret: string;
  token: string;
  aesKey: string;
  apiRoot: string;
}

/** Every variable the schema knows; the deployment test checks compose.yaml against it. */
export const CONFIG_VARIABLES = Object.keys(configSchema.shape) as ReadonlyArray<keyof RawConfig>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: ReadonlyArray<{ variable: string; message: string }>) {
    super(`Invalid configuration:\n${problems.map((p) => `  ${p.variable}: ${p.message}`).join('\n')}`);
  }
}

/** Pure: parses an environment-like record. Errors name variables, never their values. */
export function parseConfig(env: Readonly<Record<string, string | undefined>>): Config {
  const known: Record<string, string | undefined> = {};
  for (const key of CONFIG_VARIABLES) known[key] = env[key];
  const result = configSchema.safeParse(known);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((issue) => ({
        variable: String(issue.path[0] ?? '(config)'),
        message: describeIssue(issue),
      })),
    );
  }
  const c = result.data;
  return {
    botToken: c.BOT_TOKEN,
    botUsername: c.BOT_USERNAME,
    telegramApiRoot: c.TELEGRAM_API_ROOT,
    databaseUrl: c.DATABASE_URL,
    redisUrl: c.REDIS_URL,
    botMode: c.BOT_MODE,
    webhookUrl: c.WEBHOOK_URL,
    webhookSecret: c.WEBHOOK_SECRET,
    port: c.PORT,
    host: c.HOST,
    timeZone: c.TIMEZONE,
    dataDir: c.DATA_DIR,
    logLevel: c.LOG_LEVEL,
    logFormat: c.LOG_FORMAT,
    piiMode: c.PII_MODE,
    piiKey: c.PII_KEY === undefined ? undefined : decodeKey(c.PII_KEY),
    adminPassword: c.ADMIN_PASSWORD,
    policyTimeScale: c.POLICY_TIME_SCALE,
    handlerTimeoutMs: c.HANDLER_TIMEOUT_MS,
    jobTuning: definedOnly({
      sendConcurrency: c.SEND_CONCURRENCY,
      timerConcurrency: c.TIMER_CONCURRENCY,
      lockDurationMs: c.JOB_LOCK_MS,
      relayEveryMs: c.OUTBOX_RELAY_EVERY_MS,
      reconcileEveryMs: c.RECONCILE_EVERY_MS,
      shutdownDeadlineMs: c.SHUTDOWN_DEADLINE_MS,
    }),
    wecom:
      c.WECOM_CORP_ID === undefined
        ? undefined
        : { corpId: c.WECOM_CORP_ID, agentId: c.WECOM_AGENT_ID!, secret: c.WECOM_SECRET!, token: c.WECOM_TOKEN!, aesKey: c.WECOM_AES_KEY!, apiRoot: c.WECOM_API_ROOT },
  };
}

function definedOnly<T extends object>(o: { [K in keyof T]: T[K] | undefined }): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

// zod's default messages can echo the input ("received 'abc'"); rebuild them from the issue kind only.
function describeIssue(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return `expected ${issue.expected}`;
    case 'invalid_value':
      return `must be one of ${issue.values.map(String).join(', ')}`;
    case 'invalid_format':
      if (issue.format === 'regex') return issue.message;
      return issue.format === 'url' ? 'must be a valid URL of the expected scheme' : `must be a valid ${issue.format}`;
    case 'too_small':
      return `must be at least ${String(issue.minimum)}`;
    case 'too_big':
      return `must be at most ${String(issue.maximum)}`;
    case 'custom':
      return issue.message;
    default:
      return issue.message.replace(/received .*/i, '').trim() || 'is invalid';
  }
}

function isKnownTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

function decodeKey(value: string): Buffer | undefined {
  if (/^[0-9a-fA-F]{64}$/.test(value)) return Buffer.from(value, 'hex');
  const b = Buffer.from(value, 'base64');
  return b.length === 32 ? b : undefined;
}
