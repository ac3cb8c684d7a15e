/**
 * What a notice says, whatever the channel: drawn for its recipient at send time from the ids the
 * outbox row holds (the row holds no names), in the catalogue's markup and with buttons an adapter lays
 * out (./notice-markup.ts). Each channel's notice port turns the result into its own form: Telegram HTML
 * and an inline keyboard, a WeCom message or card.
 *
 * A notice about an incident follows the notification rule (domain noticeShape): a change is the card
 * (each adapter renders it from ./incident-card-view.ts); an event or a paper is a short message whose
 * first line says what happened (what a phone's preview shows), then which incident; a paper's button
 * opens the written report or the release. Other notices — daily contact, the digest, system alerts,
 * the absence process (./subject-notices.ts) — are a text and their buttons.
 *
 * `NOTICE_WORDS` holds the words of every kind of the domain, so a new kind cannot be drawn on one
 * channel only (a test reads it against NOTICE_KINDS).
 */
import { z } from 'zod';
import type { Executor } from '../db/client.js';
import { findIncident, findIncidentRef, type IncidentRow } from '../db/repositories/incident.repository.js';
import {
  findIncidentUpdate,
  pendingRequiredSteps,
  releaseReturnComment,
  signoffComment,
  staffNamesById,
  subjectForNotice,
  subjectsAwayAmong,
  unitNames,
} from '../db/repositories/notice-reads.repository.js';
import { actorFor, loadOrgSnapshot, type StaffRow } from '../db/repositories/org.repository.js';
import type { OutboxRow } from '../db/repositories/outbox.repository.js';
import { findWrittenReportOfIncident } from '../db/repositories/written-report.repository.js';
import { findSensitivePeriod } from '../db/repositories/sensitive-period.repository.js';
import { findUnitsByIds } from '../db/repositories/unit.repository.js';
import { canAcknowledge, formatLocal, isRolePost, localDate, noticeShape, subjectLabel, type NoticeKind, type PositionKind } from '../domain/index.js';
import { hasMessage, t, type Lang } from '../i18n/index.js';
import { escapeHtml, fitMessage, truncate } from '../i18n/markup.js';
import { buildDigest } from '../services/digest.service.js';
import type { IncidentRef, ServiceDeps } from '../services/ports.js';
import { contactResultLabel, positionLabel, roleLabel, statusLabel, stepText, timerKindLabel, typeLabel, unitName } from './labels.js';
import { noticeButton, tx, type NoticeBody, type NoticeRows } from './notice-markup.js';
import { SUBJECT_NOTICE_WORDS, drawSubjectNotice } from './subject-notices.js';
import { messageWords, levelChangedWords, planActivatedWords, receiptButtons, receiptedWords, unreceiptedWords } from './command-post-view.js';
import { wholeHours } from '../domain/sanctions.js';

/** What drawing needs of the app: the database, the PII cipher and mode, the zone, the policy. */
export type NoticeDrawDeps = Pick<ServiceDeps, 'db' | 'cipher' | 'piiMode' | 'timeZone' | 'policy'>;

/** Params the notices read; all optional, ids and small values only. */
export const noticeParamsSchema = z
  .object({
    level: z.number().optional(),
    notAcknowledgedBy: z.array(z.string()).optional(),
    since: z.string().optional(),
    position: z.string().optional(),
    cycle: z.string().nullable().optional(),
    last: z.string().optional(),
    due: z.string().optional(),
    count: z.number().optional(),
    date: z.string().optional(),
    dates: z.array(z.string()).optional(),
    what: z.string().optional(),
    subjectIds: z.array(z.string()).optional(),
    subjectDaysWithoutContact: z.number().optional(),
    officerStaffId: z.string().nullable().optional(),
    byStaffId: z.string().optional(),
    updateId: z.string().optional(),
    closure: z.string().optional(),
    timerKind: z.string().optional(),
    minutes: z.number().optional(),
    standInFor: z.string().optional(),
    /** On a person's own row: the people they also receive it for, who cannot be reached. */
    alsoFor: z.array(z.string()).optional(),
    /** On a row a reroute wrote: the notice's first row, which holds the chain tried so far. */
    rootOutboxId: z.string().optional(),
    /** Rows written before comments were read from their sign-off carried the text itself. */
    comment: z.string().optional(),
    signoffId: z.string().optional(),
    releaseId: z.string().optional(),
    role: z.string().optional(),
    /** A redraw of a card the recipient holds: edit it, never send a new message. */
    cardOnly: z.boolean().optional(),
    lastDrillAt: z.string().nullable().optional(),
    /** The drill reminder's year and the offices it names. */
    year: z.number().optional(),
    officeUnitIds: z.array(z.string()).optional(),
    /** A sensitive period's reminder: the period. */
    periodId: z.string().optional(),
  })
  .passthrough();
