/**
 * Sends one outbox row: the recipient's channel (src/services/channel-port.ts) draws it for them, in their
 * language, at send time (the row holds ids only), and sends it or redraws their card in place. This file
 * is the send state machine — claim, send, record, reroute — and renders nothing.
 *
 * Exactly once, as far as Telegram allows:
 * - A row found `sent` sends nothing: a retried or duplicated job is harmless.
 * - Right before the request the row is marked `sending` with an attempt stamp (attempt_started_at),
 *   and right after the messenger answers it is marked `sent` with the message id. A crash before the stamp
 *   leaves the row `pending`: the retry sends it once. A crash after `sent` is recorded changes nothing.
 * - The residual window: a crash (SIGKILL, power loss) after the request left and before `sent` is
 *   committed — one network round trip plus one UPDATE. The Bot API has no idempotency key and no way to
 *   ask whether a message arrived, so no system can close this window; one can only choose a side. We
 *   choose at-least-once: a row found `sending` from an attempt that is over is sent again, with a
 *   "re-sent, ignore if you have it" note. So a crash there can cost one marked duplicate, never a lost
 *   escalation. A timeout (the request may have arrived) is treated the same way.
 * - An attempt stamped less than `sendInFlightGuardMs` ago may still be in flight in another process:
 *   the job waits until it is surely over instead of racing it.
 *
 * The notification rule (domain noticeShape): each person has one card of an incident in their chat, and
 * every change redraws it in place; an event that needs attention is a short new message replying to the
 * card, never rewritten; a written report or a release waiting for them is a short message that opens it.
 */
import { z } from 'zod';
import type { Database } from '../db/client.js';
import { appendAudit } from '../db/repositories/audit.repository.js';
import { cardMessageOf, recordCardMessage } from '../db/repositories/card-message.repository.js';
import { findIncidentRef } from '../db/repositories/incident.repository.js';
import { findStaffById, loadOrgSnapshot, markStaffUnreachable, type StaffRow } from '../db/repositories/org.repository.js';
import {
  anyAliveAmong,
  closeOpenRow,
  forgetCardMessage,
  incidentVersion,
  lockNoticeRoot,
  lockNoticeSiblings,
  lockOutboxRow,
  lockRecipient,
  markCardAttempt,
  markDead,
  markSending,
  markSent,
  reachability,
  releaseAttempt,
  setOutboxParams,
  type OutboxStatus,
} from '../db/repositories/outbox-send.repository.js';
import { enqueueNotices, findOutbox, type NoticeDraft, type OutboxRow } from '../db/repositories/outbox.repository.js';
import { recordUndeliverable } from '../db/repositories/undeliverable.repository.js';
import { findDutyGroup, unbindChat } from '../db/repositories/duty-group.repository.js';
import { wecomBoundStaffIds, wecomUserOfStaff } from '../db/repositories/wecom.repository.js';
import { isUrgentNotice, noticeShape, standInsFor, UNRECEIVABLE_REASONS, walkStandIns, type ChatKind, type NoticeKind, type TriedStaff, type Unreceivable } from '../domain/index.js';
import type { Lang } from '../i18n/index.js';
import {
  ChannelRateLimited,
  ChannelSlotAhead,
  ChannelTransient,
  MessageGone,
  RecipientBlocked,
  RecipientNotFound,
  RequestRefused,
  type ChannelName,
  type NoticeChannel,
  type SendHooks,
} from './channel-port.js';
import { emptyChange, type IncidentRef, type ServiceDeps } from './ports.js';

export interface NotificationDeps extends ServiceDeps {
  /** Where the recipients are reached: Telegram's channel, or the one channel this deployment has. */
  channel: NoticeChannel;
  /**
   * Every channel of the deployment, by name, when it has more than one (issue 13): a notice goes to the
   * channel its recipient is bound on; bound on both, to their staff.preferred_channel (default Telegram).
   */
  channels?: Partial<Record<ChannelName, NoticeChannel>>;
  /** Milliseconds an attempt may still be in flight after its stamp. Default: the channel's timeout + 5 s. */
  sendInFlightGuardMs?: number;
  /**
   * One new message per call: an event whose card had to be sent first is left for a call of its own
   * (`deferred`, due now). The send queue sets it: its limiter, shared by every worker, then counts
   * messages. A caller that sends a row in one call (a test's drain) leaves it unset.
   */
  oneMessagePerRun?: boolean;
}

