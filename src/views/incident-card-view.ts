/**
 * What an incident's card shows, whatever the channel: read once from the incident timeline read model
 * and the pending timers. Each channel renders it in its own form — Telegram's one long message with a
 * button per step (src/channels/telegram/views/incident-card.ts), WeCom's card of counts and what is next
 * (src/channels/wecom/incident-card.ts) — for the viewer, by the domain's rules of who may press what.
 */
import type { Executor } from '../db/client.js';
import type { PiiCipher } from '../db/pii-crypto.js';
import { loadIncidentTimeline, type IncidentTimelineView } from '../db/read-models/incident-timeline.js';
import type { IncidentRow, StepRow } from '../db/repositories/incident.repository.js';
import { pendingTimers, type TimerRow } from '../db/repositories/timer.repository.js';
import { loadCommandRecord } from '../db/repositories/command-post.repository.js';
import { commandCardViewOf, type CommandCardView } from './command-post-view.js';
import { loadOutsideCardView, type OutsideCardView } from './outside-party-view.js';
import { upwardPhasesOf } from '../db/repositories/incident.repository.js';
import { loadOrgSnapshot } from '../db/repositories/org.repository.js';
import { findSensitivePeriod } from '../db/repositories/sensitive-period.repository.js';
import { informedOf } from '../db/repositories/timer-context.repository.js';
import { FORWARD_LEVELS, isOpen, nextLevelToForward, resolveTarget, type IncidentStatus, type SubjectIdentity, type TimerKind, type TimerTarget } from '../domain/index.js';
import { t, type Lang } from '../i18n/index.js';
import { reportUpOffers, UPPER_STEP, type UpwardPhase } from '../domain/upward-steps.js';

export interface IncidentCardView {
  incident: IncidentRow;
  steps: StepRow[];
  roles: Array<{ role: string; staffId: string }>;
  /** The latest 续报, with how many photos or files came with it. */
  lastUpdate: { text: string; at: Date; staffId: string; media: number } | null;
  pendingTimers: Array<{ kind: TimerKind; level: number; dueAt: Date; target: TimerTarget }>;
  /** Decrypted; the renderer masks it per PII_MODE and chat kind. */
  subject: SubjectIdentity | null;
  office: { name: string; nameEn: string | null } | undefined;
  /** The reporter's own unit. */
  reporterUnit?: { name: string; nameEn: string | null } | undefined;
  /** Names of the staff the card mentions, by id. */
  staffNames: Record<string, string>;
  searchAttempts: Array<{ method: string; result: string; found: boolean; at: Date }>;
  /** 三: the plan's activation and the command loop's messages with their receipts (absent: nothing to show). */
  commandPost?: CommandCardView;
  /** Receipts from outside parties, the contacts a pending step offers, sanctions, when a 脱管 subject was found. */
  outside?: OutsideCardView;
  /**
   * Progress up the line so far: the phases of 上报上一级 reported (首报, 续报, 终报) and whether 立即上报
   * still has a level of the line to tell. The buttons that no longer apply are decided from it by the
   * domain's `reportUpOffers`. Absent (a view built by hand): the buttons show as the roles allow.
   */
  reportUp?: { phasesDone: UpwardPhase[]; forwardLevelLeft: boolean };
  /** 十: the 特殊敏感时间段 the report was linked to (its name and dates, local), or null. */
  sensitivePeriod?: { name: string; startsOn: string; endsOn: string } | null;
}

export async function loadIncidentCardView(db: Executor, incidentId: string, cipher: PiiCipher): Promise<IncidentCardView | undefined> {
  const [timeline, timers, command] = await Promise.all([loadIncidentTimeline(db, incidentId, { audit: false }), pendingTimers(db, { incidentId }), loadCommandRecord(db, incidentId)]);
  if (!timeline) return undefined;
  const [outside, reportUp, sensitivePeriod] = await Promise.all([loadOutsideCardView(db, timeline.incident, timeline.steps), loadReportUp(db, timeline.incident), loadSensitivePeriod(db, timeline.incident)]);
  return { ...cardViewOf(timeline, timers, cipher), commandPost: commandCardViewOf(command), outside, reportUp, sensitivePeriod };
}

