/**
 * Prevention (七(一)): regular screening of each subject's situation. A daily check reminds the
 * responsible officer of every subject due (once per due date); the officer logs the result with a note;
 * an unstable result raises the subject's risk level and puts them in the daily digest.
 */
import type { Executor } from '../db/client.js';
import { appendAudit } from '../db/repositories/audit.repository.js';
import { loadOrgSnapshot } from '../db/repositories/org.repository.js';
import { enqueueNotices, type NoticeDraft } from '../db/repositories/outbox.repository.js';
import { insertScreening, latestScreenings, type ScreeningRow } from '../db/repositories/screening.repository.js';
import { listSubjects, lockSubject, updateSubject, type SubjectFilter, type SubjectRow } from '../db/repositories/subject.repository.js';
import { resolveTarget } from '../domain/notifications.js';
import {
  DEFAULT_SCREENING_POLICY,
  isRiskLevel,
  isScreeningDue,
  MAX_SCREENING_NOTE_CHARS,
  riskAfterScreening,
  screeningDueDate,
  type RiskLevel,
  type ScreeningPolicy,
  type ScreeningResult,
} from '../domain/prevention.js';
import { canSeeOffice, hasBureauWideView, type Actor } from '../domain/roles.js';
import { ServiceRefusal } from './errors.js';
import { emptyChange, type ServiceDeps } from './ports.js';

/** Subjects still supervised: terminated cases are not screened. */
const SCREENED_STATUSES = ['active', 'away', 'absconded'];

const riskOf = (s: SubjectRow): RiskLevel => (isRiskLevel(s.riskLevel) ? s.riskLevel : 'normal');

export interface DueScreening {
  subjectId: string;
  code: string;
  officeUnitId: string;
  responsibleStaffId: string | null;
  riskLevel: RiskLevel;
  /** Local date it fell due. */
  dueDate: string;
}

function dueOf(rows: readonly SubjectRow[], now: Date, timeZone: string, policy: ScreeningPolicy): DueScreening[] {
  return rows
    .map((s) => ({ s, dueDate: screeningDueDate({ riskLevel: riskOf(s), lastScreenedAt: s.lastScreenedAt, createdAt: s.createdAt }, timeZone, policy) }))
    .filter((x) => isScreeningDue(x.dueDate, now, timeZone))
    .map(({ s, dueDate }) => ({ subjectId: s.id, code: s.code, officeUnitId: s.officeUnitId, responsibleStaffId: s.responsibleStaffId, riskLevel: riskOf(s), dueDate }))
    .sort((a, b) => a.dueDate.localeCompare(b.dueDate) || a.code.localeCompare(b.code));
}

/**
 * The daily check: a `screening_due` notice to the responsible officer (or, if they cannot be reached,
 * the office head) of every subject due, once per subject and due date — running it twice writes nothing
 * more. Call it from the daily scheduler.
 */
export async function remindDueScreenings(deps: ServiceDeps, given?: ScreeningPolicy): Promise<{ due: number; outboxCreated: number }> {
  const now = deps.clock.now();
  const policy = given ?? (await screeningPolicyOf(deps));
  const rows = await listSubjects(deps.db, { statuses: SCREENED_STATUSES });
  const due = dueOf(rows, now, deps.timeZone, policy);
  if (due.length === 0) return { due: 0, outboxCreated: 0 };
  const created = await deps.db.transaction(async (tx) => {
    const org = await loadOrgSnapshot(tx);
    const drafts: NoticeDraft[] = due.flatMap((d) =>
      resolveTarget({ kind: 'responsible_officer' }, { officeUnitId: d.officeUnitId, responsibleStaffId: d.responsibleStaffId }, org).map((recipientStaffId) => ({
        recipientStaffId,
        kind: 'screening_due' as const,
        subjectId: d.subjectId,
        dedupeKey: `screening_due-${d.subjectId}-${d.dueDate}-${recipientStaffId}`,
        params: { subjectId: d.subjectId, dueDate: d.dueDate, riskLevel: d.riskLevel },
      })),
    );
    return enqueueNotices(tx, drafts);
  });
  await deps.dispatcher.afterCommit({ ...emptyChange(), outboxCreated: created });
  return { due: due.length, outboxCreated: created.length };
}

/** Screenings due among the subjects this actor is responsible for (officers) or oversees (head, section). */
/** The bureau's screening intervals (the organisation file's `screening`), the plan's defaults without a policy. */
async function screeningPolicyOf(deps: Partial<Pick<ServiceDeps, 'policy'>>): Promise<ScreeningPolicy> {
  return (deps.policy ? (await deps.policy()).screening : undefined) ?? DEFAULT_SCREENING_POLICY;
}

