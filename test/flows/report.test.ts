/**
 * /report end to end, as a duty officer does it on a phone: against the Bot API stand-in over HTTP,
 * with the real database. Covers type 一 with casualties, type 四 through the search branches, epidemic
 * scenario 三, wrong input at each typed step, and a restart in the middle of the form.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buttonData, buttonTexts, fillReportForm, reportThroughForm, startBotHarness, type BotHarness } from '../helpers/bot-harness.js';

let h: BotHarness;

beforeAll(async () => {
  h = await startBotHarness();
});
afterAll(async () => {
  await h?.close();
});

async function incidentByNumber(number: string) {
  const [row] = await h.db.sql`select * from incidents where number = ${number}`;
  expect(row, `incident ${number}`).toBeDefined();
  return row!;
}

/** The number in a bot message (“已上报，编号 2026-0001”, the card): tests may run in any order, so none is assumed. */
function numberIn(text: string | undefined): string {
  const number = /\b\d{4}-\d{4,}\b/.exec(text ?? '')?.[0];
  expect(number, `an incident number in ${text}`).toBeDefined();
  return number!;
}

describe('a type 一 report with casualties', () => {
  it('walks type → subject → time → place → casualties → description and photo → confirm, and shows the card', async () => {
    let m = await h.send('officerA1', '/report');
    expect(m.text).toContain('第 1/7 步');
    expect(m.text).toContain('下一步：涉及对象');
    expect(buttonTexts(m)).toHaveLength(11 + 2); // the types, "what counts", cancel

    // "What counts as this?" shows the plan's definitions, and a type can be chosen from there.
    await h.pressText('officerA1', m, '各类型指什么');
    m = h.last('officerA1');
    expect(m.text).toContain('以要挟或制造重大社会影响为目的的自杀');
    expect(buttonTexts(m)).toContain('« 返回');
    await h.pressText('officerA1', m, '« 返回');
    m = h.last('officerA1');
    expect(m.text).toContain('请选择事件类型');
    await h.pressText('officerA1', m, '一、行凶犯罪');
    m = h.last('officerA1');
    expect(m.text).toContain('第 2/7 步');

    m = await h.send('officerA1', '没有这个人');
    expect(m.text).toContain('没有找到');
    m = await h.send('officerA1', '张');
    expect(buttonTexts(m)).toContain('张*（SQ-A-001）');
    expect(m.text).not.toContain('张三'); // masked: PII_MODE=masked
    await h.pressText('officerA1', m, '张*（SQ-A-001）');
    m = h.last('officerA1');
    expect(m.text).toContain('第 3/7 步');

    // Text where a time is asked: asked again, with an example.
    m = await h.send('officerA1', '下午两点左右');
    expect(m.text).toContain('时间格式不对');
    expect(m.text).toContain('14:30');
    expect(m.text).toContain('第 3/7 步');
    m = await h.send('officerA1', '2026-12-25 10:00');
    expect(m.text).toContain('晚于现在');
    // A time accepted, then corrected with « back.
    m = await h.send('officerA1', '昨天 23:00');
    expect(m.text).toContain('第 4/7 步');
    await h.pressText('officerA1', m, '« 返回');
    m = h.last('officerA1');
    expect(m.text).toContain('第 3/7 步');
    m = await h.send('officerA1', '09:45');
    expect(m.text).toContain('第 4/7 步');

    m = await h.send('officerA1', '拱墅区和睦新村 3 幢');
    expect(m.text).toContain('是否有人员伤亡');
    await h.pressText('officerA1', m, '有伤有亡');
    m = h.last('officerA1');
    expect(m.text).toContain('受伤人数');
    await h.pressText('officerA1', m, '2');
    m = h.last('officerA1');
    expect(m.text).toContain('死亡人数');
    m = await h.send('officerA1', '很多');
    expect(m.text).toContain('1 到 999');
    m = await h.send('officerA1', '1');
    expect(m.text).toContain('请描述现场情况');

    // An empty description is refused.
    m = await h.send('officerA1', '   ');
    expect(m.text).toContain('情况描述不能为空');
    m = await h.send('officerA1', '对象持刀与邻居发生冲突，邻居两人受伤，一人死亡。已报警。');
    expect(m.text).toContain('可继续发送照片或语音');
    m = await h.sendPhoto('officerA1');
    expect(m.text).toContain('共 1 个');
    m = await h.sendVoice('officerA1');
    expect(m.text).toContain('共 2 个');
    await h.pressText('officerA1', m, '下一步');
    m = h.last('officerA1');
    expect(m.text).toContain('请核对后确认上报');
    expect(m.text).toContain('伤 2 人，亡 1 人');
    expect(m.text).toContain('拱墅区和睦新村 3 幢');
    expect(m.text).toContain('附件：2 个');

    // « 返回 from the review keeps what was entered: the description is shown, not cleared.
    await h.pressText('officerA1', m, '« 返回');
    m = h.last('officerA1');
    await h.pressText('officerA1', m, '« 返回');
    m = h.last('officerA1');
    expect(m.text).toContain('请描述现场情况');
    expect(m.text).toContain('已填写：对象持刀与邻居发生冲突');
    await h.pressText('officerA1', m, '« 返回');
    m = h.last('officerA1');
    expect(m.text).toContain('死亡人数');
    // Forward again without retyping anything: everything is still there.
    await h.pressText('officerA1', m, '1');
    m = h.last('officerA1');
    m = await h.send('officerA1', '对象持刀与邻居发生冲突，邻居两人受伤，一人死亡。已报警。');
    await h.pressText('officerA1', m, '下一步');
    m = h.last('officerA1');
    expect(m.text).toContain('伤 2 人，亡 1 人');
    expect(m.text).toContain('附件：2 个');

    // 修改 one part from the review: only that part is asked, then back to the review with the rest kept.
    await h.pressText('officerA1', m, '✏️ 修改地点');
    m = h.last('officerA1');
    expect(m.text).toContain('事件发生在哪里');
    expect(m.text).toContain('已填写：拱墅区和睦新村 3 幢');
    m = await h.send('officerA1', '拱墅区和睦新村 3 幢 2 单元');
    expect(m.text).toContain('请核对后确认上报');
    expect(m.text).toContain('和睦新村 3 幢 2 单元');
    expect(m.text).toContain('伤 2 人，亡 1 人');
    expect(m.text).toContain('附件：2 个');

    await h.pressText('officerA1', m, '确认上报');
    const msgs = h.api.botMessages(h.tg('officerA1'));
    const submitted = msgs.filter((x) => x.text?.includes('已上报，编号')).at(-1);
    const number = numberIn(submitted?.text);
    expect(number).toMatch(/^2026-/); // the year of the report's local date (the test clock: 2026-11-29)
    const card = h.last('officerA1');
    expect(card.text).toContain(number);
    expect(card.text).toContain('待签收');
    expect(card.text).toContain('伤 2 人，亡 1 人');
    expect(card.text).toContain('⬜ 5. 立即拨打120或协调医院救治');
    expect(card.text).toContain('✅ 2. 向区司法局社区矫正管理科报告');
    expect(card.text).toContain('张*（SQ-A-001）');
    // The officer does not acknowledge; the section does.
    expect(buttonTexts(card)).not.toContain('✍ 签收');
    expect(buttonTexts(card)).toContain('📝 续报');

    const incident = await incidentByNumber(number);
    expect(incident.injured).toBe(2);
    expect(incident.dead).toBe(1);
    expect(incident.place).toBe('拱墅区和睦新村 3 幢 2 单元');
    expect(incident.media.map((x: { kind: string }) => x.kind)).toEqual(['photo', 'voice']);
    expect(incident.late_report).toBe(false);
    const outbox = await h.db.sql`select recipient_staff_id from outbox where incident_id = ${incident.id} and kind = 'incident_reported'`;
    expect(outbox.map((r) => r.recipient_staff_id).sort()).toEqual([h.org.staff.section, h.org.staff.section2, h.org.staff.headA].sort());
    const timers = await h.db.sql`select count(*)::int as n from timers where incident_id = ${incident.id} and state = 'pending'`;
    expect(timers[0]!.n).toBeGreaterThan(5);
    const [state] = await h.db.sql`select count(*)::int as n from flow_states where chat_id = ${h.tg('officerA1')}`;
    expect(state!.n).toBe(0);
  });
});

