/**
 * Receipts from outside parties and sanctions in the chat, on the real database and the Bot API stand-in:
 * the section opens the 110 step, sees the numbers the directory offers for the office, records the call
 * with who answered and the 接警单号 and marks the step done; records a 警告 on the punishment step; the
 * written report's .docx lists the receipt and the sanction, and /stats counts the sanction.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outsideContacts } from '../../src/db/schema.js';
import { MINUTE } from '../../src/domain/index.js';
import { afterIncidentPlugin } from '../../src/flows/after-incident/index.js';
import { outsidePartyPlugin } from '../../src/flows/sanction.flow.js';
import { acknowledgeIncident, closeIncident, reportIncident } from '../../src/services/incident.service.js';
import { exportWrittenReportDocx, writtenReportForIncident } from '../../src/services/written-report.service.js';
import { docxText } from '../after-incident/helpers.js';
import { buttonTexts, startBotHarness, type BotHarness } from '../helpers/bot-harness.js';
import { deliver } from './deliver-notices.js';

let h: BotHarness;

beforeAll(async () => {
  h = await startBotHarness({ plugins: [outsidePartyPlugin(), afterIncidentPlugin()] });
  await h.db.db.insert(outsideContacts).values({ code: 'pcs-a', party: 'police_station', name: '拱宸桥派出所', phone: '0571-8800 0001', officeUnitId: h.org.units.officeA });
});
afterAll(async () => h?.close());

describe('a receipt and a sanction, from the card to the .docx and /stats', () => {
  it('records the 110 call with its reference, a 警告, and both reach the written report; /stats counts the sanction', async () => {
    const { incident, steps } = await reportIncident(h.deps, h.org.actor('officerA1'), {
      type: 'violent_crime',
      subjectId: h.org.subjects.a1,
      officeUnitId: h.org.units.officeA,
      discoveredAt: h.clock.now(),
      injured: 0,
      dead: 0,
      description: '对象持刀威胁邻居',
    });
    await deliver(h, 'incident_reported', 'section');
    const [row] = await h.db.sql`select message_id from incident_cards where incident_id = ${incident.id} and chat_id = ${h.tg('section')}`;
    const card = h.api.message(h.tg('section'), Number(row!.message_id));
    const call = steps.find((s) => s.key === 'call_110')!;

    // The step offers the numbers for office A: the national 110 and the office's own police station, as plain digits.
    await h.pressText('section', card!, `⬜ ${call.ordinal}.`);
    const focused = h.api.message(h.tg('section'), card!.message_id)!;
    expect(focused.text).toContain('☎️ 公安“110”：110');
    expect(focused.text).toContain('☎️ 执行地派出所：拱宸桥派出所 057188000001');
    expect(focused.text).not.toContain('tel:');
    await h.pressText('section', focused, '📞 记录回执');

    let prompt = h.last('section');
    expect(prompt.text).toContain('请选择联系的单位');
    await h.pressText('section', prompt, '公安“110”');
    prompt = h.last('section');
    expect(prompt.text).toContain('通过什么方式联系公安“110”');
    await h.pressText('section', prompt, '📞 电话');
    h.clock.advance(10 * MINUTE);
    expect((await h.send('section', '10:05')).text).toContain('接听人或经办人');
    expect((await h.send('section', '接警员王某')).text).toContain('接警单号');
    prompt = await h.send('section', 'JJ-20261129-007');
    expect(prompt.text).toContain('编号：JJ-20261129-007');
    await h.pressText('section', prompt, '✅ 记录并完成此步骤');

    const afterReceipt = h.messages('section').filter((m) => (m.text ?? '').includes(incident.number)).at(-1)!;
    expect(afterReceipt.text).toMatch(new RegExp(`✅ ${call.ordinal}\\. .*（📞 电话）`));
    expect(afterReceipt.text).toContain('📞 公安“110”，电话，');
    expect(afterReceipt.text).toContain('接听人：接警员王某，编号：JJ-20261129-007');

    // 处罚 on the punishment step: 警告, its grounds, executed now.
    const punish = steps.find((s) => s.key === 'punish')!;
    await h.pressText('section', afterReceipt, `⬜ ${punish.ordinal}.`);
    await h.pressText('section', h.api.message(h.tg('section'), afterReceipt.message_id)!, '⚖️ 记录处罚');
    prompt = h.last('section');
    expect(buttonTexts(prompt)).toEqual(expect.arrayContaining(['训诫', '警告', '提请撤销缓刑', '提请收监执行']));
    await h.pressText('section', prompt, '警告');
    expect(h.last('section').text).toContain('处罚的事实和依据');
    prompt = await h.send('section', '持刀威胁邻居，经教育仍不悔改');
    await h.pressText('section', prompt, '已执行');
    await h.pressText('section', h.last('section'), '🕒 现在');
    await h.pressText('section', h.last('section'), '✅ 记录并完成“处罚”步骤');
    expect(h.messages('section').some((m) => m.text === '⚖️ 已记录：警告（已执行），“处罚”步骤已标记完成。')).toBe(true);
    const afterSanction = h.messages('section').filter((m) => (m.text ?? '').includes(incident.number)).at(-1)!;
    expect(afterSanction.text).toContain('⚖️ 警告：已执行');

    // The written report lists both.
    await acknowledgeIncident(h.deps, h.org.actor('section'), incident.id);
    await closeIncident(h.deps, h.org.actor('section'), incident.id, { cause: '邻里纠纷', lessons: '加强排查', measures: '每周走访', openDutiesReason: '其余步骤另行办理' });
    const report = (await writtenReportForIncident(h.db.db, incident.id))!;
    const text = docxText((await exportWrittenReportDocx(h.deps, h.org.actor('section'), report.report.id)).data);
    expect(text).toContain('外部单位联系回执');
    expect(text).toMatch(/公安“110”\t电话\t.*\t接警员王某\tJJ-20261129-007/);
    expect(text).toContain('处罚情况');
    expect(text).toMatch(/警告\t持刀威胁邻居，经教育仍不悔改\t科员丙\t已执行\t/);

    // /stats counts it.
    const months = await h.send('section', '/stats');
    await h.pressText('section', months, '2026-11');
    const stats = h.last('section');
    expect(stats.text).toContain('处罚：共 1 项（警告 1）；已提请 0，已批准 0，未批准 0，已执行 1');
  });
});
