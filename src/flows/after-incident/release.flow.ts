/**
 * Public information in the chat: /release lists the releases waiting on you; /release <number> shows an
 * incident's releases and lets the bureau draft one. Each card offers the one next step its state allows:
 * review (functional department), approve (bureau leader), mark released, or edit — and to whoever may
 * review or approve it now, send it back to the drafter with a comment (退回修改). The draft, the edit and
 * the comment are typed into a form of the engine.
 */
import { z } from 'zod';
import type { ButtonAction } from '../actions.js';
import { whoOf, type Conversation } from '../conversation.js';
import { button, type Button, type Keyboard } from '../ui.js';
import { escapeHtml } from '../../i18n/markup.js';
import type { MessageKey } from '../../i18n/index.js';
import { findIncident } from '../../db/repositories/incident.repository.js';
import { findStaffByIds } from '../../db/repositories/org.repository.js';
import {
  canApproveRelease,
  canDraftRelease,
  canMarkReleased,
  canReviewRelease,
  canSeeRelease,
  canSendBackRelease,
  MAX_RELEASE_CHARS,
  MAX_SEND_BACK_COMMENT_CHARS,
  mayTakeReleaseStep,
  RELEASE_STATES,
  ReleaseError,
  sendBackCommentRefusal,
  sendBackRefusal,
  type ReleaseFacts,
  type ReleaseState,
} from '../../domain/public-release.js';
import { canSeeOffice } from '../../domain/roles.js';
import { formatLocal } from '../../domain/time.js';
import { ServiceRefusal } from '../../services/errors.js';
import { findRelease, releasesInStates, releasesOf, sendBacksOf, type ReleaseRow } from '../../db/repositories/release.repository.js';
import { approveRelease, draftRelease, editRelease, markReleased, reviewRelease, sendBackRelease } from '../../services/release.service.js';
import type { Flow, FlowEngine, FlowEnv } from '../engine.js';
import { refusalText } from '../refusals.js';
import { textStep } from '../steps/index.js';
import { drillMark, incidentByNumber, m, quote, reply, show, type View } from './common.js';

/** Earlier send-backs listed on the card; the rest are counted. */
const EARLIER_SHOWN = 3;

export async function renderReleaseCard(conv: Conversation, row: ReleaseRow): Promise<View> {
  const actor = whoOf(conv).actor;
  const incident = await findIncident(conv.deps.db, row.incidentId);
  // Send-backs the text was since edited to answer. The newest is the current one while the row still
  // carries it (an edit clears it), and has its own line.
  const history = await sendBacksOf(conv.deps.db, row.id);
  const earlier = row.returnedAt ? history.slice(1) : history;
  const people = await findStaffByIds(
    conv.deps.db,
    [row.draftedByStaffId, row.reviewedByStaffId, row.approvedByStaffId, row.returnedByStaffId, ...earlier.map((b) => b.byStaffId)].filter((x): x is string => !!x),
  );
  const name = (id: string | null) => escapeHtml(people.find((p) => p.id === id)?.name ?? '');
  const tz = conv.deps.timeZone;
  const now = conv.deps.clock.now();
  const state = row.state as ReleaseState;
  const lines = [
    `${drillMark(conv, incident?.isDrill ?? false)}${m(conv, 'rel.card.title', { number: incident?.number ?? '' })}`,
    m(conv, 'rel.card.state', { state: m(conv, `rel.state.${state}` as MessageKey) }),
    m(conv, 'rel.card.drafted', { name: name(row.draftedByStaffId), at: formatLocal(row.createdAt, tz, now) }),
  ];
  if (row.reviewedAt) lines.push(m(conv, 'rel.card.reviewed', { name: name(row.reviewedByStaffId), at: formatLocal(row.reviewedAt, tz, now) }));
  if (row.approvedAt) lines.push(m(conv, 'rel.card.approved', { name: name(row.approvedByStaffId), at: formatLocal(row.approvedAt, tz, now) }));
  if (row.releasedAt) lines.push(m(conv, 'rel.card.released', { at: formatLocal(row.releasedAt, tz, now) }));
  if (row.returnedAt) lines.push(m(conv, 'rel.card.returned', { name: name(row.returnedByStaffId), at: formatLocal(row.returnedAt, tz, now), comment: quote(row.returnComment ?? '', MAX_SEND_BACK_COMMENT_CHARS) }));
  for (const b of earlier.slice(0, EARLIER_SHOWN)) lines.push(m(conv, 'rel.card.earlier_return', { name: name(b.byStaffId), at: formatLocal(b.at, tz, now), comment: quote(b.comment, 200) }));
  if (earlier.length > EARLIER_SHOWN) lines.push(m(conv, 'rel.card.earlier_more', { count: earlier.length - EARLIER_SHOWN }));
  lines.push('', `<blockquote>${quote(row.text, 3000)}</blockquote>`);

  const facts: ReleaseFacts = { state, returnedAt: row.returnedAt, reviewedAt: row.reviewedAt, approvedAt: row.approvedAt };
  const may = (action: 'edit' | 'review' | 'approve' | 'release') => mayTakeReleaseStep(facts, action, actor);
  const buttons: Button[] = [];
  if (may('review')) buttons.push(button(m(conv, 'rel.button.review'), { a: 'rel', i: row.id, k: 'rev' }));
  if (may('approve')) buttons.push(button(m(conv, 'rel.button.approve'), { a: 'rel', i: row.id, k: 'apr' }));
  if (may('release')) buttons.push(button(m(conv, 'rel.button.release'), { a: 'rel', i: row.id, k: 'pub' }));
  if (canSendBackRelease(actor, state)) buttons.push(button(m(conv, 'rel.button.send_back'), { a: 'rel', i: row.id, k: 'ret' }));
  const rows: Keyboard = [buttons];
  if (may('edit')) rows.push([button(m(conv, 'rel.button.edit'), { a: 'rel', i: row.id, k: 'edit' })]);
  return { text: lines.join('\n'), rows };
}

