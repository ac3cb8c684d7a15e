/**
 * What a notice says, as the catalogue's markup and the flows' buttons: the line that says why an
 * incident's notice came, and the plain notices (daily contact, the digest, system alerts). The same
 * words as Telegram's (src/channels/telegram/notice-channel.ts, whose drawing is written against its
 * HTML and inline keyboards), drawn here channel-neutrally for WeCom to turn into its own forms.
 * not yet: one module both channels draw from; until then a change of a notice's words is made in both.
 */
import { z } from 'zod';
import type { Executor } from '../../db/client.js';
import { findIncident, findIncidentRef } from '../../db/repositories/incident.repository.js';
import {
  findIncidentUpdate,
  pendingRequiredSteps,
  releaseReturnComment,
  signoffComment,
  staffNamesById,
  subjectForNotice,
  subjectsAwayAmong,
  unitNames,
} from '../../db/repositories/notice-reads.repository.js';
import { actorFor, loadOrgSnapshot, type StaffRow } from '../../db/repositories/org.repository.js';
import type { OutboxRow } from '../../db/repositories/outbox.repository.js';
import { findWrittenReportOfIncident } from '../../db/repositories/written-report.repository.js';
import { canAcknowledge, formatLocal, isRolePost, localDate, subjectLabel, type NoticeKind, type PositionKind } from '../../domain/index.js';
import { button, type Keyboard } from '../../flows/ui.js';
import { hasMessage, t, type Lang, type MessageKey, type Params } from '../../i18n/index.js';
import { escapeHtml, truncate } from '../../i18n/markup.js';
import { buildDigest } from '../../services/digest.service.js';
import type { ServiceDeps } from '../../services/ports.js';
import { contactResultLabel, positionLabel, roleLabel, statusLabel, stepText, timerKindLabel, typeLabel, unitName } from '../../views/labels.js';

/** What drawing needs of the app: the database, the PII cipher and mode, the zone, the policy. */
export type DrawDeps = Pick<ServiceDeps, 'db' | 'cipher' | 'piiMode' | 'timeZone' | 'policy'>;

/** Params the notices read; all optional, ids and small values only. */
export const paramsSchema = z
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
  })
  .passthrough();
export type NoticeParams = z.infer<typeof paramsSchema>;


/** Renders one catalogue text with every value HTML-escaped. */
export function tx(lang: Lang, key: MessageKey, params: Params = {}): string {
  const safe: Params = {};
  for (const [k, v] of Object.entries(params)) safe[k] = typeof v === 'string' ? escapeHtml(v) : v;
  return t(lang, key, safe);
}

export const staffNames = staffNamesById;

/** A paper notice's button: it opens the written report or the release, which is always allowed. */
export async function paperButtons(deps: DrawDeps, row: OutboxRow, lang: Lang): Promise<Keyboard> {
  if (row.kind.startsWith('release_')) {
    const releaseId = (row.params as { releaseId?: unknown }).releaseId;
    return typeof releaseId === 'string' ? [[button(t(lang, 'button.open_release'), { a: 'rel', i: releaseId, k: 'card' })]] : [];
  }
  const report = await findWrittenReportOfIncident(deps.db, row.incidentId!);
  return report ? [[button(t(lang, 'button.open_report'), { a: 'wr', i: report.id, k: 'card' })]] : [];
}

