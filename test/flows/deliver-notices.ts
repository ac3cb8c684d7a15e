/**
 * Delivering outbox rows to the Bot API stand-in the way the worker does: the send state machine
 * (sendOutboxMessage) and the Telegram notice channel, so a notice arrives with its buttons and can be
 * pressed in the chat. For the absence process, daily contact and administration tests.
 */
import { and, asc, eq, inArray } from 'drizzle-orm';
import { expect } from 'vitest';
import { telegramNoticeChannel } from '../../src/channels/telegram/notice-channel.js';
import { createTelegramGateway } from '../../src/channels/telegram/telegram-gateway.js';
import { outbox } from '../../src/db/schema.js';
import type { NoticeChannel } from '../../src/services/channel-port.js';
import { sendOutboxMessage } from '../../src/services/notification.service.js';
import type { SandboxMessage } from '../../src/sandbox/bot-api-server.js';
import type { BotHarness } from '../helpers/bot-harness.js';
import type { StaffKey } from '../helpers/fixtures.js';

function channelOf(h: BotHarness): NoticeChannel {
  const gateway = createTelegramGateway({ apiRoot: h.api.url, token: h.api.token, perChatIntervalMs: 0 });
  return telegramNoticeChannel(gateway, h.deps);
}

/**
 * Sends the pending rows of a kind (to one person, or to all) and returns the messages they became, in
 * the order sent. Each row must be sent: a row with nothing to draw fails the test.
 */
export async function deliver(h: BotHarness, kind: string, to?: StaffKey | readonly StaffKey[]): Promise<SandboxMessage[]> {
  const recipients = to === undefined ? undefined : (typeof to === 'string' ? [to] : to).map((k) => h.org.staff[k as StaffKey]);
  const rows = await h.db.db
    .select()
    .from(outbox)
    .where(and(eq(outbox.kind, kind), eq(outbox.status, 'pending'), ...(recipients ? [inArray(outbox.recipientStaffId, recipients)] : [])))
    .orderBy(asc(outbox.createdAt));
  const channel = channelOf(h);
  const out: SandboxMessage[] = [];
  for (const row of rows) {
    const outcome = await sendOutboxMessage({ ...h.deps, channel }, row.id);
    expect(outcome.status, `${kind} to ${row.recipientStaffId}: ${outcome.outcome}`).toBe('sent');
    const [sent] = await h.db.sql`select recipient_staff_id, telegram_message_id from outbox where id = ${row.id}`;
    const key = (Object.keys(h.org.staff) as StaffKey[]).find((k) => h.org.staff[k] === sent!.recipient_staff_id)!;
    const message = h.api.message(h.tg(key), Number(sent!.telegram_message_id));
    if (message) out.push(message);
  }
  return out;
}
