/** The steps several flows share; a flow spreads or embeds them among its own steps. */
export { choiceStep, officeChoices, scenarioChoices, typeChoices, type Choice, type ChoiceStepOptions } from './choice.js';
export { countStep, parseCount, type CountStepOptions } from './count.js';
export { subjectButtonText, subjectPicker, MAX_SUBJECT_QUERY, type SubjectPickerOptions } from './subject.js';
export { requiredText, textStep, type TextRule, type TextStepOptions } from './text.js';
export {
  AHEAD_RETYPE,
  AHEAD_YESTERDAY,
  aheadQuestion,
  aheadTime,
  dateStep,
  parseLocalDateInput,
  pastTimeStep,
  readPastTime,
  stillAhead,
  todayIn,
  type AheadTime,
  type DateStepOptions,
  type PastTimeStepOptions,
} from './time.js';
