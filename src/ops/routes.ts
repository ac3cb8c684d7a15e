/**
 * The operations surface on the bot process's fastify server: /healthz, /readyz, /metrics and,
 * with ADMIN_PASSWORD set, the queue dashboard.
 */
import type { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import type { Logger } from '../logger.js';
import { DEFAULT_CHECK_TIMEOUT_MS, runReadiness, type ReadinessCheck } from './health.js';
import { metrics as processMetrics, type OpsMetrics } from './metrics.js';
import { DEFAULT_DASHBOARD_PATH, registerQueueDashboard } from './queue-dashboard.js';

export interface OpsRouteDeps {
  /** Default: the process-wide `metrics`. */
  metrics?: OpsMetrics;
  /** What "ready" means here: typically the database and the queue backend (see health.ts). */
  readiness: readonly ReadinessCheck[];
  readinessTimeoutMs?: number;
  /** Queues shown on the dashboard and counted in /metrics. */
  queues?: readonly Queue[];
  /** Enables the dashboard; without it there is none. */
  adminPassword?: string | undefined;
  dashboardPath?: string;
  logger?: Logger;
  /** Set while the process drains on SIGTERM: /readyz answers 503 so a load balancer stops sending work. */
  isShuttingDown?: () => boolean;
}

export async function registerOpsRoutes(app: FastifyInstance, deps: OpsRouteDeps): Promise<void> {
  const m = deps.metrics ?? processMetrics;
  if (deps.queues?.length) m.trackQueues(deps.queues);
  const timeoutMs = deps.readinessTimeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS;
  let lastReady: boolean | undefined;

  app.get('/healthz', async (_req, reply) => {
    reply.header('cache-control', 'no-store');
    return { status: 'ok', uptimeSeconds: Math.round(process.uptime()) };
  });

  app.get('/readyz', async (_req, reply) => {
    reply.header('cache-control', 'no-store');
    if (deps.isShuttingDown?.()) {
      return reply.code(503).send({ status: 'unavailable', reasons: ['shutting down'], checks: {} });
    }
    const report = await runReadiness(deps.readiness, timeoutMs);
    if (report.ready !== lastReady) {
      // Log transitions only, not every probe.
      const reasons = Object.entries(report.checks).filter(([, c]) => !c.ok).map(([n, c]) => `${n}: ${c.reason ?? ''}`);
      if (report.ready) deps.logger?.info({ checks: report.checks }, 'ready');
      else deps.logger?.warn({ reasons }, 'not ready');
      lastReady = report.ready;
    }
    if (report.ready) return { status: 'ready', checks: report.checks };
    const reasons = Object.entries(report.checks)
      .filter(([, c]) => !c.ok)
      .map(([name, c]) => `${name}: ${c.reason ?? 'no answer'}`);
    return reply.code(503).send({ status: 'unavailable', reasons, checks: report.checks });
  });

  app.get('/metrics', async (_req, reply) => {
    const body = await m.render();
    return reply.header('content-type', m.contentType).header('cache-control', 'no-store').send(body);
  });

  if (deps.adminPassword && deps.queues?.length) {
    await registerQueueDashboard(app, {
      queues: deps.queues,
      password: deps.adminPassword,
      basePath: deps.dashboardPath ?? DEFAULT_DASHBOARD_PATH,
    });
  }
}
