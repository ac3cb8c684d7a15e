/**
 * 脱管's deadlines: the section is told when the subject has been out of supervision for each of the
 * bureau's thresholds (policy `absconding.thresholdsSeconds`), counted from the incident's discovered-at.
 * The timers are cancelled when the subject is found or the incident closes. Pure.
 */
import { timerDedupeKey, timerTarget, type TimerSpec } from './policy.js';
import { abscondingThresholdsOf } from './sanctions.js';

/** One timer per threshold; level = its place in the list, cycle = the threshold in seconds. */
export function abscondingThresholdTimers(
  incident: { id: string; type: string; discoveredAt: Date },
  policy: { absconding?: { thresholdsSeconds?: readonly number[] } | undefined },
): TimerSpec[] {
  if (incident.type !== 'absconding') return [];
  return abscondingThresholdsOf(policy).map((seconds, level) => ({
    kind: 'absconding_threshold' as const,
    level,
    dueAt: new Date(incident.discoveredAt.getTime() + seconds * 1000),
    dedupeKey: timerDedupeKey('absconding_threshold', incident.id, level, String(seconds)),
    incidentId: incident.id,
    cycle: String(seconds),
    target: timerTarget('absconding_threshold', level),
  }));
}
