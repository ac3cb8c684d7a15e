/**
 * CPU time spent by processes, from /proc: on a machine shared with other work, wall-clock figures swing
 * with the neighbours, while CPU milliseconds per update barely move. The bench reports both, and turns
 * CPU per update into the capacity two dedicated cores would have.
 */
import { readFileSync } from 'node:fs';
import type postgres from 'postgres';

const TICK_MS = 10; // CLK_TCK is 100 on Linux x86-64

/** utime + stime of one process, in ms (0 when it is gone). */
export function cpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start at ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) * TICK_MS;
  } catch {
    return 0;
  }
}

/** The backends of one database (their CPU is the database's share of the work). */
export async function backendPids(admin: postgres.Sql, database: string): Promise<number[]> {
  const rows = await admin<{ pid: number }[]>`select pid from pg_stat_activity where datname = ${database}`;
  return rows.map((r) => Number(r.pid));
}

export interface CpuWindow {
  /** CPU ms of each named group between start and stop. */
  stop(): Promise<Record<string, number>>;
}

/**
 * Starts counting CPU of fixed pids (by group) and of a database's backends. Backends that appear
 * during the window count from 0; ones that end during it are lost (pools keep theirs).
 */
export async function cpuWindow(groups: Record<string, number[]>, db?: { admin: postgres.Sql; name: string }): Promise<CpuWindow> {
  const start = new Map<number, number>();
  for (const pids of Object.values(groups)) for (const p of pids) start.set(p, cpuMs(p));
  const pgStart = new Map<number, number>();
  if (db) for (const p of await backendPids(db.admin, db.name)) pgStart.set(p, cpuMs(p));
  return {
    async stop() {
      const out: Record<string, number> = {};
      for (const [name, pids] of Object.entries(groups)) out[name] = pids.reduce((s, p) => s + Math.max(0, cpuMs(p) - (start.get(p) ?? 0)), 0);
      if (db) {
        const now = await backendPids(db.admin, db.name);
        out.postgres = now.reduce((s, p) => s + Math.max(0, cpuMs(p) - (pgStart.get(p) ?? 0)), 0);
      }
      return out;
    },
  };
}