describe('a bare time typed just ahead of the clock', () => {
  it('is never moved to yesterday unseen: the officer is asked, and may type it again or confirm yesterday', async () => {
    const saved = h.clock.now();
    h.clock.set(new Date('2026-11-30T21:49:00Z')); // 05:49 on 12-01 in Shanghai
    try {
      let m = await h.send('officerB1', '/report');
      await h.pressText('officerB1', m, '五、严重滋扰');
      m = await h.send('officerB1', 'SQ-B-001');
      await h.pressText('officerB1', m, 'SQ-B-001');
      expect(h.last('officerB1').text).toContain('第 3/7 步');

      // A typo ten minutes ahead: asked, not read as yesterday.
      m = await h.send('officerB1', '05:59');
      expect(m.text).toContain('第 3/7 步');
      expect(m.text).toContain('您输入的 05:59 晚于现在（05:49）');
      expect(m.text).toContain('是指昨天 05:59 吗');
      expect(buttonTexts(m)).toEqual(expect.arrayContaining(['昨天 05:59', '✏️ 重新输入']));
      expect(buttonTexts(m)).not.toContain('🕒 现在');

      // Typed again: the ordinary question, and the right time is taken as today's.
      await h.pressText('officerB1', m, '重新输入');
      m = h.last('officerB1');
      expect(m.text).toContain('事件何时发生或被发现');
      m = await h.send('officerB1', '05:39');
      expect(m.text).toContain('第 4/7 步');

      // Back to the time, the same typo, and this time yesterday is what was meant: shown with its date.
      await h.pressText('officerB1', m, '« 返回');
      m = await h.send('officerB1', '05:59');
      expect(m.text).toContain('是指昨天 05:59 吗');
      await h.pressText('officerB1', m, '昨天 05:59');
      m = h.last('officerB1');
      expect(m.text).toContain('第 4/7 步');
      m = await h.send('officerB1', '司法所门口');
      await h.pressText('officerB1', m, '无伤亡');
      m = await h.send('officerB1', '对象在门口大声喧哗。');
      await h.pressText('officerB1', m, '下一步');
      m = h.last('officerB1');
      expect(m.text).toContain('时间：11-30 05:59');
      expect(m.text).toContain('将记为迟报');
      await h.pressText('officerB1', m, '确认上报');
      const incident = await incidentByNumber(numberIn(h.last('officerB1').text));
      expect(new Date(incident.discovered_at).toISOString()).toBe('2026-11-29T21:59:00.000Z');
    } finally {
      h.clock.set(saved);
    }
  });

  it('asks the same when a search attempt’s time is ahead of the clock', async () => {
    const { number } = await reportThroughForm(h, 'officerA1', { type: '四、脱离监督管理', subject: 'SQ-A-002', pick: 'SQ-A-002', place: '住所', description: '未报到。' });
    const saved = h.clock.now();
    h.clock.advance(5 * 60_000); // 10:05 or so
    const now = h.clock.now();
    try {
      await h.pressText('officerA1', h.last('officerA1'), '查找记录');
      await h.pressText('officerA1', h.last('officerA1'), '通讯联络');
      await h.pressText('officerA1', h.last('officerA1'), '未找到');
      let m = await h.send('officerA1', '23:30');
      expect(m.text).toContain('您输入的 23:30 晚于现在');
      await h.pressText('officerA1', m, '昨天 23:30');
      m = h.last('officerA1');
      expect(m.text).toContain('已记录：通讯联络');
      expect(m.text).toContain('11-28 23:30 通讯联络：未找到');
      const incident = await incidentByNumber(number);
      const [attempt] = await h.db.sql`select at from search_attempts where incident_id = ${incident.id}`;
      expect(new Date(attempt!.at).toISOString()).toBe('2026-11-28T15:30:00.000Z');
      expect(now.getTime()).toBeGreaterThan(new Date(attempt!.at).getTime());
    } finally {
      h.clock.set(saved);
    }
  });
});

