/** A staff member's own settings. */
import { appendAudit } from '../db/repositories/audit.repository.js';
import { updateStaff } from '../db/repositories/staff.repository.js';
import type { ServiceDeps } from './ports.js';

/** /language: the language every message to this person is rendered in, chat replies and notices alike. */
export async function setStaffLanguage(deps: Pick<ServiceDeps, 'db' | 'clock'>, staffId: string, language: 'zh' | 'en'): Promise<void> {
  const now = deps.clock.now();
  await deps.db.transaction(async (tx) => {
    await updateStaff(tx, staffId, { language, updatedAt: now });
    await appendAudit(tx, { at: now, action: 'staff.language', entity: 'staff', entityId: staffId, actorStaffId: staffId, data: { language } });
  });
}
