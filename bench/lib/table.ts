/** The figures tables that `npm run bench` and `npm run test:faults` print, for a terminal and for Markdown. */

export type Verdict = 'met' | 'missed' | 'n/a' | 'error';

export interface Row {
  id: string;
  what: string;
  figure: string;
  baseline: string;
  ratio: string;
  target: string;
  verdict: Verdict;
  note?: string;
}

const COLUMNS: Array<{ key: keyof Row; title: string }> = [
  { key: 'id', title: 'id' },
  { key: 'what', title: 'what' },
  { key: 'figure', title: 'figure' },
  { key: 'baseline', title: 'baseline' },
  { key: 'ratio', title: 'ratio' },
  { key: 'target', title: 'target' },
  { key: 'verdict', title: 'result' },
];

// East Asian wide characters take two terminal columns.
function width(s: string): number {
  let w = 0;
  for (const ch of s) w += /[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]/.test(ch) ? 2 : 1;
  return w;
}

const pad = (s: string, n: number) => s + ' '.repeat(Math.max(0, n - width(s)));

export function renderTerminal(rows: readonly Row[], columns = COLUMNS): string {
  const widths = columns.map((c) => Math.max(width(c.title), ...rows.map((r) => width(String(r[c.key] ?? '')))));
  const line = (cells: string[]) => cells.map((c, i) => pad(c, widths[i] ?? 0)).join('  ').trimEnd();
  const out = [line(columns.map((c) => c.title)), line(widths.map((w) => '-'.repeat(w)))];
  for (const r of rows) out.push(line(columns.map((c) => String(r[c.key] ?? ''))));
  const notes = rows.filter((r) => r.note);
  if (notes.length) {
    out.push('');
    for (const r of notes) out.push(`${r.id}: ${r.note}`);
  }
  return out.join('\n');
}

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function renderMarkdown(rows: readonly Row[], columns = COLUMNS): string {
  const out = [`| ${columns.map((c) => c.title).join(' | ')} |`, `|${columns.map(() => '---').join('|')}|`];
  for (const r of rows) out.push(`| ${columns.map((c) => cell(String(r[c.key] ?? ''))).join(' | ')} |`);
  return out.join('\n');
}

export function verdictMark(v: Verdict): string {
  return v === 'met' ? 'met' : v === 'missed' ? 'MISSED' : v === 'error' ? 'ERROR' : 'n/a';
}
