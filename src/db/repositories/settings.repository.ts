/** Deployment settings (settings): one JSON value per key, such as the policy overrides from the org file. */
import { eq, sql } from 'drizzle-orm';
import type { Executor } from '../client.js';
import { settings } from '../schema.js';

export async function readSetting(db: Executor, key: string): Promise<unknown> {
  const [row] = await db.select({ value: settings.value }).from(settings).where(eq(settings.key, key));
  return row?.value;
}

/** Stores a setting; true when the stored value changed (an equal value is left as it is). */
export async function writeSetting(db: Executor, key: string, value: unknown, now: Date): Promise<boolean> {
  const changed = await db
    .insert(settings)
    .values({ key, value, updatedAt: now })
    .onConflictDoUpdate({
      target: settings.key,
      set: { value: sql`excluded.value`, updatedAt: now },
      setWhere: sql`${settings.value} is distinct from excluded.value`,
    })
    .returning({ key: settings.key });
  return changed.length > 0;
}
