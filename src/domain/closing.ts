/**
 * What is still open when an incident is closed: the required steps nobody did or ruled out, and for an
 * absconding, a subject still out of supervision. Closing with any of these open needs a reason, which the
 * record keeps: nothing is closed over silently.
 */
export type OpenDuty = { kind: 'step'; ordinal: number; key: string } | { kind: 'subject_missing' };

export interface ClosingFacts {
  type: string;
  steps: ReadonlyArray<{ key: string; ordinal: number; required: boolean; state: string; condition?: string | null }>;
  /** The subject's status now (absconded while still out of supervision), or null without a subject. */
  subjectStatus: string | null;
}

export function openDutiesAtClose(facts: ClosingFacts): OpenDuty[] {
  // A conditional step still pending did not apply (nobody was hurt, no crime was suspected).
  const duties: OpenDuty[] = facts.steps.filter((s) => s.required && s.state === 'pending' && !s.condition).map((s) => ({ kind: 'step', ordinal: s.ordinal, key: s.key }));
  if (facts.type === 'absconding' && facts.subjectStatus === 'absconded') duties.push({ kind: 'subject_missing' });
  return duties;
}
