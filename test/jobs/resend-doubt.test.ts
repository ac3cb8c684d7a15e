/**
 * A send in doubt stays in doubt until one succeeds: the first attempt times out after the stand-in took
 * the message, the re-send meets a 502, and the one that finally goes out still says "re-sent" — never a
 * silent duplicate (docs/reliability.md, R4).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { t as text } from '../../src/i18n/index.js';
import { enqueueNotices } from '../../src/db/repositories/outbox.repository.js';
import { emptyChange } from '../../src/services/ports.js';
import { TG } from '../helpers/fixtures.js';
import { botTexts, startHarness, waitFor, type Harness } from './harness.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness({ backend: 'redis', gatewayTimeoutMs: 1_000, tuning: { sendInFlightGuardMs: 500 } });
}, 30_000);
afterAll(async () => h?.close());

describe('a send in doubt', () => {
  it('timeout (delivered), then a 502: the message that goes out is marked re-sent', async () => {
    h.api.failNext('sendMessage', { delayMs: 1_500 }); // taken, answered after the gateway gave up
    h.api.failNext('sendMessage', { status: 502 });
    const [row] = await enqueueNotices(h.t.db, [{ recipientStaffId: h.org.staff.officerB1, kind: 'missed_days', dedupeKey: 'doubt-1', params: { what: 'digest', dates: ['doubt-1'] } }]);
    await h.jobs.dispatcher.afterCommit({ ...emptyChange(), outboxCreated: [row!] });
    await waitFor(async () => ((await h.t.sql`select status from outbox where id = ${row!.id}`)[0]!.status === 'sent' ? true : undefined), { timeoutMs: 20_000, what: 'the send' });
    const copies = botTexts(h.api, TG.officerB1, /doubt-1/);
    expect(copies).toHaveLength(2);
    expect(copies[0]!.text).not.toContain(text('zh', 'notice.resent'));
    expect(copies[1]!.text).toContain(text('zh', 'notice.resent'));
    expect(h.api.requests.filter((r) => r.method === 'sendMessage' && r.chat_id === TG.officerB1).map((r) => r.status)).toEqual([200, 502, 200]);
  }, 30_000);
});
