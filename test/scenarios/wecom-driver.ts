/**
 * The scenario table on WeCom, through the WeCom stand-in (src/sandbox/wecom): every action is a
 * signed, encrypted callback to the product's callback URL, every look reads what the member's WeCom
 * shows. A person is a member of the directory (their userid: the table's name in lower case), bound
 * with the same single-use invite typed as `/start <code>`, and then on WeCom only.
 *
 * Where WeCom differs from Telegram, and what this driver does so that the table need not say it:
 * - A button card shows at most 6 buttons. The rest sit behind 更多…, which opens them as a choice card
 *   (vote_interaction). "press X" presses X on the newest card that shows it, else taps 更多… on the
 *   newest card that holds X there and picks X in the choice.
 * - There is no button per checklist step. "openStep n" taps 📋 处置清单 on the person's incident card and
 *   picks step n in the choice it opens; the card then shows that step with 已完成 / 不适用 / 备注.
 * - The incident card shows counts and the next due step, not every step. "the checklist" is the list
 *   处置清单 sends above its choice (one line a step, ✅ for done), so reading it taps 处置清单.
 * - A card is redrawn in place with a response_code; with none left a new card takes its place and the
 *   old one is greyed out: a greyed-out card is no candidate for a press. A card's buttons behind 更多…
 *   count as the card's for `cardShows` / `cardLacks`.
 * - A press has no toast: its answer, when it has words, is a message, and so among what was seen.
 * - WeCom names an event by its sender and second (FromUserName + CreateTime): the same tap twice within
 *   one second is one delivery, dropped the second time. Reading the checklist taps 处置清单, so it takes
 *   a second of the clock, as every action of a person takes a few (run.ts).
 * - A stranger's language is not known (a callback carries none): the refusal is in Chinese, in WeCom's
 *   own words (wecom.refuse.stranger: send /start with the code, where Telegram's speaks of a link).
 * - A forged call is a callback whose msg_signature is wrong: the route answers 403 and writes
 *   wecom.callback.refused (bad_signature) to the audit trail.
 */
import { and, eq, gt } from 'drizzle-orm';
import { cardMessageOf } from '../../src/db/repositories/card-message.repository.js';
import { insertInvite } from '../../src/db/repositories/invite.repository.js';
import { currentWecomCard, wecomCardByTask, wecomUserOfStaff } from '../../src/db/repositories/wecom.repository.js';
import { auditLog, staff } from '../../src/db/schema.js';
import { t, type Lang, type MessageKey } from '../../src/i18n/index.js';
import type { CardState, WecomStandIn } from '../../src/sandbox/wecom/index.js';
import type { BotHarness } from '../helpers/bot-harness.js';
import { channelKey, matchLabel, STAFF_OF, type ChannelDriver } from './driver.js';
import type { Person } from './table.js';

type Json = Record<string, unknown>;

interface Mark {
  messages: number;
  renderings: Map<string, number>;
}

/** The words of a card as the member reads them: titles, rows, texts, buttons and options. */
export function cardWords(card: Json): string[] {
  const skip = new Set(['task_id', 'key', 'question_key', 'id', 'card_type', 'url', 'type', 'style', 'mode', 'selected_id']);
  const out: string[] = [];
  const walk = (v: unknown, key: string) => {
    if (skip.has(key)) return;
    if (typeof v === 'string') out.push(v);
    else if (Array.isArray(v)) for (const x of v) walk(x, key);
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, k);
  };
  walk(card, '');
  return out;
}

const buttonsOf = (card: CardState) => ((card.card['button_list'] as Array<{ text: string; key?: string; type?: number }> | undefined) ?? []).filter((b) => b.key !== undefined && b.type !== 1) as Array<{ text: string; key: string }>;
const optionsOf = (card: CardState) => ((card.card['checkbox'] as { option_list?: Array<{ id: string; text: string }> } | undefined)?.option_list ?? []);

export class WecomDriver implements ChannelDriver {
  readonly channel = 'wecom' as const;
  private seq = 0;
  private readonly touched = new Map<string, { sig: string; seq: number }>();
  private readonly scenarioMarks = new Map<Person, Mark>();
  private readonly actionMarks = new Map<Person, Mark>();
  private readonly people = new Set<Person>();
  private forged: { status: number; auditAfter: number } | undefined;
  private invites = 0;
  /** Each bound person's language, from their staff record. */
  private readonly languages = new Map<Person, Lang>();

  constructor(
    private readonly h: BotHarness,
    private readonly s: WecomStandIn,
    /** Resolves once the product has handled every callback sent so far. */
    private readonly idle: () => Promise<void>,
  ) {}

  /** The member's userid. */
  userOf(person: Person): string {
    return person.toLowerCase();
  }

