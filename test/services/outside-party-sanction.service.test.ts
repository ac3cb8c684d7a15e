/**
 * Receipts from outside parties and sanctions, on the real database: a receipt is recorded for a step
 * that calls the party, once per form, with the contact the directory offered; the .docx lists it; a
 * sanction is recorded, decided and counted by month; 脱管's thresholds are timers from the discovered-at,
 * cancelled when the subject is found.
 */
import { randomUUID } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, outsideContacts, timers } from '../../src/db/schema.js';
import { DAY, DEFAULT_POLICY, HOUR, MINUTE } from '../../src/domain/index.js';
import { ServiceRefusal } from '../../src/services/errors.js';
import { acknowledgeIncident, closeIncident, recordAbscondingOutcome, reportIncident } from '../../src/services/incident.service.js';
import { contactsOfStep, recordReceipt, receiptsOf } from '../../src/services/outside-party.service.js';
import { decideSanction, monthlySanctionCounts, recordSanction } from '../../src/services/sanction.service.js';
import { fireTimer } from '../../src/services/timer.service.js';
import type { ServiceDeps } from '../../src/services/ports.js';
import { makeDeps } from '../after-incident/helpers.js';
import { renderIncidentCard } from '../../src/channels/telegram/views/incident-card.js';
import { renderWecomIncidentCard } from '../../src/channels/wecom/incident-card.js';
import { loadIncidentCardView } from '../../src/views/incident-card-view.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { ManualClock, seedOrg, type SeededOrg } from '../helpers/fixtures.js';

let t: TestDatabase;
let org: SeededOrg;
let deps: ServiceDeps;
const clock = new ManualClock(new Date('2026-11-29T02:00:00Z'));

beforeAll(async () => {
  t = await createTestDatabase();
  org = await seedOrg(t.db);
  deps = makeDeps(t, org, clock);
  await t.db.insert(outsideContacts).values([
    { code: 'pcs-a', party: 'police_station', name: '拱宸桥派出所', phone: '0571-88000001', officeUnitId: org.units.officeA },
    { code: 'proc', party: 'procuratorate', name: '拱墅区人民检察院', phone: '0571-88000009', officeUnitId: null },
  ]);
});
afterAll(async () => t?.drop());

async function report(type: 'violent_crime' | 'absconding', discoveredAt = clock.now()) {
  return reportIncident(deps, org.actor('officerA1'), { type, subjectId: org.subjects.a1, officeUnitId: org.units.officeA, discoveredAt, injured: 0, dead: 0, description: '现场情况' });
}

describe('receipts', () => {
  it('records a 110 call with who answered and the reference; the same form twice records once', async () => {
    const { incident, steps } = await report('violent_crime');
    const call = steps.find((s) => s.key === 'call_110')!;
    const offered = await contactsOfStep(deps, org.units.officeA, call.key);
    expect(offered.map((c) => [c.party, c.phone])).toEqual([
      ['police_110', '110'],
      ['police_station', '0571-88000001'],
    ]);
    const key = randomUUID();
    const input = { ordinal: call.ordinal, party: 'police_110' as const, method: 'phone' as const, at: new Date(clock.now().getTime() - 5 * MINUTE), answeredBy: '接警员王某', reference: ' JJ-20261129-007 ', submissionKey: key };
    const first = await recordReceipt(deps, org.actor('officerA1'), incident.id, input);
    expect(first.created).toBe(true);
    expect(first.receipt).toMatchObject({ stepKey: 'call_110', party: 'police_110', reference: 'JJ-20261129-007', contactPhone: '110', answeredBy: '接警员王某' });
    expect(first.incident.version).toBe(incident.version + 1);
    const again = await recordReceipt(deps, org.actor('officerA1'), incident.id, input);
    expect(again).toMatchObject({ created: false, receipt: { id: first.receipt.id } });
    expect(await receiptsOf(deps, org.actor('section'), incident)).toHaveLength(1);
    const audit = await t.db.select().from(auditLog).where(and(eq(auditLog.incidentId, incident.id), eq(auditLog.action, 'receipt.recorded')));
    expect(audit).toHaveLength(1);
    expect(JSON.stringify(audit[0]!.data)).not.toContain('王某');
  });

  it('refuses a party the step does not call, a step that calls nobody, another office, and a time ahead', async () => {
    const { incident, steps } = await report('violent_crime');
    const call = steps.find((s) => s.key === 'call_110')!;
    const scene = steps.find((s) => s.key === 'go_to_scene')!;
    const base = { ordinal: call.ordinal, party: 'police_110' as const, method: 'phone' as const, at: clock.now(), answeredBy: '值班员' };
    const refusal = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => (e instanceof ServiceRefusal ? `${e.code}:${e.detail ?? ''}` : String(e)));
    expect(await refusal(recordReceipt(deps, org.actor('officerA1'), incident.id, { ...base, party: 'procuratorate' }))).toBe('invalid_input:party');
    expect(await refusal(recordReceipt(deps, org.actor('officerA1'), incident.id, { ...base, ordinal: scene.ordinal }))).toBe('invalid_input:party');
    expect(await refusal(recordReceipt(deps, org.actor('officerB1'), incident.id, base))).toBe('not_permitted:');
    expect(await refusal(recordReceipt(deps, org.actor('officerA1'), incident.id, { ...base, at: new Date(clock.now().getTime() + HOUR) }))).toBe('invalid_input:at');
  });
});

