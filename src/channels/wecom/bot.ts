/**
 * The WeCom side of the desk: `createWecomBot(deps)` takes each callback once the route (./http.ts)
 * has answered it, and passes the gates Telegram's updates pass (src/channels/telegram/index.ts): one
 * at a time per member (advisory lock), handled once (its delivery key in PostgreSQL, checked under the
 * lock, recorded once handled), from registered and active staff (a stranger may only redeem an invite
 * with `/start <code>`; anyone else is refused politely and audited), then the desk. Presses are
 * resolved here: the card's task_id names the message, the callback's response_code is kept for the
 * redraw, and the adapter's own buttons (更多…, 处置清单) are answered without the desk.
 *
 * The one error edge: the log gets the error; the member gets "temporarily unavailable" when the
 * database is out of reach (the callback was answered already, so WeCom will not send it again: they
 * are asked to), else a short apology — in Chinese: the staff record and its language may be out of reach.
 */
import { createHash } from 'node:crypto';
import { appendAudit } from '../../db/repositories/audit.repository.js';
import { findIncident } from '../../db/repositories/incident.repository.js';
import {
  addResponseCode,
  identityByWecomUserId,
  normaliseUserId,
  pruneWecomCallbacks,
  recordWecomCallbackHandled,
  wasWecomCallbackHandled,
  WECOM_CALLBACK_KEEP_MS,
  wecomCardByTask,
  type WecomCardRow,
} from '../../db/repositories/wecom.repository.js';
import type { ChatLocks } from '../../db/chat-locks.js';
import { isDatabaseUnavailable } from '../../db/database-unavailable.js';
import { canSeeOffice } from '../../domain/index.js';
import type { FlowDeps, Identity } from '../../flows/conversation.js';
import { createDesk, type DeskPlugin, type Inbound } from '../../flows/desk.js';
import { t, type Lang, type MessageKey } from '../../i18n/index.js';
import { escapeHtml } from '../../i18n/markup.js';
import { ServiceRefusal } from '../../services/errors.js';
import { redeemInvite } from '../../services/invite.service.js';
import { findUnit } from '../../db/repositories/org.repository.js';
import { unitName } from '../../views/labels.js';
import { CHOICE_QUESTION, decodeButtonKey, MORE_KEY, ownKeyOf } from './button-keys.js';
import { wecomConversation, type WecomConversation } from './conversation.js';
import { checklistChoice, loadWecomCardView } from './incident-card.js';
import type { InboundCardEvent, WecomInbound } from './inbound.js';
import { RESPONSE_CODE_LIFETIME_MS, WecomMessenger, type WecomChatTarget } from './messenger.js';
import type { WecomApi } from './wecom-api.js';

export interface WecomBotDeps extends FlowDeps {
  api: WecomApi;
  /** WECOM_API_ROOT (the client's own), for downloading what members send. */
  apiRoot: string;
  /** Per-member serialisation (the Telegram bot's kind: advisory locks). */
  chatLocks: ChatLocks;
  /** The desk's plugins (the after-incident commands); a Telegram-level plugin (`install`) is left out. */
  plugins?: readonly (DeskPlugin | { install: unknown })[];
}

export interface WecomBot {
  readonly messenger: WecomMessenger;
  /** Takes an opened, answered callback, to be handled in the background; never throws. */
  take(message: WecomInbound, dedupKey: string): void;
  /** Handles one callback now: what `take` runs. */
  handle(message: WecomInbound, dedupKey: string): Promise<void>;
  /** Resolves once every callback taken so far is handled. */
  idle(): Promise<void>;
}

/** A key of its own per member for the chat lock, in a range no Telegram chat and no WeCom chat key uses. */
export function memberLockKey(userid: string): number {
  const h = createHash('sha256').update(normaliseUserId(userid)).digest();
  return -(10_000_000_000_000 + (h.readUIntBE(0, 6) % 900_000_000_000_000));
}

