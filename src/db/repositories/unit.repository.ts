/** Units by code, kind or id, and the org file's upserts. One unit by id, or all of a kind: org.repository.ts. */
import { eq, inArray, sql } from 'drizzle-orm';
import type { UnitKind } from '../../domain/index.js';
import type { Executor } from '../client.js';
import { units } from '../schema.js';
import type { UnitRow } from './org.repository.js';

export async function findUnitByCode(db: Executor, code: string): Promise<UnitRow | undefined> {
  const [row] = await db.select().from(units).where(eq(units.code, code));
  return row;
}

export async function findUnitsByCodes(db: Executor, codes: readonly string[]): Promise<UnitRow[]> {
  if (codes.length === 0) return [];
  return db.select().from(units).where(inArray(units.code, [...codes]));
}

export async function findUnitsByIds(db: Executor, ids: readonly string[]): Promise<UnitRow[]> {
  if (ids.length === 0) return [];
  return db.select().from(units).where(inArray(units.id, [...ids]));
}

export async function findUnitsOfKinds(db: Executor, kinds: readonly UnitKind[]): Promise<UnitRow[]> {
  if (kinds.length === 0) return [];
  return db.select().from(units).where(inArray(units.kind, [...kinds]));
}

/** A unit as the org file lists it, its parent already resolved to an id. */
export interface UnitFromFile {
  code: string;
  kind: UnitKind;
  name: string;
  nameEn: string | null;
  parentId: string | null;
  external: boolean;
}

/** Inserts or updates a unit by code; undefined when the stored row already matched (nothing written). */
export async function upsertUnitByCode(db: Executor, u: UnitFromFile): Promise<{ id: string; inserted: boolean } | undefined> {
  const [row] = await db
    .insert(units)
    .values(u)
    .onConflictDoUpdate({
      target: units.code,
      set: { kind: sql`excluded.kind`, name: sql`excluded.name`, nameEn: sql`excluded.name_en`, parentId: sql`excluded.parent_id`, external: sql`excluded.external` },
      setWhere: sql`(${units.kind}, ${units.name}, ${units.nameEn}, ${units.parentId}, ${units.external})
        is distinct from (excluded.kind, excluded.name, excluded.name_en, excluded.parent_id, excluded.external)`,
    })
    .returning({ id: units.id, inserted: sql<boolean>`(xmax = 0)` });
  return row;
}
