/**
 * The headquarters' command loop (三): activating the plan (决定启动) at a response level, the HQ it forms
 * — 总指挥 the director, 副总指挥 the deputy director, the section as its office — and the messages that
 * run down and up it: a leader's 批示 or 指令 to the on-site command and the office, the on-site command's
 * 处置建议 up to HQ, each receipted (收到), and the escalation of one nobody has receipted. Pure functions.
 */
import { isLeader, isSection, type Actor, type PositionSeat } from './roles.js';
import type { TimerSpec } from './policy.js';

/**
 * The plan names no response levels; these are the bureau's default (Ⅰ级 the gravest). A bureau sets its
 * own list in the policy (`command.responseLevels`); each code has a label in the catalogue, or shows as it is.
 */
export const DEFAULT_RESPONSE_LEVELS: readonly string[] = ['I', 'II', 'III'];

/** Seconds an instruction or a proposal may go without a receipt before it escalates (default 15 min). */
export const DEFAULT_RECEIPT_SECONDS = 900;

/** What the bureau sets for the command loop. */
export interface CommandSettings {
  responseLevels: readonly string[];
  receiptSeconds: number;
}

/** The settings of a policy, or the defaults for a snapshot taken before they existed. */
export function commandSettingsOf(policy: { command?: Partial<CommandSettings> | undefined } | undefined): CommandSettings {
  const c = policy?.command;
  return {
    responseLevels: c?.responseLevels?.length ? c.responseLevels : DEFAULT_RESPONSE_LEVELS,
    receiptSeconds: c?.receiptSeconds && c.receiptSeconds > 0 ? c.receiptSeconds : DEFAULT_RECEIPT_SECONDS,
  };
}

export function isResponseLevel(level: string, settings: CommandSettings): boolean {
  return settings.responseLevels.includes(level);
}

/** 三(一): HQ decides to activate the plan; the section, as its office, may do so for it. */
export function canActivatePlan(actor: Actor): boolean {
  return isSection(actor) || isLeader(actor);
}

/**
 * 升级 / 降级响应: once activated, the level may change as the situation does. Who may decide it is who may
 * activate the plan (the section for HQ, or a leader).
 */
export function canChangeResponseLevel(actor: Actor): boolean {
  return canActivatePlan(actor);
}

/** The response level in force: the latest change's, else the one the plan was activated at. */
export function currentResponseLevel(activatedLevel: string, changes: ReadonlyArray<{ toLevel: string }>): string {
  return changes.at(-1)?.toLevel ?? activatedLevel;
}

/** Which way a change goes: the bureau lists its levels gravest first (Ⅰ级 before Ⅱ级), so up the list is 升级. */
export type LevelDirection = 'raise' | 'lower' | 'change';

export function levelDirection(from: string, to: string, settings: CommandSettings): LevelDirection {
  const a = settings.responseLevels.indexOf(from);
  const b = settings.responseLevels.indexOf(to);
  if (a < 0 || b < 0) return 'change';
  return b < a ? 'raise' : 'lower';
}

/**
 * Whether a level change may be made, and which way it goes: to a level of the bureau's list other than
 * the one in force, and only from the level the person saw (`seen`), so a change made meanwhile by
 * someone else is not silently overridden (stale).
 */
export function decideLevelChange(
  current: string,
  input: { to: string; seen: string },
  settings: CommandSettings,
): { refuse: 'stale' | 'invalid_level' | 'same_level' } | { direction: LevelDirection } {
  if (input.seen !== current) return { refuse: 'stale' };
  if (!isResponseLevel(input.to, settings)) return { refuse: 'invalid_level' };
  if (input.to === current) return { refuse: 'same_level' };
  return { direction: levelDirection(current, input.to, settings) };
}

/** HQ's posts (三(二)): 总指挥 and 副总指挥. */
export const HQ_POSTS = ['commander', 'deputy_commander'] as const;
export type HqPost = (typeof HQ_POSTS)[number];

/**
 * Who takes each HQ post when the plan is activated and nobody holds it yet: 总指挥 the director, 副总指挥
 * the deputy director in charge, each the seat's holder, else its acting holder.
 */
export function hqDefaults(seats: readonly PositionSeat[]): Record<HqPost, string | null> {
  const of = (kind: 'director' | 'deputy_director') => {
    const seat = seats.find((s) => s.kind === kind && (s.holderStaffId || s.actingStaffId));
    return seat ? (seat.holderStaffId ?? seat.actingStaffId) : null;
  };
  return { commander: of('director'), deputy_commander: of('deputy_director') };
}

/** What runs down and up the command: a leader's 批示 (remark) or 指令 (order), the on-site command's 处置建议 (proposal). */
export const COMMAND_MESSAGE_KINDS = ['remark', 'order', 'proposal'] as const;
export type CommandMessageKind = (typeof COMMAND_MESSAGE_KINDS)[number];
export type HqMessageKind = Exclude<CommandMessageKind, 'proposal'>;

