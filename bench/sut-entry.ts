/**
 * The system under test with tunable job timings: the same composition as `src/main.ts` (it calls its
 * `runApp`), only the job system's timings come from BENCH_JOB_TUNING (JSON) and the queue namespace from
 * BENCH_QUEUE_NAMESPACE — a killed worker's job is retried after its lock expires, and a fault test should
 * not wait the production 30 s for that. Benchmarks of production behaviour run `src/main.ts` itself.
 *
 * Tells the parent `{ type: 'ready', role }` over IPC once started.
 */
import { parseConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { parseRole, runApp } from '../src/app.js';

const config = parseConfig(process.env);
// BENCH_ROLE: when this file runs bundled under `node -e` (P5's comparison), there is no argv to parse.
const role = parseRole(process.env.BENCH_ROLE ? ['--role', process.env.BENCH_ROLE] : process.argv.slice(2));
const logger = createLogger(config.logLevel);
process.on('unhandledRejection', (err) => {
  logger.error({ err }, 'unhandled rejection');
  process.send?.({ type: 'unhandled-rejection', message: String(err) });
});
process.on('uncaughtException', (err) => {
  logger.fatal({ err }, 'uncaught exception');
  process.send?.({ type: 'uncaught-exception', message: String(err) });
  process.exit(70);
});

const tuning = process.env.BENCH_JOB_TUNING ? (JSON.parse(process.env.BENCH_JOB_TUNING) as Record<string, number>) : undefined;
const namespace = process.env.BENCH_QUEUE_NAMESPACE;
const app = await runApp({ config, role, logger, ...(tuning ? { jobTuning: tuning } : {}), ...(namespace ? { queueNamespace: namespace } : {}) });
process.send?.({ type: 'ready', role });

const stop = (signal: string) => {
  setTimeout(() => process.exit(0), 20_000).unref();
  void app.shutdown(signal).finally(() => process.exit(0));
};
process.once('SIGTERM', () => stop('SIGTERM'));
process.once('SIGINT', () => stop('SIGINT'));
process.on('message', (m: { type?: string }) => {
  if (m.type === 'reconcile') void app.jobs.reconcile().then((r) => process.send?.({ type: 'reconciled', report: r }));
});
