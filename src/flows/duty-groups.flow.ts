/**
 * `/groupcode` in the private chat: a single-use code to bind a duty group with (`/bindgroup <code>`,
 * typed in the group; the messenger's adapter binds it). Bare: the section's duty group for the
 * section, the office's group for an office head. With an incident number: that activated incident's
 * HQ group. On a messenger whose group chats are not bound (`capabilities.groupChats`, WeCom today),
 * /groupcode, /bindgroup and /unbindgroup say that groups are bound from Telegram, and change nothing.
 */
import { formatLocal } from '../domain/index.js';
import { t, type MessageKey } from '../i18n/index.js';
import { escapeHtml } from '../i18n/markup.js';
import { findUnit } from '../db/repositories/org.repository.js';
import { groupsUnbindableBy, issueGroupCode, unbindDutyGroupByCommand } from '../services/duty-group.service.js';
import { findIncident } from '../db/repositories/incident.repository.js';
import type { DutyGroupRow } from '../db/repositories/duty-group.repository.js';
import { ServiceRefusal } from '../services/errors.js';
import { unitName } from '../views/labels.js';
import { whoOf, type Conversation } from './conversation.js';
import type { DeskPlugin } from './desk.js';

export function dutyGroupPlugin(): DeskPlugin {
  return {
    name: 'duty-groups',
    commands: {
      groupcode: (conv, args) => onGroupCodeCommand(conv, args),
      bindgroup: (conv) => onBindGroupCommand(conv),
      unbindgroup: (conv, args) => onUnbindGroupCommand(conv, args),
    },
    presses: {},
  };
}

/**
 * On a messenger whose group chats are not bound (its capabilities say so), the group commands say where
 * groups are bound and change nothing: they would issue codes for, or unbind, another messenger's groups.
 */
async function groupsElsewhere(conv: Conversation): Promise<boolean> {
  if (conv.capabilities.groupChats) return false;
  await conv.send(t(conv.lang, 'dutygroup.groups_elsewhere'));
  return true;
}

/**
 * `/bindgroup` that reached the desk: typed in a private chat (the messenger's adapter binds it when typed
 * in a group), so it says where to type it; where groups are not bound, where they are.
 */
export async function onBindGroupCommand(conv: Conversation): Promise<void> {
  if (await groupsElsewhere(conv)) return;
  await conv.send(t(conv.lang, 'dutygroup.code_usage'));
}

/** A bound group in words: the section's duty group, an office's group, an incident's HQ group. */
async function groupPurpose(conv: Conversation, group: Pick<DutyGroupRow, 'purpose' | 'unitId' | 'incidentId'>): Promise<string> {
  const lang = conv.lang;
  if (group.purpose === 'office') return t(lang, 'dutygroup.purpose.office', { unit: escapeHtml(unitName(await findUnit(conv.deps.db, group.unitId), lang)) });
  if (group.purpose === 'hq' && group.incidentId) return t(lang, 'dutygroup.purpose.hq', { number: escapeHtml((await findIncident(conv.deps.db, group.incidentId))?.number ?? '') });
  return t(lang, 'dutygroup.purpose.section');
}

/**
 * `/unbindgroup` in the private chat: bare, the bound groups one may unbind, each with its number; with a
 * group's number, that group is unbound (typed in the group itself, the messenger's adapter does it).
 */
export async function onUnbindGroupCommand(conv: Conversation, args: string): Promise<void> {
  if (await groupsElsewhere(conv)) return;
  const { actor } = whoOf(conv);
  const lang = conv.lang;
  const arg = args.trim();
  if (!arg) {
    const groups = await groupsUnbindableBy(conv.deps, actor);
    if (groups.length === 0) return void (await conv.send(t(lang, 'dutygroup.unbind_none')));
    const lines = await Promise.all(groups.map(async (g) => t(lang, 'dutygroup.unbind_line', { purpose: await groupPurpose(conv, g), chat: g.chatId })));
    return void (await conv.send(t(lang, 'dutygroup.unbind_list', { lines: lines.join('\n') })));
  }
  const chatId = /^-?\d{1,20}$/.test(arg) ? Number(arg) : NaN;
  if (!Number.isSafeInteger(chatId)) return void (await conv.send(t(lang, 'dutygroup.unbind_not_found', { chat: escapeHtml(arg) })));
  let done;
  try {
    done = await unbindDutyGroupByCommand(conv.deps, actor, chatId, 'private');
  } catch (err) {
    if (!(err instanceof ServiceRefusal)) throw err;
    return void (await conv.send(t(lang, err.code === 'not_permitted' ? 'dutygroup.unbind_not_permitted' : 'dutygroup.unbind_not_found', { chat: chatId })));
  }
  await conv.send(t(lang, 'dutygroup.unbound_private', { purpose: await groupPurpose(conv, done.group), chat: chatId, count: done.closedNotices }));
}

export async function onGroupCodeCommand(conv: Conversation, args: string): Promise<void> {
  if (await groupsElsewhere(conv)) return;
  const { actor } = whoOf(conv);
  const number = args.trim();
  let issued;
  try {
    issued = await issueGroupCode(conv.deps, actor, number ? { incidentNumber: number } : {});
  } catch (err) {
    if (!(err instanceof ServiceRefusal)) throw err;
    const key: MessageKey = err.code === 'not_found' ? 'dutygroup.incident_not_found' : err.code === 'wrong_status' ? 'dutygroup.not_activated' : 'dutygroup.not_permitted';
    return void (await conv.send(t(conv.lang, key)));
  }
  const lang = conv.lang;
  const purpose =
    issued.purpose === 'hq'
      ? t(lang, 'dutygroup.purpose.hq', { number: escapeHtml(issued.incidentNumber ?? '') })
      : issued.purpose === 'office'
        ? t(lang, 'dutygroup.purpose.office', { unit: escapeHtml(unitName(await findUnit(conv.deps.db, actor.unitId), lang)) })
        : t(lang, 'dutygroup.purpose.section');
  const time = formatLocal(issued.expiresAt, conv.deps.timeZone, conv.deps.clock.now());
  await conv.send(t(lang, 'dutygroup.code', { purpose, code: issued.code, time }));
}