/**
 * Which of progress up the line's buttons still apply to the card (both channels): the domain's
 * `reportUpOffers` over the view. A view without `reportUp` (built by hand) offers both while open.
 */
export function reportUpOffersOf(view: Pick<IncidentCardView, 'incident' | 'steps' | 'reportUp'>): { forward: boolean; upward: UpwardPhase[] } {
  return reportUpOffers({
    open: isOpen(view.incident.status as IncidentStatus),
    upperStep: view.steps.find((s) => s.key === UPPER_STEP)?.state,
    phasesDone: view.reportUp?.phasesDone ?? ['first'],
    forwardLevelLeft: view.reportUp?.forwardLevelLeft ?? true,
  });
}

/** 十's line on the card: the sensitive period's name (as the section typed it: `escape` for the channel's markup) and its dates. */
export function sensitivePeriodLine(period: NonNullable<IncidentCardView['sensitivePeriod']>, lang: Lang, escape: (s: string) => string): string {
  return t(lang, 'card.sensitive_period', { name: escape(period.name), start: period.startsOn, end: period.endsOn });
}

/** The phases reported upward, and whether a level of the line (副局长, then 局长) has not been told of the incident yet. */
async function loadReportUp(db: Executor, incident: IncidentTimelineView['incident']): Promise<NonNullable<IncidentCardView['reportUp']>> {
  const [phasesDone, org] = await Promise.all([upwardPhasesOf(db, incident.id), loadOrgSnapshot(db)]);
  const ctx = { officeUnitId: incident.officeUnitId, reporterStaffId: incident.reporterStaffId };
  const uninformed = new Map<string, string[]>();
  for (const level of FORWARD_LEVELS) {
    const ids = resolveTarget({ kind: 'position', position: level.position, scope: 'bureau' }, ctx, org);
    const informed = await informedOf(db, incident.id, ids);
    uninformed.set(level.position, ids.filter((id) => !informed.has(id)));
  }
  return { phasesDone, forwardLevelLeft: nextLevelToForward((position) => uninformed.get(position) ?? []) !== undefined };
}

async function loadSensitivePeriod(db: Executor, incident: IncidentTimelineView['incident']): Promise<IncidentCardView['sensitivePeriod']> {
  if (!incident.sensitivePeriodId) return null;
  const period = await findSensitivePeriod(db, incident.sensitivePeriodId);
  return period ? { name: period.name, startsOn: period.startsOn, endsOn: period.endsOn } : null;
}

/** What the card shows of the timeline: the latest 续报 only, the subject decrypted, the deadlines still ahead. */
function cardViewOf(timeline: IncidentTimelineView, timers: readonly TimerRow[], cipher: PiiCipher): IncidentCardView {
  const last = timeline.updates.filter((u) => u.kind === 'progress').at(-1);
  const subject = timeline.subject;
  return {
    incident: timeline.incident,
    steps: timeline.steps,
    roles: timeline.roles.map((r) => ({ role: r.role, staffId: r.staffId })),
    lastUpdate: last ? { text: last.text, at: last.at, staffId: last.staffId, media: last.media.length } : null,
    pendingTimers: timers.map((x) => ({ kind: x.kind as TimerKind, level: x.level, dueAt: x.dueAt, target: x.target as TimerTarget })),
    subject: subject ? { code: subject.code, name: cipher.decrypt(subject.nameEnc), idNumber: subject.idNumberEnc ? cipher.decrypt(subject.idNumberEnc) : null } : null,
    office: timeline.office,
    reporterUnit: timeline.reporterUnit,
    staffNames: timeline.staffNames,
    searchAttempts: timeline.searchAttempts.map((a) => ({ method: a.method, result: a.result, found: a.found, at: a.at })),
  };
}