export type SendOutcome =
  | { status: 'sent'; messageId: number; mode: 'new' | 'edit'; resent: boolean; outcome: string; incident?: IncidentRef }
  | { status: 'skipped'; reason: string; outcome: string }
  /**
   * Not yet: `notBefore` is ahead, another attempt may still be in flight, or (`followUp`) the card went
   * first and the event is the notice's second message.
   */
  | { status: 'deferred'; until: Date; outcome: string; followUp?: true }
  /** The recipient cannot be reached: the row is closed and the message moved to who stands in. */
  | { status: 'rerouted'; reason: RerouteReason; to: string[]; outcome: string; incident?: IncidentRef }
  /**
   * Nobody in the stand-in chain can receive it: the row is closed and the notice recorded in
   * undeliverable_notices (with everyone tried). `sectionUnreachable`: nobody of the section can receive
   * messages either, so the daily digest that would tell them will not reach them.
   */
  | { status: 'undeliverable'; reason: RerouteReason; tried: number; sectionUnreachable: boolean; outcome: string; incident?: IncidentRef };

export type RerouteReason = Unreceivable;


export class SendClaimRefused extends Error {
  override readonly name = 'SendClaimRefused';
  constructor(
    readonly state: 'sent' | 'dead' | 'in_flight' | 'gone',
    readonly until?: Date,
  ) {
    super(`send claim refused: ${state}`);
  }
}

interface Claim {
  attempt: number;
  /** A previous attempt may have reached Telegram. */
  maybeDelivered: boolean;
}

const guardOf = (deps: NotificationDeps) => deps.sendInFlightGuardMs ?? Math.max(...Object.values(channelsOf(deps)).map((c) => c.requestTimeoutMs)) + 5_000;

