/**
 * A throwaway redis-server on a free port, for anything that wipes Redis (never the shared one on
 * 6379): no persistence, stopped afterwards. `flushAll()` is the fault the suites inject.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { freePort } from '../../src/db/embedded.js';

export interface ThrowawayRedis {
  url: string;
  port: number;
  pid: number;
  /** FLUSHALL on this server only. */
  flushAll(): Promise<void>;
  /** Sends one command (RESP) and returns the raw reply text. */
  command(...args: string[]): Promise<string>;
  stop(): Promise<void>;
}

function encode(args: string[]): string {
  return `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
}

/** One command on a fresh connection; enough for PING, FLUSHALL and INFO in a harness. */
export function redisCommand(port: number, args: string[], timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let buf = '';
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`redis ${args[0]} on ${port}: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    s.setEncoding('utf8');
    s.on('connect', () => s.write(encode(args)));
    s.on('data', (d: string) => {
      buf += d;
      if (complete(buf)) {
        clearTimeout(timer);
        s.end();
        resolve(buf);
      }
    });
    s.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

// Simple replies (+OK, -ERR, :1) end at the first CRLF; bulk replies after their announced length.
function complete(buf: string): boolean {
  if (!buf.includes('\r\n')) return false;
  if (buf[0] !== '$') return true;
  const header = buf.slice(1, buf.indexOf('\r\n'));
  const len = Number(header);
  if (len < 0) return true;
  return Buffer.byteLength(buf) >= header.length + 3 + len + 2;
}

export async function startThrowawayRedis(opts: { maxmemoryPolicy?: string } = {}): Promise<ThrowawayRedis> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--maxmemory-policy', opts.maxmemoryPolicy ?? 'noeviction', '--loglevel', 'warning'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let exited = false;
  child.once('exit', () => (exited = true));
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (exited) throw new Error(`redis-server on port ${port} exited during start`);
    try {
      if ((await redisCommand(port, ['PING'], 500)).startsWith('+PONG')) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`redis-server on port ${port} did not answer within 10 s`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    pid: child.pid ?? 0,
    async flushAll() {
      const r = await redisCommand(port, ['FLUSHALL']);
      if (!r.startsWith('+OK')) throw new Error(`FLUSHALL on ${port}: ${r.trim()}`);
    },
    command: (...args: string[]) => redisCommand(port, args),
    async stop() {
      if (exited) return;
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 3000);
      await gone;
      clearTimeout(t);
    },
  };
}
