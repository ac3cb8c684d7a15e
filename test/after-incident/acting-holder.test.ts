/**
 * An acting holder acts only while the seat's holder is away or cannot be reached, and one person signs
 * one level of one report. The deputy director is listed as the director's acting holder; the director
 * is there. Before, she signed as deputy, then again as director, and the director was skipped.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actorFor, findStaffById } from '../../src/db/repositories/org.repository.js';
import { positions, staff } from '../../src/db/schema.js';
import type { ServiceDeps } from '../../src/services/ports.js';
import { approveWrittenReport, loadWrittenReport, submitWrittenReport } from '../../src/services/written-report.service.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { ManualClock, seedOrg, type SeededOrg } from '../helpers/fixtures.js';
import { closedIncident, makeDeps } from './helpers.js';

let t: TestDatabase;
let org: SeededOrg;
let deps: ServiceDeps;
const clock = new ManualClock(new Date('2026-11-29T02:00:00Z'));

beforeAll(async () => {
  t = await createTestDatabase();
  org = await seedOrg(t.db);
  deps = makeDeps(t, org, clock);
  await t.db.update(positions).set({ actingStaffId: org.staff.deputy }).where(eq(positions.holderStaffId, org.staff.director));
});
afterAll(async () => t?.drop());

const deputyNow = async () => actorFor(t.db, (await findStaffById(t.db, org.staff.deputy))!);
const directorAway = (away: boolean) => t.db.update(staff).set({ away }).where(eq(staff.id, org.staff.director));

describe('the acting holder of a second seat', { shuffle: false }, () => {
  it('is the deputy director only while the director can act, and acting director while he is away', async () => {
    expect(await deputyNow()).toMatchObject({ positions: ['deputy_director'] });
    expect((await deputyNow()).acting).toBeUndefined();
    await directorAway(true);
    expect(await deputyNow()).toMatchObject({ positions: ['deputy_director', 'director'], acting: ['director'] });
    await directorAway(false);
    // A director who never bound the bot cannot be reached either.
    await t.db.update(staff).set({ chatId: null }).where(eq(staff.id, org.staff.director));
    expect((await deputyNow()).acting).toEqual(['director']);
    await t.db.update(staff).set({ chatId: 1003 }).where(eq(staff.id, org.staff.director));
  });

  it('signs the report once, at her own level; the director is asked when he is there', async () => {
    const { report } = await closedIncident(deps, org, clock);
    const id = report!.id;
    // Each sign-off a minute after the last: the record is read in the order they were made.
    await submitWrittenReport(deps, org.actor('headA'), id);
    clock.advance(60_000);
    await approveWrittenReport(deps, org.actor('section'), id);
    clock.advance(60_000);
    await approveWrittenReport(deps, await deputyNow(), id);
    clock.advance(60_000);
    expect((await loadWrittenReport(t.db, id))!.stage).toBe('director');

    // The director is there: she is not the director now.
    await expect(approveWrittenReport(deps, await deputyNow(), id)).rejects.toMatchObject({ name: 'WrittenReportError', reason: 'not_permitted' });
    // The director away: she acts for him, but she has signed this report already, at another level.
    await directorAway(true);
    await expect(approveWrittenReport(deps, await deputyNow(), id)).rejects.toMatchObject({ name: 'WrittenReportError', reason: 'already_signed' });
    await directorAway(false);

    const director = await actorFor(t.db, (await findStaffById(t.db, org.staff.director))!);
    await approveWrittenReport(deps, director, id);
    const view = (await loadWrittenReport(t.db, id))!;
    // The director is the bureau's last approver: his approval approves the report.
    expect(view.stage).toBe('approved');
    // One approval a level, each by the level's own holder.
    expect(view.signoffs.filter((s) => s.decision === 'approved').map((s) => [s.stage, s.staffId])).toEqual([
      ['section', org.staff.section],
      ['deputy_director', org.staff.deputy],
      ['director', org.staff.director],
    ]);
  });
});
