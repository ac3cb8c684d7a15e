/**
 * The incident use cases with the most rules — reporting, acknowledging, closing — on in-memory
 * repositories: what each writes, to whom it tells what, what it refuses, and that a refusal writes
 * nothing. The same use cases run end to end on PostgreSQL in test/jobs, test/db and test/integration.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY, MINUTE, timersOnReport, writtenReportTimers } from '../../src/domain/index.js';
import { ServiceRefusal } from '../../src/services/errors.js';
import { acknowledgeIncident, closeFalseAlarm, closeIncident, reportIncident, type IncidentReport } from '../../src/services/incident.service.js';
import { actor, InMemoryIncidents, makeOrg, makeSubject, TestClock, UNITS, type Person } from './in-memory-incidents.js';

/** 10:00 in Shanghai. */
const T0 = new Date('2026-11-29T02:00:00Z');

function setup(opts: { unavailable?: Person[] } = {}) {
  const clock = new TestClock(T0);
  const store = new InMemoryIncidents(makeOrg(opts), clock);
  return { clock, store, deps: store.deps() };
}

const report = (overrides: Partial<IncidentReport> = {}): IncidentReport => ({
  type: 'violent_crime',
  officeUnitId: UNITS.officeA,
  subjectNote: '身份不明',
  discoveredAt: new Date(T0.getTime() - 5 * MINUTE),
  injured: 0,
  dead: 0,
  description: '辖区内发生斗殴',
  ...overrides,
});

const recipients = (rows: ReadonlyArray<{ recipientStaffId: string }>) => rows.map((r) => r.recipientStaffId).sort();

async function refusal(p: Promise<unknown>): Promise<ServiceRefusal> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(ServiceRefusal);
  return e as ServiceRefusal;
}

describe('reporting (上报)', () => {
  it('writes the incident, its checklist, its deadlines, its notices and its trail entry, and tells the dispatcher after commit', async () => {
    const { store, deps } = setup();
    const { incident, steps, change } = await reportIncident(deps, actor('officerA1'), report());

    expect(incident).toMatchObject({ number: '2026-0001', status: 'reported', criticality: 'critical', reporterStaffId: 'officerA1', lateReport: false, version: 1 });
    expect(incident.policy).toEqual(DEFAULT_POLICY);
    // Reporting through the bot is the report to the section.
    expect(steps.find((s) => s.key === 'report_section')).toMatchObject({ state: 'done', doneByStaffId: 'officerA1', how: 'bot' });
    expect(steps.filter((s) => s.key !== 'report_section').every((s) => s.state !== 'done')).toBe(true);

    const expected = timersOnReport({ id: incident.id, criticality: 'critical', reportedAt: T0 }, DEFAULT_POLICY);
    expect(store.state.timers.map((t) => t.dedupeKey).sort()).toEqual(expected.map((t) => t.dedupeKey).sort());
    // The section (both holders) and the office head hear of it; the reporter does not.
    expect(recipients(store.state.outbox)).toEqual(['headA', 'section', 'section2']);
    expect(store.state.outbox.every((o) => o.kind === 'incident_reported' && o.incidentId === incident.id)).toBe(true);
    expect(store.state.audit).toEqual([expect.objectContaining({ action: 'incident.reported', incidentId: incident.id, actorStaffId: 'officerA1' })]);

    expect(store.committed).toEqual([change]);
    expect(change.timersCreated).toHaveLength(expected.length);
    expect(change.outboxCreated).toHaveLength(3);
  });

  it('numbers the incidents of a year in order', async () => {
    const { deps } = setup();
    const first = await reportIncident(deps, actor('officerA1'), report());
    const second = await reportIncident(deps, actor('headB'), report({ officeUnitId: UNITS.officeB }));
    expect([first.incident.number, second.incident.number]).toEqual(['2026-0001', '2026-0002']);
  });

  it('marks a report made long after the discovery as late', async () => {
    const { deps } = setup();
    const late = await reportIncident(deps, actor('officerA1'), report({ discoveredAt: new Date(T0.getTime() - DEFAULT_POLICY.lateReportSeconds * 1000 - 1) }));
    expect(late.incident.lateReport).toBe(true);
  });

  it('is reported once when the same form is submitted again, and only its reporter gets it back', async () => {
    const { store, deps } = setup();
    const key = '6f1c1f5e-8d3a-4c56-9d7e-1a2b3c4d5e6f';
    const first = await reportIncident(deps, actor('officerA1'), report({ submissionKey: key }));
    const again = await reportIncident(deps, actor('officerA1'), report({ submissionKey: key }));
    expect(again).toMatchObject({ alreadyReported: true, incident: { id: first.incident.id }, steps: [] });
    expect(again.change).toEqual({ timersCreated: [], timersCancelled: [], outboxCreated: [] });
    expect(store.state.incidents).toHaveLength(1);
    expect((await refusal(reportIncident(deps, actor('headA'), report({ submissionKey: key })))).code).toBe('not_permitted');
  });

  it('records the other counties named in the report', async () => {
    const { store, deps } = setup();
    const { incident } = await reportIncident(deps, actor('officerA1'), report({ otherCounties: ['余杭区'] }));
    expect(store.state.counties).toEqual([expect.objectContaining({ incidentId: incident.id, county: '余杭区' })]);
  });

  it('refuses whoever may not report, another office, a subject of another office and an empty description, writing nothing', async () => {
    const { store, deps } = setup();
    const other = makeSubject({ officeUnitId: UNITS.officeB });
    store.subjects.set(other.id, other);
    expect((await refusal(reportIncident(deps, actor('director'), report()))).code).toBe('not_permitted');
    expect(await refusal(reportIncident(deps, actor('officerB1'), report()))).toMatchObject({ code: 'not_permitted', detail: 'office' });
    expect(await refusal(reportIncident(deps, actor('officerA1'), report({ subjectId: other.id })))).toMatchObject({ code: 'not_permitted', detail: 'subject' });
    expect(await refusal(reportIncident(deps, actor('officerA1'), report({ description: '  ' })))).toMatchObject({ code: 'invalid_input', detail: 'description' });
    expect(store.state).toMatchObject({ incidents: [], timers: [], outbox: [], audit: [], counters: {} });
    expect(store.committed).toEqual([]);
  });

  it('sends to the next in line when the office head cannot be reached', async () => {
    const { store, deps } = setup({ unavailable: ['headA'] });
    await reportIncident(deps, actor('officerA1'), report());
    // The office head's messages fall back to the section, already told.
    expect(recipients(store.state.outbox)).toEqual(['section', 'section2']);
  });
});

