/** Starts the load generator process and runs one load against the stand-in through it. */
import { fileURLToPath } from 'node:url';
import type { RunCommand, RunResult } from '../loadgen.js';
import { spawnTs, type Child } from './processes.js';
import type { UpdateTracker } from './telegram-side.js';

const ENTRY = fileURLToPath(new URL('../loadgen.ts', import.meta.url));

export async function startLoadGenerator(): Promise<Child> {
  const child = spawnTs(ENTRY, [], { ipc: true, captureOutput: true, label: 'load generator' });
  await child.waitForMessage((m) => (m as { t?: string }).t === 'ready', 30_000);
  return child;
}

/** Runs a load and resolves with the generator's own account of it. */
export async function runLoad(gen: Child, tracker: UpdateTracker, cmd: Omit<RunCommand, 't'>, timeoutMs = 600_000): Promise<RunResult> {
  tracker.relayTo(gen, cmd.users.map((u) => u.chatId));
  const done = gen.waitForMessage<RunResult>((m) => (m as { t?: string }).t === 'done', timeoutMs);
  gen.send({ t: 'run', ...cmd } satisfies RunCommand);
  return done;
}
