/**
 * One deployment for a reliability case: a fresh database (on the shared PostgreSQL, or an embedded one
 * of the case's own when the case restarts it), a seeded organisation, a throwaway Redis of its own, the
 * Bot API stand-in, and the product's processes — started, killed and restarted by the case — all torn
 * down in `close()`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { connectDatabase, migrateDatabase, type DbHandle } from '../../../src/db/client.js';
import { freePort, startEmbeddedPostgres, type EmbeddedDatabase } from '../../../src/db/embedded.js';
import type { BotApiServer, BotApiServerOptions } from '../../../src/sandbox/bot-api-server.js';
import { productQueues, type ProductQueues } from '../../../bench/lib/queues.js';
import { startThrowawayRedis, type ThrowawayRedis } from '../../../bench/lib/redis-server.js';
import { seedBenchOrg, type BenchOrg } from '../../../bench/lib/seed.js';
import { newWebhookSecret, startSut, type Sut, type SutOptions } from '../../../bench/lib/sut.js';
import { startTelegramSide, type UpdateTracker } from '../../../bench/lib/telegram-side.js';
import { createTestDatabase } from '../../helpers/db.js';

export interface WorldOptions {
  offices: number;
  officersPerOffice: number;
  limits?: BotApiServerOptions['limits'];
  /** Run PostgreSQL embedded, owned by this case (it may be stopped and started). */
  embeddedPostgres?: boolean;
  webhookRetry?: BotApiServerOptions['webhookRetry'];
}

/** Job timings short enough for a test: a killed worker's job is retried within seconds, not 30 s. */
export const FAST_JOBS = {
  lockDurationMs: 3_000,
  stalledIntervalMs: 1_500,
  relayEveryMs: 1_000,
  reconcileEveryMs: 2_000,
  overdueAlertAfterMs: 600_000,
  sendInFlightGuardMs: 2_000,
  shutdownDeadlineMs: 3_000,
};

export interface World {
  db: DbHandle & { name: string };
  org: BenchOrg;
  redis: ThrowawayRedis;
  server: BotApiServer;
  tracker: UpdateTracker;
  queues: ProductQueues;
  embedded?: { handle: EmbeddedDatabase; dataDir: string; port: number };
  webhookSecret: string;
  /** Stops the case's embedded PostgreSQL (fast shutdown: clients are cut), waits, and starts it again. */
  restartPostgres(downMs: number, onDown?: () => void): Promise<{ downAt: number; upAt: number }>;
  /** Starts a product process; it is stopped by close() unless stopped before. */
  start(role: SutOptions['role'], opts?: Partial<SutOptions>): Promise<Sut>;
  /**
   * Starts a process that is started again whenever it exits on its own, as compose's
   * `restart: unless-stopped` does. `restarts` counts how often that was needed.
   */
  supervise(role: SutOptions['role'], opts?: Partial<SutOptions>): Promise<{ restarts: number; exits: string[]; current(): Sut }>;
  processes: Sut[];
  close(): Promise<void>;
}

export async function createWorld(opts: WorldOptions): Promise<World> {
  const closers: Array<() => Promise<unknown>> = [];
  let db: World['db'];
  let embedded: World['embedded'];
  if (opts.embeddedPostgres) {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'faults-pg-'));
    const port = await freePort();
    const handle = await startEmbeddedPostgres(dataDir, { port });
    embedded = { handle, dataDir, port };
    const h = connectDatabase(handle.url, { max: 5, applicationName: 'faults' });
    await migrateDatabase(h);
    db = { ...h, name: 'corrections' };
    closers.push(async () => {
      await h.close().catch(() => undefined);
      await embedded!.handle.stop().catch(() => undefined);
      rmSync(dataDir, { recursive: true, force: true });
    });
  } else {
    const t = await createTestDatabase();
    db = t;
    closers.push(() => t.drop());
  }
  const org = await seedBenchOrg(db.db, { offices: opts.offices, officersPerOffice: opts.officersPerOffice });
  const redis = await startThrowawayRedis();
  closers.unshift(() => redis.stop());
  const { server, tracker } = await startTelegramSide({
    ...(opts.limits ? { limits: opts.limits } : {}),
    ...(opts.webhookRetry ? { webhookRetry: opts.webhookRetry } : {}),
  });
  closers.unshift(() => server.close());
  for (const p of org.everyone) server.addUser({ id: p.telegramId, first_name: `staff${p.telegramId}` });
  const queues = productQueues(redis.url);
  closers.unshift(() => queues.close());
  const webhookSecret = newWebhookSecret();
  const processes: Sut[] = [];
  let closing = false;
  const world: World = {
    db,
    org,
    redis,
    server,
    tracker,
    queues,
    ...(embedded ? { embedded } : {}),
    webhookSecret,
    processes,
    async restartPostgres(downMs, onDown) {
      if (!embedded) throw new Error('restartPostgres needs embeddedPostgres: true');
      await embedded.handle.stop();
      const downAt = Date.now();
      onDown?.();
      await sleep(downMs);
      embedded.handle = await startEmbeddedPostgres(embedded.dataDir, { port: embedded.port });
      return { downAt, upAt: Date.now() };
    },
    async start(role, extra = {}) {
      const sut = await startSut({
        role,
        databaseUrl: db.url,
        redisUrl: redis.url,
        server,
        piiKeyHex: org.piiKeyHex,
        webhookSecret,
        queueNamespace: 'cc',
        tuning: FAST_JOBS,
        ...(process.env.FAULTS_ECHO ? { echo: `${role}${processes.length}` } : {}),
        ...extra,
      });
      processes.push(sut);
      return sut;
    },
    async supervise(role, extra = {}) {
      const state = { restarts: 0, exits: [] as string[], sut: await world.start(role, extra), current: () => state.sut };
      const watch = (sut: Sut): void => {
        void sut.child.exited.then(async (how) => {
          if (closing || sut.stopping) return;
          state.exits.push(`${how.code ?? how.signal}: ${sut.child.output.filter((l) => /"level":(50|60)/.test(l)).slice(-1)[0]?.slice(0, 300) ?? ''}`);
          state.restarts++;
          for (;;) {
            try {
              state.sut = await world.start(role, extra);
              break;
            } catch {
              if (closing) return;
              await sleep(500);
            }
          }
          watch(state.sut);
        });
      };
      watch(state.sut);
      return state;
    },
    async close() {
      closing = true;
      for (const p of processes) await p.stop().catch(() => undefined);
      for (const c of closers) await c().catch(() => undefined);
    },
  };
  return world;
}

/** Polls until fn() holds (true), failing with `what` after timeoutMs. */
export async function eventually(fn: () => boolean | Promise<boolean>, what: string, timeoutMs = 60_000, everyMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await fn()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** An admin connection to the shared PostgreSQL (to look at pg_stat_activity or terminate backends). */
export function adminSql(url: string): postgres.Sql {
  return postgres(url, { max: 1, onnotice: () => {} });
}
