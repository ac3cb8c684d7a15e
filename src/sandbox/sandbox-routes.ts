/**
 * The one thing the sandbox page needs that the Bot API stand-in's control API cannot do: start a drill
 * through the drill service (issue 5). Mounted on the sandbox's own HTTP server (the ops server, bound to
 * 127.0.0.1), with CORS for the page's origin only.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { INCIDENT_TYPES } from '../domain/index.js';
import type { Logger } from '../logger.js';

export const DRILL_ROUTE = '/sandbox/drill';

const drillRequest = z.object({ type: z.enum(INCIDENT_TYPES).optional() }).strict();

export interface SandboxRouteDeps {
  /** The page's origins (`http://127.0.0.1:8080`, `http://localhost:8080`): the only ones allowed to call. */
  pageOrigins: readonly string[];
  startDrill(input: { type?: (typeof INCIDENT_TYPES)[number] }): Promise<{ incidentNumber: string }>;
  logger: Logger;
}

export function registerSandboxRoutes(app: FastifyInstance, deps: SandboxRouteDeps): void {
  const cors = (origin: string | undefined): Record<string, string> =>
    origin !== undefined && deps.pageOrigins.includes(origin) ? { 'access-control-allow-origin': origin, vary: 'origin' } : { vary: 'origin' };
  app.options(DRILL_ROUTE, async (req, reply) =>
    reply
      .code(204)
      .headers({ ...cors(req.headers.origin), 'access-control-allow-methods': 'POST', 'access-control-allow-headers': 'content-type', 'access-control-max-age': '600' })
      .send(),
  );
  app.post(DRILL_ROUTE, async (req, reply) => {
    const origin = req.headers.origin;
    reply.headers(cors(origin));
    // A browser always sends Origin on a cross-origin POST: another site's page cannot start drills here.
    if (origin !== undefined && !deps.pageOrigins.includes(origin)) return reply.code(403).send({ error: 'origin not allowed' });
    const parsed = drillRequest.safeParse(req.body ?? {});
    if (!parsed.success) return reply.code(400).send({ error: 'body must be {} or { "type": <incident type> }' });
    try {
      const r = await deps.startDrill(parsed.data);
      deps.logger.info({ incident: r.incidentNumber }, 'sandbox drill started');
      return { ok: true, incident: r.incidentNumber };
    } catch (err) {
      deps.logger.warn({ err }, 'sandbox drill could not start');
      return reply.code(500).send({ error: (err as Error).message });
    }
  });
}
