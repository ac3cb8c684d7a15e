/**
 * The Telegram side of the notice port (src/services/channel-port.ts): draws an outbox row as Telegram
 * shows it — HTML, the incident's card with its buttons, callback data — and sends or edits it through
 * the gateway, turning the gateway's errors into the port's.
 *
 * What a notice says is drawn at send time from ids (the row holds no names): the incident's card; a
 * short event that names the incident and says what happened and what is expected (sent as a reply to
 * the card); or a plain notice (daily contact, the digest, system alerts).
 */
import { z } from 'zod';
import type { InlineKeyboardMarkup } from 'telegraf/types';
import { TELEGRAM_CAPABILITIES } from './capabilities.js';
import { drawSubjectNotice, SUBJECT_NOTICE_KINDS } from './absence-notices.js';
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
import { canAcknowledge, formatLocal, isRolePost, localDate, noticeShape, subjectLabel, type NoticeKind, type PositionKind } from '../../domain/index.js';
import { hasMessage, t, type Lang, type MessageKey, type Params } from '../../i18n/index.js';
import {
  ChannelRateLimited,
  ChannelSlotAhead,
  ChannelTransient,
  MessageGone,
  RecipientBlocked,
  RecipientNotFound,
  RequestRefused,
  type ChannelCapabilities,
  type DrawnNotice,
  type NoticeChannel,
  type SendHooks,
} from '../../services/channel-port.js';
import { buildDigest } from '../../services/digest.service.js';
import type { IncidentRef, ServiceDeps } from '../../services/ports.js';
import { escapeHtml, fitMessage, truncate } from './html.js';
import { button, markup, type Keyboard } from './keyboards.js';
import { findWrittenReportOfIncident } from '../../db/repositories/written-report.repository.js';
import {
  ChatSlotAhead,
  SEND_QUEUE_LIMITER,
  TelegramBadRequest,
  TelegramBlocked,
  TelegramRateLimited,
  TelegramTransient,
  type CallHooks,
  type OutgoingMessage,
  type TelegramGateway,
} from './telegram-gateway.js';
import { loadIncidentCardView, renderIncidentCard } from './views/incident-card.js';
import { contactResultLabel, positionLabel, roleLabel, statusLabel, stepText, timerKindLabel, typeLabel, unitName } from '../../views/labels.js';

/** What drawing needs of the app: the database, the PII cipher and mode, the zone, the policy. */
export type DrawDeps = Pick<ServiceDeps, 'db' | 'cipher' | 'piiMode' | 'timeZone' | 'policy'>;

/** Telegram, as the port sees it. */

/** A drawn Telegram message, with the language it was drawn in (for the "re-sent" note). */
interface TelegramDrawn extends DrawnNotice {
  readonly message: OutgoingMessage;
  readonly lang: Lang;
}

export function telegramNoticeChannel(gateway: TelegramGateway, deps: DrawDeps): NoticeChannel {
  const callHooks = (drawn: TelegramDrawn, hooks?: SendHooks): CallHooks =>
    hooks
      ? {
          spacingKey: hooks.spacingKey,
          urgent: hooks.urgent,
          beforeRequest: async () => {
            const { resent } = await hooks.beforeRequest();
            if (resent) return withNote(drawn.message, t(drawn.lang, 'notice.resent'));
          },
        }
      : {};
  return {
    name: 'telegram',
    capabilities: TELEGRAM_CAPABILITIES,
    requestTimeoutMs: gateway.requestTimeoutMs,
    maxInlineWaitMs: gateway.maxInlineWaitMs,
    queueLimiter: SEND_QUEUE_LIMITER,
    reserve: (chatId, key, opts) => gateway.reserveChat(chatId, key, opts),
    draw: async (row, recipient, lang, now) => {
      const drawn = await drawTelegramNotice(deps, row, recipient, lang, now);
      return drawn ? { ...drawn, lang } : undefined;
    },
    drawCard: async (incidentId, recipient, lang, now) => {
      const drawn = await drawTelegramCard(deps, incidentId, recipient, lang, now);
      return drawn ? { ...drawn, lang } : undefined;
    },
    send: (chatId, drawn, hooks, opts) => {
      const message = opts?.replyTo !== undefined ? { ...(drawn as TelegramDrawn).message, replyTo: opts.replyTo } : (drawn as TelegramDrawn).message;
      return portErrors(() => gateway.sendMessage(chatId, message, callHooks({ ...(drawn as TelegramDrawn), message }, hooks)));
    },
    edit: (chatId, messageId, drawn, hooks) =>
      portErrors(() => gateway.editMessage(chatId, messageId, (drawn as TelegramDrawn).message, callHooks(drawn as TelegramDrawn, hooks))),
  };
}

