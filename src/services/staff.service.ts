/** A staff member's own settings. */
import { eq } from 'drizzle-orm';
import { appendAudit } from '../db/repositories/audit.repository.js';
import { staff } from '../db/schema.js';
import type { ServiceDeps } from './ports.js';

/** /language: the language every message to this person is rendered in, chat replies and notices alike. */
export async function setStaffLanguage(deps: Pick<ServiceDeps, 'db' | 'clock'>, staffId: string, language: 'zh' | 'en'): Promise<void> {
  const now = deps.clock.now();
  await deps.db.transaction(async (tx) => {
    await tx.update(staff).set({ language, updatedAt: now }).where(eq(staff.id, staffId));
    await appendAudit(tx, { at: now, action: 'staff.language', entity: 'staff', entityId: staffId, actorStaffId: staffId, data: { language } });
  });
}
