/**
 * Stopping cleanly (issue 10, item 4). SIGINT or SIGTERM sent to the top process only, as `kill <pid>`
 * sends it — `npm start`, `npm run start:prod`, or the bundle as the image's ENTRYPOINT runs it — with a
 * drill's messages still in hand: the process tree drains and exits 0 within SHUTDOWN_DEADLINE_MS; no
 * process of its group is left, nor the embedded PostgreSQL (which runs in a group of its own); the
 * page's port is free; the log ends with one info line per component, the embedded database last, and
 * holds no stack trace; and the drill's notices and timers are all still in PostgreSQL, sent or pending.
 *
 * The production cases build into a private copy of the project's layout (package.json and the build
 * script copied, the sources, migrations, examples and node_modules linked), so that rebuilding never
 * pulls dist/bundle from under another test file running it.
 */
import { execFile, execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, symlinkSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startEmbeddedPostgres } from '../../src/db/embedded.js';
import { startSandboxProcess, type SandboxProcess } from '../helpers/sandbox-process.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** SHUTDOWN_DEADLINE_MS for these runs, and what the process tree may take beyond it to be gone. */
const DEADLINE_MS = 8_000;
const SLACK_MS = 3_000;

/** Where the production cases run: the project's layout, with a bundle of its own. */
let prodRoot: string | undefined;
const started: SandboxProcess[] = [];

beforeAll(async () => {
  prodRoot = mkdtempSync(path.join(os.tmpdir(), 'signals-app-'));
  copyFileSync(path.join(root, 'package.json'), path.join(prodRoot, 'package.json'));
  mkdirSync(path.join(prodRoot, 'scripts'));
  copyFileSync(path.join(root, 'scripts/build.mjs'), path.join(prodRoot, 'scripts/build.mjs'));
  for (const dir of ['src', 'drizzle', 'examples', 'node_modules']) symlinkSync(path.join(root, dir), path.join(prodRoot, dir), 'dir');
  await run('npm', ['run', 'build'], { cwd: prodRoot });
  expect(existsSync(path.join(prodRoot, 'dist/bundle/main.mjs'))).toBe(true);
}, 180_000);

