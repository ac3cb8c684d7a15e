/**
 * A redraw whose update got no answer, across processes: two messengers (as two worker processes would
 * be) over one database and the WeCom stand-in. A's update_template_card times out after the stand-in
 * carried it out (the card's code is spent), and A's new card meets a failure before it leaves; B takes
 * the retry, finds no code left and sends the new card. "A duplicate only after an ambiguous outcome,
 * and always marked": B's card says it is sent again, because the doubt is on the card's row
 * (wecom_cards.update_in_doubt_at), not in A's memory. Once the new card is out, the doubt is over.
 */
import { eq } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WecomApi } from '../../src/channels/wecom/index.js';
import { WecomMessenger, type WecomChatTarget } from '../../src/channels/wecom/messenger.js';
import type { CardSpec } from '../../src/channels/wecom/render.js';
import { currentWecomCard } from '../../src/db/repositories/wecom.repository.js';
import { wecomCards } from '../../src/db/schema.js';
import { t } from '../../src/i18n/index.js';
import { createLogger } from '../../src/logger.js';
import { ChannelTransient } from '../../src/services/channel-port.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { manualClock, standIn } from './helpers.js';

/** The client gives up on a call after this long (ms); the stand-in answers the faulty one after LATE_MS. */
const CLIENT_TIMEOUT_MS = 300;
const LATE_MS = 600;

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function setup(lang: 'zh' | 'en') {
  const clock = manualClock();
  const s = await standIn(cleanups, { clock, users: ['lisi'], limits: false });
  const logger = createLogger('silent');
  // Each "process" has its own client (its own token cache) and its own messenger.
  const messenger = () =>
    new WecomMessenger({
      db: db.db,
      api: new WecomApi({ apiRoot: s.url, corpId: s.config.corpId, secret: s.config.corpSecret, agentId: s.config.agentId, clock, requestTimeoutMs: CLIENT_TIMEOUT_MS }),
      clock,
      logger,
    });
  const to: WecomChatTarget = { chatKey: -1_000_000_000_000_000 - Math.floor(Math.random() * 1e9), userId: 'lisi', lang };
  return { s, a: messenger(), b: messenger(), to };
}

const spec = (title: string): CardSpec => ({ title, subtitle: '事件已更新', buttons: [{ text: '签收', key: 'ack' }] });

/** The quote of the member's card `taskId`, as the stand-in holds it. */
const quoteOf = (card: Record<string, unknown> | undefined) => (card?.['quote_area'] as { quote_text?: string } | undefined)?.quote_text;

describe('a redraw that may have landed, taken up by another process', () => {
  for (const lang of ['zh', 'en'] as const) {
    it(`B sends the new card marked "re-sent" after A's update timed out (${lang})`, async () => {
      const { s, a, b, to } = await setup(lang);
      const messageId = await a.sendCard(to, spec('2026-0001 已报告'));
      const first = await currentWecomCard(db.db, to.chatKey, messageId);

      // A: the update arrives and is carried out, but answered after A gave up; A's new card then meets
      // "system busy" (nothing sent), and the job goes back to the queue.
      s.driver.failNext('message/update_template_card', { delayMs: LATE_MS });
      s.driver.failNext('message/send', { errcode: -1, errmsg: 'system busy' });
      await expect(a.redraw(to, messageId, spec('2026-0001 已签收'))).rejects.toBeInstanceOf(ChannelTransient);
      expect((await currentWecomCard(db.db, to.chatKey, messageId))?.updateInDoubtAt).toBeInstanceOf(Date);
      // The late update lands: the member's card shows the change already.
      await expect.poll(() => s.driver.cardOf('lisi', first!.taskId)?.renderings.length, { timeout: 3_000 }).toBe(2);

      // B, another process, takes the retry: no code left, so a new card — marked.
      expect(await b.redraw(to, messageId, spec('2026-0001 已签收'))).toBe('replaced');
      const now = await currentWecomCard(db.db, to.chatKey, messageId);
      expect(now!.taskId).not.toBe(first!.taskId);
      const shown = s.driver.cardOf('lisi', now!.taskId)?.card;
      expect(quoteOf(shown)?.startsWith(t(lang, 'notice.resent'))).toBe(true);
      expect((shown?.['main_title'] as { title: string }).title).toBe('2026-0001 已签收');

      // The doubt is over once the new card is out: the old row no longer says so, and the next
      // redraw (in place, with the new card's code) carries no note.
      const [old] = await db.db.select().from(wecomCards).where(eq(wecomCards.taskId, first!.taskId));
      expect(old!.updateInDoubtAt).toBeNull();
      expect(await b.redraw(to, messageId, spec('2026-0001 已处置'))).toBe('updated');
      expect(quoteOf(s.driver.cardOf('lisi', now!.taskId)?.card)).toBeUndefined();
    });
  }

  it('without an ambiguous outcome, a card with no code left is replaced unmarked', async () => {
    const { s, a, b, to } = await setup('zh');
    const messageId = await a.sendCard(to, spec('2026-0002 已报告'));
    expect(await a.redraw(to, messageId, spec('2026-0002 已签收'))).toBe('updated');
    // The send's code is spent; B has none either: a new card, with no note.
    expect(await b.redraw(to, messageId, spec('2026-0002 已处置'))).toBe('replaced');
    const now = await currentWecomCard(db.db, to.chatKey, messageId);
    expect(quoteOf(s.driver.cardOf('lisi', now!.taskId)?.card)).toBeUndefined();
  });
});
