/**
 * What a button means, whatever the channel: an action and ids only, never a name. Every action that
 * comes back from a press is untrusted: the channel parses it with `buttonActionSchema`, and the flows
 * and services check permission and version again on every press. How an action travels (Telegram's
 * 64-byte callback data, WeCom's event key) is the channel adapter's business.
 */
import { z } from 'zod';

export const BUTTON_ACTIONS = [
  // incident card
  'card', // open or redraw the card
  'ack', // 签收
  'prog', // 续报
  'asgn', // 指派 roles
  'upper', // 上报上一级 done
  'proc', // 通报检察院 done
  'close', // close
  'falarm', // close as false alarm
  'step', // open a step's actions
  'sdone', // mark step done
  'sna', // mark step not applicable
  'snote', // add a note to a step
  'search', // absconding search attempt
  'found', // absconding outcome
  'list', // /incidents page
  // subjects and away
  'contact', // log a daily contact for a subject
  'abscond', // open an absconding report prefilled for a subject
  'away', // absence actions: key = new, list, pending; with id = a stay: ret (销假), ext (续假), cancel
  // written reports, releases, drills
  'wr',
  'rel',
  'drill',
  'stats', // /stats month choice and CSV exports
  'acct', // manual accountability finding (谎报、瞒报)
  'scr', // screening result for a subject
  'cty', // cross-county notification
  // conversational form steps
  'f', // flow choice: key = choice, id = flow token
  'lang', // /language: key = zh | en
  'nop',
  // the absence process, subjects, administration
  'areq', // decide an absence request: id = request, key = ok (批准) | no (不批准), version = the request's
  'subj', // open a subject's view: id = subject
  'adm', // /admin's menu: key = the form; invite with id = a staff member
  // the incident's timeline
  'tl', // id = incident; key = <page>.<entries it was drawn with> (none: a new message, page 1)
  // progress up the line, from the section's card
  'fwd', // 立即上报: id = incident
  'upw', // 上报上一级 with its phase (首报, 续报, 终报): id = incident
  // the calendar: drills scheduled ahead, sensitive periods
  'drs', // /drills: key = add | list; with id = a scheduled drill: cancel
  'per', // /periods: key = add | list; with id = a period: rm
  // the headquarters' command loop (三)
  'cpa', // 启动预案: id = incident; key = a response level (none: the form asks)
  'cpl', // 调整响应级别 (升级 / 降级): id = incident; key = the level the card showed (a press from an older card is stale)
  'cpi', // 批示 / 指令: id = incident
  'cpp', // 处置建议: id = incident
  'rcpt', // 收到: id = the message (its incident_updates id)
  // outside parties and sanctions, from a step of the card
  'opr', // 回执 of a call or notice to an outside party: id = incident, key = the step's ordinal
  'sanc', // 处罚: id = incident; key = n.<ordinal> (record one, from the punishment step) | dec (a later decision)
] as const;
export type ButtonActionName = (typeof BUTTON_ACTIONS)[number];

const uuid = z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
const key = z.string().regex(/^[A-Za-z0-9_.-]{1,24}$/);

export const buttonActionSchema = z.object({
  a: z.enum(BUTTON_ACTIONS),
  i: uuid.optional(),
  k: key.optional(),
  v: z.coerce.number().int().min(0).max(1_000_000).optional(),
});
/** `a`: the action; `i`: the id it acts on; `k`: a key (a choice, a step); `v`: the version it was drawn at. */
export type ButtonAction = z.infer<typeof buttonActionSchema>;
