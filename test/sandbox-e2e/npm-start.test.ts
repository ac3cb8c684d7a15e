/**
 * `npm start` with no token, as a process: it becomes the sandbox, serves the page, logs structured JSON
 * without subjects' names, ID numbers or the token, and on SIGTERM drains and exits 0, leaving no
 * PostgreSQL behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parseSubjectsCsv } from '../../src/admin/subjects-import.js';
import { SANDBOX_BOT } from '../../src/sandbox/run-sandbox.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
let child: ChildProcess | undefined;
let dataDir: string | undefined;

afterAll(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('npm start without BOT_TOKEN', () => {
  it('runs the sandbox, and drains and exits 0 on SIGTERM', async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'npm-start-'));
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'info' };
    child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.stderr!.on('data', (c: Buffer) => (out += c.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));

    const started = Date.now();
    while (!/sandbox ready/.test(out)) {
      if (child.exitCode !== null || Date.now() - started > 60_000) throw new Error(`the sandbox did not start:\n${out}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const ready = out.split('\n').map((l) => (l.trim() ? (JSON.parse(l) as Record<string, unknown>) : undefined)).find((l) => l?.msg && String(l.msg).startsWith('sandbox ready'))!;
    const page = await fetch(String(ready.url));
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<main id="panes"');

    child.kill('SIGTERM');
    const code = await Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 30_000))]);
    expect(code).toBe(0);
    expect(out).toMatch(/"msg":"stopped"/);
    // The embedded server was stopped by the drain, not left running.
    expect(existsSync(path.join(dataDir, 'postgres', 'postmaster.pid'))).toBe(false);

    // Structured JSON, one object per line; no subject's name or ID number, no token.
    const lines = out.split('\n').filter((l) => l.trim() !== '');
    for (const l of lines) expect(() => JSON.parse(l), l).not.toThrow();
    const subjects = parseSubjectsCsv(readFileSync(path.join(root, 'examples/subjects.csv'), 'utf8'));
    for (const s of subjects) {
      expect(out).not.toContain(s.name);
      expect(out).not.toContain(s.id_number);
    }
    expect(out).not.toContain(SANDBOX_BOT.token);
  }, 90_000);
});
