/**
 * Human incident numbers such as `2026-0042`: the year of the report and a per-year sequence. Drills count
 * in a series of their own, `演练2026-0001`, so the real register has no gaps and no drill in it.
 */
export function formatIncidentNumber(year: number, seq: number, series: 'real' | 'drill' = 'real'): string {
  return `${series === 'drill' ? DRILL_NUMBER_PREFIX : ''}${year}-${String(seq).padStart(4, '0')}`;
}

export const DRILL_NUMBER_PREFIX = '演练';

export function parseIncidentNumber(text: string): { year: number; seq: number } | undefined {
  const m = /^(?:演练)?(\d{4})-(\d{4,})$/.exec(text.trim());
  return m ? { year: Number(m[1]), seq: Number(m[2]) } : undefined;
}
