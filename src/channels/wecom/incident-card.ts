/**
 * The incident card as WeCom shows it. Telegram's card (src/channels/telegram/views/incident-card.ts)
 * is one long message with a button per step; a WeCom button card holds 6 buttons and little text, so:
 * - the card shows the counts and what is next: the subject, when it was found, the checklist's
 *   done/total, the next due step, the nearest deadline, who acknowledged (horizontal rows), and the
 *   latest 续报 or the description; above it, in the card's text, the sensitive period of a type 十 report,
 *   the viewer's group duty, and the command loop's 批示、指令 and 处置建议 as counts and the latest two
 *   (`commandSummaryLines`); the response level in force is among the flags;
 * - its buttons are the actions this viewer may take, most urgent first (签收, 续报, 📋 处置清单,
 *   上报上一级, 通报检察院, 查找记录, 指派, 结案, 误报, 刷新); past 6, the first 5 and 更多…;
 * - 📋 处置清单 opens the steps as a choice card (`checklistChoice`), the whole list above it; a step
 *   picked there opens that step on the card (已完成 / 不适用 / 备注 / 返回), as Telegram's step button does;
 * - a closed incident's card keeps only 刷新.
 * What the card shows is the one view model both channels read (src/views/incident-card-view.ts); who
 * may press what are the same rules as Telegram's: the domain's.
 */
import {
  canAcknowledge,
  canAssignAnyRole,
  canCloseIncident,
  canHandleIncident,
  canMarkStep,
  canSeeOffice,
  canTransition,
  formatLocal,
  isOpen,
  isSection,
  nextDeadlines,
  type Actor,
  type Closure,
  type IncidentStatus,
  type PiiMode,
  type StepActor,
} from '../../domain/index.js';
import { PROCURATORATE_STEP, REPORT_HOWS, UPPER_STEP } from '../../domain/upward-steps.js';
import type { CardFocus } from '../../flows/conversation.js';
import { button } from '../../flows/ui.js';
import { t, type Lang } from '../../i18n/index.js';
import { escapeHtml, fitMessage, truncate, userText } from '../../i18n/markup.js';
import { loadIncidentCardView, reportUpOffersOf, sensitivePeriodLine, type IncidentCardView } from '../../views/incident-card-view.js';
import { contactLine, outOfSupervisionLine } from '../../views/outside-party-view.js';
import { callsOutsideParty } from '../../domain/outside-parties.js';
import { isSanctionStep } from '../../domain/sanctions.js';
import { commandCardLines, commandKindLabel, currentLevelOf, responseLevelLabel } from '../../views/command-post-view.js';
import { canActivatePlan, canChangeResponseLevel, canIssueOrders, canPropose, groupsOf } from '../../domain/command-post.js';
import { criticalityLabel, howLabel, notApplicableText, statusLabel, stepText, subjectText, timerKindLabel, typeLabel } from '../../views/labels.js';
import { encodeButtonKey, stepsKey } from './button-keys.js';
import { CARD_TEXT, cardButtons, type CardButtonSpec, type CardSpec } from './render.js';
import type { ChoiceSpec } from './messenger.js';

/** The card's view model and its loader, the ones Telegram's card reads too, under the names the adapter's callers use. */
export type WecomCardView = IncidentCardView;
export const loadWecomCardView = loadIncidentCardView;

export interface WecomCardContext {
  actor: Actor;
  lang: Lang;
  now: Date;
  timeZone: string;
  piiMode: PiiMode;
}

const STEP_ICON = { pending: '⬜', done: '✅', not_applicable: '➖' } as const;

const applicableOf = (view: IncidentCardView) => view.steps.filter((s) => s.state !== 'not_applicable');

/** The card's title line: the incident's number and type, the drill mark first. */
function titleOf(view: IncidentCardView, lang: Lang): string {
  const i = view.incident;
  return `${i.isDrill ? t(lang, 'drill.prefix') : ''}${i.criticality === 'critical' ? '🔴' : '🟠'} ${i.number} ${typeLabel(i.type, lang, i.scenario)}`;
}