/** Sends (or edits) one outbox row. Throws the port's errors (channel-port.ts) for the caller to map to queue signals. */
export async function sendOutboxMessage(deps: NotificationDeps, outboxId: string): Promise<SendOutcome> {
  const now = deps.clock.now();
  const row = await findOutbox(deps.db, outboxId);
  if (!row) return { status: 'skipped', reason: 'unknown outbox row', outcome: 'skipped: unknown outbox row' };
  if (row.status === 'sent') return { status: 'skipped', reason: 'already sent', outcome: 'skipped: already sent' };
  if (row.status === 'dead') return { status: 'skipped', reason: 'closed', outcome: 'skipped: closed' };
  if (row.notBefore && row.notBefore > now) return { status: 'deferred', until: row.notBefore, outcome: 'deferred: not before' };
  const inFlightUntil = row.status === 'sending' && row.attemptStartedAt ? new Date(row.attemptStartedAt.getTime() + guardOf(deps)) : undefined;
  if (inFlightUntil && inFlightUntil > now) return { status: 'deferred', until: inFlightUntil, outcome: 'deferred: another attempt may be in flight' };

  // A duty group's copy (issue 15) goes to the group's chat, drawn for the person it mirrors, masked; a
  // group that cannot be reached is unbound, and nobody stands in for it.
  const group = row.recipientGroupId ? await findDutyGroup(deps.db, row.recipientGroupId) : undefined;
  if (row.recipientGroupId && !group?.active) return closeRow(deps.db, row.id, 'group not bound');
  const unreachable = (reason: RerouteReason) => (group ? groupUnreachable(deps, row, group.chatId, reason) : reroute(deps, row, reason));
  const recipient = await findStaffById(deps.db, row.recipientStaffId);
  if (!recipient || !recipient.active) return group ? closeRow(deps.db, row.id, 'group viewer inactive') : reroute(deps, row, 'inactive');
  // The recipient's channel and chat; from here on `deps.channel` is that channel.
  const route = group ? groupRouteOf(deps, group.chatId) : await routeOf(deps, recipient);
  if (!route) return group ? closeRow(deps.db, row.id, 'no Telegram for the group') : reroute(deps, row, 'no_chat');
  deps = { ...deps, channel: route.channel };
  const chatId = route.chatId;
  const chat: ChatKind = group ? 'group' : 'private';
  // A group is the bureau's, and reads the bureau's language.
  const lang: Lang = !group && recipient.language === 'en' ? 'en' : 'zh';

  const card = row.incidentId ? await cardMessageOf(deps.db, row.incidentId, chatId) : undefined;
  // A redraw of a card someone holds (cardRedrawsFor) only ever edits it; without a card there is nothing to do.
  const cardOnly = rowParams(row).cardOnly === true;
  if (cardOnly && !card) return closeRow(deps.db, row.id, 'no card to redraw');
  if (cardOnly && card && card.drawnVersion >= ((await incidentVersion(deps.db, row.incidentId!)) ?? 0)) return closeRow(deps.db, row.id, 'card current');
  const shape = !row.incidentId || row.kind === 'timer_overdue_alert' ? 'plain' : cardOnly ? 'card' : noticeShape(row.kind);
  const urgent = isUrgentNotice(row);
  // A chat with messages queued ahead of this one (the section during a burst of reports): the job comes back
  // for the slot kept for this row instead of holding a worker slot, and draws the message then, not now.
  // Real time, not deps.clock: it is the messenger's clock and the queue's.
  const slotIn = deps.channel.reserve(chatId, row.id, { urgent });
  if (slotIn > deps.channel.maxInlineWaitMs) return { status: 'deferred', until: new Date(Date.now() + slotIn), outcome: 'deferred: chat busy' };

  // An event goes with the card: the card is brought up to date first (in place, or sent when the person
  // has none), and the event replies to it. The card is not this row's message: a retry finds it current.
  let replyTo: number | undefined;
  if (shape === 'event') {
    try {
      // A card sent by an earlier attempt that timed out may have arrived: this one says it is sent again.
      const earlierCardAttempt = rowParams(row).cardAttempt === true;
      const cardHooks: SendHooks = {
        spacingKey: row.id,
        urgent,
        beforeRequest: async () => {
          await markCardAttempt(deps.db, row.id);
          return { resent: earlierCardAttempt };
        },
      };
      // One card at a time per incident and chat in this process: two notices of the same incident to the
      // same person (a stand-in's and their own) would otherwise both find no card and both send one.
      const incidentId = row.incidentId!;
      const brought = await inCardTurn(`${incidentId}:${chatId}`, async () =>
        bringCardUpToDate(deps, incidentId, recipient, lang, chatId, await cardMessageOf(deps.db, incidentId, chatId), cardHooks, chat),
      );
      replyTo = brought.messageId;
      // A card sent anew was this run's message: the event takes a run of its own, so that every run
      // creates one message at most and the send queue's limiter, shared by every worker, is the
      // messenger's overall rate. The next run finds the card current.
      if (brought.sent && deps.oneMessagePerRun) return { status: 'deferred', until: new Date(Date.now()), outcome: 'deferred: the card went first', followUp: true };
      // The card took this row's slot in the chat: the event waits for the next one.
      if (brought.called) {
        const next = deps.channel.reserve(chatId, row.id, { urgent });
        if (next > deps.channel.maxInlineWaitMs) return { status: 'deferred', until: new Date(Date.now() + next), outcome: 'deferred: card brought up to date' };
      }
    } catch (e) {
      if (e instanceof ChannelSlotAhead) return { status: 'deferred', until: new Date(e.until), outcome: 'deferred: chat busy' };
      if (e instanceof RecipientBlocked) return unreachable('blocked');
      if (e instanceof RecipientNotFound) return unreachable('chat_not_found');
      throw e;
    }
  }

  const drawn = await deps.channel.draw(row, recipient, lang, now, chat);
  if (!drawn) return closeRow(deps.db, row.id, 'nothing to draw');
  let mode: 'new' | 'edit' = card && shape === 'card' ? 'edit' : 'new';

  let claim: Claim | undefined;
  // The event after the card this notice's earlier run sent (cardAttempt, and the card is in the chat now).
  const followUp = shape === 'event' && replyTo !== undefined && rowParams(row).cardAttempt === true;
  const hooks: SendHooks = {
    spacingKey: row.id,
    urgent,
    ...(followUp ? { followUp } : {}),
    beforeRequest: async () => {
      claim ??= await claimForSending(deps.db, row.id, deps.clock.now(), guardOf(deps));
      return { resent: claim.maybeDelivered && mode === 'new' };
    },
  };

  let delivered: { messageId: number };
  try {
    if (mode === 'edit') {
      try {
        delivered = await deps.channel.edit(chatId, card!.messageId, drawn, hooks);
      } catch (e) {
        if (!(e instanceof MessageGone)) throw e;
        // The card is gone (deleted, too old): it is sent anew, and becomes the card.
        await forgetCardMessage(deps.db, row.incidentId!, chatId);
        if (cardOnly) return closeRow(deps.db, row.id, 'card gone');
        mode = 'new';
        delivered = await deps.channel.send(chatId, drawn, hooks);
      }
    } else {
      delivered = await deps.channel.send(chatId, drawn, hooks, replyTo !== undefined ? { replyTo } : undefined);
    }
  } catch (e) {
    if (e instanceof SendClaimRefused) {
      if (e.state === 'in_flight') return { status: 'deferred', until: e.until!, outcome: 'deferred: another attempt may be in flight' };
      return { status: 'skipped', reason: e.state === 'sent' ? 'already sent' : 'closed', outcome: `skipped: ${e.state === 'sent' ? 'already sent' : 'closed'}` };
    }
    if (claim) await releaseClaim(deps.db, row.id, claim, e);
    if (e instanceof ChannelSlotAhead) return { status: 'deferred', until: new Date(e.until), outcome: 'deferred: chat busy' };
    if (e instanceof RecipientBlocked) return unreachable('blocked');
    if (e instanceof RecipientNotFound) return unreachable('chat_not_found');
    if (e instanceof RequestRefused || e instanceof MessageGone) {
      await markDead(deps.db, row.id, describe(e));
    }
    throw e;
  }

  // Recorded at once, in one statement: this is the end of the window in which a crash could duplicate.
  const sentAt = deps.clock.now();
  await markSent(deps.db, row.id, delivered.messageId, sentAt);
  if (row.incidentId && drawn.cardVersion !== undefined) {
    await recordCardMessage(deps.db, row.incidentId, chatId, delivered.messageId, drawn.cardVersion, sentAt);
    await redrawIfChanged(deps, row.incidentId, recipient, lang, chatId, delivered.messageId, drawn.cardVersion, chat);
  }
  const resent = mode === 'new' && !!claim?.maybeDelivered;
  return {
    status: 'sent',
    messageId: delivered.messageId,
    mode,
    resent,
    outcome: mode === 'edit' ? 'sent: card edited' : resent ? 'sent: re-sent after an uncertain attempt' : 'sent',
    ...(drawn.incident ? { incident: drawn.incident } : {}),
  };
}

