/**
 * The zero-setup database: a real PostgreSQL from npm under DATA_DIR on a free port, migrated, holding an
 * incident across a restart, stopped cleanly (port released, postmaster.pid gone). The admin CLI uses it
 * when DATABASE_URL is unset: it starts its own server, or joins the one already running.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli.js';
import { connectDatabase, migrateDatabase } from '../src/db/client.js';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../src/db/embedded.js';
import { findIncident } from '../src/db/repositories/incident.repository.js';
import { DEFAULT_POLICY } from '../src/domain/index.js';
import { reportIncident } from '../src/services/incident.service.js';
import { noopDispatcher } from '../src/services/ports.js';
import { ManualClock, seedOrg } from './helpers/fixtures.js';

let dataDir: string;
let running: EmbeddedDatabase | undefined;
let incidentId: string;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'embedded-pg-'));
});
afterAll(async () => {
  await running?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

const pidFile = () => path.join(dataDir, 'postgres', 'postmaster.pid');

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

async function cli(args: string[]) {
  const lines: string[] = [];
  const code = await runCli(args, { DATA_DIR: dataDir }, { out: (l) => lines.push(l), err: (l) => lines.push(l) });
  return { code, output: lines.join('\n') };
}

// One data folder's life: created, used by the CLI, restarted. The steps keep their order.
describe('embedded PostgreSQL', { shuffle: false }, () => {
  it('starts under DATA_DIR on a free port, migrates, stores an incident, and stops cleanly', { timeout: 120_000 }, async () => {
    running = await startEmbeddedPostgres(dataDir);
    const port = running.port;
    expect(port).not.toBe(5432);
    expect(existsSync(pidFile())).toBe(true);

    const handle = connectDatabase(running.url, { max: 2 });
    try {
      await migrateDatabase(handle);
      const org = await seedOrg(handle.db);
      const clock = new ManualClock();
      const deps = { db: handle.db, clock, timeZone: 'Asia/Shanghai', piiMode: 'masked' as const, cipher: org.cipher, policy: async () => DEFAULT_POLICY, dispatcher: noopDispatcher };
      const r = await reportIncident(deps, org.actor('officerA1'), {
        type: 'absconding',
        subjectId: org.subjects.a1,
        officeUnitId: org.units.officeA,
        discoveredAt: clock.now(),
        injured: 0,
        dead: 0,
        description: '对象连续两日联系不上',
      });
      incidentId = r.incident.id;
      const read = await findIncident(handle.db, incidentId);
      expect(read).toMatchObject({ number: '2026-0001', type: 'absconding', status: 'reported', criticality: 'critical' });
      expect(read!.policy).toEqual(DEFAULT_POLICY);
    } finally {
      await handle.close();
    }

    await running.stop();
    running = undefined;
    expect(existsSync(pidFile())).toBe(false);
    expect(await portIsFree(port)).toBe(true);
  });

  it('the CLI without DATABASE_URL starts the embedded server itself, works, and stops it', { timeout: 120_000 }, async () => {
    const r = await cli(['org', 'import', 'examples/org.yaml']);
    expect(r).toMatchObject({ code: 0 });
    // seedOrg used the codes `bureau` and `section` too: those two are updated, the other five created.
    expect(r.output).toContain('units 5 new, 2 changed, 0 unchanged');
    expect(existsSync(pidFile())).toBe(false);
  });

  it('keeps the data across a restart, and the CLI joins a server that is already running', { timeout: 120_000 }, async () => {
    running = await startEmbeddedPostgres(dataDir);
    const handle = connectDatabase(running.url, { max: 1 });
    try {
      await migrateDatabase(handle);
      expect((await findIncident(handle.db, incidentId))?.number).toBe('2026-0001');
      const offices = await handle.sql`select code from units where code in ('office-mishixiang', 'office-hushu', 'office-xiaohe')`;
      expect(offices).toHaveLength(3);
    } finally {
      await handle.close();
    }
    const r = await cli(['audit', 'verify']);
    expect(r).toMatchObject({ code: 0 });
    // The report, the subject marked 脱管 by it, and the org import.
    expect(r.output).toMatch(/^OK: audit chain intact, 3 rows$/);
    // Joining did not stop the server it found.
    expect(existsSync(pidFile())).toBe(true);
    await running.stop();
    running = undefined;
  });
});