export type NoticeParams = z.infer<typeof noticeParamsSchema>;

/** What a notice draws to: the incident's card, or a text (markup, at most one message long) and its buttons. */
export type DrawnNoticeWords =
  | { kind: 'card'; incidentId: string }
  | {
      kind: 'text';
      text: string;
      /** Empty when the notice has no button. */
      rows: NoticeRows;
      /** The incident an event or a paper is about, for the log. */
      incident?: IncidentRef;
    };

/** What the words of one kind read. */
interface WordsContext {
  deps: NoticeDrawDeps;
  row: OutboxRow;
  p: NoticeParams;
  recipient: StaffRow;
  lang: Lang;
  now: Date;
  /** A time as the recipient reads it ('' for none). */
  when(iso: string | Date | undefined | null): string;
}

/** The words of an event or a paper also read its incident, and the names of those it mentions. */
interface IncidentWordsContext extends WordsContext {
  incident: IncidentRow;
  nameOf(id: string | null | undefined): string;
}

/**
 * The words of one kind:
 * - `incident`: the line that says what happened to an incident (the card, for a card-shaped kind);
 * - `plain`: a notice of its own, with or without an incident (an overdue timer names its incident);
 * - `card`: nothing but the incident's card.
 */
export type NoticeWords =
  | {
      readonly about: 'incident';
      readonly header: (c: IncidentWordsContext) => Promise<string> | string;
      /** An event's own buttons (a receipt); an event has none otherwise. */
      readonly buttons?: (c: IncidentWordsContext) => Promise<NoticeRows>;
    }
  | { readonly about: 'plain'; readonly body: (c: WordsContext) => Promise<NoticeBody | undefined> }
  | { readonly about: 'card' };

const header = (fn: (c: IncidentWordsContext) => Promise<string> | string): NoticeWords => ({ about: 'incident', header: fn });
const plain = (fn: (c: WordsContext) => Promise<NoticeBody | undefined>): NoticeWords => ({ about: 'plain', body: fn });
/** A notice about a subject or a seat (./subject-notices.ts). */
const subject = (): NoticeWords => plain((c) => drawSubjectNotice(c.deps, c.row, c.p, c.lang, c.now));

const stepsOverdue = (key: 'notice.steps_overdue_reminder' | 'notice.steps_overdue_escalation') =>
  header(async ({ deps, incident, lang }) => {
    const pending = await pendingRequiredSteps(deps.db, incident.id);
    const steps = pending.slice(0, 8).map((s) => `· ${s.ordinal}. ${stepText(incident.type, incident.scenario, s.key, lang, incident.policy)}`);
    if (pending.length > 8) steps.push(t(lang, 'notice.list_more', { count: pending.length - 8 }));
    return tx(lang, key, { count: pending.length, steps: steps.join('\n') });
  });

const contactCheck = (key: 'notice.contact_check_head' | 'notice.contact_check_section') =>
  plain(async ({ deps, row, p, lang, now, when }) => {
    if (!row.subjectId) return undefined;
    const s = await subjectLabelOf(deps, row.subjectId);
    if (!s) return undefined;
    const officerId = p.officerStaffId ?? s.responsibleStaffId;
    const names = await staffNamesById(deps.db, [officerId]);
    const officer = names.get(officerId ?? '') ?? t(lang, 'notice.unknown_person');
    return { text: tx(lang, key, { subject: s.label, date: p.date ?? '', time: when(now), officer, office: await unitNameOf(deps.db, s.officeUnitId, lang) }) };
  });

