/**
 * The scenario table (table.ts) on WeCom: every person of the table bound on WeCom only (the rest of the
 * seeded staff stay on Telegram, in a deployment with both channels). Each scenario is one test in a
 * world of its own (run.ts), so the tests keep no order among themselves and no describe needs
 * { shuffle: false }: a scenario's steps are in order inside its one test.
 */
import { describe, it } from 'vitest';
import { allOn, runScenario } from './run.js';
import { SCENARIOS } from './table.js';

describe('the scenarios on WeCom', () => {
  for (const scenario of SCENARIOS) it(scenario.name, () => runScenario(scenario, allOn('wecom')), 60_000);
});
