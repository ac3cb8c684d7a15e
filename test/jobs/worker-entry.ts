/**
 * A worker process for the crash tests: the real composition root (runApp, role worker) with short job
 * locks so a killed worker's job is picked up again within seconds, on the queue namespace the test gives.
 */
import { parseConfig } from '../../src/config.js';
import { runApp } from '../../src/app.js';

const config = parseConfig(process.env);
const app = await runApp({
  config,
  role: 'worker',
  ...(process.env.QUEUE_NAMESPACE ? { queueNamespace: process.env.QUEUE_NAMESPACE } : {}),
  jobTuning: { lockDurationMs: Number(process.env.LOCK_MS ?? 2_000), stalledIntervalMs: 1_000, relayEveryMs: 60_000, reconcileEveryMs: 0 },
});
process.send?.('ready');
process.once('SIGTERM', () => void app.shutdown('SIGTERM').finally(() => process.exit(0)));