/** The gateway's errors in the port's terms; anything else (the service's own claim refusal) as it is. */
async function portErrors<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (e) {
    throw toPortError(e);
  }
}

export function toPortError(e: unknown): unknown {
  if (e instanceof TelegramRateLimited) return new ChannelRateLimited(e.message, e.retryAfterSeconds, { cause: e });
  if (e instanceof TelegramBlocked) return new RecipientBlocked(e.message, { cause: e });
  if (e instanceof TelegramBadRequest) {
    if (e.chatNotFound) return new RecipientNotFound(e.message, { cause: e });
    if (e.messageGone) return new MessageGone(e.message, { cause: e });
    return new RequestRefused(e.message, { cause: e });
  }
  if (e instanceof TelegramTransient) return new ChannelTransient(e.message, e.ambiguous, { cause: e });
  if (e instanceof ChatSlotAhead) return new ChannelSlotAhead(e.until);
  return e;
}

function withNote(message: OutgoingMessage, note: string): OutgoingMessage {
  return { ...message, text: fitMessage([escapeHtml(note), ...message.text.split('\n')]) };
}

// ---------------------------------------------------------------------------------------------
// Drawing a notice for its recipient.

/** Params the notices read; all optional, ids and small values only. */
const paramsSchema = z
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
type NoticeParams = z.infer<typeof paramsSchema>;

interface Drawn {
  message: OutgoingMessage;
  /** Set when the message is the incident's card: its version, recorded in incident_cards. */
  cardVersion?: number;
  /** The incident the message is about, for the log. */
  incident?: IncidentRef;
}

/** Renders one catalogue text with every value HTML-escaped. */
function tx(lang: Lang, key: MessageKey, params: Params = {}): string {
  const safe: Params = {};
  for (const [k, v] of Object.entries(params)) safe[k] = typeof v === 'string' ? escapeHtml(v) : v;
  return t(lang, key, safe);
}

const staffNames = staffNamesById;

export async function drawTelegramNotice(deps: DrawDeps, row: OutboxRow, recipient: StaffRow, lang: Lang, now: Date): Promise<Drawn | undefined> {
  const p: NoticeParams = paramsSchema.safeParse(row.params).data ?? {};
  const when = (iso: string | Date | undefined) => (iso ? formatLocal(new Date(iso), deps.timeZone, now) : '');
  const notes: string[] = [];
  const forWhom = [...new Set([...(p.standInFor ? [p.standInFor] : []), ...(p.alsoFor ?? [])])];
  if (forWhom.length) {
    const names = await staffNames(deps.db, forWhom);
    const list = forWhom.map((id) => names.get(id) ?? t(lang, 'notice.unknown_person')).join(lang === 'zh' ? '、' : ', ');
    notes.push(tx(lang, p.standInFor ? 'notice.stand_in' : 'notice.stand_in.also', { name: list }));
  }
  const drill = row.isDrill ? t(lang, 'drill.prefix') : '';

  if (row.incidentId && row.kind !== 'timer_overdue_alert') {
    // The notification rule (domain noticeShape): a change redraws the card; an event is a short message
    // of its own, sent as a reply to the card; a paper opens the written report or the release.
    const shape = p.cardOnly ? 'card' : noticeShape(row.kind);
    if (shape === 'card') return drawTelegramCard(deps, row.incidentId, recipient, lang, now);
    const header = await incidentHeader(deps, row, p, recipient, lang, now, when);
    if (header === undefined) return undefined;
    const incident = await findIncident(deps.db, row.incidentId);
    if (!incident) return undefined;
    const about = tx(lang, 'notice.about', { number: incident.number, type: typeLabel(incident.type, lang, incident.scenario) });
    const rows = shape === 'paper' ? await paperButtons(deps, row, lang) : [];
    return {
      message: { text: fitMessage([drill + header, about, ...notes]), parseMode: 'HTML', ...(rows.length ? { replyMarkup: markup(rows) } : {}) },
      incident: { id: incident.id, number: incident.number },
    };
  }

  const body = await plainNotice(deps, row, p, lang, now, when);
  if (!body) return undefined;
  return { message: { text: fitMessage([drill + body.text, ...notes]), parseMode: 'HTML', ...(body.markup ? { replyMarkup: body.markup } : {}) } };
}

