/**
 * Worker processes that die or are stopped mid-send. A real child process (the composition root, role
 * worker) is killed with SIGKILL:
 * - in the normal window — the job is running, the request has not reached Telegram: the message
 *   arrives exactly once after another worker picks the job up;
 * - in the residual window — Telegram has the message, the answer never came back: the row is found
 *   `sending`, and the message is sent again, marked as re-sent (at most one duplicate, never a loss;
 *   see notification.service.ts).
 * And `--role worker` on SIGTERM lets the running send finish, then exits 0.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PiiCipher } from '../../src/db/pii-crypto.js';
import { enqueueNotices } from '../../src/db/repositories/outbox.repository.js';
import type { BotApiServer } from '../../src/sandbox/bot-api-server.js';
import { emptyChange } from '../../src/services/ports.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { seedOrg, TG, type SeededOrg } from '../helpers/fixtures.js';
import { botTexts, SHARED_REDIS, startApi, startHarness, startThrowawayRedis, waitFor, waitForSendsSettled, type Harness } from './harness.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const piiKey = randomBytes(32);

let t: TestDatabase;
let org: SeededOrg;
let api: BotApiServer;
let dataDir: string;
const children: ChildProcess[] = [];
const harnesses: Harness[] = [];

beforeAll(async () => {
  t = await createTestDatabase();
  org = await seedOrg(t.db, new PiiCipher(piiKey));
  api = await startApi();
  dataDir = await mkdtemp(path.join(tmpdir(), 'crash-test-'));
});
// Each test's job systems stop with it: they share one database, and a relay of another namespace would
// pick up this test's rows (in production every process shares one queue namespace).
afterEach(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const h of harnesses.splice(0)) await h.close();
});
afterAll(async () => {
  await api?.close();
  await t?.drop();
});

function childEnv(redisUrl: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    DATABASE_URL: t.url,
    REDIS_URL: redisUrl,
    TELEGRAM_API_ROOT: api.url,
    BOT_TOKEN: api.token,
    PII_KEY: piiKey.toString('base64'),
    DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
    // Every role serves /healthz and /metrics: a free port each, as several workers run side by side.
    PORT: '0',
    HOST: '127.0.0.1',
    ...extra,
  };
}

/** The crash-test worker (runApp, role worker, 2 s job locks); resolves once it is running. */
async function spawnWorker(namespace: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/jobs/worker-entry.ts'], {
    cwd: ROOT,
    env: childEnv(SHARED_REDIS, { QUEUE_NAMESPACE: namespace }),
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`worker exited early (${code})`)));
  });
  return child;
}

/** The test's side of the queues: a producer now, a second worker after the crash. */
async function producer(namespace: string): Promise<Harness> {
  const h = await startHarness({
    backend: 'redis',
    db: t,
    org,
    api,
    namespace,
    workers: false,
    tuning: { lockDurationMs: 2_000, stalledIntervalMs: 1_000, sendInFlightGuardMs: 1_500 },
  });
  harnesses.push(h);
  return h;
}

/** Plain notices whose text carries a marker (missed_days shows the dates it is given). */
async function notify(h: Harness, recipient: keyof SeededOrg['staff'], texts: string[]) {
  const rows = await enqueueNotices(
    t.db,
    texts.map((text) => ({ recipientStaffId: org.staff[recipient], kind: 'missed_days' as const, dedupeKey: `crash-${text}-${randomUUID()}`, params: { what: 'digest', dates: [text] } })),
  );
  await h.jobs.dispatcher.afterCommit({ ...emptyChange(), outboxCreated: rows });
  return rows;
}

const statusOf = async (id: string) => (await t.sql`select status from outbox where id = ${id}`)[0]!.status as string;

