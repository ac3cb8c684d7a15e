/**
 * Every flow of the bot, on the one engine (./engine.ts): the report and the incident card's forms, the
 * subjects' and absences' forms, and the after-incident inputs. The engine keeps one state per chat, and
 * discards a saved state whose flow or version is not listed here.
 */
import { absenceCancelFlow, absenceRejectFlow, absenceReturnFlow } from './absence-decision.flow.js';
import { myAwayFlow } from './absence-staff.flow.js';
import { absenceExtendFlow, absenceFlow } from './absence.flow.js';
import { ADMIN_FLOWS } from './admin.flow.js';
import { AFTER_INCIDENT_FLOWS } from './after-incident/flows.js';
import { assignFlow } from './assign.flow.js';
import { drillScheduleFlow } from './drills.js';
import { sensitivePeriodFlow } from './periods.js';
import { closeFlow, falseAlarmFlow } from './close.flow.js';
import { activateFlow, changeLevelFlow, instructFlow } from './command-post.flow.js';
import { contactFlow } from './contact.flow.js';
import { progressFlow } from './progress.flow.js';
import { reportFlow } from './report.flow.js';
import { forwardFlow, upwardFlow } from './report-up.flow.js';
import { searchFlow } from './search.flow.js';
import { stepNoteFlow } from './step-note.flow.js';
import { receiptFlow } from './receipt.flow.js';
import { sanctionDecisionFlow, sanctionFlow } from './sanction.flow.js';
import { subjectsFlow } from './subjects.flow.js';

export const FLOWS = [
  reportFlow,
  progressFlow,
  stepNoteFlow,
  receiptFlow,
  sanctionFlow,
  sanctionDecisionFlow,
  closeFlow,
  falseAlarmFlow,
  assignFlow,
  searchFlow,
  absenceFlow,
  absenceExtendFlow,
  absenceRejectFlow,
  absenceReturnFlow,
  absenceCancelFlow,
  myAwayFlow,
  contactFlow,
  subjectsFlow,
  forwardFlow,
  upwardFlow,
  ...ADMIN_FLOWS,
  ...AFTER_INCIDENT_FLOWS,
  drillScheduleFlow,
  sensitivePeriodFlow,
  activateFlow,
  changeLevelFlow,
  instructFlow,
] as const;
