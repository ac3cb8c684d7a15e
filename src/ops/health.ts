/**
 * Readiness: "the database and the queue backend answer". Each check runs with a short deadline, so
 * /readyz turns 503 within seconds of a dependency going away instead of hanging with it.
 */
import postgres from 'postgres';
import { scrubTokens } from '../logger.js';
import { withTimeout } from './metrics.js';

export interface ReadinessCheck {
  /** Short name shown in /readyz, e.g. `database`, `queue`. */
  readonly name: string;
  /** Resolves when the dependency answered; rejects (or never settles) otherwise. */
  check(): Promise<unknown>;
}

export interface ReadinessReport {
  ready: boolean;
  checks: Record<string, { ok: boolean; ms: number; reason?: string }>;
}

/** Milliseconds one check may take before it counts as not answering. */
export const DEFAULT_CHECK_TIMEOUT_MS = 1_500;

export async function runReadiness(checks: readonly ReadinessCheck[], timeoutMs = DEFAULT_CHECK_TIMEOUT_MS): Promise<ReadinessReport> {
  const results = await Promise.all(
    checks.map(async (c) => {
      const started = performance.now();
      try {
        await withTimeout(Promise.resolve().then(() => c.check()), timeoutMs);
        return [c.name, { ok: true, ms: Math.round(performance.now() - started) }] as const;
      } catch (err) {
        return [c.name, { ok: false, ms: Math.round(performance.now() - started), reason: describeFailure(err) }] as const;
      }
    }),
  );
  const report: ReadinessReport = { ready: results.every(([, r]) => r.ok), checks: {} };
  for (const [name, r] of results) report.checks[name] = r;
  return report;
}

/** A short reason without secrets: connection URLs lose their password, tokens are scrubbed. */
export function describeFailure(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown; errors?: unknown } | undefined;
  let msg = typeof e?.message === 'string' && e.message !== '' ? e.message : String(err);
  // AggregateError (e.g. ECONNREFUSED on ::1 and 127.0.0.1) has an empty message.
  if ((msg === '' || msg === 'AggregateError') && Array.isArray(e?.errors) && e.errors.length > 0) msg = describeFailure(e.errors[0]);
  if (typeof e?.code === 'string' && !msg.includes(e.code)) msg = `${e.code}: ${msg}`;
  msg = msg.replace(/(\w+:\/\/[^:/\s]*:)[^@\s]*@/g, '$1***@');
  return scrubTokens(msg).slice(0, 200);
}

/**
 * PostgreSQL answers `select 1`. Give it its own small client (`postgresProbe`), not the application
 * pool: a pool busy with work, or with connections stuck on a dead server, must not make the probe
 * wait, and a probe must not queue behind them.
 */
export function postgresCheck(sql: postgres.Sql, name = 'database'): ReadinessCheck {
  return {
    name,
    async check() {
      const q = sql`select 1 as ok`;
      try {
        return await withTimeout(q, DEFAULT_CHECK_TIMEOUT_MS);
      } catch (err) {
        q.cancel();
        throw err;
      }
    },
  };
}

/** The queue backend (Redis or BullMQ's PostgreSQL backend) answers a count. */
export function queueCheck(queue: { getJobCounts(...types: string[]): Promise<Record<string, number>> }, name = 'queue'): ReadinessCheck {
  return { name, check: () => queue.getJobCounts('waiting') };
}

/** Redis answers PING (for deployments that want to probe Redis itself). */
export function redisCheck(client: { ping(): Promise<string> }, name = 'redis'): ReadinessCheck {
  return { name, check: () => client.ping() };
}

/** A one-connection client for `postgresCheck`, with short connect and statement timeouts. */
export function postgresProbe(url: string, name = 'database'): ReadinessCheck & { close(): Promise<void> } {
  const sql = postgres(url, {
    max: 1,
    connect_timeout: 2,
    idle_timeout: 30,
    max_lifetime: 60 * 30,
    onnotice: () => {},
    connection: { application_name: 'corrections-readyz', statement_timeout: DEFAULT_CHECK_TIMEOUT_MS },
  });
  const probe = postgresCheck(sql, name);
  return { name, check: () => probe.check(), close: () => sql.end({ timeout: 1 }) };
}
