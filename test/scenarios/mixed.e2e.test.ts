/**
 * The scenario table (table.ts) with one incident on two channels: the reporter and the office head on
 * WeCom, the section on Telegram, the leaders one on each (the deputy director on WeCom, the director
 * on Telegram), the upper-level liaison on Telegram and the stranger on WeCom. Each scenario is one
 * test in a world of its own (run.ts), so the tests keep no order among themselves and no describe
 * needs { shuffle: false }: a scenario's steps are in order inside its one test.
 */
import { describe, it } from 'vitest';
import { runScenario, type Placement } from './run.js';
import { SCENARIOS } from './table.js';

const MIXED: Placement = {
  officerA: 'wecom',
  headA: 'wecom',
  section: 'telegram',
  deputy: 'wecom',
  director: 'telegram',
  upper: 'telegram',
  stranger: 'wecom',
};

describe('the scenarios on both channels at once', () => {
  for (const scenario of SCENARIOS) it(scenario.name, () => runScenario(scenario, MIXED), 60_000);
});
