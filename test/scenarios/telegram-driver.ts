/**
 * The scenario table on Telegram, through the Bot API stand-in (src/sandbox) and the bot in webhook
 * mode (test/helpers/bot-harness.ts). A person is their seeded Telegram user; "press" is a callback
 * query on the newest message that shows the button (a message the bot edited counts as new again),
 * and a press's answer (its toast) is among what the person saw. The card is the message the product
 * holds as the person's card of the incident (incident_cards); the checklist is that card's text, one
 * line a step. A forged call is a webhook POST with a wrong X-Telegram-Bot-Api-Secret-Token: the
 * route answers 403 before reading it, and records it in the audit trail (`telegram.webhook.refused`).
 */
import { and, eq, gt } from 'drizzle-orm';
import { cardMessageOf } from '../../src/db/repositories/card-message.repository.js';
import { auditLog } from '../../src/db/schema.js';
import { langOf, type Lang, type MessageKey } from '../../src/i18n/index.js';
import type { SandboxMessage } from '../../src/sandbox/bot-api-server.js';
import type { BotHarness } from '../helpers/bot-harness.js';
import { TG } from '../helpers/fixtures.js';
import { matchLabel, STAFF_OF, type ChannelDriver } from './driver.js';
import type { Person } from './table.js';

interface Mark {
  lastId: number;
  /** How many versions each message had (its history, plus the current one). */
  versions: Map<number, number>;
  answers: number;
}

export class TelegramDriver implements ChannelDriver {
  readonly channel = 'telegram' as const;
  private seq = 0;
  private readonly touched = new Map<string, { sig: string; seq: number }>();
  private readonly answers = new Map<Person, string[]>();
  private readonly scenarioMarks = new Map<Person, Mark>();
  private readonly actionMarks = new Map<Person, Mark>();
  private readonly people = new Set<Person>();
  private forged: { status: number; auditAfter: number } | undefined;
  private forgedUpdateId = 900_000_000;

  constructor(private readonly h: BotHarness) {}

  private chat(person: Person): number {
    return person === 'stranger' ? TG.stranger : TG[STAFF_OF[person]];
  }

  async bind(person: Person): Promise<void> {
    // Seeded on Telegram already (fixtures.ts): the chat is theirs.
    this.people.add(person);
  }

  async type(person: Person, text: string): Promise<void> {
    this.h.api.sendText(this.chat(person), text);
    await this.h.idle();
  }

  async press(person: Person, label: string): Promise<void> {
    const { message, data } = this.find(person, label);
    const { callbackQueryId } = this.h.api.pressButton(this.chat(person), message.message_id, data);
    await this.h.idle();
    const answer = await this.h.api.waitForCallbackAnswer(callbackQueryId, { timeoutMs: 5_000 });
    if (answer.text) this.answersOf(person).push(answer.text);
  }

  async openStep(person: Person, ordinal: number): Promise<void> {
    // Telegram's card has a button per open step: "⬜ 1. …".
    await this.press(person, `⬜ ${ordinal}.`);
  }

  async forgePress(person: Person, label: string): Promise<void> {
    const { message, data } = this.find(person, label);
    const from = { id: this.chat(person), is_bot: false, first_name: person };
    await this.postForged({ callback_query: { id: `forged-${this.forgedUpdateId}`, from, chat_instance: String(this.chat(person)), message: message.raw, data } });
  }

  async forgeText(person: Person, text: string): Promise<void> {
    const chat = this.chat(person);
    const from = { id: chat, is_bot: false, first_name: person };
    await this.postForged({ message: { message_id: 1, date: Math.floor(this.h.clock.now().getTime() / 1000), chat: { id: chat, type: 'private' }, from, text } });
  }

