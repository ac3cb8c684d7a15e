/**
 * Public information release (对外发布, 五(三)): the bureau drafts, the functional department reviews, the
 * bureau approves, and only then is the text marked released. Each step is one transaction with its audit
 * entry and the notice to whoever acts next; the domain state machine refuses any shortcut.
 */
import type { Executor } from '../db/client.js';
import { appendAudit } from '../db/repositories/audit.repository.js';
import { lockIncident, type IncidentRow } from '../db/repositories/incident.repository.js';
import { loadOrgSnapshot } from '../db/repositories/org.repository.js';
import { enqueueNotices, type NoticeDraft } from '../db/repositories/outbox.repository.js';
import { insertRelease, insertSendBack, lockRelease as lockReleaseRow, updateRelease, type ReleaseRow } from '../db/repositories/release.repository.js';
import type { TimerTarget } from '../domain/policy.js';
import { canDraftRelease, canSeeRelease, MAX_RELEASE_CHARS, nextReleaseState, type ReleaseAction, type ReleaseFacts, type ReleaseState } from '../domain/public-release.js';
import { canSeeOffice, type Actor } from '../domain/roles.js';
import { ServiceRefusal } from './errors.js';
import { noticesFor } from './incident.service.js';
import { emptyChange, type ServiceDeps } from './ports.js';

function requireText(text: string): string {
  const s = text.trim();
  if (s === '' || s.length > MAX_RELEASE_CHARS) throw new ServiceRefusal('invalid_input', 'text');
  return s;
}

const REVIEWERS: TimerTarget[] = [{ kind: 'position', position: 'info_reviewer', scope: 'bureau' }];
const APPROVERS: TimerTarget[] = [
  { kind: 'position', position: 'deputy_director', scope: 'bureau' },
  { kind: 'position', position: 'director', scope: 'bureau' },
];
/** Who hears of a send-back when the drafter can no longer be reached: the section, which drafts for the bureau. */
const DRAFTERS: TimerTarget[] = [{ kind: 'position', position: 'section', scope: 'bureau' }];

/** Drafts a release for an incident; the functional department is asked to review it. */
export async function draftRelease(deps: ServiceDeps, actor: Actor, incidentId: string, text: string): Promise<ReleaseRow> {
  if (!canDraftRelease(actor)) throw new ServiceRefusal('not_permitted');
  const body = requireText(text);
  const now = deps.clock.now();
  const result = await deps.db.transaction(async (tx) => {
    const incident = await lockIncident(tx, incidentId);
    if (!incident || !canSeeOffice(actor, incident.officeUnitId)) throw new ServiceRefusal('not_found');
    const row = await insertRelease(tx, { incidentId, text: body, state: 'draft', draftedByStaffId: actor.staffId, createdAt: now });
    const outbox = await notify(tx, incident, row, REVIEWERS, 'review', actor, now);
    await audit(tx, now, actor, row, 'drafted', { length: body.length });
    return { row, change: { ...emptyChange(), outboxCreated: outbox } };
  });
  await deps.dispatcher.afterCommit(result.change);
  return result.row;
}

/** Asks the next people to act; the key carries the time, so a text edited and sent back asks again. */
async function notify(tx: Executor, incident: IncidentRow, row: ReleaseRow, targets: TimerTarget[], step: 'review' | 'approve', actor: Actor, at: Date) {
  const org = await loadOrgSnapshot(tx);
  const round = `${row.id}-${step}-${at.getTime()}`;
  return enqueueNotices(tx, noticesFor(org, targets, incident, 'release_review_requested', round, { exclude: actor.staffId, params: { releaseId: row.id, step } }));
}

async function audit(tx: Executor, at: Date, actor: Actor, row: ReleaseRow, what: string, data: Record<string, unknown> = {}) {
  await appendAudit(tx, {
    at,
    action: `release.${what}`,
    entity: 'public_release',
    entityId: row.id,
    incidentId: row.incidentId,
    actorStaffId: actor.staffId,
    data: { state: row.state, ...data },
  });
}

async function lockRelease(tx: Executor, id: string): Promise<ReleaseRow> {
  const row = await lockReleaseRow(tx, id);
  if (!row) throw new ServiceRefusal('not_found');
  return row;
}

/** Locks a release and its incident, if the actor may see them. */
async function lockForStep(tx: Executor, actor: Actor, releaseId: string): Promise<{ current: ReleaseRow; incident: IncidentRow }> {
  const current = await lockRelease(tx, releaseId);
  const incident = await lockIncident(tx, current.incidentId);
  if (!incident) throw new ServiceRefusal('not_found');
  if (!canSeeRelease(actor, incident.officeUnitId)) throw new ServiceRefusal('not_found');
  return { current, incident };
}

/** A row with no send-back on it: what an edit writes. */
const NOT_RETURNED = { returnedAt: null, returnedByStaffId: null, returnComment: null } satisfies Partial<ReleaseRow>;

const factsOf = (row: ReleaseRow): ReleaseFacts => ({ state: row.state as ReleaseState, returnedAt: row.returnedAt, reviewedAt: row.reviewedAt, approvedAt: row.approvedAt });

/**
 * Applies one step of the release. Editing sends the text back to draft (its review and approval no
 * longer hold); review and approval stamp who and when; release requires both stamps.
 * Throws ReleaseError when the state machine refuses.
 */
