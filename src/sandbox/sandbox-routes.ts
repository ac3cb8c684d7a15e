/**
 * What the sandbox page needs that the Bot API stand-in's control API cannot do: the trainer's controls.
 * Start a drill of a chosen type at a chosen office (issue 5, 10), start afresh from the example
 * organisation, and run one of the day's scheduled runs now (issue 10). Mounted on the sandbox's own HTTP
 * server (bound to 127.0.0.1), with CORS for the page's origins only.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { EPIDEMIC_SCENARIOS, INCIDENT_TYPES, RUN_NOW_KINDS, TrainerRequestError, type EpidemicScenario, type IncidentType, type RunNowKind, type RunNowResult } from '../app.js';
import type { Logger } from '../logger.js';

export const DRILL_ROUTE = '/sandbox/drill';
export const RESET_ROUTE = '/sandbox/reset';
export const RUN_NOW_ROUTE = '/sandbox/run-now';

export interface DrillRequest {
  type?: IncidentType;
  /** An office's code from the org file (`office-hushu`); default: the officer's office. */
  officeCode?: string;
  scenario?: EpidemicScenario;
}

export interface ResetResult {
  /** Messages taken out of the chats. */
  messagesCleared: number;
  staff: number;
  subjects: number;
  absences: number;
}

const drillRequest = z
  .object({ type: z.enum(INCIDENT_TYPES).optional(), officeCode: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).optional(), scenario: z.enum(EPIDEMIC_SCENARIOS).optional() })
  .strict();
const resetRequest = z.object({}).strict();
const runNowRequest = z.object({ kind: z.enum(RUN_NOW_KINDS) }).strict();

export interface SandboxRouteDeps {
  /** The page's origins (`http://127.0.0.1:8080`, `http://localhost:8080`): the only ones allowed to call. */
  pageOrigins: readonly string[];
  startDrill(input: DrillRequest): Promise<{ incidentNumber: string }>;
  reset(): Promise<ResetResult>;
  runNow(kind: RunNowKind): Promise<RunNowResult>;
  logger: Logger;
}

export function registerSandboxRoutes(app: FastifyInstance, deps: SandboxRouteDeps): void {
  const cors = (origin: string | undefined): Record<string, string> =>
    origin !== undefined && deps.pageOrigins.includes(origin) ? { 'access-control-allow-origin': origin, vary: 'origin' } : { vary: 'origin' };

  /** A POST route the page calls: CORS preflight, the origin check, the body parsed, errors as JSON. */
  const post = <T>(route: string, schema: z.ZodType<T>, usage: string, handle: (body: T) => Promise<Record<string, unknown>>) => {
    app.options(route, async (req, reply) =>
      reply
        .code(204)
        .headers({ ...cors(req.headers.origin), 'access-control-allow-methods': 'POST', 'access-control-allow-headers': 'content-type', 'access-control-max-age': '600' })
        .send(),
    );
    app.post(route, async (req: FastifyRequest, reply: FastifyReply) => {
      const origin = req.headers.origin;
      reply.headers(cors(origin));
      // A browser always sends Origin on a cross-origin POST: another site's page cannot act here.
      if (origin !== undefined && !deps.pageOrigins.includes(origin)) return reply.code(403).send({ error: 'origin not allowed' });
      const parsed = schema.safeParse(req.body ?? {});
      if (!parsed.success) return reply.code(400).send({ error: `body must be ${usage}` });
      try {
        return { ok: true, ...(await handle(parsed.data)) };
      } catch (err) {
        deps.logger.warn({ err, route }, 'sandbox control failed');
        return reply.code(err instanceof TrainerRequestError ? 400 : 500).send({ error: (err as Error).message });
      }
    });
  };

  post(DRILL_ROUTE, drillRequest, '{} or { "type"?, "officeCode"?, "scenario"? }', async (input) => {
    const r = await deps.startDrill(input);
    deps.logger.info({ incident: r.incidentNumber, type: input.type, office: input.officeCode }, 'sandbox drill started');
    return { incident: r.incidentNumber };
  });
  post(RESET_ROUTE, resetRequest, '{}', async () => {
    const r = await deps.reset();
    deps.logger.info(r, 'sandbox started afresh');
    return { ...r };
  });
  post(RUN_NOW_ROUTE, runNowRequest, `{ "kind": ${RUN_NOW_KINDS.map((k) => `"${k}"`).join(' | ')} }`, async ({ kind }) => {
    const r = await deps.runNow(kind);
    deps.logger.info(r, 'sandbox daily run done now');
    return { ...r };
  });
}