  async bind(person: Person): Promise<void> {
    const user = this.userOf(person);
    this.s.driver.addUser(user);
    this.people.add(person);
    if (person === 'stranger') return;
    const key = STAFF_OF[person];
    const actor = this.h.org.actor(key);
    const code = `scenario-invite-${++this.invites}-${user}`;
    const now = this.h.clock.now();
    await insertInvite(this.h.db.db, { code, unitId: actor.unitId, positionKind: actor.positions[0]!, staffId: this.h.org.staff[key], createdBy: 'scenario', createdAt: now, expiresAt: new Date(now.getTime() + 3_600_000) });
    await this.s.driver.typeText(user, `/start ${code}`);
    await this.idle();
    if (!(await wecomUserOfStaff(this.h.db.db, this.h.org.staff[key]))) throw new Error(`${person} was not bound on WeCom: ${JSON.stringify(this.s.driver.messagesOf(user).at(-1))}`);
    const [row] = await this.h.db.db.select({ language: staff.language }).from(staff).where(eq(staff.id, this.h.org.staff[key]));
    this.languages.set(person, row?.language === 'en' ? 'en' : 'zh');
    // On WeCom only: their notices come here, and Telegram knows them no more.
    await this.h.db.db.update(staff).set({ telegramUserId: null, chatId: null }).where(eq(staff.id, this.h.org.staff[key]));
  }

  async type(person: Person, text: string): Promise<void> {
    await this.s.driver.typeText(this.userOf(person), text);
    await this.idle();
  }

  async press(person: Person, label: string): Promise<void> {
    const user = this.userOf(person);
    const found = await this.find(person, label);
    if (found.via === 'button') await this.s.driver.pressButton(user, found.card.taskId, found.key);
    else if (found.via === 'option') await this.s.driver.submitVote(user, found.card.taskId, [found.key]);
    else await this.throughMore(person, found.card, label);
    await this.idle();
  }

  /** Taps 更多… on the card and picks `label` in the choice it opens. */
  private async throughMore(person: Person, card: CardState, label: string): Promise<void> {
    const user = this.userOf(person);
    const more = matchLabel(buttonsOf(card), t(this.lang(person), 'wecom.button.more'))!;
    await this.s.driver.pressButton(user, card.taskId, more.key);
    await this.idle();
    const choice = this.s.driver.cardsOf(user).filter((c) => c.cardType === 'vote_interaction').at(-1);
    const option = choice ? matchLabel(optionsOf(choice), label) : undefined;
    if (!choice || !option) throw new Error(`${person}: 更多… opened no choice with "${label}"`);
    await this.s.driver.submitVote(user, choice.taskId, [option.id]);
  }

  async openStep(person: Person, ordinal: number, incidentId: string): Promise<void> {
    await this.openChecklist(person, incidentId);
    const user = this.userOf(person);
    const choice = this.s.driver.cardsOf(user).filter((c) => c.cardType === 'vote_interaction' && c.disabledLabel === undefined).at(-1);
    const option = choice ? optionsOf(choice).find((o) => o.text.startsWith(`${ordinal}.`)) : undefined;
    if (!choice || !option) throw new Error(`${person}: 处置清单 offers no step ${ordinal}: ${choice ? optionsOf(choice).map((o) => o.text).join(' | ') : 'no choice card'}`);
    await this.s.driver.submitVote(user, choice.taskId, [option.id]);
    await this.idle();
  }

  /** Taps 📋 处置清单 on the person's card of the incident. */
  private async openChecklist(person: Person, incidentId: string): Promise<void> {
    const label = t(this.lang(person), 'wecom.button.steps');
    const card = await this.incidentCard(person, incidentId);
    if (!card) throw new Error(`${person} holds no WeCom card of the incident`);
    const button = matchLabel(buttonsOf(card), label);
    if (button) await this.s.driver.pressButton(this.userOf(person), card.taskId, button.key);
    else await this.throughMore(person, card, label);
    await this.idle();
  }

  async forgePress(person: Person, label: string): Promise<void> {
    const found = await this.find(person, label);
    if (found.via !== 'button') throw new Error(`${person}: "${label}" is not a button on a card`);
    const auditAfter = await this.lastAuditId();
    const d = await this.s.driver.forgeBadSignaturePress(this.userOf(person), found.card.taskId, found.key);
    await this.idle();
    this.forged = { status: d.status, auditAfter };
  }

  async forgeText(person: Person, text: string): Promise<void> {
    const auditAfter = await this.lastAuditId();
    const d = await this.s.driver.forgeBadSignature(this.userOf(person), text);
    await this.idle();
    this.forged = { status: d.status, auditAfter };
  }

  async forgeryRecorded(): Promise<boolean> {
    if (!this.forged) return false;
    const rows = await this.h.db.db.select().from(auditLog).where(and(eq(auditLog.action, 'wecom.callback.refused'), gt(auditLog.id, this.forged.auditAfter)));
    return this.forged.status === 403 && rows.some((r) => (r.data as { reason?: string }).reason === 'bad_signature');
  }

  private async lastAuditId(): Promise<number> {
    const [row] = await this.h.db.sql`select coalesce(max(id), 0)::int as id from audit_log`;
    return row!.id as number;
  }

  rescan(): void {
    for (const person of this.people) {
      for (const card of this.s.driver.cardsOf(this.userOf(person))) {
        const sig = `${card.renderings.length}|${card.disabledLabel ?? ''}`;
        if (this.touched.get(card.taskId)?.sig !== sig) this.touched.set(card.taskId, { sig, seq: ++this.seq });
      }
    }
  }

