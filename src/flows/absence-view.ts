/**
 * The absence process in the chat, outside its forms: /away's menu, the list of stays with their phase
 * (upcoming, away, overdue) and the requests waiting, the requests waiting for this person's decision
 * (one message each, with 批准 / 不批准), and the presses on those buttons and on the notices' (批准,
 * 不批准, 销假, 续假, 取消外出). Every press is checked again by the use case.
 */
import { absencesOwingBetween, findAbsenceRequest, pendingAbsenceRequests, type AbsenceRow } from '../db/repositories/absence.repository.js';
import { contactsOn } from '../db/repositories/contact-log.repository.js';
import { listSubjects } from '../db/repositories/subject.repository.js';
import { absencePhase, type AbsencePhase } from '../domain/absence.js';
import { addDays, hasBureauWideView, keepsSubjectRecords, localDate } from '../domain/index.js';
import { t, type MessageKey } from '../i18n/index.js';
import { truncate, userText } from '../i18n/markup.js';
import { approveAbsenceRequest, decidesAbsences, getAbsence, requestsToDecide } from '../services/absence.service.js';
import { ServiceRefusal } from '../services/errors.js';
import { getSubject, subjectsByIds, type SubjectView } from '../services/subject.service.js';
import { contactResultLabel } from '../views/labels.js';
import type { ButtonAction } from './actions.js';
import { labelOf } from './absence-common.js';
import { absenceCancelFlow, absenceRejectFlow, absenceReturnFlow, requestSummary } from './absence-decision.flow.js';
import { absenceExtendFlow, absenceFlow, extensionIntro, levelLabel } from './absence.flow.js';
import { CallbackRefused } from './card-actions.js';
import { whoOf, type Conversation } from './conversation.js';
import type { FlowEngine } from './engine.js';
import { button, type Keyboard } from './ui.js';

/** Most stays and requests one list shows (a message has room for about this many lines and buttons). */
const LIST_MAX = 40;
/** Most requests to decide sent at once, one message each. */
const PENDING_MAX = 10;

const PHASES_LISTED: readonly AbsencePhase[] = ['overdue', 'away', 'upcoming'];

/** Refusals of a press that have words of their own (`absence.refuse.<detail>`). */
const PRESS_DETAILS: ReadonlySet<string> = new Set(['ended_already', 'supervision_ended', 'absconded', 'not_extendable']);

/** A refusal of the absence process as the press's answer, audited and told by the desk; any other error as it is. */
function refused(err: unknown, maxDays: number): never {
  if (err instanceof ServiceRefusal && err.detail === 'approver_level') throw new CallbackRefused('not_permitted', 'absence.refuse.approver_level');
  if (err instanceof ServiceRefusal && err.detail && PRESS_DETAILS.has(err.detail) && (err.code === 'invalid_input' || err.code === 'wrong_status')) {
    throw new CallbackRefused(err.code, `absence.refuse.${err.detail}` as MessageKey, undefined, { days: maxDays });
  }
  throw err;
}

export async function sendAwayMenu(conv: Conversation): Promise<void> {
  const { actor } = whoOf(conv);
  const rows: Keyboard = [[button(t(conv.lang, 'button.away_register'), { a: 'away', k: 'new' }), button(t(conv.lang, 'button.away_list'), { a: 'away', k: 'list' })]];
  if (decidesAbsences(actor)) {
    const pending = await requestsToDecide(conv.deps, actor);
    rows.push([button(t(conv.lang, 'absence.button.pending', { count: pending.length }), { a: 'away', k: 'pending' })]);
  }
  await conv.send(t(conv.lang, 'away.menu'), rows);
}

interface ListedStay {
  subject: SubjectView;
  absence: AbsenceRow;
  phase: AbsencePhase;
}

/** Stays in the viewer's reach that are upcoming, away or overdue today; a stay an extension carries on is left out (the extension stands for it). */
async function staysInReach(conv: Conversation, today: string): Promise<ListedStay[]> {
  const { actor } = whoOf(conv);
  const deps = conv.deps;
  const policy = await deps.policy();
  const scope = hasBureauWideView(actor) ? {} : { officeUnitId: actor.unitId };
  const rows = await listSubjects(deps.db, { ...scope, notStatus: 'terminated' });
  if (rows.length === 0) return [];
  // A stay overdue longer than the longest stay would be under an absconding report by then.
  const stays = await absencesOwingBetween(deps.db, rows.map((r) => r.id), addDays(today, -policy.absence.maxDays), addDays(today, policy.absence.maxDays));
  const carriedOn = new Set(stays.filter((a) => a.extendsAbsenceId).map((a) => a.extendsAbsenceId!));
  const subjects = await subjectsByIds(deps, [...new Set(stays.map((a) => a.subjectId))]);
  const out: ListedStay[] = [];
  for (const absence of stays) {
    if (carriedOn.has(absence.id)) continue;
    const phase = absencePhase({ ...absence, tracked: absence.approvedAt !== null }, today);
    const subject = subjects.get(absence.subjectId);
    if (subject && PHASES_LISTED.includes(phase)) out.push({ subject, absence, phase });
  }
  const order = (p: AbsencePhase) => PHASES_LISTED.indexOf(p);
  return out.sort((a, b) => order(a.phase) - order(b.phase) || a.absence.startsOn.localeCompare(b.absence.startsOn) || a.subject.code.localeCompare(b.subject.code));
}

