/**
 * The notification rule, end to end on real queues and the Bot API stand-in, for every kind of change:
 * 签收, 续报, a step, a role, 上报上一级, 通报检察院, closing. After each change and once the sends have
 * settled:
 * - every holder's card (the chat's one card of the incident: incident_cards) shows the current version,
 *   leaders' and the second section holder's included;
 * - every event is a new message that replies to that person's card;
 * - no event was rewritten into another;
 * - no message in any chat offers a button of the incident drawn at another version, and only the card does.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeCallback } from '../../src/channels/telegram/callback-data.js';
import {
  acknowledgeIncident,
  closeIncident,
  markProcuratorateNotified,
  markStep,
  markUpperReported,
  reportProgress,
  setRole,
} from '../../src/services/incident.service.js';
import { TG } from '../helpers/fixtures.js';
import { fastPolicy, reportViolentCrime, startHarness, waitFor, waitForSendsSettled, type Harness } from '../jobs/harness.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness({ backend: 'redis', policy: fastPolicy({ ackSeconds: { critical: 1, standard: 1 } }) });
});
afterAll(async () => h?.close());

const CHATS = [TG.section, TG.section2, TG.headA, TG.deputy, TG.director, TG.officerA1, TG.officerA2] as const;

/** Every event seen so far, by chat and message id, with the text it arrived with. */
const seenEvents = new Map<string, string>();

async function checkTheRule(incident: { id: string; number: string }, when: string): Promise<void> {
  await waitForSendsSettled(h);
  const [row] = await h.t.sql`select version from incidents where id = ${incident.id}`;
  const version = Number(row!.version);
  const cards = await h.t.sql`select chat_id, message_id, drawn_version from incident_cards where incident_id = ${incident.id}`;
  const cardOf = new Map(cards.map((c) => [Number(c.chat_id), { messageId: Number(c.message_id), drawnVersion: Number(c.drawn_version) }]));
  for (const chat of CHATS) {
    const card = cardOf.get(chat);
    const messages = h.api.botMessages(chat).filter((m) => (m.text ?? '').includes(incident.number));
    if (!card) {
      expect(messages, `${when}: chat ${chat} has messages of the incident but no card`).toEqual([]);
      continue;
    }
    expect(card.drawnVersion, `${when}: the card in chat ${chat}`).toBe(version);
    for (const m of messages) {
      const buttons = h.api.inlineButtons(m).map((b) => decodeCallback(b.callback_data)).filter((d) => d?.i === incident.id && d.v !== undefined);
      if (m.message_id === card.messageId) {
        for (const b of buttons) expect(b!.v, `${when}: a button of the card in chat ${chat}`).toBe(version);
        continue;
      }
      expect(buttons, `${when}: message ${m.message_id} in chat ${chat} is not the card but offers the incident's buttons`).toEqual([]);
      if (m.reply_to_message_id === undefined) continue; // a superseded card: a pointer, no buttons
      const key = `${chat}:${m.message_id}`;
      const first = seenEvents.get(key);
      if (first === undefined) seenEvents.set(key, m.text ?? '');
      else expect(m.text, `${when}: event ${key} was rewritten`).toBe(first);
      expect(m.edit_date, `${when}: event ${key} was edited`).toBeUndefined();
    }
  }
}

/** The events of the incident in a chat that arrived after `after` (a message id). */
const eventsIn = (chat: number, number: string, after = 0) =>
  h.api.botMessages(chat).filter((m) => m.message_id > after && m.reply_to_message_id !== undefined && (m.text ?? '').includes(number));

