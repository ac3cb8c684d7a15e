/**
 * Public information (五(三)): the bureau decides what is released; a draft is reviewed by the functional
 * department (the `info_reviewer` position, configured in the org file), approved by the bureau (director
 * or deputy director), and only then marked released — in one voice. Pure state machine.
 */
import type { Actor } from './roles.js';

export const RELEASE_STATES = ['draft', 'reviewed', 'approved', 'released'] as const;
export type ReleaseState = (typeof RELEASE_STATES)[number];

export type ReleaseAction = 'edit' | 'review' | 'approve' | 'release';

export type ReleaseRefusal = 'not_permitted' | 'not_reviewed' | 'not_approved' | 'already_released' | 'wrong_state' | 'empty_text';

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

export function canApproveRelease(actor: Actor): boolean {
  return actor.positions.some((p) => p === 'deputy_director' || p === 'director');
}

/** Marking it released is clerical; the section or a leader does it once the approval is on file. */
export function canMarkReleased(actor: Actor): boolean {
  return canDraftRelease(actor);
}

export interface ReleaseFacts {
  state: ReleaseState;
  reviewedAt: Date | null;
  approvedAt: Date | null;
}

/**
 * The next state after an action, or ReleaseError. Release checks the review and the approval themselves,
 * not only the state, so a row edited by hand cannot skip either.
 */
export function nextReleaseState(facts: ReleaseFacts, action: ReleaseAction, actor: Actor): ReleaseState {
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
  }
}

/** Longest release text, in characters. */
export const MAX_RELEASE_CHARS = 3000;
