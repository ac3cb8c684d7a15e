/**
 * The WeCom side of a reliability case: the WeCom stand-in beside the Bot API one, people of the seeded
 * organisation bound on WeCom (a wecom_users row, WeCom preferred, so their notices go there), what the
 * product's processes are configured with, and the counting of what reached the members against what
 * PostgreSQL says was to be sent.
 *
 * Our message numbers (outbox.telegram_message_id, incident_cards) are the product's own; WeCom's msgid
 * is kept nowhere. A card is tied to its number by wecom_cards (task_id); a text is found by what it must
 * say. A duplicate is a second copy, in one member's chat, of the same message — a text with the same
 * content, or a card that shows the same as another now — with the "re-sent" line taken out.
 */
import { inArray } from 'drizzle-orm';
import { DEFAULT_WECOM_CALLBACK_PATH } from '../../../src/channels/wecom/http.js';
import { WecomApi } from '../../../src/channels/wecom/index.js';
import type { Database } from '../../../src/db/client.js';
import { incidentCards, outbox, staff, wecomCardCodes, wecomCards, wecomProcessedCallbacks, wecomUsers } from '../../../src/db/schema.js';
import { t } from '../../../src/i18n/index.js';
import { startWecomStandIn, type StandInLimitsConfig, type WecomDriver, type WecomStandIn } from '../../../src/sandbox/wecom/index.js';
import type { BenchPerson } from '../../../bench/lib/seed.js';
import type { Sut } from '../../../bench/lib/sut.js';

export interface WecomSide {
  standIn: WecomStandIn;
  driver: WecomDriver;
  /** The WeCom userid of each person bound, by staff id. */
  userOf: Map<string, string>;
  /** The product's WeCom settings, pointed at the stand-in (for `world.start(role, { env })`). */
  env: Record<string, string>;
  /** Callbacks go to this process's HTTP server. */
  connect(sut: Sut): void;
  close(): Promise<void>;
}

/** How long the product's WeCom client waits for an answer: its default, which the app uses. */
export const WECOM_CLIENT_TIMEOUT_MS = new WecomApi({ apiRoot: 'http://127.0.0.1:1', corpId: 'unused', secret: 'unused', agentId: 1, clock: { now: () => new Date() } }).requestTimeoutMs;

export const wecomUserIdOf = (p: BenchPerson): string => `wc${p.telegramId}`;

/** Starts the stand-in and binds `people` on WeCom, preferring it. Limits are WeCom's unless told. */
export async function startWecomSide(db: Database, people: readonly BenchPerson[], opts: { limits?: false | StandInLimitsConfig } = {}): Promise<WecomSide> {
  const userOf = new Map(people.map((p) => [p.staffId, wecomUserIdOf(p)]));
  const standIn = await startWecomStandIn({ users: [...userOf.values()], ...(opts.limits !== undefined ? { limits: opts.limits } : {}) });
  const now = new Date();
  if (people.length) {
    await db.insert(wecomUsers).values(people.map((p) => ({ userid: userOf.get(p.staffId)!, staffId: p.staffId, boundAt: now })));
    await db.update(staff).set({ preferredChannel: 'wecom' }).where(inArray(staff.id, people.map((p) => p.staffId)));
  }
  const { config } = standIn;
  return {
    standIn,
    driver: standIn.driver,
    userOf,
    env: {
      WECOM_CORP_ID: config.corpId,
      WECOM_AGENT_ID: String(config.agentId),
      WECOM_SECRET: config.corpSecret,
      WECOM_TOKEN: config.callbackToken,
      WECOM_AES_KEY: config.encodingAesKey,
      WECOM_API_ROOT: standIn.url,
    },
    connect(sut) {
      if (!sut.port) throw new Error('a worker has no callback URL');
      standIn.driver.setCallbackUrl(`http://127.0.0.1:${sut.port}${DEFAULT_WECOM_CALLBACK_PATH}`);
    },
    close: () => standIn.stop(),
  };
}

/** Everything the product sent these members: texts, every rendering of every card, greyed-out labels. */
export function wecomOutboundText(driver: WecomDriver, userIds: readonly string[]): string {
  return userIds
    .flatMap((u) => [
      ...driver.messagesOf(u).map((m) => m.content ?? (m.card ? JSON.stringify(m.card) : (m.file?.filename ?? ''))),
      ...driver.cardsOf(u).flatMap((c) => [...c.renderings.map((r) => JSON.stringify(r)), c.disabledLabel ?? '']),
    ])
    .join('\n');
}

const RESENT = [t('zh', 'notice.resent'), t('en', 'notice.resent')];
const isMarked = (text: string) => RESENT.some((n) => text.includes(n));
const strip = (text: string) => RESENT.reduce((s, n) => s.split(n).join(''), text).trim();

export interface WecomDeliveryCount {
  rows: number;
  sent: number;
  /** Rows not sent, or sent but not in the member's chat as the row says. */
  lost: number;
  byStatus: Record<string, number>;
  examples: string[];
}

