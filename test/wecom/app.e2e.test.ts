/**
 * The composition root with WeCom (runApp, as production runs it), against PostgreSQL, Redis and the
 * stand-ins: WeCom alone (no BOT_TOKEN) mounts the callback URL on the process's HTTP server, binds a
 * member and sends their notices through the workers; with both channels each notice goes to the
 * channel its recipient is bound on, through the same workers.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createInvite } from '../../src/admin/invite.js';
import { runApp, type AppHandle } from '../../src/app.js';
import { parseConfig } from '../../src/config.js';
import { insertInvite } from '../../src/db/repositories/invite.repository.js';
import { PiiCipher } from '../../src/db/pii-crypto.js';
import { outbox, staff } from '../../src/db/schema.js';
import { createLogger } from '../../src/logger.js';
import { startBotApiServer, type BotApiServer } from '../../src/sandbox/bot-api-server.js';
import { startWecomStandIn, type WecomStandIn } from '../../src/sandbox/wecom/index.js';
import { reportIncident } from '../../src/services/incident.service.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { seedOrg, TG, type SeededOrg } from '../helpers/fixtures.js';
import { SHARED_REDIS, waitFor, wipeRedisPrefix } from '../jobs/harness.js';

const piiKey = randomBytes(32);
const cleanups: Array<() => Promise<unknown>> = [];
let dataDir: string | undefined;

afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
});
afterAll(async () => {
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

interface World {
  t: TestDatabase;
  org: SeededOrg;
  s: WecomStandIn;
  app: AppHandle;
  api?: BotApiServer;
}

async function start(opts: { telegram: boolean }): Promise<World> {
  const t = await createTestDatabase();
  cleanups.push(() => t.drop());
  const org = await seedOrg(t.db, new PiiCipher(piiKey));
  const s = await startWecomStandIn({ users: ['lisi', 'chenke'], limits: false });
  cleanups.push(() => s.stop());
  let api: BotApiServer | undefined;
  if (opts.telegram) {
    api = await startBotApiServer({ longPollMaxSeconds: 1 });
    for (const [key, id] of Object.entries(TG)) api.addUser({ id, first_name: key, language_code: 'zh-hans' });
    cleanups.push(() => api!.close());
  }
  dataDir ??= await mkdtemp(path.join(os.tmpdir(), 'wecom-app-'));
  const namespace = `test-${randomUUID().slice(0, 8)}`;
  cleanups.push(() => wipeRedisPrefix(SHARED_REDIS, namespace));
  const config = parseConfig({
    DATABASE_URL: t.url,
    REDIS_URL: SHARED_REDIS,
    PORT: '0',
    HOST: '127.0.0.1',
    PII_KEY: piiKey.toString('base64'),
    DATA_DIR: dataDir,
    WECOM_CORP_ID: s.config.corpId,
    WECOM_AGENT_ID: String(s.config.agentId),
    WECOM_SECRET: s.config.corpSecret,
    WECOM_TOKEN: s.config.callbackToken,
    WECOM_AES_KEY: s.config.encodingAesKey,
    WECOM_API_ROOT: s.url,
    ...(api ? { BOT_TOKEN: api.token, TELEGRAM_API_ROOT: api.url } : {}),
  });
  const app = await runApp({ config, role: 'all', logger: createLogger('silent'), queueNamespace: namespace, jobTuning: { reconcileEveryMs: 0 } });
  cleanups.push(() => app.shutdown('test over'));
  s.driver.setCallbackUrl(`http://127.0.0.1:${(app.http.server.address() as { port: number }).port}/wecom/callback`);
  return { t, org, s, app, ...(api ? { api } : {}) };
}

/** Binds section2 (seeded on Telegram) on WeCom as `chenke`, with an invite naming them. */
async function bindSection2(w: World): Promise<void> {
  const code = `invite-${randomUUID()}`;
  await insertInvite(w.t.db, { code, unitId: w.org.units.section, positionKind: 'section', staffId: w.org.staff.section2, createdBy: 'test', createdAt: new Date(), expiresAt: new Date(Date.now() + 3_600_000) });
  await w.s.driver.typeText('chenke', `/start ${code}`);
  await waitFor(() => w.s.driver.messagesOf('chenke').some((m) => (m.content ?? '').includes('Section Two')), { what: 'section2 to be bound on WeCom' });
}

const report = (w: World) =>
  reportIncident(w.app.jobs.deps, w.org.actor('officerA1'), { type: 'absconding', officeUnitId: w.org.units.officeA, subjectId: w.org.subjects.a1, discoveredAt: new Date(), injured: 0, dead: 0, description: '未按时报到' });

describe('runApp with WeCom', () => {
  it('WeCom alone: the callback URL verifies, a member binds, the workers send their notice on WeCom', async () => {
    const w = await start({ telegram: false });
    expect(await w.s.driver.verifyCallbackUrl()).toMatchObject({ status: 200, echoed: true });
    expect((await fetch(`http://127.0.0.1:${(w.app.http.server.address() as { port: number }).port}/healthz`)).status).toBe(200);

    const code = (await createInvite(w.t.db, { unitCode: 'office-a', position: 'officer', now: new Date() })).code;
    await w.s.driver.typeText('lisi', `/start ${code}`);
    await waitFor(() => w.s.driver.messagesOf('lisi').some((m) => (m.content ?? '').includes('绑定成功')), { what: 'the binding answer' });

    await bindSection2(w);
    const { incident } = await report(w);
    await waitFor(() => w.s.driver.messagesOf('chenke').some((m) => JSON.stringify(m).includes(incident.number)), { what: 'the notice on WeCom', timeoutMs: 15_000 });
    // The section member bound on Telegram only cannot be reached in a WeCom-only deployment.
    await waitFor(async () => {
      const [row] = await w.t.db.select().from(outbox).where(eq(outbox.recipientStaffId, w.org.staff.section));
      return row && row.status !== 'pending' && row.status !== 'sending' ? row : undefined;
    }, { what: 'the Telegram-only recipient’s row to close' });
  }, 40_000);

  it('both: the same workers send on Telegram and on WeCom, each recipient on theirs, once', async () => {
    const w = await start({ telegram: true });
    expect(await w.s.driver.verifyCallbackUrl()).toMatchObject({ status: 200, echoed: true });
    await bindSection2(w);
    await w.t.db.update(staff).set({ preferredChannel: 'wecom' }).where(eq(staff.id, w.org.staff.section2));
    const { incident } = await report(w);
    await w.api!.waitForBotMessage(TG.section, (m) => (m.text ?? '').includes(incident.number), { timeoutMs: 15_000 });
    await waitFor(() => w.s.driver.messagesOf('chenke').some((m) => JSON.stringify(m).includes(incident.number)), { what: 'the notice on WeCom', timeoutMs: 15_000 });
    expect(w.api!.botMessages(TG.section2).some((m) => (m.text ?? '').includes(incident.number))).toBe(false);
  }, 40_000);
});