/** The releases this actor can act on now. */
async function releasesWaiting(conv: Conversation): Promise<ReleaseRow[]> {
  const actor = whoOf(conv).actor;
  const states: ReleaseState[] = [];
  if (canReviewRelease(actor)) states.push('draft');
  if (canApproveRelease(actor)) states.push('reviewed');
  if (canMarkReleased(actor)) states.push('approved');
  return releasesInStates(conv.deps.db, states, 10);
}

export const releaseData = z.object({
  number: z.string().max(20),
  incidentId: z.uuid().optional(),
  releaseId: z.uuid().optional(),
  /** The release's state when the send-back was asked for. */
  state: z.enum(RELEASE_STATES).optional(),
});
export type ReleaseData = z.infer<typeof releaseData>;

/** The id a step's use case needs; a form started without it cannot go on. */
function needed(id: string | undefined): string {
  if (!id) throw new ServiceRefusal('not_found');
  return id;
}

/** What was done, then the card as it stands now. */
function told(env: FlowEnv, done: MessageKey, row: ReleaseRow) {
  return async () => {
    await env.conv.send(env.say(done));
    await reply(env.conv, await renderReleaseCard(env.conv, row));
  };
}

/** The text of a new release (`draft`), a new text for one (`edit`), or why it is sent back (`send_back`). */
export const releaseFlow: Flow<ReleaseData> = {
  name: 'release',
  version: 1,
  data: releaseData,
  steps: {
    draft: textStep<ReleaseData>({
      prompt: (env, data) => ({ text: env.say('rel.draft_prompt', { number: data.number }) }),
      blank: 'flow.text_expected',
      max: MAX_RELEASE_CHARS,
      quiet: true,
      then: (env, data, text) => ({
        finish: async () => told(env, 'rel.drafted', await draftRelease(env.deps, env.who.actor, needed(data.incidentId), text)),
      }),
    }),
    edit: textStep<ReleaseData>({
      prompt: (env) => ({ text: env.say('rel.edit_prompt') }),
      blank: 'flow.text_expected',
      max: MAX_RELEASE_CHARS,
      quiet: true,
      then: (env, data, text) => ({
        finish: async () => told(env, 'rel.edited', await editRelease(env.deps, env.who.actor, needed(data.releaseId), text)),
      }),
    }),
    send_back: {
      prompt: (env, data) => ({ text: env.say('rel.send_back_prompt', { number: data.number, max: MAX_SEND_BACK_COMMENT_CHARS }) }),
      onText: (env, data, text) => {
        // An empty or too long reason: the chat keeps waiting for a better one.
        const problem = sendBackCommentRefusal(text);
        if (problem) return { stay: true, redraw: false, error: refusalText(env.lang, new ReleaseError(problem, data.state ?? 'draft', 'send_back')) };
        return { finish: async () => told(env, 'rel.sent_back', await sendBackRelease(env.deps, env.who.actor, needed(data.releaseId), text.trim())) };
      },
    },
  },
};