describe('an absconding (四) report asks where the subject was last seen, and may skip it', () => {
  it('asks for the last known place or destination, not where it happened, with 跳过', async () => {
    let m = await h.send('officerA1', '/report');
    await h.pressText('officerA1', m, '四、脱离监督管理');
    m = await h.send('officerA1', 'SQ-A-002');
    await h.pressText('officerA1', m, buttonTexts(m).find((b) => b.includes('SQ-A-002'))!);
    m = h.last('officerA1');
    m = await h.send('officerA1', '09:00');
    expect(m.text).toContain('对象最后出现的地点或可能的去向');
    expect(m.text).not.toContain('事件发生在哪里');
    await h.pressText('officerA1', m, '跳过');
    m = h.last('officerA1');
    expect(m.text).toContain('是否有人员伤亡');
    await h.send('officerA1', '/cancel');
  });
});

describe('an absconding (四) report and its search', () => {
  it('records attempts by method, then not found, then may escalate, then found and brought back', async () => {
    await reportThroughForm(h, 'officerA1', { type: '四、脱离监督管理', subject: 'SQ-A-002', pick: 'SQ-A-002', place: '住所', description: '今日未报到，电话关机。' });
    let card = h.last('officerA1');
    expect(card.text).toContain('四、脱离监督管理');
    expect(buttonTexts(card)).toContain('🔍 查找记录');
    const number = numberIn(card.text);

    // phone: not reached
    await h.pressText('officerA1', card, '查找记录');
    let m = h.last('officerA1');
    expect(m.text).toContain('尚无查找记录');
    await h.pressText('officerA1', m, '通讯联络');
    m = h.last('officerA1');
    await h.pressText('officerA1', m, '未找到');
    m = h.last('officerA1');
    expect(m.text).toContain('何时进行');
    m = await h.send('officerA1', '明天早上'); // not a time
    expect(m.text).toContain('时间格式不对');
    m = await h.send('officerA1', '09:50');
    expect(m.text).toContain('已记录：通讯联络');
    expect(m.text).toContain('09:50 通讯联络：未找到');
    // system check with a typed result
    await h.pressText('officerA1', m, '信息化核查');
    m = await h.send('officerA1', '轨迹显示昨晚在城东');
    await h.pressText('officerA1', m, '刚刚');
    m = h.last('officerA1');
    expect(m.text).toContain('轨迹显示昨晚在城东');
    // not found after searching: reported to the section
    await h.pressText('officerA1', m, '查找未果');
    card = h.last('officerA1');
    expect(card.text).toMatch(/✅ \d+\. 查找未果，上报管理科/);
    expect(card.text).toMatch(/✅ \d+\. 通讯联络查找/);
    expect(card.text).toMatch(/✅ \d+\. 信息化核查/);
    expect(card.text).toMatch(/⬜ \d+\. 实地查访/);

    // it may lead to 一/二/三: police station notified
    await h.pressText('officerA1', card, '查找记录');
    await h.pressText('officerA1', h.last('officerA1'), '可能引发');
    card = h.last('officerA1');
    expect(card.text).toMatch(/✅ \d+\. 立即通知执行地派出所协助查找/);

    // field visit finds the subject; brought back
    await h.pressText('officerA1', card, '查找记录');
    await h.pressText('officerA1', h.last('officerA1'), '实地查访');
    await h.pressText('officerA1', h.last('officerA1'), '找到了');
    await h.pressText('officerA1', h.last('officerA1'), '刚刚');
    m = h.last('officerA1');
    expect(m.text).toContain('对象已找到');
    await h.pressText('officerA1', m, '已带回');
    card = h.last('officerA1');
    expect(card.text).toMatch(/✅ \d+\. 责令其立即到司法所报告；情形紧急的立即带回（带回）/);

    const incident = await incidentByNumber(number);
    const attempts = await h.db.sql`select method, found from search_attempts where incident_id = ${incident.id} order by at`;
    expect(attempts.map((a) => `${a.method}:${a.found}`)).toEqual(['phone:false', 'system:false', 'field:true']);
    const audit = await h.db.sql`select action, data from audit_log where incident_id = ${incident.id} and action = 'absconding.outcome' order by id`;
    expect(audit.map((a) => a.data.outcome)).toEqual(['not_found', 'may_escalate', 'found_brought_back']);
  });
});

