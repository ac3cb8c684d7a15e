/**
 * A staff member's own settings: the language, and 我外出/休假 — the dates they are away, while which the
 * acting holders of their seats get their seats' messages (the stand-in rules read `staff.away`). `away`
 * follows the dates: set at once when the period has begun, and by timers at its start and after its end.
 */
import { appendAudit } from '../db/repositories/audit.repository.js';
import type { StaffRow } from '../db/repositories/org.repository.js';
import { enqueueNotices, type NoticeDraft } from '../db/repositories/outbox.repository.js';
import { cancelProcessTimers, insertProcessTimers, type ProcessTimerSpec } from '../db/repositories/process-timer.repository.js';
import { seatsOf } from '../db/repositories/seat-admin.repository.js';
import { lockStaff, updateStaff } from '../db/repositories/staff.repository.js';
import { claimTimer, type TimerRow } from '../db/repositories/timer.repository.js';
import { asNoticeKind } from '../domain/absence.js';
import { addDays, atLocalTime, daysBetween, isSection, localDate, type Actor } from '../domain/index.js';
import { ServiceRefusal } from './errors.js';
import { emptyChange, type ServiceDeps } from './ports.js';
import type { TimerOutcome } from './timer.service.js';

/** /language: the language every message to this person is rendered in, chat replies and notices alike. */
export async function setStaffLanguage(deps: Pick<ServiceDeps, 'db' | 'clock'>, staffId: string, language: 'zh' | 'en'): Promise<void> {
  const now = deps.clock.now();
  await deps.db.transaction(async (tx) => {
    await updateStaff(tx, staffId, { language, updatedAt: now });
    await appendAudit(tx, { at: now, action: 'staff.language', entity: 'staff', entityId: staffId, actorStaffId: staffId, data: { language } });
  });
}

/** The timer kind of an away period's two ends (start: level 0, end: level 1). */
export const STAFF_AWAY_TIMER = 'staff_away';

/** Longest away period, in days. */
export const MAX_AWAY_DAYS = 366;

export interface AwayPeriod {
  /** Local dates, YYYY-MM-DD, both included. */
  from: string;
  until: string;
}

export interface AwayResult {
  staff: StaffRow;
  /** Whether the person counts as away now. */
  awayNow: boolean;
  /** Seats the person holds that have no acting holder: their messages go to the next level meanwhile. */
  seatsWithoutActing: string[];
}

/**
 * 我外出/休假: the person's away period (or none, to come back). The person sets their own; the section may
 * set anyone's. While away, each seat's acting holder gets its messages, and is told when it begins.
 */
export async function setAway(deps: ServiceDeps, actor: Actor, staffId: string, period: AwayPeriod | null): Promise<AwayResult> {
  if (actor.staffId !== staffId && !isSection(actor)) throw new ServiceRefusal('not_permitted');
  const now = deps.clock.now();
  const today = localDate(now, deps.timeZone);
  if (period) {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(period.from) || !/^\d{4}-\d{2}-\d{2}$/.test(period.until)) throw new ServiceRefusal('invalid_input', 'dates');
    if (daysBetween(period.from, period.until) < 0) throw new ServiceRefusal('invalid_input', 'ends_before_start');
    if (daysBetween(today, period.until) < 0) throw new ServiceRefusal('invalid_input', 'ended_already');
    if (daysBetween(period.from, period.until) + 1 > MAX_AWAY_DAYS) throw new ServiceRefusal('invalid_input', 'too_long');
  }
  const result = await deps.db.transaction(async (tx) => {
    const person = await lockStaff(tx, staffId);
    if (!person) throw new ServiceRefusal('not_found');
    if (!person.active) throw new ServiceRefusal('wrong_status', 'inactive');
    const change = emptyChange();
    change.timersCancelled.push(...(await cancelProcessTimers(tx, STAFF_AWAY_TIMER, { cycle: staffId }, now)));
    const awayNow = period !== null && period.from <= today && today <= period.until;
    const updated = (await updateStaff(tx, staffId, { away: awayNow, awayFrom: period?.from ?? null, awayUntil: period?.until ?? null, updatedAt: now }))!;
    if (period) {
      const specs: ProcessTimerSpec[] = [];
      const target = { staffId, from: period.from, until: period.until };
      if (!awayNow) specs.push({ kind: STAFF_AWAY_TIMER, level: 0, dueAt: atLocalTime(period.from, '00:00', deps.timeZone), dedupeKey: `${STAFF_AWAY_TIMER}-${staffId}-${period.from}-${period.until}-0`, cycle: staffId, target });
      specs.push({ kind: STAFF_AWAY_TIMER, level: 1, dueAt: atLocalTime(addDays(period.until, 1), '00:00', deps.timeZone), dedupeKey: `${STAFF_AWAY_TIMER}-${staffId}-${period.from}-${period.until}-1`, cycle: staffId, target });
      change.timersCreated.push(...(await insertProcessTimers(tx, specs)));
    }
    const seats = (await seatsOf(tx, staffId)).filter((s) => s.holderStaffId === staffId);
    if (awayNow && !person.away) change.outboxCreated.push(...(await enqueueNotices(tx, standingInNotices(seats, staffId, period!))));
    await appendAudit(tx, {
      at: now,
      action: 'staff.away',
      entity: 'staff',
      entityId: staffId,
      actorStaffId: actor.staffId,
      data: { from: period?.from ?? null, until: period?.until ?? null, awayNow },
    });
    return { staff: updated, awayNow, seatsWithoutActing: seats.filter((s) => !s.actingStaffId).map((s) => s.id), change };
  });
  await deps.dispatcher.afterCommit(result.change);
  return { staff: result.staff, awayNow: result.awayNow, seatsWithoutActing: result.seatsWithoutActing };
}

