/**
 * `/groupcode` in the private chat: a single-use code to bind a duty group with (`/bindgroup <code>`,
 * typed in the group; the messenger's adapter binds it). Bare: the section's duty group for the
 * section, the office's group for an office head. With an incident number: that activated incident's
 * HQ group.
 */
import { formatLocal } from '../domain/index.js';
import { t, type MessageKey } from '../i18n/index.js';
import { escapeHtml } from '../i18n/markup.js';
import { findUnit } from '../db/repositories/org.repository.js';
import { issueGroupCode } from '../services/duty-group.service.js';
import { ServiceRefusal } from '../services/errors.js';
import { unitName } from '../views/labels.js';
import { whoOf, type Conversation } from './conversation.js';
import type { DeskPlugin } from './desk.js';

export function dutyGroupPlugin(): DeskPlugin {
  return { name: 'duty-groups', commands: { groupcode: (conv, args) => onGroupCodeCommand(conv, args) }, presses: {} };
}

export async function onGroupCodeCommand(conv: Conversation, args: string): Promise<void> {
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
