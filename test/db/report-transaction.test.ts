/**
 * Reporting an incident is one transaction: a failure part-way (a real one, raised by PostgreSQL from a
 * temporary trigger) leaves no incident, step, timer, notice or audit row, and does not use up a number.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { verifyAuditChain } from '../../src/db/repositories/audit.repository.js';
import { DEFAULT_POLICY } from '../../src/domain/index.js';
import { reportIncident, type IncidentReport } from '../../src/services/incident.service.js';
import type { ServiceDeps } from '../../src/services/ports.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { ManualClock, seedOrg, type SeededOrg } from '../helpers/fixtures.js';

let t: TestDatabase;
let org: SeededOrg;
let deps: ServiceDeps;
const afterCommit = vi.fn(async () => {});
const clock = new ManualClock(new Date('2026-11-29T02:00:00Z'));

beforeAll(async () => {
  t = await createTestDatabase();
  org = await seedOrg(t.db);
  deps = { db: t.db, clock, timeZone: 'Asia/Shanghai', piiMode: 'masked', cipher: org.cipher, policy: async () => DEFAULT_POLICY, dispatcher: { afterCommit } };
});
afterAll(async () => t?.drop());

const report = (): IncidentReport => ({
  type: 'violent_crime',
  subjectId: org.subjects.a1,
  officeUnitId: org.units.officeA,
  discoveredAt: clock.now(),
  injured: 1,
  dead: 0,
  description: '对象在社区持刀威胁他人',
});

const TABLES = ['incidents', 'incident_steps', 'timers', 'outbox', 'audit_log', 'incident_counters'] as const;
async function counts(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const table of TABLES) out[table] = (await t.sql.unsafe(`select count(*)::int as n from ${table}`))[0]!.n as number;
  return out;
}

function messages(e: unknown): string {
  const out: string[] = [];
  for (let x = e; x instanceof Error; x = x.cause) out.push(x.message);
  return out.join(' | ');
}

/** Makes every insert into a table fail inside PostgreSQL until removed. */
async function breakInserts(table: string): Promise<() => Promise<void>> {
  await t.sql.unsafe(`
    create or replace function test_refuse_insert() returns trigger language plpgsql as $$
    begin raise exception 'injected failure on %', TG_TABLE_NAME; end $$;
    create trigger test_refuse_insert before insert on ${table} for each row execute function test_refuse_insert();`);
  return async () => {
    await t.sql.unsafe(`drop trigger test_refuse_insert on ${table}`);
  };
}

// Failed reports first, then the first number of the year: the steps keep their order.
describe('the report transaction', { shuffle: false }, () => {
  // Steps come early, timers in the middle, notices late, the audit entry last.
  it.each(['incident_steps', 'timers', 'outbox', 'audit_log'])('leaves nothing behind when the insert into %s fails', async (table) => {
    const before = await counts();
    const repair = await breakInserts(table);
    try {
      const failure = await reportIncident(deps, org.actor('officerA1'), report()).then(
        () => undefined,
        (e: unknown) => e,
      );
      // drizzle wraps the database error; PostgreSQL's own message is in the cause.
      expect(messages(failure)).toContain(`injected failure on ${table}`);
    } finally {
      await repair();
    }
    expect(await counts()).toEqual(before);
    expect(afterCommit).not.toHaveBeenCalled();
  });

  it('then a report succeeds with the first number of the year, and everything is there', async () => {
    const r = await reportIncident(deps, org.actor('officerA1'), report());
    expect(r.incident.number).toBe('2026-0001');
    const [c] = await t.sql`select last from incident_counters where year = 2026`;
    expect(c!.last).toBe(1);
    const n = await counts();
    expect(n.incidents).toBe(1);
    expect(n.incident_steps).toBe(r.steps.length);
    expect(n.timers).toBe(r.change.timersCreated.length);
    expect(n.outbox).toBe(r.change.outboxCreated.length);
    expect(n.timers).toBeGreaterThan(0);
    expect(n.outbox).toBeGreaterThan(0);
    const audit = await t.sql`select action, incident_id from audit_log`;
    expect(audit.map((a) => [a.action, a.incident_id])).toEqual([['incident.reported', r.incident.id]]);
    expect(afterCommit).toHaveBeenCalledTimes(1);
    expect(await verifyAuditChain(t.db)).toEqual({ ok: true, rows: 1 });
  });

  it('a form submitted twice under one key reports once; the second answer is the first incident', async () => {
    const key = '6f1c2a6e-3d0b-4c36-9b1e-5a1f0d2e7c11';
    const first = await reportIncident(deps, org.actor('officerA1'), { ...report(), submissionKey: key });
    const before = await counts();
    afterCommit.mockClear();
    const again = await reportIncident(deps, org.actor('officerA1'), { ...report(), submissionKey: key });
    expect(again.alreadyReported).toBe(true);
    expect(again.incident.id).toBe(first.incident.id);
    expect(again.change.timersCreated).toEqual([]);
    expect(again.change.outboxCreated).toEqual([]);
    expect(await counts()).toEqual(before);
    // Someone else cannot claim another's form key.
    const other = await reportIncident(deps, org.actor('officerA2'), { ...report(), submissionKey: key }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((other as { code?: string } | undefined)?.code).toBe('not_permitted');
    expect(await counts()).toEqual(before);
  });
});
