/**
 * Sends one outbox row: draws it for its recipient, in their language, at send time (the row holds ids
 * only), and sends or edits it through the Telegram gateway.
 *
 * Exactly once, as far as Telegram allows:
 * - A row found `sent` sends nothing: a retried or duplicated job is harmless.
 * - Right before the HTTP call the row is marked `sending` with an attempt stamp (attempt_started_at),
 *   and right after Telegram answers it is marked `sent` with the message id. A crash before the stamp
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
 * Where the recipient already has the incident's card, a change (acknowledged, progress, closed) edits
 * that card; anything that needs attention is a new message, which becomes the card.
 */
import { and, eq, gte, inArray, isNull, lte, ne } from 'drizzle-orm';
import { z } from 'zod';
import type { InlineKeyboardMarkup } from 'telegraf/types';
import { encodeCallback } from '../channels/telegram/callback-data.js';
import { escapeHtml, fitMessage, truncate } from '../channels/telegram/html.js';
import { button, markup } from '../channels/telegram/keyboards.js';
import { hasMessage, t, type Lang, type MessageKey, type Params } from '../i18n/index.js';
import {
  ChatSlotAhead,
  TelegramBadRequest,
  TelegramBlocked,
  TelegramRateLimited,
  TelegramTransient,
  type Delivered,
  type OutgoingMessage,
  type TelegramGateway,
} from '../channels/telegram/telegram-gateway.js';
import { cardMessageOf, recordCardMessage } from '../channels/telegram/views/card-messages.js';
import { loadIncidentCardView, renderIncidentCard } from '../channels/telegram/views/incident-card.js';
import { positionLabel, roleLabel, stepText, timerKindLabel, typeLabel, unitName, contactResultLabel, statusLabel } from '../channels/telegram/views/labels.js';
import type { Database, Executor } from '../db/client.js';
import { appendAudit } from '../db/repositories/audit.repository.js';
import { findIncidentRef } from '../db/repositories/incident.repository.js';
import { actorFor, findStaffById, loadOrgSnapshot, type StaffRow } from '../db/repositories/org.repository.js';
import { enqueueNotices, findOutbox, type NoticeDraft, type OutboxRow } from '../db/repositories/outbox.repository.js';
import { recordUndeliverable } from '../db/repositories/undeliverable.repository.js';
import { absences, incidentCards, incidents, incidentSteps, incidentUpdates, outbox, publicReleases, staff, subjects, units, writtenReportSignoffs } from '../db/schema.js';
import {
  canAcknowledge,
  formatLocal,
  isRolePost,
  isUrgentNotice,
  localDate,
  standInsFor,
  subjectLabel,
  UNRECEIVABLE_REASONS,
  walkStandIns,
  type NoticeKind,
  type PositionKind,
  type TriedStaff,
  type Unreceivable,
} from '../domain/index.js';
import { buildDigest } from './digest.service.js';
import { emptyChange, type IncidentRef, type ServiceDeps } from './ports.js';

export interface NotificationDeps extends ServiceDeps {
  gateway: TelegramGateway;
  /** Milliseconds an attempt may still be in flight after its stamp. Default: the gateway's timeout + 5 s. */
  sendInFlightGuardMs?: number;
}

export type SendOutcome =
  | { status: 'sent'; messageId: number; mode: 'new' | 'edit'; resent: boolean; outcome: string; incident?: IncidentRef }
  | { status: 'skipped'; reason: string; outcome: string }
  /** Not yet: `notBefore` is ahead, or another attempt may still be in flight. */
  | { status: 'deferred'; until: Date; outcome: string }
  /** The recipient cannot be reached: the row is closed and the message moved to who stands in. */
  | { status: 'rerouted'; reason: RerouteReason; to: string[]; outcome: string; incident?: IncidentRef }
  /**
   * Nobody in the stand-in chain can receive it: the row is closed and the notice recorded in
   * undeliverable_notices (with everyone tried). `sectionUnreachable`: nobody of the section can receive
   * messages either, so the daily digest that would tell them will not reach them.
   */
  | { status: 'undeliverable'; reason: RerouteReason; tried: number; sectionUnreachable: boolean; outcome: string; incident?: IncidentRef };

export type RerouteReason = Unreceivable;

/** The message kinds that report a change: edit the recipient's card when there is one. */
const CARD_EDIT_KINDS: ReadonlySet<string> = new Set<NoticeKind>(['incident_acknowledged', 'progress_reported', 'incident_closed']);

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

const guardOf = (deps: NotificationDeps) => deps.sendInFlightGuardMs ?? deps.gateway.requestTimeoutMs + 5_000;

