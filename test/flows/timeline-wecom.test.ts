/**
 * /timeline on WeCom, from the same flow: an officer bound on WeCom pages an incident's timeline with
 * its buttons on the WeCom stand-in, and opens it from the incident card.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { staff } from '../../src/db/schema.js';
import { actorFor } from '../../src/db/repositories/org.repository.js';
import { MINUTE } from '../../src/domain/index.js';
import { timelinePlugin } from '../../src/flows/timeline.js';
import { t } from '../../src/i18n/index.js';
import { reportIncident, reportProgress } from '../../src/services/incident.service.js';
import { buttonsOf, keyOf, startWecomHarness, textsOf, type WecomHarness } from '../wecom/wecom-harness.js';

let w: WecomHarness;
const user = 'ZhaoLiu';
let number: string;

beforeAll(async () => {
  w = await startWecomHarness({ members: [user], plugins: [timelinePlugin()] });
  const code = await w.invite('office-a', 'officer');
  await w.act(() => w.s.driver.typeText(user, `/start ${code}`));
  const [person] = await w.h.db.db.select().from(staff).where(eq(staff.code, `wc-${user.toLowerCase()}`));
  const actor = await actorFor(w.h.db.db, person!);
  const r = await reportIncident(w.h.deps, actor, { type: 'disruption', subjectId: w.h.org.subjects.a1, officeUnitId: w.h.org.units.officeA, discoveredAt: w.h.clock.now(), injured: 0, dead: 0, description: '在学习中滋扰秩序' });
  number = r.incident.number;
  for (let n = 1; n <= 9; n++) {
    w.h.clock.advance(MINUTE);
    await reportProgress(w.h.deps, actor, r.incident.id, { text: `续报${n}` });
  }
});
afterAll(async () => w?.close());

describe('/timeline on WeCom', () => {
  it('pages with the message\'s buttons, and opens from the incident card', async () => {
    await w.act(() => w.s.driver.typeText(user, `/timeline ${number}`));
    const lastText = () => textsOf(w.messagesOf(user)).at(-1) ?? '';
    expect(lastText()).toContain(`${number}** 时间线 · 第 1/2 页 · 共 10 条`);
    expect(lastText()).toContain('**zhaoliu**：续报：续报1（输入文字）');
    // WeCom cannot edit a text: the next page comes as a new message, the old buttons retired.
    let card = w.lastCard(user);
    await w.act(() => w.s.driver.pressButton(user, card.taskId, keyOf(w.s.driver.cardOf(user, card.taskId), t('zh', 'button.timeline_next'))));
    expect(lastText()).toContain('第 2/2 页');
    expect(lastText()).toContain('续报9');

    // The incident card: 时间线 is among its actions (behind 更多… when they do not fit).
    await w.act(() => w.s.driver.typeText(user, '/incidents'));
    const list = w.lastCard(user);
    await w.act(() => w.s.driver.pressButton(user, list.taskId, keyOf(w.s.driver.cardOf(user, list.taskId), number)));
    card = w.lastCard(user);
    // An officer's card has few actions: 时间线 is on the card itself (a section member's goes behind 更多…).
    expect(buttonsOf(w.s.driver.cardOf(user, card.taskId)).map((b) => b.text)).toContain(t('zh', 'button.timeline'));
    await w.act(() => w.s.driver.pressButton(user, card.taskId, keyOf(w.s.driver.cardOf(user, card.taskId), t('zh', 'button.timeline'))));
    expect(lastText()).toContain(`${number}** 时间线 · 第 1/2 页`);
  });
});