/**
 * The person's card of the incident, current: redrawn in place when it shows an older version, sent when
 * they hold none (or it is gone). Its message id, for the event to reply to.
 */
/** Turns per incident and chat in this process: each waits for the one before it, whatever its outcome. */
const cardTurns = new Map<string, Promise<unknown>>();

function inCardTurn<T>(key: string, run: () => Promise<T>): Promise<T> {
  const turn = (cardTurns.get(key) ?? Promise.resolve()).catch(() => {}).then(run);
  const tail = turn.catch(() => {});
  cardTurns.set(key, tail);
  void tail.then(() => {
    if (cardTurns.get(key) === tail) cardTurns.delete(key);
  });
  return turn;
}

async function bringCardUpToDate(
  deps: NotificationDeps,
  incidentId: string,
  recipient: StaffRow,
  lang: Lang,
  chatId: number,
  held: { messageId: number; drawnVersion: number } | undefined,
  hooks: SendHooks,
  chat: ChatKind = 'private',
): Promise<{ messageId: number | undefined; called: boolean; sent: boolean }> {
  const version = await incidentVersion(deps.db, incidentId);
  if (version === undefined) return { messageId: undefined, called: false, sent: false };
  if (held && held.drawnVersion >= version) return { messageId: held.messageId, called: false, sent: false };
  const drawn = await deps.channel.drawCard(incidentId, recipient, lang, deps.clock.now(), chat);
  if (!drawn || drawn.cardVersion === undefined) return { messageId: held?.messageId, called: false, sent: false };
  if (held) {
    try {
      await deps.channel.edit(chatId, held.messageId, drawn, hooks);
      await recordCardMessage(deps.db, incidentId, chatId, held.messageId, drawn.cardVersion, deps.clock.now());
      await redrawIfChanged(deps, incidentId, recipient, lang, chatId, held.messageId, drawn.cardVersion, chat);
      return { messageId: held.messageId, called: true, sent: false };
    } catch (e) {
      if (!(e instanceof MessageGone)) throw e;
      await forgetCardMessage(deps.db, incidentId, chatId);
    }
  }
  const sent = await deps.channel.send(chatId, drawn, hooks);
  await recordCardMessage(deps.db, incidentId, chatId, sent.messageId, drawn.cardVersion, deps.clock.now());
  await redrawIfChanged(deps, incidentId, recipient, lang, chatId, sent.messageId, drawn.cardVersion, chat);
  return { messageId: sent.messageId, called: true, sent: true };
}

