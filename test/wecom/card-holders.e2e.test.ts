/**
 * A person bound on WeCom only is a card holder like anyone on Telegram: a change by someone else
 * writes them a card_redraw, and as the holder of a seat they are "there" (bound), so an acting holder
 * of their seat does not act for them. Both read the WeCom binding beside staff.chat_id.
 */
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cardHolders } from '../../src/db/repositories/card-message.repository.js';
import { actorFor, findStaffById } from '../../src/db/repositories/org.repository.js';
import { outbox, positions, units, wecomUsers } from '../../src/db/schema.js';
import { acknowledgeIncident, markStep } from '../../src/services/incident.service.js';
import { reportAbscondingOnWecom, startWecomHarness, type WecomHarness } from './wecom-harness.js';

let w: WecomHarness;
let incident: { number: string; incidentId: string };
let reporterId: string;
const reporter = 'zhaoliu';

beforeAll(async () => {
  w = await startWecomHarness({ members: [reporter] });
  const code = await w.invite('office-a', 'officer');
  await w.act(() => w.s.driver.typeText(reporter, `/start ${code}`));
  const [bound] = await w.h.db.db.select().from(wecomUsers).where(eq(wecomUsers.userid, reporter));
  reporterId = bound!.staffId;
  incident = await reportAbscondingOnWecom(w, reporter);
});
afterAll(async () => w?.close());

describe('WeCom holders of a card', () => {
  it('the reporter on WeCom holds the card shown after the report', async () => {
    expect(await cardHolders(w.h.db.db, incident.incidentId)).toContain(reporterId);
  });

  it("a step the section marks on Telegram writes a card_redraw for the WeCom reporter", async () => {
    await acknowledgeIncident(w.h.deps, w.h.org.actor('section'), incident.incidentId);
    const redraws = async () =>
      (await w.h.db.db.select().from(outbox).where(and(eq(outbox.incidentId, incident.incidentId), eq(outbox.recipientStaffId, reporterId), eq(outbox.kind, 'card_redraw')))).length;
    const before = await redraws();
    await markStep(w.h.deps, w.h.org.actor('section'), incident.incidentId, { ordinal: 1 }, { kind: 'note', text: '已电话联系家属。' });
    expect(await redraws()).toBe(before + 1);
  });
});

describe('a seat held by someone bound on WeCom only', () => {
  it('counts as bound: the acting holder does not act while the holder is there', async () => {
    // The reporter becomes the holder of office A's head seat, with headA acting for them.
    const [officeA] = await w.h.db.db.select().from(units).where(eq(units.code, 'office-a'));
    await w.h.db.db
      .update(positions)
      .set({ holderStaffId: reporterId, actingStaffId: w.h.org.staff.headA })
      .where(and(eq(positions.unitId, officeA!.id), eq(positions.kind, 'office_head')));
    const acting = await findStaffById(w.h.db.db, w.h.org.staff.headA);
    // headA no longer holds the seat; the holder is bound on WeCom, active and reachable: headA does not act.
    expect((await actorFor(w.h.db.db, acting!)).acting ?? []).not.toContain('office_head');

    // Unbind the holder from WeCom: now the holder cannot act, and headA acts for them.
    await w.h.db.db.delete(wecomUsers).where(eq(wecomUsers.staffId, reporterId));
    const holder = await findStaffById(w.h.db.db, reporterId);
    expect(holder?.chatId).toBeNull();
    expect((await actorFor(w.h.db.db, acting!)).acting ?? []).toContain('office_head');
  });
});
