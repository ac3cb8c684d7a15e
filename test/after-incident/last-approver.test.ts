/**
 * The written report's last approver is the bureau's setting (`writtenReport.lastApprover`, the director
 * by default), snapshotted with the incident: with the deputy director last, the deputy's approval
 * approves the report, and an incident reported before the setting changed keeps the chain it had. No
 * one outside the bureau signs at any level. On PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_POLICY, resolvePolicy, type EscalationPolicy } from '../../src/domain/index.js';
import type { ServiceDeps } from '../../src/services/ports.js';
import { approveWrittenReport, loadWrittenReport, returnWrittenReport, submitWrittenReport } from '../../src/services/written-report.service.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { ManualClock, seedOrg, type SeededOrg } from '../helpers/fixtures.js';
import { closedIncident } from './helpers.js';

let t: TestDatabase;
let org: SeededOrg;
let deps: ServiceDeps;
const clock = new ManualClock(new Date('2026-11-29T02:00:00Z'));
/** What the bureau's file says now; each new incident snapshots it. */
let inForce: EscalationPolicy = DEFAULT_POLICY;

beforeAll(async () => {
  t = await createTestDatabase();
  org = await seedOrg(t.db);
  deps = { db: t.db, clock, timeZone: 'Asia/Shanghai', piiMode: 'masked', cipher: org.cipher, policy: async () => inForce, dispatcher: { afterCommit: async () => {} } };
});
afterAll(async () => t?.drop());

async function submitted() {
  const { report } = await closedIncident(deps, org, clock);
  clock.advance(60_000);
  await submitWrittenReport(deps, org.actor('headA'), report!.id);
  return report!.id;
}

describe("the written report's last approver", { shuffle: false }, () => {
  it("is a setting: with the deputy director last, the deputy's approval approves the report", async () => {
    inForce = resolvePolicy({ writtenReport: { lastApprover: 'deputy_director' } });
    const id = await submitted();
    await approveWrittenReport(deps, org.actor('section'), id);
    await expect(approveWrittenReport(deps, org.actor('upper'), id)).rejects.toMatchObject({ name: 'WrittenReportError', reason: 'not_permitted' });
    const done = await approveWrittenReport(deps, org.actor('deputy'), id);
    expect(done.view.stage).toBe('approved');
    expect(done.view.lastApprover).toBe('deputy_director');
    expect(done.outcome.incidentEvent).toEqual({ kind: 'approve_report' });
  });

  it('is taken from the incident’s snapshot: a later change of the setting does not move a report under way', async () => {
    inForce = DEFAULT_POLICY;
    const underDirector = await submitted();
    inForce = resolvePolicy({ writtenReport: { lastApprover: 'section' } });
    const underSection = await submitted();
    await approveWrittenReport(deps, org.actor('section'), underDirector);
    expect((await loadWrittenReport(t.db, underDirector))!.stage).toBe('deputy_director');
    const bySection = await approveWrittenReport(deps, org.actor('section'), underSection);
    expect(bySection.view.stage).toBe('approved');
  });

  it('by default is the director, and the upper level can neither approve nor return at any level of the bureau', async () => {
    inForce = DEFAULT_POLICY;
    const id = await submitted();
    for (const [signer, stage] of [
      ['section', 'section'],
      ['deputy', 'deputy_director'],
      ['director', 'director'],
    ] as const) {
      expect((await loadWrittenReport(t.db, id))!.stage).toBe(stage);
      await expect(approveWrittenReport(deps, org.actor('upper'), id)).rejects.toMatchObject({ reason: 'not_permitted' });
      await expect(returnWrittenReport(deps, org.actor('upper'), id, '退回')).rejects.toMatchObject({ reason: 'not_permitted' });
      clock.advance(60_000);
      await approveWrittenReport(deps, org.actor(signer), id);
    }
    expect((await loadWrittenReport(t.db, id))!.stage).toBe('approved');
  });
});