  private mark(person: Person): Mark {
    const user = this.userOf(person);
    return {
      messages: this.s.driver.messagesOf(user).length,
      renderings: new Map(this.s.driver.cardsOf(user).map((c) => [c.taskId, c.renderings.length])),
    };
  }

  markScenario(person: Person): void {
    this.scenarioMarks.set(person, this.mark(person));
  }

  markAction(person: Person): void {
    this.actionMarks.set(person, this.mark(person));
  }

  private since(person: Person, mark: Mark | undefined): string[] {
    const user = this.userOf(person);
    const out: string[] = [];
    for (const m of this.s.driver.messagesOf(user).slice(mark?.messages ?? 0)) {
      if (m.content !== undefined) out.push(m.content);
      if (m.file) out.push(m.file.filename);
    }
    for (const card of this.s.driver.cardsOf(user)) {
      for (const r of card.renderings.slice(mark?.renderings.get(card.taskId) ?? 0)) out.push(cardWords(r).join('\n'));
      if (card.disabledLabel !== undefined) out.push(card.disabledLabel);
    }
    return out;
  }

  seen(person: Person): string[] {
    return this.since(person, this.scenarioMarks.get(person));
  }

  seenSinceAction(person: Person): string[] {
    return this.since(person, this.actionMarks.get(person));
  }

  /** The card the product holds as the person's card of the incident, as the member's WeCom shows it now. */
  private async incidentCard(person: Person, incidentId: string): Promise<CardState | undefined> {
    if (person === 'stranger') return undefined;
    const bound = await wecomUserOfStaff(this.h.db.db, this.h.org.staff[STAFF_OF[person]]);
    if (!bound) return undefined;
    const held = await cardMessageOf(this.h.db.db, incidentId, bound.chatKey);
    const row = held ? await currentWecomCard(this.h.db.db, bound.chatKey, held.messageId) : undefined;
    return row ? this.s.driver.cardOf(this.userOf(person), row.taskId) : undefined;
  }

  async card(person: Person, incidentId: string): Promise<string | undefined> {
    const card = await this.incidentCard(person, incidentId);
    if (!card) return undefined;
    const row = await wecomCardByTask(this.h.db.db, card.taskId);
    const behindMore = Array.isArray(row?.overflow) ? (row.overflow as Array<{ text: string }>).map((o) => o.text) : [];
    return [...cardWords(card.card), ...behindMore].join('\n');
  }

  async checklist(person: Person, incidentId: string): Promise<string[]> {
    const user = this.userOf(person);
    const before = this.s.driver.messagesOf(user).length;
    // Looking is a tap too, and a second apart from any other: WeCom names an event by its sender and
    // second (FromUserName + CreateTime), so the same tap twice in one second is one delivery.
    this.h.clock.advance(1000);
    await this.openChecklist(person, incidentId);
    this.rescan();
    return this.s.driver
      .messagesOf(user)
      .slice(before)
      .flatMap((m) => (m.content ?? '').split('\n'))
      .map((line) => line.replace(/\*\*/g, '').trim());
  }

  lang(person: Person): Lang {
    return this.languages.get(person) ?? 'zh';
  }

  refusalKey(key: MessageKey): MessageKey {
    return channelKey('wecom', key);
  }

  /**
   * The newest card with a button or option of this label, or the newest whose 更多… holds it. Cards
   * greyed out (replaced, closed, picked) cannot be pressed.
   */
  private async find(person: Person, label: string): Promise<{ via: 'button' | 'option'; card: CardState; key: string } | { via: 'more'; card: CardState }> {
    const user = this.userOf(person);
    const cards = this.s.driver.cardsOf(user);
    const order = new Map(cards.map((c, i) => [c.taskId, i]));
    const candidates = cards
      .filter((c) => c.disabledLabel === undefined)
      .sort((a, b) => (this.touched.get(b.taskId)?.seq ?? 0) - (this.touched.get(a.taskId)?.seq ?? 0) || order.get(b.taskId)! - order.get(a.taskId)!);
    const more = t(this.lang(person), 'wecom.button.more');
    for (const card of candidates) {
      if (card.cardType === 'button_interaction') {
        const b = matchLabel(buttonsOf(card).filter((x) => x.text !== more), label);
        if (b) return { via: 'button', card, key: b.key };
        if (buttonsOf(card).some((x) => x.text === more)) {
          const row = await wecomCardByTask(this.h.db.db, card.taskId);
          const overflow = Array.isArray(row?.overflow) ? (row.overflow as Array<{ text: string }>) : [];
          if (matchLabel(overflow, label)) return { via: 'more', card };
        }
      } else if (card.cardType === 'vote_interaction') {
        const o = matchLabel(optionsOf(card), label);
        if (o) return { via: 'option', card, key: o.id };
      }
    }
    const shown = candidates.slice(0, 3).map((c) => [...buttonsOf(c).map((b) => b.text), ...optionsOf(c).map((o) => o.text)].join(' | '));
    throw new Error(`${person} has no button "${label}" on WeCom; the newest cards: ${shown.join(' ‖ ')}`);
  }
}
