/**
 * The section's changes to seats (positions) made in the chat: who holds a seat, who acts for it. The org
 * file's upserts and the invite's bindings are in position.repository.ts.
 */
import { and, asc, eq, isNull, or } from 'drizzle-orm';
import type { Executor } from '../client.js';
import { positions, staff, units } from '../schema.js';
import type { PositionRow } from './position.repository.js';

export async function findPosition(db: Executor, id: string): Promise<PositionRow | undefined> {
  const [row] = await db.select().from(positions).where(eq(positions.id, id));
  return row;
}

/** Locks a seat for the rest of the transaction. */
export async function lockPosition(db: Executor, id: string): Promise<PositionRow | undefined> {
  const [row] = await db.select().from(positions).where(eq(positions.id, id)).for('update');
  return row;
}

export async function updatePosition(db: Executor, id: string, patch: Partial<Pick<PositionRow, 'holderStaffId' | 'actingStaffId'>>): Promise<PositionRow> {
  const [row] = await db.update(positions).set(patch).where(eq(positions.id, id)).returning();
  return row!;
}

export async function insertSeat(db: Executor, row: typeof positions.$inferInsert): Promise<PositionRow> {
  const [inserted] = await db.insert(positions).values(row).returning();
  return inserted!;
}

/** Seats a person holds or acts for. */
export async function seatsOf(db: Executor, staffId: string): Promise<PositionRow[]> {
  return db
    .select()
    .from(positions)
    .where(or(eq(positions.holderStaffId, staffId), eq(positions.actingStaffId, staffId)))
    .orderBy(asc(positions.code));
}

/** A seat of this kind in the unit that nobody holds. */
export async function emptySeatOf(db: Executor, unitId: string, kind: string): Promise<PositionRow | undefined> {
  const [row] = await db
    .select()
    .from(positions)
    .where(and(eq(positions.unitId, unitId), eq(positions.kind, kind), isNull(positions.holderStaffId)))
    .orderBy(asc(positions.code))
    .limit(1);
  return row;
}

export interface SeatListing {
  seat: PositionRow;
  unitName: string;
  holderName: string | null;
  actingName: string | null;
}

/** Seats with their unit and the names of holder and acting holder, by unit and code; one unit or all. */
export async function listSeats(db: Executor, unitId?: string): Promise<SeatListing[]> {
  const rows = await db
    .select({ seat: positions, unitName: units.name, unitCode: units.code })
    .from(positions)
    .innerJoin(units, eq(units.id, positions.unitId))
    .where(unitId === undefined ? undefined : eq(positions.unitId, unitId))
    .orderBy(asc(units.code), asc(positions.code));
  const people = new Map((await db.select({ id: staff.id, name: staff.name }).from(staff)).map((p) => [p.id, p.name]));
  return rows.map((r) => ({
    seat: r.seat,
    unitName: r.unitName,
    holderName: r.seat.holderStaffId ? (people.get(r.seat.holderStaffId) ?? null) : null,
    actingName: r.seat.actingStaffId ? (people.get(r.seat.actingStaffId) ?? null) : null,
  }));
}
