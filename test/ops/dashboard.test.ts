/** The queue dashboard exists only with ADMIN_PASSWORD, and every page and API call needs the login. */
import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import Fastify, { type FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOpsMetrics, isAuthorised, registerOpsRoutes } from '../../src/ops/index.js';

const prefix = `test-${randomUUID()}`;
const password = 'correct horse battery staple';
const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
let redis: Redis;
let queue: Queue;
let withBoard: FastifyInstance;
let withoutBoard: FastifyInstance;

beforeAll(async () => {
  redis = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
  queue = new Queue('ops-dashboard', { connection: redis, prefix });
  await queue.add('escalate', { incidentId: 'x' }, { delay: 60_000, jobId: 'escalate-x-ack-1' });
  withBoard = Fastify();
  await registerOpsRoutes(withBoard, { metrics: createOpsMetrics({ defaultMetrics: false }), readiness: [], queues: [queue], adminPassword: password });
  await withBoard.ready();
  withoutBoard = Fastify();
  await registerOpsRoutes(withoutBoard, { metrics: createOpsMetrics({ defaultMetrics: false }), readiness: [], queues: [queue] });
  await withoutBoard.ready();
});

afterAll(async () => {
  await withBoard?.close();
  await withoutBoard?.close();
  await queue?.obliterate({ force: true }).catch(() => {});
  await queue?.close();
  redis?.disconnect();
});

describe('queue dashboard', () => {
  it('is absent without an admin password', async () => {
    const res = await withoutBoard.inject({ method: 'GET', url: '/admin/queues' });
    expect(res.statusCode).toBe(404);
  });

  it('asks for the login, refuses a wrong password, and shows the queues to the admin', async () => {
    const anonymous = await withBoard.inject({ method: 'GET', url: '/admin/queues' });
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.headers['www-authenticate']).toMatch(/^Basic /);
    const wrong = await withBoard.inject({ method: 'GET', url: '/admin/queues/api/queues', headers: { authorization: basic('admin', 'guess') } });
    expect(wrong.statusCode).toBe(401);

    const page = await withBoard.inject({ method: 'GET', url: '/admin/queues', headers: { authorization: basic('admin', password) } });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    const api = await withBoard.inject({ method: 'GET', url: '/admin/queues/api/queues', headers: { authorization: basic('admin', password) } });
    expect(api.statusCode).toBe(200);
    const body = api.json() as { queues: Array<{ name: string; counts: Record<string, number> }> };
    const q = body.queues.find((x) => x.name === 'ops-dashboard');
    expect(q?.counts.delayed).toBe(1);
  });

  it('compares credentials exactly', () => {
    expect(isAuthorised(basic('admin', password), password)).toBe(true);
    expect(isAuthorised(basic('admin', `${password} `), password)).toBe(false);
    expect(isAuthorised(basic('root', password), password)).toBe(false);
    expect(isAuthorised(undefined, password)).toBe(false);
    expect(isAuthorised('Bearer x', password)).toBe(false);
  });
});
