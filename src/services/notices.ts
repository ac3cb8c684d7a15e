/**
 * Turning "who must know" into outbox drafts: one row per person for a change of an incident, and the
 * redraws of every card of the incident that people already hold. Kept apart from the incident use cases
 * so the written-report and release services can use it without importing them (and they it).
 */
import type { IncidentRow } from '../db/repositories/incident.repository.js';
import type { NoticeDraft } from '../db/repositories/outbox.repository.js';
import { resolveTarget, type NoticeKind, type OrgSnapshot, type TimerTarget } from '../domain/index.js';

type NoticeIncident = Pick<IncidentRow, 'id' | 'officeUnitId' | 'reporterStaffId' | 'isDrill'>;

/** Writes notices for targets, one row per person, never to the person who caused them. */
export function noticesFor(
  org: OrgSnapshot,
  targets: readonly TimerTarget[],
  incident: NoticeIncident,
  kind: NoticeKind,
  keyPart: string,
  opts: { exclude?: string | null; params?: Record<string, unknown>; timerId?: string } = {},
): NoticeDraft[] {
  const ids = new Set<string>();
  for (const t of targets) {
    for (const id of resolveTarget(t, { officeUnitId: incident.officeUnitId, reporterStaffId: incident.reporterStaffId }, org)) ids.add(id);
  }
  if (opts.exclude) ids.delete(opts.exclude);
  return draftsFor([...ids], incident, kind, keyPart, opts);
}

/** One draft per person already chosen, with the incident's dedupe key for each. */
export function draftsFor(
  recipients: readonly string[],
  incident: NoticeIncident,
  kind: NoticeKind,
  keyPart: string,
  opts: { params?: Record<string, unknown>; timerId?: string } = {},
): NoticeDraft[] {
  return recipients.map((recipientStaffId) => ({
    recipientStaffId,
    kind,
    incidentId: incident.id,
    dedupeKey: `${kind}-${incident.id}-${keyPart}-${recipientStaffId}`,
    params: opts.params ?? {},
    isDrill: incident.isDrill,
    timerId: opts.timerId ?? null,
  }));
}

/**
 * The same change for everyone else who holds a card of the incident (a leader paged by the ladder, the
 * second section holder, a role holder): their card is redrawn in place — `cardOnly` makes the sender
 * edit it and never send a new message — so no old card keeps offering 签收 or other stale buttons.
 * `holders`: who holds a card of the incident (cardHolders in card-message.repository.ts).
 */
export function cardRedrawsFor(
  holders: readonly string[],
  incident: NoticeIncident,
  kind: NoticeKind,
  keyPart: string,
  already: readonly NoticeDraft[],
  opts: { exclude?: string | null; params?: Record<string, unknown> } = {},
): NoticeDraft[] {
  const told = new Set(already.map((d) => d.recipientStaffId));
  if (opts.exclude) told.add(opts.exclude);
  return holders
    .filter((id) => !told.has(id))
    .map((recipientStaffId) => ({
      recipientStaffId,
      kind,
      incidentId: incident.id,
      dedupeKey: `${kind}-${incident.id}-${keyPart}-${recipientStaffId}`,
      params: { ...opts.params, cardOnly: true },
      isDrill: incident.isDrill,
      timerId: null,
    }));
}
