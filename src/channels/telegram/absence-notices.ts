/**
 * The notices of the absence process, daily contact by days and administration in the chat, drawn for
 * their recipient at send time from the ids the outbox row holds: the subject (masked per PII_MODE, the
 * responsible officer seeing the full name when the bureau allows it), the request or stay, the contact
 * log, the seat. Buttons: 批准 / 不批准 on a request, 销假 / 续假 on an overdue stay, the prefilled
 * absconding report on an offer. Undefined for a kind this file does not draw, or a row whose records are
 * gone (the send state machine closes it as "nothing to draw").
 */
import { findAbsence, findAbsenceRequest, type AbsenceRow } from '../../db/repositories/absence.repository.js';
import { findContactLog } from '../../db/repositories/contact-log.repository.js';
import { staffNamesById, subjectForNotice, unitNames } from '../../db/repositories/notice-reads.repository.js';
import type { OutboxRow } from '../../db/repositories/outbox.repository.js';
import { findPosition } from '../../db/repositories/seat-admin.repository.js';
import { stayDays } from '../../domain/absence.js';
import { formatLocal, subjectLabel, subjectPiiModeFor } from '../../domain/index.js';
import type { Keyboard } from '../../flows/ui.js';
import { button } from '../../flows/ui.js';
import { t, type Lang, type MessageKey, type Params } from '../../i18n/index.js';
import { escapeHtml, truncate } from '../../i18n/markup.js';
import type { ServiceDeps } from '../../services/ports.js';
import { positionLabel, unitName } from '../../views/labels.js';

/** What drawing needs of the app. */
export type SubjectNoticeDeps = Pick<ServiceDeps, 'db' | 'cipher' | 'piiMode' | 'timeZone' | 'policy'>;

/** The kinds drawn here (listed once, in the domain). */
export { SUBJECT_NOTICE_KINDS } from '../../domain/notifications.js';

/** Params these notices read; anything else in the row is ignored, and a missing value draws as unknown. */
type SubjectNoticeParams = Record<string, unknown>;

/** Free texts a notice quotes (a destination, a reason, a note), at most this long. */
const QUOTE_CHARS = 300;

