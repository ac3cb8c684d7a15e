/**
 * The Telegram gateway and the send path against the Bot API stand-in: a 429 waits its retry_after and
 * delivers once; a 5xx is retried; a 403 marks the person unreachable and moves the message to their
 * acting holder; a change edits the card a person already has; a send that already happened is not
 * repeated.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueueNotices } from '../../src/db/repositories/outbox.repository.js';
import { positions, staff } from '../../src/db/schema.js';
import { acknowledgeIncident, reportIncident } from '../../src/services/incident.service.js';
import { emptyChange } from '../../src/services/ports.js';
import { TG } from '../helpers/fixtures.js';
import { botTexts, fastPolicy, startHarness, waitFor, waitForSendsSettled, type Harness } from './harness.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness({ backend: 'redis', policy: fastPolicy({ ackSeconds: { critical: 1, standard: 1 } }) });
});
afterAll(async () => h?.close());

/** Writes one plain notice for a person (missed_days shows the dates it is given: the test's marker) and hands it to the dispatcher, as a service would. */
async function notify(recipient: keyof typeof h.org.staff, text: string) {
  const rows = await enqueueNotices(h.t.db, [{ recipientStaffId: h.org.staff[recipient], kind: 'missed_days', dedupeKey: `test-${text}`, params: { what: 'digest', dates: [text] } }]);
  await h.jobs.dispatcher.afterCommit({ ...emptyChange(), outboxCreated: rows });
  return rows[0]!;
}