/** The line that says what happened (the first line of an event: what a phone's preview shows). */
export async function incidentHeader(
  deps: DrawDeps,
  row: OutboxRow,
  p: NoticeParams,
  recipient: StaffRow,
  lang: Lang,
  now: Date,
  when: (iso: string | Date | undefined) => string,
): Promise<string | undefined> {
  const incident = await findIncident(deps.db, row.incidentId!);
  if (!incident) return undefined;
  const names = await staffNames(deps.db, [p.byStaffId, incident.reporterStaffId, incident.acknowledgedByStaffId]);
  const nameOf = (id: string | null | undefined) => (id && names.get(id)) || t(lang, 'notice.unknown_person');
  switch (row.kind as NoticeKind) {
    case 'incident_reported': {
      const actor = await actorFor(deps.db, recipient);
      return tx(lang, canAcknowledge(actor) ? 'notice.incident_reported' : 'notice.incident_reported.fyi');
    }
    case 'incident_acknowledged':
      return tx(lang, 'notice.incident_acknowledged', { by: nameOf(p.byStaffId ?? incident.acknowledgedByStaffId), at: when(incident.acknowledgedAt ?? now) });
    case 'progress_reported': {
      const update = p.updateId ? await findIncidentUpdate(deps.db, p.updateId) : undefined;
      return tx(lang, 'notice.progress_reported', { by: nameOf(p.byStaffId ?? update?.staffId), at: when(update?.at ?? now), text: truncate(update?.text ?? '', 300) });
    }
    case 'incident_closed':
      return tx(lang, 'notice.incident_closed', { by: nameOf(p.byStaffId ?? incident.closedByStaffId), closure: t(lang, p.closure === 'false_alarm' ? 'notice.closure.false_alarm' : 'notice.closure.resolved') });
    case 'ack_escalation': {
      const who = await notAcknowledgedText(deps.db, (p.notAcknowledgedBy ?? ['section']) as PositionKind[], lang);
      const since = p.since ? new Date(p.since) : incident.reportedAt;
      return tx(lang, 'notice.ack_escalation', { who, since: when(since), minutes: Math.max(0, Math.floor((now.getTime() - since.getTime()) / 60_000)) });
    }
    case 'inform_level':
      return tx(lang, 'notice.inform_level', { position: positionLabel(p.position ?? 'deputy_director', lang) });
    case 'progress_reminder':
      return tx(lang, 'notice.progress_reminder', { last: when(p.last ?? incident.lastProgressAt ?? incident.reportedAt) });
    case 'progress_escalation':
      return tx(lang, 'notice.progress_escalation', { reporter: nameOf(incident.reporterStaffId), last: when(p.last ?? incident.lastProgressAt ?? incident.reportedAt) });
    case 'upper_report_reminder':
      return tx(lang, 'notice.upper_report_reminder', { due: when(p.due) });
    case 'upper_report_escalation':
      return tx(lang, 'notice.upper_report_escalation', { due: when(p.due) });
    case 'steps_overdue_reminder':
    case 'steps_overdue_escalation': {
      const pending = await pendingRequiredSteps(deps.db, incident.id);
      const steps = pending.slice(0, 8).map((s) => `· ${s.ordinal}. ${stepText(incident.type, incident.scenario, s.key, lang)}`);
      if (pending.length > 8) steps.push(t(lang, 'notice.list_more', { count: pending.length - 8 }));
      const key = row.kind === 'steps_overdue_reminder' ? 'notice.steps_overdue_reminder' : 'notice.steps_overdue_escalation';
      return tx(lang, key, { count: pending.length, steps: steps.join('\n') });
    }
    case 'written_report_reminder':
      return tx(lang, 'notice.written_report_reminder', { due: when(p.due) });
    case 'written_report_escalation':
      return tx(lang, 'notice.written_report_escalation', { due: when(p.due) });
    case 'report_review_requested':
      return tx(lang, 'notice.report_review_requested', { number: incident.number });
    case 'report_returned': {
      // The comment is read from the sign-off (params carry ids only: a comment may name people).
      const comment = p.signoffId ? await signoffComment(deps.db, p.signoffId) : undefined;
      return tx(lang, 'notice.report_returned', { number: incident.number, comment: truncate(comment ?? p.comment ?? '', 300) });
    }
    case 'report_approved':
      return tx(lang, 'notice.report_approved', { number: incident.number });
    case 'release_review_requested':
      return tx(lang, 'notice.release_review_requested', { number: incident.number });
    case 'release_returned': {
      // The comment is read from the row (params carry ids only); an edit since then has answered it.
      const comment = p.releaseId ? await releaseReturnComment(deps.db, p.releaseId) : undefined;
      return tx(lang, 'notice.release_returned', { number: incident.number, by: nameOf(p.byStaffId), comment: truncate(comment ?? '', 300) });
    }
    case 'search_failed':
      return tx(lang, 'notice.search_failed', { by: nameOf(p.byStaffId) });
    case 'role_assigned':
      return tx(lang, isRolePost(p.role ?? '') ? 'notice.role_assigned' : 'notice.role_assigned.member', { by: nameOf(p.byStaffId), role: roleLabel(p.role ?? '', lang) });
    default:
      return tx(lang, 'notice.inform_level', { position: statusLabel(incident.status, lang) });
  }
}

/** "the corrections section (A, B) and the deputy director (C)": who has not acknowledged. */
async function notAcknowledgedText(db: Executor, positions: readonly PositionKind[], lang: Lang): Promise<string> {
  const org = await loadOrgSnapshot(db);
  const parts: string[] = [];
  for (const position of positions) {
    const holders = org.seats.filter((s) => s.kind === position).flatMap((s) => [s.holderStaffId, s.actingStaffId].filter((x): x is string => !!x));
    const names = await staffNames(db, holders);
    const list = [...names.values()].join(lang === 'zh' ? '、' : ', ');
    parts.push(list ? `${positionLabel(position, lang)}（${list}）` : positionLabel(position, lang));
  }
  return parts.join(lang === 'zh' ? '、' : ' and ');
}

async function subjectLabelOf(deps: DrawDeps, subjectId: string): Promise<{ label: string; officeUnitId: string; responsibleStaffId: string | null } | undefined> {
  const s = await subjectForNotice(deps.db, subjectId);
  if (!s) return undefined;
  return { label: subjectLabel({ code: s.code, name: deps.cipher.decrypt(s.nameEnc) }, deps.piiMode, 'private'), officeUnitId: s.officeUnitId, responsibleStaffId: s.responsibleStaffId };
}

async function unitNameOf(db: Executor, id: string, lang: Lang): Promise<string> {
  return unitName(await unitNames(db, id), lang);
}