/** The incident's card alone, as the recipient may see it now. */
export async function drawTelegramCard(deps: DrawDeps, incidentId: string, recipient: StaffRow, lang: Lang, now: Date): Promise<Drawn | undefined> {
  const view = await loadIncidentCardView(deps.db, incidentId, deps.cipher);
  if (!view) return undefined;
  const actor = await actorFor(deps.db, recipient);
  const card = renderIncidentCard(view, { actor, chatKind: 'private' }, lang, now, deps.timeZone, deps.piiMode);
  return { message: { text: card.text, parseMode: 'HTML', replyMarkup: card.reply_markup }, cardVersion: view.incident.version, incident: { id: view.incident.id, number: view.incident.number } };
}

/** A paper notice's button: it opens the written report or the release, which is always allowed. */
async function paperButtons(deps: DrawDeps, row: OutboxRow, lang: Lang): Promise<Keyboard> {
  if (row.kind.startsWith('release_')) {
    const releaseId = (row.params as { releaseId?: unknown }).releaseId;
    return typeof releaseId === 'string' ? [[button(t(lang, 'button.open_release'), { a: 'rel', i: releaseId, k: 'card' })]] : [];
  }
  const report = await findWrittenReportOfIncident(deps.db, row.incidentId!);
  return report ? [[button(t(lang, 'button.open_report'), { a: 'wr', i: report.id, k: 'card' })]] : [];
}

/** The line that says what happened (the first line of an event: what a phone's preview shows). */
async function incidentHeader(
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
async function plainNotice(
  deps: DrawDeps,
  row: OutboxRow,
  p: NoticeParams,
  lang: Lang,
  now: Date,
  when: (iso: string | Date | undefined) => string,
): Promise<{ text: string; markup?: InlineKeyboardMarkup } | undefined> {
  const date = p.date ?? '';
  // The absence process and the subject's status (a notice about a subject, not an incident).
  if ((SUBJECT_NOTICE_KINDS as readonly string[]).includes(row.kind)) {
    const drawn = await drawSubjectNotice(deps, row, p, lang, now);
    return drawn ? { text: drawn.text, ...(drawn.rows?.length ? { markup: markup(drawn.rows) } : {}) } : undefined;
  }
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
      return { text, markup: markup(keyboard) };
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
        markup: markup([[button(t(lang, 'notice.button.abscond'), { a: 'abscond', i: row.subjectId })]]),
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
      let keyboard: InlineKeyboardMarkup | undefined;
      if (row.incidentId) {
        const i = await findIncidentRef(deps.db, row.incidentId);
        where = tx(lang, 'notice.timer_overdue_alert.incident', { number: i?.number ?? '' });
        keyboard = markup([[button(t(lang, 'notice.button.open'), { a: 'card', i: row.incidentId })]]);
      } else if (row.subjectId) {
        const s = await subjectLabelOf(deps, row.subjectId);
        where = tx(lang, 'notice.timer_overdue_alert.subject', { subject: s?.label ?? '' });
      }
      // `where` is escaped already; the rest is escaped here.
      const text = t(lang, 'notice.timer_overdue_alert', { what: where, timer: escapeHtml(timerKindLabel(p.timerKind ?? '', lang)), due: when(p.due), minutes: p.minutes ?? 1 });
      return { text, ...(keyboard ? { markup: keyboard } : {}) };
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