/**
 * A change committed while this card was being drawn and sent (an acknowledgement in the same second as
 * an escalation) looked for cards to redraw before this one was recorded: draw it once more, in place.
 */
async function redrawIfChanged(
  deps: NotificationDeps,
  incidentId: string,
  recipient: StaffRow,
  lang: Lang,
  chatId: number,
  messageId: number,
  drawnVersion: number,
  chat: ChatKind = 'private',
): Promise<void> {
  const version = await incidentVersion(deps.db, incidentId);
  if (version === undefined || version <= drawnVersion) return;
  try {
    const again = await deps.channel.drawCard(incidentId, recipient, lang, deps.clock.now(), chat);
    if (!again || again.cardVersion === undefined) return;
    await deps.channel.edit(chatId, messageId, again);
    await recordCardMessage(deps.db, incidentId, chatId, messageId, again.cardVersion, deps.clock.now());
  } catch {
    // Best effort: the message was sent; a stale card is redrawn by the next change or when a button on it is pressed.
  }
}

/** Closes a row that has nothing to send. */
async function closeRow(db: Database, id: string, reason: string): Promise<SendOutcome> {
  await markDead(db, id, reason);
  return { status: 'skipped', reason, outcome: `skipped: ${reason}` };
}

/** Marks the row `sending` with a fresh stamp, unless it was sent, closed, or another attempt may be in flight. */
async function claimForSending(db: Database, id: string, now: Date, guardMs: number): Promise<Claim> {
  return db.transaction(async (tx) => {
    const row = await lockOutboxRow(tx, id);
    if (!row) throw new SendClaimRefused('gone');
    if (row.status === 'sent' || row.status === 'dead') throw new SendClaimRefused(row.status);
    if (row.status === 'sending' && row.attemptStartedAt && now.getTime() - row.attemptStartedAt.getTime() < guardMs) {
      throw new SendClaimRefused('in_flight', new Date(row.attemptStartedAt.getTime() + guardMs));
    }
    const attempt = row.attempts + 1;
    await markSending(tx, id, attempt, now);
    return { attempt, maybeDelivered: row.status === 'sending' };
  });
}

/**
 * After a failed call: a definite "no" from Telegram puts the row back to be tried again; an answer we
 * never got (timeout, reset) leaves it `sending` without a stamp — over, but possibly delivered. So does
 * any failure of an attempt that was itself a re-send of a possibly delivered one: the doubt stays until a
 * send succeeds, so the message that finally goes out carries the "re-sent" note.
 */