const subjectWords = Object.fromEntries(Object.keys(SUBJECT_NOTICE_WORDS).map((kind) => [kind, subject()])) as { [K in keyof typeof SUBJECT_NOTICE_WORDS]: NoticeWords };

/** The words of every notice kind. */
export const NOTICE_WORDS: { readonly [K in NoticeKind]: NoticeWords } = {
  incident_reported: header(async ({ deps, recipient, lang }) => tx(lang, canAcknowledge(await actorFor(deps.db, recipient)) ? 'notice.incident_reported' : 'notice.incident_reported.fyi')),
  incident_acknowledged: header(({ p, incident, lang, now, when, nameOf }) =>
    tx(lang, 'notice.incident_acknowledged', { by: nameOf(p.byStaffId ?? incident.acknowledgedByStaffId), at: when(incident.acknowledgedAt ?? now) }),
  ),
  progress_reported: header(async ({ deps, p, lang, now, when, nameOf }) => {
    const update = p.updateId ? await findIncidentUpdate(deps.db, p.updateId) : undefined;
    return tx(lang, 'notice.progress_reported', { by: nameOf(p.byStaffId ?? update?.staffId), at: when(update?.at ?? now), text: truncate(update?.text ?? '', 300) });
  }),
  incident_closed: header(({ p, incident, lang, nameOf }) =>
    tx(lang, 'notice.incident_closed', { by: nameOf(p.byStaffId ?? incident.closedByStaffId), closure: t(lang, p.closure === 'false_alarm' ? 'notice.closure.false_alarm' : 'notice.closure.resolved') }),
  ),
  ack_escalation: header(async ({ deps, p, incident, lang, now, when }) => {
    const who = await notAcknowledgedText(deps.db, (p.notAcknowledgedBy ?? ['section']) as PositionKind[], lang);
    const since = p.since ? new Date(p.since) : incident.reportedAt;
    return tx(lang, 'notice.ack_escalation', { who, since: when(since), minutes: Math.max(0, Math.floor((now.getTime() - since.getTime()) / 60_000)) });
  }),
  inform_level: header(({ p, lang }) => tx(lang, 'notice.inform_level', { position: positionLabel(p.position ?? 'deputy_director', lang) })),
  progress_reminder: header(({ p, incident, lang, when }) => tx(lang, 'notice.progress_reminder', { last: when(p.last ?? incident.lastProgressAt ?? incident.reportedAt) })),
  progress_escalation: header(({ p, incident, lang, when, nameOf }) =>
    tx(lang, 'notice.progress_escalation', { reporter: nameOf(incident.reporterStaffId), last: when(p.last ?? incident.lastProgressAt ?? incident.reportedAt) }),
  ),
  upper_report_reminder: header(({ p, lang, when }) => tx(lang, 'notice.upper_report_reminder', { due: when(p.due) })),
  upper_report_escalation: header(({ p, lang, when }) => tx(lang, 'notice.upper_report_escalation', { due: when(p.due) })),
  steps_overdue_reminder: stepsOverdue('notice.steps_overdue_reminder'),
  steps_overdue_escalation: stepsOverdue('notice.steps_overdue_escalation'),
  written_report_reminder: header(({ p, lang, when }) => tx(lang, 'notice.written_report_reminder', { due: when(p.due) })),
  written_report_escalation: header(({ p, lang, when }) => tx(lang, 'notice.written_report_escalation', { due: when(p.due) })),
  report_review_requested: header(({ incident, lang }) => tx(lang, 'notice.report_review_requested', { number: incident.number })),
  report_returned: header(async ({ deps, p, incident, lang }) => {
    // The comment is read from the sign-off (params carry ids only: a comment may name people).
    const comment = p.signoffId ? await signoffComment(deps.db, p.signoffId) : undefined;
    return tx(lang, 'notice.report_returned', { number: incident.number, comment: truncate(comment ?? p.comment ?? '', 300) });
  }),
  report_approved: header(({ incident, lang }) => tx(lang, 'notice.report_approved', { number: incident.number })),
  release_review_requested: header(({ incident, lang }) => tx(lang, 'notice.release_review_requested', { number: incident.number })),
  release_returned: header(async ({ deps, p, incident, lang, nameOf }) => {
    // The comment is read from the row (params carry ids only); an edit since then has answered it.
    const comment = p.releaseId ? await releaseReturnComment(deps.db, p.releaseId) : undefined;
    return tx(lang, 'notice.release_returned', { number: incident.number, by: nameOf(p.byStaffId), comment: truncate(comment ?? '', 300) });
  }),
  search_failed: header(({ p, lang, nameOf }) => tx(lang, 'notice.search_failed', { by: nameOf(p.byStaffId) })),
  absconding_threshold: header(({ p, lang, incident, when }) =>
    tx(lang, 'notice.absconding_threshold', { hours: wholeHours(Number((p as { thresholdSeconds?: unknown }).thresholdSeconds) || 0), since: when(incident.discoveredAt) }),
  ),
  forwarded_up: header(async ({ deps, p, lang, now, when, nameOf }) => {
    // The note is read from its row: params carry ids only.
    const update = p.updateId ? await findIncidentUpdate(deps.db, p.updateId) : undefined;
    return tx(lang, 'notice.forwarded_up', { by: nameOf(p.byStaffId ?? update?.staffId), at: when(update?.at ?? now), position: positionLabel(p.position ?? 'deputy_director', lang), text: truncate(update?.text ?? '', 300) });
  }),
  role_assigned: header(({ p, lang, nameOf }) => tx(lang, isRolePost(p.role ?? '') ? 'notice.role_assigned' : 'notice.role_assigned.member', { by: nameOf(p.byStaffId), role: roleLabel(p.role ?? '', lang) })),
  card_redraw: { about: 'card' },
  plan_activated: header((c) => planActivatedWords(c)),
  level_changed: header((c) => levelChangedWords(c)),
  command_issued: { about: 'incident', header: (c) => messageWords(c, 'notice.command_issued'), buttons: (c) => receiptButtons(c) },
  proposal_sent: { about: 'incident', header: (c) => messageWords(c, 'notice.proposal_sent'), buttons: (c) => receiptButtons(c) },
  command_receipted: header((c) => receiptedWords(c)),
  command_unreceipted: { about: 'incident', header: (c) => unreceiptedWords(c), buttons: (c) => receiptButtons(c) },

  contact_reminder: plain(async ({ deps, p, lang }) => {
    const date = p.date ?? '';
    const ids = p.subjectIds ?? [];
    if (ids.length === 0) return undefined;
    const list = await subjectsAwayAmong(deps.db, ids, date);
    if (list.length === 0) return undefined;
    const labels = list.map((r) => ({ id: r.id, label: subjectLabel({ code: r.code, name: deps.cipher.decrypt(r.nameEnc) }, deps.piiMode, 'private'), until: r.endsOn }));
    const lines = labels.map((s, i) => tx(lang, 'notice.contact_reminder.line', { n: i + 1, subject: s.label, until: s.until }));
    const text = tx(lang, 'notice.contact_reminder', { date, count: labels.length, list: '' }) + lines.join('\n');
    const rows = labels.slice(0, 90).map((s) => [noticeButton(truncate(t(lang, 'notice.button.contact', { subject: s.label }), 60), { a: 'contact', i: s.id })]);
    return { text, rows };
  }),
  contact_check_head: contactCheck('notice.contact_check_head'),
  contact_check_section: contactCheck('notice.contact_check_section'),
  absconding_suggestion: plain(async ({ deps, row, p, lang, when }) => {
    if (!row.subjectId) return undefined;
    const s = await subjectLabelOf(deps, row.subjectId);
    if (!s) return undefined;
    return {
      text: tx(lang, 'notice.absconding_suggestion', { subject: s.label, count: p.count ?? 2, last: when(p.last) }),
      rows: [[noticeButton(t(lang, 'notice.button.abscond'), { a: 'abscond', i: row.subjectId })]],
    };
  }),
  missed_days: plain(async ({ deps, p, lang }) => {
    const what = p.what === 'digest' ? 'notice.daily.digest' : 'notice.daily.contact_reminder';
    const policy = await deps.policy();
    const time = p.what === 'digest' ? policy.digestAt : policy.dailyContact.reminderAt;
    const extra = p.subjectDaysWithoutContact ? tx(lang, 'notice.missed_days.contacts', { count: p.subjectDaysWithoutContact }) : '';
    return { text: tx(lang, 'notice.missed_days', { what: t(lang, what, { time }), dates: (p.dates ?? []).join(lang === 'zh' ? '、' : ', '), extra }) };
  }),
  timer_overdue_alert: plain(async ({ deps, row, p, lang, when }) => {
    let where = '';
    let rows: NoticeRows | undefined;
    if (row.incidentId) {
      const i = await findIncidentRef(deps.db, row.incidentId);
      where = tx(lang, 'notice.timer_overdue_alert.incident', { number: i?.number ?? '' });
      rows = [[noticeButton(t(lang, 'notice.button.open'), { a: 'card', i: row.incidentId })]];
    } else if (row.subjectId) {
      const s = await subjectLabelOf(deps, row.subjectId);
      where = tx(lang, 'notice.timer_overdue_alert.subject', { subject: s?.label ?? '' });
    }
    // `where` is escaped already; the rest is escaped here.
    const text = t(lang, 'notice.timer_overdue_alert', { what: where, timer: escapeHtml(timerKindLabel(p.timerKind ?? '', lang)), due: when(p.due), minutes: p.minutes ?? 1 });
    return { text, ...(rows ? { rows } : {}) };
  }),
  daily_digest: plain(async ({ deps, p, lang, now }) => ({ text: await digestText(deps, p.date ?? '', lang, now) })),
  screening_due: plain(async ({ deps, row, lang }) => {
    if (!row.subjectId) return undefined;
    const s = await subjectLabelOf(deps, row.subjectId);
    return s ? { text: tx(lang, 'notice.screening_due', { subject: s.label }) } : undefined;
  }),
  drill_reminder: plain(async ({ deps, p, lang }) => {
    const last = p.lastDrillAt ? localDate(new Date(p.lastDrillAt), deps.timeZone) : t(lang, 'drill.reminder_never');
    // By calendar year, naming the offices not covered; a row written before that names none.
    if (!p.officeUnitIds?.length) return { text: tx(lang, 'notice.drill_reminder', { text: t(lang, 'drill.reminder_text', { last }) }) };
    const offices = (await findUnitsByIds(deps.db, p.officeUnitIds)).map((u) => unitName(u, lang)).join(lang === 'zh' ? '、' : ', ');
    return { text: tx(lang, 'notice.drill_reminder', { text: t(lang, 'drill.reminder_year', { year: p.year ?? '', offices, last }) }) };
  }),
  sensitive_period_reminder: plain(async ({ deps, p, lang }) => {
    const period = p.periodId ? await findSensitivePeriod(deps.db, p.periodId) : undefined;
    if (!period || period.removedAt) return undefined;
    return { text: tx(lang, 'notice.sensitive_period_reminder', { name: period.name, start: period.startsOn, end: period.endsOn }) };
  }),
  ...subjectWords,
};

