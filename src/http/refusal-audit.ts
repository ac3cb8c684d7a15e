/**
 * A refused call from outside (a webhook without the right secret, a callback with a bad signature) is
 * written to the audit trail, with the reason and never the payload. A flood of them must not flood the
 * hash-chained log, whose appends are serialised: at most `perMinute` a minute are audited; past that they
 * are counted, and the count is logged when the minute turns.
 */
import type { Executor } from '../db/client.js';
import { appendAudit } from '../db/repositories/audit.repository.js';
import type { Clock } from '../domain/index.js';
import type { Logger } from '../logger.js';

export const AUDITED_REFUSALS_PER_MINUTE = 60;

export interface RefusalAuditOptions {
  db: Executor;
  clock: Clock;
  logger: Logger;
  /** The audit action, e.g. `telegram.webhook.refused`. */
  action: string;
  /** The audit entity, e.g. `telegram_webhook`. */
  entity: string;
  perMinute?: number;
}

export type RefusalAuditor = (data: Record<string, string | number | boolean>) => Promise<void>;

export function refusalAuditor(opts: RefusalAuditOptions): RefusalAuditor {
  const budget = opts.perMinute ?? AUDITED_REFUSALS_PER_MINUTE;
  const minute = { key: -1, audited: 0, skipped: 0 };
  return async (data) => {
    const now = opts.clock.now();
    const key = Math.floor(now.getTime() / 60_000);
    if (key !== minute.key) {
      if (minute.skipped > 0) opts.logger.warn({ action: opts.action, skipped: minute.skipped }, 'refusals over the audit budget, not audited');
      Object.assign(minute, { key, audited: 0, skipped: 0 });
    }
    if (minute.audited >= budget) {
      minute.skipped++;
      return;
    }
    minute.audited++;
    await appendAudit(opts.db, { at: now, action: opts.action, entity: opts.entity, data }).catch((err: unknown) =>
      opts.logger.warn({ err: { name: (err as Error).name, message: (err as Error).message }, action: opts.action }, 'refusal not audited'),
    );
  };
}
