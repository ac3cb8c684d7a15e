/**
 * The reliability suite's setup and summary: a fresh folder for the cases' figures, and at the end one
 * table of every case (figure, target, held or not). A full run (not FAULTS_QUICK) also rewrites
 * docs/reliability.md with that table, the date and the machine.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeMachine, machineInfo } from '../../bench/lib/machine.js';
import { renderMarkdown, renderTerminal } from '../../bench/lib/table.js';
import type { FaultFigure } from './helpers/figures.js';
import { RELIABILITY_NOTES } from './notes.js';

const CASES = ['R1', 'R2', 'R3', 'R4', 'R4 WeCom', 'R5', 'R6', 'R7', 'R8', 'R9', 'R9 WeCom', 'R10', 'R11'];
const COLUMNS = [
  { key: 'id' as const, title: 'id' },
  { key: 'what' as const, title: 'fault or attack' },
  { key: 'figure' as const, title: 'figure' },
  { key: 'target' as const, title: 'must hold' },
  { key: 'verdict' as const, title: 'result' },
];

export default function setup(): () => void {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'faults-figures-'));
  process.env.FAULTS_FIGURES_DIR = dir;
  const machine = machineInfo();
  const started = Date.now();
  return () => {
    const figures = readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .map((f) => JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as FaultFigure)
      .sort((a, b) => CASES.indexOf(a.id) - CASES.indexOf(b.id));
    rmSync(dir, { recursive: true, force: true });
    const quick = process.env.FAULTS_QUICK === '1';
    for (const id of CASES) if (!figures.some((f) => f.id === id)) figures.push({ id, what: '(no figure recorded: not run, or failed before measuring)', figure: '—', target: '—', verdict: 'not run' });
    figures.sort((a, b) => CASES.indexOf(a.id) - CASES.indexOf(b.id));
    const rows = figures.map((f) => ({ id: f.id, what: f.what, figure: f.figure, baseline: '', ratio: '', target: f.target, verdict: (f.verdict === 'broken' || f.verdict === 'missed' ? f.verdict.toUpperCase() : f.verdict) as never, ...(f.note ? { note: f.note } : {}) }));
    process.stdout.write(`\nReliability suite (${quick ? 'quick form' : 'full'}) — ${describeMachine(machine)}\n\n${renderTerminal(rows, COLUMNS)}\n\n`);
    if (!quick && process.env.FAULTS_WRITE_DOCS !== '0' && figures.length) {
      const file = fileURLToPath(new URL('../../docs/reliability.md', import.meta.url));
      writeFileSync(
        file,
        [
          '# Reliability',
          '',
          'Measured by `npm run test:faults` (the full form) against the real services: PostgreSQL, Redis (a',
          'throwaway server per case where Redis is wiped), an embedded PostgreSQL where the database is',
          'restarted, and the Bot API stand-in over HTTP. This file is rewritten by each full run.',
          '',
          `Latest full run: ${describeMachine(machine)}; took ${Math.round((Date.now() - started) / 1000)} s.`,
          '',
          renderMarkdown(rows, COLUMNS),
          '',
          ...figures.filter((f) => f.note).map((f) => `- **${f.id}**: ${f.note}`),
          '',
          RELIABILITY_NOTES,
          '',
        ].join('\n'),
      );
      process.stdout.write(`wrote ${file}\n`);
    }
  };
}
