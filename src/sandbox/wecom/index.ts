// The WeCom API stand-in: what tests, the sandbox page and the benchmark use of it.

export { startWecomStandIn, type WecomStandIn } from './wecom-standin.js';
export { MemberActionRefused, WecomDriver, type LocationInput } from './wecom-driver.js';
export type { StandInLimitsConfig, WecomFault, WecomFaultPlan } from './wecom-rules.js';
export type {
  CallbackAttempt,
  CallbackDelivery,
  CardState,
  ReceivedMessage,
  RequestLogEntry,
  WecomStandInConfig,
  WecomStandInEvents,
  WecomStandInOptions,
} from './wecom-world.js';
