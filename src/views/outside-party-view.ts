/**
 * What the card shows of the outside parties and the sanctions, whatever the channel: each step's
 * receipts (回执) and the contacts a pending step offers for the incident's office, the sanctions under
 * the punishment step, and when a 脱管 subject was found. Each channel renders it with the lines below
 * (the catalogue's markup), Telegram under its steps, WeCom in its focus text.
 */
import type { Executor } from '../db/client.js';
import type { IncidentRow, StepRow } from '../db/repositories/incident.repository.js';
import { receiptsOfIncident, type OutsidePartyReceiptRow } from '../db/repositories/outside-party.repository.js';
import { sanctionsOfIncident, type SanctionRow } from '../db/repositories/sanction.repository.js';
import { formatLocal } from '../domain/index.js';
import { contactsForStep, dialable, partiesOfStep, type OfferedContact } from '../domain/outside-parties.js';
import { FOUND_STEP_KEY, outOfSupervision, sanctionKindsOf } from '../domain/sanctions.js';
import { hasMessage, t, type Lang, type MessageKey } from '../i18n/index.js';
import { escapeHtml } from '../i18n/markup.js';
import { formatDuration } from '../reports/format.js';
import { outsideDirectory } from '../services/outside-party.service.js';

export interface OutsideCardView {
  receipts: OutsidePartyReceiptRow[];
  sanctions: SanctionRow[];
  /** For each pending step that calls an outside party: the contacts it offers for the incident's office. */
  contacts: Record<string, OfferedContact[]>;
  /** When the 脱管 subject was found (the step 责令报到 / 带回 marked); null while not found. */
  foundAt: Date | null;
  /** The bureau's sanction names, for kinds the catalogue does not name. */
  sanctionNames?: Record<string, { zh?: string | undefined; en?: string | undefined }>;
}

export async function loadOutsideCardView(db: Executor, incident: Pick<IncidentRow, 'id' | 'officeUnitId' | 'policy'>, steps: readonly StepRow[]): Promise<OutsideCardView> {
  const pendingCalls = steps.filter((s) => s.state === 'pending' && partiesOfStep(s.key).length > 0);
  const [receipts, sanctions, directory] = await Promise.all([
    receiptsOfIncident(db, incident.id),
    sanctionsOfIncident(db, incident.id),
    pendingCalls.length ? outsideDirectory(db) : Promise.resolve([]),
  ]);
  const contacts = Object.fromEntries(pendingCalls.map((s) => [s.key, contactsForStep(s.key, incident.officeUnitId, directory)]));
  const found = steps.find((s) => s.key === FOUND_STEP_KEY && s.state === 'done');
  return { receipts, sanctions, contacts, foundAt: found?.doneAt ?? null, sanctionNames: sanctionNamesOf(incident.policy) };
}

/** The names the bureau gave its own sanction kinds, from an incident's policy snapshot. */
export function sanctionNamesOf(policy: unknown): OutsideCardView['sanctionNames'] {
  const kinds = sanctionKindsOf((policy ?? {}) as Parameters<typeof sanctionKindsOf>[0]);
  return Object.fromEntries(kinds.filter((k) => k.name || k.name_en).map((k) => [k.code, { zh: k.name, en: k.name_en }]));
}

export const partyLabel = (party: string, lang: Lang) => (hasMessage(`party.${party}`) ? t(lang, `party.${party}` as MessageKey) : party);
export const receiptMethodLabel = (method: string, lang: Lang) => (hasMessage(`opr.method.${method}`) ? t(lang, `opr.method.${method}` as MessageKey) : method);
export const sanctionDecisionLabel = (d: string, lang: Lang) => (hasMessage(`sanction.decision.${d}`) ? t(lang, `sanction.decision.${d}` as MessageKey) : d);

/** A sanction kind's name: the catalogue's for the plan's kinds, else the bureau's own, else its code. */
export function sanctionKindLabel(kind: string, lang: Lang, names?: OutsideCardView['sanctionNames']): string {
  if (hasMessage(`sanction.kind.${kind}`)) return t(lang, `sanction.kind.${kind}` as MessageKey);
  const own = names?.[kind];
  return (lang === 'en' ? (own?.en ?? own?.zh) : (own?.zh ?? own?.en)) ?? kind;
}

/**
 * A contact as the catalogue's markup: the number as plain digits, which Telegram's apps and phones
 * make tappable themselves (Telegram does not open `tel:` links), and WeCom shows as text.
 */
export function contactLine(c: OfferedContact, lang: Lang): string {
  return t(lang, 'card.contact_line', {
    party: escapeHtml(partyLabel(c.party, lang)),
    name: c.name ? `${escapeHtml(c.name)} ` : '',
    phone: escapeHtml(dialable(c.phone)),
    note: c.note ? t(lang, 'card.contact_note', { note: escapeHtml(c.note) }) : '',
  });
}

/** One receipt under its step. */
export function receiptLine(r: OutsidePartyReceiptRow, lang: Lang, when: (d: Date) => string): string {
  return t(lang, 'card.receipt_line', {
    party: escapeHtml(partyLabel(r.party, lang)),
    // The line has its own mark already: the method's word without its emoji.
    method: receiptMethodLabel(r.method, lang).replace(/^\S+\s/, ''),
    time: when(r.at),
    who: escapeHtml(r.answeredBy),
    reference: r.reference ? t(lang, 'card.receipt_reference', { reference: escapeHtml(r.reference) }) : '',
  });
}

/** One sanction under the punishment step. */
export function sanctionLine(s: SanctionRow, lang: Lang, when: (d: Date) => string, names?: OutsideCardView['sanctionNames']): string {
  return t(lang, 'card.sanction_line', { kind: escapeHtml(sanctionKindLabel(s.kind, lang, names)), decision: sanctionDecisionLabel(s.decision, lang), time: when(s.decidedAt) });
}

/** 脱管: the one line of time out of supervision, for an absconding incident; undefined for any other. */
export function outOfSupervisionLine(incident: Pick<IncidentRow, 'type' | 'status' | 'discoveredAt' | 'closedAt' | 'closure'>, view: OutsideCardView | undefined, lang: Lang, now: Date, tz: string): string | undefined {
  const out = outOfSupervision(incident, view?.foundAt ?? null, now);
  if (!out) return undefined;
  const when = (d: Date) => formatLocal(d, tz, now);
  const duration = formatDuration(out.seconds, lang);
  return out.ongoing ? t(lang, 'card.out_of_supervision', { duration, since: when(out.since) }) : t(lang, 'card.out_of_supervision_ended', { duration, since: when(out.since), until: when(out.until!) });
}