/** The words of a kind; undefined for a kind the domain does not know (a row of an older release). */
export function noticeWordsOf(kind: string): NoticeWords | undefined {
  return Object.hasOwn(NOTICE_WORDS, kind) ? NOTICE_WORDS[kind as NoticeKind] : undefined;
}

/**
 * One outbox row as its recipient sees it now; undefined when there is nothing to draw (its records
 * are gone, or the kind is unknown).
 */
export async function drawNoticeWords(deps: NoticeDrawDeps, row: OutboxRow, recipient: StaffRow, lang: Lang, now: Date): Promise<DrawnNoticeWords | undefined> {
  const words = noticeWordsOf(row.kind);
  if (!words) return undefined;
  const p: NoticeParams = noticeParamsSchema.safeParse(row.params).data ?? {};
  const c: WordsContext = { deps, row, p, recipient, lang, now, when: (iso) => (iso ? formatLocal(new Date(iso), deps.timeZone, now) : '') };
  const drill = row.isDrill ? t(lang, 'drill.prefix') : '';

  // As the sender shapes it (src/services/notification.service.ts): an overdue timer's alert is a plain
  // notice even when it names an incident.
  if (row.incidentId && row.kind !== 'timer_overdue_alert') {
    // The notification rule: a change redraws the card; an event is a short message of its own (on
    // Telegram, a reply to the card); a paper opens the written report or the release.
    const shape = p.cardOnly ? 'card' : noticeShape(row.kind);
    if (shape === 'card' || words.about === 'card') return { kind: 'card', incidentId: row.incidentId };
    if (words.about === 'incident') {
      const incident = await findIncident(deps.db, row.incidentId);
      if (!incident) return undefined;
      const names = await staffNamesById(deps.db, [p.byStaffId, incident.reporterStaffId, incident.acknowledgedByStaffId]);
      const nameOf = (id: string | null | undefined) => (id && names.get(id)) || t(lang, 'notice.unknown_person');
      const line = await words.header({ ...c, incident, nameOf });
      const about = tx(lang, 'notice.about', { number: incident.number, type: typeLabel(incident.type, lang, incident.scenario) });
      const rows = shape === 'paper' ? await paperButtons(deps, row, lang) : words.buttons ? await words.buttons({ ...c, incident, nameOf }) : [];
      return { kind: 'text', text: fitMessage([drill + line, about, ...(await standInNotes(c))]), rows, incident: { id: incident.id, number: incident.number } };
    }
  }
  // The words of an incident need one.
  if (words.about !== 'plain') return undefined;
  const body = await words.body(c);
  if (!body) return undefined;
  return { kind: 'text', text: fitMessage([drill + body.text, ...(await standInNotes(c))]), rows: body.rows ?? [] };
}

