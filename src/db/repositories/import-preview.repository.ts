/** Subject imports previewed in the chat (import_previews), waiting for 确认导入; the payload is encrypted. */
import { eq } from 'drizzle-orm';
import type { Executor } from '../client.js';
import { importPreviews } from '../schema.js';

export type ImportPreviewRow = typeof importPreviews.$inferSelect;

export async function insertImportPreview(db: Executor, row: typeof importPreviews.$inferInsert): Promise<ImportPreviewRow> {
  const [inserted] = await db.insert(importPreviews).values(row).returning();
  return inserted!;
}

/** Locks a preview for the rest of the transaction, so it is confirmed once. */
export async function lockImportPreview(db: Executor, id: string): Promise<ImportPreviewRow | undefined> {
  const [row] = await db.select().from(importPreviews).where(eq(importPreviews.id, id)).for('update');
  return row;
}

export async function markImportPreviewUsed(db: Executor, id: string, at: Date): Promise<void> {
  await db.update(importPreviews).set({ usedAt: at }).where(eq(importPreviews.id, id));
}
