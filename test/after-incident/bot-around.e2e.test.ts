/**
 * The other after-incident commands through the bot: a public release that needs the review before the
 * approval, /stats with its CSV and register, a manual finding, a drill from start to evaluation,
 * a screening, and a cross-county notification with its receipt.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { and, eq } from 'drizzle-orm';
import { outbox, positions, publicReleases, staff, subjects, units } from '../../src/db/schema.js';
import { afterIncidentPlugin } from '../../src/flows/after-incident/index.js';
import { createTelegramGateway } from '../../src/channels/telegram/telegram-gateway.js';
import { sendOutboxMessage } from '../../src/services/notification.service.js';
import { startBotHarness, buttonData, buttonTexts, TEST_BOT_TOKEN, type BotHarness } from '../helpers/bot-harness.js';
import { ManualClock } from '../helpers/fixtures.js';
import { closedIncident, docxText } from './helpers.js';
import { telegramNoticeChannel } from '../../src/channels/telegram/notice-channel.js';

let h: BotHarness;
const REVIEWER = 4001;
const clock = new ManualClock(new Date('2026-11-29T02:00:00Z'));

beforeAll(async () => {
  h = await startBotHarness({ clock });
  h.api.addUser({ id: REVIEWER, first_name: 'reviewer', language_code: 'zh-hans' });
  const [dept] = await h.db.db.insert(units).values({ code: 'dept-publicity', kind: 'department', name: '区委宣传部', parentId: h.org.units.bureau }).returning();
  const [person] = await h.db.db.insert(staff).values({ code: 'reviewer', name: '审核员', unitId: dept!.id, telegramUserId: REVIEWER, chatId: REVIEWER }).returning();
  await h.db.db.insert(positions).values({ code: 'pos-reviewer', kind: 'info_reviewer', unitId: dept!.id, holderStaffId: person!.id });
  h.deps.plugins = [afterIncidentPlugin()];
  await h.restart();
});
afterAll(async () => h?.close());

describe('around the incident, through the bot', () => {
  it('public release: refused before the review, then reviewed, approved and marked released', async () => {
    const { incident } = await closedIncident(h.deps, h.org, clock);
    const start = await h.send('section', `/release ${incident.number}`);
    expect(start.text).toContain('尚无发布稿');
    await h.pressText('section', start, '📝 起草发布稿');
    const card = await h.send('section', '11月29日上午，一社区矫正对象在公益活动中滋扰秩序，已依法处置，未造成人员伤亡。');
    expect(card.text).toContain('待职能部门审核');
    const approve = `rel:${/rel:([0-9a-f-]{36}):/.exec(buttonData(card, '✏️ 修改'))![1]}:apr`;
    const refused = await h.pressForced('director', card.message_id, approve);
    expect(refused).toMatchObject({ show_alert: true, text: '发布稿尚未经职能部门审核，不能批准或发布。' });

    const forReview = await h.send(REVIEWER, '/release');
    await h.pressText(REVIEWER, forReview, '✅ 审核通过');
    expect(h.last(REVIEWER).text).toContain('已审核，待局领导批准');
    const forApproval = await h.send('director', '/release');
    await h.pressText('director', forApproval, '✅ 批准发布');
    const toRelease = await h.send('section', '/release');
    await h.pressText('section', toRelease, '📢 标记已发布');
    const done = h.last('section');
    expect(done.text).toContain('状态：已发布');
    expect(done.text).toMatch(/审核：审核员.*\n批准：局长甲/);
    expect(buttonTexts(done)).toEqual([]);
  });

  it('public release: the reviewer and then a leader send it back with a reason; the card shows it until the next edit', async () => {
    const { incident } = await closedIncident(h.deps, h.org, clock);
    await h.pressText('section', await h.send('section', `/release ${incident.number}`), '📝 起草发布稿');
    const drafted = await h.send('section', '11月29日，一社区矫正对象在公益活动中滋扰秩序。');
    const releaseId = /rel:([0-9a-f-]{36}):/.exec(buttonData(drafted, '✏️ 修改'))![1]!;
    const row = async () => (await h.db.db.select().from(publicReleases).where(eq(publicReleases.id, releaseId)))[0]!;
    const cardOf = (who: number | 'director' | 'section') => h.messages(who).filter((x) => x.text?.includes(incident.number) && x.text.includes('对外发布稿')).at(-1)!;

    expect(buttonTexts(drafted)).not.toContain('↩ 退回修改');
    expect(await h.pressForced('section', drafted.message_id, `rel:${releaseId}:ret`)).toMatchObject({ show_alert: true, text: '您没有权限执行此操作。' });

    await h.send(REVIEWER, '/release');
    const forReview = cardOf(REVIEWER);
    expect(buttonTexts(forReview)).toEqual(['✅ 审核通过', '↩ 退回修改']);
    await h.pressText(REVIEWER, forReview, '↩ 退回修改');
    expect(h.last(REVIEWER).text).toContain('请发送退回意见（最多 500 字）');
    // Too long: told so, nothing changes, and the chat still waits for the reason.
    expect((await h.send(REVIEWER, '改'.repeat(501))).text).toBe('退回意见过长（最多 500 字），请精简后重新发送。');
    expect(await row()).toMatchObject({ state: 'draft', returnComment: null });
    const returned = await h.send(REVIEWER, '请核实发生时间。');
    expect(returned.text).toMatch(/↩️ 退回修改：审核员 .*：请核实发生时间。/);
    expect(h.messages(REVIEWER).at(-2)!.text).toBe('发布稿已退回修改，已通知起草人。');
    expect(await row()).toMatchObject({ state: 'draft', returnComment: '请核实发生时间。' });
    const toDrafter = await h.db.db.select().from(outbox).where(and(eq(outbox.kind, 'release_returned'), eq(outbox.incidentId, incident.id)));
    expect(toDrafter.map((r) => r.recipientStaffId)).toEqual([h.org.staff.section]);
    // Delivered as the sender would: the drafter reads who sent it back and why.
    const gateway = createTelegramGateway({ apiRoot: h.api.url, token: TEST_BOT_TOKEN });
    expect(await sendOutboxMessage({ ...h.deps, channel: telegramNoticeChannel(gateway, h.deps) }, toDrafter[0]!.id)).toMatchObject({ status: 'sent' });
    expect(h.last('section').text).toContain(`您起草的信息发布稿（事件 ${incident.number}）被审核员退回修改：请核实发生时间。`);

    // Sent back, it cannot be passed as it stands: the drafter edits it first.
    expect(buttonTexts(returned)).not.toContain('✅ 审核通过');
    expect(await h.pressForced(REVIEWER, returned.message_id, buttonData(forReview, '✅ 审核通过'))).toMatchObject({ show_alert: true, text: '发布稿已退回修改，须由起草方修改后才能审核。' });
    expect(await row()).toMatchObject({ state: 'draft', reviewedAt: null });
    await h.pressText('section', drafted, '✏️ 修改');
    const corrected = await h.send('section', '11月29日上午，一社区矫正对象在公益活动中滋扰秩序。');
    expect(corrected.text).toContain('待职能部门审核');
    expect(corrected.text).not.toContain('↩️ 退回修改');
    expect(corrected.text).toMatch(/此前退回（已修改）：审核员 .*：请核实发生时间。/);

    // Passed on review now; the leader sends it back too, and the review stamp goes.
    await h.send(REVIEWER, '/release');
    await h.pressText(REVIEWER, cardOf(REVIEWER), '✅ 审核通过');
    await h.send('director', '/release');
    const forApproval = cardOf('director');
    expect(buttonTexts(forApproval)).toEqual(['✅ 批准发布', '↩ 退回修改', '✏️ 修改']);
    await h.pressText('director', forApproval, '↩ 退回修改');
    const back = await h.send('director', '口径请与宣传部统一。');
    expect(back.text).toContain('状态：待职能部门审核');
    expect(back.text).toMatch(/↩️ 退回修改：局长甲 .*：口径请与宣传部统一。/);
    expect(back.text).not.toContain('审核：审核员');
    // A leader drafts too, so only the edit is left to them on a draft.
    expect(buttonTexts(back)).toEqual(['✏️ 修改']);

    // The drafter edits: the current send-back leaves the card; both reasons stay as its history.
    await h.pressText('section', corrected, '✏️ 修改');
    const edited = await h.send('section', '11月29日上午，一社区矫正对象在公益活动中滋扰秩序，已依法处置。');
    expect(edited.text).toContain('待职能部门审核');
    expect(edited.text).not.toContain('↩️ 退回修改');
    expect(edited.text).toMatch(/此前退回（已修改）：局长甲 .*：口径请与宣传部统一。\n· 此前退回（已修改）：审核员 .*：请核实发生时间。/);
  });

  it('/stats for a month, its CSV, the register, and a concealed report recorded by hand', async () => {
    const { incident } = await closedIncident(h.deps, h.org, clock);
    const months = await h.send('section', '/stats');
    expect(buttonTexts(months)).toContain('2026-11');
    await h.pressText('section', months, '2026-11');
    const stats = h.last('section');
    expect(stats.text).toContain('2026-11 统计');
    expect(stats.text).toContain('甲街道司法所：事件');
    await h.pressText('section', stats, '📥 导出 CSV');
    const csv = h.last('section');
    expect(csv.document?.file_name).toBe('stats-2026-11.csv');
    expect(h.api.fileContent(csv.document!.file_id)!.toString('utf8')).toContain('单位,甲街道司法所');

    const finding = await h.send('section', `/finding ${incident.number}`);
    await h.pressText('section', finding, '瞒报');
    await h.pressText('section', h.last('section'), '报告人');
    expect(h.last('section').text).toContain('请发送认定事由');
    expect((await h.send('section', '未如实报告对象持有器械')).text).toContain(`已登记：事件 ${incident.number}，瞒报`);

    const register = await h.send('section', '/register 2026-11');
    expect(register.text).toContain('【瞒报】瞒报：未如实报告对象持有器械 — 矫正官甲一');
    expect(register.text).toContain('依据：审计记录 #');
    expect((await h.send('officerA1', '/stats')).text).toBe('您没有权限执行此操作。');
  });

  it('a drill: start (epidemic 情形四 at office A), end, evaluation .docx', async () => {
    const overview = await h.send('section', '/drill');
    await h.pressText('section', overview, '🎯 开始新演练');
    await h.pressText('section', h.last('section'), '涉及重大疫情');
    await h.pressText('section', h.last('section'), '情形四');
    await h.pressText('section', h.last('section'), '甲街道司法所');
    const started = h.last('section');
    expect(started.text).toMatch(/^【演练】演练已开始：事件 演练\d{4}-\d{4}（涉及重大疫情相关情形）/);
    clock.advance(10 * 60_000);
    await h.pressText('section', started, '⏹ 结束演练');
    const ended = h.last('section');
    expect(ended.text).toContain('【演练】演练已结束');
    await h.pressText('section', ended, '📎 评估报告');
    const doc = h.last('section');
    expect(doc.document?.file_name).toMatch(/^drill-evaluation-\d{4}-\d{4}\.docx$/);
    expect(docxText(h.api.fileContent(doc.document!.file_id)!)).toContain('演练评估报告');
    expect((await h.send('officerA1', '/drill')).text).toBe('您没有权限执行此操作。');
  });

  it('screening: the officer logs an unstable result for a subject who is due', async () => {
    await h.db.db.update(subjects).set({ lastScreenedAt: new Date('2026-10-01T02:00:00Z'), riskLevel: 'normal' }).where(eq(subjects.id, h.org.subjects.a1));
    await h.db.db.update(subjects).set({ lastScreenedAt: clock.now() }).where(eq(subjects.id, h.org.subjects.a2));
    const due = await h.send('officerA1', '/screen');
    expect(due.text).toContain('到期待排查的对象 1 人');
    await h.pressText('officerA1', due, 'SQ-A-001');
    await h.pressText('officerA1', h.last('officerA1'), '不稳定');
    const logged = await h.send('officerA1', '与家人发生争执，情绪激动');
    expect(logged.text).toBe('已登记排查结果：不稳定。风险等级由“一般”升为“高”，将列入每日汇总。');
  });

  it('cross-county: the office names counties, the section records each notification with its receipt', async () => {
    const { incident } = await closedIncident(h.deps, h.org, clock);
    const view = await h.send('officerA1', `/counties ${incident.number}`);
    await h.pressText('officerA1', view, '➕');
    const named = await h.send('officerA1', '余杭区，临平区');
    expect(named.text).toContain('余杭区：尚未通报');
    const sectionView = await h.send('section', `/counties ${incident.number}`);
    await h.pressText('section', sectionView, '登记已通报：余杭区');
    expect((await h.send('section', '电话')).text).toContain('请发送回执');
    const after = await h.send('section', '余杭区司法局值班员王某');
    expect(after.text).toMatch(/余杭区：已通报 \d\d:\d\d，科员丙（电话），回执：余杭区司法局值班员王某/);
    expect(after.text).toContain('临平区：尚未通报');
  });
});