/** "Received for …": the people a stand-in or an extra recipient gets the notice for. */
async function standInNotes({ deps, p, lang }: WordsContext): Promise<string[]> {
  const forWhom = [...new Set([...(p.standInFor ? [p.standInFor] : []), ...(p.alsoFor ?? [])])];
  if (!forWhom.length) return [];
  const names = await staffNamesById(deps.db, forWhom);
  const list = forWhom.map((id) => names.get(id) ?? t(lang, 'notice.unknown_person')).join(lang === 'zh' ? '、' : ', ');
  return [tx(lang, p.standInFor ? 'notice.stand_in' : 'notice.stand_in.also', { name: list })];
}

/** A paper notice's button: it opens the written report or the release, which is always allowed. */
export async function paperButtons(deps: NoticeDrawDeps, row: OutboxRow, lang: Lang): Promise<NoticeRows> {
  if (row.kind.startsWith('release_')) {
    const releaseId = (row.params as { releaseId?: unknown }).releaseId;
    return typeof releaseId === 'string' ? [[noticeButton(t(lang, 'button.open_release'), { a: 'rel', i: releaseId, k: 'card' })]] : [];
  }
  const report = await findWrittenReportOfIncident(deps.db, row.incidentId!);
  return report ? [[noticeButton(t(lang, 'button.open_report'), { a: 'wr', i: report.id, k: 'card' })]] : [];
}

