/**
 * The production build (`npm run build`, what the Docker image runs): the bundle starts under Node
 * alone, finds what it locates from its own path — the migrations, the example organisation, the
 * sandbox page — serves, and drains on SIGTERM; the CLI bundle answers against a real database.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { startSandboxProcess, type SandboxProcess } from '../helpers/sandbox-process.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);
let sandbox: SandboxProcess | undefined;
let t: TestDatabase | undefined;

beforeAll(async () => {
  await run(process.execPath, ['scripts/build.mjs'], { cwd: root });
}, 120_000);
afterAll(async () => {
  if (sandbox && sandbox.child.exitCode === null) sandbox.child.kill('SIGKILL');
  if (sandbox) await rm(sandbox.dataDir, { recursive: true, force: true });
  await t?.drop();
});

describe('the production bundle', () => {
  it('runs with Node alone: sandbox page, example data, migrations, and a clean exit on SIGTERM', async () => {
    sandbox = await startSandboxProcess(['dist/bundle/main.mjs'], { cwd: root, prefix: 'bundle-start-' });
    expect(sandbox.output()).toContain('example organisation and subjects loaded');
    const page = await fetch(sandbox.url);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<main id="panes"');
    const script = await fetch(new URL('app.js', sandbox.url));
    expect(script.status).toBe(200);

    expect(await sandbox.terminate()).toBe(0);
    expect(existsSync(path.join(sandbox.dataDir, 'postgres', 'postmaster.pid'))).toBe(false);
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
