/**
 * A mixed incident, end to end on the real database, the Bot API stand-in and the WeCom stand-in: the
 * reporter on WeCom, the section on Telegram and on WeCom. Each notice goes to the channel its
 * recipient is bound on; a person bound on both gets it once, on the channel they prefer. 签收 pressed on
 * WeCom acknowledges and redraws that card with its response_code; a card with no code left is
 * replaced by a new card under the same message, and the old card points to it at its next press.
 */
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTelegramGateway } from '../../src/channels/telegram/telegram-gateway.js';
import { telegramNoticeChannel } from '../../src/channels/telegram/notice-channel.js';
import { wecomNoticeChannel } from '../../src/channels/wecom/notice-channel.js';
import { insertInvite } from '../../src/db/repositories/invite.repository.js';
import { cardMessageOf } from '../../src/db/repositories/card-message.repository.js';
import { findStaffById } from '../../src/db/repositories/org.repository.js';
import { incidents, outbox, staff, units, wecomCards, wecomUsers } from '../../src/db/schema.js';
import { t } from '../../src/i18n/index.js';
import type { NoticeChannel } from '../../src/services/channel-port.js';
import { sendOutboxMessage, type NotificationDeps } from '../../src/services/notification.service.js';
import { TEST_BOT_TOKEN } from '../helpers/bot-harness.js';
import { TG } from '../helpers/fixtures.js';
import { buttonsOf, keyOf, reportAbscondingOnWecom, startWecomHarness, textsOf, type WecomHarness } from './wecom-harness.js';

let w: WecomHarness;
let wecom: NoticeChannel;
let deps: NotificationDeps;
let incident: { number: string; incidentId: string };
const reporter = 'lisi';
const sectionOnWecom = 'chenke';

beforeAll(async () => {
  w = await startWecomHarness({ members: [reporter, sectionOnWecom] });
  const telegram = telegramNoticeChannel(createTelegramGateway({ apiRoot: w.h.api.url, token: TEST_BOT_TOKEN, perChatIntervalMs: 0 }), w.h.deps);
  wecom = wecomNoticeChannel(w.bot.messenger, w.h.deps);
  deps = { ...w.h.deps, channel: telegram, channels: { telegram, wecom } };

  // The reporter: a new officer of office A, on WeCom only.
  const reporterCode = await w.invite('office-a', 'officer');
  await w.act(() => w.s.driver.typeText(reporter, `/start ${reporterCode}`));
  // section2 (on Telegram already) binds WeCom too, with an invite naming them, and prefers WeCom.
  const [office] = await w.h.db.db.select().from(units).where(eq(units.code, 'section'));
  const code = 'invite-section2-wecom';
  await insertInvite(w.h.db.db, { code, unitId: office!.id, positionKind: 'section', staffId: w.h.org.staff.section2, createdBy: 'test', createdAt: w.h.clock.now(), expiresAt: new Date(w.h.clock.now().getTime() + 3_600_000) });
  await w.act(() => w.s.driver.typeText(sectionOnWecom, `/start ${code}`));
  await w.h.db.db.update(staff).set({ preferredChannel: 'wecom' }).where(eq(staff.id, w.h.org.staff.section2));

  incident = await reportAbscondingOnWecom(w, reporter);
});
afterAll(async () => w?.close());

const rowsOf = async (kind: string) => w.h.db.db.select().from(outbox).where(and(eq(outbox.kind, kind), eq(outbox.incidentId, incident.incidentId)));

