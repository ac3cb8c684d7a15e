/** Human incident numbers such as `2026-0042`: the year of the report and a per-year sequence. */
export function formatIncidentNumber(year: number, seq: number): string {
  return `${year}-${String(seq).padStart(4, '0')}`;
}

export function parseIncidentNumber(text: string): { year: number; seq: number } | undefined {
  const m = /^(\d{4})-(\d{4,})$/.exec(text.trim());
  return m ? { year: Number(m[1]), seq: Number(m[2]) } : undefined;
}
