/**
 * Who is acting, as every update asks it: the one-query identity gives the same staff row and the same
 * positions as loading the staff member and then their positions, for holders and acting holders alike.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actorFor, findStaffByTelegramId, identityByTelegramId } from '../../src/db/repositories/org.repository.js';
import { positions, staff } from '../../src/db/schema.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { seedOrg, TG, type SeededOrg } from '../helpers/fixtures.js';

let t: TestDatabase;
let org: SeededOrg;

beforeAll(async () => {
  t = await createTestDatabase();
  org = await seedOrg(t.db);
});
afterAll(async () => t?.drop());

async function twoStep(telegramUserId: number) {
  const staff = await findStaffByTelegramId(t.db, telegramUserId);
  return staff ? { staff, actor: await actorFor(t.db, staff) } : undefined;
}

const sorted = <T extends { actor: { positions: readonly string[] } }>(x: T | undefined) => x && { ...x, actor: { ...x.actor, positions: [...x.actor.positions].sort() } };

describe('identityByTelegramId', () => {
  it('matches the staff row and positions of the two-step lookup for everyone, and finds no stranger', async () => {
    for (const [key, id] of Object.entries(TG)) {
      const one = await identityByTelegramId(t.db, id);
      expect(sorted(one), key).toEqual(sorted(await twoStep(id)));
      if (key === 'stranger') expect(one).toBeUndefined();
      else expect(one?.actor.positions.length, key).toBeGreaterThan(0);
    }
  });

  it('adds a position someone acts in beside the one they hold, while its holder cannot act', async () => {
    const [seat] = await t.db.select().from(positions).where(eq(positions.kind, 'deputy_director'));
    await t.db.update(positions).set({ actingStaffId: org.staff.section }).where(eq(positions.id, seat!.id));
    // The deputy director is there: the acting holder acts as the section only.
    const present = await identityByTelegramId(t.db, TG.section);
    expect([...present!.actor.positions].sort()).toEqual(['section']);
    expect(sorted(present)).toEqual(sorted(await twoStep(TG.section)));
    await t.db.update(staff).set({ away: true }).where(eq(staff.id, seat!.holderStaffId!));
    const one = await identityByTelegramId(t.db, TG.section);
    expect([...one!.actor.positions].sort()).toEqual(['deputy_director', 'section']);
    expect(one!.actor.acting).toEqual(['deputy_director']);
    expect(sorted(one)).toEqual(sorted(await twoStep(TG.section)));
    await t.db.update(staff).set({ away: false }).where(eq(staff.id, seat!.holderStaffId!));
    await t.db.update(positions).set({ actingStaffId: null }).where(eq(positions.id, seat!.id));
  });
});