/** The card, for one viewer: counts and what is next, and the buttons they may use. */
export function renderWecomIncidentCard(view: IncidentCardView, ctx: WecomCardContext, focus?: CardFocus): CardSpec {
  const { lang, now } = ctx;
  const i = view.incident;
  const when = (d: Date) => formatLocal(d, ctx.timeZone, now);
  const name = (id: string | null | undefined) => (id && view.staffNames[id]) || t(lang, 'card.someone');
  const flags = [statusLabel(i.status, lang), criticalityLabel(i.criticality, lang)];
  if (i.lateReport) flags.push(t(lang, 'card.late'));
  if (i.isDrill) flags.push(t(lang, 'card.drill'));
  // The response level in force (after a 升级 / 降级, the new one).
  const level = currentLevelOf(view.commandPost);
  if (level) flags.push(responseLevelLabel(level, lang));

  const applicable = applicableOf(view);
  const done = applicable.filter((s) => s.state === 'done').length;
  const nextStep = view.steps.find((s) => s.state === 'pending');
  const [deadline] = nextDeadlines(view.pendingTimers, now, 1);
  const horizontal = [
    { keyname: t(lang, 'wecom.card.key.subject'), value: subjectText(view.subject, ctx.piiMode, 'private', lang, i.subjectNote ? truncate(i.subjectNote, 40) : null) },
    { keyname: t(lang, 'wecom.card.key.discovered'), value: when(i.discoveredAt) },
    { keyname: t(lang, 'wecom.card.key.checklist'), value: t(lang, 'wecom.card.value.checklist', { done, total: applicable.length }) },
    {
      keyname: t(lang, 'wecom.card.key.next_step'),
      value: nextStep ? `${nextStep.ordinal}. ${stepText(i.type, i.scenario, nextStep.key, lang, i.policy)}` : t(lang, 'wecom.card.value.none'),
    },
    {
      keyname: t(lang, 'wecom.card.key.deadline'),
      value: deadline
        ? t(lang, deadline.overdue ? 'wecom.card.value.overdue' : 'wecom.card.value.deadline', { time: when(deadline.dueAt), kind: timerKindLabel(deadline.kind, lang) })
        : t(lang, 'wecom.card.value.none'),
    },
    {
      keyname: t(lang, 'wecom.card.key.ack'),
      value: i.acknowledgedAt ? `${name(i.acknowledgedByStaffId)} ${when(i.acknowledgedAt)}` : t(lang, 'wecom.card.value.not_acked'),
    },
  ];

  let subtitle: string;
  if (focus) subtitle = focusText(view, lang, focus);
  else if (i.closedAt) subtitle = i.closure === 'false_alarm' ? t(lang, 'card.false_alarm', { time: when(i.closedAt), name: name(i.closedByStaffId), text: i.falseAlarmReason ?? '' }) : t(lang, 'card.closed', { time: when(i.closedAt), name: name(i.closedByStaffId) });
  else if (view.lastUpdate) subtitle = t(lang, 'card.last_update', { time: when(view.lastUpdate.at), name: name(view.lastUpdate.staffId), text: view.lastUpdate.text });
  else subtitle = t(lang, 'card.description', { text: i.description });
  // 三: the 批示、指令 and 处置建议 — counted, and the latest few with their receipts — under the duty.
  const command = focus ? [] : commandSummaryLines(view, lang, name);
  if (command.length) subtitle = `${command.join('\n')}\n${subtitle}`;
  // The viewer's group duty comes first (one line): it is what they are there for.
  if (!focus && groupsOf(ctx.actor.staffId, view.roles).length) {
    const duty = commandCardLines({ activation: null, messages: [], staffNames: {} }, view.roles, ctx.actor.staffId, lang, when, view.staffNames);
    subtitle = `${duty.join('\n')}\n${subtitle}`;
  }

  // 十: the 特殊敏感时间段 the report was linked to, one line.
  if (view.sensitivePeriod && !focus) subtitle = `${sensitivePeriodLine(view.sensitivePeriod, lang, (s) => s)}\n${subtitle}`;

  // 脱管: the time out of supervision comes first, one line.
  const absent = outOfSupervisionLine(i, view.outside, lang, now, ctx.timeZone);
  if (absent && !focus) subtitle = `${absent}\n${subtitle}`;

  const open = isOpen(i.status as IncidentStatus);
  const buttons = open ? cardButtonsFor(view, ctx.actor, lang, focus) : cardButtons([[button(t(lang, 'button.refresh'), { a: 'card', i: i.id })]]);
  return {
    title: titleOf(view, lang),
    desc: flags.join(' · '),
    // The card's text is plain: tags and escapes of the catalogue's markup do not belong on it.
    subtitle: truncate(stripTags(subtitle), CARD_TEXT.subtitle),
    horizontal,
    buttons,
  };
}

/** The latest 批示、指令 and 处置建议 the WeCom card names (its text has room for little; the timeline has them all). */
export const WECOM_CARD_MESSAGES = 2;

/**
 * The command loop's messages as WeCom's card text has room for them: one line of counts (批示、指令,
 * 处置建议, how many nobody has received yet), then the latest few, each cut short, with how many received
 * it or that nobody has. Telegram's card lists the latest three in full with the names of who received them.
 */
