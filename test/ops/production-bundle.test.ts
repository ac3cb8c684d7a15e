/**
 * The production build (`npm run build`, what the Docker image runs): the bundle starts under Node
 * alone, finds what it locates from its own path — the migrations, the example organisation, the
 * sandbox page — serves, and drains on SIGTERM; the CLI bundle answers against a real database.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);
let child: ChildProcess | undefined;
let dataDir: string | undefined;
let t: TestDatabase | undefined;

beforeAll(async () => {
  await run(process.execPath, ['scripts/build.mjs'], { cwd: root });
}, 120_000);
afterAll(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
  await t?.drop();
});

describe('the production bundle', () => {
  it('runs with Node alone: sandbox page, example data, migrations, and a clean exit on SIGTERM', async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'bundle-start-'));
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'info' };
    child = spawn(process.execPath, ['dist/bundle/main.mjs'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.stderr!.on('data', (c: Buffer) => (out += c.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));

    const started = Date.now();
    while (!/sandbox ready/.test(out)) {
      if (child.exitCode !== null || Date.now() - started > 60_000) throw new Error(`the bundle did not start:\n${out}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(out).toContain('example organisation and subjects loaded');
    const ready = out.split('\n').map((l) => (l.trim() ? (JSON.parse(l) as Record<string, unknown>) : undefined)).find((l) => l?.msg && String(l.msg).startsWith('sandbox ready'))!;
    const page = await fetch(String(ready.url));
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<main id="panes"');
    const script = await fetch(new URL('app.js', String(ready.url)));
    expect(script.status).toBe(200);

    child.kill('SIGTERM');
    const code = await Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 30_000))]);
    expect(code).toBe(0);
    expect(existsSync(path.join(dataDir, 'postgres', 'postmaster.pid'))).toBe(false);
  }, 90_000);

  it('the CLI bundle migrates and reads a real database', async () => {
    t = await createTestDatabase({ migrate: false });
    const env = { PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_URL: t.url, LOG_LEVEL: 'warn' };
    const { stdout } = await run(process.execPath, ['dist/bundle/cli.mjs', 'policy', 'show'], { cwd: root, env });
    expect(stdout).toMatch(/ack|acknowledge|签收/i);
    const [row] = await t.sql`select count(*)::int as n from incidents`;
    expect(row!.n).toBe(0);
  }, 60_000);
});
