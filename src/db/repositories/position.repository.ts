/** Seats (positions): finding one to bind a person to, and the org file's upserts. Everyone's seats at once: org.repository.ts. */
import { and, eq, isNull, sql } from 'drizzle-orm';
import type { PositionKind } from '../../domain/index.js';
import type { Executor } from '../client.js';
import { positions, staff } from '../schema.js';

export type PositionRow = typeof positions.$inferSelect;
export type NewPositionRow = typeof positions.$inferInsert;

/** An active holder of a seat of this kind in the unit who has no Telegram account yet. */
export async function findSeatHolderWithoutTelegram(db: Executor, unitId: string, kind: PositionKind): Promise<{ staffId: string } | undefined> {
  const [row] = await db
    .select({ staffId: staff.id })
    .from(positions)
    .innerJoin(staff, eq(staff.id, positions.holderStaffId))
    .where(and(eq(positions.unitId, unitId), eq(positions.kind, kind), isNull(staff.telegramUserId), eq(staff.active, true)))
    .limit(1);
  return row;
}

/** A seat of this kind in the unit that nobody holds. */
export async function findEmptySeat(db: Executor, unitId: string, kind: PositionKind): Promise<{ id: string } | undefined> {
  const [row] = await db
    .select({ id: positions.id })
    .from(positions)
    .where(and(eq(positions.unitId, unitId), eq(positions.kind, kind), isNull(positions.holderStaffId)))
    .limit(1);
  return row;
}

export async function setSeatHolder(db: Executor, positionId: string, holderStaffId: string): Promise<void> {
  await db.update(positions).set({ holderStaffId }).where(eq(positions.id, positionId));
}

export async function insertPosition(db: Executor, row: NewPositionRow): Promise<void> {
  await db.insert(positions).values(row);
}

/** A seat as the org file lists it, its unit and people already resolved to ids. */
export interface PositionFromFile {
  code: string;
  kind: PositionKind;
  unitId: string;
  holderStaffId: string | null;
  actingStaffId: string | null;
}

/** Inserts or updates a seat by code; undefined when the stored row already matched (nothing written). */
export async function upsertPositionByCode(db: Executor, p: PositionFromFile): Promise<{ id: string; inserted: boolean } | undefined> {
  const [row] = await db
    .insert(positions)
    .values(p)
    .onConflictDoUpdate({
      target: positions.code,
      set: { kind: sql`excluded.kind`, unitId: sql`excluded.unit_id`, holderStaffId: sql`excluded.holder_staff_id`, actingStaffId: sql`excluded.acting_staff_id` },
      setWhere: sql`(${positions.kind}, ${positions.unitId}, ${positions.holderStaffId}, ${positions.actingStaffId})
        is distinct from (excluded.kind, excluded.unit_id, excluded.holder_staff_id, excluded.acting_staff_id)`,
    })
    .returning({ id: positions.id, inserted: sql<boolean>`(xmax = 0)` });
  return row;
}
