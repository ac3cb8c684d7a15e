/** Views that are plain messages, not forms: a subject, /away's menu and list, /incidents. */
import { findUnit } from '../db/repositories/org.repository.js';
import { idNumberLabel, localDate, subjectLabel } from '../domain/index.js';
import { whoOf, type Conversation } from './conversation.js';
import { escapeHtml, truncate, userText } from '../i18n/markup.js';
import { button, type Keyboard } from './ui.js';
import { t } from '../i18n/index.js';
import { contactResultLabel, statusLabel, subjectStatusLabel, typeLabel, unitName } from '../views/labels.js';
import { listVisibleIncidents } from '../services/incident.service.js';
import { currentAbsence, getSubject, listAwayToday, responsibleOfficerName } from '../services/subject.service.js';

/** A subject's details, masked per PII_MODE, with buttons to log a contact, register an absence or report absconding. */
export async function sendSubjectView(conv: Conversation, subjectId: string): Promise<void> {
  const { actor } = whoOf(conv);
  const deps = conv.deps;
  const lang = conv.lang;
  const subject = await getSubject(deps, actor, subjectId);
  const [office, officer, absence] = await Promise.all([
    findUnit(deps.db, subject.officeUnitId),
    responsibleOfficerName(deps, subject.responsibleStaffId),
    currentAbsence(deps, subject.id),
  ]);
  const chat = conv.chatKind;
  const lines = [
    t(lang, 'subjects.detail', {
      subject: escapeHtml(subjectLabel(subject, deps.piiMode, chat)),
      office: escapeHtml(unitName(office, lang)),
      status: subjectStatusLabel(subject.status, lang),
      officer: escapeHtml(officer ?? '—'),
    }),
  ];
  const id = idNumberLabel(subject.idNumber, deps.piiMode, chat);
  if (id) lines.push(t(lang, 'subjects.id_number', { id: escapeHtml(id) }));
  if (absence) lines.push(t(lang, 'subjects.away_line', { destination: userText(absence.destination, 100), start: absence.startsOn, end: absence.endsOn }));
  await conv.send(lines.join('\n'), [
    [button(t(lang, 'button.subject_contact'), { a: 'contact', i: subject.id }), button(t(lang, 'button.subject_away'), { a: 'away', i: subject.id, k: 'new' })],
    [button(t(lang, 'button.subject_abscond'), { a: 'abscond', i: subject.id })],
  ]);
}

export async function sendAwayMenu(conv: Conversation): Promise<void> {
  await conv.send(t(conv.lang, 'away.menu'), [[button(t(conv.lang, 'button.away_register'), { a: 'away', k: 'new' }), button(t(conv.lang, 'button.away_list'), { a: 'away', k: 'list' })]]);
}

/** Subjects away today with today's contact, and a button per subject to log the contact. */
export async function sendAwayList(conv: Conversation): Promise<void> {
  const { actor } = whoOf(conv);
  const deps = conv.deps;
  const lang = conv.lang;
  const away = await listAwayToday(deps, actor);
  const date = localDate(deps.clock.now(), deps.timeZone);
  if (away.length === 0) {
    await conv.send(`${t(lang, 'away.list_title', { date })}\n${t(lang, 'away.list_none')}`);
    return;
  }
  const chat = conv.chatKind;
  const lines = [t(lang, 'away.list_title', { date })];
  const rows: Keyboard = [];
  for (const a of away.slice(0, 40)) {
    const label = subjectLabel(a.subject, deps.piiMode, chat);
    lines.push(
      t(lang, 'away.list_line', {
        subject: escapeHtml(label),
        destination: userText(a.absence.destination, 40),
        end: a.absence.endsOn,
        status: a.lastContact ? contactResultLabel(a.lastContact.result, lang) : t(lang, 'away.not_contacted'),
      }),
    );
    rows.push([button(t(lang, 'button.log_contact', { subject: truncate(label, 30) }), { a: 'contact', i: a.subject.id })]);
  }
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