describe('an epidemic (九) report, scenario 三', () => {
  it('asks the scenario, explains each, and instantiates its playbook with daily contact', async () => {
    let m = await h.send('officerA2', '/report'); // an English-speaking officer
    expect(m.text).toContain('Step 1/7');
    await h.pressText('officerA2', m, '9. Major epidemic');
    m = h.last('officerA2');
    expect(m.text).toContain('Which epidemic scenario');
    expect(m.text).toContain('while the subject is away from home');
    await h.pressText('officerA2', m, 'Scenario 3');
    m = h.last('officerA2');
    expect(m.text).toContain('Step 2/7');
    await h.pressText('officerA2', m, 'Unknown / not a subject');
    m = h.last('officerA2');
    m = await h.send('officerA2', 'visitor from another city');
    expect(m.text).toContain('Step 3/7');
    m = await h.send('officerA2', 'yesterday 18:00');
    expect(m.text).toContain('Step 4/7');
    m = await h.sendLocation('officerA2', 30.3195, 120.1432);
    expect(m.text).toContain('Is anyone injured');
    await h.pressText('officerA2', m, 'None');
    m = await h.send('officerA2', 'Flagged yellow by epidemic control while in Ningbo.');
    await h.pressText('officerA2', m, 'Next');
    m = h.last('officerA2');
    expect(m.text).toContain('More than 30 minutes since discovery');
    await h.pressText('officerA2', m, 'Submit report');
    const card = h.last('officerA2');
    const number = numberIn(card.text);
    expect(card.text).toContain('Scenario 3');
    expect(card.text).toContain('Keep daily contact with the subject while away');
    expect(card.text).toContain('📍 30.31950, 120.14320');
    expect(card.text).toContain('late');
    const incident = await incidentByNumber(number);
    expect(incident.scenario).toBe('s3');
    expect(incident.criticality).toBe('standard');
    expect(incident.late_report).toBe(true);
    expect(incident.subject_id).toBeNull();
    expect(incident.subject_note).toBe('visitor from another city');
    expect(incident.office_unit_id).toBe(h.org.units.officeA);
  });
});

