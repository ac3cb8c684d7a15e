import { and, eq, inArray, sql } from 'drizzle-orm';
import type { Actor, OrgSnapshot, PositionKind, PositionSeat, StaffAvailability, UnitKind } from '../../domain/index.js';
import type { Executor } from '../client.js';
import { positions, staff, units } from '../schema.js';

export type StaffRow = typeof staff.$inferSelect;
export type UnitRow = typeof units.$inferSelect;

/** Everyone's seats and availability, for resolving who gets a message now. */
export async function loadOrgSnapshot(db: Executor): Promise<OrgSnapshot> {
  const [seatRows, staffRows] = await Promise.all([
    db.select().from(positions),
    db.select({ id: staff.id, active: staff.active, reachable: staff.reachable, away: staff.away }).from(staff),
  ]);
  const seats: PositionSeat[] = seatRows.map((p) => ({
    kind: p.kind as PositionKind,
    unitId: p.unitId,
    holderStaffId: p.holderStaffId,
    actingStaffId: p.actingStaffId,
  }));
  return { seats, staff: new Map<string, StaffAvailability>(staffRows.map((s) => [s.id, s])) };
}

export async function findStaffByTelegramId(db: Executor, telegramUserId: number): Promise<StaffRow | undefined> {
  const [row] = await db.select().from(staff).where(eq(staff.telegramUserId, telegramUserId));
  return row;
}

export async function findStaffById(db: Executor, id: string): Promise<StaffRow | undefined> {
  const [row] = await db.select().from(staff).where(eq(staff.id, id));
  return row;
}

export async function findStaffByIds(db: Executor, ids: readonly string[]): Promise<StaffRow[]> {
  if (ids.length === 0) return [];
  return db.select().from(staff).where(inArray(staff.id, [...ids]));
}

export async function findUnit(db: Executor, id: string): Promise<UnitRow | undefined> {
  const [row] = await db.select().from(units).where(eq(units.id, id));
  return row;
}

export async function listUnits(db: Executor, kind?: UnitKind): Promise<UnitRow[]> {
  return kind ? db.select().from(units).where(eq(units.kind, kind)).orderBy(units.code) : db.select().from(units).orderBy(units.code);
}

/** The positions a staff member holds or acts in, for permission checks. */
export async function actorFor(db: Executor, s: StaffRow): Promise<Actor> {
  const [unit] = await db.select().from(units).where(eq(units.id, s.unitId));
  const held = await db
    .select({ kind: positions.kind })
    .from(positions)
    .where(and(eq(positions.holderStaffId, s.id)));
  const acting = await db.select({ kind: positions.kind }).from(positions).where(eq(positions.actingStaffId, s.id));
  const kinds = [...new Set([...held, ...acting].map((p) => p.kind as PositionKind))];
  return { staffId: s.id, unitId: s.unitId, unitKind: (unit?.kind ?? 'office') as UnitKind, positions: kinds };
}

/**
 * The staff member behind a Telegram account with their positions, in one round trip (every update asks
 * this): the same answer as findStaffByTelegramId followed by actorFor.
 */
export async function identityByTelegramId(db: Executor, telegramUserId: number): Promise<{ staff: StaffRow; actor: Actor } | undefined> {
  const [row] = await db
    .select({
      staff,
      unitKind: units.kind,
      kinds: sql<string[]>`coalesce((select array_agg(distinct ${positions.kind}) from ${positions} where ${positions.holderStaffId} = ${staff.id} or ${positions.actingStaffId} = ${staff.id}), '{}')`,
    })
    .from(staff)
    .leftJoin(units, eq(units.id, staff.unitId))
    .where(eq(staff.telegramUserId, telegramUserId));
  if (!row) return undefined;
  const s = row.staff;
  return { staff: s, actor: { staffId: s.id, unitId: s.unitId, unitKind: (row.unitKind ?? 'office') as UnitKind, positions: row.kinds as PositionKind[] } };
}

export async function markStaffUnreachable(db: Executor, staffId: string, reachable = false): Promise<void> {
  await db.update(staff).set({ reachable, updatedAt: new Date() }).where(eq(staff.id, staffId));
}
