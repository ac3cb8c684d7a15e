/**
 * The incident card: one message per incident per chat, edited in place. `loadIncidentCardView`
 * (src/views/incident-card-view.ts, shared with WeCom) reads what the card shows; `renderIncidentCard`
 * is pure and turns it into Telegram HTML and the buttons this viewer may use. The notifications send
 * and edit cards for the chain with the same two.
 */
import type { InlineKeyboardMarkup } from 'telegraf/types';
import {
  canAcknowledge,
  canAssignAnyRole,
  canCloseIncident,
  canHandleIncident,
  canMarkStep,
  canSeeOffice,
  canTransition,
  formatLocal,
  howRepeatsStep,
  INCIDENT_ROLES,
  isOpen,
  isSection,
  nextDeadlines,
  type Actor,
  type ChatKind,
  type Closure,
  type IncidentStatus,
  type PiiMode,
  type StepActor,
} from '../../../domain/index.js';
import { fitMessage, truncate, userText, escapeHtml } from '../html.js';
import { button, markup, type Keyboard } from '../keyboards.js';
import { t, type Lang } from '../../../i18n/index.js';
import {
  casualtiesText,
  conditionText,
  criticalityLabel,
  howLabel,
  methodLabel,
  notApplicableText,
  roleLabel,
  statusLabel,
  stepText,
  subjectText,
  targetLabel,
  timerKindLabel,
  typeLabel,
  unitName,
} from '../../../views/labels.js';
import { loadIncidentCardView, type IncidentCardView } from '../../../views/incident-card-view.js';
import { contactLine, outOfSupervisionLine, receiptLine, sanctionLine } from '../../../views/outside-party-view.js';
import { callsOutsideParty } from '../../../domain/outside-parties.js';
import { canDecideSanction, isFinalDecision, isSanctionStep, type SanctionDecision } from '../../../domain/sanctions.js';
import { commandCardLines, currentLevelOf } from '../../../views/command-post-view.js';
import { canActivatePlan, canChangeResponseLevel, canIssueOrders, canPropose } from '../../../domain/command-post.js';

/** The view model is channel-neutral; the adapter's callers read it from here too. */
export { loadIncidentCardView, type IncidentCardView };

export interface CardViewer {
  actor: Actor;
  chatKind?: ChatKind;
}

/** A card can show one step's actions, or the choice of how 上报上一级 / 通报检察院 was done. */
import type { CardFocus } from '../../../flows/conversation.js';
export type { CardFocus };

export interface RenderedCard {
  text: string;
  reply_markup: InlineKeyboardMarkup;
}

import { PROCURATORATE_STEP, REPORT_HOWS, UPPER_STEP } from '../../../domain/upward-steps.js';
import { reportUpOffersOf, sensitivePeriodLine } from '../../../views/incident-card-view.js';
export { PROCURATORATE_STEP, REPORT_HOWS, UPPER_STEP };

const STEP_ICON = { pending: '⬜', done: '✅', not_applicable: '➖' } as const;

