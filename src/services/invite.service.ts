/**
 * `/start <code>`: a single-use, expiring invite binds a Telegram account to a staff record. An invite
 * that names a person binds that person; otherwise it binds the holder of the named position in the
 * named unit who has no Telegram account yet; otherwise it creates the person and gives them the seat.
 */
import { and, eq, isNull } from 'drizzle-orm';
import { appendAudit } from '../db/repositories/audit.repository.js';
import type { StaffRow } from '../db/repositories/org.repository.js';
import { invites, positions, staff } from '../db/schema.js';
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
    const [invite] = await tx.select().from(invites).where(eq(invites.code, code)).for('update');
    if (!invite) throw new ServiceRefusal('not_found');
    if (invite.usedAt) throw new ServiceRefusal('already_done');
    if (invite.expiresAt.getTime() <= now.getTime()) throw new ServiceRefusal('expired');
    const [bound] = await tx.select({ id: staff.id }).from(staff).where(eq(staff.telegramUserId, who.telegramUserId));
    if (bound) throw new ServiceRefusal('already_bound');
    const kind = invite.positionKind as PositionKind;
    if (!(POSITION_KINDS as readonly string[]).includes(kind)) throw new ServiceRefusal('invalid_input', 'position');
    const binding = { telegramUserId: who.telegramUserId, chatId: who.chatId, language: who.language, updatedAt: now };

    let person: StaffRow | undefined;
    let how: 'named' | 'seat_holder' | 'created';
    if (invite.staffId) {
      const [named] = await tx.select().from(staff).where(eq(staff.id, invite.staffId)).for('update');
      if (!named || !named.active) throw new ServiceRefusal('not_permitted');
      if (named.telegramUserId !== null) throw new ServiceRefusal('already_bound', 'staff');
      [person] = await tx.update(staff).set(binding).where(eq(staff.id, named.id)).returning();
      how = 'named';
    } else {
      const [seat] = await tx
        .select({ staffId: staff.id })
        .from(positions)
        .innerJoin(staff, eq(staff.id, positions.holderStaffId))
        .where(and(eq(positions.unitId, invite.unitId), eq(positions.kind, kind), isNull(staff.telegramUserId), eq(staff.active, true)))
        .limit(1);
      if (seat) {
        [person] = await tx.update(staff).set(binding).where(eq(staff.id, seat.staffId)).returning();
        how = 'seat_holder';
      } else {
        [person] = await tx
          .insert(staff)
          .values({ code: `tg-${who.telegramUserId}`, name: who.displayName.trim().slice(0, 60) || `tg-${who.telegramUserId}`, unitId: invite.unitId, ...binding })
          .returning();
        const [emptySeat] = await tx
          .select({ id: positions.id })
          .from(positions)
          .where(and(eq(positions.unitId, invite.unitId), eq(positions.kind, kind), isNull(positions.holderStaffId)))
          .limit(1);
        if (emptySeat) await tx.update(positions).set({ holderStaffId: person!.id }).where(eq(positions.id, emptySeat.id));
        else await tx.insert(positions).values({ code: `pos-${person!.code}`, kind, unitId: invite.unitId, holderStaffId: person!.id });
        how = 'created';
      }
    }
    await tx.update(invites).set({ usedAt: now, usedByTelegramId: who.telegramUserId }).where(eq(invites.id, invite.id));
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
