/** `audit verify`: walks the hash chain and names the first row that does not match. */
import type { Executor } from '../db/client.js';
import { verifyAuditChain, type AuditVerification } from '../db/repositories/audit.repository.js';

export async function verifyAudit(db: Executor): Promise<{ ok: boolean; report: string; result: AuditVerification }> {
  const result = await verifyAuditChain(db);
  if (result.ok) return { ok: true, report: `OK: audit chain intact, ${result.rows} rows`, result };
  const why = result.problem === 'hash' ? 'its content does not match its hash (changed after it was written)' : 'its link to the previous row is broken (a row was removed or reordered)';
  return { ok: false, report: `BROKEN: audit row id ${result.firstBadId} is the first bad row: ${why}`, result };
}
