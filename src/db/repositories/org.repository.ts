import { and, eq, inArray, sql } from 'drizzle-orm';
import { actorPositions, type Actor, type OrgSnapshot, type PositionKind, type PositionSeat, type StaffAvailability, type UnitKind } from '../../domain/index.js';
import type { Executor } from '../client.js';
import { keptOrgSnapshot } from '../org-snapshot-cache.js';
import { positions, staff, units } from '../schema.js';

export type StaffRow = typeof staff.$inferSelect;
export type UnitRow = typeof units.$inferSelect;

/** Everyone's seats and availability, for resolving who gets a message now (kept in memory where enabled: org-snapshot-cache.ts). */
export function loadOrgSnapshot(db: Executor): Promise<OrgSnapshot> {
  return keptOrgSnapshot(db, readOrgSnapshot);
}

async function readOrgSnapshot(db: Executor): Promise<OrgSnapshot> {
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

/** The positions a staff member holds, or acts in while the holder cannot (actingHolderActs), for permission checks. */
export async function actorFor(db: Executor, s: StaffRow): Promise<Actor> {
  const [row] = await db
    .select({ unitKind: units.kind, held: heldKinds(s.id), acting: actingSeats(s.id) })
    .from(units)
    .where(eq(units.id, s.unitId));
  return actorOf(s, row?.unitKind ?? null, row?.held ?? [], row?.acting ?? []);
}

interface ActingSeatRow {
  kind: string;
  hasHolder: boolean;
  active: boolean | null;
  away: boolean | null;
  reachable: boolean | null;
  bound: boolean | null;
}

const heldKinds = (staffId: unknown) =>
  sql<string[]>`coalesce((select array_agg(distinct ${positions.kind}) from ${positions} where ${positions.holderStaffId} = ${staffId}), '{}')`;

/** The seats this person is acting holder of, with what decides whether their holder is there to act (bound on either channel). */
const actingSeats = (staffId: unknown) =>
  sql<ActingSeatRow[]>`coalesce((select json_agg(json_build_object('kind', p.kind, 'hasHolder', h.id is not null, 'active', h.active, 'away', h.away, 'reachable', h.reachable, 'bound', h.chat_id is not null or exists (select 1 from wecom_users w where w.staff_id = h.id)))
    from ${positions} p left join ${staff} h on h.id = p.holder_staff_id where p.acting_staff_id = ${staffId}), '[]'::json)`;

function actorOf(s: StaffRow, unitKind: string | null, held: readonly string[], acting: readonly ActingSeatRow[]): Actor {
  const { positions: kinds, acting: actingKinds } = actorPositions(
    held as PositionKind[],
    acting.map((a) => ({
      kind: a.kind as PositionKind,
      holder: a.hasHolder ? { active: a.active === true, away: a.away === true, reachable: a.reachable === true, bound: a.bound === true } : undefined,
    })),
  );
  return { staffId: s.id, unitId: s.unitId, unitKind: (unitKind ?? 'office') as UnitKind, positions: kinds, ...(actingKinds.length ? { acting: actingKinds } : {}) };
}

/**
 * The staff member behind a Telegram account with their positions, in one round trip (every update asks
 * this): the same answer as findStaffByTelegramId followed by actorFor.
 */
export async function identityByTelegramId(db: Executor, telegramUserId: number): Promise<{ staff: StaffRow; actor: Actor } | undefined> {
  const [row] = await db
    .select({ staff, unitKind: units.kind, held: heldKinds(staff.id), acting: actingSeats(staff.id) })
    .from(staff)
    .leftJoin(units, eq(units.id, staff.unitId))
    .where(eq(staff.telegramUserId, telegramUserId));
  if (!row) return undefined;
  return { staff: row.staff, actor: actorOf(row.staff, row.unitKind, row.held, row.acting) };
}

export async function markStaffUnreachable(db: Executor, staffId: string, reachable = false): Promise<void> {
  await db.update(staff).set({ reachable, updatedAt: new Date() }).where(eq(staff.id, staffId));
}

/** The corrections section's unit, which answers for acknowledgements and section steps. */
export async function sectionUnitId(db: Executor): Promise<string | null> {
  const [row] = await db.select({ id: units.id }).from(units).where(eq(units.kind, 'section')).orderBy(units.code).limit(1);
  return row?.id ?? null;
}

/** The first unit of a kind (the bureau, the upper-level agency: there is one of each). */
export async function firstUnitOfKind(db: Executor, kind: UnitKind): Promise<UnitRow | undefined> {
  const [row] = await db.select().from(units).where(eq(units.kind, kind)).limit(1);
  return row;
}
