/**
 * Which commands a person has, by position: the menu a channel shows them and the lines of /help. A
 * command outside someone's list is still refused by its handler; the list only keeps the menu honest.
 */
import { canLookUpSubjects, canReportIncident, hasBureauWideView, isLeader, isSection, keepsSubjectRecords, type Actor } from '../domain/index.js';
import { canDraftRelease, canReviewRelease } from '../domain/public-release.js';
import type { ChannelCapabilities } from '../services/channel-port.js';

export const COMMANDS = ['report', 'incidents', 'timeline', 'wr', 'away', 'mine', 'subjects', 'screen', 'release', 'stats', 'register', 'finding', 'drill', 'drills', 'periods', 'counties', 'admin', 'groupcode', 'bindgroup', 'myaway', 'help', 'language', 'cancel'] as const;
export type Command = (typeof COMMANDS)[number];

/** The commands everyone has, also the menu of a chat nobody is bound in. */
export const GENERAL_COMMANDS: readonly Command[] = ['help', 'language', 'cancel'];

/** `channel`: what the person's messenger can do; a command it cannot serve is left out (unset: every command). */
export function commandsFor(actor: Actor | undefined, channel?: Pick<ChannelCapabilities, 'groupChats'>): Command[] {
  if (!actor) return [...GENERAL_COMMANDS];
  const inChain = actor.positions.some((p) => p !== 'info_reviewer');
  return COMMANDS.filter((c) => {
    switch (c) {
      case 'report':
        return canReportIncident(actor);
      case 'incidents':
      case 'timeline':
      case 'wr':
        return inChain;
      case 'away':
      case 'screen':
        return keepsSubjectRecords(actor);
      case 'mine':
        // 我的对象: the subjects one is the responsible officer of.
        return actor.positions.includes('officer') || actor.positions.includes('office_head');
      case 'subjects':
        return canLookUpSubjects(actor);
      case 'release':
        return canDraftRelease(actor) || canReviewRelease(actor);
      case 'stats':
      case 'register':
        return hasBureauWideView(actor) || actor.positions.includes('office_head');
      case 'finding':
        return isSection(actor) || isLeader(actor);
      case 'drills':
      case 'periods':
        // The calendar: the section keeps it; the leaders see it.
        return isSection(actor) || isLeader(actor);
      case 'drill':
      case 'counties':
      case 'admin':
        return isSection(actor);
      case 'groupcode':
      case 'bindgroup':
        // Duty groups: the section binds its own and HQ groups, an office head the office's, a leader an HQ group.
        if (channel && !channel.groupChats) return false;
        return isSection(actor) || isLeader(actor) || actor.positions.includes('office_head');
      case 'myaway':
        // 我外出/休假: everyone with a seat has notices someone must take meanwhile.
        return actor.positions.length > 0;
      default:
        return true;
    }
  });
}
