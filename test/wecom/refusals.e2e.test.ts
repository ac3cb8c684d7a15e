/**
 * The product's callback URL refuses what WeCom never sends, and audits each refusal without personal
 * data: a forged signature, a stale timestamp, another corp's seal, junk. A replay of a callback already
 * handled is signed and fresh, so it is answered 200 — and dropped by its delivery key, kept in
 * PostgreSQL, so that a restarted process drops it too. Each test reads the trail and what the member
 * got, so a refusal that let the message through would fail.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWecomBot } from '../../src/channels/wecom/bot.js';
import { openCallback } from '../../src/channels/wecom/index.js';
import { auditLog, wecomProcessedCallbacks } from '../../src/db/schema.js';
import { startWecomHarness, textsOf, type WecomHarness } from './wecom-harness.js';

let w: WecomHarness;
const user = 'zhaoliu';

beforeAll(async () => {
  w = await startWecomHarness({ members: [user] });
  const code = await w.invite('office-b', 'officer');
  await w.act(() => w.s.driver.typeText(user, `/start ${code}`));
});
afterAll(async () => w?.close());

const refusals = async () =>
  (await w.h.db.db.select().from(auditLog).where(eq(auditLog.action, 'wecom.callback.refused'))).map((r) => r.data as { reason: string; detail?: string });

describe('the callback URL', () => {
  it('answers the GET verification with the decrypted echostr', async () => {
    const v = await w.s.driver.verifyCallbackUrl();
    expect(v).toMatchObject({ status: 200, echoed: true });
  });

  it('refuses a forged signature with 403, audits it, and handles nothing', async () => {
    const before = w.messagesOf(user).length;
    const d = await w.act(() => w.s.driver.forgeBadSignature(user, '/help'));
    expect(d.status).toBe(403);
    expect(w.messagesOf(user)).toHaveLength(before);
    expect((await refusals()).at(-1)).toMatchObject({ reason: 'bad_signature' });
  });

  it('refuses a stale timestamp (an old capture, or a clock an hour off) with 403, audited', async () => {
    const before = w.messagesOf(user).length;
    expect((await w.act(() => w.s.driver.sendStale(user, '/help', 3600))).status).toBe(403);
    expect((await w.act(() => w.s.driver.sendStale(user, '/help', -3600))).status).toBe(403);
    expect(w.messagesOf(user)).toHaveLength(before);
    expect((await refusals()).slice(-2).map((r) => r.reason)).toEqual(['stale_timestamp', 'stale_timestamp']);
  });

  it('refuses another corp’s seal and junk; the trail names the reason, never the member or the text', async () => {
    expect((await w.act(() => w.s.driver.sendForOtherCorp(user, '机密内容'))).status).toBe(403);
    expect((await w.act(() => w.s.driver.sendRawPlaintext('<xml><MsgType>text</MsgType>'))).status).toBe(400);
    expect((await refusals()).slice(-2).map((r) => r.reason)).toEqual(['wrong_corp', 'malformed']);
    const trail = JSON.stringify(await w.h.db.db.select().from(auditLog).where(eq(auditLog.action, 'wecom.callback.refused')));
    expect(trail).not.toContain(user);
    expect(trail).not.toContain('机密内容');
  });

  it('a replayed callback is dropped by its key, audited, and stays dropped after a restart', async () => {
    const d = w.s.driver;
    const original = await w.act(() => d.typeText(user, '/help'));
    const helps = () => textsOf(w.messagesOf(user)).filter((x) => x.includes('/report')).length;
    const once = helps();
    expect(once).toBeGreaterThan(0);

    const replayed = await w.act(() => d.replay(original.id));
    expect(replayed).toMatchObject({ status: 200, query: original.query, body: original.body });
    expect(helps()).toBe(once);
    expect((await refusals()).at(-1)).toMatchObject({ reason: 'duplicate' });
    expect(await w.h.db.db.select().from(wecomProcessedCallbacks)).not.toHaveLength(0);

    // Another process (a restart) given the same delivery: what was handled is in the database, not in memory.
    const restarted = createWecomBot({ ...w.h.deps, api: w.api, apiRoot: w.s.url, chatLocks: w.h.deps.chatLocks! });
    const opened = openCallback(w.callback, original.query, original.body);
    if (!opened.ok) throw new Error('the original callback no longer opens');
    await restarted.handle(opened.message, opened.dedupKey);
    expect(helps()).toBe(once);
  });

  it('a replay older than the timestamp window is stale, whatever its key', async () => {
    const d = w.s.driver;
    const original = await w.act(() => d.typeText(user, '你好'));
    w.h.clock.advance(10 * 60_000);
    expect((await w.act(() => d.replay(original.id))).status).toBe(403);
    expect((await refusals()).at(-1)).toMatchObject({ reason: 'stale_timestamp' });
  });
});