describe('a worker killed mid-send', () => {
  it('SIGKILL while a send is under way (before Telegram has it): the message arrives exactly once', async () => {
    const ns = `test-${randomUUID().slice(0, 8)}`;
    const h = await producer(ns);
    const child = await spawnWorker(ns);
    await notify(h, 'headA', ['warm-up']);
    await api.waitForBotMessage(TG.headA, (m) => (m.text ?? '').includes('warm-up'), { after: 0, timeoutMs: 10_000 });

    // One message goes out; the job of the other is held mid-send — drawn, about to claim its row, which the
    // test keeps locked — so the worker dies with the job running and nothing yet with Telegram.
    const [m1] = await notify(h, 'headB', ['kill-one']);
    await waitFor(async () => ((await statusOf(m1!.id)) === 'sent' ? true : undefined), { what: 'the first send' });
    const [second] = await enqueueNotices(t.db, [{ recipientStaffId: org.staff.headB, kind: 'missed_days', dedupeKey: `crash-kill-two-${randomUUID()}`, params: { what: 'digest', dates: ['kill-two'] } }]);
    let release!: () => void;
    let locked!: () => void;
    const isLocked = new Promise<void>((r) => (locked = r));
    const held = t.sql.begin(async (sql) => {
      await sql`select id from outbox where id = ${second!.id} for update`;
      locked();
      await new Promise<void>((r) => (release = r));
    });
    await isLocked;
    await h.jobs.dispatcher.afterCommit({ ...emptyChange(), outboxCreated: [second!] });
    const waiting = () => t.sql`select pid from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`;
    await waitFor(async () => ((await waiting()).length > 0 ? true : undefined), { timeoutMs: 10_000, what: 'the send to wait for its row' });
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    // The dead worker's database session would otherwise go on once the lock is free.
    for (const { pid } of await waiting()) await t.sql`select pg_terminate_backend(${pid})`;
    release();
    await held;

    // Killed mid-send: the job was running, its message not yet with Telegram.
    expect(await statusOf(second!.id)).toBe('pending');
    expect(await (await h.jobs.queues.send.getJob(second!.id))?.getState()).toBe('active');
    expect(botTexts(api, TG.headB, /kill-/)).toHaveLength(1);

    // Another worker takes over once the dead worker's lock expires.
    await h.jobs.startWorkers({ schedulers: false, catchUp: false });
    await waitFor(async () => ((await statusOf(second!.id)) === 'sent' ? true : undefined), { timeoutMs: 15_000, what: 'the second message to be sent' });
    // Every send job has finished, the dead worker's included: a second copy would be there by now.
    await waitForSendsSettled({ t, jobs: h.jobs });
    expect(botTexts(api, TG.headB, /kill-one/)).toHaveLength(1);
    const two = botTexts(api, TG.headB, /kill-two/);
    expect(two).toHaveLength(1);
    expect(two[0]!.text).not.toContain('补发');
  }, 45_000);

  it('SIGKILL after Telegram has the message but before the answer (the residual window): one marked re-send, nothing lost', async () => {
    const ns = `test-${randomUUID().slice(0, 8)}`;
    const h = await producer(ns);
    const child = await spawnWorker(ns);
    await notify(h, 'headA', ['warm-up-2']);
    await api.waitForBotMessage(TG.headA, (m) => (m.text ?? '').includes('warm-up-2'), { after: 0, timeoutMs: 10_000 });

    api.failNext('sendMessage', { delayMs: 4_000 }); // stored at once, answered 4 s later
    const [row] = await notify(h, 'officerB1', ['window']);
    await api.waitForBotMessage(TG.officerB1, (m) => (m.text ?? '').includes('window'), { after: 0, timeoutMs: 10_000 });
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect(await statusOf(row!.id)).toBe('sending');

    await h.jobs.startWorkers({ schedulers: false, catchUp: false });
    await waitFor(async () => ((await statusOf(row!.id)) === 'sent' ? true : undefined), { timeoutMs: 15_000, what: 'the re-send' });
    const copies = botTexts(api, TG.officerB1, /window/);
    expect(copies).toHaveLength(2);
    expect(copies[1]!.text).toContain('补发');
    expect(copies[0]!.text).not.toContain('补发');
  }, 45_000);
});

describe('npm start -- --role worker', () => {
  it('SIGTERM: the running send finishes, then the process exits 0', async () => {
    const redis = await startThrowawayRedis();
    try {
      // The real entry point with its defaults, on a Redis of its own (namespace `cc`).
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', '--role', 'worker'], {
        cwd: ROOT,
        env: childEnv(redis.url, { LOG_LEVEL: 'info' }),
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      children.push(child);
      let out = '';
      child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      await waitFor(() => (out.includes('workers started') ? true : undefined), { timeoutMs: 20_000, what: 'the worker to start' });

      const h = await startHarness({ backend: 'redis', redisUrl: redis.url, db: t, org, api, namespace: 'cc', workers: false });
      harnesses.push(h);
      api.failNext('sendMessage', { delayMs: 1_500 });
      const [row] = await notify(h, 'officerA1', ['drain-me']);
      await api.waitForBotMessage(TG.officerA1, (m) => (m.text ?? '').includes('drain-me'), { after: 0, timeoutMs: 10_000 });
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(await statusOf(row!.id)).toBe('sent');
      expect(botTexts(api, TG.officerA1, /drain-me/)).toHaveLength(1);
      expect(out).toContain('draining');
    } finally {
      await redis.stop();
    }
  }, 45_000);
});
