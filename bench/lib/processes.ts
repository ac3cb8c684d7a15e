/**
 * Child processes for the harness: the system under test (`node --import tsx src/main.ts`, exactly as
 * the image runs it), the baselines and the load generator. Each child has its own event loop and
 * heap, so the generator never steals the measured process's time, and RSS is the child's own.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface ChildOptions {
  /** Extra environment on top of a clean copy of ours. */
  env?: Record<string, string | undefined>;
  /** Open an IPC channel (process.send in the child). */
  ipc?: boolean;
  /** Keep every line the child writes to stdout/stderr (logs to scan afterwards). */
  captureOutput?: boolean;
  /** Print the child's output with this prefix (debugging). */
  echo?: string;
  /** Extra node flags, e.g. --max-old-space-size. */
  nodeArgs?: string[];
  /** Run a plain JavaScript file with Node alone (no tsx loader), imported from -e. */
  plainNode?: boolean;
  /** Run a plain JavaScript file with Node alone as the main module (`node [nodeArgs] entry args`), as the image does. */
  asMain?: boolean;
  label?: string;
}

export interface Child {
  readonly label: string;
  readonly proc: ChildProcess;
  readonly pid: number;
  /** Lines written so far (only with captureOutput). */
  readonly output: string[];
  /** Resolves with the exit code or signal. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly alive: boolean;
  /** Resident set size in bytes, from /proc (0 once gone). */
  rss(): number;
  /** Next IPC message that matches. */
  waitForMessage<T = unknown>(predicate: (m: unknown) => boolean, timeoutMs?: number): Promise<T>;
  /** Next output line that matches (needs captureOutput or echo). */
  waitForLine(re: RegExp, timeoutMs?: number): Promise<string>;
  send(message: unknown): void;
  kill(signal?: NodeJS.Signals): void;
  /** SIGTERM, then SIGKILL after graceMs. */
  stop(graceMs?: number): Promise<void>;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

export function rssOf(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Runs a TypeScript entry under tsx, the way `npm start` and the image do. */
export function spawnTs(entry: string, args: string[] = [], opts: ChildOptions = {}): Child {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('VITEST') && k !== 'NODE_OPTIONS') env[k] = v;
  for (const [k, v] of Object.entries(opts.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  // A bundle run with Node alone is imported from -e, so no module's "am I the main module" check fires.
  const launch = opts.asMain ? [entry] : opts.plainNode ? ['-e', `import(${JSON.stringify(pathToFileURL(entry).href)})`] : ['--import', 'tsx', entry];
  const proc = spawn(process.execPath, [...(opts.nodeArgs ?? []), ...launch, ...args], {
    cwd: REPO_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe', ...(opts.ipc ? (['ipc'] as const) : [])],
  });
  live.add(proc);
  const label = opts.label ?? entry;
  const output: string[] = [];
  const lineListeners = new Set<(line: string) => void>();
  const onChunk = (stream: 'out' | 'err') => {
    let rest = '';
    return (chunk: Buffer) => {
      rest += chunk.toString('utf8');
      const lines = rest.split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) {
        if (opts.captureOutput) output.push(line);
        if (opts.echo) process.stderr.write(`${opts.echo}${stream === 'err' ? '!' : ''} ${line}\n`);
        for (const l of lineListeners) l(line);
      }
    };
  };
  proc.stdout?.on('data', onChunk('out'));
  proc.stderr?.on('data', onChunk('err'));
  let alive = true;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.once('exit', (code, signal) => {
      alive = false;
      live.delete(proc);
      resolve({ code, signal });
    });
  });

  const child: Child = {
    label,
    proc,
    pid: proc.pid ?? 0,
    output,
    exited,
    get alive() {
      return alive;
    },
    rss: () => (alive ? rssOf(proc.pid ?? 0) : 0),
    waitForMessage<T>(predicate: (m: unknown) => boolean, timeoutMs = 60_000): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        const onMessage = (m: unknown) => {
          if (!predicate(m)) return;
          cleanup();
          resolve(m as T);
        };
        const onExit = () => {
          cleanup();
          reject(new Error(`${label} exited while waiting for a message${tail(output)}`));
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`${label}: no matching message within ${timeoutMs} ms${tail(output)}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          proc.off('message', onMessage);
          proc.off('exit', onExit);
        };
        proc.on('message', onMessage);
        proc.once('exit', onExit);
      });
    },
    waitForLine(re: RegExp, timeoutMs = 60_000): Promise<string> {
      const hit = output.find((l) => re.test(l));
      if (hit) return Promise.resolve(hit);
      return new Promise<string>((resolve, reject) => {
        const listener = (line: string) => {
          if (!re.test(line)) return;
          cleanup();
          resolve(line);
        };
        const onExit = () => {
          cleanup();
          reject(new Error(`${label} exited while waiting for ${re}${tail(output)}`));
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`${label}: no line matching ${re} within ${timeoutMs} ms${tail(output)}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          lineListeners.delete(listener);
          proc.off('exit', onExit);
        };
        lineListeners.add(listener);
        proc.once('exit', onExit);
      });
    },
    send(message: unknown) {
      if (alive && proc.connected) proc.send(message as object);
    },
    kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (alive) proc.kill(signal);
    },
    async stop(graceMs = 5000) {
      if (!alive) return;
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(t);
    },
  };
  return child;
}

function tail(lines: string[]): string {
  return lines.length ? `\n--- last output ---\n${lines.slice(-30).join('\n')}` : '';
}

/** Polls until fn() is truthy; returns its value. */
export async function waitUntil<T>(fn: () => T | Promise<T>, opts: { timeoutMs?: number; intervalMs?: number; what?: string } = {}): Promise<NonNullable<T>> {
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${opts.what ?? 'a condition'}`);
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 50));
  }
}

/** Waits until an HTTP GET answers 200. */
export async function waitForHttp(url: string, timeoutMs = 60_000): Promise<void> {
  await waitUntil(
    async () => {
      try {
        const r = await fetch(url, { signal: AbortSignal.timeout(1000) });
        return r.ok;
      } catch {
        return false;
      }
    },
    { timeoutMs, intervalMs: 100, what: `${url} to answer 200` },
  );
}