async function releaseClaim(db: Database, id: string, claim: Claim, err: unknown): Promise<void> {
  // ChatSlotAhead: nothing left (the card edit before it was refused); the row waits for its slot.
  const notSent = err instanceof ChannelRateLimited || err instanceof ChannelSlotAhead;
  const refused = err instanceof RequestRefused || err instanceof MessageGone || err instanceof RecipientBlocked || err instanceof RecipientNotFound;
  const ambiguous = err instanceof ChannelTransient ? err.ambiguous : !(notSent || refused);
  const status = ambiguous || claim.maybeDelivered ? 'sending' : notSent ? 'pending' : 'failed';
  await releaseAttempt(db, id, claim.attempt, status, describe(err));
}

function describe(err: unknown): string {
  const e = err as Error;
  return `${e?.name ?? 'Error'}: ${String(e?.message ?? err)}`.slice(0, 300);
}

/** What the send state machine reads of a row's params; the channel reads the rest when it draws. */
const sendParamsSchema = z
  .object({
    /** A redraw of a card the recipient holds: edit it, never send a new message. */
    cardOnly: z.boolean().optional(),
    standInFor: z.string().optional(),
    /** On a row a reroute wrote: the notice's first row, which holds the chain tried so far. */
    rootOutboxId: z.string().optional(),
    /** An earlier attempt sent (or tried to send) the card that goes with this event. */
    cardAttempt: z.boolean().optional(),
  })
  .passthrough();

function rowParams(row: OutboxRow): z.infer<typeof sendParamsSchema> {
  return sendParamsSchema.safeParse(row.params).data ?? {};
}

// ---------------------------------------------------------------------------------------------
// Unreachable recipients: who stands in.

/** Who stands in for someone unreachable: the pure rule lives in the domain; re-exported for the callers that found it here. */
export { standInsFor };

/** A notice's chain of stand-ins so far, kept on its first outbox row (`params.chain`): who could not receive it and why, and who was given it. Ids only. */
const chainSchema = z.object({
  tried: z.array(z.object({ staffId: z.string(), reason: z.enum(UNRECEIVABLE_REASONS) })).default([]),
  given: z.array(z.string()).default([]),
});

/** Outbox states in which a row is still on its way to its recipient, or has reached them. */
const ALIVE: readonly OutboxStatus[] = ['pending', 'sending', 'failed', 'sent'];

/**
 * Closes the row and moves the notice to whoever stands in; a 403 also marks the person unreachable.
 *
 * The chain is walked as a set (walkStandIns): everyone already tried for this notice, or already given
 * it, is kept on the notice's first row and excluded, so nobody gets it twice and the walk ends. People
 * on the way who cannot receive it (no chat, blocked, deactivated) are passed over without a row. When
 * nobody is left and no other row of the notice is alive, the notice is recorded as undeliverable, with
 * everyone tried and why, in the same transaction that closes this row: nothing is lost, nothing goes
 * round. Reroutes of one notice take its first row's lock, so two of its rows failing at once do not race.
 */
