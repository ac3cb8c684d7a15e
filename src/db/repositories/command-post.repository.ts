/** The command loop's rows (三): the plan's activation, the messages down and up, and their receipts. */
import { and, asc, eq, inArray } from 'drizzle-orm';
import type { Executor } from '../client.js';
import { commandMessages, commandReceipts, incidentUpdates, planActivations, responseLevelChanges, staff } from '../schema.js';

export type PlanActivationRow = typeof planActivations.$inferSelect;
export type CommandMessageRow = typeof commandMessages.$inferSelect;
export type CommandReceiptRow = typeof commandReceipts.$inferSelect;
export type ResponseLevelChangeRow = typeof responseLevelChanges.$inferSelect;

/** Writes one 升级 / 降级 of the response level (its reason is the incident_updates row `updateId`). */
export async function insertLevelChange(db: Executor, row: ResponseLevelChangeRow): Promise<ResponseLevelChangeRow> {
  const [inserted] = await db.insert(responseLevelChanges).values(row).returning();
  return inserted!;
}

/** One change of the response level with its reason, as the card and the notices show it. */
export interface LevelChangeRecord {
  updateId: string;
  fromLevel: string;
  toLevel: string;
  direction: string;
  byStaffId: string;
  at: Date;
  reason: string;
}

/** The incident's changes of the response level, oldest first, each with its reason. */
export async function levelChangesOf(db: Executor, incidentId: string): Promise<LevelChangeRecord[]> {
  const rows = await db
    .select({ c: responseLevelChanges, reason: incidentUpdates.text })
    .from(responseLevelChanges)
    .innerJoin(incidentUpdates, eq(incidentUpdates.id, responseLevelChanges.updateId))
    .where(eq(responseLevelChanges.incidentId, incidentId))
    .orderBy(asc(responseLevelChanges.changedAt), asc(incidentUpdates.at));
  return rows.map(({ c, reason }) => ({ updateId: c.updateId, fromLevel: c.fromLevel, toLevel: c.toLevel, direction: c.direction, byStaffId: c.changedByStaffId, at: c.changedAt, reason }));
}

export async function findActivation(db: Executor, incidentId: string): Promise<PlanActivationRow | undefined> {
  const [row] = await db.select().from(planActivations).where(eq(planActivations.incidentId, incidentId));
  return row;
}

/** Writes the activation; undefined when the incident was activated already. */
export async function insertActivation(db: Executor, row: PlanActivationRow): Promise<PlanActivationRow | undefined> {
  const [inserted] = await db.insert(planActivations).values(row).onConflictDoNothing({ target: planActivations.incidentId }).returning();
  return inserted;
}

export async function insertCommandMessage(db: Executor, row: CommandMessageRow): Promise<CommandMessageRow> {
  const [inserted] = await db.insert(commandMessages).values(row).returning();
  return inserted!;
}

export async function findCommandMessage(db: Executor, updateId: string): Promise<CommandMessageRow | undefined> {
  const [row] = await db.select().from(commandMessages).where(eq(commandMessages.updateId, updateId));
  return row;
}

/** Writes one person's receipt; undefined when they had receipted it already. */
export async function insertReceipt(db: Executor, row: Omit<CommandReceiptRow, 'id'>): Promise<CommandReceiptRow | undefined> {
  const [inserted] = await db.insert(commandReceipts).values(row).onConflictDoNothing().returning();
  return inserted;
}

export async function receiptsOf(db: Executor, updateIds: readonly string[]): Promise<CommandReceiptRow[]> {
  if (updateIds.length === 0) return [];
  return db.select().from(commandReceipts).where(inArray(commandReceipts.updateId, [...updateIds])).orderBy(asc(commandReceipts.at));
}

/** Whether anyone receipted the message. */
export async function isReceipted(db: Executor, updateId: string): Promise<boolean> {
  const [row] = await db.select({ id: commandReceipts.id }).from(commandReceipts).where(eq(commandReceipts.updateId, updateId)).limit(1);
  return row !== undefined;
}

/** Whether this person receipted the message. */
export async function hasReceipted(db: Executor, updateId: string, staffId: string): Promise<boolean> {
  const [row] = await db
    .select({ id: commandReceipts.id })
    .from(commandReceipts)
    .where(and(eq(commandReceipts.updateId, updateId), eq(commandReceipts.staffId, staffId)))
    .limit(1);
  return row !== undefined;
}

/** One message as the loop shows it: its kind, sender, text, when, to whom, and who receipted it when. */
export interface CommandMessageRecord {
  updateId: string;
  kind: string;
  fromStaffId: string;
  text: string;
  at: Date;
  addressees: string[];
  receipts: Array<{ staffId: string; at: Date }>;
}

/** The incident's command loop: its activation and its messages, oldest first, with names of everyone they mention. */
export interface CommandRecord {
  activation: PlanActivationRow | undefined;
  /** 升级 / 降级 since the activation, oldest first; the level in force is the last one's `toLevel`. */
  levelChanges: LevelChangeRecord[];
  messages: CommandMessageRecord[];
  staffNames: Record<string, string>;
}

export async function loadCommandRecord(db: Executor, incidentId: string): Promise<CommandRecord> {
  const [activation, levelChanges, rows] = await Promise.all([
    findActivation(db, incidentId),
    levelChangesOf(db, incidentId),
    db
      .select({ m: commandMessages, text: incidentUpdates.text })
      .from(commandMessages)
      .innerJoin(incidentUpdates, eq(incidentUpdates.id, commandMessages.updateId))
      .where(eq(commandMessages.incidentId, incidentId))
      .orderBy(asc(commandMessages.at)),
  ]);
  const receipts = await receiptsOf(
    db,
    rows.map((r) => r.m.updateId),
  );
  const messages = rows.map(({ m, text }) => ({
    updateId: m.updateId,
    kind: m.kind,
    fromStaffId: m.fromStaffId,
    text,
    at: m.at,
    addressees: m.addressees,
    receipts: receipts.filter((r) => r.updateId === m.updateId).map((r) => ({ staffId: r.staffId, at: r.at })),
  }));
  const ids = new Set<string>();
  if (activation) ids.add(activation.activatedByStaffId);
  for (const c of levelChanges) ids.add(c.byStaffId);
  for (const m of messages) {
    ids.add(m.fromStaffId);
    for (const r of m.receipts) ids.add(r.staffId);
  }
  const names = ids.size ? await db.select({ id: staff.id, name: staff.name }).from(staff).where(inArray(staff.id, [...ids])) : [];
  return { activation, levelChanges, messages, staffNames: Object.fromEntries(names.map((n) => [n.id, n.name])) };
}
