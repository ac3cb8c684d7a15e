/**
 * Duty groups on the Bot API stand-in, with Telegram's 20-a-minute group limit on: the section takes a
 * code in its private chat and binds a group with /bindgroup; an unbound group is told once and
 * otherwise ignored; a report reaches the bound group as the section gets it — its card, names masked
 * whatever PII_MODE says, and the event replying to it, 3 s apart; 签收 pressed in the group works for
 * the section (the group's card and the section's private card are redrawn) and is refused for an officer.
 */
import { and, eq, isNotNull, isNull } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { telegramNoticeChannel } from '../../src/channels/telegram/notice-channel.js';
import { createTelegramGateway } from '../../src/channels/telegram/telegram-gateway.js';
import { encodeCallback } from '../../src/channels/telegram/callback-data.js';
import { dutyGroups, outbox } from '../../src/db/schema.js';
import { dutyGroupPlugin } from '../../src/flows/duty-groups.flow.js';
import { t as message, type MessageKey, type Params } from '../../src/i18n/index.js';
import { plainText } from '../../src/i18n/markup.js';
import { reportIncident } from '../../src/services/incident.service.js';
import { sendOutboxMessage, type SendOutcome } from '../../src/services/notification.service.js';
import type { SandboxMessage } from '../../src/sandbox/bot-api-server.js';
import { buttonData, buttonTexts, startBotHarness, type BotHarness } from '../helpers/bot-harness.js';
import { TG, type StaffKey } from '../helpers/fixtures.js';

let h: BotHarness;
const t = (key: MessageKey, params?: Params) => plainText(message('zh', key, params));
let nextGroup = -4001;

beforeAll(async () => {
  // PII_MODE full: a private chat shows the subject's name; a group never does.
  h = await startBotHarness({ plugins: [dutyGroupPlugin()], piiMode: 'full', apiLimits: { globalPerSecond: 30, perGroupPerMinute: 20 } });
});
afterAll(async () => h?.close());

/** A new group chat with these members (the bot not in it yet). */
function newGroup(members: readonly StaffKey[]): number {
  const id = nextGroup--;
  h.api.addGroup({ id, title: `值班群${-id}`, memberIds: members.map((m) => TG[m]) });
  return id;
}

async function sayInGroup(who: StaffKey, groupId: number, text: string): Promise<void> {
  h.api.sendText(TG[who], text, { chatId: groupId });
  await h.idle();
}

async function pressInGroup(who: StaffKey, groupId: number, messageId: number, data: string) {
  const { callbackQueryId } = h.api.pressButton(TG[who], messageId, data, { chatId: groupId });
  await h.idle();
  return h.api.waitForCallbackAnswer(callbackQueryId, { timeoutMs: 5000 });
}

/** The section takes a code in its private chat and types /bindgroup in the group. */
async function bindSectionGroup(groupId: number): Promise<void> {
  h.api.setBotInGroup(groupId, TG.section);
  await h.idle();
  const told = await h.send('section', '/groupcode');
  const code = /G[A-Z0-9]{10}/.exec(told.text ?? '')?.[0];
  expect(code, told.text).toBeDefined();
  await sayInGroup('section', groupId, `/bindgroup ${code}`);
}

/** Sends one outbox row as the worker does, waiting out the chat's slot when told to come back. */
async function sendRow(id: string, channel = groupChannel()): Promise<SendOutcome> {
  for (let i = 0; i < 10; i++) {
    const outcome = await sendOutboxMessage({ ...h.deps, channel }, id);
    if (outcome.status !== 'deferred') return outcome;
    await new Promise((r) => setTimeout(r, Math.max(10, outcome.until.getTime() - Date.now())));
  }
  throw new Error(`row ${id} still deferred`);
}

/** Telegram's own spacing: 1 s per private chat, 3 s per group (the gateway's defaults). */
const groupChannel = (() => {
  let channel: ReturnType<typeof telegramNoticeChannel> | undefined;
  return () => (channel ??= telegramNoticeChannel(createTelegramGateway({ apiRoot: h.api.url, token: h.api.token }), h.deps));
})();

async function groupRows(incidentId: string) {
  return h.db.db.select().from(outbox).where(and(eq(outbox.incidentId, incidentId), isNotNull(outbox.recipientGroupId), eq(outbox.status, 'pending')));
}

async function personalRows(incidentId: string, who: StaffKey) {
  return h.db.db
    .select()
    .from(outbox)
    .where(and(eq(outbox.incidentId, incidentId), eq(outbox.recipientStaffId, h.org.staff[who]), isNull(outbox.recipientGroupId), eq(outbox.status, 'pending')));
}

