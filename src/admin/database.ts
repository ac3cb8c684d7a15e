/**
 * The database an admin command works on: DATABASE_URL when set; otherwise the embedded PostgreSQL under
 * DATA_DIR — the one the running bot already started (found through its postmaster.pid), or one started
 * for this command and stopped afterwards. Migrations are applied either way (a no-op when current).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config.js';
import { connectDatabase, migrateDatabase, type DbHandle } from '../db/client.js';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../db/embedded.js';

export interface AdminDatabase {
  handle: DbHandle;
  /** Where the data lives, for the operator: `DATABASE_URL` or the embedded directory. */
  source: string;
  close(): Promise<void>;
}

export async function openAdminDatabase(config: Pick<Config, 'databaseUrl' | 'dataDir'>): Promise<AdminDatabase> {
  if (config.databaseUrl) {
    const handle = connectDatabase(config.databaseUrl, { max: 2, applicationName: 'corrections-cli' });
    try {
      await migrateDatabase(handle);
    } catch (e) {
      await handle.close();
      throw e;
    }
    return { handle, source: 'DATABASE_URL', close: () => handle.close() };
  }
  const running = await runningEmbeddedPort(config.dataDir);
  let embedded: EmbeddedDatabase | undefined;
  const url = running ? `postgres://postgres:postgres@127.0.0.1:${running}/corrections` : (embedded = await startEmbeddedPostgres(config.dataDir)).url;
  const handle = connectDatabase(url, { max: 2, applicationName: 'corrections-cli' });
  const close = async () => {
    await handle.close();
    await embedded?.stop();
  };
  try {
    await migrateDatabase(handle);
  } catch (e) {
    await close();
    throw e;
  }
  return { handle, source: `embedded PostgreSQL in ${path.resolve(config.dataDir, 'postgres')}${running ? ' (already running)' : ''}`, close };
}

/** The port of an embedded server already running on this data directory (postmaster.pid: pid, dir, start, port…). */
async function runningEmbeddedPort(dataDir: string): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile(path.resolve(dataDir, 'postgres', 'postmaster.pid'), 'utf8');
  } catch {
    return undefined;
  }
  const [pidLine, , , portLine] = text.split('\n');
  const pid = Number(pidLine);
  const port = Number(portLine);
  if (!Number.isInteger(pid) || !Number.isInteger(port) || port <= 0) return undefined;
  try {
    process.kill(pid, 0);
    return port;
  } catch (e) {
    // EPERM: alive, but another user's process (the postgres OS user when we are not root).
    return (e as NodeJS.ErrnoException).code === 'EPERM' ? port : undefined;
  }
}
