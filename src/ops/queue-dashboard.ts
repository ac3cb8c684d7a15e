/**
 * The queue dashboard (@bull-board) behind an admin login. It exists only when ADMIN_PASSWORD is
 * configured: without a password there is no dashboard, not an open one. @bull-board is loaded only
 * then, so a process without the dashboard does not carry it in memory.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Queue } from 'bullmq';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

export const ADMIN_USER = 'admin';
export const DEFAULT_DASHBOARD_PATH = '/admin/queues';

export interface QueueDashboardOptions {
  queues: readonly Queue[];
  /** The admin password; the user name is `admin`. */
  password: string;
  basePath?: string;
  /** Shown as read-only: jobs can be inspected, not retried or removed. Default false. */
  readOnly?: boolean;
}

/** HTTP Basic credentials match `admin:<password>`, compared in constant time. */
export function isAuthorised(header: string | undefined, password: string): boolean {
  if (!header?.startsWith('Basic ')) return false;
  let decoded: string;
  try {
    decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  } catch {
    return false;
  }
  const digest = (s: string) => createHash('sha256').update(s).digest();
  // Hashing first makes both sides the same length, so timingSafeEqual never throws or leaks length.
  return timingSafeEqual(digest(decoded), digest(`${ADMIN_USER}:${password}`));
}

/** Mounts the dashboard under `basePath` in its own fastify scope, every route behind the login. */
export async function registerQueueDashboard(app: FastifyInstance, opts: QueueDashboardOptions): Promise<void> {
  const basePath = opts.basePath ?? DEFAULT_DASHBOARD_PATH;
  const [{ createBullBoard }, { BullMQAdapter }, { FastifyAdapter }] = await Promise.all([
    import('@bull-board/api'),
    import('@bull-board/api/bullMQAdapter'),
    import('@bull-board/fastify'),
  ]);
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(basePath);
  createBullBoard({
    queues: opts.queues.map((q) => new BullMQAdapter(q, { readOnlyMode: opts.readOnly ?? false })),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'Corrections queues' } },
  });
  await app.register(async (scope) => {
    scope.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
      if (isAuthorised(req.headers.authorization, opts.password)) return;
      await reply
        .code(401)
        .header('www-authenticate', 'Basic realm="corrections-ops", charset="UTF-8"')
        .send({ error: 'login required' });
    });
    await scope.register(serverAdapter.registerPlugin(), { prefix: basePath });
  });
}
