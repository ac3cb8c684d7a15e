/**
 * `/start <code>`: a single-use, expiring invite binds a Telegram account to a staff record. An invite
 * that names a person binds that person; otherwise it binds the holder of the named position in the
 * named unit who has no Telegram account yet; otherwise it creates the person and gives them the seat.
 * Typed in WeCom, the same invite binds a WeCom userid instead (wecom_users), beside or instead of a
 * Telegram account: a named person keeps their Telegram binding; a seat's holder is taken only when
 * they are bound nowhere yet.
 */
import { appendAudit } from '../db/repositories/audit.repository.js';
import { lockInviteByCode, markInviteUsed } from '../db/repositories/invite.repository.js';
import { findStaffByTelegramId, type StaffRow } from '../db/repositories/org.repository.js';
import { findEmptySeat, findSeatHolderWithoutTelegram, insertPosition, setSeatHolder } from '../db/repositories/position.repository.js';
import { insertStaff, lockStaff, updateStaff } from '../db/repositories/staff.repository.js';
import { bindWecomUser, findSeatHolderUnbound, findWecomUser, markInviteUsedOnWecom, wecomUserOfStaff } from '../db/repositories/wecom.repository.js';
import { POSITION_KINDS, type PositionKind } from '../domain/index.js';
import { ServiceRefusal } from './errors.js';
import type { ServiceDeps } from './ports.js';

export interface Redeemer {
  telegramUserId: number;
  chatId: number;
  /** Telegram's language_code: the person's language until they change it with /language. */
  language: 'zh' | 'en';
  /** Shown name from Telegram, used only when the invite creates a new staff record. */
  displayName: string;
}

/** The same, from WeCom: the member's userid instead of a Telegram account. */
export interface WecomRedeemer {
  wecomUserId: string;
  language: 'zh' | 'en';
  /** Used only when the invite creates a new staff record. */
  displayName: string;
}

/** Invite codes are short tokens; anything else is not worth a database look-up. */
export const INVITE_CODE_PATTERN = /^[A-Za-z0-9_-]{6,64}$/;

export async function redeemInvite(deps: Pick<ServiceDeps, 'db' | 'clock'>, code: string, who: Redeemer | WecomRedeemer): Promise<StaffRow> {
  if (!INVITE_CODE_PATTERN.test(code)) throw new ServiceRefusal('not_found');
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    const invite = await lockInviteByCode(tx, code);
    if (!invite) throw new ServiceRefusal('not_found');
    if (invite.usedAt) throw new ServiceRefusal('already_done');
    if (invite.expiresAt.getTime() <= now.getTime()) throw new ServiceRefusal('expired');
    const wecom = 'wecomUserId' in who ? who.wecomUserId : undefined;
    const tg = 'telegramUserId' in who ? who : undefined;
    const bound = wecom !== undefined ? await findWecomUser(tx, wecom) : await findStaffByTelegramId(tx, tg!.telegramUserId);
    if (bound) throw new ServiceRefusal('already_bound');
    const kind = invite.positionKind as PositionKind;
    if (!(POSITION_KINDS as readonly string[]).includes(kind)) throw new ServiceRefusal('invalid_input', 'position');
    // A WeCom binding leaves the staff row's Telegram fields (and a bound person's language) as they are.
    const binding = tg ? { telegramUserId: tg.telegramUserId, chatId: tg.chatId, language: who.language, updatedAt: now } : { updatedAt: now };
    const codeOf = tg ? `tg-${tg.telegramUserId}` : `wc-${wecom!.toLowerCase()}`;

    let person: StaffRow | undefined;
    let how: 'named' | 'seat_holder' | 'created';
    if (invite.staffId) {
      const named = await lockStaff(tx, invite.staffId);
      if (!named || !named.active) throw new ServiceRefusal('not_permitted');
      if (tg ? named.telegramUserId !== null : (await wecomUserOfStaff(tx, named.id)) !== undefined) throw new ServiceRefusal('already_bound', 'staff');
      person = await updateStaff(tx, named.id, binding);
      how = 'named';
    } else {
      const seat = tg ? await findSeatHolderWithoutTelegram(tx, invite.unitId, kind) : await findSeatHolderUnbound(tx, invite.unitId, kind);
      if (seat) {
        person = await updateStaff(tx, seat.staffId, binding);
        how = 'seat_holder';
      } else {
        person = await insertStaff(tx, { code: codeOf, name: who.displayName.trim().slice(0, 60) || codeOf, unitId: invite.unitId, language: who.language, ...binding });
        const emptySeat = await findEmptySeat(tx, invite.unitId, kind);
        if (emptySeat) await setSeatHolder(tx, emptySeat.id, person.id);
        else await insertPosition(tx, { code: `pos-${person.code}`, kind, unitId: invite.unitId, holderStaffId: person.id });
        how = 'created';
      }
    }
    if (wecom !== undefined) {
      await bindWecomUser(tx, wecom, person!.id, now);
      await markInviteUsedOnWecom(tx, invite.id, now);
    } else await markInviteUsed(tx, invite.id, now, tg!.telegramUserId);
    await appendAudit(tx, {
      at: now,
      action: 'invite.redeemed',
      entity: 'staff',
      entityId: person!.id,
      actorStaffId: person!.id,
      actorTelegramId: tg?.telegramUserId ?? null,
      data: { inviteId: invite.id, how, positionKind: kind, unitId: invite.unitId, ...(wecom !== undefined ? { channel: 'wecom' } : {}) },
    });
    return person!;
  });
}