describe('acknowledging (签收)', () => {
  async function reported(opts: { unavailable?: Person[] } = {}) {
    const s = setup(opts);
    const { incident } = await reportIncident(s.deps, actor('officerA1'), report());
    s.store.committed.length = 0;
    return { ...s, incident };
  }

  it('closes the acknowledgement ladder only, tells the reporter and the office head, and redraws every other card', async () => {
    const { store, deps, clock, incident } = await reported();
    store.state.cards[incident.id] = ['section', 'section2', 'deputy', 'officerA1'];
    clock.advance(7 * MINUTE);
    const outboxBefore = store.state.outbox.length;

    const acknowledged = await acknowledgeIncident(deps, actor('section'), incident.id, incident.version);

    expect(acknowledged).toMatchObject({ status: 'acknowledged', acknowledgedByStaffId: 'section', version: incident.version + 1 });
    expect(acknowledged.acknowledgedAt).toEqual(clock.now());
    expect(store.locked).toEqual([incident.id]);
    const cancelled = store.state.timers.filter((t) => t.state === 'cancelled');
    expect(cancelled.map((t) => t.kind)).toEqual(['ack', 'ack']);
    // The duty to inform the leaders stands.
    expect(store.state.timers.filter((t) => t.kind === 'inform').every((t) => t.state === 'pending')).toBe(true);

    const written = store.state.outbox.slice(outboxBefore);
    expect(written.filter((o) => !(o.params as { cardOnly?: boolean }).cardOnly).map((o) => o.recipientStaffId).sort()).toEqual(['headA', 'officerA1']);
    // Card holders not told already have their card redrawn in place — the one who acknowledged too, whose
    // card may be another message than the one pressed (the sender skips a card already current).
    expect(written.filter((o) => (o.params as { cardOnly?: boolean }).cardOnly).map((o) => o.recipientStaffId).sort()).toEqual(['deputy', 'section', 'section2']);
    expect(written.every((o) => o.kind === 'incident_acknowledged')).toBe(true);

    // Critical: 5 minutes to acknowledge, acknowledged after 7.
    expect(store.state.audit.at(-1)).toMatchObject({ action: 'incident.acknowledged', actorStaffId: 'section', data: { lateBySeconds: 120 } });
    expect(store.committed).toEqual([{ timersCreated: [], timersCancelled: cancelled, outboxCreated: written }]);
  });

  it('may be done by a leader reached by escalation, never by the office', async () => {
    const { store, deps, incident } = await reported();
    expect((await refusal(acknowledgeIncident(deps, actor('headA'), incident.id))).code).toBe('not_permitted');
    expect(store.locked).toEqual([]);
    expect(await acknowledgeIncident(deps, actor('deputy'), incident.id)).toMatchObject({ status: 'acknowledged', acknowledgedByStaffId: 'deputy' });
  });

  it('is refused from a stale card and a second time, changing nothing', async () => {
    const { store, deps, incident } = await reported();
    const before = structuredClone(store.state);
    expect((await refusal(acknowledgeIncident(deps, actor('section'), incident.id, incident.version + 5))).code).toBe('stale');
    expect(store.state).toEqual(before);

    await acknowledgeIncident(deps, actor('section'), incident.id, incident.version);
    const after = structuredClone(store.state);
    expect((await refusal(acknowledgeIncident(deps, actor('section2'), incident.id))).code).toBe('already_done');
    expect(store.state).toEqual(after);
    expect(store.committed).toHaveLength(1);
  });

  it('is refused for an incident that does not exist', async () => {
    const { deps } = setup();
    expect((await refusal(acknowledgeIncident(deps, actor('section'), 'no-such-incident'))).code).toBe('not_found');
  });
});

