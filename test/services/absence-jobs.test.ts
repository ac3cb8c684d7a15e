/**
 * The absence's timers through the real job system (Redis, the Bot API stand-in), on a clock shifted to a
 * day's last seconds: approved late in the day, the first reminder reaches the officer at once; the overdue
 * chain's three levels fire from the queue — the processor hands them to their own service — each once.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { overdueTimerKey } from '../../src/domain/absence.js';
import { atLocalTime, type Clock } from '../../src/domain/index.js';
import { requestAbsence } from '../../src/services/absence.service.js';
import { TG } from '../helpers/fixtures.js';
import { fastPolicy, startHarness, waitFor, type Harness } from '../jobs/harness.js';

const TZ = 'Asia/Shanghai';
const D = '2026-12-01';

let h: Harness;
// Real time, moved to 4 s before midnight at the end of D: delayed jobs fire when their time comes.
const offset = atLocalTime(D, '23:59', TZ).getTime() + 56_000 - Date.now();
const clock: Clock = { now: () => new Date(Date.now() + offset) };

beforeAll(async () => {
  h = await startHarness({ backend: 'redis', clock, policy: fastPolicy({ absence: { overdueAlertSeconds: 2, overdueOfferSeconds: 1, overdueSectionSeconds: 1 } }) });
});
afterAll(async () => h?.close());

it('a stay of one day approved late: reminded at once; no 销假, so the chain fires level by level, once each', async () => {
  const { absence } = await requestAbsence(h.deps, h.org.actor('headA'), { subjectId: h.org.subjects.a1, destination: '上海', startsOn: D, endsOn: D });
  const reminder = await h.api.waitForBotMessage(TG.officerA1, (m) => (m.text ?? '').includes('外出对象'), { after: 0 });
  expect(reminder.text).toContain('SQ-A-001');

  const keys = [0, 1, 2].map((l) => overdueTimerKey(absence!.id, l));
  const fired = await waitFor(
    async () => {
      const rows = await h.t.sql<Array<{ dedupe_key: string; state: string; outcome: string | null }>>`select dedupe_key, state, outcome from timers where dedupe_key = any(${keys}) order by level`;
      return rows.length === 3 && rows.every((r) => r.state === 'fired') ? rows : undefined;
    },
    { timeoutMs: 20_000, what: 'the three levels of the chain to fire' },
  );
  expect(fired.map((r) => r.outcome)).toEqual(['sent', 'sent', 'sent']);
  const rows = await h.t.sql<Array<{ kind: string; n: number }>>`
    select kind, count(*)::int as n from outbox where subject_id = ${h.org.subjects.a1} and kind in ('absence_overdue', 'absconding_offer', 'absence_overdue_section') group by kind order by kind`;
  expect(rows.map((r) => [r.kind, r.n])).toEqual([
    ['absconding_offer', 2],
    ['absence_overdue', 2],
    ['absence_overdue_section', 2],
  ]);
  const trail = await h.t.sql`select count(*)::int as n from audit_log where action = 'timer.fired' and data->>'absenceId' = ${absence!.id}`;
  expect(trail[0]!.n).toBe(3);
}, 40_000);