/** Sends (or edits) one outbox row. Throws the gateway's errors for the caller to map to queue signals. */
export async function sendOutboxMessage(deps: NotificationDeps, outboxId: string): Promise<SendOutcome> {
  const now = deps.clock.now();
  const row = await findOutbox(deps.db, outboxId);
  if (!row) return { status: 'skipped', reason: 'unknown outbox row', outcome: 'skipped: unknown outbox row' };
  if (row.status === 'sent') return { status: 'skipped', reason: 'already sent', outcome: 'skipped: already sent' };
  if (row.status === 'dead') return { status: 'skipped', reason: 'closed', outcome: 'skipped: closed' };
  if (row.notBefore && row.notBefore > now) return { status: 'deferred', until: row.notBefore, outcome: 'deferred: not before' };
  const inFlightUntil = row.status === 'sending' && row.attemptStartedAt ? new Date(row.attemptStartedAt.getTime() + guardOf(deps)) : undefined;
  if (inFlightUntil && inFlightUntil > now) return { status: 'deferred', until: inFlightUntil, outcome: 'deferred: another attempt may be in flight' };

  const recipient = await findStaffById(deps.db, row.recipientStaffId);
  if (!recipient || !recipient.active) return reroute(deps, row, 'inactive');
  if (recipient.chatId === null) return reroute(deps, row, 'no_chat');
  const chatId = recipient.chatId;
  const lang: Lang = recipient.language === 'en' ? 'en' : 'zh';

  const card = row.incidentId ? await cardMessageOf(deps.db, row.incidentId, chatId) : undefined;
  // A redraw of a card someone holds (cardRedrawsFor) only ever edits it; without a card there is nothing to do.
  const cardOnly = paramsSchema.safeParse(row.params).data?.cardOnly === true;
  if (cardOnly && !card) return closeRow(deps.db, row.id, 'no card to redraw');
  const urgent = isUrgentNotice(row);
  // A chat with messages queued ahead of this one (the section during a burst of reports): the job comes back
  // for the slot kept for this row instead of holding a worker slot, and draws the message then, not now.
  // Real time, not deps.clock: it is Telegram's clock and the queue's.
  const slotIn = deps.gateway.reserveChat(chatId, row.id, { urgent });
  if (slotIn > deps.gateway.maxInlineWaitMs) return { status: 'deferred', until: new Date(Date.now() + slotIn), outcome: 'deferred: chat busy' };
  const drawn = await drawNotice(deps, row, recipient, lang, now);
  if (!drawn) return closeRow(deps.db, row.id, 'nothing to draw');
  let mode: 'new' | 'edit' = card && (cardOnly || CARD_EDIT_KINDS.has(row.kind)) ? 'edit' : 'new';

  let claim: Claim | undefined;
  const hooks = {
    spacingKey: row.id,
    urgent,
    beforeRequest: async (): Promise<OutgoingMessage | void> => {
      claim ??= await claimForSending(deps.db, row.id, deps.clock.now(), guardOf(deps));
      if (claim.maybeDelivered && mode === 'new') return withNote(drawn.message, t(lang, 'notice.resent'));
    },
  };

  let delivered: Delivered;
  try {
    if (mode === 'edit') {
      try {
        delivered = await deps.gateway.editMessage(chatId, card!.messageId, drawn.message, hooks);
      } catch (e) {
        if (!(e instanceof TelegramBadRequest && e.messageGone)) throw e;
        // The card is gone (deleted, too old): the change goes out as a new message, which becomes the card.
        await deps.db.delete(incidentCards).where(and(eq(incidentCards.incidentId, row.incidentId!), eq(incidentCards.chatId, chatId)));
        if (cardOnly) return closeRow(deps.db, row.id, 'card gone');
        mode = 'new';
        delivered = await deps.gateway.sendMessage(chatId, drawn.message, hooks);
      }
    } else {
      delivered = await deps.gateway.sendMessage(chatId, drawn.message, hooks);
    }
  } catch (e) {
    if (e instanceof SendClaimRefused) {
      if (e.state === 'in_flight') return { status: 'deferred', until: e.until!, outcome: 'deferred: another attempt may be in flight' };
      return { status: 'skipped', reason: e.state === 'sent' ? 'already sent' : 'closed', outcome: `skipped: ${e.state === 'sent' ? 'already sent' : 'closed'}` };
    }
    if (claim) await releaseClaim(deps.db, row.id, claim, e);
    if (e instanceof ChatSlotAhead) return { status: 'deferred', until: new Date(e.until), outcome: 'deferred: chat busy' };
    if (e instanceof TelegramBlocked) return reroute(deps, row, 'blocked');
    if (e instanceof TelegramBadRequest && e.chatNotFound) return reroute(deps, row, 'chat_not_found');
    if (e instanceof TelegramBadRequest) {
      await deps.db.update(outbox).set({ status: 'dead', lastError: describe(e) }).where(eq(outbox.id, row.id));
    }
    throw e;
  }

  // Recorded at once, in one statement: this is the end of the window in which a crash could duplicate.
  const sentAt = deps.clock.now();
  await deps.db
    .update(outbox)
    .set({ status: 'sent', telegramMessageId: delivered.messageId, sentAt, attemptStartedAt: null, lastError: null })
    .where(eq(outbox.id, row.id));
  if (row.incidentId && drawn.cardVersion !== undefined) {
    await recordCardMessage(deps.db, row.incidentId, chatId, delivered.messageId, drawn.cardVersion, sentAt);
    await redrawIfChanged(deps, row, recipient, lang, chatId, delivered.messageId, drawn.cardVersion);
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
 * A change committed while this card was being drawn and sent (an acknowledgement in the same second as
 * an escalation) looked for cards to redraw before this one was recorded: draw it once more, in place.
 */
async function redrawIfChanged(deps: NotificationDeps, row: OutboxRow, recipient: StaffRow, lang: Lang, chatId: number, messageId: number, drawnVersion: number): Promise<void> {
  const [current] = await deps.db.select({ version: incidents.version }).from(incidents).where(eq(incidents.id, row.incidentId!));
  if (!current || current.version <= drawnVersion) return;
  try {
    const again = await drawNotice(deps, row, recipient, lang, deps.clock.now());
    if (!again || again.cardVersion === undefined) return;
    await deps.gateway.editMessage(chatId, messageId, again.message);
    await recordCardMessage(deps.db, row.incidentId!, chatId, messageId, again.cardVersion, deps.clock.now());
  } catch {
    // Best effort: the message was sent; a stale card is redrawn by the next change or when a button on it is pressed.
  }
}

/** Closes a row that has nothing to send. */
async function closeRow(db: Database, id: string, reason: string): Promise<SendOutcome> {
  await db.update(outbox).set({ status: 'dead', lastError: reason, attemptStartedAt: null }).where(eq(outbox.id, id));
  return { status: 'skipped', reason, outcome: `skipped: ${reason}` };
}

/** Marks the row `sending` with a fresh stamp, unless it was sent, closed, or another attempt may be in flight. */
async function claimForSending(db: Database, id: string, now: Date, guardMs: number): Promise<Claim> {
  return db.transaction(async (tx) => {
    const [row] = await tx.select().from(outbox).where(eq(outbox.id, id)).for('update');
    if (!row) throw new SendClaimRefused('gone');
    if (row.status === 'sent' || row.status === 'dead') throw new SendClaimRefused(row.status);
    if (row.status === 'sending' && row.attemptStartedAt && now.getTime() - row.attemptStartedAt.getTime() < guardMs) {
      throw new SendClaimRefused('in_flight', new Date(row.attemptStartedAt.getTime() + guardMs));
    }
    const attempt = row.attempts + 1;
    await tx.update(outbox).set({ status: 'sending', attempts: attempt, attemptStartedAt: now }).where(eq(outbox.id, id));
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
  const notSent = err instanceof TelegramRateLimited || err instanceof ChatSlotAhead;
  const ambiguous = err instanceof TelegramTransient ? err.ambiguous : !(notSent || err instanceof TelegramBadRequest || err instanceof TelegramBlocked);
  const status = ambiguous || claim.maybeDelivered ? 'sending' : notSent ? 'pending' : 'failed';
  await db
    .update(outbox)
    .set({ status, attemptStartedAt: null, lastError: describe(err) })
    .where(and(eq(outbox.id, id), eq(outbox.attempts, claim.attempt), eq(outbox.status, 'sending')));
}

function describe(err: unknown): string {
  const e = err as Error;
  return `${e?.name ?? 'Error'}: ${String(e?.message ?? err)}`.slice(0, 300);
}

function withNote(message: OutgoingMessage, note: string): OutgoingMessage {
  return { ...message, text: fitMessage([escapeHtml(note), ...message.text.split('\n')]) };
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
const ALIVE: string[] = ['pending', 'sending', 'failed', 'sent'];

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
    const [person] = await tx.select().from(staff).where(eq(staff.id, row.recipientStaffId)).for('no key update');
    if (reason === 'blocked' && person?.reachable) {
      await tx.update(staff).set({ reachable: false, updatedAt: now }).where(eq(staff.id, row.recipientStaffId));
    }
    const p = paramsSchema.safeParse(row.params).data ?? {};
    const rootId = p.rootOutboxId ?? row.id;
    const [lockedRoot] = await tx.select().from(outbox).where(eq(outbox.id, rootId)).for('no key update');
    const root = lockedRoot ?? row;
    const closed = await tx
      .update(outbox)
      .set({ status: 'dead', lastError: `unreachable: ${reason}`, attemptStartedAt: null })
      .where(and(eq(outbox.id, row.id), inArray(outbox.status, ['pending', 'sending', 'failed'])))
      .returning({ id: outbox.id });
    if (closed.length === 0) return { created: [], undeliverable: false, sectionUnreachable: false, tried: 0 };

    const rootParams = (root.params ?? {}) as Record<string, unknown>;
    const chain = chainSchema.safeParse(rootParams.chain ?? {}).data ?? { tried: [], given: [] };
    const tried: TriedStaff[] = [...chain.tried.filter((t) => t.staffId !== row.recipientStaffId), { staffId: row.recipientStaffId, reason }];
    const failed = new Set(tried.map((t) => t.staffId));
    const given = new Set([root.recipientStaffId, ...chain.given]);
    const covered = new Set([...given].filter((id) => !failed.has(id)));

    const org = await loadOrgSnapshot(tx);
    const people = new Map((await tx.select({ id: staff.id, unitId: staff.unitId, chatId: staff.chatId, active: staff.active, reachable: staff.reachable }).from(staff)).map((s) => [s.id, s]));
    const cannotReceive = (id: string): Unreceivable | null => {
      const s = people.get(id);
      if (!s || !s.active) return 'inactive';
      if (!s.reachable) return 'blocked';
      return s.chatId === null ? 'no_chat' : null;
    };
    // A redraw of a card only edits the card this person holds: there is nothing to move to anyone else.
    const walk = p.cardOnly
      ? { to: [], passed: [] }
      : walkStandIns(row.recipientStaffId, org, { failed, covered, unitOf: (id) => people.get(id)?.unitId ?? null, cannotReceive });
    const allTried = [...tried, ...walk.passed];
    const allGiven = [...new Set([...given, ...walk.to])];

    const { chain: _chain, standInFor: _standInFor, rootOutboxId: _rootOutboxId, ...noticeParams } = rootParams;
    const drafts: NoticeDraft[] = walk.to.map((recipientStaffId) => ({
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
    await tx
      .update(outbox)
      .set({ params: { ...rootParams, chain: { tried: allTried, given: allGiven } } })
      .where(eq(outbox.id, root.id));

    let undeliverable = false;
    let sectionUnreachable = false;
    if (created.length === 0 && !p.cardOnly) {
      const keys = [root.dedupeKey, ...allGiven.map((id) => `${root.dedupeKey}-via-${id}`)];
      const alive = await tx
        .select({ id: outbox.id })
        .from(outbox)
        .where(and(inArray(outbox.dedupeKey, keys), inArray(outbox.status, ALIVE), ne(outbox.id, row.id)))
        .limit(1);
      if (alive.length === 0) {
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
      data: { outboxId: row.id, rootOutboxId: root.id, kind: row.kind, reason, standIns: walk.to, passed: walk.passed, undeliverable },
    });
    return { created, undeliverable, sectionUnreachable, tried: allTried.length };
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
  const to = result.created.map((r) => r.recipientStaffId);
  return { status: 'rerouted', reason, to, outcome: `rerouted: ${reason}, moved to ${to.length}`, ...ref };
}

// ---------------------------------------------------------------------------------------------
// Drawing a notice for its recipient.

/** Params the notices read; all optional, ids and small values only. */
const paramsSchema = z
  .object({
    level: z.number().optional(),
    notAcknowledgedBy: z.array(z.string()).optional(),
    since: z.string().optional(),
    position: z.string().optional(),
    cycle: z.string().nullable().optional(),
    last: z.string().optional(),
    due: z.string().optional(),
    count: z.number().optional(),
    date: z.string().optional(),
    dates: z.array(z.string()).optional(),
    what: z.string().optional(),
    subjectIds: z.array(z.string()).optional(),
    subjectDaysWithoutContact: z.number().optional(),
    officerStaffId: z.string().nullable().optional(),
    byStaffId: z.string().optional(),
    updateId: z.string().optional(),
    closure: z.string().optional(),
    timerKind: z.string().optional(),
    minutes: z.number().optional(),
    standInFor: z.string().optional(),
    /** On a row a reroute wrote: the notice's first row, which holds the chain tried so far. */
    rootOutboxId: z.string().optional(),
    /** Rows written before comments were read from their sign-off carried the text itself. */
    comment: z.string().optional(),
    signoffId: z.string().optional(),
    releaseId: z.string().optional(),
    role: z.string().optional(),
    /** A redraw of a card the recipient holds: edit it, never send a new message. */
    cardOnly: z.boolean().optional(),
    lastDrillAt: z.string().nullable().optional(),
  })
  .passthrough();
type NoticeParams = z.infer<typeof paramsSchema>;

interface Drawn {
  message: OutgoingMessage;
  /** Set when the message is the incident's card: its version, recorded in incident_cards. */
  cardVersion?: number;
  /** The incident the message is about, for the log. */
  incident?: IncidentRef;
}

/** Renders one catalogue text with every value HTML-escaped. */
function tx(lang: Lang, key: MessageKey, params: Params = {}): string {
  const safe: Params = {};
  for (const [k, v] of Object.entries(params)) safe[k] = typeof v === 'string' ? escapeHtml(v) : v;
  return t(lang, key, safe);
}

async function staffNames(db: Executor, ids: ReadonlyArray<string | null | undefined>): Promise<Map<string, string>> {
  const wanted = [...new Set(ids.filter((x): x is string => !!x))];
  if (wanted.length === 0) return new Map();
  const rows = await db.select({ id: staff.id, name: staff.name }).from(staff).where(inArray(staff.id, wanted));
  return new Map(rows.map((r) => [r.id, r.name]));
}

async function drawNotice(deps: NotificationDeps, row: OutboxRow, recipient: StaffRow, lang: Lang, now: Date): Promise<Drawn | undefined> {
  const p: NoticeParams = paramsSchema.safeParse(row.params).data ?? {};
  const when = (iso: string | Date | undefined) => (iso ? formatLocal(new Date(iso), deps.timeZone, now) : '');
  const notes: string[] = [];
  if (p.standInFor) {
    const names = await staffNames(deps.db, [p.standInFor]);
    notes.push(tx(lang, 'notice.stand_in', { name: names.get(p.standInFor) ?? t(lang, 'notice.unknown_person') }));
  }
  const drill = row.isDrill ? t(lang, 'drill.prefix') : '';

  if (row.incidentId && row.kind !== 'timer_overdue_alert') {
    const header = await incidentHeader(deps, row, p, recipient, lang, now, when);
    if (header === undefined) return undefined;
    const view = await loadIncidentCardView(deps.db, row.incidentId, deps.cipher);
    if (!view) return undefined;
    const actor = await actorFor(deps.db, recipient);
    const card = renderIncidentCard(view, { actor, chatKind: 'private' }, lang, now, deps.timeZone, deps.piiMode);
    // The card's own title carries the drill mark.
    const text = fitMessage([header, ...notes, '', ...card.text.split('\n')]);
    return { message: { text, parseMode: 'HTML', replyMarkup: card.reply_markup }, cardVersion: view.incident.version, incident: { id: view.incident.id, number: view.incident.number } };
  }

  const body = await plainNotice(deps, row, p, lang, now, when);
  if (!body) return undefined;
  return { message: { text: fitMessage([drill + body.text, ...notes]), parseMode: 'HTML', ...(body.markup ? { replyMarkup: body.markup } : {}) } };
}

/** The line(s) above the card that say why this message came. */
async function incidentHeader(
  deps: NotificationDeps,
  row: OutboxRow,
  p: NoticeParams,
  recipient: StaffRow,
  lang: Lang,
  now: Date,
  when: (iso: string | Date | undefined) => string,
): Promise<string | undefined> {
  const [incident] = await deps.db.select().from(incidents).where(eq(incidents.id, row.incidentId!));
  if (!incident) return undefined;
  const names = await staffNames(deps.db, [p.byStaffId, incident.reporterStaffId, incident.acknowledgedByStaffId]);
  const nameOf = (id: string | null | undefined) => (id && names.get(id)) || t(lang, 'notice.unknown_person');
  switch (row.kind as NoticeKind) {
    case 'incident_reported': {
      const actor = await actorFor(deps.db, recipient);
      return tx(lang, canAcknowledge(actor) ? 'notice.incident_reported' : 'notice.incident_reported.fyi');
    }
    case 'incident_acknowledged':
      return tx(lang, 'notice.incident_acknowledged', { by: nameOf(p.byStaffId ?? incident.acknowledgedByStaffId), at: when(incident.acknowledgedAt ?? now) });
    case 'progress_reported': {
      const [update] = p.updateId ? await deps.db.select().from(incidentUpdates).where(eq(incidentUpdates.id, p.updateId)) : [];
      return tx(lang, 'notice.progress_reported', { by: nameOf(p.byStaffId ?? update?.staffId), at: when(update?.at ?? now), text: truncate(update?.text ?? '', 300) });
    }
    case 'incident_closed':
      return tx(lang, 'notice.incident_closed', { by: nameOf(p.byStaffId ?? incident.closedByStaffId), closure: t(lang, p.closure === 'false_alarm' ? 'notice.closure.false_alarm' : 'notice.closure.resolved') });
    case 'ack_escalation': {
      const who = await notAcknowledgedText(deps.db, (p.notAcknowledgedBy ?? ['section']) as PositionKind[], lang);
      const since = p.since ? new Date(p.since) : incident.reportedAt;
      return tx(lang, 'notice.ack_escalation', { who, since: when(since), minutes: Math.max(0, Math.floor((now.getTime() - since.getTime()) / 60_000)) });
    }
    case 'inform_level':
      return tx(lang, 'notice.inform_level', { position: positionLabel(p.position ?? 'deputy_director', lang) });
    case 'progress_reminder':
      return tx(lang, 'notice.progress_reminder', { last: when(p.last ?? incident.lastProgressAt ?? incident.reportedAt) });
    case 'progress_escalation':
      return tx(lang, 'notice.progress_escalation', { reporter: nameOf(incident.reporterStaffId), last: when(p.last ?? incident.lastProgressAt ?? incident.reportedAt) });
    case 'upper_report_reminder':
      return tx(lang, 'notice.upper_report_reminder', { due: when(p.due) });
    case 'upper_report_escalation':
      return tx(lang, 'notice.upper_report_escalation', { due: when(p.due) });
    case 'steps_overdue_reminder':
    case 'steps_overdue_escalation': {
      const pending = await deps.db
        .select({ key: incidentSteps.key, ordinal: incidentSteps.ordinal })
        .from(incidentSteps)
        .where(and(eq(incidentSteps.incidentId, incident.id), eq(incidentSteps.required, true), eq(incidentSteps.state, 'pending')))
        .orderBy(incidentSteps.ordinal);
      const steps = pending.slice(0, 8).map((s) => `· ${s.ordinal}. ${stepText(incident.type, incident.scenario, s.key, lang)}`);
      if (pending.length > 8) steps.push(t(lang, 'notice.list_more', { count: pending.length - 8 }));
      const key = row.kind === 'steps_overdue_reminder' ? 'notice.steps_overdue_reminder' : 'notice.steps_overdue_escalation';
      return tx(lang, key, { count: pending.length, steps: steps.join('\n') });
    }
    case 'written_report_reminder':
      return tx(lang, 'notice.written_report_reminder', { due: when(p.due) });
    case 'written_report_escalation':
      return tx(lang, 'notice.written_report_escalation', { due: when(p.due) });
    case 'report_review_requested':
      return tx(lang, 'notice.report_review_requested', { number: incident.number });
    case 'report_returned': {
      // The comment is read from the sign-off (params carry ids only: a comment may name people).
      const [signoff] = p.signoffId ? await deps.db.select({ comment: writtenReportSignoffs.comment }).from(writtenReportSignoffs).where(eq(writtenReportSignoffs.id, p.signoffId)) : [];
      return tx(lang, 'notice.report_returned', { number: incident.number, comment: truncate(signoff?.comment ?? p.comment ?? '', 300) });
    }
    case 'report_approved':
      return tx(lang, 'notice.report_approved', { number: incident.number });
    case 'release_review_requested':
      return tx(lang, 'notice.release_review_requested', { number: incident.number });
    case 'release_returned': {
      // The comment is read from the row (params carry ids only); an edit since then has answered it.
      const [release] = p.releaseId ? await deps.db.select({ comment: publicReleases.returnComment }).from(publicReleases).where(eq(publicReleases.id, p.releaseId)) : [];
      return tx(lang, 'notice.release_returned', { number: incident.number, by: nameOf(p.byStaffId), comment: truncate(release?.comment ?? '', 300) });
    }
    case 'role_assigned':
      return tx(lang, isRolePost(p.role ?? '') ? 'notice.role_assigned' : 'notice.role_assigned.member', { by: nameOf(p.byStaffId), role: roleLabel(p.role ?? '', lang) });
    default:
      return tx(lang, 'notice.inform_level', { position: statusLabel(incident.status, lang) });
  }
}

/** "the corrections section (A, B) and the deputy director (C)": who has not acknowledged. */
async function notAcknowledgedText(db: Executor, positions: readonly PositionKind[], lang: Lang): Promise<string> {
  const org = await loadOrgSnapshot(db);
  const parts: string[] = [];
  for (const position of positions) {
    const holders = org.seats.filter((s) => s.kind === position).flatMap((s) => [s.holderStaffId, s.actingStaffId].filter((x): x is string => !!x));
    const names = await staffNames(db, holders);
    const list = [...names.values()].join(lang === 'zh' ? '、' : ', ');
    parts.push(list ? `${positionLabel(position, lang)}（${list}）` : positionLabel(position, lang));
  }
  return parts.join(lang === 'zh' ? '、' : ' and ');
}

async function subjectLabelOf(deps: NotificationDeps, subjectId: string): Promise<{ label: string; officeUnitId: string; responsibleStaffId: string | null } | undefined> {
  const [s] = await deps.db.select().from(subjects).where(eq(subjects.id, subjectId));
  if (!s) return undefined;
  return { label: subjectLabel({ code: s.code, name: deps.cipher.decrypt(s.nameEnc) }, deps.piiMode, 'private'), officeUnitId: s.officeUnitId, responsibleStaffId: s.responsibleStaffId };
}

async function unitNameOf(db: Executor, id: string, lang: Lang): Promise<string> {
  const [u] = await db.select({ name: units.name, nameEn: units.nameEn }).from(units).where(eq(units.id, id));
  return unitName(u, lang);
}

/** Notices that are not about one incident: daily contact, the digest, system alerts. */
async function plainNotice(
  deps: NotificationDeps,
  row: OutboxRow,
  p: NoticeParams,
  lang: Lang,
  now: Date,
  when: (iso: string | Date | undefined) => string,
): Promise<{ text: string; markup?: InlineKeyboardMarkup } | undefined> {
  const date = p.date ?? '';
  switch (row.kind as NoticeKind) {
    case 'contact_reminder': {
      const ids = p.subjectIds ?? [];
      if (ids.length === 0) return undefined;
      const rows = await deps.db
        .select({ id: subjects.id, code: subjects.code, nameEnc: subjects.nameEnc, endsOn: absences.endsOn })
        .from(subjects)
        .innerJoin(absences, and(eq(absences.subjectId, subjects.id), lte(absences.startsOn, date), gte(absences.endsOn, date), isNull(absences.cancelledAt)))
        .where(inArray(subjects.id, ids))
        .orderBy(subjects.code);
      const seen = new Set<string>();
      const list = rows.filter((r) => !seen.has(r.id) && seen.add(r.id));
      if (list.length === 0) return undefined;
      const labels = list.map((r) => ({ id: r.id, label: subjectLabel({ code: r.code, name: deps.cipher.decrypt(r.nameEnc) }, deps.piiMode, 'private'), until: r.endsOn }));
      const lines = labels.map((s, i) => tx(lang, 'notice.contact_reminder.line', { n: i + 1, subject: s.label, until: s.until }));
      const text = tx(lang, 'notice.contact_reminder', { date, count: labels.length, list: '' }) + lines.join('\n');
      const keyboard = labels.slice(0, 90).map((s) => [button(truncate(t(lang, 'notice.button.contact', { subject: s.label }), 60), { a: 'contact', i: s.id })]);
      return { text, markup: markup(keyboard) };
    }
    case 'contact_check_head':
    case 'contact_check_section': {
      if (!row.subjectId) return undefined;
      const s = await subjectLabelOf(deps, row.subjectId);
      if (!s) return undefined;
      const names = await staffNames(deps.db, [p.officerStaffId ?? s.responsibleStaffId]);
      const officer = names.get((p.officerStaffId ?? s.responsibleStaffId) ?? '') ?? t(lang, 'notice.unknown_person');
      const params = { subject: s.label, date, time: when(now), officer, office: await unitNameOf(deps.db, s.officeUnitId, lang) };
      return { text: tx(lang, row.kind === 'contact_check_head' ? 'notice.contact_check_head' : 'notice.contact_check_section', params) };
    }
    case 'absconding_suggestion': {
      if (!row.subjectId) return undefined;
      const s = await subjectLabelOf(deps, row.subjectId);
      if (!s) return undefined;
      return {
        text: tx(lang, 'notice.absconding_suggestion', { subject: s.label, count: p.count ?? 2, last: when(p.last) }),
        markup: markup([[button(t(lang, 'notice.button.abscond'), { a: 'abscond', i: row.subjectId })]]),
      };
    }
    case 'missed_days': {
      const what = p.what === 'digest' ? 'notice.daily.digest' : 'notice.daily.contact_reminder';
      const policy = await deps.policy();
      const time = p.what === 'digest' ? policy.digestAt : policy.dailyContact.reminderAt;
      const extra = p.subjectDaysWithoutContact ? tx(lang, 'notice.missed_days.contacts', { count: p.subjectDaysWithoutContact }) : '';
      return { text: tx(lang, 'notice.missed_days', { what: t(lang, what, { time }), dates: (p.dates ?? []).join(lang === 'zh' ? '、' : ', '), extra }) };
    }
    case 'timer_overdue_alert': {
      let where = '';
      let keyboard: InlineKeyboardMarkup | undefined;
      if (row.incidentId) {
        const [i] = await deps.db.select({ number: incidents.number }).from(incidents).where(eq(incidents.id, row.incidentId));
        where = tx(lang, 'notice.timer_overdue_alert.incident', { number: i?.number ?? '' });
        keyboard = markup([[button(t(lang, 'notice.button.open'), { a: 'card', i: row.incidentId })]]);
      } else if (row.subjectId) {
        const s = await subjectLabelOf(deps, row.subjectId);
        where = tx(lang, 'notice.timer_overdue_alert.subject', { subject: s?.label ?? '' });
      }
      // `where` is escaped already; the rest is escaped here.
      const text = t(lang, 'notice.timer_overdue_alert', { what: where, timer: escapeHtml(timerKindLabel(p.timerKind ?? '', lang)), due: when(p.due), minutes: p.minutes ?? 1 });
      return { text, ...(keyboard ? { markup: keyboard } : {}) };
    }
    case 'daily_digest':
      return { text: await digestText(deps, date, lang, now) };
    case 'screening_due': {
      if (!row.subjectId) return undefined;
      const s = await subjectLabelOf(deps, row.subjectId);
      return s ? { text: tx(lang, 'notice.screening_due', { subject: s.label }) } : undefined;
    }
    case 'drill_reminder': {
      const last = p.lastDrillAt ? localDate(new Date(p.lastDrillAt), deps.timeZone) : t(lang, 'drill.reminder_never');
      return { text: tx(lang, 'notice.drill_reminder', { text: t(lang, 'drill.reminder_text', { last }) }) };
    }
    default:
      return undefined;
  }
}

async function digestText(deps: NotificationDeps, date: string, lang: Lang, now: Date): Promise<string> {
  const d = await buildDigest(deps.db, date, now);
  const lines: string[] = [tx(lang, 'notice.daily_digest', { date }), ''];
  const section = (title: string, items: string[]) => {
    lines.push(title);
    if (items.length === 0) lines.push(t(lang, 'notice.digest.none'));
    const shown = items.slice(0, 15);
    lines.push(...shown);
    if (items.length > shown.length) lines.push(t(lang, 'notice.list_more', { count: items.length - shown.length }));
    lines.push('');
  };
  section(
    tx(lang, 'notice.digest.open', { count: d.open.length }),
    d.open.map((i) => tx(lang, 'notice.digest.open_line', { number: i.number, type: typeLabel(i.type, lang), office: i.officeName, status: statusLabel(i.status, lang) })),
  );
  section(
    tx(lang, 'notice.digest.overdue_steps', { count: d.overdueSteps.length }),
    d.overdueSteps.map((s) => tx(lang, 'notice.digest.overdue_steps_line', { number: s.number, count: s.count })),
  );
  section(
    tx(lang, 'notice.digest.overdue_reports', { count: d.overdueReports.length }),
    d.overdueReports.map((r) => tx(lang, 'notice.digest.overdue_reports_line', { number: r.number, due: formatLocal(r.due, deps.timeZone, now) })),
  );
  section(
    tx(lang, 'notice.digest.away', { count: d.away.length }),
    d.away.map((a) =>
      tx(lang, 'notice.digest.away_line', {
        subject: subjectLabel({ code: a.code, name: deps.cipher.decrypt(a.nameEnc) }, deps.piiMode, 'private'),
        office: a.officeName,
        contact: a.contact ? contactResultLabel(a.contact, lang) : t(lang, 'notice.contact.none'),
      }),
    ),
  );
  section(
    tx(lang, 'notice.digest.unstable', { count: d.unstable.length }),
    d.unstable.map((u) =>
      tx(lang, 'notice.digest.unstable_line', {
        subject: subjectLabel({ code: u.code, name: deps.cipher.decrypt(u.nameEnc) }, deps.piiMode, 'private'),
        office: u.officeName,
        new: u.isNew ? t(lang, 'notice.digest.unstable_new') : '',
      }),
    ),
  );
  const u = d.undeliverable;
  const sep = lang === 'zh' ? '、' : ', ';
  const drillMark = t(lang, 'drill.prefix');
  const undeliverableLines = u.people.map((p) =>
    tx(lang, 'notice.digest.undeliverable_line', {
      name: p.name,
      unit: p.unitName,
      count: p.count,
      kinds: p.kinds.map((k) => t(lang, 'notice.digest.undeliverable_kind', { kind: noticeKindLabel(k.kind, lang), count: k.count })).join(sep),
      incidents: p.incidents.length ? tx(lang, 'notice.digest.undeliverable_incidents', { numbers: p.incidents.map((i) => (i.isDrill ? drillMark : '') + i.number).join(sep) }) : '',
    }),
  );
  section(tx(lang, 'notice.digest.undeliverable', { count: u.notices }), undeliverableLines);
  if (u.unreachable.length) {
    // Who to get to bind the bot: after the list (which may be cut short), before the part's blank line.
    const list = u.unreachable.map((x) => tx(lang, 'notice.digest.unreachable_person', { name: x.name || t(lang, 'notice.unknown_person'), reason: t(lang, `notice.unreachable.${x.reason}`) })).join(sep);
    lines.splice(lines.length - 1, 0, t(lang, 'notice.digest.unreachable_people', { list }));
  }
  return lines.join('\n').trimEnd();
}

/** A notice kind as the digest names it; an unknown kind shows as it is. */
function noticeKindLabel(kind: string, lang: Lang): string {
  const key = `notice.kind.${kind}`;
  return hasMessage(key) ? t(lang, key) : kind;
}
