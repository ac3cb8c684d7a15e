/**
 * The composition root (runApp) as production runs it, against PostgreSQL, Redis and the Bot API
 * stand-in: a worker process serves /healthz, /readyz and /metrics (with the database gauges) and no
 * webhook; the bot counts each update in the metrics, holds its per-chat locks on a pool of its own that
 * shutdown closes; new incidents snapshot the org file's policy overrides scaled by POLICY_TIME_SCALE.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { POLICY_OVERRIDES_KEY } from '../../src/admin/policy.js';
import { parseConfig } from '../../src/config.js';
import { PiiCipher } from '../../src/db/pii-crypto.js';
import { settings } from '../../src/db/schema.js';
import { DEFAULT_POLICY, type EscalationPolicy } from '../../src/domain/index.js';
import { createLogger } from '../../src/logger.js';
import { runApp, type AppHandle, type Role } from '../../src/app.js';
import { metrics } from '../../src/ops/metrics.js';
import { startBotApiServer, type BotApiServer } from '../../src/sandbox/bot-api-server.js';
import { reportIncident } from '../../src/services/incident.service.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { seedOrg, TG, type SeededOrg } from '../helpers/fixtures.js';
import { SHARED_REDIS, waitFor, wipeRedisPrefix } from '../jobs/harness.js';

let t: TestDatabase;
let org: SeededOrg;
let api: BotApiServer;
let dataDir: string;
const piiKey = randomBytes(32);
const apps: AppHandle[] = [];
const namespaces: string[] = [];

beforeAll(async () => {
  t = await createTestDatabase();
  org = await seedOrg(t.db, new PiiCipher(piiKey));
  api = await startBotApiServer({ longPollMaxSeconds: 1 });
  for (const [key, id] of Object.entries(TG)) api.addUser({ id, first_name: key, language_code: 'zh-hans' });
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'main-wiring-'));
});
afterAll(async () => {
  for (const app of apps) await app.shutdown('test over');
  for (const ns of namespaces) await wipeRedisPrefix(SHARED_REDIS, ns);
  await api?.close();
  await rm(dataDir, { recursive: true, force: true });
  await t?.drop();
});

async function start(role: Role): Promise<AppHandle> {
  const namespace = `test-${randomUUID().slice(0, 8)}`;
  namespaces.push(namespace);
  const config = parseConfig({
    DATABASE_URL: t.url,
    REDIS_URL: SHARED_REDIS,
    BOT_TOKEN: api.token,
    TELEGRAM_API_ROOT: api.url,
    PORT: '0',
    HOST: '127.0.0.1',
    PII_KEY: piiKey.toString('base64'),
    DATA_DIR: dataDir,
    POLICY_TIME_SCALE: '0.5',
  });
  const app = await runApp({ config, role, logger: createLogger('silent'), queueNamespace: namespace, jobTuning: { reconcileEveryMs: 0 } });
  apps.push(app);
  return app;
}

const url = (app: AppHandle, p: string) => `http://127.0.0.1:${(app.http.server.address() as { port: number }).port}${p}`;

const lockConnections = async () =>
  (await t.sql`select count(*)::int as n from pg_stat_activity where datname = ${t.name} and application_name = 'corrections-chat-locks'`)[0]!.n as number;

async function updatesHandled(): Promise<number> {
  const metric = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === 'corrections_updates_handled_total');
  return ((metric?.values ?? []) as Array<{ value: number }>).reduce((n, v) => n + v.value, 0);
}

// Processes started one after another on one database: the steps keep their order.
describe('runApp', { shuffle: false }, () => {
  it('a worker serves /healthz, /readyz and /metrics (database gauges included) on its own port, and no webhook', async () => {
    await reportIncident(
      { db: t.db, clock: { now: () => new Date() }, timeZone: 'Asia/Shanghai', piiMode: 'masked', cipher: org.cipher, policy: async () => DEFAULT_POLICY, dispatcher: { afterCommit: async () => {} } },
      org.actor('officerA1'),
      { type: 'absconding', officeUnitId: org.units.officeA, subjectId: org.subjects.a1, discoveredAt: new Date(), injured: 0, dead: 0, description: '未按时报到' },
    );
    const worker = await start('worker');
    expect((await fetch(url(worker, '/healthz'))).status).toBe(200);
    expect((await fetch(url(worker, '/readyz'))).status).toBe(200);
    const body = await (await fetch(url(worker, '/metrics'))).text();
    expect(body).toMatch(/corrections_incidents_open\{[^}]*type="absconding"[^}]*\} 1/);
    expect(body).toContain('corrections_queue_jobs');
    expect((await fetch(url(worker, '/telegram/webhook'), { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } })).status).toBe(404);
  });

  it('the bot counts every update, and holds its chat locks on a pool of its own that shutdown closes', async () => {
    const before = await updatesHandled();
    const app = await start('all');
    api.sendText(TG.section, '/help');
    await api.waitForBotMessage(TG.section, (m) => (m.text ?? '').includes('科员丙'), { timeoutMs: 10_000 });
    await waitFor(async () => ((await updatesHandled()) > before ? true : undefined), { what: 'the update to be counted' });
    expect(await lockConnections()).toBeGreaterThan(0);

    await app.shutdown('test');
    await waitFor(async () => ((await lockConnections()) === 0 ? true : undefined), { what: 'the lock pool to close' });
  }, 30_000);

  it('new incidents snapshot the org file’s overrides, scaled by POLICY_TIME_SCALE; running ones keep theirs', async () => {
    await t.db.insert(settings).values({ key: POLICY_OVERRIDES_KEY, value: { ackSeconds: { critical: 600 } } });
    const app = await start('bot');
    const report = () =>
      reportIncident(app.jobs.deps, org.actor('officerB1'), { type: 'violent_crime', officeUnitId: org.units.officeB, subjectNote: '不明', discoveredAt: new Date(), injured: 0, dead: 0, description: '策略快照' });
    const first = (await report()).incident;
    expect((first.policy as EscalationPolicy).ackSeconds).toEqual({ critical: 300, standard: 450 });

    await t.db.update(settings).set({ value: { ackSeconds: { critical: 1200 } } }).where(eq(settings.key, POLICY_OVERRIDES_KEY));
    const second = (await report()).incident;
    expect((second.policy as EscalationPolicy).ackSeconds.critical).toBe(600);
    const [kept] = await t.sql`select policy from incidents where id = ${first.id}`;
    expect((kept!.policy as EscalationPolicy).ackSeconds.critical).toBe(300);
  }, 30_000);
});