describe('sanctions', () => {
  it('the office proposes, the section decides; counted in the month by kind and decision', async () => {
    const { incident } = await report('violent_crime');
    const proposed = await recordSanction(deps, org.actor('headA'), incident.id, { kind: 'warning', grounds: '持刀威胁他人', decision: 'proposed', decidedAt: clock.now() });
    expect(proposed.sanction).toMatchObject({ kind: 'warning', decision: 'proposed', proposedByStaffId: org.staff.headA, subjectId: org.subjects.a1 });
    await expect(recordSanction(deps, org.actor('headA'), incident.id, { kind: 'warning', grounds: 'x', decision: 'executed', decidedAt: clock.now() })).rejects.toMatchObject({ code: 'not_permitted' });
    await expect(recordSanction(deps, org.actor('section'), incident.id, { kind: 'fine', grounds: 'x', decision: 'proposed', decidedAt: clock.now() })).rejects.toMatchObject({ code: 'invalid_input', detail: 'kind' });
    await expect(decideSanction(deps, org.actor('headA'), proposed.sanction.id, { decision: 'approved', decidedAt: clock.now() })).rejects.toMatchObject({ code: 'not_permitted' });
    const approved = await decideSanction(deps, org.actor('section'), proposed.sanction.id, { decision: 'approved', decidedAt: clock.now() });
    expect(approved).toMatchObject({ decision: 'approved', decidedByStaffId: org.staff.section });
    await decideSanction(deps, org.actor('section'), proposed.sanction.id, { decision: 'executed', decidedAt: clock.now() });
    await expect(decideSanction(deps, org.actor('section'), proposed.sanction.id, { decision: 'approved', decidedAt: clock.now() })).rejects.toMatchObject({ code: 'already_done' });
    await recordSanction(deps, org.actor('section'), incident.id, { kind: 'admonition', grounds: '当场训诫', decision: 'executed', decidedAt: clock.now() });

    const counts = await monthlySanctionCounts(deps, org.actor('section'), { month: '2026-11', timeZone: 'Asia/Shanghai' });
    expect(counts.total).toBeGreaterThanOrEqual(2);
    expect(counts.byKind.find((k) => k.kind === 'warning')!.count).toBeGreaterThanOrEqual(1);
    expect(counts.byDecision.executed).toBeGreaterThanOrEqual(2);
    // Another office sees none of office A's; December has none.
    expect((await monthlySanctionCounts(deps, org.actor('headB'), { month: '2026-11', timeZone: 'Asia/Shanghai' })).total).toBe(0);
    expect((await monthlySanctionCounts(deps, org.actor('section'), { month: '2026-12', timeZone: 'Asia/Shanghai' })).total).toBe(0);
  });
});

describe('脱管 thresholds', () => {
  it('are timers from the discovered-at; the first tells the section, and finding the subject cancels the rest', async () => {
    const discovered = new Date(clock.now().getTime() - 2 * HOUR);
    const { incident } = await report('absconding', discovered);
    const rows = await t.db.select().from(timers).where(and(eq(timers.incidentId, incident.id), eq(timers.kind, 'absconding_threshold')));
    expect(rows.map((r) => [r.level, r.dueAt.getTime() - discovered.getTime()]).sort()).toEqual([
      [0, DAY],
      [1, 3 * DAY],
    ]);
    const first = rows.find((r) => r.level === 0)!;
    clock.set(first.dueAt);
    expect(await fireTimer(deps, first.id)).toMatchObject({ status: 'sent' });
    const [notice] = await t.sql`select recipient_staff_id, params from outbox where kind = 'absconding_threshold' and incident_id = ${incident.id}`;
    expect(notice!.params).toMatchObject({ thresholdSeconds: DEFAULT_POLICY.absconding.thresholdsSeconds[0] });

    await recordAbscondingOutcome(deps, org.actor('officerA1'), incident.id, 'found_ordered');
    const second = (await t.db.select().from(timers).where(eq(timers.id, rows.find((r) => r.level === 1)!.id)))[0]!;
    expect(second.state).toBe('cancelled');
  });

  it('the card says how long the subject has been out of supervision, on Telegram and on WeCom', async () => {
    const discovered = new Date(clock.now().getTime() - (26 * HOUR + 15 * MINUTE));
    const { incident } = await report('absconding', discovered);
    const view = (await loadIncidentCardView(t.db, incident.id, org.cipher))!;
    const telegram = renderIncidentCard(view, { actor: org.actor('section') }, 'zh', clock.now(), 'Asia/Shanghai', 'masked');
    expect(telegram.text).toContain('⏱ 脱管已 1天2小时（自 ');
    const wecom = renderWecomIncidentCard(view, { actor: org.actor('section'), lang: 'zh', now: clock.now(), timeZone: 'Asia/Shanghai', piiMode: 'masked' });
    expect((wecom.subtitle ?? '').split('\n')[0]).toMatch(/^⏱ 脱管已 1天2小时/);
    // Another type has no such line.
    const other = (await loadIncidentCardView(t.db, (await report('violent_crime')).incident.id, org.cipher))!;
    expect(renderIncidentCard(other, { actor: org.actor('section') }, 'zh', clock.now(), 'Asia/Shanghai', 'masked').text).not.toContain('脱管已');
  });

  it('closing the incident cancels them', async () => {
    const { incident } = await report('absconding');
    await acknowledgeIncident(deps, org.actor('section'), incident.id);
    await closeIncident(deps, org.actor('section'), incident.id, { cause: '对象外出务工', lessons: '加强联系', measures: '每日报到', openDutiesReason: '演示' });
    const rows = await t.db.select().from(timers).where(and(eq(timers.incidentId, incident.id), eq(timers.kind, 'absconding_threshold')));
    expect(rows.map((r) => r.state)).toEqual(['cancelled', 'cancelled']);
  });
});