describe('the notification rule', { shuffle: false }, () => {
  let incident: { id: string; number: string; version: number };

  it('a new report and its escalations: a card each, and each event replies to it', async () => {
    ({ incident } = await reportViolentCrime(h, '通知规则：每个变化'));
    await h.api.waitForBotMessage(TG.director, (m) => (m.text ?? '').includes('未按时签收') && (m.text ?? '').includes(incident.number), { after: 0, timeoutMs: 10_000 });
    await checkTheRule(incident, 'after the report and the ladder');
    for (const chat of [TG.section, TG.section2, TG.headA, TG.deputy, TG.director]) {
      const events = eventsIn(chat, incident.number);
      expect(events.length, `events in chat ${chat}`).toBeGreaterThan(0);
      const [card] = await h.t.sql`select message_id from incident_cards where incident_id = ${incident.id} and chat_id = ${chat}`;
      for (const e of events) expect(e.reply_to_message_id).toBe(Number(card!.message_id));
    }
  }, 30_000);

  it('签收: every card is redrawn in place, and nobody is told again of what needs no attention', async () => {
    const before = Math.max(...CHATS.flatMap((c) => h.api.botMessages(c).map((m) => m.message_id)), 0);
    await acknowledgeIncident(h.deps, h.org.actor('section'), incident.id);
    await checkTheRule(incident, 'after 签收');
    for (const chat of [TG.deputy, TG.director]) expect(eventsIn(chat, incident.number, before)).toEqual([]);
  }, 30_000);

  it('续报: the leaders’ cards are current, and those who must hear it get an event', async () => {
    const before = Math.max(...CHATS.flatMap((c) => h.api.botMessages(c).map((m) => m.message_id)), 0);
    await reportProgress(h.deps, h.org.actor('officerA1'), incident.id, { text: '民警已到场，对象情绪稳定。' });
    await checkTheRule(incident, 'after 续报');
    const told = eventsIn(TG.section, incident.number, before);
    expect(told).toHaveLength(1);
    expect(told[0]!.text).toContain('民警已到场');
  }, 30_000);

  it('a step, a role, 上报上一级 and 通报检察院: each redraws every card', async () => {
    await markStep(h.deps, h.org.actor('officerA1'), incident.id, { ordinal: 1 }, { kind: 'done' });
    await checkTheRule(incident, 'after a step');
    await setRole(h.deps, h.org.actor('section'), incident.id, 'group_onsite', h.org.staff.officerA2, true);
    await checkTheRule(incident, 'after a role');
    const assigned = eventsIn(TG.officerA2, incident.number);
    expect(assigned).toHaveLength(1);
    expect(assigned[0]!.text).toContain('put you in'); // 科员乙 reads English: 编入, not 担任, in Chinese
    await markUpperReported(h.deps, h.org.actor('section'), incident.id, 'phone');
    await checkTheRule(incident, 'after 上报上一级');
    await markProcuratorateNotified(h.deps, h.org.actor('section'), incident.id, 'written');
    await checkTheRule(incident, 'after 通报检察院');
    const [deputyCard] = await h.t.sql`select message_id from incident_cards where incident_id = ${incident.id} and chat_id = ${TG.deputy}`;
    const card = h.api.message(TG.deputy, Number(deputyCard!.message_id))!;
    // The deputy's card no longer offers 上报上一级 once it is done.
    expect(h.api.inlineButtons(card).some((b) => b.callback_data?.startsWith('upper:'))).toBe(false);
  }, 40_000);

  it('closing: every holder hears of it in a new message replying to their card, and the cards show it closed', async () => {
    const before = Math.max(...CHATS.flatMap((c) => h.api.botMessages(c).map((m) => m.message_id)), 0);
    await closeIncident(h.deps, h.org.actor('section'), incident.id, { cause: '邻里纠纷激化', lessons: '走访不够', measures: '每周谈话一次', openDutiesReason: '其余步骤由派出所办理' });
    await checkTheRule(incident, 'after closing');
    const closedEvents = CHATS.flatMap((c) => eventsIn(c, incident.number, before));
    expect(closedEvents.length).toBeGreaterThan(0);
    for (const e of closedEvents) expect(e.text).toMatch(/已结案|Closed by/);
    await waitFor(async () => {
      const [c] = await h.t.sql`select message_id from incident_cards where incident_id = ${incident.id} and chat_id = ${TG.director}`;
      return (h.api.message(TG.director, Number(c!.message_id))!.text ?? '').includes('已结案') || undefined;
    }, { what: 'the director’s card to show the closing' });
  }, 30_000);
});
