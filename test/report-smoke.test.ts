import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_POLICY } from '../src/domain/index.js';
import { noopDispatcher, type ServiceDeps } from '../src/services/ports.js';
import { acknowledgeIncident, reportIncident } from '../src/services/incident.service.js';
import { createTestDatabase, type TestDatabase } from './helpers/db.js';
import { ManualClock, seedOrg, type SeededOrg } from './helpers/fixtures.js';

let t: TestDatabase;
let org: SeededOrg;
let deps: ServiceDeps;
const clock = new ManualClock();

beforeAll(async () => {
  t = await createTestDatabase();
  org = await seedOrg(t.db);
  deps = { db: t.db, clock, timeZone: 'Asia/Shanghai', piiMode: 'masked', cipher: org.cipher, policy: async () => DEFAULT_POLICY, dispatcher: noopDispatcher };
});
afterAll(async () => t?.drop());

describe('report then acknowledge', () => {
  it('writes the incident, steps, timers and notices, and acknowledgement closes the ack ladder only', async () => {
    const r = await reportIncident(deps, org.actor('officerA1'), {
      type: 'violent_crime', subjectId: org.subjects.a1, officeUnitId: org.units.officeA,
      discoveredAt: clock.now(), injured: 1, dead: 0, description: '持刀威胁邻居',
    });
    expect(r.incident.number).toBe('2026-0001');
    expect(r.steps.find((s) => s.key === 'call_120')?.state).toBe('pending');
    expect(r.steps.find((s) => s.key === 'report_section')?.state).toBe('done');
    expect(r.change.timersCreated.map((x) => x.dedupeKey)).toContain(`ack-${r.incident.id}-1`);
    const recipients = r.change.outboxCreated.length;
    expect(recipients).toBe(3); // two section staff and the office head
    clock.advance(60_000);
    await acknowledgeIncident(deps, org.actor('section'), r.incident.id);
    const rows = await t.sql`select kind, state from timers where incident_id = ${r.incident.id} order by kind, level`;
    expect(rows.filter((x) => x.kind === 'ack').every((x) => x.state === 'cancelled')).toBe(true);
    expect(rows.filter((x) => x.kind === 'inform').every((x) => x.state === 'pending')).toBe(true);
  });
});
