/**
 * Staff records: binding a Telegram account, settings, the org file's upserts. Who holds which seat, and
 * look-ups by id or Telegram account, are in org.repository.ts.
 */
import { and, asc, eq, inArray, isNotNull, sql } from 'drizzle-orm';
import type { Executor } from '../client.js';
import { staff } from '../schema.js';
import type { StaffRow } from './org.repository.js';

export type NewStaffRow = typeof staff.$inferInsert;

export async function findStaffByCode(db: Executor, code: string): Promise<StaffRow | undefined> {
  const [row] = await db.select().from(staff).where(eq(staff.code, code));
  return row;
}

export async function findStaffByCodes(db: Executor, codes: readonly string[]): Promise<StaffRow[]> {
  if (codes.length === 0) return [];
  return db.select().from(staff).where(inArray(staff.code, [...codes]));
}

export async function findStaffByTelegramIds(db: Executor, telegramUserIds: readonly number[]): Promise<StaffRow[]> {
  if (telegramUserIds.length === 0) return [];
  return db.select().from(staff).where(inArray(staff.telegramUserId, [...telegramUserIds]));
}

/** Locks a staff record for the rest of the transaction. */
export async function lockStaff(db: Executor, id: string): Promise<StaffRow | undefined> {
  const [row] = await db.select().from(staff).where(eq(staff.id, id)).for('update');
  return row;
}

export async function updateStaff(db: Executor, id: string, patch: Partial<NewStaffRow>): Promise<StaffRow | undefined> {
  const [row] = await db.update(staff).set(patch).where(eq(staff.id, id)).returning();
  return row;
}

export async function insertStaff(db: Executor, row: NewStaffRow): Promise<StaffRow> {
  const [inserted] = await db.insert(staff).values(row).returning();
  return inserted!;
}

/** Active staff of these units, by code. */
export async function activeStaffOfUnits(db: Executor, unitIds: readonly string[]): Promise<Array<{ id: string; name: string; unitId: string }>> {
  if (unitIds.length === 0) return [];
  return db
    .select({ id: staff.id, name: staff.name, unitId: staff.unitId })
    .from(staff)
    .where(and(inArray(staff.unitId, [...unitIds]), eq(staff.active, true)))
    .orderBy(asc(staff.code));
}

/** A person as the org file lists them; a Telegram id or a language left out keeps the stored one. */
export interface StaffFromFile {
  code: string;
  name: string;
  unitId: string;
  language: 'zh' | 'en' | null;
  phone: string | null;
  active: boolean;
  telegramUserId: number | null;
}

/** Inserts or updates a person by code; undefined when the stored row already matched (nothing written). */
export async function upsertStaffByCode(db: Executor, s: StaffFromFile, now: Date): Promise<{ id: string; inserted: boolean } | undefined> {
  const { language, telegramUserId: tg } = s;
  const [row] = await db
    .insert(staff)
    .values({ code: s.code, name: s.name, unitId: s.unitId, language: language ?? 'zh', phone: s.phone, active: s.active, telegramUserId: tg, chatId: tg, createdAt: now, updatedAt: now })
    .onConflictDoUpdate({
      target: staff.code,
      set: {
        name: sql`excluded.name`,
        unitId: sql`excluded.unit_id`,
        language: sql`coalesce(${language}::text, ${staff.language})`,
        phone: sql`excluded.phone`,
        active: sql`excluded.active`,
        // Absent from the file: keep the id an invite bound.
        telegramUserId: sql`coalesce(excluded.telegram_user_id, ${staff.telegramUserId})`,
        chatId: sql`coalesce(excluded.chat_id, ${staff.chatId})`,
        updatedAt: now,
      },
      setWhere: sql`(${staff.name}, ${staff.unitId}, ${staff.language}, ${staff.phone}, ${staff.active}, ${staff.telegramUserId})
        is distinct from (excluded.name, excluded.unit_id, coalesce(${language}::text, ${staff.language}), excluded.phone, excluded.active, coalesce(excluded.telegram_user_id, ${staff.telegramUserId}))`,
    })
    .returning({ id: staff.id, inserted: sql<boolean>`(xmax = 0)` });
  return row;
}

/** Active staff with a private chat bound to the bot: whose command menus are set. */
export async function activeStaffWithChats(db: Executor): Promise<StaffRow[]> {
  return db.select().from(staff).where(and(eq(staff.active, true), isNotNull(staff.chatId)));
}

/** Names of staff by id; unknown ids (and empty ones) are left out. */
export async function staffNamesById(db: Executor, ids: ReadonlyArray<string | null | undefined>): Promise<Map<string, string>> {
  const wanted = [...new Set(ids.filter((x): x is string => !!x))];
  if (wanted.length === 0) return new Map();
  const rows = await db.select({ id: staff.id, name: staff.name }).from(staff).where(inArray(staff.id, wanted));
  return new Map(rows.map((r) => [r.id, r.name]));
}