describe('the form survives a restart', () => {
  it('resumes exactly where the user was, with a new bot instance on the same database', async () => {
    let m = await h.send('officerB1', '/report');
    await h.pressText('officerB1', m, '五、严重滋扰');
    m = await h.send('officerB1', '王');
    await h.pressText('officerB1', m, 'SQ-B-001');
    m = h.last('officerB1');
    expect(m.text).toContain('第 3/7 步');

    await h.restart();

    // The old prompt's buttons still work: the state, the step and the button sequence are in PostgreSQL.
    await h.pressText('officerB1', m, '现在');
    m = h.last('officerB1');
    expect(m.text).toContain('第 4/7 步');
    m = await h.send('officerB1', '司法所学习室');
    await h.pressText('officerB1', m, '无伤亡');
    m = await h.send('officerB1', '学习中大声喧哗，拒不离开。');
    await h.pressText('officerB1', m, '下一步');
    m = h.last('officerB1');
    expect(m.text).toContain('王*（SQ-B-001）');
    await h.pressText('officerB1', m, '确认上报');
    expect(h.last('officerB1').text).toContain('五、严重滋扰管理秩序');
  });

  it('a submit delivered again after its incident committed reports nothing twice', async () => {
    const confirm = await fillReportForm(h, 'officerB1', { type: '五、严重滋扰', subject: '王', pick: 'SQ-B-001', place: '司法所门口', description: '在门口吵闹。' });
    const submit = buttonData(confirm, '确认上报');
    // The database goes away just after the report committed and before the form was cleared: the form
    // is still at its last step when Telegram delivers the submit again.
    const [saved] = await h.db.sql`select to_jsonb(f) as row from flow_states f where chat_id = ${h.tg('officerB1')}`;
    const [{ n: before }] = (await h.db.sql`select count(*)::int as n from incidents`) as unknown as [{ n: number }];
    const seen = h.api.botMessages(h.tg('officerB1')).length;
    await h.press('officerB1', confirm, submit);
    const first = h.api.botMessages(h.tg('officerB1')).slice(seen).find((x) => x.text?.includes('已上报'));
    const number = /\d{4}-\d{4,}/.exec(first?.text ?? '')?.[0];
    expect(number).toBeDefined();
    await h.db.sql`insert into flow_states select * from jsonb_populate_record(null::flow_states, ${JSON.stringify(saved!.row)}::jsonb)`;
    await h.pressForced('officerB1', confirm.message_id, submit);

    const [{ n: after }] = (await h.db.sql`select count(*)::int as n from incidents`) as unknown as [{ n: number }];
    expect(after).toBe(before + 1);
    const told = h.api.botMessages(h.tg('officerB1')).slice(seen).filter((x) => x.text?.includes('已上报'));
    expect(told).toHaveLength(2);
    expect(told[1]!.text).toContain(number!);
    const [{ n: reported }] = (await h.db.sql`select count(*)::int as n from audit_log where action = 'incident.reported' and data->>'number' = ${number!}`) as unknown as [{ n: number }];
    expect(reported).toBe(1);
  });

  it('discards a saved form of an unknown version, and says so', async () => {
    await h.send('officerB1', '/report');
    await h.db.sql`update flow_states set version = 99 where chat_id = ${h.tg('officerB1')}`;
    const m = await h.send('officerB1', '随便');
    const texts = h.api.botMessages(h.tg('officerB1')).slice(-2).map((x) => x.text);
    expect(texts[0]).toContain('无法继续');
    expect(m.text).toContain('我没有理解');
  });

  it('drops a form that outlived its expiry, lazily, on the next message', async () => {
    let m = await h.send('officerB1', '/report');
    h.clock.advance(25 * 3600 * 1000);
    m = await h.send('officerB1', '你好');
    const texts = h.api.botMessages(h.tg('officerB1')).slice(-2).map((x) => x.text);
    expect(texts[0]).toContain('已超时');
    expect(m.text).toContain('我没有理解');
    h.clock.advance(-25 * 3600 * 1000);
  });
});

