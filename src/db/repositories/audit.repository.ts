import { sql } from 'drizzle-orm';
import type { Executor } from '../client.js';
import { auditLog } from '../schema.js';

export interface AuditEntry {
  at: Date;
  action: string;
  entity: string;
  entityId?: string | null;
  incidentId?: string | null;
  actorStaffId?: string | null;
  actorTelegramId?: number | null;
  /** Ids and facts of the change; never a subject's name or ID number. */
  data?: Record<string, unknown>;
}

/** Appends to the hash-chained trail; the database computes the hashes (drizzle/0001_audit_trail.sql). */
export async function appendAudit(db: Executor, entry: AuditEntry | AuditEntry[]): Promise<void> {
  const rows = (Array.isArray(entry) ? entry : [entry]).map((e) => ({
    at: e.at,
    action: e.action,
    entity: e.entity,
    entityId: e.entityId ?? null,
    incidentId: e.incidentId ?? null,
    actorStaffId: e.actorStaffId ?? null,
    actorTelegramId: e.actorTelegramId ?? null,
    data: e.data ?? {},
  }));
  if (rows.length) await db.insert(auditLog).values(rows);
}

export type AuditVerification = { ok: true; rows: number } | { ok: false; rows: number; firstBadId: number; problem: 'hash' | 'link' };

/** Walks the chain in id order and names the first row whose hash or link does not match. */
export async function verifyAuditChain(db: Executor): Promise<AuditVerification> {
  const rows = await db.execute<{ id: string | number; prev_hash: string | null; hash: string; expected: string }>(
    sql`select a.id, a.prev_hash, a.hash, audit_digest(a.prev_hash, a) as expected from audit_log a order by a.id`,
  );
  let prev: string | null = null;
  let n = 0;
  for (const r of rows) {
    n++;
    const id = Number(r.id);
    if (r.prev_hash !== prev) return { ok: false, rows: n, firstBadId: id, problem: 'link' };
    if (r.hash !== r.expected) return { ok: false, rows: n, firstBadId: id, problem: 'hash' };
    prev = r.hash;
  }
  return { ok: true, rows: n };
}

export async function incidentTimeline(db: Executor, incidentId: string) {
  return db.select().from(auditLog).where(sql`${auditLog.incidentId} = ${incidentId}`).orderBy(auditLog.id);
}