async function reroute(deps: NotificationDeps, row: OutboxRow, reason: RerouteReason): Promise<SendOutcome> {
  const now = deps.clock.now();
  const result = await deps.db.transaction(async (tx) => {
    // NO KEY UPDATE, not UPDATE: an outbox insert for this person elsewhere (a timer firing, holding its
    // incident's lock) takes KEY SHARE on their row through the foreign key, and FOR UPDATE would deadlock with it.
    const person = await lockRecipient(tx, row.recipientStaffId);
    if (reason === 'blocked' && person?.reachable) await markStaffUnreachable(tx, row.recipientStaffId);
    const p = rowParams(row);
    const rootId = p.rootOutboxId ?? row.id;
    const lockedRoot = await lockNoticeRoot(tx, rootId);
    const root = lockedRoot ?? row;
    if (!(await closeOpenRow(tx, row.id, `unreachable: ${reason}`))) return { created: [], alsoFor: [], undeliverable: false, sectionUnreachable: false, tried: 0 };

    const rootParams = (root.params ?? {}) as Record<string, unknown>;
    const chain = chainSchema.safeParse(rootParams.chain ?? {}).data ?? { tried: [], given: [] };
    const tried: TriedStaff[] = [...chain.tried.filter((t) => t.staffId !== row.recipientStaffId), { staffId: row.recipientStaffId, reason }];
    const failed = new Set(tried.map((t) => t.staffId));
    const given = new Set([root.recipientStaffId, ...chain.given]);
    const covered = new Set([...given].filter((id) => !failed.has(id)));

    const org = await loadOrgSnapshot(tx);
    const people = await reachability(tx);
    const bound = await boundOnChannels(deps, tx);
    const cannotReceive = (id: string): Unreceivable | null => {
      const s = people.get(id);
      if (!s || !s.active) return 'inactive';
      if (!s.reachable) return 'blocked';
      return bound(id, s.chatId) ? null : 'no_chat';
    };
    // A redraw of a card only edits the card this person holds: there is nothing to move to anyone else.
    const walk = p.cardOnly
      ? { to: [], passed: [] }
      : walkStandIns(row.recipientStaffId, org, { failed, covered, unitOf: (id) => people.get(id)?.unitId ?? null, cannotReceive });
    const allTried = [...tried, ...walk.passed];
    const allGiven = [...new Set([...given, ...walk.to])];

    // A stand-in who receives this very notice in their own right (the other section member) gets it
    // once: their own row also names whom it is for, and no second row is written for them.
    const siblings = walk.to.length ? new Map((await lockNoticeSiblings(tx, root)).filter((r) => r.status !== 'dead').map((r) => [r.recipientStaffId, r])) : new Map<string, OutboxRow>();
    const alsoFor = walk.to.filter((id) => siblings.has(id));
    for (const id of alsoFor) {
      const own = siblings.get(id)!;
      if (own.status === 'sent') continue; // they have it already; it said nothing of whom else it was for
      const ownParams = (own.params ?? {}) as Record<string, unknown>;
      const list = Array.isArray(ownParams.alsoFor) ? (ownParams.alsoFor as string[]) : [];
      if (!list.includes(root.recipientStaffId)) await setOutboxParams(tx, own.id, { ...ownParams, alsoFor: [...list, root.recipientStaffId] });
    }

    const { chain: _chain, standInFor: _standInFor, rootOutboxId: _rootOutboxId, ...noticeParams } = rootParams;
    const drafts: NoticeDraft[] = walk.to.filter((id) => !siblings.has(id)).map((recipientStaffId) => ({
      recipientStaffId,
      kind: root.kind as NoticeKind,
      incidentId: root.incidentId,
      subjectId: root.subjectId,
      timerId: root.timerId,
      isDrill: root.isDrill,
      // One row per notice and person, whatever the path: the key is the first row's, plus the person.
      dedupeKey: `${root.dedupeKey}-via-${recipientStaffId}`,
      params: { ...noticeParams, standInFor: root.recipientStaffId, rootOutboxId: root.id },
    }));
    const created = await enqueueNotices(tx, drafts);
    await setOutboxParams(tx, root.id, { ...rootParams, chain: { tried: allTried, given: allGiven } });

    let undeliverable = false;
    let sectionUnreachable = false;
    if (created.length === 0 && alsoFor.length === 0 && !p.cardOnly) {
      const keys = [root.dedupeKey, ...allGiven.map((id) => `${root.dedupeKey}-via-${id}`)];
      if (!(await anyAliveAmong(tx, keys, row.id, ALIVE))) {
        undeliverable = true;
        await recordUndeliverable(tx, {
          rootOutboxId: root.id,
          kind: root.kind,
          incidentId: root.incidentId,
          subjectId: root.subjectId,
          intendedStaffId: root.recipientStaffId,
          tried: allTried,
          isDrill: root.isDrill,
          at: now,
        });
        sectionUnreachable = !org.seats.some(
          (s) => s.kind === 'section' && [s.holderStaffId, s.actingStaffId].some((id) => !!id && !org.staff.get(id)?.away && cannotReceive(id) === null),
        );
      }
    }
    await appendAudit(tx, {
      at: now,
      action: reason === 'blocked' ? 'staff.unreachable' : undeliverable ? 'notice.undeliverable' : 'notice.rerouted',
      entity: 'staff',
      entityId: row.recipientStaffId,
      incidentId: row.incidentId,
      data: { outboxId: row.id, rootOutboxId: root.id, kind: row.kind, reason, standIns: walk.to, alsoFor, passed: walk.passed, undeliverable },
    });
    return { created, alsoFor, undeliverable, sectionUnreachable, tried: allTried.length };
  });
  await deps.dispatcher.afterCommit({ ...emptyChange(), outboxCreated: result.created });
  const incident = row.incidentId ? await findIncidentRef(deps.db, row.incidentId) : undefined;
  const ref = incident ? { incident } : {};
  if (result.undeliverable) {
    return {
      status: 'undeliverable',
      reason,
      tried: result.tried,
      sectionUnreachable: result.sectionUnreachable,
      outcome: `undeliverable: ${reason}; nobody of ${result.tried} tried can receive it, recorded`,
      ...ref,
    };
  }
  const to = [...result.created.map((r) => r.recipientStaffId), ...result.alsoFor];
  const also = result.alsoFor.length ? ` (${result.alsoFor.length} of them already had it in their own right)` : '';
  return { status: 'rerouted', reason, to, outcome: `rerouted: ${reason}, moved to ${to.length}${also}`, ...ref };
}

