/**
 * The standing text of docs/reliability.md, after the table and each case's note (a case writes its note
 * from its own figures). Here: how the cases run, from the settings they run with, and, under a heading of
 * its own, the history of earlier runs. Nothing here states a figure of the run it is printed with.
 */
import { TELEGRAM_LIMITS } from '../../bench/lib/context.js';
import { REQUEST_TIMEOUT_MS } from '../../src/channels/telegram/telegram-gateway.js';
import { FAST_JOBS } from './helpers/world.js';
import { WECOM_CLIENT_TIMEOUT_MS } from './helpers/wecom.js';

const s = (ms: number) => `${ms / 1000} s`;

const METHOD = `## How the cases run

\`npm run test:faults\` (vitest, \`vitest.faults.config.ts\`, one file at a time); \`FAULTS_QUICK=1\` runs every
case with fewer iterations (CI). Each case starts the product's own processes — \`runApp\` from
\`src/main.ts\` through \`bench/sut-entry.ts\`, with job timings shortened (a killed worker's job lock
expires in ${s(FAST_JOBS.lockDurationMs)} instead of 30 s; the reconciler runs every ${s(FAST_JOBS.reconcileEveryMs)} instead of 60 s) — against a fresh
database, a throwaway \`redis-server\` of its own and the Bot API stand-in over HTTP. R3 runs its own
embedded PostgreSQL (\`src/db/embedded.ts\`), stopped and started mid-run; the product's processes are
restarted when they exit, as compose's \`restart: unless-stopped\` does. R1, R4 and R10 run with the
stand-in enforcing Telegram's flood limits (${TELEGRAM_LIMITS.globalPerSecond} messages a second overall, ${TELEGRAM_LIMITS.perChatPerSecond} a second per chat,
${TELEGRAM_LIMITS.perGroupPerMinute} a minute per group), so processes that share the work also share those limits.

**Duplicates, by cause (R1, R4).** The Bot API has no idempotency key: after an ambiguous outcome — a
call that timed out after Telegram had the request (the gateway waits ${s(REQUEST_TIMEOUT_MS)}), or a process killed between
Telegram accepting a message and the row being marked sent — either a loss or a duplicate is possible, and
the product sends the notice again marked "re-sent". The cases find every delivery that no outbox row
records (an ambiguous outcome that delivered), name its cause from their own record of the faults they
injected (R4: a timed-out request to that chat; R1: a kill within the run's own accepted-to-recorded
window), and fail on any duplicate without such a cause and on any copy without the "re-sent" line. A
case with only such duplicates is "missed", not "held".

**On WeCom (R4 WeCom, R9 WeCom).** R4 WeCom runs a worker against the WeCom stand-in (\`src/sandbox/wecom\`)
with WeCom's frequency limits on and a seeded fault plan on message/send, update_template_card and
gettoken: errcode -1, 45033, 40014 and 42001, HTTP 500, an answer after the client's
${s(WECOM_CLIENT_TIMEOUT_MS)} (the call took effect), and a reset; the full form adds one 45009, after which no message may leave
for WeCom's 60 s block. The stand-in's request log ties each late call to the message it delivered, or to
the card it changed, so a duplicate's cause is read, not guessed; a redraw whose update got no answer
sends its new card at once, marked "re-sent". R9 WeCom binds one office on WeCom in R9's own processes:
its officers fill in the form by signed callbacks while the Telegram load runs, and the logs, Redis, every
WeCom message and card rendering, and the wecom_* tables are scanned.`;

const HISTORY = `## History (earlier runs — not this run's figures)

From the full and quick runs of 2026-11-29, when R1, R4 and R10 ran with the flood limits off and the
gateway waited 10 s for an answer:

- R1 saw 0–2 duplicates per run of 1,000 escalations with 5–9 kills, each marked "re-sent".
- R4 had 13 duplicates in a full run of which only 9, then 11, were marked: \`releaseClaim\` put a row that
  had timed out (maybe delivered) back to \`pending\` after a 429 or to \`failed\` after a 5xx on its retry,
  so the next attempt no longer knew that it might have been delivered.
- R3: postgres.js 3.4.9 threw from a \`setImmediate\` when a connection closed with a small write buffered
  (\`Cannot read properties of null (reading 'write')\` in \`connection.js\` \`nextWrite\`), killing the process
  in 3 of 6 runs; the process is restarted as compose restarts it. Updates were lost (6–12 a run) while the
  update id was recorded before the handler ran; one update was carried out twice (a submit delivered
  again after its commit); one update hung after PostgreSQL came back, behind a \`sql.reserve()\` that
  postgres.js never resolved. Each was fixed in the product then.
- R5: in two runs, 6 and 16 of 10,000 malformed updates were not answered within 60 s while a pool
  connection sat \`active\` in \`ClientRead\`; the trigger was not isolated.`;

export const RELIABILITY_NOTES = `${METHOD}\n\n${HISTORY}`;
