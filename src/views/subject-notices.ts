/**
 * The notices of the absence process, daily contact by days and administration in the chat, drawn for
 * their recipient at send time from the ids the outbox row holds: the subject (masked per PII_MODE, the
 * responsible officer seeing the full name when the bureau allows it), the request or stay, the contact
 * log, the seat. Buttons: 批准 / 不批准 on a request, 销假 / 续假 on an overdue stay, the prefilled
 * absconding report on an offer. Undefined for a row whose records are gone (the send state machine
 * closes it as "nothing to draw"). Every channel draws these words (./notice-words.ts routes to them).
 */
import { findAbsence, findAbsenceRequest, type AbsenceRow } from '../db/repositories/absence.repository.js';
import { findContactLog } from '../db/repositories/contact-log.repository.js';
import { staffNamesById, subjectForNotice, unitNames } from '../db/repositories/notice-reads.repository.js';
import type { OutboxRow } from '../db/repositories/outbox.repository.js';
import { findPosition } from '../db/repositories/seat-admin.repository.js';
import { stayDays } from '../domain/absence.js';
import { formatLocal, subjectLabel, subjectPiiModeFor } from '../domain/index.js';
import type { SUBJECT_NOTICE_KINDS } from '../domain/notifications.js';
import { t, type Lang } from '../i18n/index.js';
import { truncate } from '../i18n/markup.js';
import type { ServiceDeps } from '../services/ports.js';
import { positionLabel, unitName } from './labels.js';
import { noticeButton, tx, type NoticeBody } from './notice-markup.js';

/** What drawing needs of the app. */
export type SubjectNoticeDeps = Pick<ServiceDeps, 'db' | 'cipher' | 'piiMode' | 'timeZone' | 'policy'>;

export type SubjectNoticeKind = (typeof SUBJECT_NOTICE_KINDS)[number];

/** Params these notices read; anything else in the row is ignored, and a missing value draws as unknown. */
type SubjectNoticeParams = Record<string, unknown>;

/** Free texts a notice quotes (a destination, a reason, a note), at most this long. */
const QUOTE_CHARS = 300;

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

interface NoticeSubject {
  id: string;
  label: string;
  officeUnitId: string;
  responsibleStaffId: string | null;
}

/** What one kind's words read. */
interface SubjectWordsContext {
  deps: SubjectNoticeDeps;
  row: OutboxRow;
  params: SubjectNoticeParams;
  lang: Lang;
  now: Date;
  /** A time as the recipient reads it. */
  when(v: unknown): string;
  /** A free text, cut, or "not given". */
  quote(v: string | null | undefined): string;
}

type SubjectWords = (c: SubjectWordsContext) => Promise<NoticeBody | undefined>;

/** The subject as this recipient may see them in a private chat. */
async function subjectOf({ deps, row }: SubjectWordsContext): Promise<NoticeSubject | undefined> {
  if (!row.subjectId) return undefined;
  const s = await subjectForNotice(deps.db, row.subjectId);
  if (!s) return undefined;
  const mode = subjectPiiModeFor(deps.piiMode, await deps.policy(), { staffId: row.recipientStaffId }, s, 'private');
  return { id: row.subjectId, label: subjectLabel({ code: s.code, name: deps.cipher.decrypt(s.nameEnc) }, mode, 'private'), officeUnitId: s.officeUnitId, responsibleStaffId: s.responsibleStaffId };
}

/** Names of the people a notice mentions; an unknown id reads as "someone". */
async function namer({ deps, lang }: SubjectWordsContext, ids: ReadonlyArray<string | null | undefined>): Promise<(id: string | null | undefined) => string> {
  const names = await staffNamesById(deps.db, ids);
  return (id) => (id && names.get(id)) || t(lang, 'notice.unknown_person');
}