/** /away's list: overdue first, then away with today's contact, then upcoming; the requests waiting; a contact and a 销假 button per stay begun. */
export async function sendAwayList(conv: Conversation): Promise<void> {
  const { actor } = whoOf(conv);
  const deps = conv.deps;
  const lang = conv.lang;
  const today = localDate(deps.clock.now(), deps.timeZone);
  const stays = await staysInReach(conv, today);
  const pending = await pendingAbsenceRequests(deps.db, hasBureauWideView(actor) ? {} : { officeUnitId: actor.unitId });
  const lines = [t(lang, 'away.list_title', { date: today })];
  if (stays.length === 0 && pending.length === 0) {
    lines.push(t(lang, 'away.list_none'));
    await conv.send(lines.join('\n'));
    return;
  }
  const contacts = await contactsOn(deps.db, stays.map((s) => s.subject.id), today);
  const rows: Keyboard = [];
  for (const s of stays.slice(0, LIST_MAX)) {
    const label = await labelOf(conv, s.subject);
    const last = contacts.filter((c) => c.subjectId === s.subject.id).at(-1);
    const begun = s.phase !== 'upcoming';
    lines.push(
      t(lang, 'away.list_line', {
        subject: label,
        destination: userText(s.absence.destination, 40),
        start: s.absence.startsOn,
        end: s.absence.endsOn,
        phase: t(lang, `absence_phase.${s.phase}`),
        status: begun ? (last ? contactResultLabel(last.result, lang) : t(lang, 'away.not_contacted')) : '—',
      }),
    );
    if (begun) {
      rows.push([
        button(truncate(t(lang, 'button.log_contact', { subject: label }), 40), { a: 'contact', i: s.subject.id }),
        button(t(lang, 'notice.button.return'), { a: 'away', i: s.absence.id, k: 'ret' }),
      ]);
    }
  }
  if (stays.length > LIST_MAX) lines.push(t(lang, 'notice.list_more', { count: stays.length - LIST_MAX }));
  if (pending.length) {
    lines.push('', t(lang, 'away.pending_title', { count: pending.length }));
    const subjects = await subjectsByIds(deps, pending.map((p) => p.subject.id));
    for (const { request } of pending.slice(0, LIST_MAX)) {
      const subject = subjects.get(request.subjectId);
      if (!subject) continue;
      lines.push(t(lang, 'away.pending_line', { subject: await labelOf(conv, subject), start: request.startsOn, end: request.endsOn, level: levelLabel(conv, request.approverLevel) }));
    }
  }
  await conv.send(lines.join('\n'), rows);
}

/** The requests waiting for this person's decision, one message each with 批准 / 不批准 (as the notice has them). */
export async function sendPendingRequests(conv: Conversation): Promise<void> {
  const { actor } = whoOf(conv);
  const pending = await requestsToDecide(conv.deps, actor);
  if (pending.length === 0) return void (await conv.send(t(conv.lang, 'absence.pending_none')));
  for (const { request } of pending.slice(0, PENDING_MAX)) {
    const text = [await requestSummary(conv, request.id), t(conv.lang, request.reason ? 'absence.request_reason' : 'absence.request_no_reason', { reason: userText(request.reason ?? '', 200) })].join('\n');
    await conv.send(text, decisionButtons(conv, request.id, request.version));
  }
  if (pending.length > PENDING_MAX) await conv.send(t(conv.lang, 'notice.list_more', { count: pending.length - PENDING_MAX }));
}

function decisionButtons(conv: Conversation, requestId: string, version: number): Keyboard {
  return [[button(t(conv.lang, 'notice.button.approve'), { a: 'areq', i: requestId, k: 'ok', v: version }), button(t(conv.lang, 'notice.button.reject'), { a: 'areq', i: requestId, k: 'no', v: version })]];
}