export async function dueScreeningsFor(deps: Pick<ServiceDeps, 'db' | 'clock' | 'timeZone'> & Partial<Pick<ServiceDeps, 'policy'>>, actor: Actor, given?: ScreeningPolicy): Promise<DueScreening[]> {
  const policy = given ?? (await screeningPolicyOf(deps));
  const scope: SubjectFilter = hasBureauWideView(actor)
    ? { statuses: SCREENED_STATUSES }
    : actor.positions.includes('office_head')
      ? { statuses: SCREENED_STATUSES, officeUnitId: actor.unitId }
      : { statuses: SCREENED_STATUSES, responsibleStaffId: actor.staffId };
  const rows = await listSubjects(deps.db, scope);
  return dueOf(rows, deps.clock.now(), deps.timeZone, policy);
}

export interface ScreeningInput {
  subjectId: string;
  result: ScreeningResult;
  note: string;
}

export interface LoggedScreening {
  screening: ScreeningRow;
  riskBefore: RiskLevel;
  riskAfter: RiskLevel;
}

/** Who logs a screening: the responsible officer, the subject's office, or the section. */
function canScreen(actor: Actor, s: SubjectRow): boolean {
  if (!canSeeOffice(actor, s.officeUnitId)) return false;
  return s.responsibleStaffId === actor.staffId || actor.unitId === s.officeUnitId || actor.positions.includes('section');
}

/** Logs a screening result with its note; unstable raises the risk level. The note stays out of the audit data. */
export async function logScreening(deps: ServiceDeps, actor: Actor, input: ScreeningInput): Promise<LoggedScreening> {
  const note = input.note.trim();
  if (note.length > MAX_SCREENING_NOTE_CHARS) throw new ServiceRefusal('invalid_input', 'note');
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    const s = await lockSubject(tx, input.subjectId);
    if (!s || !canSeeOffice(actor, s.officeUnitId)) throw new ServiceRefusal('not_found');
    if (!canScreen(actor, s)) throw new ServiceRefusal('not_permitted');
    if (s.status === 'terminated') throw new ServiceRefusal('wrong_status');
    const riskBefore = riskOf(s);
    const riskAfter = riskAfterScreening(riskBefore, input.result);
    const screening = await insertScreening(tx, { subjectId: s.id, result: input.result, note: note || null, staffId: actor.staffId, at: now });
    await updateSubject(tx, s.id, { lastScreenedAt: now, riskLevel: riskAfter, updatedAt: now });
    await appendAudit(tx, {
      at: now,
      action: 'screening.logged',
      entity: 'subject',
      entityId: s.id,
      actorStaffId: actor.staffId,
      data: { screeningId: screening.id, result: input.result, riskBefore, riskAfter },
    });
    return { screening, riskBefore, riskAfter };
  });
}

export interface UnstableSubject {
  subjectId: string;
  code: string;
  officeUnitId: string;
  responsibleStaffId: string | null;
  riskLevel: string;
  screeningId: string;
  screenedAt: Date;
  screenedByStaffId: string;
  /** Logged within the 24 hours before `now`. */
  isNew: boolean;
}

/**
 * For the daily digest: subjects whose latest screening (up to `now`) is unstable, still supervised.
 * Ids, codes and levels only; the digest renders names per PII_MODE if it shows them at all.
 */
export async function unstableSubjectsForDigest(db: Executor, now: Date): Promise<UnstableSubject[]> {
  const latest = await latestScreenings(db, now);
  const unstable = latest.filter((l) => l.result === 'unstable');
  if (unstable.length === 0) return [];
  const subs = await listSubjects(db, { ids: unstable.map((u) => u.subjectId), notStatus: 'terminated' });
  const byId = new Map(subs.map((s) => [s.id, s]));
  return unstable
    .filter((u) => byId.has(u.subjectId))
    .map((u) => {
      const s = byId.get(u.subjectId)!;
      return {
        subjectId: s.id,
        code: s.code,
        officeUnitId: s.officeUnitId,
        responsibleStaffId: s.responsibleStaffId,
        riskLevel: s.riskLevel,
        screeningId: u.screeningId,
        screenedAt: u.at,
        screenedByStaffId: u.staffId,
        isNew: now.getTime() - u.at.getTime() <= 24 * 3600_000,
      };
    })
    .sort((a, b) => b.screenedAt.getTime() - a.screenedAt.getTime());
}
