/**
 * The program started as a process with no BOT_TOKEN (so it becomes the sandbox), as a newcomer or the
 * image starts it: its output collected, its "sandbox ready" line awaited, and signals with the exit code.
 *
 * By default it is `node <args>` with LOG_FORMAT=json, so that a test can read the log as data; the
 * signal test starts `npm start` itself, in a process group of its own, with the console a person sees.
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
  /** Resolves with the exit code (null when a signal ended it) once the top process has exited. */
  exited: Promise<number | null>;
  /** SIGTERM, then the exit code (or 'timeout' after 30 s). */
  terminate(): Promise<number | null | 'timeout'>;
}

export interface StartSandboxProcessOptions {
  cwd: string;
  /** Prefix of the fresh temporary DATA_DIR. */
  prefix: string;
  /** The program to run; default this Node. */
  command?: string;
  /** Added to (or, when undefined, removed from) the environment the helper builds. */
  env?: Record<string, string | undefined>;
  /** Its own process group (`process.kill(-pid, …)` then reaches all of it), as a terminal starts a job. */
  detached?: boolean;
  /** Milliseconds to wait for "sandbox ready"; default 60 s. */
  readyTimeoutMs?: number;
}

export async function startSandboxProcess(args: readonly string[], opts: StartSandboxProcessOptions): Promise<SandboxProcess> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), opts.prefix));
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'info', LOG_FORMAT: 'json', ...opts.env };
  const child = spawn(opts.command ?? process.execPath, [...args], { cwd: opts.cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: opts.detached ?? false });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString('utf8')));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  // The same words in JSON (`"msg":"sandbox ready: open http://…"`) and in readable lines.
  const readyLine = /sandbox ready: open (http:\/\/[^\s"]+)/;
  const started = Date.now();
  let ready: RegExpMatchArray | null;
  while (!(ready = readyLine.exec(out))) {
    if (child.exitCode !== null || child.signalCode !== null || Date.now() - started > (opts.readyTimeoutMs ?? 60_000)) {
      throw new Error(`the sandbox did not start:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    child,
    dataDir,
    output: () => out,
    url: ready[1]!,
    exited,
    terminate: () => {
      child.kill('SIGTERM');
      return Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 30_000))]);
    },
  };
}
