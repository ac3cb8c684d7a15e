/**
 * Each reliability case records its figure here (one JSON file per case); the suite's global teardown
 * prints them as one table at the end and, after a full run, writes docs/reliability.md.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export type FaultVerdict = 'held' | 'broken' | 'missed' | 'not run';

export interface FaultFigure {
  id: string;
  what: string;
  /** The measured outcome, e.g. "1,000 escalations, 23 kills: 0 lost, 0 duplicates". */
  figure: string;
  target: string;
  verdict: FaultVerdict;
  note?: string;
  data?: Record<string, unknown>;
}

export const FIGURES_DIR = process.env.FAULTS_FIGURES_DIR ?? path.join(os.tmpdir(), 'faults-figures');

export function recordFigure(f: FaultFigure): void {
  mkdirSync(FIGURES_DIR, { recursive: true });
  writeFileSync(path.join(FIGURES_DIR, `${f.id}.json`), JSON.stringify(f, null, 2));
  process.stdout.write(`\n[${f.id}] ${f.verdict.toUpperCase()}: ${f.figure}${f.note ? `\n  ${f.note}` : ''}\n`);
}

/** Quick form (FAULTS_QUICK=1): every case, fewer iterations. */
export const QUICK = process.env.FAULTS_QUICK === '1';

export const size = (full: number, quick: number): number => (QUICK ? quick : full);
