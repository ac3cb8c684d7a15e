/**
 * An HQ group on the Bot API stand-in (issue 15, 6): the section binds a group for an activated incident
 * with `/groupcode <number>` and `/bindgroup <code>`. The group gets that incident's HQ notices — the
 * director's 指令 (which goes to HQ's office, the section, and the on-site command), the on-site
 * command's 处置建议, a 续报 to the leaders — each with the group's card, current and masked; nothing of
 * another activated incident. 收到 pressed in the group is recorded once for whoever may receipt the
 * instruction (the director is told, the group's card redrawn) and refused for anyone else, in the
 * presser's language, with nothing changed.
 */
import { and, asc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { telegramNoticeChannel } from '../../src/channels/telegram/notice-channel.js';
import { createTelegramGateway } from '../../src/channels/telegram/telegram-gateway.js';
import { commandReceipts, dutyGroups, outbox } from '../../src/db/schema.js';
import { MINUTE } from '../../src/domain/index.js';
import { commandPostPlugin } from '../../src/flows/command-post.flow.js';
import { dutyGroupPlugin } from '../../src/flows/duty-groups.flow.js';
import { t as message, type MessageKey, type Params } from '../../src/i18n/index.js';
import { plainText } from '../../src/i18n/markup.js';
import { activatePlan, postInstruction, postProposal } from '../../src/services/command-post.service.js';
import { reportIncident, reportProgress, setRole } from '../../src/services/incident.service.js';
import { sendOutboxMessage } from '../../src/services/notification.service.js';
import type { SandboxMessage } from '../../src/sandbox/bot-api-server.js';
import { buttonData, buttonTexts, startBotHarness, type BotHarness } from '../helpers/bot-harness.js';
import { TG, type StaffKey } from '../helpers/fixtures.js';
import { deliver } from './deliver-notices.js';

let h: BotHarness;
const t = (key: MessageKey, params?: Params) => plainText(message('zh', key, params));
const en = (key: MessageKey, params?: Params) => plainText(message('en', key, params));
const GROUP = -5001;

beforeAll(async () => {
  // PII_MODE full: a private chat shows the subject's name; a group never does. The stranger's Telegram is in English.
  h = await startBotHarness({ plugins: [commandPostPlugin(), dutyGroupPlugin()], piiMode: 'full', languages: { stranger: 'en' } });
});
afterAll(async () => h?.close());

const channel = () => telegramNoticeChannel(createTelegramGateway({ apiRoot: h.api.url, token: h.api.token, perChatIntervalMs: 0 }), h.deps);

async function report(who: StaffKey, subject: 'a1' | 'b1', office: 'officeA' | 'officeB', description: string) {
  const r = await reportIncident(h.deps, h.org.actor(who), {
    type: 'violent_crime',
    subjectId: h.org.subjects[subject],
    officeUnitId: h.org.units[office],
    discoveredAt: h.clock.now(),
    injured: 0,
    dead: 0,
    description,
  });
  return r.incident;
}

/** The group's pending copies, sent in order as the worker would; the messages they became (each row must be sent). */
async function sendGroupRows(groupRowId: string): Promise<Array<{ kind: string; message: SandboxMessage }>> {
  const rows = await h.db.db
    .select()
    .from(outbox)
    .where(and(eq(outbox.recipientGroupId, groupRowId), eq(outbox.status, 'pending')))
    .orderBy(asc(outbox.createdAt), asc(outbox.id));
  const out = [];
  for (const row of rows) {
    // A send that first brought the group's card up to date comes back for its own turn.
    let outcome = await sendOutboxMessage({ ...h.deps, channel: channel() }, row.id);
    for (let i = 0; i < 5 && outcome.status === 'deferred'; i++) outcome = await sendOutboxMessage({ ...h.deps, channel: channel() }, row.id);
    expect(outcome.status, `${row.kind}: ${outcome.outcome}`).toBe('sent');
    const [sent] = await h.db.sql`select telegram_message_id from outbox where id = ${row.id}`;
    const m = h.api.message(GROUP, Number(sent!.telegram_message_id));
    if (m) out.push({ kind: row.kind, message: m });
  }
  return out;
}

async function groupCard(incidentId: string): Promise<SandboxMessage | undefined> {
  const [row] = await h.db.sql`select message_id from incident_cards where incident_id = ${incidentId} and chat_id = ${GROUP}`;
  return row ? h.api.message(GROUP, Number(row.message_id)) : undefined;
}

async function pressInGroup(who: StaffKey | 'stranger', messageId: number, data: string) {
  const { callbackQueryId } = h.api.pressButton(TG[who], messageId, data, { chatId: GROUP });
  await h.idle();
  return h.api.waitForCallbackAnswer(callbackQueryId, { timeoutMs: 5000 });
}

describe('an HQ group for an activated incident', () => {
  let incidentA: Awaited<ReturnType<typeof report>>;
  let incidentB: Awaited<ReturnType<typeof report>>;
  let groupRowId: string;
  let order: SandboxMessage;
  let orderId: string;

  it('binds with /groupcode <number> for an activated incident only', async () => {
    incidentA = await report('officerA1', 'a1', 'officeA', '对象持刀威胁他人');
    incidentB = await report('officerB1', 'b1', 'officeB', '乙所对象纵火未遂');
    h.api.addGroup({ id: GROUP, title: '指挥部群', memberIds: [TG.section, TG.director, TG.deputy, TG.headA, TG.officerA2, TG.officerB1, TG.stranger] });
    h.api.setBotInGroup(GROUP, TG.section);
    await h.idle();

    // Not activated yet: no code.
    expect((await h.send('section', `/groupcode ${incidentA.number}`)).text).toBe(t('dutygroup.not_activated'));
    await activatePlan(h.deps, h.org.actor('section'), incidentA.id, 'II');
    await activatePlan(h.deps, h.org.actor('section'), incidentB.id, 'II');
    await setRole(h.deps, h.org.actor('section'), incidentA.id, 'onsite_command', h.org.staff.headA, true);
    await setRole(h.deps, h.org.actor('section'), incidentB.id, 'onsite_command', h.org.staff.headB, true);

    const told = await h.send('section', `/groupcode ${incidentA.number}`);
    expect(told.text).toContain(t('dutygroup.purpose.hq', { number: incidentA.number }));
    const code = /G[A-Z0-9]{10}/.exec(told.text ?? '')![0];
    h.api.sendText(TG.section, `/bindgroup ${code}`, { chatId: GROUP });
    await h.idle();
    expect(h.api.lastBotMessage(GROUP)?.text).toBe(t('dutygroup.bound', { purpose: t('dutygroup.purpose.hq', { number: incidentA.number }) }));
    const [bound] = await h.db.db.select().from(dutyGroups).where(and(eq(dutyGroups.chatId, GROUP), eq(dutyGroups.active, true)));
    expect(bound).toMatchObject({ purpose: 'hq', incidentId: incidentA.id, boundByStaffId: h.org.staff.section });
    groupRowId = bound!.id;
    // What was written before the binding is not copied to the group afterwards.
    expect(await h.db.db.select().from(outbox).where(eq(outbox.recipientGroupId, groupRowId))).toEqual([]);
  });

  it('gets the director’s 指令 once, with its card, masked, and 收到', async () => {
    h.clock.advance(MINUTE);
    const sent = await postInstruction(h.deps, h.org.actor('director'), incidentA.id, 'order', '立即疏散围观群众，确保人员安全');
    orderId = sent.updateId;
    // The same 指令 to incident B's HQ: nothing of it for this group.
    await postInstruction(h.deps, h.org.actor('director'), incidentB.id, 'order', '乙所立即控制现场');

    const rows = await h.db.db.select().from(outbox).where(eq(outbox.recipientGroupId, groupRowId));
    expect(rows.map((r) => [r.kind, r.incidentId])).toEqual([['command_issued', incidentA.id]]);
    const got = await sendGroupRows(groupRowId);
    const card = (await groupCard(incidentA.id))!;
    expect(card.text).toContain('张*（SQ-A-001）');
    expect(card.text).not.toContain('张三');
    expect(card.text).toContain('已启动预案：Ⅱ级响应');
    expect(card.text).toContain('局长甲的指令：立即疏散围观群众，确保人员安全');
    // No form opens in a group: 批示、指令 is for the private chat.
    expect(buttonTexts(card)).not.toContain(t('button.instruct'));
    order = got.find((g) => g.kind === 'command_issued')!.message;
    expect(order.text).toContain('发出指令：立即疏散围观群众，确保人员安全');
    expect(order.text).not.toContain('张三');
    expect(order.reply_to_message_id).toBe(card.message_id);
    expect(buttonTexts(order)).toEqual([t('button.receipt')]);
    expect(await groupCard(incidentB.id)).toBeUndefined();
  });

  it('收到 in the group: refused for an officer of another office, an officer who may not, and a stranger; done once for the section', async () => {
    const data = buttonData(order, t('button.receipt'));
    const receipts = () => h.db.db.select().from(commandReceipts).where(eq(commandReceipts.updateId, orderId));
    const cardBefore = (await groupCard(incidentA.id))!;

    // An officer of another office: refused in her language, nothing recorded.
    expect((await pressInGroup('officerB1', order.message_id, data)).text).toBe(t('refuse.not_permitted'));
    // The office's own officer, in English: not hers to receipt.
    expect((await pressInGroup('officerA2', order.message_id, data)).text).toBe(en('refuse.not_permitted'));
    // Someone the bot does not know, in English.
    expect((await pressInGroup('stranger', order.message_id, data)).text).toBe(en('refuse.stranger'));
    expect(await receipts()).toEqual([]);
    expect(buttonTexts(h.api.message(GROUP, order.message_id))).toEqual([t('button.receipt')]);
    expect(h.api.message(GROUP, cardBefore.message_id)?.text).toBe(cardBefore.text);
    expect(await h.db.db.select().from(outbox).where(and(eq(outbox.kind, 'command_receipted'), eq(outbox.incidentId, incidentA.id)))).toEqual([]);

    // The section (HQ's office): recorded, the director told, the group's card redrawn.
    h.clock.advance(MINUTE);
    expect((await pressInGroup('section', order.message_id, data)).text).toBe(t('receipt.done'));
    expect((await receipts()).map((r) => r.staffId)).toEqual([h.org.staff.section]);
    // The group's message keeps its 收到 for the others (the on-site command has yet to receipt).
    expect(buttonTexts(h.api.message(GROUP, order.message_id))).toEqual([t('button.receipt')]);
    const receipted = await h.db.db.select().from(outbox).where(and(eq(outbox.kind, 'command_receipted'), eq(outbox.incidentId, incidentA.id)));
    // The director is told in his own chat; "received your 指令" is his, not the group's, which gets its card redrawn.
    expect(receipted.map((r) => [r.recipientStaffId, r.recipientGroupId])).toEqual([[h.org.staff.director, null]]);
    expect((await sendGroupRows(groupRowId)).map((g) => g.kind)).toEqual(['card_redraw']);
    const [told] = await deliver(h, 'command_receipted', 'director');
    expect(told!.text).toContain('科员丙 已收到您的指令：立即疏散围观群众，确保人员安全');
    const redrawn = h.api.message(GROUP, cardBefore.message_id)!;
    expect(redrawn.text).toContain('✅ 已收到：科员丙');
    expect(redrawn.text).not.toContain('张三');

    // Pressed again by the section: done already, nothing more recorded.
    expect((await pressInGroup('section', order.message_id, data)).text).toBe(t('refuse.already_done'));
    expect(await receipts()).toHaveLength(1);
    // The on-site command receipts it from the group too.
    expect((await pressInGroup('headA', order.message_id, data)).text).toBe(t('receipt.done'));
    expect((await receipts()).map((r) => r.staffId).sort()).toEqual([h.org.staff.section, h.org.staff.headA].sort());
  });

  it('gets the on-site command’s 处置建议 and a 续报 to the leaders, its card current; nothing of incident B', async () => {
    h.clock.advance(MINUTE);
    await postProposal(h.deps, h.org.actor('headA'), incidentA.id, '建议联系对象家属到场劝导');
    await postProposal(h.deps, h.org.actor('headB'), incidentB.id, '乙所建议增派警力');
    h.clock.advance(MINUTE);
    await reportProgress(h.deps, h.org.actor('officerA1'), incidentA.id, { text: '对象已放下刀具，情绪趋于稳定' });
    await reportProgress(h.deps, h.org.actor('officerB1'), incidentB.id, { text: '乙所现场已控制' });

    const rows = await h.db.db.select().from(outbox).where(and(eq(outbox.recipientGroupId, groupRowId), eq(outbox.status, 'pending')));
    expect(new Set(rows.map((r) => r.incidentId))).toEqual(new Set([incidentA.id]));
    expect(rows.map((r) => r.kind)).toEqual(expect.arrayContaining(['proposal_sent', 'progress_reported']));
    // One copy of each notice, however many HQ members it went to.
    expect(rows.filter((r) => r.kind === 'proposal_sent')).toHaveLength(1);
    expect(rows.filter((r) => r.kind === 'progress_reported')).toHaveLength(1);

    const got = await sendGroupRows(groupRowId);
    const proposal = got.find((g) => g.kind === 'proposal_sent')!.message;
    expect(proposal.text).toContain('建议联系对象家属到场劝导');
    const progress = got.find((g) => g.kind === 'progress_reported')!.message;
    expect(progress.text).toContain('对象已放下刀具，情绪趋于稳定');
    expect(progress.text).not.toContain('张三');
    const card = (await groupCard(incidentA.id))!;
    expect(progress.reply_to_message_id).toBe(card.message_id);
    // The card shows what the group was just told.
    expect(card.text).toContain('建议联系对象家属到场劝导');
    expect(card.text).toContain('对象已放下刀具，情绪趋于稳定');
    expect(card.text).not.toContain('张三');
    for (const g of got) expect(g.message.text).not.toMatch(/王五|乙所/);
    expect(await groupCard(incidentB.id)).toBeUndefined();
  });
});
