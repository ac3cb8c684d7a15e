/**
 * After the incident and around it, the chat side: the written report and its sign-off chain
 * (/wr), public releases (/release), statistics and the accountability register (/stats, /register,
 * /finding), drills (/drill), screening (/screen), cross-county notifications (/counties). What the user
 * types or picks for them is a flow of the one engine (../engine.ts), listed in FLOWS (../index.ts).
 *
 * Given to the desk as `plugins: [afterIncidentPlugin()]`; it handles its commands and the button actions
 * wr, rel, drill, stats, scr and cty, for an identified person in the private chat.
 */
import type { DeskPlugin } from '../desk.js';
import { guarded } from './common.js';
import { onCountiesCommand, onCountyButton } from './county.flow.js';
import { onDrillButton, onDrillCommand } from './drill.flow.js';
import { onReleaseButton, onReleaseCommand } from './release.flow.js';
import { onScreenButton, onScreenCommand } from './screening.flow.js';
import { onFindingCommand, onRegisterCommand, onStatsButton, onStatsCommand } from './stats.flow.js';
import { onWrittenReportButton, onWrittenReportCommand } from './written-report.flow.js';

export { AFTER_INCIDENT_FLOWS } from './flows.js';
export { renderReportCard } from './written-report.flow.js';
export { renderReleaseCard } from './release.flow.js';

/**
 * The after-incident commands and buttons, for the desk (../desk.ts). Commands and forms belong in the
 * private chat (reports and subjects are personal data): the desk sends a group's command elsewhere.
 */
export function afterIncidentPlugin(): DeskPlugin {
  return {
    name: 'after-incident',
    commands: {
      wr: (conv, args) => guarded(conv, () => onWrittenReportCommand(conv, args)),
      release: (conv, args) => guarded(conv, () => onReleaseCommand(conv, args)),
      stats: (conv, args) => guarded(conv, () => onStatsCommand(conv, args)),
      register: (conv, args) => guarded(conv, () => onRegisterCommand(conv, args)),
      finding: (conv, args, engine) => guarded(conv, () => onFindingCommand(conv, args, engine)),
      drill: (conv, args, engine) => guarded(conv, () => onDrillCommand(conv, args, engine)),
      screen: (conv, args, engine) => guarded(conv, () => onScreenCommand(conv, args, engine)),
      counties: (conv, args, engine) => guarded(conv, () => onCountiesCommand(conv, args, engine)),
    },
    presses: {
      wr: (conv, action, engine) => guarded(conv, () => onWrittenReportButton(conv, engine, action)),
      rel: (conv, action, engine) => guarded(conv, () => onReleaseButton(conv, engine, action)),
      drill: (conv, action, engine) => guarded(conv, () => onDrillButton(conv, engine, action)),
      stats: (conv, action) => guarded(conv, () => onStatsButton(conv, action)),
      scr: (conv, action, engine) => guarded(conv, () => onScreenButton(conv, engine, action)),
      cty: (conv, action, engine) => guarded(conv, () => onCountyButton(conv, engine, action)),
    },
  };
}
