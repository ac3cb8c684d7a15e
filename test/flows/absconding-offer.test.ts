/**
 * Issue 17, with issue 14's counting by days: after the bureau's days in a row without a reached contact
 * (default 2), the officer AND the office head are offered the absconding report (🚨 上报脱管). The
 * officer who logged the contact gets it in the reply; the office head gets it as a notice with the
 * button, at once, not at the next 09:00 run, and not again for the same run of days.
 */
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeCallback } from '../../src/channels/telegram/callback-data.js';
import { absences, contactLogs, outbox } from '../../src/db/schema.js';
import { runDailyContactReminders } from '../../src/services/daily-contact.service.js';
import { startBotHarness, type BotHarness } from '../helpers/bot-harness.js';
import { deliver } from './deliver-notices.js';

let h: BotHarness;

beforeAll(async () => {
  h = await startBotHarness(); // 2026-11-29 10:00 in Shanghai
  const a1 = h.org.subjects.a1;
  await h.db.db.insert(absences).values({ subjectId: a1, destination: '宁波', startsOn: '2026-11-28', endsOn: '2026-12-03' });
  // Yesterday's contact failed: one day without a reached contact; today's failed attempt is the second day.
  await h.db.db.insert(contactLogs).values({ subjectId: a1, localDate: '2026-11-28', result: 'not_reached', staffId: h.org.staff.officerA1, at: new Date('2026-11-28T10:00:00Z') });
});
afterAll(async () => h?.close());

describe('the offer to report absconding after days without a reached contact', () => {
  it('goes to the officer in the reply and to the office head as a notice with the button', async () => {
    const list = await h.send('officerA1', '/away');
    await h.pressText('officerA1', list, '外出对象');
    await h.pressText('officerA1', h.last('officerA1'), '张*');
    await h.pressText('officerA1', h.last('officerA1'), '未联系上');
    await h.pressText('officerA1', h.last('officerA1'), '跳过');
    expect(h.last('officerA1').text).toContain('已连续 2 天未能联系上');

    const offers = await h.db.db.select().from(outbox).where(eq(outbox.kind, 'absconding_offer'));
    // The office head, not the officer again: they have it in the reply.
    expect(offers.map((o) => o.recipientStaffId)).toEqual([h.org.staff.headA]);
    expect(offers[0]!.subjectId).toBe(h.org.subjects.a1);

    expect(offers[0]!.params).toMatchObject({ reason: 'no_contact', days: 2, since: '2026-11-28' });
    const [notice] = await deliver(h, 'absconding_offer', 'headA');
    expect(notice!.text).toContain('脱离监督管理');
    expect(notice!.text).toContain('张*（SQ-A-001） 已连续 2 天未能联系上（自 2026-11-28 起）');
    expect(h.api.inlineButtons(notice!).map((b) => decodeCallback(b.callback_data))).toEqual([{ a: 'abscond', i: h.org.subjects.a1 }]);

    // The next morning's run does not offer the office head the same streak again.
    h.clock.set(new Date('2026-11-30T01:00:00Z'));
    await runDailyContactReminders(h.deps, '2026-11-30');
    const again = await h.db.db.select().from(outbox).where(and(eq(outbox.kind, 'absconding_offer'), eq(outbox.recipientStaffId, h.org.staff.headA)));
    expect(again).toHaveLength(1);
  });
});
