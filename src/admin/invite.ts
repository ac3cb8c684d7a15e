/**
 * `invite create --unit U --position P [--staff CODE] [--hours 72]`: a single-use, expiring invite whose
 * deep link (`https://t.me/<bot>?start=<code>`) binds a Telegram account to a seat when redeemed.
 */
import { randomBytes } from 'node:crypto';
import type { Database } from '../db/client.js';
import { appendAudit } from '../db/repositories/audit.repository.js';
import { insertInvite } from '../db/repositories/invite.repository.js';
import { findStaffByCode } from '../db/repositories/staff.repository.js';
import { findUnitByCode } from '../db/repositories/unit.repository.js';
import { addMs, HOUR, POSITION_KINDS, type PositionKind } from '../domain/index.js';
import { AdminRefusal } from './errors.js';
import { seatMismatch } from './positions.js';

export const DEFAULT_BOT_USERNAME = 'corrections_bot';
export const DEFAULT_INVITE_HOURS = 72;
/** A month at most: an invite is a credential until it is used. */
export const MAX_INVITE_HOURS = 24 * 30;

export interface InviteRequest {
  unitCode: string;
  position: string;
  staffCode?: string;
  hours?: number;
  botUsername?: string;
  createdBy?: string;
  now: Date;
}

export interface CreatedInvite {
  id: string;
  code: string;
  link: string;
  expiresAt: Date;
}

/** 24 random bytes in base64url: 32 characters, within Telegram's 64-character `start` parameter. */
export function newInviteCode(): string {
  return randomBytes(24).toString('base64url');
}

export function inviteLink(botUsername: string, code: string): string {
  return `https://t.me/${botUsername}?start=${code}`;
}

export async function createInvite(db: Database, req: InviteRequest): Promise<CreatedInvite> {
  const hours = req.hours ?? DEFAULT_INVITE_HOURS;
  if (!Number.isFinite(hours) || hours <= 0 || hours > MAX_INVITE_HOURS) throw new AdminRefusal('--hours', `must be a number of hours between 1 and ${MAX_INVITE_HOURS}`);
  if (!(POSITION_KINDS as readonly string[]).includes(req.position)) throw new AdminRefusal('--position', `must be one of ${POSITION_KINDS.join(', ')}`);
  const position = req.position as PositionKind;
  const bot = req.botUsername ?? DEFAULT_BOT_USERNAME;
  if (!/^[A-Za-z][A-Za-z0-9_]{3,31}$/.test(bot)) throw new AdminRefusal('BOT_USERNAME', 'must be a Telegram bot username without @');

  return db.transaction(async (tx) => {
    const unit = await findUnitByCode(tx, req.unitCode);
    if (!unit) throw new AdminRefusal('--unit', `no unit with code '${req.unitCode}'`);
    const mismatch = seatMismatch(position, unit.kind);
    if (mismatch) throw new AdminRefusal('--position', mismatch);
    let staffId: string | null = null;
    if (req.staffCode) {
      const person = await findStaffByCode(tx, req.staffCode);
      if (!person) throw new AdminRefusal('--staff', `no staff member with code '${req.staffCode}'`);
      if (person.telegramUserId !== null) throw new AdminRefusal('--staff', `'${req.staffCode}' is already bound to a Telegram account`);
      staffId = person.id;
    }
    const code = newInviteCode();
    const expiresAt = addMs(req.now, Math.round(hours * HOUR));
    const row = await insertInvite(tx, { code, unitId: unit.id, positionKind: position, staffId, createdBy: req.createdBy ?? 'cli', createdAt: req.now, expiresAt });
    // The code is a credential: the trail records the invite, not the code.
    await appendAudit(tx, {
      at: req.now,
      action: 'invite.created',
      entity: 'invite',
      entityId: row.id,
      data: { unitId: unit.id, positionKind: position, staffId, expiresAt: expiresAt.toISOString(), createdBy: req.createdBy ?? 'cli' },
    });
    return { id: row.id, code, link: inviteLink(bot, code), expiresAt };
  });
}
