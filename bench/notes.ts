/**
 * The text of docs/performance.md around the table, written from the run it describes: the method from
 * this run's sizes, one finding per row from that row's figures and target (the verdict is computed, never
 * written), and, set apart under its own heading, the history of earlier runs. A cause that the code shows
 * but this run cannot measure is said as such ("traced in the code").
 */
import { TARGETS, TELEGRAM_LIMITS, type Measured, type Sizes } from './lib/context.js';
import { mb, ms, type Summary } from './lib/stats.js';
import { P1_PAUSE_BETWEEN_FORMS_MS } from './segments/product.js';

const n = (v: number) => v.toLocaleString('en');
const verdictWord = (r: Measured) => (r.verdict === 'met' ? 'met' : r.verdict === 'missed' ? 'missed' : r.verdict === 'error' ? 'not measured (error)' : 'n/a');
const num = (v: unknown): number => (typeof v === 'number' ? v : Number.NaN);

export function performanceMethod(s: Sizes): string {
  return `## How it is measured

Three kinds of process, as in production: the product — built by \`npm run build\` and run as the image
runs it, \`node --enable-source-maps dist/bundle/main.mjs --role …\` (BENCH_TSX=1: the sources under tsx)
—, the Bot API stand-in (\`src/sandbox/bot-api-server.ts\`, in the bench process: it plays Telegram and
timestamps what it receives), and a load generator of its own (\`bench/loadgen.ts\`) that acts as staff
through the stand-in's user API over HTTP. Every baseline runs in the same run, on the same machine,
against the same stand-in. Real PostgreSQL (a fresh database) and a throwaway \`redis-server\` per
segment (P4 wipes it; the shared Redis on 6379 is never touched). Sizes below are this run's.

- **P1** — one staff member fills in the report form (ten steps), one step at a time, ${s.p1Forms} forms in
  each of ${s.p1Blocks} blocks, ${ms(P1_PAUSE_BETWEEN_FORMS_MS)} between two forms (the chat's bucket full again, as between a person's two
  reports; back to back, each form's first message would wait for the chat's line), alternating with the baseline: a bare telegraf bot in webhook mode that echoes
  a text and edits on a button press, driven the same way. Latency = the stand-in has the update → the
  first message or edit the bot hands back in that chat. CPU per update = CPU of the product process +
  its PostgreSQL backends + Redis over the block, from /proc.
- **P2** — notices written to the outbox in one transaction and enqueued as the services do; worker
  processes (--role worker, as the image runs them) send them through the real gateway to a stand-in
  that enforces ${TELEGRAM_LIMITS.globalPerSecond} messages/s overall, ${TELEGRAM_LIMITS.perChatPerSecond}/s per chat (a burst of ${TELEGRAM_LIMITS.perChatBurst} at once) and ${TELEGRAM_LIMITS.perGroupPerMinute}/min per group, answering 429 past them.
  Each notice is of a new report to someone without its card, so it is two messages: the card, then the
  event replying to it. Cases: one notification to ${s.p2Recipients.map(n).join(' and to ')} staff (floor: messages / ${TELEGRAM_LIMITS.globalPerSecond} s), and ${s.p2PerChat.notices}
  notices to each of ${s.p2PerChat.chats} chats (floor: the larger of ${Math.max(0, 2 * s.p2PerChat.notices - TELEGRAM_LIMITS.perChatBurst)} s — ${TELEGRAM_LIMITS.perChatBurst} at once, then one a second per chat — and the total
  at ${TELEGRAM_LIMITS.globalPerSecond}/s); each with ${s.p2Workers.join(' and with ')} worker process${s.p2Workers.length > 1 || s.p2Workers[0] !== 1 ? 'es' : ''}. Figure = enqueue → the last message of every notice accepted.
- **P3** — (a) ${n(s.pendingTimers)} open incidents, each with a pending timer due between a minute and two days
  ahead, in PostgreSQL (those due within the hour also in the queue${s.restartWithLoad ? ', after a restart: the start-up reconciliation loads them' : ''}); then ${s.p3Measured} more timers due ${s.p3SpacingMs} ms
  apart, each a deadline notice to a different staff member, scheduled as the bot process schedules them
  after a commit. Baseline: a bare BullMQ worker process that sends one message when a delayed job fires,
  same due times, its own queue with ${n(s.pendingTimers)} far-off jobs. (b) The burst: a deployment of its
  own, the default one (one bot process and two workers), with the stand-in enforcing Telegram's limits; ${s.p3BurstLoadUsers} staff file reports at ${s.p6Rate} updates/s
  offered while ${s.p3BurstCount} deadline notices, each to someone else, fall due within ${ms(s.p3BurstWindowMs)}. Lateness =
  due time → the stand-in accepts the notice's first message (its card, which rings the phone); when the
  notice was complete (its event recorded sent) is in the breakdown.
- **P4** — with the timers of P3 pending, \`FLUSHALL\` on the product's Redis; figure = wipe → every
  pending timer due within the queue's horizon (an hour) has its job again (counted from the queue), on
  the reconciler's own schedule. Lost = such a timer without a job afterwards.${s.bigPendingTimers > 0 ? ` Then the same with ${n(s.bigPendingTimers)} pending timers (the open incidents topped up, the process restarted).` : ''}
- **P5** — RSS from /proc of the bot + workers process, as the image runs it: idle ${ms(s.settleMs)} after start,
  then with the open incidents of P3 and while P3 and P4 run (max)${s.bigPendingTimers > 0 ? `, and from the restart with ${n(s.bigPendingTimers)} pending to the end of their rebuild` : ''}.${s.p5Compiled ? ' For comparison, the idle figure of the same process under tsx (`npm start`).' : ''}
- **P6** — ${s.p6Users} staff, each completing the report form ${s.p6Forms === 1 ? 'once' : `${s.p6Forms} times`}; the load generator offers ${s.p6Rate} updates/s in
  total. Figure = updates handled per second between the first and the last, and latency as in P1
  (queueing included). CPU per update as in P1, and what two cores given to the product alone would
  sustain at that cost.

The machine is shared with other work (its load average is printed with each run), so absolute times
move from run to run; ratios to a baseline measured in the same minutes, and CPU per update, move less.`;
}

