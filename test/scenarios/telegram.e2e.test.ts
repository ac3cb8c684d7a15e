/**
 * The scenario table (table.ts) on Telegram: every person on Telegram, a Telegram-only deployment.
 * Each scenario is one test in a world of its own (run.ts), so the tests keep no order among themselves
 * and no describe needs { shuffle: false }: a scenario's steps are in order inside its one test.
 */
import { describe, it } from 'vitest';
import { allOn, runScenario } from './run.js';
import { SCENARIOS } from './table.js';

describe('the scenarios on Telegram', () => {
  for (const scenario of SCENARIOS) it(scenario.name, () => runScenario(scenario, allOn('telegram')), 60_000);
});
