/**
 * R6: people who must not get in. A stranger; a deactivated officer; an officer of another office pressing
 * forged callback data for an incident that is not theirs; a webhook call without the secret.
 * Must hold: refused and audited; 403 for the webhook.
 */
import { and, eq, gt, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { t } from '../../src/i18n/index.js';
import { encodeCallback } from '../../src/channels/telegram/callback-data.js';
import { auditLog, incidents, processedUpdates, staff } from '../../src/db/schema.js';
import { templateIncident } from '../../bench/lib/incidents.js';
import type { Sut } from '../../bench/lib/sut.js';
import { recordFigure } from './helpers/figures.js';
import { createWorld, sleep, type World } from './helpers/world.js';

let world: World;
let bot: Sut;
beforeAll(async () => {
  world = await createWorld({ offices: 2, officersPerOffice: 3 });
  bot = await world.start('all', { logLevel: 'warn' });
});
afterAll(async () => world?.close());

const audits = (w: World, telegramId: number, since: number) =>
  w.db.db.select().from(auditLog).where(and(eq(auditLog.actorTelegramId, telegramId), gt(auditLog.id, since)));

describe('R6 refused and audited', () => {
  it('refuses a stranger, a deactivated officer, a forged callback and a webhook call without the secret', async () => {
    const { server, org, db } = world;
    const [{ last }] = (await db.db.select({ last: sql<number>`coalesce(max(${auditLog.id}), 0)::int` }).from(auditLog)) as [{ last: number }];
    const results: Record<string, { refused: boolean; audited: boolean }> = {};

    // 1. A stranger.
    const strangerId = 555_000_001;
    server.addUser({ id: strangerId, first_name: 'Stranger' });
    server.sendText(strangerId, '/report');
    const toStranger = await server.waitForBotMessage(strangerId);
    await sleep(300);
    results.stranger = {
      refused: (toStranger.text ?? '').includes(t('zh', 'refuse.stranger').slice(0, 12)),
      audited: (await audits(world, strangerId, last)).some((a) => a.action === 'access.refused' && (a.data as { reason?: string }).reason === 'stranger'),
    };

    // 2. A deactivated officer.
    const gone = org.officers[2]!;
    await db.db.update(staff).set({ active: false }).where(eq(staff.id, gone.staffId));
    server.sendText(gone.telegramId, '/report');
    const toGone = await server.waitForBotMessage(gone.telegramId);
    await sleep(300);
    results.deactivated = {
      refused: (toGone.text ?? '').includes(t('zh', 'refuse.inactive').slice(0, 8)),
      audited: (await audits(world, gone.telegramId, last)).some((a) => a.action === 'access.refused' && (a.data as { reason?: string }).reason === 'inactive'),
    };

    // 3. Forged callback data: an officer of office 2 presses "acknowledge" and "close" on office 1's incident.
    const incidentId = await templateIncident(db, org);
    const [before] = await db.db.select().from(incidents).where(eq(incidents.id, incidentId));
    const intruder = org.officers.find((o) => o.unitId !== before!.officeUnitId)!;
    const forged: string[] = [];
    for (const data of [encodeCallback({ a: 'ack', i: incidentId, v: before!.version }), encodeCallback({ a: 'close', i: incidentId, v: before!.version }), encodeCallback({ a: 'card', i: incidentId, k: 'open' })]) {
      const id = `forged-${forged.length}`;
      server.injectUpdate(
        { callback_query: { id, from: { id: intruder.telegramId, is_bot: false, first_name: 'X' }, chat_instance: '1', data, message: { message_id: 1, date: 0, chat: { id: intruder.telegramId, type: 'private' } } } },
        { registerCallbackQuery: true },
      );
      const answer = await server.waitForCallbackAnswer(id, { timeoutMs: 20_000 });
      forged.push(answer.text ?? '');
    }
    await sleep(300);
    const [after] = await db.db.select().from(incidents).where(eq(incidents.id, incidentId));
    results.forgedCallback = {
      refused: after!.version === before!.version && after!.status === before!.status && forged.every((x) => x.length > 0),
      audited: (await audits(world, intruder.telegramId, last)).filter((a) => a.action === 'callback.refused').length >= 2,
    };

    // 4. The webhook without the secret, and with a wrong one.
    const update = { update_id: 4_000_000_001, message: { message_id: 1, date: 0, chat: { id: org.officers[0]!.telegramId, type: 'private' }, from: { id: org.officers[0]!.telegramId, is_bot: false, first_name: 'X' }, text: '/report' } };
    const statuses: number[] = [];
    const attempts: Array<Record<string, string>> = [{ 'content-type': 'application/json' }, { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': 'wrong-secret-0123456789' }];
    for (const headers of attempts) {
      const res = await fetch(bot.webhookUrl!, { method: 'POST', headers, body: JSON.stringify(update) });
      statuses.push(res.status);
    }
    await sleep(300);
    const handled = await db.db.select().from(processedUpdates).where(eq(processedUpdates.updateId, update.update_id));
    const logged = bot.child.output.filter((l) => l.includes('webhook call without the right secret token refused')).length;
    results.webhookWithoutSecret = { refused: statuses.every((s) => s === 403) && handled.length === 0, audited: logged >= 2 };

    const failed = Object.entries(results).filter(([, r]) => !r.refused || !r.audited);
    recordFigure({
      id: 'R6',
      what: 'a stranger; a deactivated officer; forged callbacks for another office’s incident; the webhook without its secret',
      figure: Object.entries(results)
        .map(([k, r]) => `${k}: ${r.refused ? 'refused' : 'NOT refused'}, ${r.audited ? 'audited' : 'NOT audited'}`)
        .join('; ') + `; webhook answered ${statuses.join(', ')}`,
      target: 'refused and audited; 403 for the webhook',
      verdict: failed.length === 0 ? 'held' : 'broken',
      note: 'the webhook refusal is logged (warn, with the caller address, never the secret) before the body is read; the other three are audit_log rows',
      data: results,
    });
    expect(failed).toEqual([]);
  });
});
