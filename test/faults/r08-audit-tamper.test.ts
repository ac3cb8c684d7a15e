/**
 * R8: one audit row is changed behind the application's back (a superuser with triggers disabled, as an
 * intruder with database access would). Must hold: `audit verify` names the row.
 */
import { fileURLToPath } from 'node:url';
import { asc } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog } from '../../src/db/schema.js';
import { templateIncident } from '../../bench/lib/incidents.js';
import { spawnTs } from '../../bench/lib/processes.js';
import { recordFigure } from './helpers/figures.js';
import { createWorld, type World } from './helpers/world.js';

const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));

let world: World;
beforeAll(async () => {
  world = await createWorld({ offices: 1, officersPerOffice: 3 });
});
afterAll(async () => world?.close());

async function auditVerify(databaseUrl: string): Promise<{ code: number | null; output: string }> {
  const child = spawnTs(CLI, ['audit', 'verify'], { captureOutput: true, env: { DATABASE_URL: databaseUrl, LOG_LEVEL: 'silent' }, label: 'cli audit verify' });
  const { code } = await child.exited;
  return { code, output: child.output.join('\n') };
}

describe('R8 audit row changed behind the application', () => {
  it('audit verify names the changed row', async () => {
    const { db, org } = world;
    for (let i = 0; i < 3; i++) await templateIncident(db, org);
    const rows = await db.db.select({ id: auditLog.id }).from(auditLog).orderBy(asc(auditLog.id));
    expect(rows.length).toBeGreaterThan(4);
    const clean = await auditVerify(db.url);

    // The application itself cannot change a row: the trigger refuses.
    const victim = rows[Math.floor(rows.length / 2)]!.id;
    const refused = await db.sql`update audit_log set data = data where id = ${victim}`.then(
      () => false,
      () => true,
    );
    // Behind its back: triggers off for this session, one field of one row changed.
    await db.sql.begin(async (tx) => {
      await tx`set local session_replication_role = replica`;
      await tx`update audit_log set data = jsonb_set(data, '{tampered}', 'true'::jsonb) where id = ${victim}`;
    });
    const tampered = await auditVerify(db.url);
    const named = tampered.code === 1 && new RegExp(`audit row id ${victim}\\b`).test(tampered.output);
    recordFigure({
      id: 'R8',
      what: `one of ${rows.length} audit rows changed with triggers disabled`,
      figure: `before: exit ${clean.code} (${clean.output.trim().split('\n').pop()}); after: exit ${tampered.code}, "${tampered.output.trim().split('\n').pop()}"; a plain UPDATE by the app: ${refused ? 'refused' : 'ALLOWED'}`,
      target: '`audit verify` names the row',
      verdict: clean.code === 0 && named && refused ? 'held' : 'broken',
      data: { victim, clean, tampered },
    });
    expect(clean.code).toBe(0);
    expect(refused).toBe(true);
    expect(named).toBe(true);
  });
});
