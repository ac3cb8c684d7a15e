/**
 * `npm run bench` — the figures that matter, each measured in this run next to a baseline on this machine,
 * printed as a table (figure, baseline, ratio, met or missed). `--quick` is the small form CI runs (a few
 * minutes); the full run also writes docs/performance.md, its notes written from the run's own figures.
 *
 *   npm run bench                  full run, writes docs/performance.md
 *   npm run bench -- --quick       small sizes, prints only
 *   npm run bench -- --only P1,P6  some rows
 *   npm run bench -- --no-docs     full run without writing the docs
 *   npm run bench -- --strict      exit 1 when a target is missed (default: only when something broke)
 *   npm run bench -- --echo        show the product's own output
 *   npm run bench -- --big 100000  P4/P5 at this many pending timers too (the full run's default; 0: not)
 *
 * Needs PostgreSQL on 127.0.0.1:5432 (a fresh database per segment) and the redis-server binary (a
 * throwaway server per segment: P4 wipes it). The shared Redis on 6379 is never touched.
 */
import { writeFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { FULL, QUICK, wants, type BenchContext, type Measured } from './lib/context.js';
import { describeMachine, machineInfo } from './lib/machine.js';
import { renderMarkdown, renderTerminal, verdictMark } from './lib/table.js';
import { runFanoutSegment } from './segments/fanout.js';
import { runBurstSegment } from './segments/burst.js';
import { runProductSegment } from './segments/product.js';
import { PERFORMANCE_HISTORY, performanceFindings, performanceMethod } from './notes.js';

const ROW_ORDER = ['P1', 'P2', 'P3', 'P4', 'P5', 'P6'];

function parseArgs(argv: string[]) {
  const flag = (f: string) => argv.includes(f);
  const onlyArg = argv.find((a) => a.startsWith('--only'));
  const onlyValue = onlyArg?.includes('=') ? onlyArg.split('=')[1] : onlyArg ? argv[argv.indexOf(onlyArg) + 1] : undefined;
  return {
    quick: flag('--quick') || process.env.BENCH_QUICK === '1',
    strict: flag('--strict'),
    docs: !flag('--no-docs'),
    echo: flag('--echo'),
    only: onlyValue ? new Set(onlyValue.split(',').map((s) => s.trim().toUpperCase())) : undefined,
    big: argv.includes('--big') ? Number(argv[argv.indexOf('--big') + 1]) : undefined,
  };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const started = performance.now();
  const ctx: BenchContext = {
    quick: args.quick,
    sizes: { ...(args.quick ? QUICK : FULL), ...(args.big !== undefined && Number.isFinite(args.big) ? { bigPendingTimers: args.big } : {}) },
    only: args.only,
    echo: args.echo,
    log: (m) => process.stderr.write(`[bench ${((performance.now() - started) / 1000).toFixed(1)}s] ${m}\n`),
  };
  const machine = machineInfo();
  ctx.log(`${args.quick ? 'quick' : 'full'} run on ${describeMachine(machine)}`);

  const rows: Measured[] = [];
  const segments: Array<{ ids: string[]; run: (c: BenchContext) => Promise<Measured[]> }> = [
    { ids: ['P1', 'P3', 'P4', 'P5', 'P6'], run: runProductSegment },
    { ids: ['P3'], run: runBurstSegment },
    { ids: ['P2'], run: runFanoutSegment },
  ];
  for (const seg of segments) {
    if (!seg.ids.some((id) => wants(ctx, id))) continue;
    const before = rows.length;
    try {
      rows.push(...(await seg.run(ctx)));
    } catch (err) {
      const text = err instanceof Error ? (err.stack ?? err.message) : String(err);
      ctx.log(`segment ${seg.ids.join('/')} failed: ${text.length > 2_000 ? `${text.slice(0, 2_000)}…` : text}`);
      // Every wanted row of the failed segment that it did not deliver is an error row (a row of the same id from another segment does not stand in for it).
      const delivered = new Set(rows.slice(before).map((r) => r.id));
      for (const id of seg.ids.filter((i) => wants(ctx, i) && !delivered.has(i))) {
        rows.push({ id, what: '(not measured)', figure: '—', baseline: '—', ratio: '—', target: '—', verdict: 'error', note: (String(err instanceof Error ? err.message : err).split('\n')[0] ?? '').slice(0, 200) });
      }
    }
  }
  rows.sort((a, b) => ROW_ORDER.indexOf(a.id) - ROW_ORDER.indexOf(b.id));
  for (const r of rows) if (r.broken) r.note = [r.note, `BROKEN: ${r.broken}`].filter(Boolean).join(' ');
  const shown = rows.map((r) => ({ ...r, verdict: r.verdict }));

  const elapsed = (performance.now() - started) / 1000;
  process.stdout.write(`\nBenchmark (${args.quick ? 'quick form' : 'full'}) — ${describeMachine(machine)}\n\n`);
  process.stdout.write(`${renderTerminal(shown.map((r) => ({ ...r, verdict: verdictMark(r.verdict) as never })))}\n\n`);
  process.stdout.write(`finished in ${elapsed.toFixed(1)} s\n`);

  if (!args.quick && args.docs && !args.only) {
    const file = fileURLToPath(new URL('../docs/performance.md', import.meta.url));
    await writeFile(file, renderDocs(rows, ctx, describeMachine(machine), elapsed));
    ctx.log(`wrote ${file}`);
  }
  const broken = rows.filter((r) => r.verdict === 'error' || r.broken);
  const missed = rows.filter((r) => r.verdict === 'missed');
  if (broken.length) process.stdout.write(`broken: ${broken.map((r) => r.id).join(', ')}\n`);
  process.exitCode = broken.length || (args.strict && missed.length) ? 1 : 0;
}

function renderDocs(rows: Measured[], ctx: BenchContext, machine: string, elapsedS: number): string {
  const table = renderMarkdown(rows.map((r) => ({ ...r, verdict: verdictMark(r.verdict) as never })));
  const notes = rows.filter((r) => r.note).map((r) => `- **${r.id}**: ${r.note}`);
  return [
    '# Performance',
    '',
    '`npm run bench` measures these figures, each next to a baseline taken in the same run on the same machine;',
    '`npm run bench -- --quick` is the small form CI runs. This file is rewritten by each full run.',
    '',
    `Latest full run: ${machine}; took ${elapsedS.toFixed(0)} s.`,
    '',
    table,
    '',
    ...notes,
    '',
    performanceFindings(rows),
    '',
    performanceMethod(ctx.sizes),
    '',
    PERFORMANCE_HISTORY,
    '',
  ].join('\n');
}

await main();
// Child processes and connections are closed by the segments; do not wait for stray handles.
process.exit(process.exitCode ?? 0);