async function step(deps: ServiceDeps, actor: Actor, releaseId: string, action: Exclude<ReleaseAction, 'send_back'>, text?: string): Promise<ReleaseRow> {
  const now = deps.clock.now();
  const body = action === 'edit' ? requireText(text ?? '') : null;
  const result = await deps.db.transaction(async (tx) => {
    const { current, incident } = await lockForStep(tx, actor, releaseId);
    const next: ReleaseState = nextReleaseState(factsOf(current), action, actor);
    const patch: Partial<ReleaseRow> = { state: next };
    // A new text answers the last send-back, so its comment leaves the card with it.
    if (action === 'edit') Object.assign(patch, { text: body, reviewedAt: null, reviewedByStaffId: null, approvedAt: null, approvedByStaffId: null, ...NOT_RETURNED });
    if (action === 'review') Object.assign(patch, { reviewedAt: now, reviewedByStaffId: actor.staffId });
    if (action === 'approve') Object.assign(patch, { approvedAt: now, approvedByStaffId: actor.staffId });
    if (action === 'release') Object.assign(patch, { releasedAt: now });
    const row = await updateRelease(tx, releaseId, patch);
    let outbox: Array<{ id: string }> = [];
    if (action === 'review') outbox = await notify(tx, incident, row, APPROVERS, 'approve', actor, now);
    if (action === 'edit') outbox = await notify(tx, incident, row, REVIEWERS, 'review', actor, now);
    const verb = action === 'edit' ? 'edited' : action === 'review' ? 'reviewed' : action === 'approve' ? 'approved' : 'released';
    await audit(tx, now, actor, row, verb, action === 'edit' ? { length: body!.length, from: current.state } : {});
    return { row, change: { ...emptyChange(), outboxCreated: outbox } };
  });
  await deps.dispatcher.afterCommit(result.change);
  return result.row;
}

export const editRelease = (deps: ServiceDeps, actor: Actor, releaseId: string, text: string) => step(deps, actor, releaseId, 'edit', text);
/** 审核: the functional department (position `info_reviewer`). */
export const reviewRelease = (deps: ServiceDeps, actor: Actor, releaseId: string) => step(deps, actor, releaseId, 'review');
/** 审批: the bureau (director or deputy director), only after the review. */
export const approveRelease = (deps: ServiceDeps, actor: Actor, releaseId: string) => step(deps, actor, releaseId, 'approve');
/** 统一发布: marked released, only with both the review and the approval on file. */
export const markReleased = (deps: ServiceDeps, actor: Actor, releaseId: string) => step(deps, actor, releaseId, 'release');

/**
 * 退回修改: the functional department sends back a draft it will not pass, or a bureau leader a reviewed
 * draft it will not approve, with a comment. The text goes back to draft with its review and approval
 * stamps cleared; the comment stays on the row (and the card) until the text is next edited; the drafter is
 * told. Throws ReleaseError when the state machine refuses (who, when, or the comment), changing nothing.
 */
export async function sendBackRelease(deps: ServiceDeps, actor: Actor, releaseId: string, comment: string): Promise<ReleaseRow> {
  const now = deps.clock.now();
  const result = await deps.db.transaction(async (tx) => {
    const { current, incident } = await lockForStep(tx, actor, releaseId);
    const next = nextReleaseState(factsOf(current), 'send_back', actor, comment);
    const reason = comment.trim();
    const row = await updateRelease(tx, releaseId, {
      state: next,
      reviewedAt: null,
      reviewedByStaffId: null,
      approvedAt: null,
      approvedByStaffId: null,
      returnedAt: now,
      returnedByStaffId: actor.staffId,
      returnComment: reason,
    });
    // The history keeps every reason; the row only the one the next edit answers.
    await insertSendBack(tx, { releaseId, at: now, byStaffId: actor.staffId, fromState: current.state, comment: reason });
    const outbox = await enqueueNotices(tx, await drafterNotices(tx, incident, row, actor, now));
    // The comment is free text (it may name people): the row keeps it, the hash-chained trail its length.
    await audit(tx, now, actor, row, 'returned', { from: current.state, length: reason.length });
    return { row, change: { ...emptyChange(), outboxCreated: outbox } };
  });
  await deps.dispatcher.afterCommit(result.change);
  return result.row;
}

/**
 * The notice of a send-back goes to the one person who drafted the text; should they no longer be reachable
 * (left, or no chat), to the section, which drafts for the bureau. Never to the person who sent it back.
 * The params carry ids only: the renderer reads the comment from the row.
 */
async function drafterNotices(tx: Executor, incident: IncidentRow, row: ReleaseRow, actor: Actor, at: Date): Promise<NoticeDraft[]> {
  const org = await loadOrgSnapshot(tx);
  const round = `${row.id}-returned-${at.getTime()}`;
  const params = { releaseId: row.id, byStaffId: actor.staffId };
  const drafter = org.staff.get(row.draftedByStaffId);
  if (!drafter?.active || !drafter.reachable) return noticesFor(org, DRAFTERS, incident, 'release_returned', round, { exclude: actor.staffId, params });
  if (row.draftedByStaffId === actor.staffId) return [];
  return [
    {
      recipientStaffId: row.draftedByStaffId,
      kind: 'release_returned',
      incidentId: incident.id,
      dedupeKey: `release_returned-${incident.id}-${round}-${row.draftedByStaffId}`,
      params,
      isDrill: incident.isDrill,
      timerId: null,
    },
  ];
}
