import { sql } from 'drizzle-orm';
import { deferToCommit, type Executor } from '../client.js';
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

type AuditRow = typeof auditLog.$inferInsert;

/** A transaction's audit rows not yet written: they go in one insert just before it commits. */
const pending = new WeakMap<object, AuditRow[]>();

/**
 * Appends to the hash-chained trail; the database computes the hashes (drizzle/0001_audit_trail.sql).
 * In a transaction the rows are written in one insert as the transaction's last statement, because
 * that insert takes the chain's lock (held until commit): taken last, it is held shortly and never
 * before a row lock. Outside a transaction they are written at once.
 */
export async function appendAudit(db: Executor, entry: AuditEntry | AuditEntry[]): Promise<void> {
  const rows = auditRows(entry);
  if (rows.length === 0) return;
  const buffered = pending.get(db);
  if (buffered) return void buffered.push(...rows);
  const buffer: AuditRow[] = [...rows];
  if (deferToCommit(db, () => flushAudit(db))) pending.set(db, buffer);
  else await db.insert(auditLog).values(rows);
}

/** Writes the transaction's deferred audit rows now (before a read of the trail inside it). */
export async function flushAudit(db: Executor): Promise<void> {
  const rows = pending.get(db);
  pending.delete(db);
  if (rows?.length) await db.insert(auditLog).values(rows);
}

function auditRows(entry: AuditEntry | AuditEntry[]): AuditRow[] {
  return (Array.isArray(entry) ? entry : [entry]).map((e) => ({
    at: e.at,
    action: e.action,
    entity: e.entity,
    entityId: e.entityId ?? null,
    incidentId: e.incidentId ?? null,
    actorStaffId: e.actorStaffId ?? null,
    actorTelegramId: e.actorTelegramId ?? null,
    data: e.data ?? {},
  }));
}

export type AuditVerification = { ok: true; rows: number } | { ok: false; rows: number; firstBadId: number; problem: 'hash' | 'link' };

/** Walks the chain in id order and names the first row whose hash or link does not match. */
export async function verifyAuditChain(db: Executor): Promise<AuditVerification> {
  await flushAudit(db);
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
  await flushAudit(db);
  return db.select().from(auditLog).where(sql`${auditLog.incidentId} = ${incidentId}`).orderBy(auditLog.id);
}
