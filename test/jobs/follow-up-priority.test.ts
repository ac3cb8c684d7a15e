/**
 * An event to someone without the incident's card is two runs of its send job: the card, then the event
 * replying to it. The second run waits at the follow-up priority, behind the first messages of its class
 * (the ordering itself under load is in send-order.test.ts), and asks the channel for a follow-up's place
 * in the overall second, on both queue backends.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueueNotices } from '../../src/db/repositories/outbox.repository.js';
import { staff, timers } from '../../src/db/schema.js';
import { followUpPriority, SEND_PRIORITY } from '../../src/jobs/dispatcher.js';
import { emptyChange } from '../../src/services/ports.js';
import { reportViolentCrime, startHarness, waitFor, waitForSendsSettled, type BackendKind, type Harness } from './harness.js';

describe.each<BackendKind>(['redis', 'postgres'])('the follow-up of a card sent first, on %s', (backend) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ backend });
  }, 30_000);
  afterAll(async () => h?.close());

  it('the card goes, then the event at the follow-up priority; a notice to a card holder keeps its own', async () => {
    const [person] = await h.t.db.insert(staff).values({ code: `fu-${backend}`, name: '科员甲', unitId: h.org.units.officeA, telegramUserId: 61_000, chatId: 61_000 }).returning({ id: staff.id });
    h.api.addUser({ id: 61_000, first_name: 'fu', language_code: 'zh' });
    const { incident } = await reportViolentCrime(h, '跟随优先级');
    await waitForSendsSettled(h);
    const [timer] = await h.t.db
      .insert(timers)
      .values({ kind: 'ack', level: 1, dueAt: new Date(), state: 'fired', firedAt: new Date(), dedupeKey: `fu-${randomUUID()}`, target: { kind: 'reporter' } })
      .returning({ id: timers.id });
    const notify = async () => {
      const [row] = await enqueueNotices(h.t.db, [{ recipientStaffId: person!.id, kind: 'incident_reported', incidentId: incident.id, timerId: timer!.id, dedupeKey: `fu-${randomUUID()}` }]);
      await h.jobs.dispatcher.afterCommit({ ...emptyChange(), outboxCreated: [row!] });
      return row!.id;
    };
    const done = async (id: string) => {
      const job = await waitFor(async () => {
        const j = await h.jobs.queues.send.getJob(id);
        return j && (await j.isCompleted()) ? j : undefined;
      }, { timeoutMs: 10_000, what: `send job ${id} done` });
      return job;
    };

    // What each run asks of the channel for this person: the event after its card is marked a follow-up
    // (it yields in the overall second), the card and a notice to a card holder are not.
    const channel = h.jobs.notificationDeps.channel;
    const send = channel.send.bind(channel);
    const asked: Array<{ followUp: boolean }> = [];
    channel.send = (chatId, drawn, hooks, opts) => {
      if (chatId === 61_000) asked.push({ followUp: hooks.followUp === true });
      return send(chatId, drawn, hooks, opts);
    };
    try {
      const first = await done(await notify());
      const messages = h.api.botMessages(61_000);
      expect(messages).toHaveLength(2);
      expect(messages[1]!.reply_to_message_id).toBe(messages[0]!.message_id);
      expect(first.priority).toBe(followUpPriority(SEND_PRIORITY.urgent));
      expect(asked).toEqual([{ followUp: false }, { followUp: true }]);

      // Now the person holds the current card: one message, one run, at the notice's own priority.
      const second = await done(await notify());
      expect(h.api.botMessages(61_000)).toHaveLength(3);
      expect(second.priority).toBe(SEND_PRIORITY.urgent);
      expect(asked).toEqual([{ followUp: false }, { followUp: true }, { followUp: false }]);
    } finally {
      channel.send = send;
    }
  }, 30_000);
});