/** A userid as the audit trail names it: hashed, so the trail carries no account name. */
export const hashedUserId = (userid: string): string => createHash('sha256').update(normaliseUserId(userid)).digest('hex').slice(0, 24);

const START = /^\/start(?:\s+(\S+))?\s*$/i;
const COMMAND = /^\/([A-Za-z0-9_]+)(?:\s+([\s\S]*))?$/;

/** A member's text with a full-width slash typed for a command made a command. */
const commandText = (content: string): string => content.trim().replace(/^／/, '/');

/** What the callback carries, as the desk takes it (presses are resolved separately). */
export function inboundOf(message: Exclude<WecomInbound, InboundCardEvent>, userid: string): Inbound {
  switch (message.kind) {
    case 'text': {
      const text = commandText(message.content);
      const command = COMMAND.exec(text);
      if (command) return { kind: 'command', name: command[1]!.toLowerCase(), args: (command[2] ?? '').trim(), person: { displayName: userid } };
      if (text.startsWith('/')) return { kind: 'command', name: '', args: '' };
      return { kind: 'text', text: message.content };
    }
    case 'location':
      return { kind: 'location', location: { latitude: message.latitude, longitude: message.longitude } };
    case 'media':
      return { kind: 'media', media: { kind: message.mediaType === 'image' ? 'photo' : message.mediaType, fileId: message.mediaId } };
    default:
      return { kind: 'other' };
  }
}

/** How often, in handled callbacks, old delivery keys are pruned. */
const PRUNE_EVERY = 500;

