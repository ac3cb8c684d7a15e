import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, incidentSteps, outbox, positions, publicReleases, staff, units } from '../../src/db/schema.js';
import type { Actor } from '../../src/domain/index.js';
import { MAX_SEND_BACK_COMMENT_CHARS, ReleaseError } from '../../src/domain/public-release.js';
import { countiesOf } from '../../src/db/repositories/county.repository.js';
import { nameCounties, recordCountyNotified } from '../../src/services/county.service.js';
import { reportIncident } from '../../src/services/incident.service.js';
import type { ServiceDeps } from '../../src/services/ports.js';
import { findRelease, sendBacksOf } from '../../src/db/repositories/release.repository.js';
import { approveRelease, draftRelease, editRelease, markReleased, reviewRelease, sendBackRelease } from '../../src/services/release.service.js';
import { loadWrittenReport, openWrittenReportDraft } from '../../src/services/written-report.service.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { ManualClock, seedOrg, type SeededOrg } from '../helpers/fixtures.js';
import { closedIncident, makeDeps } from './helpers.js';

let t: TestDatabase;
let org: SeededOrg;
let deps: ServiceDeps;
let reviewer: Actor;
const clock = new ManualClock(new Date('2026-11-29T02:00:00Z'));

beforeAll(async () => {
  t = await createTestDatabase();
  org = await seedOrg(t.db);
  deps = makeDeps(t, org, clock);
  // The functional department that reviews public information (a configurable position).
  const [dept] = await t.db.insert(units).values({ code: 'dept-publicity', kind: 'department', name: '区委宣传部', parentId: org.units.bureau }).returning();
  const [person] = await t.db.insert(staff).values({ code: 'reviewer', name: '审核员', unitId: dept!.id, telegramUserId: 4001, chatId: 4001 }).returning();
  await t.db.insert(positions).values({ code: 'pos-reviewer', kind: 'info_reviewer', unitId: dept!.id, holderStaffId: person!.id });
  reviewer = { staffId: person!.id, unitId: dept!.id, unitKind: 'department', positions: ['info_reviewer'] };
});
afterAll(async () => t?.drop());

describe('public information release', () => {
  it('is refused without a review, and without an approval; released only after both', async () => {
    const { incident } = await closedIncident(deps, org, clock);
    await expect(draftRelease(deps, org.actor('officerA1'), incident.id, '通报')).rejects.toMatchObject({ code: 'not_permitted' });
    const draft = await draftRelease(deps, org.actor('section'), incident.id, '11月29日，甲街道一社区矫正对象在公益活动中滋扰秩序，已依法处置。');
    expect(draft.state).toBe('draft');
    const ask = await t.db.select().from(outbox).where(and(eq(outbox.kind, 'release_review_requested'), eq(outbox.incidentId, incident.id)));
    expect(ask.map((r) => r.recipientStaffId)).toEqual([reviewer.staffId]);

    await expect(markReleased(deps, org.actor('section'), draft.id)).rejects.toMatchObject({ name: 'ReleaseError', reason: 'not_reviewed' });
    await expect(approveRelease(deps, org.actor('director'), draft.id)).rejects.toMatchObject({ reason: 'not_reviewed' });
    await expect(reviewRelease(deps, org.actor('section'), draft.id)).rejects.toMatchObject({ reason: 'not_permitted' });

    clock.advance(60_000);
    const reviewed = await reviewRelease(deps, reviewer, draft.id);
    expect(reviewed).toMatchObject({ state: 'reviewed', reviewedByStaffId: reviewer.staffId });
    const toLeaders = await t.db.select().from(outbox).where(and(eq(outbox.kind, 'release_review_requested'), eq(outbox.incidentId, incident.id)));
    expect(toLeaders.map((r) => r.recipientStaffId).sort()).toEqual([reviewer.staffId, org.staff.deputy, org.staff.director].sort());
    await expect(markReleased(deps, org.actor('section'), draft.id)).rejects.toMatchObject({ reason: 'not_approved' });
    await expect(approveRelease(deps, reviewer, draft.id)).rejects.toMatchObject({ reason: 'not_permitted' });

    clock.advance(60_000);
    const approved = await approveRelease(deps, org.actor('deputy'), draft.id);
    expect(approved).toMatchObject({ state: 'approved', approvedByStaffId: org.staff.deputy });
    clock.advance(60_000);
    const released = await markReleased(deps, org.actor('section'), draft.id);
    expect(released.state).toBe('released');
    expect(released.releasedAt).toEqual(clock.now());
    await expect(editRelease(deps, org.actor('section'), draft.id, '改')).rejects.toMatchObject({ reason: 'already_released' });
    const audit = await t.db.select({ action: auditLog.action }).from(auditLog).where(and(eq(auditLog.entity, 'public_release'), eq(auditLog.entityId, draft.id))).orderBy(auditLog.id);
    expect(audit.map((a) => a.action)).toEqual(['release.drafted', 'release.reviewed', 'release.approved', 'release.released']);
  });

  it('an edit after review sends the text back through review; a row forced to approved without a review is still refused', async () => {
    const { incident } = await closedIncident(deps, org, clock);
    const draft = await draftRelease(deps, org.actor('section'), incident.id, '初稿');
    await reviewRelease(deps, reviewer, draft.id);
    await approveRelease(deps, org.actor('director'), draft.id);
    const edited = await editRelease(deps, org.actor('section'), draft.id, '修改稿');
    expect(edited).toMatchObject({ state: 'draft', reviewedAt: null, approvedAt: null, text: '修改稿' });
    await expect(markReleased(deps, org.actor('section'), draft.id)).rejects.toBeInstanceOf(ReleaseError);

    await t.db.update(publicReleases).set({ state: 'approved', approvedAt: clock.now(), approvedByStaffId: org.staff.director }).where(eq(publicReleases.id, draft.id));
    await expect(markReleased(deps, org.actor('section'), draft.id)).rejects.toMatchObject({ reason: 'not_reviewed' });
  });
});

