/**
 * The incident timeline read model on the real database: an absconding incident handled through the use
 * cases (acknowledged, a commander named, two 续报, a search, 上报上一级, another county notified) reads
 * back as one plain timeline that the card, the prefill and the findings all take.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadIncidentTimeline, timelinesOf } from '../../src/db/read-models/incident-timeline.js';
import { findIncident } from '../../src/db/repositories/incident.repository.js';
import { incidentFindings } from '../../src/domain/accountability.js';
import { DEFAULT_POLICY, MINUTE } from '../../src/domain/index.js';
import { recordCountyNotified } from '../../src/services/county.service.js';
import {
  acknowledgeIncident,
  markUpperReported,
  recordSearchAttempt,
  reportIncident,
  reportProgress,
  setRole,
} from '../../src/services/incident.service.js';
import type { ServiceDeps } from '../../src/services/ports.js';
import { makeDeps } from '../after-incident/helpers.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { ManualClock, seedOrg, type SeededOrg } from '../helpers/fixtures.js';

let t: TestDatabase;
let org: SeededOrg;
let deps: ServiceDeps;
const clock = new ManualClock(new Date('2026-11-29T02:00:00Z'));
let incidentId: string;
let otherId: string;

beforeAll(async () => {
  t = await createTestDatabase();
  org = await seedOrg(t.db);
  deps = makeDeps(t, org, clock);
  const report = (office: 'officeA' | 'officeB', reporter: 'officerA1' | 'officerB1', subject: 'a1' | 'b1', otherCounties: string[] = []) =>
    reportIncident(deps, org.actor(reporter), {
      type: 'absconding',
      subjectId: org.subjects[subject],
      officeUnitId: org.units[office],
      discoveredAt: clock.now(),
      injured: 0,
      dead: 0,
      description: '对象手机关机，居住地无人',
      place: '甲街道和睦新村',
      otherCounties,
    });
  const r = await report('officeA', 'officerA1', 'a1', ['西湖区']);
  incidentId = r.incident.id;
  clock.advance(2 * MINUTE);
  await acknowledgeIncident(deps, org.actor('section'), incidentId);
  clock.advance(MINUTE);
  await setRole(deps, org.actor('section'), incidentId, 'commander', org.staff.director, true);
  clock.advance(5 * MINUTE);
  await reportProgress(deps, org.actor('officerA1'), incidentId, { text: '已电话联系家属，未见本人' });
  clock.advance(MINUTE);
  await recordSearchAttempt(deps, org.actor('officerA2'), incidentId, { method: 'phone', result: '家属称昨晚离家', found: false, at: clock.now() });
  clock.advance(MINUTE);
  await markUpperReported(deps, org.actor('section'), incidentId, 'phone');
  const [county] = (await timelinesOf(t.db, [(await findIncident(t.db, incidentId))!]))[0]!.countyNotifications;
  await recordCountyNotified(deps, org.actor('section'), county!.id, { how: '电话', receipt: '西湖区司法局值班室王某' });
  clock.advance(30 * MINUTE);
  await reportProgress(deps, org.actor('officerA1'), incidentId, { text: '已在车站找到本人' });
  otherId = (await report('officeB', 'officerB1', 'b1')).incident.id;
});
afterAll(async () => t?.drop());

describe('the incident timeline read model', () => {
  it('reads the incident, its steps with who, when and how, and everything else in time order', async () => {
    const tl = (await loadIncidentTimeline(t.db, incidentId))!;
    expect(tl.incident).toMatchObject({ id: incidentId, type: 'absconding', acknowledgedByStaffId: org.staff.section });
    expect(tl.policy).toEqual(DEFAULT_POLICY);

    expect(tl.steps.map((s) => s.ordinal)).toEqual([...tl.steps.map((s) => s.ordinal)].sort((a, b) => a - b));
    expect(tl.steps.find((s) => s.key === 'report_upward')).toMatchObject({ state: 'done', how: 'phone', doneByStaffId: org.staff.section });

    expect(tl.updates.filter((u) => u.kind === 'progress').map((u) => u.text)).toEqual(['已电话联系家属，未见本人', '已在车站找到本人']);
    expect(tl.roles).toEqual([expect.objectContaining({ role: 'commander', staffId: org.staff.director, assignedByStaffId: org.staff.section })]);
    expect(tl.searchAttempts).toEqual([expect.objectContaining({ method: 'phone', result: '家属称昨晚离家', found: false, staffId: org.staff.officerA2 })]);
    expect(tl.countyNotifications).toEqual([expect.objectContaining({ county: '西湖区', how: '电话', notifiedByStaffId: org.staff.section })]);

    const actions = tl.audit.map((a) => a.action);
    expect(actions).toEqual(expect.arrayContaining(['incident.reported', 'incident.acknowledged', 'county.named']));
    expect(actions.indexOf('incident.reported')).toBeLessThan(actions.indexOf('incident.acknowledged'));
    expect(tl.audit.map((a) => a.id)).toEqual([...tl.audit.map((a) => a.id)].sort((a, b) => a - b));
    expect(tl.audit.every((a) => typeof a.id === 'number' && typeof a.data === 'object')).toBe(true);

    expect(tl.office).toEqual({ name: '甲街道司法所', nameEn: 'Office A' });
    expect(tl.subject?.code).toBe('SQ-A-001');
    expect(org.cipher.decrypt(tl.subject!.nameEnc)).toBe('张三');
    // Everyone it mentions: reporter, acknowledger, commander, searcher, upper reporter, county notifier.
    for (const key of ['officerA1', 'section', 'director', 'officerA2'] as const) expect(tl.staffNames[org.staff[key]]).toBeTruthy();
  });

  it('leaves the audit trail out when asked, and reads nothing for an unknown incident', async () => {
    const tl = (await loadIncidentTimeline(t.db, incidentId, { audit: false }))!;
    expect(tl.audit).toEqual([]);
    expect(tl.steps.length).toBeGreaterThan(0);
    expect(await loadIncidentTimeline(t.db, '00000000-0000-4000-8000-000000000000')).toBeUndefined();
  });

  it('loads several incidents together, each with only its own rows, in the order given', async () => {
    const rows = [(await findIncident(t.db, otherId))!, (await findIncident(t.db, incidentId))!];
    const [other, first] = await timelinesOf(t.db, rows);
    expect(other!.incident.id).toBe(otherId);
    expect(first!.incident.id).toBe(incidentId);
    expect(other!.steps.every((s) => s.incidentId === otherId)).toBe(true);
    expect(other!.updates).toEqual([]);
    expect(other!.roles).toEqual([]);
    expect(other!.countyNotifications).toEqual([]);
    expect(other!.audit.every((a) => a.action !== 'incident.acknowledged')).toBe(true);
    expect(other!.office?.name).toBe('乙街道司法所');
    expect(other!.subject?.code).toBe('SQ-B-001');
    // The names are shared by the incidents loaded together; the rest is what one load reads.
    const alone = (await loadIncidentTimeline(t.db, incidentId))!;
    expect({ ...first!, staffNames: {} }).toEqual({ ...alone, staffNames: {} });
    expect(first!.staffNames).toMatchObject(alone.staffNames);
    expect(first!.staffNames[org.staff.officerB1]).toBe('矫正官乙一');
  });

  it('is the timeline the accountability findings take, as it is', async () => {
    const tl = (await loadIncidentTimeline(t.db, incidentId))!;
    const findings = incidentFindings(tl, { sectionUnitId: org.units.section, now: clock.now() });
    // Reported at once and acknowledged in 2 minutes: neither is late.
    expect(findings.map((f) => f.rule)).not.toContain('late_report');
    expect(findings.map((f) => f.rule)).not.toContain('late_ack');
  });
});
