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
import type { SubjectIdentity, TimerKind, TimerTarget } from '../domain/index.js';

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
}

export async function loadIncidentCardView(db: Executor, incidentId: string, cipher: PiiCipher): Promise<IncidentCardView | undefined> {
  const [timeline, timers, command] = await Promise.all([loadIncidentTimeline(db, incidentId, { audit: false }), pendingTimers(db, { incidentId }), loadCommandRecord(db, incidentId)]);
  return timeline ? { ...cardViewOf(timeline, timers, cipher), commandPost: commandCardViewOf(command), outside: await loadOutsideCardView(db, timeline.incident, timeline.steps) } : undefined;
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