export async function onReleaseCommand(conv: Conversation, args: string): Promise<void> {
  const arg = args.trim();
  const actor = whoOf(conv).actor;
  if (arg) {
    const incident = await incidentByNumber(conv, arg);
    if (!incident) {
      // The number as typed, shown as text.
      await conv.send(m(conv, 'ai.no_incident', { number: escapeHtml(arg) }));
      return;
    }
    const rows = await releasesOf(conv.deps.db, incident.id);
    for (const r of rows.slice(0, 5)) await reply(conv, await renderReleaseCard(conv, r));
    await reply(conv, {
      text: rows.length ? m(conv, 'rel.incident_has', { number: incident.number, count: rows.length }) : m(conv, 'rel.incident_none', { number: incident.number }),
      ...(canDraftRelease(actor) ? { rows: [[button(m(conv, 'rel.button.new'), { a: 'rel', i: incident.id, k: 'new' })]] } : {}),
    });
    return;
  }
  const waiting = await releasesWaiting(conv);
  if (waiting.length === 0) {
    await conv.send(m(conv, 'rel.list_empty'));
    return;
  }
  for (const r of waiting) await reply(conv, await renderReleaseCard(conv, r));
}

export async function onReleaseButton(conv: Conversation, engine: FlowEngine, action: ButtonAction): Promise<void> {
  if (!action.i || !action.k) throw new ServiceRefusal('invalid_input');
  const actor = whoOf(conv).actor;
  if (action.k === 'new') {
    const incident = await findIncident(conv.deps.db, action.i);
    if (!incident || !canSeeOffice(actor, incident.officeUnitId)) throw new ServiceRefusal('not_found');
    if (!canDraftRelease(actor)) throw new ServiceRefusal('not_permitted');
    await engine.start(conv, releaseFlow, 'draft', { number: incident.number, incidentId: incident.id });
    return;
  }
  if (action.k === 'edit') {
    const row = await findRelease(conv.deps.db, action.i);
    const incident = row ? await findIncident(conv.deps.db, row.incidentId) : undefined;
    if (!row || !incident) throw new ServiceRefusal('not_found');
    if (!canDraftRelease(actor)) throw new ServiceRefusal('not_permitted');
    await engine.start(conv, releaseFlow, 'edit', { number: incident.number, releaseId: row.id });
    return;
  }
  if (action.k === 'ret') {
    const row = await findRelease(conv.deps.db, action.i);
    const incident = row ? await findIncident(conv.deps.db, row.incidentId) : undefined;
    if (!row || !incident || !canSeeRelease(actor, incident.officeUnitId)) throw new ServiceRefusal('not_found');
    // Refused now rather than after the user typed a reason; the service checks again on the answer.
    const refusal = sendBackRefusal(row.state as ReleaseState, actor);
    if (refusal) throw new ReleaseError(refusal, row.state as ReleaseState, 'send_back');
    await engine.start(conv, releaseFlow, 'send_back', { number: incident.number, releaseId: row.id, state: row.state as ReleaseState });
    return;
  }
  if (action.k === 'card') {
    const row = await findRelease(conv.deps.db, action.i);
    const incident = row ? await findIncident(conv.deps.db, row.incidentId) : undefined;
    if (!row || !incident || !canSeeRelease(actor, incident.officeUnitId)) throw new ServiceRefusal('not_found');
    await show(conv, await renderReleaseCard(conv, row));
    return;
  }
  const step = { rev: reviewRelease, apr: approveRelease, pub: markReleased }[action.k];
  if (!step) throw new ServiceRefusal('invalid_input');
  const row = await step(conv.deps, actor, action.i);
  await conv.answer(m(conv, `rel.done.${row.state}` as MessageKey));
  await show(conv, await renderReleaseCard(conv, row));
}