  private async postForged(update: Record<string, unknown>): Promise<void> {
    const auditAfter = await this.lastAuditId();
    const response = await fetch(this.h.webhookUrl!, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': 'not-the-secret-of-this-bot' },
      body: JSON.stringify({ update_id: ++this.forgedUpdateId, ...update }),
    });
    await response.arrayBuffer();
    await this.h.idle();
    this.forged = { status: response.status, auditAfter };
  }

  async forgeryRecorded(): Promise<boolean> {
    if (!this.forged) return false;
    const rows = await this.h.db.db.select().from(auditLog).where(and(eq(auditLog.action, 'telegram.webhook.refused'), gt(auditLog.id, this.forged.auditAfter)));
    return this.forged.status === 403 && rows.some((r) => (r.data as { reason?: string }).reason === 'wrong_secret_token');
  }

  private async lastAuditId(): Promise<number> {
    const [row] = await this.h.db.sql`select coalesce(max(id), 0)::int as id from audit_log`;
    return row!.id as number;
  }

  rescan(): void {
    for (const person of this.people) {
      for (const m of this.h.api.botMessages(this.chat(person))) {
        const key = `${m.chat_id}:${m.message_id}`;
        const sig = JSON.stringify([m.text, m.caption, m.reply_markup, m.deleted]);
        if (this.touched.get(key)?.sig !== sig) this.touched.set(key, { sig, seq: ++this.seq });
      }
    }
  }

  private mark(person: Person): Mark {
    const messages = this.h.api.botMessages(this.chat(person));
    return {
      lastId: Math.max(0, ...messages.map((m) => m.message_id)),
      versions: new Map(messages.map((m) => [m.message_id, m.history.length + 1])),
      answers: this.answersOf(person).length,
    };
  }

  markScenario(person: Person): void {
    this.scenarioMarks.set(person, this.mark(person));
  }

  markAction(person: Person): void {
    this.actionMarks.set(person, this.mark(person));
  }

  private since(person: Person, mark: Mark | undefined): string[] {
    const out: string[] = [];
    for (const m of this.h.api.botMessages(this.chat(person))) {
      const versions = [...m.history.map((v) => v.text ?? v.caption ?? ''), m.text ?? m.caption ?? ''];
      const had = mark ? (m.message_id > mark.lastId ? 0 : (mark.versions.get(m.message_id) ?? 0)) : 0;
      out.push(...versions.slice(had));
    }
    out.push(...this.answersOf(person).slice(mark?.answers ?? 0));
    return out;
  }

  seen(person: Person): string[] {
    return this.since(person, this.scenarioMarks.get(person));
  }

  seenSinceAction(person: Person): string[] {
    return this.since(person, this.actionMarks.get(person));
  }

  async card(person: Person, incidentId: string): Promise<string | undefined> {
    const held = await cardMessageOf(this.h.db.db, incidentId, this.chat(person));
    const m = held ? this.h.api.message(this.chat(person), held.messageId) : undefined;
    if (!m) return undefined;
    return [m.text ?? '', ...this.h.api.inlineButtons(m).map((b) => b.text)].join('\n');
  }

  async checklist(person: Person, incidentId: string): Promise<string[]> {
    return ((await this.card(person, incidentId)) ?? '').split('\n');
  }

  lang(person: Person): Lang {
    return langOf(this.h.api.users().find((u) => u.id === this.chat(person))?.language_code);
  }

  refusalKey(key: MessageKey): MessageKey {
    return key;
  }

  private answersOf(person: Person): string[] {
    let list = this.answers.get(person);
    if (!list) this.answers.set(person, (list = []));
    return list;
  }

  /** The newest message in the person's chat with a button of this label, and the button's data. */
  private find(person: Person, label: string): { message: SandboxMessage; data: string } {
    const chat = this.chat(person);
    const candidates = this.h.api
      .botMessages(chat)
      .filter((m) => !m.deleted && this.h.api.inlineButtons(m).length > 0)
      .sort((a, b) => (this.touched.get(`${chat}:${b.message_id}`)?.seq ?? 0) - (this.touched.get(`${chat}:${a.message_id}`)?.seq ?? 0) || b.message_id - a.message_id);
    for (const message of candidates) {
      const b = matchLabel(this.h.api.inlineButtons(message), label);
      if (b?.callback_data) return { message, data: b.callback_data };
    }
    const shown = candidates.slice(0, 3).map((m) => this.h.api.inlineButtons(m).map((b) => b.text).join(' | '));
    throw new Error(`${person} has no button "${label}" on Telegram; the newest keyboards: ${shown.join(' ‖ ')}`);
  }
}
