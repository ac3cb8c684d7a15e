/**
 * R7: the same update_id delivered twice, and again concurrently. Must hold: handled once.
 *
 * Three ways: Telegram redelivering an update it already delivered (the stand-in, same update_id); the
 * same update posted twice in a row; and the same update posted eight times at once, split between two
 * bot processes sharing the database (what a webhook retry racing a slow first attempt looks like behind
 * a load balancer). Each update would start a report form: handled twice, the user would see two.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processedUpdates } from '../../src/db/schema.js';
import type { Sut } from '../../bench/lib/sut.js';
import { recordFigure } from './helpers/figures.js';
import { createWorld, sleep, type World } from './helpers/world.js';

let world: World;
let bots: Sut[];
beforeAll(async () => {
  world = await createWorld({ offices: 1, officersPerOffice: 4 });
  bots = [await world.start('bot'), await world.start('bot')];
});
afterAll(async () => world?.close());

const report = (updateId: number, userId: number) => ({
  update_id: updateId,
  message: { message_id: updateId % 1_000_000, date: Math.floor(Date.now() / 1000), chat: { id: userId, type: 'private', first_name: 'U' }, from: { id: userId, is_bot: false, first_name: 'U' }, text: '/report', entities: [{ type: 'bot_command', offset: 0, length: 7 }] },
});

async function post(bot: Sut, body: unknown): Promise<number> {
  const res = await fetch(bot.webhookUrl!, { method: 'POST', headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': bot.webhookSecret }, body: JSON.stringify(body) });
  await res.arrayBuffer();
  return res.status;
}

describe('R7 duplicate update_id', () => {
  it('handles an update once however often and however it arrives', async () => {
    const { server, org, db } = world;
    const [a, b, c] = org.officers;
    const results: Record<string, { deliveries: number; replies: number; rows: number }> = {};
    const count = async (label: string, userId: number, updateId: number, deliveries: number) => {
      await sleep(1_500);
      const rows = (await db.db.select().from(processedUpdates).where(eq(processedUpdates.updateId, updateId))).length;
      results[label] = { deliveries, replies: server.botMessages(userId).length, rows };
    };

    // Telegram delivers the same update again (the stand-in redelivers by id).
    server.injectUpdate(report(5_000_000_001, a!.telegramId));
    await server.waitForBotMessage(a!.telegramId, undefined, { after: 0, timeoutMs: 20_000 });
    server.injectUpdate(report(5_000_000_001, a!.telegramId));
    await count('redelivered by Telegram', a!.telegramId, 5_000_000_001, 2);

    // Twice in a row, straight to the webhook.
    await post(bots[0]!, report(5_000_000_002, b!.telegramId));
    await post(bots[0]!, report(5_000_000_002, b!.telegramId));
    await count('twice in a row', b!.telegramId, 5_000_000_002, 2);

    // Eight at once, four to each bot process.
    const statuses = await Promise.all(Array.from({ length: 8 }, (_, i) => post(bots[i % 2]!, report(5_000_000_003, c!.telegramId))));
    await count('8 at once, 2 processes', c!.telegramId, 5_000_000_003, 8);

    const broken = Object.entries(results).filter(([, r]) => r.replies !== 1 || r.rows !== 1);
    recordFigure({
      id: 'R7',
      what: 'the same update_id redelivered by Telegram, posted twice, and posted 8× at once to 2 bot processes',
      figure: Object.entries(results)
        .map(([k, r]) => `${k}: ${r.deliveries} deliveries → ${r.replies} reply`)
        .join('; ') + ` (answers ${[...new Set(statuses)].join('/')})`,
      target: 'handled once',
      verdict: broken.length === 0 ? 'held' : 'broken',
      data: results,
    });
    expect(broken).toEqual([]);
  });
});