/** "the corrections section (A, B) and the deputy director (C)": who has not acknowledged. */
async function notAcknowledgedText(db: Executor, positions: readonly PositionKind[], lang: Lang): Promise<string> {
  const org = await loadOrgSnapshot(db);
  const parts: string[] = [];
  for (const position of positions) {
    const holders = org.seats.filter((s) => s.kind === position).flatMap((s) => [s.holderStaffId, s.actingStaffId].filter((x): x is string => !!x));
    const names = await staffNamesById(db, holders);
    const list = [...names.values()].join(lang === 'zh' ? '、' : ', ');
    parts.push(list ? `${positionLabel(position, lang)}（${list}）` : positionLabel(position, lang));
  }
  return parts.join(lang === 'zh' ? '、' : ' and ');
}

async function subjectLabelOf(deps: NoticeDrawDeps, subjectId: string): Promise<{ label: string; officeUnitId: string; responsibleStaffId: string | null } | undefined> {
  const s = await subjectForNotice(deps.db, subjectId);
  if (!s) return undefined;
  return { label: subjectLabel({ code: s.code, name: deps.cipher.decrypt(s.nameEnc) }, deps.piiMode, 'private'), officeUnitId: s.officeUnitId, responsibleStaffId: s.responsibleStaffId };
}