export function createWecomBot(deps: WecomBotDeps): WecomBot {
  const messenger = new WecomMessenger({ db: deps.db, api: deps.api, clock: deps.clock, logger: deps.logger });
  const desk = createDesk({ plugins: (deps.plugins ?? []).filter((p): p is DeskPlugin => !('install' in p)) });
  const inFlight = new Set<Promise<void>>();
  let handled = 0;
  const log = deps.logger;
  const errFields = (err: unknown) => ({ name: (err as Error)?.name, message: String((err as Error)?.message ?? err).slice(0, 300) });

  async function audit(action: string, entityId: string | null, data: Record<string, unknown>, staffId?: string | null): Promise<void> {
    await appendAudit(deps.db, { at: deps.clock.now(), action, entity: 'wecom_user', entityId, actorStaffId: staffId ?? null, data: { channel: 'wecom', ...data } });
  }

  /** A message to a member not (or no longer) known, outside any conversation. */
  const tell = (userid: string, lang: Lang, markup: string) => messenger.sendText({ chatKey: 0, userId: userid, lang }, markup);

  async function handleOnce(message: WecomInbound, userid: string): Promise<void> {
    if (message.kind === 'ignored') return;
    const identity = await identityByWecomUserId(deps.db, userid);
    if (!identity || !identity.staff.active) {
      const text = message.kind === 'text' ? commandText(message.content) : '';
      const start = START.exec(text);
      if (!identity && start?.[1]) return bindWithInvite(userid, start[1]);
      const reason = identity ? 'inactive' : 'stranger';
      await audit('access.refused', hashedUserId(userid), { reason, update: message.kind }, identity?.staff.id);
      await tell(userid, 'zh', t('zh', identity ? 'refuse.inactive' : 'wecom.refuse.stranger'));
      return;
    }
    const lang: Lang = identity.staff.language === 'en' ? 'en' : 'zh';
    const who: Identity = { staff: identity.staff, actor: identity.actor };
    const base = { deps, messenger, chatKey: identity.chatKey, userId: userid, who, lang, apiRoot: deps.apiRoot };
    const target: WecomChatTarget = { chatKey: identity.chatKey, userId: userid, lang };

    if (message.kind !== 'card_event') {
      const conv = wecomConversation({ ...base, isPress: false });
      const inbound = inboundOf(message, userid);
      if (inbound.kind === 'command' && inbound.name === 'start' && inbound.args) {
        // Already bound: say so in WeCom's words, then what /start does for a known person.
        await conv.send(t(lang, 'wecom.start.already_bound'));
        return run(conv, { ...inbound, args: '' });
      }
      return run(conv, inbound);
    }

    const card = await wecomCardByTask(deps.db, message.taskId);
    if (!card || card.chatKey !== identity.chatKey) {
      // Not a card of this member's chat (forged, or from before a reset): refused by the desk, audited.
      return run(wecomConversation({ ...base, isPress: true }), { kind: 'press', action: undefined, raw: message.eventKey });
    }
    if (message.responseCode) {
      const issued = new Date(message.createTime * 1000);
      await addResponseCode(deps.db, { code: message.responseCode, chatKey: card.chatKey, messageId: card.messageId, taskId: card.taskId, expiresAt: new Date(issued.getTime() + RESPONSE_CODE_LIFETIME_MS) });
    }
    const pressedMessageId = card.kind === 'list' ? (card.parentMessageId ?? card.messageId) : card.messageId;
    const conv = wecomConversation({ ...base, isPress: true, pressedMessageId });
    // A press on a card a newer one replaced: the old card now says so, and the press acts on the message.
    if (card.kind === 'card' && card.supersededAt) await messenger.pointToNewCard(target, card.taskId).catch(() => false);

    let raw = message.eventKey;
    if (card.kind === 'list') {
      const picked = message.selections.find((s) => s.questionKey === CHOICE_QUESTION)?.optionIds[0];
      if (ownKeyOf(raw)?.kind !== 'pick' || !picked) return run(conv, { kind: 'press', action: undefined, raw });
      raw = picked;
      await messenger.grey(target, { taskId: card.taskId }, t(lang, 'wecom.card.picked')).catch(() => false);
      if (raw === MORE_KEY) return openMore(conv, target, card, pressedMessageId);
    }
    const own = ownKeyOf(raw);
    if (own?.kind === 'more') return openMore(conv, target, card, pressedMessageId);
    if (own?.kind === 'steps') return openChecklist(conv, target, own.incidentId, pressedMessageId);
    return run(conv, { kind: 'press', action: decodeButtonKey(raw), raw });
  }

  async function run(conv: WecomConversation, inbound: Inbound): Promise<void> {
    await desk.handle(conv, inbound);
    if (conv.redeliveryAsked) await conv.send(t(conv.lang, 'error.unavailable'));
  }

  /** 更多…: the buttons the card could not show, as a choice acting on the card. */
  async function openMore(conv: WecomConversation, target: WecomChatTarget, card: WecomCardRow, parentMessageId: number): Promise<void> {
    const options = (Array.isArray(card.overflow) ? (card.overflow as Array<{ text: string; key: string }>) : []).filter((o) => typeof o?.key === 'string' && typeof o?.text === 'string');
    if (options.length === 0) return run(conv, { kind: 'press', action: undefined, raw: MORE_KEY });
    await messenger.sendChoice(target, { title: t(conv.lang, 'wecom.choice.more'), options, parentMessageId });
  }

  /** 处置清单: the incident's steps, the pending ones this member may mark as the choice. */
  async function openChecklist(conv: WecomConversation, target: WecomChatTarget, incidentId: string, parentMessageId: number): Promise<void> {
    const who = conv.who!;
    const incident = await findIncident(deps.db, incidentId);
    const view = incident && canSeeOffice(who.actor, incident.officeUnitId) ? await loadWecomCardView(deps.db, incidentId, deps.cipher) : undefined;
    if (!view) return run(conv, { kind: 'press', action: { a: 'card', i: incidentId }, raw: undefined });
    const choice = checklistChoice(view, { actor: who.actor, lang: conv.lang, now: deps.clock.now(), timeZone: deps.timeZone, piiMode: deps.piiMode }, parentMessageId);
    if ('none' in choice) await conv.send(choice.none);
    else await messenger.sendChoice(target, choice);
  }

  /** `/start <code>` from a member bound to nobody: the invite binds their WeCom userid. */
  async function bindWithInvite(userid: string, code: string): Promise<void> {
    let staffId: string;
    try {
      staffId = (await redeemInvite(deps, code, { wecomUserId: userid, language: 'zh', displayName: userid })).id;
    } catch (err) {
      if (!(err instanceof ServiceRefusal)) throw err;
      const key: MessageKey =
        err.code === 'already_done'
          ? 'start.invite_used'
          : err.code === 'expired'
            ? 'start.invite_expired'
            : err.code === 'already_bound' && err.detail !== 'staff'
              ? 'wecom.start.already_bound'
              : 'start.invite_invalid';
      await audit('access.refused', hashedUserId(userid), { reason: 'invite_refused', refusal: err.code });
      await tell(userid, 'zh', t('zh', key));
      return;
    }
    const identity = await identityByWecomUserId(deps.db, userid);
    if (!identity || identity.staff.id !== staffId) throw new Error('the WeCom binding is not readable after the invite');
    const lang: Lang = identity.staff.language === 'en' ? 'en' : 'zh';
    const conv = wecomConversation({ deps, messenger, chatKey: identity.chatKey, userId: userid, who: { staff: identity.staff, actor: identity.actor }, lang, isPress: false, apiRoot: deps.apiRoot });
    const unit = await findUnit(deps.db, identity.staff.unitId);
    await conv.send(t(lang, 'start.bound', { name: escapeHtml(identity.staff.name), unit: escapeHtml(unitName(unit, lang)) }));
    // What /start does for a known person: the help.
    await run(conv, { kind: 'command', name: 'start', args: '' });
  }

  async function handle(message: WecomInbound, dedupKey: string): Promise<void> {
    // Authentic but nothing to do (the member opened the application, a link): not worth a row.
    if (message.kind === 'ignored') return;
    const userid = normaliseUserId(message.from);
    await deps.chatLocks.withChatLock(memberLockKey(userid), async () => {
      if (await wasWecomCallbackHandled(deps.db, dedupKey)) {
        log.info({ dedupKey }, 'duplicate WeCom callback dropped');
        await appendAudit(deps.db, { at: deps.clock.now(), action: 'wecom.callback.refused', entity: 'wecom_callback', data: { reason: 'duplicate', kind: message.kind } });
        return;
      }
      try {
        await handleOnce(message, userid);
      } catch (err) {
        if (isDatabaseUnavailable(err)) {
          // Not recorded as handled: a replay of it (or the member sending it again) is handled in full.
          log.warn({ err: errFields(err), kind: message.kind }, 'database unavailable: WeCom callback not handled');
          await tell(userid, 'zh', t('zh', 'error.unavailable')).catch(() => 0);
          return;
        }
        log.error({ err: errFields(err), kind: message.kind }, 'WeCom callback handling failed');
        await tell(userid, 'zh', t('zh', 'error.generic')).catch((replyErr: unknown) => log.warn({ err: errFields(replyErr) }, 'could not send the apology'));
      }
      // Handled (or failed for good): a redelivery must not apply it twice.
      await recordWecomCallbackHandled(deps.db, dedupKey, deps.clock.now()).catch((err: unknown) => log.warn({ err: errFields(err) }, 'handled WeCom callback not recorded'));
      if (++handled % PRUNE_EVERY === 0) await pruneWecomCallbacks(deps.db, new Date(deps.clock.now().getTime() - WECOM_CALLBACK_KEEP_MS)).catch(() => 0);
    });
  }

  return {
    messenger,
    handle,
    take(message, dedupKey) {
      const p = handle(message, dedupKey).catch((err: unknown) => {
        log.warn({ err: errFields(err), kind: message.kind }, 'WeCom callback not handled');
      });
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
    },
    async idle() {
      while (inFlight.size > 0) await Promise.all([...inFlight]);
    },
  };
}