/** Pure: the card's text (Telegram HTML) and the buttons this viewer may use. */
export function renderIncidentCard(
  view: IncidentCardView,
  viewer: CardViewer,
  lang: Lang,
  now: Date,
  tz: string,
  piiMode: PiiMode,
  focus?: CardFocus,
): RenderedCard {
  const i = view.incident;
  const chat = viewer.chatKind ?? 'private';
  const when = (d: Date) => formatLocal(d, tz, now);
  const name = (id: string | null | undefined) => escapeHtml((id && view.staffNames[id]) || t(lang, 'card.someone'));
  const open = isOpen(i.status as IncidentStatus);

  const flags = [statusLabel(i.status, lang), criticalityLabel(i.criticality, lang)];
  if (i.lateReport) flags.push(t(lang, 'card.late'));
  if (i.isDrill) flags.push(t(lang, 'card.drill'));
  const lines: string[] = [
    `${i.isDrill ? t(lang, 'drill.prefix') : ''}${i.criticality === 'critical' ? '🔴' : '🟠'} <b>${escapeHtml(i.number)}</b> ${escapeHtml(typeLabel(i.type, lang, i.scenario))}`,
    flags.join(' · '),
    t(lang, 'card.subject', { subject: escapeHtml(subjectText(view.subject, piiMode, chat, lang, i.subjectNote ? truncate(i.subjectNote, 80) : null)) }),
    t(lang, 'card.time', { discovered: when(i.discoveredAt), reported: when(i.reportedAt) }),
  ];
  // 十: the 特殊敏感时间段 the report was linked to.
  if (view.sensitivePeriod) lines.push(sensitivePeriodLine(view.sensitivePeriod, lang, escapeHtml));
  if (i.place || i.latitude !== null) {
    const loc = i.latitude !== null && i.longitude !== null ? t(lang, 'card.location', { lat: i.latitude.toFixed(5), lon: i.longitude.toFixed(5) }) : '';
    lines.push(t(lang, 'card.place', { place: [i.place ? userText(i.place, 120) : '', loc].filter(Boolean).join(' ') }));
  }
  lines.push(t(lang, 'card.casualties', { text: casualtiesText(i.injured, i.dead, lang) }));
  // 脱管: how long the subject has been out of supervision, from the discovered-at.
  const absent = outOfSupervisionLine(i, view.outside, lang, now, tz);
  if (absent) lines.push(absent);
  lines.push(t(lang, 'card.reporter', { name: name(i.reporterStaffId), office: escapeHtml(unitName(view.reporterUnit ?? view.office, lang)) }));
  if (i.acknowledgedAt) lines.push(t(lang, 'card.acknowledged', { name: name(i.acknowledgedByStaffId), time: when(i.acknowledgedAt) }));
  lines.push(t(lang, 'card.description', { text: userText(i.description, 400) }));

  // A false alarm owes nothing more: no deadline is shown, whatever is left in the timers.
  const deadlines = i.closure === 'false_alarm' ? [] : nextDeadlines(view.pendingTimers, now, 3);
  if (deadlines.length) {
    lines.push('', t(lang, 'card.deadlines'));
    for (const d of deadlines) {
      lines.push(
        t(lang, 'card.deadline_line', { time: when(d.dueAt), kind: timerKindLabel(d.kind, lang), target: targetLabel(d.target, lang) }) + (d.overdue ? t(lang, 'card.overdue') : ''),
      );
    }
  }

  const applicable = view.steps.filter((s) => s.state !== 'not_applicable');
  lines.push('', t(lang, 'card.checklist', { done: applicable.filter((s) => s.state === 'done').length, total: applicable.length }));
  for (const s of view.steps) {
    const text = escapeHtml(stepText(i.type, i.scenario, s.key, lang, i.policy));
    let line = `${STEP_ICON[s.state as keyof typeof STEP_ICON] ?? '⬜'} ${s.ordinal}. ${text}`;
    if (s.state === 'done') {
      const how = s.how && s.how !== 'bot' && !howRepeatsStep(s.key, s.how) ? t(lang, 'card.step_how', { how: howLabel(s.how, lang) }) : '';
      line += how + (s.doneAt ? t(lang, 'card.done_by', { name: name(s.doneByStaffId), time: when(s.doneAt) }) : '');
    } else if (s.state === 'not_applicable') {
      line += ` — ${escapeHtml(truncate(notApplicableText(s.naReason, lang), 80))}`;
    } else if (s.condition) {
      line += t(lang, 'card.step_pending_condition', { condition: escapeHtml(conditionText(s.condition, lang)) });
    }
    if (s.note && s.state !== 'not_applicable') line += `\n    💬 ${userText(s.note, 100)}`;
    // The step's receipts from outside parties, and the sanctions under the punishment step.
    for (const r of view.outside?.receipts.filter((x) => x.stepKey === s.key) ?? []) line += `\n${receiptLine(r, lang, when)}`;
    if (isSanctionStep(s.key)) for (const x of view.outside?.sanctions ?? []) line += `\n${sanctionLine(x, lang, when, view.outside?.sanctionNames)}`;
    lines.push(line);
  }

  if (view.searchAttempts.length) {
    lines.push('', t(lang, 'card.search'));
    for (const a of view.searchAttempts.slice(-5)) {
      lines.push(t(lang, 'card.search_line', { time: when(a.at), method: methodLabel(a.method, lang), result: userText(a.result, 80) }));
    }
  }

  if (view.roles.length) {
    lines.push('', t(lang, 'card.roles'));
    for (const role of INCIDENT_ROLES) {
      const holders = view.roles.filter((r) => r.role === role).map((r) => name(r.staffId));
      if (holders.length) lines.push(t(lang, 'card.role_line', { role: roleLabel(role, lang), names: holders.join(lang === 'zh' ? '、' : ', ') }));
    }
  }

  // 三: the plan's activation, the viewer's group duty, the latest instructions and proposals.
  const command = commandCardLines(view.commandPost, view.roles, viewer.actor.staffId, lang, when, view.staffNames);
  if (command.length) lines.push('', ...command);

  if (view.lastUpdate) {
    const u = view.lastUpdate;
    lines.push(
      '',
      t(lang, 'card.last_update', { time: when(u.at), name: name(u.staffId), text: userText(u.text, 300) }) + (u.media ? t(lang, 'card.media_count', { count: u.media }) : ''),
    );
  }

  if (i.closedAt && i.closure === 'false_alarm') {
    lines.push('', t(lang, 'card.false_alarm', { time: when(i.closedAt), name: name(i.closedByStaffId), text: userText(i.falseAlarmReason ?? '', 300) }));
  } else if (i.closedAt) {
    lines.push('', t(lang, 'card.closed', { time: when(i.closedAt), name: name(i.closedByStaffId) }));
    lines.push(t(lang, 'card.close_cause', { text: userText(i.closeCause ?? '', 300) }));
    lines.push(t(lang, 'card.close_lessons', { text: userText(i.closeLessons ?? '', 300) }));
    lines.push(t(lang, 'card.close_measures', { text: userText(i.closeMeasures ?? '', 300) }));
  }

  // A sanction's later decision (a court's, weeks on) may come after closing: the button stays while one is open.
  const closedRow = [...(chat === 'private' && sanctionsToDecide(view, viewer.actor) ? [button(t(lang, 'button.sanction_decide'), { a: 'sanc', i: i.id, k: 'dec' })] : []), button(t(lang, 'button.refresh'), { a: 'card', i: i.id })];
  const keyboard = open ? cardKeyboard(view, viewer.actor, lang, focus, chat) : [closedRow];
  if (focus) lines.push('', focusLine(view, lang, focus));
  return { text: fitMessage(lines), reply_markup: markup(keyboard) };
}

