/**
 * Open incidents and pending timers in bulk, for the measurements that need thousands of them. One
 * incident is reported through the real service (so every column and checklist step is what the product
 * writes), acknowledged, and then copied in SQL with fresh ids, numbers, reporters and one pending timer
 * each. Reporting 10,000 incidents one by one would measure the seeding, not the system.
 */
import type { DbHandle } from '../../src/db/client.js';
import { outbox, timers } from '../../src/db/schema.js';
import { DEFAULT_POLICY, type Actor } from '../../src/domain/index.js';
import { acknowledgeIncident, reportIncident } from '../../src/services/incident.service.js';
import { noopDispatcher, type ServiceDeps } from '../../src/services/ports.js';
import { inArray } from 'drizzle-orm';
import type { BenchOrg } from './seed.js';

export interface ClonedIncident {
  incidentId: string;
  timerId: string;
  dedupeKey: string;
  dueAt: Date;
  reporterStaffId: string;
  /** The reporter's chat: where the timer's reminder goes. */
  chatId: number;
}

export function benchDeps(handle: DbHandle, org: BenchOrg): ServiceDeps {
  return { db: handle.db, clock: { now: () => new Date() }, timeZone: 'Asia/Shanghai', piiMode: 'masked', cipher: org.cipher, policy: async () => DEFAULT_POLICY, dispatcher: noopDispatcher };
}

/** One real incident, acknowledged, whose own notices and timers are closed so they send nothing. */
export async function templateIncident(handle: DbHandle, org: BenchOrg): Promise<string> {
  const officer = org.officers[0]!;
  const actor: Actor = { staffId: officer.staffId, unitId: officer.unitId, unitKind: 'office', positions: ['officer'] };
  const deps = benchDeps(handle, org);
  const r = await reportIncident(deps, actor, {
    type: 'disruption',
    subjectId: officer.subjectId,
    officeUnitId: officer.unitId,
    discoveredAt: new Date(),
    injured: 0,
    dead: 0,
    description: 'bench template',
  });
  const section = org.leaders.find((l) => l.kind === 'section')!;
  await acknowledgeIncident(deps, { staffId: section.staffId, unitId: org.sectionId, unitKind: 'section', positions: ['section'] }, r.incident.id);
  await handle.db.update(outbox).set({ status: 'dead', lastError: 'bench template' }).where(inArray(outbox.incidentId, [r.incident.id]));
  await handle.db.update(timers).set({ state: 'cancelled', cancelledAt: new Date() }).where(inArray(timers.incidentId, [r.incident.id]));
  return r.incident.id;
}

export interface CloneOptions {
  count: number;
  /** Reporters, used in turn; each clone is in its reporter's office about their subject. */
  reporters: ReadonlyArray<{ staffId: string; unitId: string; subjectId: string; telegramId: number }>;
  /** Due time of clone i's one pending timer (a level-0 progress reminder to its reporter). */
  dueAt: (i: number) => Date;
  numberPrefix: string;
  /** Rows per INSERT. */
  batch?: number;
}

async function columnsOf(handle: DbHandle, table: string): Promise<string[]> {
  const rows = await handle.sql<{ column_name: string }[]>`select column_name from information_schema.columns where table_schema = 'public' and table_name = ${table} order by ordinal_position`;
  return rows.map((r) => r.column_name);
}

export async function cloneOpenIncidents(handle: DbHandle, templateId: string, opts: CloneOptions): Promise<ClonedIncident[]> {
  const incidentCols = await columnsOf(handle, 'incidents');
  const stepCols = await columnsOf(handle, 'incident_steps');
  const batch = opts.batch ?? 2_000;
  const out: ClonedIncident[] = [];
  for (let start = 0; start < opts.count; start += batch) {
    const n = Math.min(batch, opts.count - start);
    const idx = Array.from({ length: n }, (_, k) => start + k);
    const reps = idx.map((i) => opts.reporters[i % opts.reporters.length]!);
    const over: Record<string, string> = {
      id: 'g.id',
      number: `${quote(opts.numberPrefix)} || g.i::text`,
      reporter_staff_id: 'g.reporter',
      office_unit_id: 'g.office',
      subject_id: 'g.subject',
      status: "'acknowledged'",
      version: '2',
    };
    const select = incidentCols.map((c) => over[c] ?? `t.${c}`).join(', ');
    const created = await handle.sql.unsafe<{ id: string; i: number }[]>(
      `with g as (
         select gen_random_uuid() as id, x.i, x.reporter::uuid as reporter, x.office::uuid as office, x.subject::uuid as subject
         from unnest($1::int[], $2::text[], $3::text[], $4::text[]) as x(i, reporter, office, subject)
       )
       insert into incidents (${incidentCols.join(', ')})
       select ${select} from incidents t cross join g where t.id = $5
       returning id, (substring(number from ${opts.numberPrefix.length + 1}))::int as i`,
      [idx, reps.map((r) => r.staffId), reps.map((r) => r.unitId), reps.map((r) => r.subjectId), templateId] as never,
    );
    const stepSelect = stepCols.map((c) => (c === 'id' ? 'gen_random_uuid()' : c === 'incident_id' ? 'n.id' : `s.${c}`)).join(', ');
    await handle.sql.unsafe(
      `insert into incident_steps (${stepCols.join(', ')})
       select ${stepSelect} from incident_steps s cross join unnest($1::uuid[]) as n(id) where s.incident_id = $2`,
      [created.map((c) => c.id), templateId] as never,
    );
    const byI = new Map(created.map((c) => [c.i, c.id]));
    const rows = idx.map((i, k) => {
      const incidentId = byI.get(i)!;
      return {
        kind: 'progress',
        incidentId,
        level: 0,
        cycle: '1',
        dueAt: opts.dueAt(i),
        state: 'pending',
        dedupeKey: `progress-${incidentId}-1-0`,
        target: { kind: 'reporter' },
        reporter: reps[k]!,
      };
    });
    const inserted = await handle.db
      .insert(timers)
      .values(rows.map(({ reporter: _r, ...t }) => t))
      .returning({ id: timers.id, incidentId: timers.incidentId, dedupeKey: timers.dedupeKey, dueAt: timers.dueAt });
    const repOf = new Map(rows.map((r) => [r.incidentId, r.reporter]));
    for (const t of inserted) {
      const rep = repOf.get(t.incidentId!)!;
      out.push({ incidentId: t.incidentId!, timerId: t.id, dedupeKey: t.dedupeKey, dueAt: t.dueAt, reporterStaffId: rep.staffId, chatId: rep.telegramId });
    }
  }
  return out;
}

const quote = (s: string) => `'${s.replace(/'/g, "''")}'`;