async function subjectInReach(conv: Conversation, subjectId: string): Promise<SubjectView> {
  try {
    return await getSubject(conv.deps, whoOf(conv).actor, subjectId);
  } catch (err) {
    if (err instanceof ServiceRefusal) throw new CallbackRefused('not_found', 'refuse.not_found');
    throw err;
  }
}

async function stayInReach(conv: Conversation, absenceId: string): Promise<AbsenceRow> {
  try {
    return (await getAbsence(conv.deps, whoOf(conv).actor, absenceId)).absence;
  } catch (err) {
    if (err instanceof ServiceRefusal) throw new CallbackRefused('not_found', 'refuse.not_found');
    throw err;
  }
}

/** `away` presses: the menu's (new, list, pending) and a stay's (ret 销假, ext 续假, cancel). */
export async function onAwayPress(conv: Conversation, cb: ButtonAction, engine: FlowEngine): Promise<void> {
  const { actor } = whoOf(conv);
  const bad = () => new CallbackRefused('malformed', 'refuse.bad_button');
  switch (cb.k) {
    case 'list':
      await conv.answer();
      return sendAwayList(conv);
    case 'pending':
      await conv.answer();
      return sendPendingRequests(conv);
    case 'new': {
      if (!keepsSubjectRecords(actor)) throw new CallbackRefused('not_permitted', 'refuse.not_permitted');
      if (cb.i) {
        const subject = await subjectInReach(conv, cb.i);
        await conv.answer();
        await engine.start(conv, absenceFlow, 'destination', { subjectId: subject.id });
      } else {
        await conv.answer();
        await engine.start(conv, absenceFlow, 'subject', {});
      }
      return;
    }
    case 'ret':
    case 'ext':
    case 'cancel': {
      if (!cb.i) throw bad();
      if (!keepsSubjectRecords(actor)) throw new CallbackRefused('not_permitted', 'refuse.not_permitted');
      const stay = await stayInReach(conv, cb.i);
      if (stay.returnedAt || stay.cancelledAt) throw new CallbackRefused('already_done', 'absence.refuse.stay_over');
      await conv.answer();
      if (cb.k === 'ret') await engine.start(conv, absenceReturnFlow, 'how', { absenceId: stay.id });
      else if (cb.k === 'ext') await engine.start(conv, absenceExtendFlow, 'end', { absenceId: stay.id }, { note: await extensionIntro(conv, stay.id) });
      else await engine.start(conv, absenceCancelFlow, 'confirm', { absenceId: stay.id });
      return;
    }
    default:
      throw bad();
  }
}

/** `areq` presses, on a request's notice or on the list of requests to decide: ok (批准, at once) or no (不批准, asks the reason). */
export async function onAbsenceRequestPress(conv: Conversation, cb: ButtonAction, engine: FlowEngine): Promise<void> {
  const { actor } = whoOf(conv);
  if (!cb.i || (cb.k !== 'ok' && cb.k !== 'no')) throw new CallbackRefused('malformed', 'refuse.bad_button');
  const request = await findAbsenceRequest(conv.deps.db, cb.i);
  if (!request) throw new CallbackRefused('not_found', 'refuse.not_found');
  await subjectInReach(conv, request.subjectId);
  if (request.state !== 'requested') throw new CallbackRefused('already_done', 'absence.refuse.decided');
  const policy = await conv.deps.policy();
  if (cb.k === 'no') {
    // Asked before the reason is typed: the level that may decide it, exactly as the use case checks.
    if (!(await requestsToDecide(conv.deps, actor)).some((r) => r.request.id === request.id)) throw new CallbackRefused('not_permitted', 'absence.refuse.approver_level');
    await conv.answer();
    await engine.start(conv, absenceRejectFlow, 'reason', { requestId: request.id, ...(cb.v !== undefined ? { version: cb.v } : {}), ...(conv.pressedMessageId !== undefined ? { noticeMessageId: conv.pressedMessageId } : {}) });
    return;
  }
  let approved: Awaited<ReturnType<typeof approveAbsenceRequest>>;
  try {
    approved = await approveAbsenceRequest(conv.deps, actor, request.id, cb.v);
  } catch (err) {
    refused(err, policy.absence.maxDays);
  }
  const subject = await labelOf(conv, await subjectInReach(conv, request.subjectId));
  await conv.answer(t(conv.lang, 'absence.approved_short'));
  if (conv.pressedMessageId !== undefined) await conv.retire(conv.pressedMessageId);
  await conv.send(t(conv.lang, 'absence.approved_by_you', { subject, start: approved.request.startsOn, end: approved.request.endsOn, time: policy.dailyContact.reminderAt }));
}
