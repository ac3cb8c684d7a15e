/**
 * The incident's timeline in the chat: `/timeline <number> [page]`, and the card's 时间线 button. It
 * shows the one timeline read model's entries (who did what, when, how), a page at a time, oldest first,
 * with ‹ › to turn pages in place. Whoever may see the incident by unit and position sees it, as its card;
 * anyone else is refused in the same words whether the incident exists or not.
 */
import type { TimelineEntry } from '../db/read-models/incident-timeline.js';
import type { IncidentRow } from '../db/repositories/incident.repository.js';
import { formatLocal } from '../domain/index.js';
import { parseIncidentNumber } from '../domain/incident-number.js';
import { hasMessage, t, type Lang, type MessageKey } from '../i18n/index.js';
import { escapeHtml, fitMessage, userText } from '../i18n/markup.js';
import { ServiceRefusal } from '../services/errors.js';
import { visibleTimeline } from '../services/incident.service.js';
import { methodLabel, positionLabel, roleLabel, stepText, subjectStatusLabel, timerKindLabel } from '../views/labels.js';
import { commandKindLabel, levelDirectionLabel, responseLevelLabel } from '../views/command-post-view.js';
import type { ButtonAction } from './actions.js';
import { CallbackRefused } from './card-actions.js';
import { whoOf, type Conversation } from './conversation.js';
import type { DeskPlugin } from './desk.js';
import { button, type Keyboard } from './ui.js';

/** Entries a page shows. */
export const TIMELINE_PAGE_SIZE = 8;

/** Pages of a timeline with `count` entries (an empty one has one page, which says so). */
export function pageCount(count: number, size = TIMELINE_PAGE_SIZE): number {
  return Math.max(1, Math.ceil(count / size));
}

export function timelinePlugin(): DeskPlugin {
  return {
    name: 'timeline',
    commands: { timeline: (conv, args) => onTimelineCommand(conv, args) },
    presses: { tl: (conv, action) => onTimelinePress(conv, action) },
  };
}

/** `/timeline 2026-0042` (page 1) or `/timeline 2026-0042 3`. */
export async function onTimelineCommand(conv: Conversation, args: string): Promise<void> {
  const [numberText, pageText, ...rest] = args.trim().split(/\s+/).filter(Boolean);
  const page = pageText === undefined ? 1 : Number(pageText);
  if (!numberText || !parseIncidentNumber(numberText) || rest.length > 0 || !Number.isInteger(page) || page < 1) {
    return void (await conv.send(t(conv.lang, 'timeline.usage')));
  }
  const loaded = await load(conv, { number: numberText });
  if (!loaded) return void (await conv.send(t(conv.lang, 'timeline.refused')));
  const pages = pageCount(loaded.entries.length);
  if (page > pages) return void (await conv.send(t(conv.lang, 'timeline.no_page', { page, pages })));
  const view = renderTimelinePage(conv, loaded, page);
  await conv.send(view.text, view.rows);
}

/**
 * A press: from the card (no page: a new message, page 1) or a page button, `<page>.<entries drawn>`
 * (that message turns to the page). A page the timeline does not have is refused; a page drawn before
 * newer entries still shows, as the timeline is now, and says so.
 */
export async function onTimelinePress(conv: Conversation, cb: ButtonAction): Promise<void> {
  if (!cb.i) throw new CallbackRefused('malformed', 'refuse.bad_button');
  const loaded = await load(conv, { id: cb.i });
  if (!loaded) throw new CallbackRefused('not_found', 'timeline.refused');
  const pages = pageCount(loaded.entries.length);
  if (cb.k === undefined) {
    await conv.answer();
    const view = renderTimelinePage(conv, loaded, 1);
    await conv.send(view.text, view.rows);
    return;
  }
  const [pageText, drawnText] = cb.k.split('.', 2);
  const page = Number(pageText);
  if (!Number.isInteger(page) || page < 1 || page > pages) throw new CallbackRefused('malformed', 'timeline.no_page', undefined, { page: pageText, pages });
  const stale = drawnText !== undefined && Number(drawnText) !== loaded.entries.length;
  await conv.answer(stale ? t(conv.lang, 'timeline.stale') : undefined);
  const view = renderTimelinePage(conv, loaded, page);
  await conv.show(view.text, view.rows);
}

interface LoadedTimeline {
  incident: IncidentRow;
  entries: TimelineEntry[];
  staffNames: Record<string, string>;
}

async function load(conv: Conversation, ref: { id: string } | { number: string }): Promise<LoadedTimeline | undefined> {
  try {
    return await visibleTimeline(conv.deps, whoOf(conv).actor, ref);
  } catch (err) {
    if (err instanceof ServiceRefusal && err.code === 'not_found') return undefined;
    throw err;
  }
}

/** One page: the title with page n/m, its entries, the zone note, and ‹ › and the card. */
export function renderTimelinePage(conv: Pick<Conversation, 'lang' | 'deps'>, loaded: LoadedTimeline, page: number): { text: string; rows: Keyboard } {
  const lang = conv.lang;
  const { incident, entries } = loaded;
  const pages = pageCount(entries.length);
  const shown = entries.slice((page - 1) * TIMELINE_PAGE_SIZE, page * TIMELINE_PAGE_SIZE);
  const lines = [
    `${incident.isDrill ? t(lang, 'drill.prefix') : ''}${t(lang, 'timeline.title', { number: escapeHtml(incident.number), page, pages, count: entries.length })}`,
    '',
    ...(shown.length ? shown.map((e) => entryLine(lang, e, loaded, conv.deps.timeZone)) : [t(lang, 'timeline.empty')]),
    '',
    t(lang, 'timeline.zone', { zone: conv.deps.timeZone }),
  ];
  // The key carries the page and how many entries it was drawn with (not a version: the incident's own
  // buttons carry that, and these are no card's).
  const key = (n: number) => `${n}.${entries.length}`;
  const turn = [
    ...(page > 1 ? [button(t(lang, 'button.timeline_prev'), { a: 'tl', i: incident.id, k: key(page - 1) })] : []),
    ...(page < pages ? [button(t(lang, 'button.timeline_next'), { a: 'tl', i: incident.id, k: key(page + 1) })] : []),
  ];
  const rows: Keyboard = [...(turn.length ? [turn] : []), [button(t(lang, 'button.timeline_card'), { a: 'card', i: incident.id, k: 'open' })]];
  return { text: fitMessage(lines), rows };
}