/** One catalogue text with every value HTML-escaped. */
function tx(lang: Lang, key: MessageKey, params: Params = {}): string {
  const safe: Params = {};
  for (const [k, v] of Object.entries(params)) safe[k] = typeof v === 'string' ? escapeHtml(v) : v;
  return t(lang, key, safe);
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

interface NoticeSubject {
  id: string;
  label: string;
  officeUnitId: string;
  responsibleStaffId: string | null;
}

/** The subject as this recipient may see them in a private chat. */
async function subjectOf(deps: SubjectNoticeDeps, row: OutboxRow): Promise<NoticeSubject | undefined> {
  if (!row.subjectId) return undefined;
  const s = await subjectForNotice(deps.db, row.subjectId);
  if (!s) return undefined;
  const mode = subjectPiiModeFor(deps.piiMode, await deps.policy(), { staffId: row.recipientStaffId }, s, 'private');
  return { id: row.subjectId, label: subjectLabel({ code: s.code, name: deps.cipher.decrypt(s.nameEnc) }, mode, 'private'), officeUnitId: s.officeUnitId, responsibleStaffId: s.responsibleStaffId };
}

/** Names of the people a notice mentions; an unknown id reads as "someone". */
async function namer(deps: SubjectNoticeDeps, lang: Lang, ids: ReadonlyArray<string | null | undefined>): Promise<(id: string | null | undefined) => string> {
  const names = await staffNamesById(deps.db, ids);
  return (id) => (id && names.get(id)) || t(lang, 'notice.unknown_person');
}

async function officeName(deps: SubjectNoticeDeps, unitId: string | undefined, lang: Lang): Promise<string> {
  return unitId ? unitName(await unitNames(deps.db, unitId), lang) : t(lang, 'notice.unknown_unit');
}

/** Days of the whole stay an extension would make: the stays it extends, and its own days. */
async function wholeStayDays(deps: SubjectNoticeDeps, extendsAbsenceId: string | null, startsOn: string, endsOn: string): Promise<number> {
  let days = stayDays(startsOn, endsOn);
  let current: AbsenceRow | undefined = extendsAbsenceId ? await findAbsence(deps.db, extendsAbsenceId) : undefined;
  for (let guard = 0; current && guard < 50; guard++) {
    days += stayDays(current.startsOn, current.endsOn);
    current = current.extendsAbsenceId ? await findAbsence(deps.db, current.extendsAbsenceId) : undefined;
  }
  return days;
}

/**
 * The notice as its recipient sees it. `given` are the params as the caller read them; the row's own
 * params win, each value checked here, because a caller's schema made for other kinds may not read these
 * (absence_requested's `level` is the approving level's name, not an escalation level).
 */
export async function drawSubjectNotice(
  deps: SubjectNoticeDeps,
  row: OutboxRow,
  given: SubjectNoticeParams,
  lang: Lang,
  now: Date,
): Promise<{ text: string; rows?: Keyboard } | undefined> {
  const own = row.params !== null && typeof row.params === 'object' && !Array.isArray(row.params) ? (row.params as SubjectNoticeParams) : {};
  const params: SubjectNoticeParams = { ...given, ...own };
  const when = (v: unknown) => {
    const iso = str(v) ?? (v instanceof Date ? v.toISOString() : undefined);
    return iso ? formatLocal(new Date(iso), deps.timeZone, now) : '';
  };
  const quote = (v: string | null | undefined) => (v && v.trim() ? truncate(v.trim(), QUOTE_CHARS) : t(lang, 'notice.not_given'));
  switch (row.kind) {
    case 'absence_requested': {
      const s = await subjectOf(deps, row);
      const request = str(params.requestId) ? await findAbsenceRequest(deps.db, str(params.requestId)!) : undefined;
      if (!s || !request) return undefined;
      const nameOf = await namer(deps, lang, [request.requestedByStaffId]);
      const days = await wholeStayDays(deps, request.extendsAbsenceId, request.startsOn, request.endsOn);
      const values = { subject: s.label, start: request.startsOn, end: request.endsOn, days, destination: quote(request.destination), reason: quote(request.reason), by: nameOf(request.requestedByStaffId) };
      const text = tx(lang, request.extendsAbsenceId ? 'notice.absence_requested.extension' : 'notice.absence_requested', values);
      const level = t(lang, `absence_level.${request.approverLevel === 'section' ? 'section' : 'office_head'}`);
      if (request.state !== 'requested') {
        // Decided before it reached this person (by another holder of the level, or withdrawn).
        return { text: `${text}\n${t(lang, 'notice.absence_requested.decided', { state: t(lang, `absence_request_state.${request.state === 'approved' || request.state === 'rejected' ? request.state : 'withdrawn'}`) })}` };
      }
      return {
        text: `${text}\n${t(lang, 'notice.absence_requested.level', { level })}`,
        rows: [[button(t(lang, 'notice.button.approve'), { a: 'areq', i: request.id, k: 'ok', v: request.version }), button(t(lang, 'notice.button.reject'), { a: 'areq', i: request.id, k: 'no', v: request.version })]],
      };
    }
    case 'absence_approved':
    case 'absence_rejected': {
      const s = await subjectOf(deps, row);
      const request = str(params.requestId) ? await findAbsenceRequest(deps.db, str(params.requestId)!) : undefined;
      if (!s || !request) return undefined;
      const by = str(params.byStaffId) ?? request.decidedByStaffId;
      const nameOf = await namer(deps, lang, [by]);
      if (row.kind === 'absence_approved') return { text: tx(lang, 'notice.absence_approved', { by: nameOf(by), subject: s.label, start: request.startsOn, end: request.endsOn }) };
      return { text: tx(lang, 'notice.absence_rejected', { by: nameOf(by), subject: s.label, start: request.startsOn, end: request.endsOn, reason: quote(request.decisionNote) }) };
    }
    case 'absence_overdue': {
      const s = await subjectOf(deps, row);
      const absence = str(params.absenceId) ? await findAbsence(deps.db, str(params.absenceId)!) : undefined;
      if (!s || !absence) return undefined;
      const end = str(params.endsOn) ?? absence.endsOn;
      return {
        text: tx(lang, 'notice.absence_overdue', { subject: s.label, end }),
        rows: [[button(t(lang, 'notice.button.return'), { a: 'away', i: absence.id, k: 'ret' }), button(t(lang, 'notice.button.extend'), { a: 'away', i: absence.id, k: 'ext' })]],
      };
    }
    case 'absence_overdue_section': {
      const s = await subjectOf(deps, row);
      const absence = str(params.absenceId) ? await findAbsence(deps.db, str(params.absenceId)!) : undefined;
      if (!s || !absence) return undefined;
      const nameOf = await namer(deps, lang, [s.responsibleStaffId]);
      return { text: tx(lang, 'notice.absence_overdue_section', { subject: s.label, office: await officeName(deps, s.officeUnitId, lang), end: str(params.endsOn) ?? absence.endsOn, officer: nameOf(s.responsibleStaffId) }) };
    }
    case 'absconding_offer': {
      const s = await subjectOf(deps, row);
      if (!s) return undefined;
      const text =
        params.reason === 'absence_overdue'
          ? tx(lang, 'notice.absconding_offer.overdue', { subject: s.label, end: str(params.endsOn) ?? '' })
          : tx(lang, 'notice.absconding_offer.no_contact', { subject: s.label, days: num(params.days) ?? 0, since: str(params.since) ?? '' });
      return { text, rows: [[button(t(lang, 'notice.button.abscond'), { a: 'abscond', i: s.id })]] };
    }
    case 'absence_returned': {
      const s = await subjectOf(deps, row);
      const absence = str(params.absenceId) ? await findAbsence(deps.db, str(params.absenceId)!) : undefined;
      if (!s || !absence) return undefined;
      return { text: tx(lang, 'notice.absence_returned', { subject: s.label, at: when(absence.returnedAt ?? now) }) };
    }
    case 'contact_abnormal': {
      const s = await subjectOf(deps, row);
      const log = str(params.contactLogId) ? await findContactLog(deps.db, str(params.contactLogId)!) : undefined;
      if (!s || !log) return undefined;
      const nameOf = await namer(deps, lang, [log.staffId]);
      return { text: tx(lang, 'notice.contact_abnormal', { by: nameOf(log.staffId), subject: s.label, note: quote(log.note) }) };
    }
    case 'contact_missed_escalation': {
      const s = await subjectOf(deps, row);
      if (!s) return undefined;
      const nameOf = await namer(deps, lang, [s.responsibleStaffId]);
      return {
        text: tx(lang, 'notice.contact_missed_escalation', {
          subject: s.label,
          office: await officeName(deps, s.officeUnitId, lang),
          days: num(params.days) ?? 0,
          since: str(params.since) ?? '',
          officer: nameOf(s.responsibleStaffId),
        }),
      };
    }
    case 'subject_transferred': {
      const s = await subjectOf(deps, row);
      if (!s) return undefined;
      return { text: tx(lang, 'notice.subject_transferred', { subject: s.label, from: await officeName(deps, str(params.fromUnitId), lang) }) };
    }
    case 'acting_holder_set': {
      const seat = str(params.positionId) ? await findPosition(deps.db, str(params.positionId)!) : undefined;
      const kind = seat?.kind ?? str(params.positionKind);
      if (!kind) return undefined;
      const by = str(params.byStaffId);
      const nameOf = await namer(deps, lang, [by]);
      return { text: tx(lang, 'notice.acting_holder_set', { by: nameOf(by), position: positionLabel(kind, lang), unit: await officeName(deps, seat?.unitId ?? str(params.unitId), lang) }) };
    }
    case 'standing_in': {
      const seat = str(params.positionId) ? await findPosition(deps.db, str(params.positionId)!) : undefined;
      if (!seat) return undefined;
      const nameOf = await namer(deps, lang, [str(params.forStaffId)]);
      return { text: tx(lang, 'notice.standing_in', { name: nameOf(str(params.forStaffId)), from: str(params.from) ?? '', until: str(params.until) ?? '', position: positionLabel(seat.kind, lang) }) };
    }
    default:
      return undefined;
  }
}