// ---------------------------------------------------------------------------------------------
// Which channel a recipient is reached on (issue 13).

/** The deployment's channels by name: `channels`, and `channel` under its own name (Telegram's unless it is WeCom's). */
function channelsOf(deps: NotificationDeps): Partial<Record<ChannelName, NoticeChannel>> {
  return { ...deps.channels, [deps.channel.name === 'wecom' ? 'wecom' : 'telegram']: deps.channel };
}

/**
 * Where a recipient is reached: the channel they are bound on (Telegram: a private chat; WeCom: a
 * wecom_users row) among those the deployment has; bound on both, the one they prefer, else Telegram.
 * Once, never on both.
 */
async function routeOf(deps: NotificationDeps, recipient: StaffRow): Promise<{ channel: NoticeChannel; chatId: number } | undefined> {
  const channels = channelsOf(deps);
  const telegram = channels.telegram && recipient.chatId !== null ? { channel: channels.telegram, chatId: recipient.chatId } : undefined;
  const wecomUser = channels.wecom ? await wecomUserOfStaff(deps.db, recipient.id) : undefined;
  const wecom = channels.wecom && wecomUser ? { channel: channels.wecom, chatId: wecomUser.chatKey } : undefined;
  return recipient.preferredChannel === 'wecom' ? (wecom ?? telegram) : (telegram ?? wecom);
}

/** A duty group is reached on Telegram (WeCom group chats are not bound: not yet). */
function groupRouteOf(deps: NotificationDeps, chatId: number): { channel: NoticeChannel; chatId: number } | undefined {
  const telegram = channelsOf(deps).telegram;
  return telegram ? { channel: telegram, chatId } : undefined;
}

/**
 * The bot was removed from a duty group, or the group is gone: the row is closed and the group
 * unbound (the my_chat_member update does the same when it comes). Nobody stands in for a group: the
 * people it mirrors have their own rows.
 */
async function groupUnreachable(deps: NotificationDeps, row: OutboxRow, chatId: number, reason: RerouteReason): Promise<SendOutcome> {
  const now = deps.clock.now();
  await deps.db.transaction(async (tx) => {
    await markDead(tx, row.id, `group unreachable: ${reason}`);
    const ended = await unbindChat(tx, chatId, now);
    if (ended) {
      await appendAudit(tx, {
        at: now,
        action: 'duty_group.unbound',
        entity: 'duty_group',
        entityId: ended.id,
        incidentId: row.incidentId,
        data: { reason, outboxId: row.id },
      });
    }
  });
  return { status: 'skipped', reason: `group unreachable: ${reason}`, outcome: `skipped: group unreachable (${reason}), unbound` };
}

/** Whether a person is bound on a channel the deployment has, for the stand-in walk. */
async function boundOnChannels(deps: NotificationDeps, db: Parameters<typeof wecomBoundStaffIds>[0]): Promise<(staffId: string, chatId: number | null) => boolean> {
  const channels = channelsOf(deps);
  const onWecom = channels.wecom ? await wecomBoundStaffIds(db) : new Set<string>();
  return (staffId, chatId) => (channels.telegram !== undefined && chatId !== null) || onWecom.has(staffId);
}
