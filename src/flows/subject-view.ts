/** Views that are plain messages, not forms: a subject with their timeline, 我的对象, /incidents. */
import { findUnit } from '../db/repositories/org.repository.js';
import type { SubjectTimelineEntry } from '../db/read-models/subject-timeline.js';
import type { AbsencePhase } from '../domain/absence.js';
import { formatLocal, idNumberLabel } from '../domain/index.js';
import { whoOf, type Conversation } from './conversation.js';
import { escapeHtml, truncate, userText } from '../i18n/markup.js';
import { button, type Keyboard } from './ui.js';
import { hasMessage, t, type Lang } from '../i18n/index.js';
import { contactResultLabel, statusLabel, subjectStatusLabel, typeLabel, unitName } from '../views/labels.js';
import { listVisibleIncidents } from '../services/incident.service.js';
import { absencesOf, type AbsenceView } from '../services/absence.service.js';
import { getSubject, mySubjects, responsibleOfficerName, subjectTimeline } from '../services/subject.service.js';
import { labelOf } from './absence-common.js';
import { levelLabel } from './absence.flow.js';

/** Entries of the timeline the view shows, newest last. */
const TIMELINE_ENTRIES = 12;
/** Most subjects 我的对象 lists with a button each. */
const MINE_MAX = 40;

/** The stay that matters today: one begun (overdue before away), else the next one; a stay an extension carries on stands behind it. */
function currentStay(views: readonly AbsenceView[]): AbsenceView | undefined {
  const carriedOn = new Set(views.filter((v) => !v.absence.cancelledAt && v.absence.extendsAbsenceId).map((v) => v.absence.extendsAbsenceId!));
  const live = views.filter((v) => !carriedOn.has(v.absence.id));
  const rank: Partial<Record<AbsencePhase, number>> = { overdue: 0, away: 1, upcoming: 2 };
  return live.filter((v) => rank[v.phase] !== undefined).sort((a, b) => rank[a.phase]! - rank[b.phase]! || a.absence.startsOn.localeCompare(b.absence.startsOn))[0];
}

/**
 * A subject's details, masked per PII_MODE (the responsible officer may see the full name when the
 * bureau allows it; the ID number stays masked), the stay today and the requests waiting, the newest entries of their timeline,
 * and buttons to log a contact, request an absence, record the return or extend it, report absconding.
 */
export async function sendSubjectView(conv: Conversation, subjectId: string): Promise<void> {
  const { actor } = whoOf(conv);
  const deps = conv.deps;
  const lang = conv.lang;
  const subject = await getSubject(deps, actor, subjectId);
  const [office, officer, stays, timeline] = await Promise.all([
    findUnit(deps.db, subject.officeUnitId),
    responsibleOfficerName(deps, subject.responsibleStaffId),
    absencesOf(deps, actor, subject.id),
    subjectTimeline(deps, actor, subject.id, { limit: TIMELINE_ENTRIES }),
  ]);
  const chat = conv.chatKind;
  const lines = [
    t(lang, 'subjects.detail', {
      subject: await labelOf(conv, subject),
      office: escapeHtml(unitName(office, lang)),
      status: subjectStatusLabel(subject.status, lang),
      officer: escapeHtml(officer ?? '—'),
    }),
  ];
  // The bureau's setting lets the responsible officer see the name; the ID number stays as PII_MODE shows it.
  const id = idNumberLabel(subject.idNumber, deps.piiMode, chat);
  if (id) lines.push(t(lang, 'subjects.id_number', { id: escapeHtml(id) }));
  const stay = currentStay(stays.absences);
  if (stay) {
    lines.push(t(lang, 'subjects.away_line', { destination: userText(stay.absence.destination, 100), start: stay.absence.startsOn, end: stay.absence.endsOn, phase: t(lang, `absence_phase.${stay.phase}`) }));
  }
  for (const r of stays.requests.filter((r) => r.state === 'requested')) {
    lines.push(t(lang, 'subjects.request_line', { start: r.startsOn, end: r.endsOn, level: levelLabel(conv, r.approverLevel) }));
  }
  lines.push('', t(lang, 'subjects.timeline_title'));
  if (timeline.entries.length === 0) lines.push(t(lang, 'subjects.timeline_none'));
  const now = deps.clock.now();
  for (const e of timeline.entries) lines.push(timelineLine(e, timeline.staffNames, lang, (at) => formatLocal(at, deps.timeZone, now)));

  const rows: Keyboard = [];
  if (subject.status !== 'terminated') {
    rows.push([button(t(lang, 'button.subject_contact'), { a: 'contact', i: subject.id }), button(t(lang, 'button.subject_away'), { a: 'away', i: subject.id, k: 'new' })]);
    if (stay && stay.phase !== 'upcoming') {
      rows.push([button(t(lang, 'notice.button.return'), { a: 'away', i: stay.absence.id, k: 'ret' }), button(t(lang, 'notice.button.extend'), { a: 'away', i: stay.absence.id, k: 'ext' })]);
    } else if (stay) {
      rows.push([button(t(lang, 'absence.button.cancel_stay'), { a: 'away', i: stay.absence.id, k: 'cancel' })]);
    }
    rows.push([button(t(lang, 'button.subject_abscond'), { a: 'abscond', i: subject.id })]);
  }
  await conv.send(lines.join('\n'), rows);
}

