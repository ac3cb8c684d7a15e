/**
 * Emptying the product's tables at once, for the sandbox's "start afresh". The audit trail is left: it
 * is append-only by design (drizzle/0001 refuses TRUNCATE) and references no other table.
 */
import { sql } from 'drizzle-orm';
import type { Executor } from '../client.js';

/** Truncates every table of the public schema but audit_log, in one statement; returns how many. */
export async function truncateProductTables(db: Executor): Promise<number> {
  const tables = await db.execute<{ name: string }>(sql`select tablename as name from pg_tables where schemaname = 'public' and tablename <> 'audit_log' order by tablename`);
  if (tables.length === 0) return 0;
  await db.execute(sql.raw(`truncate table ${tables.map((t) => `public."${t.name.replace(/"/g, '""')}"`).join(', ')} restart identity`));
  return tables.length;
}