/** One finding per row: its verdict from the figure and the target, and what bounds a missed target. */
export function performanceFindings(rows: readonly Measured[]): string {
  const out = ['## What this run shows', '', 'Every sentence in this section is computed from the figures above.', ''];
  for (const r of rows) out.push(`- ${finding(r)}`);
  return out.join('\n');
}

function finding(r: Measured): string {
  const d = r.data ?? {};
  const head = `**${r.id}** (${r.what}) — ${verdictWord(r)}: ${r.figure} against ${r.target}.`;
  if (r.verdict === 'error') return `${head} ${r.note ?? ''}`.trim();
  const parts = [head];
  switch (r.id) {
    case 'P1': {
      const p = d.product as Summary | undefined;
      const b = d.baseline as Summary | undefined;
      const steps = (d.stepMedians as Array<{ step: string; medianMs: number }> | undefined) ?? [];
      const slowest = [...steps].sort((x, y) => y.medianMs - x.medianMs)[0];
      if (p && b) parts.push(`The median is ${(p.median / b.median).toFixed(1)}× the echo bot's (${ms(p.median)} against ${ms(b.median)}); the p99 is ${ms(p.p99)}.`);
      parts.push(`CPU per update: ${num(d.cpuMsPerUpdate).toFixed(1)} ms for the product (process, PostgreSQL backends, Redis) against ${num(d.echoCpuMsPerUpdate).toFixed(1)} ms for the echo bot.`);
      if (slowest) parts.push(`The slowest step is ${slowest.step} (median ${ms(slowest.medianMs)}).`);
      break;
    }
    case 'P2': {
      const scopes = Object.entries((d.byScope as Record<string, number> | undefined) ?? {});
      parts.push(`${num(d.ratioToFloor).toFixed(2)}× its floor of ${ms(num(d.floorMs))} with ${d.workers} worker process${d.workers === 1 ? '' : 'es'}; the floor counts ${n(num(d.messagesPerNotice))} messages a notice.`);
      if (num(d.extraMessages) > 0) parts.push(`${n(num(d.extraMessages))} messages more than the notices needed reached the chats.`);
      if (scopes.length) {
        parts.push(`Telegram's limits were exceeded: ${scopes.map(([k, v]) => `${v} answer${v === 1 ? '' : 's'} of 429 for the ${k === 'chat' ? 'per-chat' : k === 'global' ? 'overall' : k} limit`).join(', ')}.`);
      }
      break;
    }
    case 'P3': {
      const fired = d.fired as Summary | undefined;
      const sent = d.sent as Summary | undefined;
      const lat = (d.burst ? d.lateness : d.product) as Summary | undefined;
      const lost = num(d.lost);
      if (fired && sent && lat) {
        parts.push(`The timer job ran ${ms(fired.median)} after its due time (median; p99 ${ms(fired.p99)}, n=${fired.n}); ${sent.n ? `the notice was recorded sent ${ms(sent.median)} after it (median; p99 ${ms(sent.p99)}, n=${sent.n})` : 'no notice was recorded sent'}.`);
        if (lost > 0) parts.push(`${n(lost)} of ${n(lost + lat.n)} notices had not reached the stand-in by the end of the wait although ${n(fired.n)} timers had fired: the send path bounds it, not the timer.`);
        else if (r.verdict === 'missed') {
          const sendShare = Number.isFinite(sent.p99) && Number.isFinite(fired.p99) ? sent.p99 - fired.p99 : Number.NaN;
          parts.push(Number.isFinite(sendShare) && sendShare > fired.p99 ? `At the p99, ${ms(sendShare)} of the lateness comes after the timer fired: the send path bounds it, not the timer.` : `At the p99 the timer itself fired ${ms(fired.p99)} late: the timer queue bounds it.`);
        }
      }
      if (d.burst) {
        const storm = d.storm as { completed: number; updatesPerSecond: number; replyP99Ms: number } | undefined;
        parts.push(`${num(d.rateLimited)} answers of 429 during the burst.`);
        if (storm) parts.push(`Meanwhile the staff's forms were handled at ${storm.updatesPerSecond.toFixed(0)} updates/s with a reply p99 of ${ms(storm.replyP99Ms)}.`);
      } else if (d.baseline) {
        parts.push(`A bare BullMQ delayed job on the same machine: p99 ${ms((d.baseline as Summary).p99)}.`);
      }
      break;
    }
    case 'P4': {
      const pass = num(d.passMs);
      const detect = num(d.detectionMs);
      if (Number.isFinite(pass) && Number.isFinite(detect)) parts.push(`The wipe was noticed ${ms(detect)} after it; the rebuild pass took ${ms(pass)} for ${n(num(d.timers))} timers (${((num(d.timers) / pass) * 1000).toFixed(0)} a second).`);
      if (Number.isFinite(num(d.startupRebuildMs))) parts.push(`After a restart with them all pending, every job was queued ${ms(num(d.startupRebuildMs))} after the process was started.`);
      if (r.verdict === 'missed' && Number.isFinite(pass) && pass > TARGETS.p4RebuildMs) parts.push(`The pass alone is over the ${ms(TARGETS.p4RebuildMs)} limit: the rebuild bounds it. Traced in the code, not measured here: a pass reads PostgreSQL a page at a time, looks the page's jobs up in the queue and adds the missing ones, at most two pages of adds in flight, the next page read ahead.`);
      break;
    }
    case 'P5': {
      const max = num(d.loadedMaxBytes);
      if (Number.isFinite(num(d.idleBytes))) parts.push(`Idle ${mb(num(d.idleBytes))} (${(num(d.idleBytes) / TARGETS.p5IdleBytes).toFixed(2)} of its limit).`);
      const settled = num(d.loadedAfterStartBytes);
      parts.push(`The largest reading was ${mb(max)}, ${(max / TARGETS.p5LoadedBytes).toFixed(2)} of the ${mb(TARGETS.p5LoadedBytes)} limit${Number.isFinite(settled) ? `; once started and settled it was ${mb(settled)}, so ${mb(Math.max(0, max - settled))} came ${d.pending !== undefined ? 'with the wipe and rebuild' : 'while P3 and P4 ran'}` : ''}.`);
      if (Number.isFinite(num(d.tsxIdleBytes))) parts.push(`Under tsx (\`npm start\`) the same process idles at ${mb(num(d.tsxIdleBytes))}.`);
      break;
    }
    case 'P6': {
      const cpu = d.cpu as Record<string, number> | undefined;
      const cap = num(d.capacityOn2Cores);
      parts.push(`CPU per update ${num(d.cpuMsPerUpdate).toFixed(1)} ms${cpu ? ` (over ${n(num(d.updates))} updates: product process ${n(Math.round(cpu.product ?? 0))} ms, PostgreSQL ${n(Math.round(cpu.postgres ?? 0))} ms, Redis ${n(Math.round(cpu.redis ?? 0))} ms)` : ''}; at that cost two cores given to the product alone would sustain about ${cap.toFixed(0)} updates/s.`);
      if (r.verdict === 'missed') parts.push(cap < TARGETS.p6UpdatesPerSecond ? `That is below the ${TARGETS.p6UpdatesPerSecond}/s target: CPU per update bounds it.` : `That is above the ${TARGETS.p6UpdatesPerSecond}/s target, so what bounds this run is the machine shared with the stand-in and the load generator, or the latency under queueing.`);
      break;
    }
  }
  if (r.broken) parts.push(`Broken: ${r.broken}.`);
  return parts.join(' ');
}