async function report(description: string) {
  const r = await reportIncident(h.deps, h.org.actor('officerA1'), {
    type: 'violent_crime',
    subjectId: h.org.subjects.a1,
    officeUnitId: h.org.units.officeA,
    discoveredAt: h.clock.now(),
    injured: 0,
    dead: 0,
    description,
  });
  return r.incident;
}

async function cardIn(incidentId: string, chatId: number): Promise<SandboxMessage | undefined> {
  const [row] = await h.db.sql`select message_id from incident_cards where incident_id = ${incidentId} and chat_id = ${chatId}`;
  return row ? h.api.message(chatId, Number(row.message_id)) : undefined;
}

describe('duty groups', () => {
  it('binds a group with a single-use code from the private chat', async () => {
    const group = newGroup(['section', 'officerA1']);
    await bindSectionGroup(group);
    expect(h.api.lastBotMessage(group)?.text).toBe(t('dutygroup.bound', { purpose: t('dutygroup.purpose.section') }));
    const [row] = await h.db.db.select().from(dutyGroups).where(and(eq(dutyGroups.chatId, group), eq(dutyGroups.active, true)));
    expect(row).toMatchObject({ purpose: 'section', unitId: h.org.units.section, boundByStaffId: h.org.staff.section });

    // The code works once: typed again in another group it is refused, and that group stays unbound.
    const code = /G[A-Z0-9]{10}/.exec(h.last('section').text ?? '')![0];
    const other = newGroup(['section']);
    await sayInGroup('section', other, `/bindgroup ${code}`);
    expect(h.api.lastBotMessage(other)?.text).toBe(t('dutygroup.code_used'));
    expect(await h.db.db.select().from(dutyGroups).where(eq(dutyGroups.chatId, other))).toHaveLength(0);

    // An officer gets no code; the bot removed from the group ends its binding.
    expect((await h.send('officerA1', '/groupcode')).text).toBe(t('dutygroup.not_permitted'));
    h.api.setBotInGroup(group, TG.section, false);
    await h.idle();
    const [after] = await h.db.db.select().from(dutyGroups).where(eq(dutyGroups.chatId, group));
    expect(after?.active).toBe(false);
  });

  it('refuses a group it was not bound to: told once, the rest ignored', async () => {
    const group = newGroup(['section', 'officerA1']);
    h.api.setBotInGroup(group, TG.officerA1);
    await h.idle();
    expect(h.api.botMessages(group).map((m) => m.text)).toEqual([t('dutygroup.not_bound')]);
    await sayInGroup('officerA1', group, '/report');
    await sayInGroup('section', group, '/incidents');
    await sayInGroup('officerA1', group, '大家好');
    expect(h.api.botMessages(group)).toHaveLength(1);
    // A stale card's button in an unbound group is answered with the same words, and does nothing.
    const incident = await report('未绑定群测试');
    const forced = h.api.pressButton(TG.section, 999, `ack:${incident.id}`, { chatId: group, force: true });
    await h.idle();
    expect((await h.api.waitForCallbackAnswer(forced.callbackQueryId)).text).toBe(t('dutygroup.not_bound'));
    const [row] = await h.db.sql`select status from incidents where id = ${incident.id}`;
    expect(row!.status).toBe('reported');
  });

  it('a bound group gets the section’s notice with its card, masked, 3 s apart within the group limit', async () => {
    const group = newGroup(['section', 'section2', 'officerA1']);
    await bindSectionGroup(group);
    const incident = await report('对象持刀威胁他人');
    // One copy for the group, however many section members the notice went to.
    const rows = await groupRows(incident.id);
    expect(rows.map((r) => r.kind)).toEqual(['incident_reported']);
    const before = h.api.requests.length;
    expect((await sendRow(rows[0]!.id)).status).toBe('sent');

    const card = await cardIn(incident.id, group);
    expect(card?.text).toContain('张*（SQ-A-001）');
    expect(card?.text).not.toContain('张三');
    // The one-tap buttons only: no form opens in a group.
    expect(buttonTexts(card)).toEqual(expect.arrayContaining([t('button.ack'), t('button.refresh')]));
    expect(buttonTexts(card)).not.toContain(t('button.progress'));
    const event = h.api.lastBotMessage(group)!;
    expect(event.reply_to_message_id).toBe(card!.message_id);
    expect(event.text).not.toContain('张三');

    const sends = h.api.requests.slice(before).filter((r) => r.method === 'sendMessage' && Number(r.chat_id) === group && r.status === 200);
    expect(sends).toHaveLength(2);
    expect(sends[1]!.at - sends[0]!.at).toBeGreaterThanOrEqual(2900);
    expect(h.api.rateLimitHits.filter((x) => Number(x.chat_id) === group)).toEqual([]);

    // The section's own chat shows the name, as PII_MODE full says.
    const [own] = await personalRows(incident.id, 'section');
    expect((await sendRow(own!.id)).status).toBe('sent');
    expect((await cardIn(incident.id, TG.section))?.text).toContain('张三（SQ-A-001）');
  }, 30_000);

  it('签收 in the group: refused for an officer, done for the section, both cards redrawn', async () => {
    const group = newGroup(['section', 'officerA1']);
    await bindSectionGroup(group);
    const incident = await report('对象酒后滋事');
    for (const r of await groupRows(incident.id)) expect((await sendRow(r.id)).status).toBe('sent');
    const [own] = await personalRows(incident.id, 'section');
    expect((await sendRow(own!.id)).status).toBe('sent');
    const groupCard = (await cardIn(incident.id, group))!;
    const ack = buttonData(groupCard, t('button.ack'));

    // An officer's press: a refusal toast, nothing changes.
    const refused = await pressInGroup('officerA1', group, groupCard.message_id, ack);
    expect(refused.text).toBe(t('refuse.not_permitted'));
    const [still] = await h.db.sql`select status, version from incidents where id = ${incident.id}`;
    expect(still!.status).toBe('reported');
    expect(h.api.message(group, groupCard.message_id)?.text).toBe(groupCard.text);
    expect(buttonTexts(h.api.message(group, groupCard.message_id))).toContain(t('button.ack'));

    // A form's button is not on a group's card; pressed from an old keyboard, it points to the private chat.
    const form = h.api.pressButton(TG.section, groupCard.message_id, encodeCallback({ a: 'prog', i: incident.id, v: incident.version }), { chatId: group, force: true });
    await h.idle();
    expect((await h.api.waitForCallbackAnswer(form.callbackQueryId)).text).toBe(t('group.use_private'));

    // The section's press, identified by its own Telegram account: acknowledged, the group's card redrawn.
    const done = await pressInGroup('section', group, groupCard.message_id, ack);
    expect(done.text).toBe(t('card.acked'));
    const [now] = await h.db.sql`select status, acknowledged_by_staff_id from incidents where id = ${incident.id}`;
    expect(now).toMatchObject({ status: 'acknowledged', acknowledged_by_staff_id: h.org.staff.section });
    const redrawn = h.api.message(group, groupCard.message_id)!;
    expect(redrawn.text).toContain('签收：科员丙');
    expect(redrawn.text).not.toContain('张三');
    expect(buttonTexts(redrawn)).not.toContain(t('button.ack'));

    // The section's private card is redrawn through the outbox, as any holder's is.
    const privateCard = (await cardIn(incident.id, TG.section))!;
    for (const r of await personalRows(incident.id, 'section')) await sendRow(r.id);
    const mine = h.api.message(TG.section, privateCard.message_id)!;
    expect(mine.text).toContain('签收：科员丙');
    expect(buttonTexts(mine)).not.toContain(t('button.ack'));
  }, 30_000);

  it('/unbindgroup in the group: refused for an officer, done for the section, audited; pending copies closed; the group then refused like any unbound one', async () => {
    const group = newGroup(['section', 'officerA1']);
    await bindSectionGroup(group);
    const [bound] = await h.db.db.select().from(dutyGroups).where(and(eq(dutyGroups.chatId, group), eq(dutyGroups.active, true)));
    const incident = await report('解绑前的事件');
    // Earlier tests' groups are bound too: this group's copy only.
    const pending = (await groupRows(incident.id)).filter((r) => r.recipientGroupId === bound!.id);
    expect(pending).toHaveLength(1);

    await sayInGroup('officerA1', group, '/unbindgroup');
    expect(h.api.lastBotMessage(group)?.text).toBe(t('dutygroup.unbind_not_permitted'));
    expect((await h.db.db.select().from(dutyGroups).where(and(eq(dutyGroups.chatId, group), eq(dutyGroups.active, true))))).toHaveLength(1);

    await sayInGroup('section', group, '/unbindgroup');
    expect(h.api.lastBotMessage(group)?.text).toBe(t('dutygroup.unbound'));
    const [row] = await h.db.db.select().from(dutyGroups).where(eq(dutyGroups.chatId, group));
    expect(row).toMatchObject({ active: false });
    // The copy not yet sent is closed, and sending it is a no-op.
    const [closed] = await h.db.db.select().from(outbox).where(eq(outbox.id, pending[0]!.id));
    expect(closed).toMatchObject({ status: 'dead', lastError: 'group unbound' });
    expect((await sendRow(pending[0]!.id)).status).toBe('skipped');
    const [audit] = await h.db.sql`select actor_staff_id, data from audit_log where action = 'duty_group.unbound' and entity_id = ${row!.id}`;
    expect(audit).toMatchObject({ actor_staff_id: h.org.staff.section, data: { reason: 'command', from: 'group', closedNotices: 1 } });

    // Nothing new is written for it; it is told once that it is not bound, then ignored.
    const later = await report('解绑后的事件');
    expect(await h.db.db.select().from(outbox).where(and(eq(outbox.incidentId, later.id), eq(outbox.recipientGroupId, row!.id)))).toEqual([]);
    const before = h.api.botMessages(group).length;
    await sayInGroup('section', group, '/incidents');
    await sayInGroup('section', group, '/unbindgroup');
    expect(h.api.botMessages(group).slice(before).map((m) => m.text)).toEqual([t('dutygroup.not_bound')]);
  }, 30_000);

  it('/unbindgroup in the private chat lists the groups one may unbind, and unbinds the one named by its number', async () => {
    const group = newGroup(['section']);
    await bindSectionGroup(group);
    const list = await h.send('section', '/unbindgroup');
    expect(list.text).toContain(t('dutygroup.unbind_line', { purpose: t('dutygroup.purpose.section'), chat: group }));
    expect((await h.send('officerA1', '/unbindgroup')).text).toBe(t('dutygroup.unbind_none'));
    expect((await h.send('section', '/unbindgroup 12345')).text).toBe(t('dutygroup.unbind_not_found', { chat: 12345 }));
    const done = await h.send('section', `/unbindgroup ${group}`);
    expect(done.text).toBe(t('dutygroup.unbound_private', { purpose: t('dutygroup.purpose.section'), chat: group, count: 0 }));
    expect(await h.db.db.select().from(dutyGroups).where(and(eq(dutyGroups.chatId, group), eq(dutyGroups.active, true)))).toEqual([]);
    const [audit] = await h.db.sql`select data from audit_log where action = 'duty_group.unbound' order by id desc limit 1`;
    expect(audit!.data).toMatchObject({ reason: 'command', from: 'private' });
  }, 30_000);

  it('/help lists /groupcode and /bindgroup for the section, not for an officer', async () => {
    const section = (await h.send('section', '/help')).text ?? '';
    expect(section).toContain(t('help.groupcode'));
    expect(section).toContain(t('help.bindgroup'));
    const officer = (await h.send('officerA1', '/help')).text ?? '';
    expect(officer).not.toContain('/groupcode');
    expect(officer).not.toContain('/bindgroup');
  });

  it('an office’s group gets that office’s incidents, not another office’s', async () => {
    const group = newGroup(['headA', 'officerA1']);
    h.api.setBotInGroup(group, TG.headA);
    await h.idle();
    const told = await h.send('headA', '/groupcode');
    const code = /G[A-Z0-9]{10}/.exec(told.text ?? '')![0];
    await sayInGroup('headA', group, `/bindgroup ${code}`);
    const [bound] = await h.db.db.select().from(dutyGroups).where(and(eq(dutyGroups.chatId, group), eq(dutyGroups.active, true)));
    expect(bound).toMatchObject({ purpose: 'office', unitId: h.org.units.officeA });

    const ownRows = async (incidentId: string) => (await groupRows(incidentId)).filter((r) => r.recipientGroupId === bound!.id);
    const inA = await report('甲所事件');
    const rows = await ownRows(inA.id);
    expect(rows.length).toBeGreaterThan(0);
    expect((await sendRow(rows[0]!.id)).status).toBe('sent');
    expect((await cardIn(inA.id, group))?.text).not.toContain('张三');

    const { incident: inB } = await reportIncident(h.deps, h.org.actor('officerB1'), {
      type: 'violent_crime',
      subjectId: h.org.subjects.b1,
      officeUnitId: h.org.units.officeB,
      discoveredAt: h.clock.now(),
      injured: 0,
      dead: 0,
      description: '乙所事件',
    });
    expect(await ownRows(inB.id)).toEqual([]);
    expect(await cardIn(inB.id, group)).toBeUndefined();
  }, 30_000);
});