describe('one incident, two channels', () => {
  it('binds section2 on WeCom beside their Telegram account', async () => {
    const person = await findStaffById(w.h.db.db, w.h.org.staff.section2);
    expect(person).toMatchObject({ telegramUserId: TG.section2, preferredChannel: 'wecom' });
    const [bound] = await w.h.db.db.select().from(wecomUsers).where(eq(wecomUsers.staffId, w.h.org.staff.section2));
    expect(bound?.userid).toBe(sectionOnWecom);
  });

  it('the report reaches each recipient on their channel, once', async () => {
    const reported = await rowsOf('incident_reported');
    const ids = new Set(reported.map((r) => r.recipientStaffId));
    expect(ids).toEqual(new Set([w.h.org.staff.section, w.h.org.staff.section2, w.h.org.staff.headA]));
    const telegramBefore = w.h.api.botMessages(TG.section2).length;
    for (const row of reported) expect(await sendOutboxMessage(deps, row.id)).toMatchObject({ status: 'sent' });

    // The section on Telegram: the card and the event, in their chat.
    const onTelegram = w.h.api.botMessages(TG.section).map((m) => m.text ?? '');
    expect(onTelegram.some((x) => x.includes(incident.number))).toBe(true);
    // section2, bound on both and preferring WeCom: on WeCom only.
    expect(w.h.api.botMessages(TG.section2)).toHaveLength(telegramBefore);
    const card = w.lastCard(sectionOnWecom);
    expect(JSON.stringify(card.card)).toContain(incident.number);
    expect(textsOf(w.messagesOf(sectionOnWecom)).some((x) => x.includes(incident.number))).toBe(true);
    // The card's message is section2's card of the incident, in their WeCom chat.
    const [chat] = await w.h.db.db.select().from(wecomUsers).where(eq(wecomUsers.userid, sectionOnWecom));
    const held = await cardMessageOf(w.h.db.db, incident.incidentId, chat!.chatKey);
    const [row] = await w.h.db.db.select().from(wecomCards).where(eq(wecomCards.taskId, card.taskId));
    expect(held?.messageId).toBe(row!.messageId);
  });

  it('签收 pressed on WeCom acknowledges, and the card is redrawn in place with its response_code', async () => {
    const d = w.s.driver;
    const card = w.lastCard(sectionOnWecom);
    await w.act(() => d.pressButton(sectionOnWecom, card.taskId, keyOf(d.cardOf(sectionOnWecom, card.taskId), t('en', 'button.ack'))));
    const [row] = await w.h.db.db.select().from(incidents).where(eq(incidents.id, incident.incidentId));
    expect(row).toMatchObject({ status: 'acknowledged', acknowledgedByStaffId: w.h.org.staff.section2 });
    const now = d.cardOf(sectionOnWecom, card.taskId)!;
    expect(now.renderings).toHaveLength(2);
    expect(buttonsOf(now).map((b) => b.text)).not.toContain(t('en', 'button.ack'));
    expect(JSON.stringify(now.card)).toContain('Section Two');
    // section2 reads English: the answer and the card are in it.
    expect(textsOf(w.messagesOf(sectionOnWecom))).toContain(t('en', 'card.acked'));
    // Only the one card was redrawn: no new card came.
    expect(w.lastCard(sectionOnWecom).taskId).toBe(card.taskId);
  });

  it('a card with no response_code left is replaced by a new card; the old one points to it at its next press', async () => {
    const d = w.s.driver;
    const first = w.lastCard(sectionOnWecom);
    const [chat] = await w.h.db.db.select().from(wecomUsers).where(eq(wecomUsers.userid, sectionOnWecom));
    const held = (await cardMessageOf(w.h.db.db, incident.incidentId, chat!.chatKey))!;
    const recipient = (await findStaffById(w.h.db.db, w.h.org.staff.section2))!;
    const redraw = async () => {
      const drawn = (await wecom.drawCard(incident.incidentId, recipient, 'en', w.h.clock.now()))!;
      return wecom.edit(chat!.chatKey, held.messageId, drawn);
    };
    // The card had two codes (its send's and the press's); the redraw after 签收 spent one.
    expect(await redraw()).toEqual({ messageId: held.messageId });
    expect(d.cardOf(sectionOnWecom, first.taskId)!.renderings).toHaveLength(3);
    expect(w.lastCard(sectionOnWecom).taskId).toBe(first.taskId);

    // None left: a new card, under the same message number.
    expect(await redraw()).toEqual({ messageId: held.messageId });
    const second = w.lastCard(sectionOnWecom);
    expect(second.taskId).not.toBe(first.taskId);
    expect(d.cardOf(sectionOnWecom, first.taskId)!.renderings).toHaveLength(3);
    const [old] = await w.h.db.db.select().from(wecomCards).where(eq(wecomCards.taskId, first.taskId));
    expect(old!.supersededAt).not.toBeNull();

    // The old card pressed: its press brings a code, which greys it out to point to the new card, and
    // the press acts on the message, whose card now is the new one.
    await w.act(() => d.pressButton(sectionOnWecom, first.taskId, keyOf(d.cardOf(sectionOnWecom, first.taskId), t('en', 'button.upper'))));
    expect(d.cardOf(sectionOnWecom, first.taskId)!.disabledLabel).toBe(t('en', 'wecom.card.replaced'));
    expect(d.cardOf(sectionOnWecom, second.taskId)!.renderings).toHaveLength(2);
  });

  it('the reporter’s WeCom card is redrawn in place with the 签收 (a change, not an event)', async () => {
    const [row] = await w.h.db.db.select().from(incidents).where(eq(incidents.id, incident.incidentId));
    const acked = await rowsOf('incident_acknowledged');
    const toReporter = acked.find((r) => r.recipientStaffId === row!.reporterStaffId);
    expect(toReporter).toBeDefined();
    const card = w.lastCard(reporter);
    const before = w.s.driver.cardOf(reporter, card.taskId)!.renderings.length;
    expect(await sendOutboxMessage(deps, toReporter!.id)).toMatchObject({ status: 'sent', mode: 'edit' });
    const now = w.s.driver.cardOf(reporter, card.taskId)!;
    expect(now.renderings).toHaveLength(before + 1);
    expect(JSON.stringify(now.card)).toContain('Section Two');
    expect(w.lastCard(reporter).taskId).toBe(card.taskId);
  });
});
