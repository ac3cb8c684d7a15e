/**
 * Shared set-up for the after-incident tests: service deps over a fresh database, closed incidents made
 * with the real report use case plus direct state changes, and a small .zip reader (node:zlib) to read a
 * .docx's word/document.xml back.
 */
import { inflateRawSync } from 'node:zlib';
import { eq } from 'drizzle-orm';
import { incidents, incidentSteps } from '../../src/db/schema.js';
import { insertTimers } from '../../src/db/repositories/timer.repository.js';
import { DEFAULT_POLICY, writtenReportTimers, type EscalationPolicy, type IncidentType, type EpidemicScenario } from '../../src/domain/index.js';
import { openWrittenReportDraft } from '../../src/services/written-report.service.js';
import { reportIncident } from '../../src/services/incident.service.js';
import { noopDispatcher, type CommittedChange, type Dispatcher, type ServiceDeps } from '../../src/services/ports.js';
import type { TestDatabase } from '../helpers/db.js';
import type { ManualClock, SeededOrg, StaffKey } from '../helpers/fixtures.js';

export function makeDeps(t: TestDatabase, org: SeededOrg, clock: ManualClock, policy: EscalationPolicy = DEFAULT_POLICY, dispatcher: Dispatcher = noopDispatcher): ServiceDeps {
  return { db: t.db, clock, timeZone: 'Asia/Shanghai', piiMode: 'masked', cipher: org.cipher, policy: async () => policy, dispatcher };
}

/** Records what the services hand to the dispatcher after commit. */
export class RecordingDispatcher implements Dispatcher {
  readonly changes: CommittedChange[] = [];
  async afterCommit(change: CommittedChange): Promise<void> {
    this.changes.push(change);
  }
}

export interface ClosedIncidentOptions {
  type?: IncidentType;
  scenario?: EpidemicScenario;
  reporter?: StaffKey;
  office?: 'officeA' | 'officeB';
  subject?: 'a1' | 'a2' | 'b1';
  isDrill?: boolean;
  /** Marks every pending step done before closing (default true). */
  completeSteps?: boolean;
  injured?: number;
}

/**
 * Reports an incident through the real use case, acknowledges it, marks its steps and closes it by
 * writing the state the close use case leaves, then opens the written report's draft as closing does.
 */
export async function closedIncident(deps: ServiceDeps, org: SeededOrg, clock: ManualClock, opts: ClosedIncidentOptions = {}) {
  const r = await reportIncident(deps, org.actor(opts.reporter ?? 'officerA1'), {
    type: opts.type ?? 'disruption',
    ...(opts.scenario ? { scenario: opts.scenario } : {}),
    subjectId: org.subjects[opts.subject ?? 'a1'],
    officeUnitId: org.units[opts.office ?? 'officeA'],
    discoveredAt: clock.now(),
    injured: opts.injured ?? 0,
    dead: 0,
    description: '在公益活动中大声喧哗、拒不服从管理',
    place: '甲街道社区服务中心',
    isDrill: opts.isDrill ?? false,
  });
  const id = r.incident.id;
  clock.advance(3 * 60_000);
  const ackAt = clock.now();
  await deps.db.update(incidents).set({ status: 'acknowledged', acknowledgedAt: ackAt, acknowledgedByStaffId: org.staff.section }).where(eq(incidents.id, id));
  clock.advance(20 * 60_000);
  if (opts.completeSteps !== false) {
    await deps.db
      .update(incidentSteps)
      .set({ state: 'done', doneAt: clock.now(), doneByStaffId: org.staff.section, how: 'phone' })
      .where(eq(incidentSteps.incidentId, id));
  }
  clock.advance(10 * 60_000);
  const closedAt = clock.now();
  await deps.db
    .update(incidents)
    .set({
      status: 'closed',
      closure: 'resolved',
      closedAt,
      closedByStaffId: org.staff.headA,
      closeCause: '对象对公益活动安排不满',
      closeLessons: '活动前谈话教育不足',
      closeMeasures: '活动前逐一谈话，安排专人看护',
    })
    .where(eq(incidents.id, id));
  // As the close use case does: the written report's deadlines, then the draft.
  const opened = await deps.db.transaction(async (tx) => {
    await insertTimers(tx, writtenReportTimers(id, closedAt, DEFAULT_POLICY), { isDrill: opts.isDrill ?? false });
    return openWrittenReportDraft(tx, id, closedAt, { timeZone: deps.timeZone });
  });
  return { incident: r.incident, report: opened?.report ?? null };
}

/** The entries of a .zip, read through its central directory (enough for a .docx). */
export function unzip(buf: Buffer): Map<string, Buffer> {
  let eocd = -1;
  for (let i = buf.length - 22; i >= 0; i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error('not a zip file: no end of central directory');
  const count = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  const out = new Map<string, Buffer>();
  for (let n = 0; n < count; n++) {
    if (buf.readUInt32LE(p) !== 0x02014b50) throw new Error('bad central directory entry');
    const method = buf.readUInt16LE(p + 10);
    const compressed = buf.readUInt32LE(p + 20);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    const local = buf.readUInt32LE(p + 42);
    const name = buf.subarray(p + 46, p + 46 + nameLen).toString('utf8');
    const localNameLen = buf.readUInt16LE(local + 26);
    const localExtraLen = buf.readUInt16LE(local + 28);
    const start = local + 30 + localNameLen + localExtraLen;
    const data = buf.subarray(start, start + compressed);
    out.set(name, method === 0 ? Buffer.from(data) : inflateRawSync(data));
    p += 46 + nameLen + extraLen + commentLen;
  }
  return out;
}

/** The visible text of word/document.xml, paragraphs separated by new lines. */
export function docxText(buf: Buffer): string {
  const xml = unzip(buf).get('word/document.xml');
  if (!xml) throw new Error('no word/document.xml');
  return xml
    .toString('utf8')
    .replace(/<\/w:p>\s*<\/w:tc>/g, '\t')
    .replace(/<\/w:tr>/g, '\n')
    .replace(/<\/w:p>/g, '\n')
    .replace(/<[^>]+>/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');
}
