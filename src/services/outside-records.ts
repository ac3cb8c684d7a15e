/**
 * What the written report lists of the outside parties and the sanctions, read apart from their use
 * cases (./outside-party.service.ts, ./sanction.service.ts) so the written report does not import the
 * incident use cases through them.
 */
import type { Executor } from '../db/client.js';
import type { IncidentRow } from '../db/repositories/incident.repository.js';
import { receiptsOfIncident } from '../db/repositories/outside-party.repository.js';
import { sanctionsOfIncident } from '../db/repositories/sanction.repository.js';
import { staffNamesById } from '../db/repositories/staff.repository.js';
import { sanctionKindsOf } from '../domain/sanctions.js';

/** What the written report lists of the outside parties and the sanctions: codes, times and names, nothing drawn. */
export interface OutsideRecordsForReport {
  receipts: Array<{ party: string; method: string; at: Date; answeredBy: string; reference: string | null; contactName: string | null; recordedBy: string }>;
  sanctions: Array<{ kind: string; grounds: string; proposer: string; decision: string; decidedAt: Date; decidedBy: string }>;
  kindNames: Record<string, { zh?: string | undefined; en?: string | undefined }>;
}

export async function outsideRecordsForReport(db: Executor, incident: Pick<IncidentRow, 'id' | 'policy'>): Promise<OutsideRecordsForReport> {
  const [receipts, sanctions] = await Promise.all([receiptsOfIncident(db, incident.id), sanctionsOfIncident(db, incident.id)]);
  const names = await staffNamesById(db, [...new Set([...sanctions.flatMap((s) => [s.proposedByStaffId, s.decidedByStaffId]), ...receipts.map((r) => r.recordedByStaffId)])]);
  const kinds = sanctionKindsOf((incident.policy ?? {}) as Parameters<typeof sanctionKindsOf>[0]);
  return {
    receipts: receipts.map((r) => ({ party: r.party, method: r.method, at: r.at, answeredBy: r.answeredBy, reference: r.reference, contactName: r.contactName, recordedBy: names.get(r.recordedByStaffId) ?? '' })),
    sanctions: sanctions.map((s) => ({ kind: s.kind, grounds: s.grounds, proposer: names.get(s.proposedByStaffId) ?? '', decision: s.decision, decidedAt: s.decidedAt, decidedBy: names.get(s.decidedByStaffId) ?? '' })),
    kindNames: Object.fromEntries(kinds.filter((k) => k.name || k.name_en).map((k) => [k.code, { zh: k.name, en: k.name_en }])),
  };
}
