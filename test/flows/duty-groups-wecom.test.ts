/**
 * Duty-group commands on WeCom (issue 15, 6): the desk's plugins are shared, so /groupcode, /bindgroup
 * and /unbindgroup reach WeCom too, where they would manage Telegram's group bindings. WeCom's group
 * chats are not bound (its capabilities say `groupChats: false`): each command answers, in the member's
 * language, that groups are bound from Telegram, and changes nothing; /help does not offer them there.
 * On Telegram, in the same database, the same commands work as before.
 */
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, dutyGroupCodes, dutyGroups, staff } from '../../src/db/schema.js';
import { dutyGroupPlugin } from '../../src/flows/duty-groups.flow.js';
import { t } from '../../src/i18n/index.js';
import { TG } from '../helpers/fixtures.js';
import { startWecomHarness, textsOf, type WecomHarness } from '../wecom/wecom-harness.js';

let w: WecomHarness;
const zhUser = 'ZhaoLiu';
const enUser = 'Mary';
const GROUP = -6001;

/** The member's last text, as WeCom shows it. */
const lastText = (user: string) => textsOf(w.messagesOf(user)).at(-1) ?? '';
const type = async (user: string, text: string) => {
  await w.act(() => w.s.driver.typeText(user, text));
  return lastText(user);
};

beforeAll(async () => {
  w = await startWecomHarness({ members: [zhUser, enUser], plugins: [dutyGroupPlugin()] });
  for (const user of [zhUser, enUser]) {
    const code = await w.invite('section', 'section');
    await w.act(() => w.s.driver.typeText(user, `/start ${code}`));
  }
  await w.h.db.db.update(staff).set({ language: 'en' }).where(eq(staff.code, `wc-${enUser.toLowerCase()}`));

  // A Telegram group the section bound, which a WeCom command must leave alone.
  const h = w.h;
  h.api.addGroup({ id: GROUP, title: '值班群', memberIds: [TG.section] });
  h.api.setBotInGroup(GROUP, TG.section);
  await h.idle();
  const code = /G[A-Z0-9]{10}/.exec((await h.send('section', '/groupcode')).text ?? '')![0];
  h.api.sendText(TG.section, `/bindgroup ${code}`, { chatId: GROUP });
  await h.idle();
});
afterAll(async () => w?.close());

const boundGroups = () => w.h.db.db.select().from(dutyGroups).where(and(eq(dutyGroups.chatId, GROUP), eq(dutyGroups.active, true)));
const codesIssued = () => w.h.db.db.select().from(dutyGroupCodes);
const groupAudits = async () => (await w.h.db.db.select().from(auditLog)).filter((r) => r.action.startsWith('duty_group.')).length;

describe('duty-group commands on WeCom', () => {
  it('the Telegram group is bound (the baseline the WeCom commands must not move)', async () => {
    expect(await boundGroups()).toHaveLength(1);
    expect(await codesIssued()).toHaveLength(1);
  });

  it('/groupcode, /bindgroup and /unbindgroup answer that groups are bound from Telegram, in the member’s language, and change nothing', async () => {
    const codes = (await codesIssued()).length;
    const audits = await groupAudits();
    const [code] = await codesIssued();
    const zh = t('zh', 'dutygroup.groups_elsewhere');
    const en = t('en', 'dutygroup.groups_elsewhere');

    expect(await type(zhUser, '/groupcode')).toBe(zh);
    expect(await type(zhUser, '/bindgroup GABCDEFGHJK')).toBe(zh);
    expect(await type(zhUser, '/unbindgroup')).toBe(zh);
    expect(await type(zhUser, `/unbindgroup ${GROUP}`)).toBe(zh);
    expect(await type(enUser, '/groupcode')).toBe(en);
    expect(await type(enUser, `/bindgroup ${code!.code}`)).toBe(en);
    expect(await type(enUser, `/unbindgroup ${GROUP}`)).toBe(en);

    expect(await codesIssued()).toHaveLength(codes);
    expect(await boundGroups()).toHaveLength(1);
    expect(await groupAudits()).toBe(audits);
    // The words are the catalogue's: Chinese with Chinese punctuation, no Latin words but the command.
    expect(zh.replace('/groupcode', '')).not.toMatch(/[A-Za-z]/);
  });

  it('/help on WeCom does not offer the group commands; on Telegram it still does, and /groupcode works there', async () => {
    const help = await type(zhUser, '/help');
    expect(help).toContain('/report');
    expect(help).not.toContain('/groupcode');
    expect(help).not.toContain('/bindgroup');
    expect(await type(enUser, '/help')).not.toContain('/groupcode');

    const telegram = (await w.h.send('section', '/help')).text ?? '';
    expect(telegram).toContain('/groupcode');
    const before = (await codesIssued()).length;
    expect((await w.h.send('section', '/groupcode')).text).toMatch(/G[A-Z0-9]{10}/);
    expect(await codesIssued()).toHaveLength(before + 1);
  });
});
