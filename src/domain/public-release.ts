/**
 * Public information (五(三)): the bureau decides what is released; a draft is reviewed by the functional
 * department (the `info_reviewer` position, configured in the org file), approved by the bureau (director
 * or deputy director), and only then marked released — in one voice. Pure state machine.
 */
import { canSeeOffice, type Actor } from './roles.js';

export const RELEASE_STATES = ['draft', 'reviewed', 'approved', 'released'] as const;
export type ReleaseState = (typeof RELEASE_STATES)[number];

/** `send_back` (退回修改): the reviewer or the approver returns the draft to the drafter with a comment. */
export type ReleaseAction = 'edit' | 'review' | 'approve' | 'release' | 'send_back';

export type ReleaseRefusal =
  | 'not_permitted'
  | 'not_reviewed'
  | 'not_approved'
  | 'already_released'
  | 'already_approved'
  | 'awaiting_edit'
  | 'wrong_state'
  | 'empty_text'
  | 'empty_comment'
  | 'comment_too_long';

export class ReleaseError extends Error {
  override readonly name = 'ReleaseError';
  constructor(
    readonly reason: ReleaseRefusal,
    readonly state: ReleaseState,
    readonly action: ReleaseAction,
  ) {
    super(`cannot ${action} a ${state} release: ${reason}`);
  }
}

/** The bureau drafts (the section as the HQ office, or a leader). */
export function canDraftRelease(actor: Actor): boolean {
  return actor.positions.some((p) => p === 'section' || p === 'deputy_director' || p === 'director');
}

export function canReviewRelease(actor: Actor): boolean {
  return actor.positions.includes('info_reviewer');
}

/** Who sees a release: whoever sees its incident's office, and the functional department that reviews it (outside the office tree). */
export function canSeeRelease(actor: Actor, incidentOfficeUnitId: string): boolean {
  return canSeeOffice(actor, incidentOfficeUnitId) || canReviewRelease(actor);
}

export function canApproveRelease(actor: Actor): boolean {
  return actor.positions.some((p) => p === 'deputy_director' || p === 'director');
}

/** Marking it released is clerical; the section or a leader does it once the approval is on file. */
export function canMarkReleased(actor: Actor): boolean {
  return canDraftRelease(actor);
}

/**
 * Who may send a release back, and when: the functional department a draft it has not passed yet, a bureau
 * leader a reviewed draft awaiting approval. Once approved it is past both (the bureau may still edit it,
 * which sends it through review again); once released it never changes. Null when allowed.
 */
export function sendBackRefusal(state: ReleaseState, actor: Actor): ReleaseRefusal | null {
  if (state === 'released') return 'already_released';
  if (state === 'approved') return 'already_approved';
  const reviews = canReviewRelease(actor);
  const approves = canApproveRelease(actor);
  if (!reviews && !approves) return 'not_permitted';
  // A reviewer facing a reviewed draft, or a leader facing one not yet reviewed: not their step.
  if (state === 'draft' ? !reviews : !approves) return 'wrong_state';
  return null;
}

export function canSendBackRelease(actor: Actor, state: ReleaseState): boolean {
  return sendBackRefusal(state, actor) === null;
}

/** Longest comment when sending a release back, in characters. */
export const MAX_SEND_BACK_COMMENT_CHARS = 500;

/** Why a send-back comment is refused (compared after trimming), or null when it will do. */
export function sendBackCommentRefusal(comment: string): ReleaseRefusal | null {
  const c = comment.trim();
  if (c === '') return 'empty_comment';
  if (c.length > MAX_SEND_BACK_COMMENT_CHARS) return 'comment_too_long';
  return null;
}

export interface ReleaseFacts {
  state: ReleaseState;
  /** Set when it was sent back; cleared by the next edit. Until then it cannot be passed as it stands. */
  returnedAt?: Date | null;
  reviewedAt: Date | null;
  approvedAt: Date | null;
}

/**
 * The next state after an action, or ReleaseError. Release checks the review and the approval themselves,
 * not only the state, so a row edited by hand cannot skip either. `comment` is the reason for a send-back
 * (required there, ignored otherwise).
 */
export function nextReleaseState(facts: ReleaseFacts, action: ReleaseAction, actor: Actor, comment?: string): ReleaseState {
  const refuse = (reason: ReleaseRefusal): never => {
    throw new ReleaseError(reason, facts.state, action);
  };
  if (facts.state === 'released') refuse('already_released');
  switch (action) {
    case 'edit':
      if (!canDraftRelease(actor)) refuse('not_permitted');
      // Changing reviewed or approved text sends it back through review.
      return 'draft';
    case 'review':
      if (!canReviewRelease(actor)) refuse('not_permitted');
      if (facts.state !== 'draft') refuse('wrong_state');
      if (facts.returnedAt) refuse('awaiting_edit');
      return 'reviewed';
    case 'approve':
      if (!canApproveRelease(actor)) refuse('not_permitted');
      if (facts.state !== 'reviewed' || !facts.reviewedAt) refuse('not_reviewed');
      return 'approved';
    case 'release':
      if (!canMarkReleased(actor)) refuse('not_permitted');
      if (!facts.reviewedAt) refuse('not_reviewed');
      if (facts.state !== 'approved' || !facts.approvedAt) refuse('not_approved');
      return 'released';
    case 'send_back': {
      const who = sendBackRefusal(facts.state, actor);
      if (who) refuse(who);
      const why = sendBackCommentRefusal(comment ?? '');
      if (why) refuse(why);
      // Back to the drafter; the service clears the review and approval stamps.
      return 'draft';
    }
  }
}

/** Longest release text, in characters. */
export const MAX_RELEASE_CHARS = 3000;

/** Whether the actor may take this step now (the card offers exactly these). A send-back also needs its reason. */
export function mayTakeReleaseStep(facts: ReleaseFacts, action: Exclude<ReleaseAction, 'send_back'>, actor: Actor): boolean {
  try {
    nextReleaseState(facts, action, actor);
    return true;
  } catch (e) {
    if (e instanceof ReleaseError) return false;
    throw e;
  }
}