/** 我外出/休假 for oneself. */
export function setMyAway(deps: ServiceDeps, actor: Actor, period: AwayPeriod | null): Promise<AwayResult> {
  return setAway(deps, actor, actor.staffId, period);
}

/** Each acting holder of the person's seats is told they stand in, and until when. */
function standingInNotices(seats: ReadonlyArray<{ id: string; actingStaffId: string | null }>, staffId: string, period: AwayPeriod): NoticeDraft[] {
  return seats
    .filter((s) => s.actingStaffId && s.actingStaffId !== staffId)
    .map((s) => ({
      recipientStaffId: s.actingStaffId!,
      kind: asNoticeKind('standing_in'),
      dedupeKey: `standing_in-${staffId}-${period.from}-${period.until}-${s.id}-${s.actingStaffId}`,
      params: { forStaffId: staffId, positionId: s.id, from: period.from, until: period.until },
    }));
}

/** One end of an away period falls due: `away` set at its start (acting holders told), cleared after its end. */
export async function fireStaffAwayTimer(deps: ServiceDeps, row: TimerRow): Promise<TimerOutcome> {
  const now = deps.clock.now();
  const target = row.target as { staffId?: string; from?: string; until?: string };
  const result = await deps.db.transaction(async (tx) => {
    const person = target.staffId ? await lockStaff(tx, target.staffId) : undefined;
    const current = person && person.awayFrom === target.from && person.awayUntil === target.until;
    const outcome = current ? (row.level === 0 ? 'away' : 'back') : 'skipped: period changed';
    if (!(await claimTimer(tx, row.id, now, outcome))) return { outcome: 'skipped: already fired', rows: [] };
    if (!current || !person) return { outcome, rows: [] };
    const starting = row.level === 0;
    await updateStaff(tx, person.id, starting ? { away: true, updatedAt: now } : { away: false, awayFrom: null, awayUntil: null, updatedAt: now });
    const seats = (await seatsOf(tx, person.id)).filter((s) => s.holderStaffId === person.id);
    const rows = starting ? await enqueueNotices(tx, standingInNotices(seats, person.id, { from: target.from!, until: target.until! })) : [];
    await appendAudit(tx, { at: now, action: starting ? 'staff.away_began' : 'staff.away_ended', entity: 'staff', entityId: person.id, data: { from: target.from, until: target.until } });
    return { outcome, rows };
  });
  await deps.dispatcher.afterCommit({ ...emptyChange(), outboxCreated: result.rows });
  if (result.outcome.startsWith('skipped')) return { status: 'skipped', reason: result.outcome.slice('skipped: '.length), outcome: result.outcome };
  return { status: 'sent', notices: result.rows.length, outcome: result.outcome };
}