/** One entry of the timeline: when, what, by whom. Free texts are not shown here (the card and the forms have them). */
export function timelineLine(e: SubjectTimelineEntry, names: Record<string, string>, lang: Lang, when: (at: Date) => string): string {
  const by = escapeHtml(('staffId' in e && e.staffId && names[e.staffId]) || '—');
  const at = when(e.at);
  switch (e.kind) {
    case 'incident_reported':
      return t(lang, 'timeline.incident_reported', { at, number: e.number, type: typeLabel(e.type, lang, e.scenario), status: statusLabel(e.status, lang), drill: e.isDrill ? t(lang, 'drill.prefix') : '', by });
    case 'incident_closed':
      return t(lang, e.closure === 'false_alarm' ? 'timeline.incident_false_alarm' : 'timeline.incident_closed', { at, number: e.number, by });
    case 'absence_requested':
      return t(lang, e.extendsAbsenceId ? 'timeline.extension_requested' : 'timeline.absence_requested', { at, start: e.startsOn, end: e.endsOn, destination: userText(e.destination, 40), by });
    case 'absence_rejected':
      return t(lang, 'timeline.absence_rejected', { at, by });
    case 'absence_withdrawn':
      return t(lang, 'timeline.absence_withdrawn', { at, by });
    case 'absence_approved':
      return t(lang, 'timeline.absence_approved', { at, start: e.startsOn, end: e.endsOn, by });
    case 'absence_returned':
      return t(lang, 'timeline.absence_returned', { at, how: t(lang, e.how === 'subject_reported' ? 'absence.return_how.subject_reported' : 'absence.return_how.officer_recorded'), by });
    case 'absence_cancelled':
      return t(lang, 'timeline.absence_cancelled', { at, by });
    case 'contact':
      return t(lang, 'timeline.contact', { at, result: contactResultLabel(e.result, lang), by });
    case 'screening': {
      const key = `scr.result.${e.result}`;
      return t(lang, 'timeline.screening', { at, result: hasMessage(key) ? t(lang, key) : escapeHtml(e.result), by });
    }
    case 'status':
      return t(lang, 'timeline.status', { at, what: statusChange(e.action, e.data, lang), by });
  }
}

/** A status change from the audit trail, in words. */
function statusChange(action: string, data: Record<string, unknown>, lang: Lang): string {
  const status = (v: unknown) => (typeof v === 'string' ? subjectStatusLabel(v, lang) : '—');
  const key = `timeline.status.${action.replace(/^subject\./, '')}`;
  if (!hasMessage(key)) return t(lang, 'timeline.status.other', { to: status(data.to) });
  const reasonKey = `termination.${String(data.reason ?? 'other')}`;
  return t(lang, key, { from: status(data.from), to: status(data.to), reason: hasMessage(reasonKey) ? t(lang, reasonKey) : t(lang, 'termination.other') });
}

/** 我的对象: the subjects this person is the responsible officer of, with today's stay and contact, a button each to open them. */
export async function sendMySubjects(conv: Conversation): Promise<void> {
  const { actor } = whoOf(conv);
  const lang = conv.lang;
  const mine = await mySubjects(conv.deps, actor);
  if (mine.length === 0) return void (await conv.send(t(lang, 'mine.none')));
  const lines = [t(lang, 'mine.title', { count: mine.length })];
  const rows: Keyboard = [];
  for (const m of mine.slice(0, MINE_MAX)) {
    const label = await labelOf(conv, m.subject);
    const away = m.absence ? t(lang, 'mine.away', { end: m.absence.endsOn, contact: m.lastContact ? contactResultLabel(m.lastContact.result, lang) : t(lang, 'away.not_contacted') }) : '';
    lines.push(t(lang, 'mine.line', { subject: label, status: subjectStatusLabel(m.subject.status, lang), away }));
    rows.push([button(truncate(label, 40), { a: 'subj', i: m.subject.id })]);
  }
  if (mine.length > MINE_MAX) lines.push(t(lang, 'notice.list_more', { count: mine.length - MINE_MAX }));
  await conv.send(lines.join('\n'), rows);
}

/** /incidents: open incidents the user may see, newest first, a page at a time. */
export async function sendIncidentList(conv: Conversation, page: number, edit: boolean): Promise<void> {
  const { actor } = whoOf(conv);
  const lang = conv.lang;
  const { items, hasMore } = await listVisibleIncidents(conv.deps, actor, page);
  const text = items.length ? t(lang, 'incidents.title', { page: page + 1 }) : t(lang, 'incidents.none');
  const rows: Keyboard = items.map((i) => [
    button(truncate(t(lang, 'incidents.line', { number: i.number, type: typeLabel(i.type, lang), status: statusLabel(i.status, lang) }), 60), { a: 'card', i: i.id, k: 'open' }),
  ]);
  rows.push([
    ...(page > 0 ? [button(t(lang, 'button.prev_page'), { a: 'list', k: String(page - 1) })] : []),
    ...(hasMore ? [button(t(lang, 'button.next_page'), { a: 'list', k: String(page + 1) })] : []),
  ]);
  if (edit && conv.pressedMessageId !== undefined) await conv.edit(conv.pressedMessageId, text, rows);
  else await conv.send(text, rows);
}