describe('closing (结案)', () => {
  async function acknowledged() {
    const s = setup();
    const { incident } = await reportIncident(s.deps, actor('officerA1'), report());
    await acknowledgeIncident(s.deps, actor('section'), incident.id);
    s.store.committed.length = 0;
    s.clock.advance(60 * MINUTE);
    return { ...s, incident: s.store.incident(incident.id) };
  }

  const texts = { cause: '矛盾纠纷激化', lessons: '排查不够及时', measures: '加强走访' };

  it('records cause, lessons and measures, closes the running deadlines, opens the written report with its deadlines, and tells the chain', async () => {
    const { store, deps, clock, incident } = await acknowledged();
    const before = store.state.outbox.length;

    const closed = await closeIncident(deps, actor('headA'), incident.id, { cause: ` ${texts.cause} `, lessons: texts.lessons, measures: texts.measures }, incident.version);

    expect(closed).toMatchObject({ status: 'closed', closure: 'resolved', closedByStaffId: 'headA', closeCause: texts.cause, closeLessons: texts.lessons, closeMeasures: texts.measures });
    expect(closed.closedAt).toEqual(clock.now());
    const pending = store.state.timers.filter((t) => t.state === 'pending');
    // Only informing the leaders and the written report's deadlines are left.
    expect([...new Set(pending.map((t) => t.kind))].sort()).toEqual(['inform', 'written_report']);
    expect(pending.filter((t) => t.kind === 'written_report').map((t) => t.dedupeKey)).toEqual(writtenReportTimers(incident.id, clock.now(), DEFAULT_POLICY).map((t) => t.dedupeKey));
    expect(store.state.drafts).toEqual([incident.id]);

    const written = store.state.outbox.slice(before);
    expect(recipients(written)).toEqual(['deputy', 'officerA1', 'section', 'section2']);
    expect(written.every((o) => o.kind === 'incident_closed' && (o.params as { closure: string }).closure === 'resolved')).toBe(true);
    expect(store.state.audit.at(-1)).toMatchObject({ action: 'incident.closed', actorStaffId: 'headA', data: { closure: 'resolved' } });
    expect(store.committed).toHaveLength(1);
    expect(store.committed[0]!.timersCreated.length).toBeGreaterThan(0);
  });

  it('needs cause, lessons and measures, an acknowledged incident and someone who may close it, and refuses writing nothing', async () => {
    const { store, deps, incident } = await acknowledged();
    const before = structuredClone(store.state);
    expect(await refusal(closeIncident(deps, actor('headA'), incident.id, { ...texts, lessons: ' ' }))).toMatchObject({ code: 'invalid_input', detail: 'lessons' });
    expect((await refusal(closeIncident(deps, actor('officerA1'), incident.id, texts))).code).toBe('not_permitted');
    expect((await refusal(closeIncident(deps, actor('headB'), incident.id, texts))).code).toBe('not_permitted');
    expect((await refusal(closeIncident(deps, actor('headA'), incident.id, { ...texts, cause: 'x'.repeat(4001) }))).code).toBe('invalid_input');
    expect(store.state).toEqual(before);

    const fresh = await reportIncident(deps, actor('officerA1'), report());
    expect((await refusal(closeIncident(deps, actor('section'), fresh.incident.id, texts))).code).toBe('wrong_status');

    await closeIncident(deps, actor('headA'), incident.id, texts);
    expect((await refusal(closeIncident(deps, actor('section'), incident.id, texts))).code).toBe('wrong_status');
  });

  it('closes a false alarm for the section alone, with a reason, and opens no written report', async () => {
    const { store, deps } = setup();
    const { incident } = await reportIncident(deps, actor('officerA1'), report());
    expect((await refusal(closeFalseAlarm(deps, actor('headA'), incident.id, '误报'))).code).toBe('not_permitted');
    expect((await refusal(closeFalseAlarm(deps, actor('section'), incident.id, ' '))).code).toBe('invalid_input');

    const closed = await closeFalseAlarm(deps, actor('section'), incident.id, '系误报');
    expect(closed).toMatchObject({ status: 'closed', closure: 'false_alarm', falseAlarmReason: '系误报', closedByStaffId: 'section' });
    expect(store.state.drafts).toEqual([]);
    expect(store.state.timers.filter((t) => t.state === 'pending').map((t) => t.kind)).toEqual(['inform', 'inform']);
    expect(store.state.audit.at(-1)).toMatchObject({ action: 'incident.false_alarm' });
  });
});
