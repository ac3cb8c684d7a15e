/**
 * Each test file gets its own fresh database on the real PostgreSQL (127.0.0.1:5432), migrated,
 * and dropped afterwards.
 */
import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { connectDatabase, migrateDatabase, type DbHandle } from '../../src/db/client.js';

export const ADMIN_URL = process.env.TEST_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface TestDatabase extends DbHandle {
  name: string;
  drop(): Promise<void>;
}

export async function createTestDatabase(opts: { migrate?: boolean } = {}): Promise<TestDatabase> {
  const name = `t_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = ADMIN_URL.replace(/\/[^/]*$/, `/${name}`);
  const handle = connectDatabase(url, { max: 5, applicationName: `test-${name}` });
  if (opts.migrate !== false) await migrateDatabase(handle);
  return {
    ...handle,
    name,
    async drop() {
      await handle.close();
      const a = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
      await a.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await a.end();
    },
  };
}