describe('sending a release back with a comment (退回修改)', () => {
  const returnedNotices = (releaseId: string) => t.db.select().from(outbox).where(and(eq(outbox.kind, 'release_returned'), sql`${outbox.params}->>'releaseId' = ${releaseId}`));
  const auditOf = (releaseId: string) =>
    t.db.select({ action: auditLog.action, data: auditLog.data, actor: auditLog.actorStaffId }).from(auditLog).where(and(eq(auditLog.entity, 'public_release'), eq(auditLog.entityId, releaseId))).orderBy(auditLog.id);

  it('the reviewer sends back a draft: back to draft with the comment, the drafter told, the trail written', async () => {
    const { incident } = await closedIncident(deps, org, clock);
    const draft = await draftRelease(deps, org.actor('section2'), incident.id, '初稿：对象在公益活动中滋扰秩序。');
    clock.advance(60_000);
    const back = await sendBackRelease(deps, reviewer, draft.id, '  时间、地点表述不准确，请核实后修改。 ');
    expect(back).toMatchObject({
      state: 'draft',
      text: draft.text,
      returnedByStaffId: reviewer.staffId,
      returnComment: '时间、地点表述不准确，请核实后修改。',
      reviewedAt: null,
      approvedAt: null,
    });
    expect(back.returnedAt).toEqual(clock.now());
    expect(await findRelease(t.db, draft.id)).toEqual(back);

    // Only the person who drafted it, not every holder of the drafting position.
    const told = await returnedNotices(draft.id);
    expect(told.map((r) => r.recipientStaffId)).toEqual([org.staff.section2]);
    expect(told[0]).toMatchObject({ incidentId: incident.id, params: { releaseId: draft.id, byStaffId: reviewer.staffId } });
    expect(JSON.stringify(told[0]!.params)).not.toContain('核实');

    const trail = await auditOf(draft.id);
    expect(trail.map((a) => a.action)).toEqual(['release.drafted', 'release.returned']);
    expect(trail[1]).toMatchObject({ actor: reviewer.staffId, data: { state: 'draft', from: 'draft', length: '时间、地点表述不准确，请核实后修改。'.length } });
    expect(JSON.stringify(trail[1]!.data)).not.toContain('核实');
  });

  it('a leader sends back a reviewed draft: the review stamp is cleared; an edit clears the comment and asks for review again', async () => {
    const { incident } = await closedIncident(deps, org, clock);
    const draft = await draftRelease(deps, org.actor('section'), incident.id, '通报稿');
    clock.advance(60_000);
    const reviewed = await reviewRelease(deps, reviewer, draft.id);
    expect(reviewed.reviewedByStaffId).toBe(reviewer.staffId);
    clock.advance(60_000);
    const back = await sendBackRelease(deps, org.actor('deputy'), draft.id, '口径请与宣传部统一');
    expect(back).toMatchObject({ state: 'draft', reviewedAt: null, reviewedByStaffId: null, approvedAt: null, approvedByStaffId: null, returnedByStaffId: org.staff.deputy, returnComment: '口径请与宣传部统一' });
    expect((await returnedNotices(draft.id)).map((r) => r.recipientStaffId)).toEqual([org.staff.section]);
    // Back at draft it can no longer be approved without a new review.
    await expect(approveRelease(deps, org.actor('director'), draft.id)).rejects.toMatchObject({ reason: 'not_reviewed' });

    clock.advance(60_000);
    const edited = await editRelease(deps, org.actor('section'), draft.id, '修改后的通报稿');
    expect(edited).toMatchObject({ state: 'draft', text: '修改后的通报稿', returnedAt: null, returnedByStaffId: null, returnComment: null });
    expect((await auditOf(draft.id)).map((a) => a.action)).toEqual(['release.drafted', 'release.reviewed', 'release.returned', 'release.edited']);
    // The edit asks the reviewer again, as any edit does.
    const asks = await t.db.select().from(outbox).where(and(eq(outbox.kind, 'release_review_requested'), eq(outbox.incidentId, incident.id), eq(outbox.recipientStaffId, reviewer.staffId)));
    expect(asks).toHaveLength(2);

    // The edit answered the reason; the history keeps it, and the next send-back joins it.
    clock.advance(60_000);
    await sendBackRelease(deps, reviewer, draft.id, '仍需核实时间');
    const history = await sendBacksOf(t.db, draft.id);
    expect(history.map((b) => [b.byStaffId, b.fromState, b.comment])).toEqual([
      [reviewer.staffId, 'draft', '仍需核实时间'],
      [org.staff.deputy, 'reviewed', '口径请与宣传部统一'],
    ]);
  });

  it('is refused to anyone else, at the wrong step, once approved or released, and without a fitting reason — changing nothing', async () => {
    const { incident } = await closedIncident(deps, org, clock);
    const draft = await draftRelease(deps, org.actor('section'), incident.id, '通报稿');
    const unchanged = async (expected: Awaited<ReturnType<typeof findRelease>>) => {
      expect(await findRelease(t.db, draft.id)).toEqual(expected);
      expect(await returnedNotices(draft.id)).toEqual([]);
      expect((await auditOf(draft.id)).some((a) => a.action === 'release.returned')).toBe(false);
    };

    let before = await findRelease(t.db, draft.id);
    await expect(sendBackRelease(deps, org.actor('section'), draft.id, '意见')).rejects.toMatchObject({ name: 'ReleaseError', reason: 'not_permitted' });
    await expect(sendBackRelease(deps, org.actor('officerA1'), draft.id, '意见')).rejects.toMatchObject({ reason: 'not_permitted' });
    await expect(sendBackRelease(deps, org.actor('director'), draft.id, '意见')).rejects.toMatchObject({ reason: 'wrong_state' });
    await expect(sendBackRelease(deps, reviewer, draft.id, '   ')).rejects.toMatchObject({ reason: 'empty_comment' });
    await expect(sendBackRelease(deps, reviewer, draft.id, '改'.repeat(MAX_SEND_BACK_COMMENT_CHARS + 1))).rejects.toMatchObject({ reason: 'comment_too_long' });
    await unchanged(before);

    await reviewRelease(deps, reviewer, draft.id);
    before = await findRelease(t.db, draft.id);
    await expect(sendBackRelease(deps, reviewer, draft.id, '意见')).rejects.toMatchObject({ reason: 'wrong_state' });
    await expect(sendBackRelease(deps, org.actor('deputy'), draft.id, '')).rejects.toMatchObject({ reason: 'empty_comment' });
    await unchanged(before);

    await approveRelease(deps, org.actor('director'), draft.id);
    before = await findRelease(t.db, draft.id);
    for (const who of [reviewer, org.actor('deputy'), org.actor('director')]) {
      await expect(sendBackRelease(deps, who, draft.id, '意见')).rejects.toMatchObject({ reason: 'already_approved' });
    }
    await unchanged(before);

    await markReleased(deps, org.actor('section'), draft.id);
    before = await findRelease(t.db, draft.id);
    for (const who of [reviewer, org.actor('director')]) {
      await expect(sendBackRelease(deps, who, draft.id, '意见')).rejects.toMatchObject({ reason: 'already_released' });
    }
    await unchanged(before);
  });

  it('a drafter who can no longer be reached: the section hears instead; a leader who drafted and sends back is not told of their own act', async () => {
    const { incident } = await closedIncident(deps, org, clock);
    const draft = await draftRelease(deps, org.actor('director'), incident.id, '局领导起草的通报稿');
    await t.db.update(staff).set({ reachable: false }).where(eq(staff.id, org.staff.director));
    try {
      await sendBackRelease(deps, reviewer, draft.id, '请补充处置结果');
      expect((await returnedNotices(draft.id)).map((r) => r.recipientStaffId).sort()).toEqual([org.staff.section, org.staff.section2].sort());
    } finally {
      await t.db.update(staff).set({ reachable: true }).where(eq(staff.id, org.staff.director));
    }

    const own = await draftRelease(deps, org.actor('deputy'), incident.id, '副局长起草的通报稿');
    await reviewRelease(deps, reviewer, own.id);
    const back = await sendBackRelease(deps, org.actor('deputy'), own.id, '自行撤回再改');
    expect(back.state).toBe('draft');
    expect(await returnedNotices(own.id)).toEqual([]);
  });
});

