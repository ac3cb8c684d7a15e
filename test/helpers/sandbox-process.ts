/**
 * The program started as a process with no BOT_TOKEN (so it becomes the sandbox), as a newcomer or the
 * image starts it: its output collected, its "sandbox ready" line awaited, and SIGTERM with the exit code.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export interface SandboxProcess {
  child: ChildProcess;
  dataDir: string;
  /** Everything it wrote to stdout and stderr so far. */
  output(): string;
  /** The page's address, from the "sandbox ready" log line. */
  url: string;
  /** SIGTERM, then the exit code (or 'timeout' after 30 s). */
  terminate(): Promise<number | null | 'timeout'>;
}

export async function startSandboxProcess(args: readonly string[], opts: { cwd: string; prefix: string }): Promise<SandboxProcess> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), opts.prefix));
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'info' };
  const child = spawn(process.execPath, [...args], { cwd: opts.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString('utf8')));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const started = Date.now();
  while (!/sandbox ready/.test(out)) {
    if (child.exitCode !== null || Date.now() - started > 60_000) throw new Error(`the sandbox did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const ready = out
    .split('\n')
    .map((l) => (l.trim() ? (JSON.parse(l) as Record<string, unknown>) : undefined))
    .find((l) => l?.msg && String(l.msg).startsWith('sandbox ready'))!;
  return {
    child,
    dataDir,
    output: () => out,
    url: String(ready.url),
    terminate: () => {
      child.kill('SIGTERM');
      return Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 30_000))]);
    },
  };
}
