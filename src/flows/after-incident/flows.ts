/** The after-incident inputs, as flows of the one engine: listed in the catalogue of every flow (../index.ts). */
import { countyFlow } from './county.flow.js';
import { drillFlow } from './drill.flow.js';
import { releaseFlow } from './release.flow.js';
import { screeningFlow } from './screening.flow.js';
import { findingFlow } from './stats.flow.js';
import { writtenReportFlow } from './written-report.flow.js';

export const AFTER_INCIDENT_FLOWS = [writtenReportFlow, releaseFlow, findingFlow, drillFlow, screeningFlow, countyFlow] as const;
