/**
 * The absence process reaches a member bound on WeCom, in the same words as on Telegram: the office head
 * (on WeCom, preferring it) gets the request with 批准 / 不批准, approves it from the WeCom card, and the
 * officer (on WeCom too) is told. Each notice is compared with what Telegram draws of the same row for the
 * same person. On the real database, the Bot API stand-in and the WeCom stand-in.
 */
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeCallback } from '../../src/channels/telegram/callback-data.js';
import { drawTelegramNotice, telegramNoticeChannel } from '../../src/channels/telegram/notice-channel.js';
import { createTelegramGateway } from '../../src/channels/telegram/telegram-gateway.js';
import { decodeButtonKey } from '../../src/channels/wecom/button-keys.js';
import { wecomNoticeChannel } from '../../src/channels/wecom/notice-channel.js';
import { insertInvite } from '../../src/db/repositories/invite.repository.js';
import { findStaffById } from '../../src/db/repositories/org.repository.js';
import { absenceRequests, outbox, staff } from '../../src/db/schema.js';
import { plainText } from '../../src/i18n/markup.js';
import { requestAbsence } from '../../src/services/absence.service.js';
import { sendOutboxMessage, type NotificationDeps } from '../../src/services/notification.service.js';
import { TEST_BOT_TOKEN } from '../helpers/bot-harness.js';
import type { StaffKey } from '../helpers/fixtures.js';
import { buttonsOf, keyOf, startWecomHarness, textsOf, type WecomHarness } from './wecom-harness.js';

let w: WecomHarness;
let deps: NotificationDeps;
const head = 'suozhang';
const officer = 'jiaoyi';

/** Binds a seeded person on WeCom with an invite naming them, and makes WeCom their channel. */
async function bindOnWecom(key: StaffKey, position: string, userId: string): Promise<void> {
  const staffId = w.h.org.staff[key];
  const code = `invite-${key}-wecom`;
  const now = w.h.clock.now();
  await insertInvite(w.h.db.db, { code, unitId: w.h.org.units.officeA, positionKind: position, staffId, createdBy: 'test', createdAt: now, expiresAt: new Date(now.getTime() + 3_600_000) });
  await w.act(() => w.s.driver.typeText(userId, `/start ${code}`));
  await w.h.db.db.update(staff).set({ preferredChannel: 'wecom' }).where(eq(staff.id, staffId));
}

beforeAll(async () => {
  w = await startWecomHarness({ members: [head, officer] });
  const telegram = telegramNoticeChannel(createTelegramGateway({ apiRoot: w.h.api.url, token: TEST_BOT_TOKEN, perChatIntervalMs: 0 }), w.h.deps);
  const wecom = wecomNoticeChannel(w.bot.messenger, w.h.deps);
  deps = { ...w.h.deps, channel: telegram, channels: { telegram, wecom } };
  await bindOnWecom('headA', 'office_head', head);
  await bindOnWecom('officerA1', 'officer', officer);
});
afterAll(async () => w?.close());

/** The one pending row of a kind for a person. */
async function pendingRow(kind: string, key: StaffKey) {
  const rows = await w.h.db.db
    .select()
    .from(outbox)
    .where(and(eq(outbox.kind, kind), eq(outbox.recipientStaffId, w.h.org.staff[key]), eq(outbox.status, 'pending')));
  expect(rows).toHaveLength(1);
  return rows[0]!;
}

/** What Telegram draws of the row for the same person: its text (without tags) and its buttons' actions. */
async function onTelegram(row: Awaited<ReturnType<typeof pendingRow>>) {
  const recipient = (await findStaffById(w.h.db.db, row.recipientStaffId))!;
  const drawn = (await drawTelegramNotice(w.h.deps, row, recipient, 'zh', w.h.clock.now()))!;
  const buttons = drawn.message.replyMarkup?.inline_keyboard.flat() ?? [];
  return {
    text: plainText(drawn.message.text),
    buttons: buttons.map((b) => ({ text: b.text, action: decodeCallback('callback_data' in b ? b.callback_data : '') })),
  };
}

describe('the absence process on WeCom', { shuffle: false }, () => {
  let requestId: string;

  it('the request reaches the office head on WeCom with the words and the buttons Telegram shows', async () => {
    const { request } = await requestAbsence(w.h.deps, w.h.org.actor('officerA1'), { subjectId: w.h.org.subjects.a1, destination: '宁波市鄞州区（探亲）', startsOn: '2026-11-29', endsOn: '2026-12-01' });
    requestId = request.id;
    const row = await pendingRow('absence_requested', 'headA');
    const telegram = await onTelegram(row);
    expect(telegram.text).toContain('外出申请待审批');
    expect(telegram.text).toContain('张*（SQ-A-001）');
    expect(telegram.text).toContain('共 3 天');

    const telegramBefore = w.h.api.botMessages(w.h.tg('headA')).length;
    expect(await sendOutboxMessage(deps, row.id)).toMatchObject({ status: 'sent' });
    // On WeCom only: the whole text, then the card with 批准 / 不批准.
    expect(w.h.api.botMessages(w.h.tg('headA'))).toHaveLength(telegramBefore);
    expect(textsOf(w.messagesOf(head))).toContain(telegram.text);
    const card = w.lastCard(head);
    const buttons = buttonsOf(card).map((b) => ({ text: b.text, action: decodeButtonKey(b.key) }));
    expect(buttons).toEqual(telegram.buttons);
    expect(buttons.map((b) => b.action)).toEqual([
      { a: 'areq', i: requestId, k: 'ok', v: 1 },
      { a: 'areq', i: requestId, k: 'no', v: 1 },
    ]);
  });

  it('批准 pressed on the WeCom card approves it, and the officer on WeCom is told as on Telegram', async () => {
    const d = w.s.driver;
    const card = w.lastCard(head);
    await w.act(() => d.pressButton(head, card.taskId, keyOf(d.cardOf(head, card.taskId), '批准')));
    const [request] = await w.h.db.db.select().from(absenceRequests).where(eq(absenceRequests.id, requestId));
    expect(request).toMatchObject({ state: 'approved', decidedByStaffId: w.h.org.staff.headA });

    const row = await pendingRow('absence_approved', 'officerA1');
    const telegram = await onTelegram(row);
    expect(telegram.text).toContain('所长甲 已批准对象');
    expect(telegram.text).toContain('于 2026-11-29 至 2026-12-01 外出');
    expect(telegram.buttons).toEqual([]);
    expect(await sendOutboxMessage(deps, row.id)).toMatchObject({ status: 'sent' });
    const last = w.messagesOf(officer).at(-1)!;
    expect(last).toMatchObject({ msgtype: 'text', content: telegram.text });
  });
});