async function officeName({ deps, lang }: SubjectWordsContext, unitId: string | undefined): Promise<string> {
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

const requestOf = (c: SubjectWordsContext) => (str(c.params.requestId) ? findAbsenceRequest(c.deps.db, str(c.params.requestId)!) : undefined);
const absenceOf = (c: SubjectWordsContext) => (str(c.params.absenceId) ? findAbsence(c.deps.db, str(c.params.absenceId)!) : undefined);

const decided: SubjectWords = async (c) => {
  const s = await subjectOf(c);
  const request = await requestOf(c);
  if (!s || !request) return undefined;
  const by = str(c.params.byStaffId) ?? request.decidedByStaffId;
  const nameOf = await namer(c, [by]);
  const values = { by: nameOf(by), subject: s.label, start: request.startsOn, end: request.endsOn };
  if (c.row.kind === 'absence_approved') return { text: tx(c.lang, 'notice.absence_approved', values) };
  return { text: tx(c.lang, 'notice.absence_rejected', { ...values, reason: c.quote(request.decisionNote) }) };
};

/** The words of each subject notice kind: every kind of the domain's list has its entry. */
export const SUBJECT_NOTICE_WORDS: { readonly [K in SubjectNoticeKind]: SubjectWords } = {
  absence_requested: async (c) => {
    const { lang } = c;
    const s = await subjectOf(c);
    const request = await requestOf(c);
    if (!s || !request) return undefined;
    const nameOf = await namer(c, [request.requestedByStaffId]);
    const days = await wholeStayDays(c.deps, request.extendsAbsenceId, request.startsOn, request.endsOn);
    const values = { subject: s.label, start: request.startsOn, end: request.endsOn, days, destination: c.quote(request.destination), reason: c.quote(request.reason), by: nameOf(request.requestedByStaffId) };
    const text = tx(lang, request.extendsAbsenceId ? 'notice.absence_requested.extension' : 'notice.absence_requested', values);
    const level = t(lang, `absence_level.${request.approverLevel === 'section' ? 'section' : 'office_head'}`);
    if (request.state !== 'requested') {
      // Decided before it reached this person (by another holder of the level, or withdrawn).
      const state = t(lang, `absence_request_state.${request.state === 'approved' || request.state === 'rejected' ? request.state : 'withdrawn'}`);
      return { text: `${text}\n${t(lang, 'notice.absence_requested.decided', { state })}` };
    }
    return {
      text: `${text}\n${t(lang, 'notice.absence_requested.level', { level })}`,
      rows: [
        [
          noticeButton(t(lang, 'notice.button.approve'), { a: 'areq', i: request.id, k: 'ok', v: request.version }),
          noticeButton(t(lang, 'notice.button.reject'), { a: 'areq', i: request.id, k: 'no', v: request.version }),
        ],
      ],
    };
  },
  absence_approved: decided,
  absence_rejected: decided,
  absence_overdue: async (c) => {
    const s = await subjectOf(c);
    const absence = await absenceOf(c);
    if (!s || !absence) return undefined;
    const end = str(c.params.endsOn) ?? absence.endsOn;
    return {
      text: tx(c.lang, 'notice.absence_overdue', { subject: s.label, end }),
      rows: [[noticeButton(t(c.lang, 'notice.button.return'), { a: 'away', i: absence.id, k: 'ret' }), noticeButton(t(c.lang, 'notice.button.extend'), { a: 'away', i: absence.id, k: 'ext' })]],
    };
  },
  absence_overdue_section: async (c) => {
    const s = await subjectOf(c);
    const absence = await absenceOf(c);
    if (!s || !absence) return undefined;
    const nameOf = await namer(c, [s.responsibleStaffId]);
    return {
      text: tx(c.lang, 'notice.absence_overdue_section', { subject: s.label, office: await officeName(c, s.officeUnitId), end: str(c.params.endsOn) ?? absence.endsOn, officer: nameOf(s.responsibleStaffId) }),
    };
  },
  absconding_offer: async (c) => {
    const s = await subjectOf(c);
    if (!s) return undefined;
    const text =
      c.params.reason === 'absence_overdue'
        ? tx(c.lang, 'notice.absconding_offer.overdue', { subject: s.label, end: str(c.params.endsOn) ?? '' })
        : tx(c.lang, 'notice.absconding_offer.no_contact', { subject: s.label, days: num(c.params.days) ?? 0, since: str(c.params.since) ?? '' });
    return { text, rows: [[noticeButton(t(c.lang, 'notice.button.abscond'), { a: 'abscond', i: s.id })]] };
  },
  absence_returned: async (c) => {
    const s = await subjectOf(c);
    const absence = await absenceOf(c);
    if (!s || !absence) return undefined;
    return { text: tx(c.lang, 'notice.absence_returned', { subject: s.label, at: c.when(absence.returnedAt ?? c.now) }) };
  },
  contact_abnormal: async (c) => {
    const s = await subjectOf(c);
    const log = str(c.params.contactLogId) ? await findContactLog(c.deps.db, str(c.params.contactLogId)!) : undefined;
    if (!s || !log) return undefined;
    const nameOf = await namer(c, [log.staffId]);
    return { text: tx(c.lang, 'notice.contact_abnormal', { by: nameOf(log.staffId), subject: s.label, note: c.quote(log.note) }) };
  },
  contact_missed_escalation: async (c) => {
    const s = await subjectOf(c);
    if (!s) return undefined;
    const nameOf = await namer(c, [s.responsibleStaffId]);
    return {
      text: tx(c.lang, 'notice.contact_missed_escalation', {
        subject: s.label,
        office: await officeName(c, s.officeUnitId),
        days: num(c.params.days) ?? 0,
        since: str(c.params.since) ?? '',
        officer: nameOf(s.responsibleStaffId),
      }),
    };
  },
  subject_transferred: async (c) => {
    const s = await subjectOf(c);
    if (!s) return undefined;
    return { text: tx(c.lang, 'notice.subject_transferred', { subject: s.label, from: await officeName(c, str(c.params.fromUnitId)) }) };
  },
  acting_holder_set: async (c) => {
    const seat = str(c.params.positionId) ? await findPosition(c.deps.db, str(c.params.positionId)!) : undefined;
    const kind = seat?.kind ?? str(c.params.positionKind);
    if (!kind) return undefined;
    const by = str(c.params.byStaffId);
    const nameOf = await namer(c, [by]);
    return { text: tx(c.lang, 'notice.acting_holder_set', { by: nameOf(by), position: positionLabel(kind, c.lang), unit: await officeName(c, seat?.unitId ?? str(c.params.unitId)) }) };
  },
  standing_in: async (c) => {
    const seat = str(c.params.positionId) ? await findPosition(c.deps.db, str(c.params.positionId)!) : undefined;
    if (!seat) return undefined;
    const nameOf = await namer(c, [str(c.params.forStaffId)]);
    return { text: tx(c.lang, 'notice.standing_in', { name: nameOf(str(c.params.forStaffId)), from: str(c.params.from) ?? '', until: str(c.params.until) ?? '', position: positionLabel(seat.kind, c.lang) }) };
  },
};

/**
 * The notice as its recipient sees it. `given` are the params as the caller read them; the row's own
 * params win, each value checked here, because a caller's schema made for other kinds may not read these
 * (absence_requested's `level` is the approving level's name, not an escalation level).
 */
export async function drawSubjectNotice(deps: SubjectNoticeDeps, row: OutboxRow, given: SubjectNoticeParams, lang: Lang, now: Date): Promise<NoticeBody | undefined> {
  const words = (SUBJECT_NOTICE_WORDS as Partial<Record<string, SubjectWords>>)[row.kind];
  if (!words) return undefined;
  const own = row.params !== null && typeof row.params === 'object' && !Array.isArray(row.params) ? (row.params as SubjectNoticeParams) : {};
  return words({
    deps,
    row,
    params: { ...given, ...own },
    lang,
    now,
    when: (v) => {
      const iso = str(v) ?? (v instanceof Date ? v.toISOString() : undefined);
      return iso ? formatLocal(new Date(iso), deps.timeZone, now) : '';
    },
    quote: (v) => (v && v.trim() ? truncate(v.trim(), QUOTE_CHARS) : t(lang, 'notice.not_given')),
  });
}
