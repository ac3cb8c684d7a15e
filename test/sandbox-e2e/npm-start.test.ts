/**
 * `npm start` with no token, as a process: it becomes the sandbox, serves the page, logs structured JSON
 * without subjects' names, ID numbers or the token, and on SIGTERM drains and exits 0, leaving no
 * PostgreSQL behind.
 */
import { existsSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parseSubjectsCsv } from '../../src/admin/subjects-import.js';
import { SANDBOX_BOT } from '../../src/sandbox/run-sandbox.js';
import { startSandboxProcess, type SandboxProcess } from '../helpers/sandbox-process.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
let sandbox: SandboxProcess | undefined;

afterAll(async () => {
  if (sandbox && sandbox.child.exitCode === null) sandbox.child.kill('SIGKILL');
  if (sandbox) await rm(sandbox.dataDir, { recursive: true, force: true });
});

describe('npm start without BOT_TOKEN', () => {
  it('runs the sandbox, and drains and exits 0 on SIGTERM', async () => {
    sandbox = await startSandboxProcess(['--import', 'tsx', 'src/main.ts'], { cwd: root, prefix: 'npm-start-' });
    const { dataDir } = sandbox;
    const page = await fetch(sandbox.url);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<main id="panes"');

    expect(await sandbox.terminate()).toBe(0);
    const out = sandbox.output();
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