export function commandSummaryLines(view: IncidentCardView, lang: Lang, name: (id: string) => string): string[] {
  const messages = view.commandPost?.messages ?? [];
  if (messages.length === 0) return [];
  const proposals = messages.filter((m) => m.kind === 'proposal').length;
  const lines = [
    t(lang, 'wecom.card.command_counts', { orders: messages.length - proposals, proposals, waiting: messages.filter((m) => m.receipts.length === 0).length }),
  ];
  const nameOf = (id: string) => view.commandPost?.staffNames[id] ?? name(id);
  for (const m of messages.slice(-WECOM_CARD_MESSAGES).reverse()) {
    const state = m.receipts.length ? t(lang, 'wecom.card.command_received', { count: m.receipts.length }) : t(lang, 'wecom.card.command_waiting');
    lines.push(t(lang, 'wecom.card.command_line', { name: nameOf(m.fromStaffId), kind: commandKindLabel(m.kind, lang), text: truncate(m.text, 24), state }));
  }
  return lines;
}

const stripTags = (s: string): string => s.replace(/<\/?(b|i|code)>/g, '');

function focusText(view: IncidentCardView, lang: Lang, focus: CardFocus): string {
  const key = focus.kind === 'how' ? (focus.action === 'upper' ? UPPER_STEP : PROCURATORATE_STEP) : undefined;
  const step = view.steps.find((s) => (key ? s.key === key : s.ordinal === (focus as { ordinal: number }).ordinal));
  if (!step) return '';
  const line = t(lang, 'card.focus_step', { ordinal: step.ordinal, text: stepText(view.incident.type, view.incident.scenario, step.key, lang, view.incident.policy) });
  // The numbers the step offers for the incident's office, as text (WeCom makes no link of them).
  const contacts = (view.outside?.contacts[step.key] ?? []).map((c) => contactLine(c, lang));
  return [focus.kind === 'how' ? `${line}\n${t(lang, 'card.focus_how')}` : line, ...contacts].join('\n');
}

/** The viewer's buttons, most urgent first; the adapter puts what does not fit behind 更多…. */
function cardButtonsFor(view: IncidentCardView, actor: Actor, lang: Lang, focus: CardFocus | undefined): CardButtonSpec[] {
  const i = view.incident;
  const id = i.id;
  const v = i.version;
  const office = i.officeUnitId;
  const back = button(t(lang, 'button.back'), { a: 'card', i: id });
  if (!canSeeOffice(actor, office)) return cardButtons([[back]]);
  if (focus?.kind === 'step') {
    const k = String(focus.ordinal);
    return cardButtons([
      [button(t(lang, 'button.step_done'), { a: 'sdone', i: id, k, v }), button(t(lang, 'button.step_na'), { a: 'sna', i: id, k, v })],
      [button(t(lang, 'button.step_note'), { a: 'snote', i: id, k, v }), back],
      ...outsideButtons(view, lang, focus.ordinal),
    ]);
  }
  if (focus?.kind === 'how') {
    const step = view.steps.find((s) => s.key === (focus.action === 'upper' ? UPPER_STEP : PROCURATORATE_STEP));
    return cardButtons([REPORT_HOWS.map((how) => button(howLabel(how, lang), { a: focus.action, i: id, k: how, v })), ...(step ? outsideButtons(view, lang, step.ordinal) : []), [back]]);
  }

  const pending = (key: string) => view.steps.find((s) => s.key === key && s.state === 'pending');
  const upper = pending(UPPER_STEP);
  const proc = pending(PROCURATORATE_STEP);
  const lifecycle = { status: i.status as IncidentStatus, closure: (i.closure as Closure | null) ?? null };
  const closeProbe = { kind: 'close' as const, cause: 'x', lessons: 'x', measures: 'x' };
  const out: CardButtonSpec[] = [];
  const add = (text: string, action: Parameters<typeof encodeButtonKey>[0]) => out.push({ text: truncate(text, CARD_TEXT.button), key: encodeButtonKey(action) });
  if (i.status === 'reported' && canAcknowledge(actor)) add(t(lang, 'button.ack'), { a: 'ack', i: id, v });
  if (canHandleIncident(actor, office)) add(t(lang, 'button.progress'), { a: 'prog', i: id, v });
  if (view.steps.length) out.push({ text: t(lang, 'wecom.button.steps'), key: stepsKey(id) });
  if (upper && canMarkStep(actor, office, upper.actor as StepActor)) add(t(lang, 'button.upper'), { a: 'upper', i: id, v });
  if (proc && canMarkStep(actor, office, proc.actor as StepActor)) add(t(lang, 'button.proc'), { a: 'proc', i: id, v });
  if (i.type === 'absconding' && canMarkStep(actor, office, 'office')) add(t(lang, 'button.search'), { a: 'search', i: id, v });
  const offers = reportUpOffersOf(view);
  if (offers.forward && isSection(actor)) add(t(lang, 'button.forward'), { a: 'fwd', i: id, v });
  const upperDone = view.steps.find((s) => s.key === UPPER_STEP && s.state === 'done');
  if (upperDone && offers.upward.length && canMarkStep(actor, office, upperDone.actor as StepActor)) add(t(lang, 'button.upward'), { a: 'upw', i: id, v });
  if (!view.commandPost?.activation && canActivatePlan(actor)) add(t(lang, 'button.activate'), { a: 'cpa', i: id, v });
  if (view.commandPost?.activation && canChangeResponseLevel(actor)) add(t(lang, 'button.change_level'), { a: 'cpl', i: id, k: currentLevelOf(view.commandPost), v });
  if (canIssueOrders(actor, view.roles)) add(t(lang, 'button.instruct'), { a: 'cpi', i: id, v });
  if (canPropose(actor, view.roles)) add(t(lang, 'button.propose'), { a: 'cpp', i: id, v });
  if (canAssignAnyRole(actor, office)) add(t(lang, 'button.assign'), { a: 'asgn', i: id, v });
  if (canCloseIncident(actor, office) && canTransition(lifecycle, closeProbe, actor)) add(t(lang, 'button.close'), { a: 'close', i: id, v });
  if (isSection(actor) && canTransition(lifecycle, { kind: 'close_false_alarm', reason: 'x' }, actor)) add(t(lang, 'button.false_alarm'), { a: 'falarm', i: id, v });
  add(t(lang, 'button.timeline'), { a: 'tl', i: id, v });
  add(t(lang, 'button.refresh'), { a: 'card', i: id });
  return out;
}