async function unitNameOf(db: Executor, id: string, lang: Lang): Promise<string> {
  return unitName(await unitNames(db, id), lang);
}

async function digestText(deps: NoticeDrawDeps, date: string, lang: Lang, now: Date): Promise<string> {
  const d = await buildDigest(deps.db, date, now);
  const lines: string[] = [tx(lang, 'notice.daily_digest', { date }), ''];
  const section = (title: string, items: string[]) => {
    lines.push(title);
    if (items.length === 0) lines.push(t(lang, 'notice.digest.none'));
    const shown = items.slice(0, 15);
    lines.push(...shown);
    if (items.length > shown.length) lines.push(t(lang, 'notice.list_more', { count: items.length - shown.length }));
    lines.push('');
  };
  section(
    tx(lang, 'notice.digest.open', { count: d.open.length }),
    d.open.map((i) => tx(lang, 'notice.digest.open_line', { number: i.number, type: typeLabel(i.type, lang), office: i.officeName, status: statusLabel(i.status, lang) })),
  );
  section(
    tx(lang, 'notice.digest.overdue_steps', { count: d.overdueSteps.length }),
    d.overdueSteps.map((s) => tx(lang, 'notice.digest.overdue_steps_line', { number: s.number, count: s.count })),
  );
  section(
    tx(lang, 'notice.digest.overdue_reports', { count: d.overdueReports.length }),
    d.overdueReports.map((r) => tx(lang, 'notice.digest.overdue_reports_line', { number: r.number, due: formatLocal(r.due, deps.timeZone, now) })),
  );
  section(
    tx(lang, 'notice.digest.away', { count: d.away.length }),
    d.away.map((a) =>
      tx(lang, 'notice.digest.away_line', {
        subject: subjectLabel({ code: a.code, name: deps.cipher.decrypt(a.nameEnc) }, deps.piiMode, 'private'),
        office: a.officeName,
        contact: a.contact ? contactResultLabel(a.contact, lang) : t(lang, 'notice.contact.none'),
      }),
    ),
  );
  section(
    tx(lang, 'notice.digest.unstable', { count: d.unstable.length }),
    d.unstable.map((u) =>
      tx(lang, 'notice.digest.unstable_line', {
        subject: subjectLabel({ code: u.code, name: deps.cipher.decrypt(u.nameEnc) }, deps.piiMode, 'private'),
        office: u.officeName,
        new: u.isNew ? t(lang, 'notice.digest.unstable_new') : '',
      }),
    ),
  );
  const u = d.undeliverable;
  const sep = lang === 'zh' ? '、' : ', ';
  const drillMark = t(lang, 'drill.prefix');
  const undeliverableLines = u.people.map((p) =>
    tx(lang, 'notice.digest.undeliverable_line', {
      name: p.name,
      unit: p.unitName,
      count: p.count,
      kinds: p.kinds.map((k) => t(lang, 'notice.digest.undeliverable_kind', { kind: noticeKindLabel(k.kind, lang), count: k.count })).join(sep),
      incidents: p.incidents.length ? tx(lang, 'notice.digest.undeliverable_incidents', { numbers: p.incidents.map((i) => (i.isDrill ? drillMark : '') + i.number).join(sep) }) : '',
    }),
  );
  section(tx(lang, 'notice.digest.undeliverable', { count: u.notices }), undeliverableLines);
  if (u.unreachable.length) {
    // Who to get to bind the bot: after the list (which may be cut short), before the part's blank line.
    const list = u.unreachable.map((x) => tx(lang, 'notice.digest.unreachable_person', { name: x.name || t(lang, 'notice.unknown_person'), reason: t(lang, `notice.unreachable.${x.reason}`) })).join(sep);
    lines.splice(lines.length - 1, 0, t(lang, 'notice.digest.unreachable_people', { list }));
  }
  return lines.join('\n').trimEnd();
}

/** A notice kind as the digest names it; an unknown kind shows as it is. */
export function noticeKindLabel(kind: string, lang: Lang): string {
  const key = `notice.kind.${kind}`;
  return hasMessage(key) ? t(lang, key) : kind;
}