describe('cross-county notification', () => {
  it('each named county is notified as a recorded step with a receipt; the county step follows', async () => {
    const r = await reportIncident(deps, org.actor('officerA1'), {
      type: 'absconding', subjectId: org.subjects.a1, officeUnitId: org.units.officeA, discoveredAt: clock.now(), injured: 0, dead: 0, description: '对象失联',
    });
    const id = r.incident.id;
    const step = async () => (await t.db.select().from(incidentSteps).where(and(eq(incidentSteps.incidentId, id), eq(incidentSteps.key, 'notify_other_counties'))))[0]!;
    expect((await step()).state).toBe('not_applicable');

    const named = await nameCounties(deps, org.actor('officerA1'), id, ['余杭区', ' 余杭区 ', '临平区']);
    expect(named.map((n) => n.county)).toEqual(['余杭区', '临平区']);
    expect((await step()).state).toBe('pending');
    await expect(nameCounties(deps, org.actor('officerA1'), id, ['余杭区'])).rejects.toMatchObject({ code: 'already_done' });

    await expect(recordCountyNotified(deps, org.actor('officerA1'), named[0]!.id, { how: '电话', receipt: '值班员王某' })).rejects.toMatchObject({ code: 'not_permitted' });
    await expect(recordCountyNotified(deps, org.actor('section'), named[0]!.id, { how: '电话', receipt: ' ' })).rejects.toMatchObject({ code: 'invalid_input' });
    clock.advance(5 * 60_000);
    const first = await recordCountyNotified(deps, org.actor('section'), named[0]!.id, { how: '电话', receipt: '余杭区司法局值班员王某，回执号 YH-1129-01' });
    expect(first).toMatchObject({ notifiedByStaffId: org.staff.section, how: '电话', receipt: '余杭区司法局值班员王某，回执号 YH-1129-01' });
    expect(first.notifiedAt).toEqual(clock.now());
    expect((await step()).state).toBe('pending');
    await expect(recordCountyNotified(deps, org.actor('section'), named[0]!.id, { how: '电话', receipt: 'x' })).rejects.toMatchObject({ code: 'already_done' });
    await recordCountyNotified(deps, org.actor('section2'), named[1]!.id, { how: '公函', receipt: '临司函〔2026〕88号' });
    expect((await step())).toMatchObject({ state: 'done', doneByStaffId: org.staff.section2 });
    const audit = await t.db.select({ action: auditLog.action, data: auditLog.data }).from(auditLog).where(and(eq(auditLog.incidentId, id), eq(auditLog.action, 'county.notified')));
    expect(audit).toHaveLength(2);
    expect((await countiesOf(t.db, id)).every((c) => c.receipt)).toBe(true);

    // The written report then carries a section on the counties, prefilled with the receipts.
    await t.db.execute(`update incidents set status = 'closed', closure = 'resolved', closed_at = now(), closed_by_staff_id = '${org.staff.section}' where id = '${id}'`);
    const opened = await t.db.transaction((tx) => openWrittenReportDraft(tx, id, clock.now()));
    const view = (await loadWrittenReport(t.db, opened!.report.id))!;
    expect(view.sections.map((s) => s.key)).toContain('counties');
    expect(view.body.counties).toContain('余杭区：');
    expect(view.body.counties).toContain('回执：临司函〔2026〕88号');
  });
});