/**
 * 处置清单 as a choice: the pending steps this viewer may mark (上报上一级 and 通报检察院 open the choice of
 * how), and the whole list — done, not applicable, pending — as the message above it.
 */
export function checklistChoice(view: IncidentCardView, ctx: WecomCardContext, parentMessageId: number): ChoiceSpec | { none: string } {
  const { lang } = ctx;
  const i = view.incident;
  const when = (d: Date) => formatLocal(d, ctx.timeZone, ctx.now);
  const name = (id: string | null | undefined) => escapeHtml((id && view.staffNames[id]) || t(lang, 'card.someone'));
  const applicable = applicableOf(view);
  const done = applicable.filter((s) => s.state === 'done').length;
  const title = t(lang, 'wecom.steps.title', { number: i.number, done, total: applicable.length });
  const lines = [`<b>${escapeHtml(title)}</b>`];
  for (const s of view.steps) {
    let line = `${STEP_ICON[s.state as keyof typeof STEP_ICON] ?? '⬜'} ${s.ordinal}. ${escapeHtml(stepText(i.type, i.scenario, s.key, lang, i.policy))}`;
    if (s.state === 'done' && s.doneAt) line += t(lang, 'card.done_by', { name: name(s.doneByStaffId), time: when(s.doneAt) });
    else if (s.state === 'not_applicable') line += ` — ${escapeHtml(truncate(notApplicableText(s.naReason, lang), 60))}`;
    if (s.note && s.state !== 'not_applicable') line += `\n    💬 ${userText(s.note, 100)}`;
    lines.push(line);
  }
  const open = isOpen(i.status as IncidentStatus) && canSeeOffice(ctx.actor, i.officeUnitId);
  const options = open
    ? view.steps
        .filter((s) => s.state === 'pending' && canMarkStep(ctx.actor, i.officeUnitId, s.actor as StepActor))
        .map((s) => {
          const text = `${s.ordinal}. ${stepText(i.type, i.scenario, s.key, lang, i.policy)}`;
          const action =
            s.key === UPPER_STEP ? { a: 'upper' as const, i: i.id, v: i.version } : s.key === PROCURATORATE_STEP ? { a: 'proc' as const, i: i.id, v: i.version } : { a: 'step' as const, i: i.id, k: String(s.ordinal), v: i.version };
          return { text, key: encodeButtonKey(action) };
        })
    : [];
  const list = fitMessage(lines);
  if (options.length === 0) return { none: fitMessage([...lines, '', escapeHtml(t(lang, 'wecom.steps.none'))]) };
  return { title, subtitle: t(lang, 'wecom.steps.pick'), preface: list, options, parentMessageId };
}

/** A step's buttons for outside parties and sanctions: 记录回执 where it calls one, 记录处罚 on the punishment step. */
function outsideButtons(view: IncidentCardView, lang: Lang, ordinal: number) {
  const step = view.steps.find((s) => s.ordinal === ordinal);
  if (!step) return [];
  const i = view.incident;
  const row = [
    ...(callsOutsideParty(step.key) ? [button(t(lang, 'button.record_receipt'), { a: 'opr', i: i.id, k: String(ordinal), v: i.version })] : []),
    ...(isSanctionStep(step.key) ? [button(t(lang, 'button.record_sanction'), { a: 'sanc', i: i.id, k: `n.${ordinal}`, v: i.version })] : []),
  ];
  return row.length ? [row] : [];
}