describe('cancel and stale form buttons', () => {
  it('/cancel ends the form; a button of the old prompt is then refused and audited', async () => {
    const m = await h.send('headA', '/report');
    const r = await h.send('headA', '/cancel');
    expect(r.text).toBe('已取消。');
    expect(buttonTexts(h.api.message(h.tg('headA'), m.message_id))).toEqual([]);
    const count = h.api.botMessages(h.tg('headA')).length;
    const answer = await h.pressForced('headA', m.message_id, buttonData(m, '一、'));
    expect(answer.text).toBe('此按钮已失效。');
    expect(h.api.botMessages(h.tg('headA'))).toHaveLength(count); // told in the answer, not in the chat
    const [audit] = await h.db.sql`select data from audit_log where action = 'callback.refused' and actor_telegram_id = ${h.tg('headA')} order by id desc limit 1`;
    expect(audit!.data.reason).toBe('stale_flow');
    const again = await h.send('headA', '/cancel');
    expect(again.text).toBe('当前没有进行中的操作。');
  });

  it('the cancel button ends the form in place', async () => {
    const m = await h.send('headA', '/report');
    await h.pressText('headA', m, '✖ 取消');
    const after = h.api.message(h.tg('headA'), m.message_id);
    expect(after?.text).toBe('已取消。');
    expect(buttonTexts(after)).toEqual([]);
  });
});