export function isCommandMessageKind(value: string): value is CommandMessageKind {
  return (COMMAND_MESSAGE_KINDS as readonly string[]).includes(value);
}

/** Who holds which role on the incident. */
export type RoleHolders = ReadonlyArray<{ role: string; staffId: string }>;

const holding = (roles: RoleHolders, role: string) => roles.filter((r) => r.role === role).map((r) => r.staffId);

/** 批示 and 指令 come from the leaders, and from whoever holds an HQ post on the incident. */
export function canIssueOrders(actor: Actor, roles: RoleHolders): boolean {
  return isLeader(actor) || roles.some((r) => r.staffId === actor.staffId && (HQ_POSTS as readonly string[]).includes(r.role));
}

/** 处置建议 come from the on-site command (三(三)). */
export function canPropose(actor: Actor, roles: RoleHolders): boolean {
  return holding(roles, 'onsite_command').includes(actor.staffId);
}

/**
 * Who an instruction goes to: the on-site command, which carries it out, and HQ's office, the section
 * (`section`: who the section position reaches now). Never its sender.
 */
export function orderAddressees(roles: RoleHolders, section: readonly string[], senderStaffId: string): string[] {
  return [...new Set([...holding(roles, 'onsite_command'), ...section])].filter((id) => id !== senderStaffId);
}

/**
 * Who a proposal goes to: HQ, 总指挥 and 副总指挥 as posted on the incident; before anyone holds a post, the
 * director and the deputy director (`leaders`). Never its sender.
 */
export function proposalAddressees(roles: RoleHolders, leaders: readonly string[], senderStaffId: string): string[] {
  const hq = [...holding(roles, 'commander'), ...holding(roles, 'deputy_commander')];
  return [...new Set(hq.length ? hq : leaders)].filter((id) => id !== senderStaffId);
}

/**
 * Who may press 收到 on a message: someone it was addressed to, or (for an instruction) anyone of the
 * bodies it went to as they are now — the section, or the on-site command — so a stand-in or a member
 * added since can receipt it; for a proposal, HQ as it is now. Its sender never receipts their own.
 */
export function canReceipt(
  actor: Actor,
  message: { kind: CommandMessageKind; fromStaffId: string; addressees: readonly string[] },
  roles: RoleHolders,
): boolean {
  if (actor.staffId === message.fromStaffId) return false;
  if (message.addressees.includes(actor.staffId)) return true;
  if (message.kind === 'proposal') return isLeader(actor) || roles.some((r) => r.staffId === actor.staffId && (HQ_POSTS as readonly string[]).includes(r.role));
  return isSection(actor) || holding(roles, 'onsite_command').includes(actor.staffId);
}

/** The timer kind of an unreceipted message. */
export const RECEIPT_TIMER = 'command_receipt' as const;

/**
 * The deadline for a message's first receipt: one timer, cycle = the message, due `receiptSeconds` after it
 * was sent, paging the section (and, by the decision, the sender).
 */
export function receiptTimer(incidentId: string, messageId: string, sentAt: Date, settings: CommandSettings): TimerSpec {
  return {
    kind: RECEIPT_TIMER,
    level: 1,
    dueAt: new Date(sentAt.getTime() + settings.receiptSeconds * 1000),
    dedupeKey: `${RECEIPT_TIMER}-${incidentId}-${messageId}-1`,
    incidentId,
    cycle: messageId,
    target: { kind: 'position', position: 'section', scope: 'bureau' },
  };
}

/** What the receipt deadline knows of its message when it fires. */
export interface ReceiptTimerFacts {
  open: boolean;
  message: { fromStaffId: string; receipted: boolean } | undefined;
  /** Who the timer's target (the section) reaches now. */
  section: readonly string[];
}

/** Nobody receipted it: the sender and the section are told; a receipt or the incident's close ends it. */
export function decideReceiptTimer(f: ReceiptTimerFacts): { skip: string } | { recipients: string[] } {
  if (!f.message) return { skip: 'message not found' };
  if (f.message.receipted) return { skip: 'receipted' };
  if (!f.open) return { skip: 'incident closed' };
  return { recipients: [...new Set([f.message.fromStaffId, ...f.section])] };
}

/** The working groups of 三(四), each with its duty (the catalogue words it as the plan does). */
export const WORKING_GROUPS = ['group_onsite', 'group_order', 'group_medical', 'group_logistics', 'group_info'] as const;

/** The groups a person is in on an incident, in the plan's order: their duties show on their card. */
export function groupsOf(staffId: string, roles: RoleHolders): string[] {
  return WORKING_GROUPS.filter((g) => roles.some((r) => r.role === g && r.staffId === staffId));
}
