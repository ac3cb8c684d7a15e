/**
 * The calendar's commands and buttons, for the desk: /drills (drills scheduled ahead) and /periods (the
 * 特殊敏感时间段), with the button actions drs and per. Their forms are flows of the one engine, listed in
 * FLOWS (./index.ts).
 */
import { guarded } from './after-incident/common.js';
import type { DeskPlugin } from './desk.js';
import { onDrillsCommand, onDrillsPress } from './drills.js';
import { onPeriodsCommand, onPeriodsPress } from './periods.js';

export function calendarPlugin(): DeskPlugin {
  return {
    name: 'calendar',
    commands: {
      drills: (conv) => guarded(conv, () => onDrillsCommand(conv)),
      periods: (conv) => guarded(conv, () => onPeriodsCommand(conv)),
    },
    presses: {
      drs: (conv, action, engine) => guarded(conv, () => onDrillsPress(conv, engine, action)),
      per: (conv, action, engine) => guarded(conv, () => onPeriodsPress(conv, engine, action)),
    },
  };
}