/** Earlier runs, kept as the record of what was found and fixed; not this run's figures. */
export const PERFORMANCE_HISTORY = `## History (earlier runs — not this run's figures)

From the full runs of 2026-11-29, before and after the fixes made that day:

- P1 counted 11–14 sequential PostgreSQL statements per form step (\`BENCH_PG_COUNT=1\`, a counting proxy):
  the handled check, the per-chat advisory lock on a reserved connection, the identity, the flow state load
  and save, the handled record, the unlock; the submit step wrote the incident, its steps, nine timers,
  notices and audit rows, every audit insert taking the global audit lock until commit. Three round trips
  were removed then (the wait limit and the lock in one statement; the identity in one query).
- P2 was 1.4–2.1× its floor with up to 21 answers of 429 while the send queue's limiter was a fixed window
  (\`{ max: 30, duration: 1000 }\`) against Telegram's sliding second; \`npx tsx bench/tools/limiter-experiment.ts 100\`
  shows it on a bare BullMQ worker. It has been one send every 34 ms since.
- P3 was measured against a 1 s target then. With a backlog of routine notices in the send queue,
  escalations were sent 32 s late (one FIFO at 30/s; per-chat spacing slept inside the job); send jobs
  have carried a priority since, and a send whose chat's slot is far ahead waits off the worker.
- P4 took 10–41 s while the next reconciliation ran only every 60 s; a wiped Redis has been noticed within
  seconds since. The reconciler then ran its whole pass in one transaction and held every live job id and
  pending timer key in memory; it pages both sides now.
- P5 idled at 174–187 MB under the tsx loader (its own worker thread and isolate); production runs the
  bundle under Node alone since.
- P6 was 63–114 updates/s at 10.9–13.9 ms of CPU per update before those round trips were cut.

From the full run of 2026-12-02 04:55 UTC (load average 2.7–3.6), taken while that session's changes were
still landing, before the shared send lines and the two-round-trip update gate:

- P1 median 12.6 ms (6.99× the echo bot), p99 432 ms; P6 19 updates/s, p99 51 s.
- P2 1.23–1.26× its floor on one worker; on two, 1–23 answers of 429 (each worker kept its own per-chat
  spacing), and the 20 chats × 5 case at 12–15× its floor.
- P3 p99 2.80 s with 10,000 pending, and 10.68 s for the burst during the P6 load.
- P4 at 100,000 pending 13.07 s; P5 at 100,000 up to 305 MB.

From the full run of 2026-12-03 07:58 UTC (load average 0.9 at its start) on the tree of the day before,
before replies left the overall line, the per-chat burst of 3, a run per message and the queue's horizon:

- P1 median 7.62 ms (4.74× the echo bot), p99 1.02 s: the first step of each form waited for its chat's
  next second after the last form's card. P6 20 updates/s, p99 50.7 s, at 21.8 ms of CPU per update.
- P2 1.07–1.08× its floor for 100 and 1,000 staff on one worker, but the floor then counted the card alone:
  the events followed. On two workers, 11 answers of 429 for the overall limit (a job made two messages,
  the limiter counted one). 20 chats × 5 notices: 9.7–10.7× its floor.
- P3 p99 2.78 s with 10,000 pending, and 10.38 s for the burst during the P6 load.
- P4 at 100,000 pending 7.18 s; P5 at 100,000 286 MB after start, 314 MB at most.

From the full run of 2026-12-03 08:48 UTC (load average 0.3–1.1) on commit 93bf86a, before the wait for
the chat's line was limited to commands, the shared overall line and the follow-up priority:

- P1 median 15.9 ms (8.78× the echo bot), p99 1.02 s: every text step of a form waited for its chat's line.
- P2 1.05–1.19× its floor on one worker with no 429; on two workers 1.17–1.51× with 1–8 answers of 429
  for the overall limit (each worker paced its own share of the second).
- P3 p99 2.79 s with 10,000 pending (each card queued behind other notices' replies), 10.9 s in the burst.
- P5 idle 152 MB; P6 132 updates/s at 10.5 ms of CPU per update.`;