afterAll(async () => {
  for (const p of started) {
    // Whatever a failed case left: its process group, then its PostgreSQL (a group of its own).
    try {
      process.kill(-p.child.pid!, 'SIGKILL');
    } catch {
      // gone already
    }
    for (const pid of await postgresServing(p.dataDir)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
    await rm(p.dataDir, { recursive: true, force: true });
  }
  if (prodRoot) await rm(prodRoot, { recursive: true, force: true });
});

interface Entry {
  name: string;
  command: string;
  args: string[];
  cwd: () => string;
}

const ENTRIES: Entry[] = [
  { name: 'npm start', command: 'npm', args: ['start'], cwd: () => root },
  { name: 'npm run start:prod', command: 'npm', args: ['run', 'start:prod'], cwd: () => prodRoot! },
  // The image's ENTRYPOINT (Dockerfile), which the container's stop signal reaches.
  { name: 'the bundle under node', command: process.execPath, args: ['--enable-source-maps', 'dist/bundle/main.mjs'], cwd: () => prodRoot! },
];
const SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/** The shutdown lines, in order: one per component, the embedded database last. */
const SHUTDOWN_LINES = [
  'stopping',
  'draining',
  'bot stopped',
  'workers stopped',
  'http server closed',
  'database connections closed',
  'embedded PostgreSQL stopped',
  'stopped',
];

describe.each(ENTRIES)('$name', (entry) => {
  it.each(SIGNALS)('%s to the top process drains and stops everything, the database last, losing nothing', async (signal) => {
    const port = await freePort();
    const sandbox = await startSandboxProcess(entry.args, {
      cwd: entry.cwd(),
      prefix: 'signals-',
      command: entry.command,
      detached: true,
      // The console a person gets (LOG_FORMAT unset: readable lines in the sandbox).
      env: { PORT: String(port), SHUTDOWN_DEADLINE_MS: String(DEADLINE_MS), LOG_FORMAT: undefined },
      readyTimeoutMs: 90_000,
    });
    started.push(sandbox);
    const pgid = sandbox.child.pid!;
    expect(await postgresServing(sandbox.dataDir)).toHaveLength(1);

    // Work in hand: a drill, whose notices go out one a second per chat and whose timers are pending.
    const page = (await (await fetch(new URL('/sandbox-page/config.json', sandbox.url))).json()) as { drill: { url: string } };
    const drill = await fetch(page.drill.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(drill.status).toBe(200);
    const { incident } = (await drill.json()) as { incident: string };

    const sent = Date.now();
    process.kill(pgid, signal);
    const code = await Promise.race([sandbox.exited, sleep(DEADLINE_MS + SLACK_MS).then(() => 'timeout' as const)]);
    const took = Date.now() - sent;
    const out = sandbox.output();
    expect(code, out).toBe(0);
    expect(took).toBeLessThan(DEADLINE_MS + SLACK_MS);

    // Nothing left: not the group (npm, node, esbuild's service), not PostgreSQL, not the port.
    expect(await eventually(() => groupGone(pgid)), `left in the group:\n${psGroup(pgid)}`).toBe(true);
    expect(await eventually(async () => (await postgresServing(sandbox.dataDir)).length === 0), 'PostgreSQL still running').toBe(true);
    expect(existsSync(path.join(sandbox.dataDir, 'postgres', 'postmaster.pid'))).toBe(false);
    expect(await portIsFree(port)).toBe(true);

    // The console a newcomer reads (item 5): readable lines that say the database is the embedded one and
    // the time scale as 1/60, then the banner with the address and how to stop.
    expect(out).toMatch(/^\[\d\d:\d\d:\d\d\] INFO: starting .*"database":"embedded".*"policyTimeScale":"1\/60"/m);
    expect(out).not.toContain('0.01666');
    const banner = out.slice(out.indexOf('沙盒已就绪'));
    expect(banner).toContain(sandbox.url);
    expect(banner).toContain('/report');
    expect(banner).toContain('Ctrl+C');

    // The log: no stack trace anywhere; the shutdown in order, one info line per component, within the deadline.
    expect(out).not.toMatch(/^\s+at /m);
    expect(out).not.toContain('"stack"');
    expect(out).not.toContain('shutdown deadline reached');
    const tail = out.slice(out.lastIndexOf('\n', out.search(/INFO: stopping /)) + 1);
    const lines = tail.split('\n').filter((l) => /^\[\d\d:\d\d:\d\d\] [A-Z]+:/.test(l));
    expect(lines.filter((l) => !l.includes(' INFO: ')), tail).toEqual([]);
    const positions = SHUTDOWN_LINES.map((msg) => lines.findIndex((l) => says(l, msg)));
    expect(positions.every((p) => p >= 0), tail).toBe(true);
    expect([...positions].sort((a, b) => a - b), tail).toEqual(positions);
    for (const msg of SHUTDOWN_LINES) expect(lines.filter((l) => says(l, msg)).length, `${msg}:\n${tail}`).toBe(1);

    // Nothing lost: the drill's notices are sent or still pending (the relay sends them on the next
    // start), none cut off half-sent or failed; its timers are all in PostgreSQL.
    const db = await startEmbeddedPostgres(sandbox.dataDir);
    const sql = postgres(db.url, { max: 1, onnotice: () => {} });
    try {
      const [row] = await sql<{ id: string }[]>`select id from incidents where number = ${incident}`;
      expect(row, `incident ${incident}`).toBeDefined();
      const notices = await sql<{ status: string; n: number }[]>`select status, count(*)::int as n from outbox where incident_id = ${row!.id} group by status`;
      expect(notices.reduce((s, r) => s + r.n, 0)).toBeGreaterThan(0);
      expect(
        notices.filter((r) => r.status !== 'sent' && r.status !== 'pending'),
        JSON.stringify(notices),
      ).toEqual([]);
      const timers = await sql<{ state: string; n: number }[]>`select state, count(*)::int as n from timers where incident_id = ${row!.id} group by state`;
      expect(timers.find((r) => r.state === 'pending')?.n ?? 0, JSON.stringify(timers)).toBeGreaterThan(0);
    } finally {
      await sql.end();
      await db.stop();
    }
  }, 150_000);
});

function groupGone(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** Whether a readable log line's message (after its `[component]`, if any) begins with `msg`. */
function says(line: string, msg: string): boolean {
  const at = line.indexOf(' INFO: ');
  if (at < 0) return false;
  const text = line.slice(at + ' INFO: '.length).replace(/^\[[a-z-]+\] /, '');
  return text === msg || text.startsWith(`${msg} `) || text.startsWith(`${msg}:`);
}

function psGroup(pgid: number): string {
  try {
    return execFileSync('ps', ['-o', 'pid,stat,args', '-g', String(pgid)], { encoding: 'utf8' });
  } catch {
    return '(nothing)';
  }
}

/** Pids of a PostgreSQL server whose data directory is under `dataDir` (`postgres -D <dataDir>/postgres`). */
async function postgresServing(dataDir: string): Promise<number[]> {
  const { stdout } = await run('ps', ['-eo', 'pid=,args=']);
  const needle = `-D ${path.join(dataDir, 'postgres')}`;
  return stdout
    .split('\n')
    .filter((l) => l.includes('postgres') && l.includes(needle))
    .map((l) => Number.parseInt(l.trim(), 10));
}

async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > until) return false;
    await sleep(100);
  }
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}