describe('Telegram limits and failures', () => {
  it('a 429 with retry_after: the gateway waits that long, then delivers exactly once, not counted as a failure', async () => {
    h.api.failNext('sendMessage', { status: 429, retryAfter: 2 });
    const before = h.jobs.metrics().messages['429'];
    const row = await notify('headB', 'flood-429');
    const msg = await h.api.waitForBotMessage(TG.headB, (m) => (m.text ?? '').includes('flood-429'), { after: 0, timeoutMs: 10_000 });
    const sends = () => h.api.requests.filter((r) => r.method === 'sendMessage' && Number(r.chat_id) === TG.headB);
    const accepted = await waitFor(() => sends().find((r) => r.status === 200), { what: 'the accepted request to be logged' });
    const refused = sends().find((r) => r.status === 429)!;
    expect(refused).toBeDefined();
    expect(accepted.at - refused.at).toBeGreaterThanOrEqual(2_000);
    expect(botTexts(h.api, TG.headB, /flood-429/)).toHaveLength(1);
    const [out] = await h.t.sql`select status, telegram_message_id from outbox where id = ${row.id}`;
    expect(out).toMatchObject({ status: 'sent', telegram_message_id: msg.message_id });
    expect(h.jobs.metrics().messages['429']).toBe(before + 1);
    const job = await h.jobs.queues.send.getJob(row.id);
    expect(job?.attemptsMade ?? 0).toBeLessThanOrEqual(1);
    expect(await job?.getState()).toBe('completed');
  }, 20_000);

  it('a 5xx is retried with backoff and delivered once', async () => {
    h.api.failNext('sendMessage', { status: 502 });
    const row = await notify('headB', 'gateway-502');
    await h.api.waitForBotMessage(TG.headB, (m) => (m.text ?? '').includes('gateway-502'), { after: 0, timeoutMs: 10_000 });
    await waitForSendsSettled(h);
    expect(botTexts(h.api, TG.headB, /gateway-502/)).toHaveLength(1);
    const [out] = await h.t.sql`select status, attempts from outbox where id = ${row.id}`;
    expect(out).toMatchObject({ status: 'sent', attempts: 2 });
  }, 20_000);

  it('a send that already happened is not repeated when its job comes back', async () => {
    const row = await notify('officerB1', 'once-only');
    await h.api.waitForBotMessage(TG.officerB1, (m) => (m.text ?? '').includes('once-only'), { after: 0 });
    await waitFor(async () => (await h.jobs.queues.send.getJob(row.id))?.finishedOn, { what: 'the first job to finish' });
    await h.jobs.queues.send.remove(row.id);
    const again = await h.jobs.queues.send.add('outbox.send', { outboxId: row.id }, { jobId: row.id });
    const outcome = await waitFor(async () => ((await again.getState()) === 'completed' ? (await h.jobs.queues.send.getJob(row.id))?.returnvalue : undefined));
    expect(outcome).toBe('skipped: already sent');
    expect(botTexts(h.api, TG.officerB1, /once-only/)).toHaveLength(1);
  }, 20_000);

  it('a 403: the person is marked unreachable and the acting holder gets the escalation in their place', async () => {
    const deputySeat = await h.t.db.update(positions).set({ actingStaffId: h.org.staff.section2 }).where(eq(positions.code, 'pos-deputy')).returning();
    expect(deputySeat).toHaveLength(1);
    h.api.blockBot(TG.deputy);
    const { incident } = await reportIncident(h.deps, h.org.actor('officerA1'), {
      type: 'absconding',
      subjectId: h.org.subjects.a2,
      officeUnitId: h.org.units.officeA,
      discoveredAt: new Date(),
      injured: 0,
      dead: 0,
      description: '电话无法接通，住处无人',
    });
    const standIn = await h.api.waitForBotMessage(TG.section2, (m) => /Not acknowledged in time/.test(m.text ?? '') && (m.text ?? '').includes(incident.number), {
      after: 0,
      timeoutMs: 10_000,
    });
    expect(standIn.text).toContain('cannot be reached');
    expect(standIn.text).toContain('副局长乙');
    const [deputy] = await h.t.db.select({ reachable: staff.reachable }).from(staff).where(eq(staff.id, h.org.staff.deputy));
    expect(deputy!.reachable).toBe(false);
    const dead = await h.t.sql`select status, last_error from outbox where recipient_staff_id = ${h.org.staff.deputy} and incident_id = ${incident.id}`;
    expect(dead.map((r) => r.status)).toEqual(['dead']);
    const audit = await h.t.sql`select action from audit_log where entity_id = ${h.org.staff.deputy} and action = 'staff.unreachable'`;
    expect(audit).toHaveLength(1);
    // The director still gets level 2; the deputy's chat received nothing.
    await h.api.waitForBotMessage(TG.director, (m) => (m.text ?? '').includes(incident.number), { after: 0, timeoutMs: 10_000 });
    expect(h.api.botMessages(TG.deputy).filter((m) => (m.text ?? '').includes(incident.number))).toHaveLength(0);
    await h.t.db.update(staff).set({ reachable: true }).where(eq(staff.id, h.org.staff.deputy));
    h.api.blockBot(TG.deputy, false);
  }, 30_000);

  it('a change edits the card a person already has; someone without one gets a new message', async () => {
    const { incident } = await reportIncident(h.deps, h.org.actor('officerA2'), {
      type: 'disruption',
      officeUnitId: h.org.units.officeA,
      subjectId: h.org.subjects.a1,
      discoveredAt: new Date(),
      injured: 0,
      dead: 0,
      description: '学习期间大声喧哗',
    });
    // The office head gets the card, and the event replying to it.
    const event = await h.api.waitForBotMessage(TG.headA, (m) => (m.text ?? '').includes(incident.number) && m.reply_to_message_id !== undefined, { after: 0 });
    const card = h.api.message(TG.headA, event.reply_to_message_id!)!;
    await waitFor(async () => (await h.t.sql`select 1 from incident_cards where incident_id = ${incident.id} and chat_id = ${TG.headA}`).length > 0 || undefined, { what: 'the card to be recorded' });
    await acknowledgeIncident(h.deps, h.org.actor('section'), incident.id);
    const edited = await waitFor(() => {
      const m = h.api.message(TG.headA, card.message_id);
      return m?.edit_date && /签收：科员丙/.test(m.text ?? '') ? m : undefined;
    }, { what: 'the office head card to be edited' });
    expect(edited.message_id).toBe(card.message_id);
    // Nothing new: the card and the event about the new report. The event was not rewritten.
    expect(botTexts(h.api, TG.headA, new RegExp(incident.number))).toHaveLength(2);
    expect(h.api.message(TG.headA, event.message_id)!.text).toBe(event.text);
    // The reporter (English) had no card: the card is sent to them, showing the acknowledgement.
    const reporter = await h.api.waitForBotMessage(TG.officerA2, (m) => (m.text ?? '').includes('Acknowledged: 科员丙'), { after: 0 });
    expect(reporter.text).toContain(incident.number);
  }, 20_000);
});
