/**
 * A stand-in who already receives a notice in their own right gets it once: the section member acting
 * for an unbound colleague is not sent the new-report card a second time; their own message says whom
 * else it is for. Sends are driven one at a time, so which row goes first is the test's choice.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { telegramNoticeChannel } from '../../src/channels/telegram/notice-channel.js';
import { createTelegramGateway } from '../../src/channels/telegram/telegram-gateway.js';
import { positions, staff } from '../../src/db/schema.js';
import { sendOutboxMessage, type NotificationDeps } from '../../src/services/notification.service.js';
import { TG } from '../helpers/fixtures.js';
import { botTexts, cardsIn, eventTexts, fastPolicy, reportViolentCrime, startHarness, type Harness } from './harness.js';

let h: Harness;
let notify: NotificationDeps;

beforeAll(async () => {
  h = await startHarness({ backend: 'redis', workers: false, policy: fastPolicy() });
  // Section Two never bound the bot; 科员丙 holds their seat as acting holder.
  await h.t.db.update(staff).set({ chatId: null, telegramUserId: null }).where(eq(staff.id, h.org.staff.section2));
  await h.t.db.update(positions).set({ actingStaffId: h.org.staff.section }).where(eq(positions.holderStaffId, h.org.staff.section2));
  const gateway = createTelegramGateway({ apiRoot: h.api.url, token: h.api.token, perChatIntervalMs: 0 });
  notify = { ...h.deps, channel: telegramNoticeChannel(gateway, h.deps) };
});
afterAll(async () => h?.close());

const rowsOf = (incidentId: string) =>
  h.t.sql<Array<{ id: string; recipient_staff_id: string; dedupe_key: string; status: string; params: Record<string, unknown> }>>`
    select id, recipient_staff_id, dedupe_key, status, params from outbox where incident_id = ${incidentId} and kind = 'incident_reported' order by created_at`;

describe('a stand-in who receives the notice in their own right', () => {
  it('gets one message, which says for whom they also receive it', async () => {
    const { incident } = await reportViolentCrime(h, '替补只收一次');
    const rows = await rowsOf(incident.id);
    const forTwo = rows.find((r) => r.recipient_staff_id === h.org.staff.section2)!;
    const forSection = rows.find((r) => r.recipient_staff_id === h.org.staff.section)!;

    // Section Two's copy cannot be sent: it moves to 科员丙, who has a copy of their own still to send.
    expect(await sendOutboxMessage(notify, forTwo.id)).toMatchObject({ status: 'rerouted', reason: 'no_chat', to: [h.org.staff.section] });
    const after = await rowsOf(incident.id);
    expect(after.filter((r) => r.dedupe_key.includes('-via-'))).toEqual([]);
    expect(after.find((r) => r.id === forSection.id)!.params.alsoFor).toEqual([h.org.staff.section2]);

    expect(await sendOutboxMessage(notify, forSection.id)).toMatchObject({ status: 'sent' });
    const told = eventTexts(h.api, TG.section, incident.number);
    expect(told).toHaveLength(1);
    expect(told[0]!.text).toContain('Section Two暂时无法接收消息，此条同时由您代为接收');
    expect(cardsIn(h.api, TG.section, incident.number)).toHaveLength(1);
  });

  it('already sent their own copy: nothing more is sent to them', async () => {
    const { incident } = await reportViolentCrime(h, '替补已收到');
    const rows = await rowsOf(incident.id);
    const forTwo = rows.find((r) => r.recipient_staff_id === h.org.staff.section2)!;
    const forSection = rows.find((r) => r.recipient_staff_id === h.org.staff.section)!;
    expect(await sendOutboxMessage(notify, forSection.id)).toMatchObject({ status: 'sent' });
    expect(await sendOutboxMessage(notify, forTwo.id)).toMatchObject({ status: 'rerouted', to: [h.org.staff.section] });
    expect((await rowsOf(incident.id)).filter((r) => r.dedupe_key.includes('-via-'))).toEqual([]);
    expect(eventTexts(h.api, TG.section, incident.number)).toHaveLength(1);
    expect(cardsIn(h.api, TG.section, incident.number)).toHaveLength(1);
  });
});
