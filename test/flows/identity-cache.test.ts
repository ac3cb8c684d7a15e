/**
 * Identities remembered between updates: the cache's rules on their own (a fake change signal), the
 * listener on the real PostgreSQL, and end to end: a person deactivated or unbound while their identity
 * is cached is refused on their very next update.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { identityChangesOf } from '../../src/db/identity-changes.js';
import { createIdentityCache, type IdentityChangeSignal } from '../../src/services/identity-cache.js';
import { t } from '../../src/i18n/index.js';
import { startBotHarness, type BotHarness } from '../helpers/bot-harness.js';
import { ManualClock, TG } from '../helpers/fixtures.js';

function fakeSignal(): IdentityChangeSignal & { bump(): void; alive: boolean } {
  let generation = 0;
  return {
    alive: true,
    generation: () => generation,
    live() {
      return this.alive;
    },
    bump: () => void generation++,
  };
}

describe('the identity cache', () => {
  it('serves a remembered identity only at the same version, generation and age, and while the listener is live', async () => {
    const changes = fakeSignal();
    const clock = new ManualClock();
    const cache = createIdentityCache<string>({ changes, clock, ttlMs: 1_000 });
    let loads = 0;
    const load = async () => `person-${++loads}`;

    expect(await cache.through(1, 7, load)).toBe('person-1');
    expect(await cache.through(1, 7, load)).toBe('person-1');
    // The gate read a newer version: something about identities committed since.
    expect(await cache.through(1, 8, load)).toBe('person-2');
    expect(await cache.through(1, 8, load)).toBe('person-2');
    // The listener heard a change.
    changes.bump();
    expect(await cache.through(1, 8, load)).toBe('person-3');
    // Too old.
    clock.advance(1_000);
    expect(await cache.through(1, 8, load)).toBe('person-4');
    // Nobody listening: nothing is served from memory, nothing remembered.
    changes.alive = false;
    expect(await cache.through(1, 8, load)).toBe('person-5');
    expect(await cache.through(1, 8, load)).toBe('person-6');
    changes.alive = true;
    // A stranger is remembered as nobody.
    let strangerLoads = 0;
    expect(await cache.through(2, 8, async () => void strangerLoads++)).toBeUndefined();
    expect(await cache.through(2, 8, async () => void strangerLoads++)).toBeUndefined();
    expect(strangerLoads).toBe(1);
  });

  it('does not remember an answer loaded while a change was heard', async () => {
    const changes = fakeSignal();
    const cache = createIdentityCache<string>({ changes, clock: new ManualClock() });
    expect(
      await cache.through(1, 1, async () => {
        changes.bump();
        return 'stale';
      }),
    ).toBe('stale');
    expect(cache.get(1, 1)).toBeUndefined();
  });
});

let h: BotHarness;
beforeAll(async () => {
  h = await startBotHarness();
});
afterAll(async () => h?.close());

describe('identity changes, end to end', { shuffle: false }, () => {
  it('the listener hears a change to staff at once', async () => {
    const changes = identityChangesOf(h.db.sql);
    const until = Date.now() + 5_000;
    while (!changes.live() && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    expect(changes.live()).toBe(true);
    const before = changes.generation();
    await h.db.sql`update staff set phone = phone where id = ${h.org.staff.headA}`;
    while (changes.generation() === before && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    expect(changes.generation()).toBeGreaterThan(before);
  });

  it('remembers: a change made behind the triggers\' back is not seen until the entry goes', async () => {
    const zh = await h.send('headA', '/help');
    await h.db.sql.begin(async (tx) => {
      await tx`alter table staff disable trigger staff_identity_changed`;
      await tx`update staff set language = 'en' where id = ${h.org.staff.headA}`;
      await tx`alter table staff enable trigger staff_identity_changed`;
    });
    // Served from memory: still answered in Chinese.
    expect((await h.send('headA', '/help')).text).toBe(zh.text);
    // Any identity change (here another person's) makes every entry go.
    await h.db.sql`update staff set phone = phone where id = ${h.org.staff.headB}`;
    expect((await h.send('headA', '/help')).text).not.toBe(zh.text);
    await h.db.sql`update staff set language = 'zh' where id = ${h.org.staff.headA}`;
  });

  it('a person deactivated while remembered is refused on their very next update, and served again once reactivated', async () => {
    const help = await h.send('officerA1', '/help');
    expect(help.text).not.toBe(t('zh', 'refuse.inactive'));
    await h.send('officerA1', '/help'); // now remembered
    await h.db.sql`update staff set active = false where id = ${h.org.staff.officerA1}`;
    const refused = await h.send('officerA1', '/help');
    expect(refused.text).toBe(t('zh', 'refuse.inactive'));
    await h.db.sql`update staff set active = true where id = ${h.org.staff.officerA1}`;
    expect((await h.send('officerA1', '/help')).text).toBe(help.text);
  });

  it('an account unbound while remembered is a stranger on its very next update', async () => {
    const help = await h.send('headB', '/help');
    expect(help.text).not.toBe(t('zh', 'refuse.stranger'));
    await h.send('headB', '/help');
    await h.db.sql`update staff set telegram_user_id = null where id = ${h.org.staff.headB}`;
    const refused = await h.send('headB', '/help');
    expect(refused.text).toBe(t('zh', 'refuse.stranger'));
    await h.db.sql`update staff set telegram_user_id = ${TG.headB} where id = ${h.org.staff.headB}`;
    expect((await h.send('headB', '/help')).text).toBe(help.text);
  });
});