/**
 * Per row: sent, and there in the member's chat. A row whose number is a card's (wecom_cards) is there
 * when the member holds that card and it shows `mustShow(row)`; any other row is a text, there when one
 * of the member's texts shows it. A row about an incident also needs the member's card of it
 * (incident_cards) in their chat.
 */
export async function countWecomDelivery(db: Database, side: WecomSide, outboxIds: readonly string[], mustShow: (row: { kind: string; incidentId: string | null }) => string): Promise<WecomDeliveryCount> {
  const rows = outboxIds.length ? await db.select().from(outbox).where(inArray(outbox.id, [...outboxIds])) : [];
  const bound = rows.length ? await db.select().from(wecomUsers).where(inArray(wecomUsers.staffId, [...new Set(rows.map((r) => r.recipientStaffId))])) : [];
  const chatOf = new Map(bound.map((b) => [b.staffId, b.chatKey]));
  const cards = bound.length ? await db.select().from(wecomCards).where(inArray(wecomCards.chatKey, bound.map((b) => b.chatKey))) : [];
  const held = bound.length ? await db.select().from(incidentCards).where(inArray(incidentCards.chatId, bound.map((b) => b.chatKey))) : [];
  /** The card now showing message `messageId` in chat `chatKey`: the newest of its cards. */
  const currentTask = (chatKey: number, messageId: number) =>
    cards
      .filter((c) => c.chatKey === chatKey && c.messageId === messageId)
      .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime())
      .at(-1)?.taskId;
  const out: WecomDeliveryCount = { rows: rows.length, sent: 0, lost: 0, byStatus: {}, examples: [] };
  const lose = (why: string) => {
    out.lost++;
    if (out.examples.length < 5) out.examples.push(why);
  };
  for (const r of rows) {
    out.byStatus[r.status] = (out.byStatus[r.status] ?? 0) + 1;
    if (r.status === 'sent') out.sent++;
    const userId = side.userOf.get(r.recipientStaffId);
    const chatKey = chatOf.get(r.recipientStaffId);
    if (r.status !== 'sent' || r.telegramMessageId === null || !userId || chatKey === undefined) {
      lose(`row ${r.id}: ${r.status}`);
      continue;
    }
    const want = mustShow(r);
    const task = currentTask(chatKey, r.telegramMessageId);
    if (task) {
      const card = side.driver.cardOf(userId, task);
      if (!card || !JSON.stringify(card.card).includes(want)) lose(`row ${r.id}: its card ${card ? 'does not show it' : 'is not in the chat'}`);
    } else if (!side.driver.messagesOf(userId).some((m) => (m.content ?? '').includes(want))) {
      lose(`row ${r.id}: no text in the chat shows it`);
    }
    if (r.incidentId) {
      const mine = held.find((h) => h.incidentId === r.incidentId && h.chatId === chatKey);
      const cardTask = mine ? currentTask(chatKey, mine.messageId) : undefined;
      if (!cardTask || !side.driver.cardOf(userId, cardTask)) lose(`row ${r.id}: the incident's card is not in the chat`);
    }
  }
  return out;
}

/** What a card shows, as text: its task_id out, the "re-sent" note of its quote kept (it is taken out when grouping). */
function shownOf(card: Record<string, unknown>): string {
  const { task_id: _task, quote_area: quote, ...rest } = card;
  const q = quote as { quote_text?: string } | undefined;
  const note = q?.quote_text ? RESENT.find((n) => q.quote_text!.includes(n)) : undefined;
  const kept = q?.quote_text !== undefined && strip(q.quote_text) !== '' ? { ...q, quote_text: strip(q.quote_text) } : undefined;
  return `${note ?? ''}${JSON.stringify({ ...rest, ...(kept ? { quote_area: kept } : {}) })}`;
}

export interface WecomDuplicates {
  duplicates: number;
  /** Later copies with the "re-sent" line, and copies without it beyond the first. */
  marked: number;
  unmarked: number;
  byCause: Record<string, number>;
  unexplained: number;
  examples: string[];
}

/**
 * Duplicates in the members' chats, by cause. `explain(copy)` names what made that copy's delivery, or
 * its card's last change, ambiguous (a request that took effect and answered after the product gave
 * up), or nothing. A
 * duplicate is right only when one of its copies has such a cause, and only one copy may lack the
 * "re-sent" line (an ambiguous original may land after its re-send).
 */
/** A copy in a member's chat, for naming a duplicate's cause: its msgid, and for a card when it last changed. */
export interface WecomCopy {
  msgId: string;
  kind: 'text' | 'card';
  /** A card's last update (ms, the stand-in's clock). */
  updatedAt?: number;
}