/** `11-29 10:05 科员丙：签收（按钮）`: when (the bureau's zone, always with the date), who, what, how. */
export function entryLine(lang: Lang, e: TimelineEntry, loaded: Pick<LoadedTimeline, 'incident' | 'staffNames'>, timeZone: string): string {
  const who = e.staffId ? escapeHtml(loaded.staffNames[e.staffId] ?? t(lang, 'timeline.someone')) : t(lang, 'timeline.system');
  return t(lang, 'timeline.entry', {
    at: formatLocal(e.at, timeZone),
    who,
    what: whatText(lang, e, loaded),
    how: t(lang, `timeline.how.${e.how}` as MessageKey),
  });
}

const label = (lang: Lang, key: string, fallback: string) => (hasMessage(key) ? t(lang, key) : fallback);

/** A step's how or a search method, in words; something typed (a county's how) as written. */
function meansText(lang: Lang, means: string): string {
  if (hasMessage(`how.${means}`)) return t(lang, `how.${means}` as MessageKey);
  if (hasMessage(`method.${means}`)) return methodLabel(means, lang);
  return userText(means, 40);
}

function whatText(lang: Lang, e: TimelineEntry, loaded: Pick<LoadedTimeline, 'incident' | 'staffNames'>): string {
  const i = loaded.incident;
  const text = userText(e.text ?? '', 120);
  const means = e.means ? t(lang, 'timeline.means', { means: meansText(lang, e.means) }) : '';
  const step = e.step ? { ordinal: e.step.ordinal, step: escapeHtml(stepText(i.type, i.scenario, e.step.key, lang, i.policy)) } : { ordinal: '', step: '' };
  const sep = lang === 'zh' ? '、' : ', ';
  switch (e.what) {
    case 'progress':
    case 'step_na':
    case 'step_note':
    case 'search':
      return t(lang, `timeline.what.${e.what}`, { text, ...step, means: e.means ? meansText(lang, e.means) : '' });
    case 'step_done':
      return t(lang, 'timeline.what.step_done', { ...step, means });
    case 'role_assigned':
    case 'role_removed': {
      const id = e.role?.staffId;
      const name = escapeHtml((id && loaded.staffNames[id]) || t(lang, 'timeline.someone'));
      return t(lang, `timeline.what.${e.what}`, { name, role: roleLabel(e.role?.role ?? '', lang) });
    }
    case 'search_outcome':
      return t(lang, 'timeline.what.search_outcome', { outcome: label(lang, `timeline.outcome.${e.detail ?? ''}`, t(lang, 'timeline.what.other')) });
    case 'county_named':
    case 'county_notified':
      return t(lang, `timeline.what.${e.what}`, { counties: (e.counties ?? []).map((c) => userText(c, 40)).join(sep), means });
    case 'forwarded': {
      const position = positionLabel(e.detail ?? 'deputy_director', lang);
      return e.text ? t(lang, 'timeline.what.forwarded', { position, text }) : t(lang, 'timeline.what.forwarded_no_note', { position });
    }
    case 'upward_report':
      return t(lang, 'timeline.what.upward_report', {
        phase: label(lang, `upward.phase.${e.detail ?? ''}`, t(lang, 'upward.phase.first')),
        means,
        note: e.text ? t(lang, 'timeline.with_note', { text }) : '',
      });
    case 'timer': {
      const kind = timerKindLabel(e.timer?.kind ?? '', lang);
      const count = e.timer?.recipients ?? 0;
      return (e.timer?.level ?? 0) > 0 ? t(lang, 'timeline.what.timer_level', { kind, level: e.timer!.level, count }) : t(lang, 'timeline.what.timer', { kind, count });
    }
    case 'subject':
      return e.detail && hasMessage(`subject_status.${e.detail}`) ? t(lang, 'timeline.what.subject', { status: subjectStatusLabel(e.detail, lang) }) : t(lang, 'timeline.what.subject_other');
    case 'written_report': {
      const verb = e.detail ?? '';
      const decision = hasMessage(`timeline.wr.${verb}`) ? t(lang, `timeline.wr.${verb}` as MessageKey) : label(lang, `wr.decision.${verb}`, t(lang, 'timeline.what.other'));
      return t(lang, 'timeline.what.written_report', { decision });
    }
    case 'activated':
      return t(lang, 'timeline.what.activated', { level: escapeHtml(responseLevelLabel(e.detail ?? '', lang)) });
    case 'level_changed':
      return t(lang, 'timeline.what.level_changed', {
        direction: levelDirectionLabel(e.detail ?? 'change', lang),
        from: escapeHtml(responseLevelLabel(e.levels?.from ?? '', lang)),
        to: escapeHtml(responseLevelLabel(e.levels?.to ?? '', lang)),
        text,
      });
    case 'command_message':
    case 'command_receipt':
      return t(lang, `timeline.what.${e.what}`, { kind: escapeHtml(commandKindLabel(e.detail ?? '', lang)), text });
    default:
      return t(lang, `timeline.what.${e.what}` as MessageKey);
  }
}