function focusLine(view: IncidentCardView, lang: Lang, focus: CardFocus): string {
  const key = focus.kind === 'how' ? (focus.action === 'upper' ? UPPER_STEP : PROCURATORATE_STEP) : undefined;
  const step = view.steps.find((s) => (key ? s.key === key : s.ordinal === (focus as { ordinal: number }).ordinal));
  if (!step) return '';
  const line = t(lang, 'card.focus_step', { ordinal: step.ordinal, text: escapeHtml(stepText(view.incident.type, view.incident.scenario, step.key, lang, view.incident.policy)) });
  // The numbers the step offers for the incident's office, as plain text: phones make them tappable.
  const contacts = (view.outside?.contacts[step.key] ?? []).map((c) => contactLine(c, lang));
  return [focus.kind === 'how' ? `${line}\n${t(lang, 'card.focus_how')}` : line, ...contacts].join('\n');
}

/** Whether the viewer may decide a sanction of the incident still waiting for one. */
function sanctionsToDecide(view: IncidentCardView, actor: Actor): boolean {
  return canDecideSanction(actor) && (view.outside?.sanctions ?? []).some((x) => !isFinalDecision(x.decision as SanctionDecision));
}

/** Forms (progress, roles, closing, step reasons) open in the private chat only; a group card keeps the one-tap buttons. */
function cardKeyboard(view: IncidentCardView, actor: Actor, lang: Lang, focus: CardFocus | undefined, chat: ChatKind): Keyboard {
  const forms = chat === 'private';
  const i = view.incident;
  const v = i.version;
  const id = i.id;
  const back = button(t(lang, 'button.back'), { a: 'card', i: id });
  if (!canSeeOffice(actor, i.officeUnitId)) return [[back]];

  if (focus?.kind === 'step' && forms) {
    return [
      [
        button(t(lang, 'button.step_done'), { a: 'sdone', i: id, k: String(focus.ordinal), v }),
        button(t(lang, 'button.step_na'), { a: 'sna', i: id, k: String(focus.ordinal), v }),
      ],
      [button(t(lang, 'button.step_note'), { a: 'snote', i: id, k: String(focus.ordinal), v }), back],
      ...outsideRows(view, lang, focus.ordinal),
    ];
  }
  if (focus?.kind === 'how') {
    const step = view.steps.find((s) => s.key === (focus.action === 'upper' ? UPPER_STEP : PROCURATORATE_STEP));
    return [REPORT_HOWS.map((how) => button(howLabel(how, lang), { a: focus.action, i: id, k: how, v })), ...(forms && step ? outsideRows(view, lang, step.ordinal) : []), [back]];
  }

  const rows: Keyboard = [];
  const office = i.officeUnitId;
  const lifecycle = { status: i.status as IncidentStatus, closure: (i.closure as Closure | null) ?? null };
  if (i.status === 'reported' && canAcknowledge(actor)) rows.push([button(t(lang, 'button.ack'), { a: 'ack', i: id, v })]);
  const handle = forms && canHandleIncident(actor, office);
  rows.push([
    ...(handle ? [button(t(lang, 'button.progress'), { a: 'prog', i: id, v })] : []),
    ...(forms && canAssignAnyRole(actor, office) ? [button(t(lang, 'button.assign'), { a: 'asgn', i: id, v })] : []),
  ]);
  const pending = (key: string) => view.steps.find((s) => s.key === key && s.state === 'pending');
  const upper = pending(UPPER_STEP);
  const proc = pending(PROCURATORATE_STEP);
  rows.push([
    ...(upper && canMarkStep(actor, office, upper.actor as StepActor) ? [button(t(lang, 'button.upper'), { a: 'upper', i: id, v })] : []),
    ...(proc && canMarkStep(actor, office, proc.actor as StepActor) ? [button(t(lang, 'button.proc'), { a: 'proc', i: id, v })] : []),
  ]);
  // Progress up the line (forms): 立即上报 for the section while a level is left to tell; 上报上一级's 续报
  // and 终报 once its 首报 is marked, until the 终报 (the domain's reportUpOffers says what still applies).
  const upperDone = view.steps.find((s) => s.key === UPPER_STEP && s.state === 'done');
  const offers = reportUpOffersOf(view);
  if (forms) rows.push([
    ...(offers.forward && isSection(actor) ? [button(t(lang, 'button.forward'), { a: 'fwd', i: id, v })] : []),
    ...(upperDone && offers.upward.length && canMarkStep(actor, office, upperDone.actor as StepActor) ? [button(t(lang, 'button.upward'), { a: 'upw', i: id, v })] : []),
  ]);
  // The command loop (forms): 启动预案 until activated; 批示、指令 for HQ; 处置建议 for the on-site command.
  if (forms) rows.push([
    ...(!view.commandPost?.activation && canActivatePlan(actor) ? [button(t(lang, 'button.activate'), { a: 'cpa', i: id, v })] : []),
    // 升级 / 降级 once activated; the button carries the level shown, so a press from an older card is stale.
    ...(view.commandPost?.activation && canChangeResponseLevel(actor) ? [button(t(lang, 'button.change_level'), { a: 'cpl', i: id, k: currentLevelOf(view.commandPost), v })] : []),
    ...(canIssueOrders(actor, view.roles) ? [button(t(lang, 'button.instruct'), { a: 'cpi', i: id, v })] : []),
    ...(canPropose(actor, view.roles) ? [button(t(lang, 'button.propose'), { a: 'cpp', i: id, v })] : []),
  ]);
  if (forms && i.type === 'absconding' && canMarkStep(actor, office, 'office')) rows.push([button(t(lang, 'button.search'), { a: 'search', i: id, v })]);
  for (const s of forms ? view.steps : []) {
    if (s.state !== 'pending' || s.key === UPPER_STEP || s.key === PROCURATORATE_STEP) continue;
    if (!canMarkStep(actor, office, s.actor as StepActor)) continue;
    rows.push([button(`⬜ ${s.ordinal}. ${truncate(stepText(i.type, i.scenario, s.key, lang, i.policy), 30)}`, { a: 'step', i: id, k: String(s.ordinal), v })]);
  }
  const closeProbe = { kind: 'close' as const, cause: 'x', lessons: 'x', measures: 'x' };
  if (forms) rows.push([
    ...(canCloseIncident(actor, office) && canTransition(lifecycle, closeProbe, actor) ? [button(t(lang, 'button.close'), { a: 'close', i: id, v })] : []),
    ...(isSection(actor) && canTransition(lifecycle, { kind: 'close_false_alarm', reason: 'x' }, actor) ? [button(t(lang, 'button.false_alarm'), { a: 'falarm', i: id, v })] : []),
  ]);
  if (forms && sanctionsToDecide(view, actor)) rows.push([button(t(lang, 'button.sanction_decide'), { a: 'sanc', i: id, k: 'dec', v })]);
  rows.push([...(forms ? [button(t(lang, 'button.timeline'), { a: 'tl', i: id, v })] : []), button(t(lang, 'button.refresh'), { a: 'card', i: id })]);
  return rows;
}

/** A step's own buttons for outside parties and sanctions: 记录回执 where it calls one, 记录处罚 on the punishment step. */
function outsideRows(view: IncidentCardView, lang: Lang, ordinal: number): Keyboard {
  const step = view.steps.find((s) => s.ordinal === ordinal);
  if (!step) return [];
  const i = view.incident;
  const row = [
    ...(callsOutsideParty(step.key) ? [button(t(lang, 'button.record_receipt'), { a: 'opr', i: i.id, k: String(ordinal), v: i.version })] : []),
    ...(isSanctionStep(step.key) ? [button(t(lang, 'button.record_sanction'), { a: 'sanc', i: i.id, k: `n.${ordinal}`, v: i.version })] : []),
  ];
  return row.length ? [row] : [];
}
