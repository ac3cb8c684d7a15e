/**
 * `/start <code>`: a single-use, expiring invite binds a Telegram account to a staff record. An invite
 * that names a person binds that person; otherwise it binds the holder of the named position in the
 * named unit who has no Telegram account yet; otherwise it creates the person and gives them the seat.
 */
import { appendAudit } from '../db/repositories/audit.repository.js';
import { lockInviteByCode, markInviteUsed } from '../db/repositories/invite.repository.js';
import { findStaffByTelegramId, type StaffRow } from '../db/repositories/org.repository.js';
import { findEmptySeat, findSeatHolderWithoutTelegram, insertPosition, setSeatHolder } from '../db/repositories/position.repository.js';
import { insertStaff, lockStaff, updateStaff } from '../db/repositories/staff.repository.js';
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

/** Invite codes are short tokens; anything else is not worth a database look-up. */
export const INVITE_CODE_PATTERN = /^[A-Za-z0-9_-]{6,64}$/;

export async function redeemInvite(deps: Pick<ServiceDeps, 'db' | 'clock'>, code: string, who: Redeemer): Promise<StaffRow> {
  if (!INVITE_CODE_PATTERN.test(code)) throw new ServiceRefusal('not_found');
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    const invite = await lockInviteByCode(tx, code);
    if (!invite) throw new ServiceRefusal('not_found');
    if (invite.usedAt) throw new ServiceRefusal('already_done');
    if (invite.expiresAt.getTime() <= now.getTime()) throw new ServiceRefusal('expired');
    const bound = await findStaffByTelegramId(tx, who.telegramUserId);
    if (bound) throw new ServiceRefusal('already_bound');
    const kind = invite.positionKind as PositionKind;
    if (!(POSITION_KINDS as readonly string[]).includes(kind)) throw new ServiceRefusal('invalid_input', 'position');
    const binding = { telegramUserId: who.telegramUserId, chatId: who.chatId, language: who.language, updatedAt: now };

    let person: StaffRow | undefined;
    let how: 'named' | 'seat_holder' | 'created';
    if (invite.staffId) {
      const named = await lockStaff(tx, invite.staffId);
      if (!named || !named.active) throw new ServiceRefusal('not_permitted');
      if (named.telegramUserId !== null) throw new ServiceRefusal('already_bound', 'staff');
      person = await updateStaff(tx, named.id, binding);
      how = 'named';
    } else {
      const seat = await findSeatHolderWithoutTelegram(tx, invite.unitId, kind);
      if (seat) {
        person = await updateStaff(tx, seat.staffId, binding);
        how = 'seat_holder';
      } else {
        person = await insertStaff(tx, { code: `tg-${who.telegramUserId}`, name: who.displayName.trim().slice(0, 60) || `tg-${who.telegramUserId}`, unitId: invite.unitId, ...binding });
        const emptySeat = await findEmptySeat(tx, invite.unitId, kind);
        if (emptySeat) await setSeatHolder(tx, emptySeat.id, person.id);
        else await insertPosition(tx, { code: `pos-${person.code}`, kind, unitId: invite.unitId, holderStaffId: person.id });
        how = 'created';
      }
    }
    await markInviteUsed(tx, invite.id, now, who.telegramUserId);
    await appendAudit(tx, {
      at: now,
      action: 'invite.redeemed',
      entity: 'staff',
      entityId: person!.id,
      actorStaffId: person!.id,
      actorTelegramId: who.telegramUserId,
      data: { inviteId: invite.id, how, positionKind: kind, unitId: invite.unitId },
    });
    return person!;
  });
}
