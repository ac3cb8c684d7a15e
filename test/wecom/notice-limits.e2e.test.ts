/**
 * WeCom's frequency limits on the notice path: WeCom drops, without an error, what a member gets past
 * their per-minute limit, so the limiter holds such a send back before it leaves; the row comes back
 * later (deferred), nothing is lost, and the send queue — which Telegram shares — is not paused. A
 * member bound on WeCom only, who has no Telegram account, is reached there; a plain notice with a
 * button is a card carrying it, the subject masked.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WecomMessenger } from '../../src/channels/wecom/messenger.js';
import { wecomNoticeChannel } from '../../src/channels/wecom/notice-channel.js';
import { WecomApi, WecomRateLimiter } from '../../src/channels/wecom/index.js';
import { enqueueNotices } from '../../src/db/repositories/outbox.repository.js';
import { outbox, wecomUsers } from '../../src/db/schema.js';
import { sendOutboxMessage, type NotificationDeps } from '../../src/services/notification.service.js';
import { buttonsOf, startWecomHarness, type WecomHarness } from './wecom-harness.js';

let w: WecomHarness;
let deps: NotificationDeps;
let staffId: string;
const user = 'zhouba';

beforeAll(async () => {
  w = await startWecomHarness({ members: [user] });
  const code = await w.invite('office-a', 'officer');
  await w.act(() => w.s.driver.typeText(user, `/start ${code}`));
  const [bound] = await w.h.db.db.select().from(wecomUsers).where(eq(wecomUsers.userid, user));
  staffId = bound!.staffId;
  // Two messages a minute to one member, so the test reaches the limit at once.
  const limiter = new WecomRateLimiter({ clock: w.h.clock, accountCap: 100, limits: { perMemberPerMinute: 2 } });
  const api = new WecomApi({ apiRoot: w.s.url, corpId: w.s.config.corpId, secret: w.s.config.corpSecret, agentId: w.s.config.agentId, clock: w.h.clock, limiter });
  const channel = wecomNoticeChannel(new WecomMessenger({ db: w.h.db.db, api, clock: w.h.clock, logger: w.h.deps.logger }), w.h.deps);
  // WeCom as the deployment's only channel.
  deps = { ...w.h.deps, channel };
});
afterAll(async () => w?.close());

const drill = (n: number) => enqueueNotices(w.h.db.db, [{ recipientStaffId: staffId, kind: 'drill_reminder', dedupeKey: `drill-${n}`, params: { lastDrillAt: null } }]);

describe('limits on WeCom notices', () => {
  it('a member bound on WeCom only gets their notices there; past the limit a send comes back later', async () => {
    const before = w.messagesOf(user).length;
    const rows = [...(await drill(1)), ...(await drill(2)), ...(await drill(3))];
    expect(await sendOutboxMessage(deps, rows[0]!.id)).toMatchObject({ status: 'sent' });
    expect(await sendOutboxMessage(deps, rows[1]!.id)).toMatchObject({ status: 'sent' });
    const third = await sendOutboxMessage(deps, rows[2]!.id);
    expect(third.status).toBe('deferred');
    expect(w.messagesOf(user)).toHaveLength(before + 2);
    expect(w.s.driver.droppedFor(user)).toEqual([]);
    const [row] = await w.h.db.db.select().from(outbox).where(eq(outbox.id, rows[2]!.id));
    expect(row!.status).toBe('pending');

    // A minute later the slot is free: the same row goes out, once.
    w.h.clock.advance(61_000);
    expect(await sendOutboxMessage(deps, rows[2]!.id)).toMatchObject({ status: 'sent', resent: false });
    expect(w.messagesOf(user)).toHaveLength(before + 3);
  });

  it('a plain notice with a button is a card carrying it, the subject masked', async () => {
    w.h.clock.advance(61_000);
    const [row] = await enqueueNotices(w.h.db.db, [
      { recipientStaffId: staffId, kind: 'absconding_suggestion', subjectId: w.h.org.subjects.a1, dedupeKey: 'offer-1', params: { count: 2, last: w.h.clock.now().toISOString() } },
    ]);
    expect(await sendOutboxMessage(deps, row!.id)).toMatchObject({ status: 'sent' });
    const card = w.lastCard(user);
    expect(buttonsOf(card).map((b) => b.key)).toEqual([`abscond:${w.h.org.subjects.a1}`]);
    expect(JSON.stringify(card.card)).toContain('张*（SQ-A-001）');
  });
});