/** Notices that are not about one incident: daily contact, the digest, system alerts. */
export async function plainNotice(
  deps: DrawDeps,
  row: OutboxRow,
  p: NoticeParams,
  lang: Lang,
  now: Date,
  when: (iso: string | Date | undefined) => string,
): Promise<{ text: string; rows?: Keyboard } | undefined> {
  const date = p.date ?? '';
  switch (row.kind as NoticeKind) {
    case 'contact_reminder': {
      const ids = p.subjectIds ?? [];
      if (ids.length === 0) return undefined;
      const list = await subjectsAwayAmong(deps.db, ids, date);
      if (list.length === 0) return undefined;
      const labels = list.map((r) => ({ id: r.id, label: subjectLabel({ code: r.code, name: deps.cipher.decrypt(r.nameEnc) }, deps.piiMode, 'private'), until: r.endsOn }));
      const lines = labels.map((s, i) => tx(lang, 'notice.contact_reminder.line', { n: i + 1, subject: s.label, until: s.until }));
      const text = tx(lang, 'notice.contact_reminder', { date, count: labels.length, list: '' }) + lines.join('\n');
      const keyboard = labels.slice(0, 90).map((s) => [button(truncate(t(lang, 'notice.button.contact', { subject: s.label }), 60), { a: 'contact', i: s.id })]);
      return { text, rows: keyboard };
    }
    case 'contact_check_head':
    case 'contact_check_section': {
      if (!row.subjectId) return undefined;
      const s = await subjectLabelOf(deps, row.subjectId);
      if (!s) return undefined;
      const names = await staffNames(deps.db, [p.officerStaffId ?? s.responsibleStaffId]);
      const officer = names.get((p.officerStaffId ?? s.responsibleStaffId) ?? '') ?? t(lang, 'notice.unknown_person');
      const params = { subject: s.label, date, time: when(now), officer, office: await unitNameOf(deps.db, s.officeUnitId, lang) };
      return { text: tx(lang, row.kind === 'contact_check_head' ? 'notice.contact_check_head' : 'notice.contact_check_section', params) };
    }
    case 'absconding_suggestion': {
      if (!row.subjectId) return undefined;
      const s = await subjectLabelOf(deps, row.subjectId);
      if (!s) return undefined;
      return {
        text: tx(lang, 'notice.absconding_suggestion', { subject: s.label, count: p.count ?? 2, last: when(p.last) }),
        rows: [[button(t(lang, 'notice.button.abscond'), { a: 'abscond', i: row.subjectId })]],
      };
    }
    case 'missed_days': {
      const what = p.what === 'digest' ? 'notice.daily.digest' : 'notice.daily.contact_reminder';
      const policy = await deps.policy();
      const time = p.what === 'digest' ? policy.digestAt : policy.dailyContact.reminderAt;
      const extra = p.subjectDaysWithoutContact ? tx(lang, 'notice.missed_days.contacts', { count: p.subjectDaysWithoutContact }) : '';
      return { text: tx(lang, 'notice.missed_days', { what: t(lang, what, { time }), dates: (p.dates ?? []).join(lang === 'zh' ? '、' : ', '), extra }) };
    }
    case 'timer_overdue_alert': {
      let where = '';
      let keyboard: Keyboard | undefined;
      if (row.incidentId) {
        const i = await findIncidentRef(deps.db, row.incidentId);
        where = tx(lang, 'notice.timer_overdue_alert.incident', { number: i?.number ?? '' });
        keyboard = [[button(t(lang, 'notice.button.open'), { a: 'card', i: row.incidentId })]];
      } else if (row.subjectId) {
        const s = await subjectLabelOf(deps, row.subjectId);
        where = tx(lang, 'notice.timer_overdue_alert.subject', { subject: s?.label ?? '' });
      }
      // `where` is escaped already; the rest is escaped here.
      const text = t(lang, 'notice.timer_overdue_alert', { what: where, timer: escapeHtml(timerKindLabel(p.timerKind ?? '', lang)), due: when(p.due), minutes: p.minutes ?? 1 });
      return { text, ...(keyboard ? { rows: keyboard } : {}) };
    }
    case 'daily_digest':
      return { text: await digestText(deps, date, lang, now) };
    case 'screening_due': {
      if (!row.subjectId) return undefined;
      const s = await subjectLabelOf(deps, row.subjectId);
      return s ? { text: tx(lang, 'notice.screening_due', { subject: s.label }) } : undefined;
    }
    case 'drill_reminder': {
      const last = p.lastDrillAt ? localDate(new Date(p.lastDrillAt), deps.timeZone) : t(lang, 'drill.reminder_never');
      return { text: tx(lang, 'notice.drill_reminder', { text: t(lang, 'drill.reminder_text', { last }) }) };
    }
    default:
      return undefined;
  }
}

async function digestText(deps: DrawDeps, date: string, lang: Lang, now: Date): Promise<string> {
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
function noticeKindLabel(kind: string, lang: Lang): string {
  const key = `notice.kind.${kind}`;
  return hasMessage(key) ? t(lang, key) : kind;
}