export function wecomDuplicatesByCause(driver: WecomDriver, userIds: readonly string[], explain: (copy: WecomCopy) => string | undefined): WecomDuplicates {
  const out: WecomDuplicates = { duplicates: 0, marked: 0, unmarked: 0, byCause: {}, unexplained: 0, examples: [] };
  const bump = (k: string, by = 1) => (out.byCause[k] = (out.byCause[k] ?? 0) + by);
  for (const userId of userIds) {
    // Texts as sent; cards as they show now (a redraw changes a card, a re-sent card is a card of its own).
    const copies = [
      ...driver
        .messagesOf(userId)
        .filter((m) => m.msgtype === 'text' || m.msgtype === 'markdown')
        .map((m) => ({ copy: { msgId: m.msgId, kind: 'text' as const }, text: m.content ?? '' })),
      ...driver.cardsOf(userId).map((c) => ({ copy: { msgId: c.msgId, kind: 'card' as const, updatedAt: c.updatedAt }, text: `${shownOf(c.card)}${c.disabledLabel ?? ''}` })),
    ];
    const groups = new Map<string, typeof copies>();
    // Alike once the "re-sent" line is out (a card's note is its quote, or the start of it).
    for (const c of copies) groups.set(strip(c.text), [...(groups.get(strip(c.text)) ?? []), c]);
    for (const group of groups.values()) {
      if (group.length < 2) continue;
      const extra = group.length - 1;
      out.duplicates += extra;
      const marked = group.filter((c) => isMarked(c.text)).length;
      out.marked += Math.min(marked, extra);
      const unmarked = Math.max(0, group.length - marked - 1);
      out.unmarked += unmarked;
      if (unmarked && out.examples.length < 5) out.examples.push(`${userId}: ${group.length} copies, ${unmarked + 1} without the "re-sent" line`);
      const causes = group.map((c) => explain(c.copy)).filter((c): c is string => c !== undefined).slice(0, extra);
      for (const c of causes) bump(c);
      const unexplained = extra - causes.length;
      if (unexplained) {
        bump('unexplained', unexplained);
        out.unexplained += unexplained;
        if (out.examples.length < 5) out.examples.push(`${userId}: ${group.length} copies, ${unexplained} not after an ambiguous outcome`);
      }
    }
  }
  return out;
}

/** Every row of the wecom_* tables, as text, for scanning. */
export async function wecomRowsText(db: Database): Promise<{ rows: number; text: string }> {
  const parts = [
    ...(await db.select().from(wecomUsers)),
    ...(await db.select().from(wecomCards)),
    ...(await db.select().from(wecomCardCodes)),
    ...(await db.select().from(wecomProcessedCallbacks)),
  ].map((r) => JSON.stringify(r));
  return { rows: parts.length, text: parts.join('\n') };
}

/** The sum of what a member has: messages, card renderings, greyed-out cards — it grows with every answer. */
function progressOf(driver: WecomDriver, userId: string): number {
  return driver.messagesOf(userId).length + driver.cardsOf(userId).reduce((n, c) => n + c.renderings.length + (c.disabledLabel !== undefined ? 1 : 0), 0);
}

/** Does `action` as the member, then waits until the product has answered and gone quiet. */
async function act(driver: WecomDriver, userId: string, action: () => Promise<unknown>, timeoutMs = 30_000): Promise<void> {
  const before = progressOf(driver, userId);
  await action();
  const deadline = Date.now() + timeoutMs;
  let last = before;
  let quietSince = 0;
  for (;;) {
    await new Promise((r) => setTimeout(r, 50));
    const now = progressOf(driver, userId);
    if (now !== last) {
      last = now;
      quietSince = Date.now();
    }
    if (last !== before && Date.now() - quietSince >= 200) return;
    if (Date.now() > deadline) throw new Error(`${userId}: no answer within ${timeoutMs} ms`);
  }
}

/** Presses the button whose text contains `text` on the member's newest card. */
async function press(driver: WecomDriver, userId: string, text: string): Promise<void> {
  const newest = driver
    .messagesOf(userId)
    .filter((m) => m.msgtype === 'template_card' && m.taskId)
    .at(-1);
  const card = newest?.taskId ? driver.cardOf(userId, newest.taskId) : undefined;
  const buttons = ((card?.card['button_list'] as Array<{ text: string; key?: string }> | undefined) ?? []).filter((b) => b.key !== undefined);
  const b = buttons.find((x) => x.text.includes(text));
  if (!card || !b) throw new Error(`${userId}: no button "${text}" (${buttons.map((x) => x.text).join(' | ')})`);
  await act(driver, userId, () => driver.pressButton(userId, card.taskId, b.key!));
}

/**
 * The report form on WeCom, as an officer fills it in: type 四 (absconding), the subject found by what
 * they type (a name, an ID number or a code) and picked by its code, found now, a place, no casualties,
 * a description, submitted.
 */
export async function reportOnWecom(driver: WecomDriver, userId: string, subjectQuery: string, subjectCode: string): Promise<void> {
  const type = async (text: string) => act(driver, userId, () => driver.typeText(userId, text));
  await type('/report');
  await press(driver, userId, '四、');
  await type(subjectQuery);
  await press(driver, userId, subjectCode);
  await press(driver, userId, t('zh', 'button.now'));
  await type('和睦新村 3 幢');
  await press(driver, userId, t('zh', 'button.casualties_none'));
  await type('对象今日未按时报到，电话关机。');
  await press(driver, userId, t('zh', 'button.next'));
  await press(driver, userId, t('zh', 'button.submit_report'));
}
