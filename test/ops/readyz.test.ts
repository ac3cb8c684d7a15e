/**
 * /readyz follows PostgreSQL: 503 with the reason within 5 s of the server stopping, 200 again once
 * it is back. Runs on its own embedded PostgreSQL (never the shared system server), with BullMQ's
 * PostgreSQL backend in the same database as the queue backend.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Queue, createPostgresBackend } from 'bullmq';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../../src/db/embedded.js';
import { createOpsMetrics, postgresProbe, queueCheck, registerOpsRoutes } from '../../src/ops/index.js';

let dataDir: string;
let pg: EmbeddedDatabase;
let app: FastifyInstance;
let queue: Queue<any, any, string, any, any, string, any, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
let probe: ReturnType<typeof postgresProbe>;

async function readyz(): Promise<{ status: number; body: { status: string; reasons?: string[] } }> {
  const res = await app.inject({ method: 'GET', url: '/readyz' });
  return { status: res.statusCode, body: res.json() };
}

/** Polls until `want` or the deadline; returns the elapsed milliseconds and the last answer. */
async function pollUntil(want: number, deadlineMs: number) {
  const started = Date.now();
  let last = await readyz();
  while (last.status !== want && Date.now() - started < deadlineMs) {
    await new Promise((r) => setTimeout(r, 100));
    last = await readyz();
  }
  return { elapsed: Date.now() - started, last };
}

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'readyz-'));
  pg = await startEmbeddedPostgres(dataDir);
  queue = new Queue('readyz', { connection: { connectionString: pg.url, migrate: true, max: 2 } }, createPostgresBackend);
  // Unhandled 'error' events would crash the worker thread while the server is down.
  queue.on('error', () => {});
  await queue.waitUntilReady();
  probe = postgresProbe(pg.url);
  app = Fastify();
  await registerOpsRoutes(app, { metrics: createOpsMetrics({ defaultMetrics: false }), readiness: [probe, queueCheck(queue)] });
  await app.ready();
}, 90_000);

afterAll(async () => {
  await app?.close();
  await probe?.close().catch(() => {});
  await queue?.close().catch(() => {});
  await pg?.stop().catch(() => {});
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('/readyz and /healthz', () => {
  it('is ready while PostgreSQL and the queue backend answer', async () => {
    const r = await readyz();
    expect(r.status).toBe(200);
    expect(r.body.status).toBe('ready');
    const h = await app.inject({ method: 'GET', url: '/healthz' });
    expect(h.statusCode).toBe(200);
  });

  it('turns 503 with the reason within 5 s of PostgreSQL stopping, and 200 once it is back', async () => {
    const port = pg.port;
    const stoppedAt = Date.now();
    await pg.stop();
    const down = await pollUntil(503, 5_000);
    const sinceStop = Date.now() - stoppedAt;
    expect(down.last.status).toBe(503);
    expect(sinceStop).toBeLessThan(5_000 + 500);
    expect(down.last.body.status).toBe('unavailable');
    expect(down.last.body.reasons?.join(' ')).toMatch(/database/);
    // The process itself is still alive.
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);

    pg = await startEmbeddedPostgres(dataDir, { port });
    const up = await pollUntil(200, 20_000);
    expect(up.last.status).toBe(200);
    expect(up.last.body.status).toBe('ready');
  }, 60_000);
});
