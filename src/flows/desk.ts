/**
 * The desk: where every input of every channel lands once the channel has made it a `Conversation` and an
 * `Inbound` (a command, a press, a message). It ends a pending prompt when the user turns elsewhere,
 * routes commands and presses to the flows and views, gives a message to the form waiting for it, and
 * tells a refused press from the one refusal map, audited. The channel keeps only what is its own: its
 * gates (well-formed, once, one at a time per chat, who is this), parsing, and its error edge.
 */
import { actorFor, findUnit } from '../db/repositories/org.repository.js';
import { canReportIncident } from '../domain/index.js';
import { escapeHtml } from '../i18n/markup.js';
import { langOf, t, type Lang, type MessageKey, type Params } from '../i18n/index.js';
import { ServiceRefusal } from '../services/errors.js';
import { redeemInvite } from '../services/invite.service.js';
import { setStaffLanguage } from '../services/staff.service.js';
import { getSubject } from '../services/subject.service.js';
import { positionLabel, unitName } from '../views/labels.js';
import type { ButtonAction, ButtonActionName } from './actions.js';
import { onAbsenceRequestPress, onAwayPress, sendAwayMenu } from './absence-view.js';
import { onAdminPress, sendAdminMenu } from './admin.flow.js';
import { myAwayFlow } from './absence-staff.flow.js';
import { auditRefusal, CARD_ACTIONS, CallbackRefused, handleCardAction, type RefusalReason } from './card-actions.js';
import { commandsFor } from './commands.js';
import { contactFlow } from './contact.flow.js';
import { whoOf, type Conversation } from './conversation.js';
import { createFlowEngine, StaleFlowButton, type FlowEngine, type LocationInput, type MediaInput } from './engine.js';
import { FLOWS } from './index.js';
import { refusalKey, refusalReason } from './refusals.js';
import { abscondingPrefill, REPORT_START, reportFlow } from './report.flow.js';
import { subjectsFlow } from './subjects.flow.js';
import { sendIncidentList, sendMySubjects, sendSubjectView } from './subject-view.js';
import { button } from './ui.js';

/** What came in, as the desk takes it. */
export type Inbound =
  /** `/name args`; `person`: how the messenger names the sender (for binding an invite). */
  | { kind: 'command'; name: string; args: string; person?: { displayName: string; languageCode?: string | undefined } }
  /** A button; `action` is undefined when what came back could not be read (forged or malformed). */
  | { kind: 'press'; action: ButtonAction | undefined; raw?: string | undefined }
  | { kind: 'text'; text: string }
  | { kind: 'location'; location: LocationInput }
  | { kind: 'media'; media: MediaInput }
  /** Anything else a person sent (a sticker, a contact card). */
  | { kind: 'other' };

/** Plugin buttons that need no form and so work in a duty group too, for whoever may press them: 收到. */
const GROUP_PLUGIN_PRESSES: ReadonlySet<string> = new Set<ButtonActionName>(['rcpt']);

type CommandHandler = (conv: Conversation, args: string, engine: FlowEngine) => Promise<void>;
type PressHandler = (conv: Conversation, action: ButtonAction, engine: FlowEngine) => Promise<void>;

/** Commands and buttons of another part of the product (written reports, drills…), for identified staff in a private chat. */
export interface DeskPlugin {
  name: string;
  commands: Record<string, CommandHandler>;
  presses: Partial<Record<ButtonActionName, PressHandler>>;
}

export interface Desk {
  readonly engine: FlowEngine;
  /** Handles one input. A refusal is answered here; anything else is thrown to the channel's error edge. */
  handle(conv: Conversation, input: Inbound): Promise<void>;
}

/** Whether an input turns away from the prompt waiting in its chat: a command other than /cancel, or a button that is not a flow's own. */
export function turnsElsewhere(input: Inbound): boolean {
  if (input.kind === 'command') return input.name !== 'cancel';
  if (input.kind === 'press') return input.action !== undefined && input.action.a !== 'f' && input.action.a !== 'nop';
  return false;
}

export function createDesk(opts: { plugins?: readonly DeskPlugin[] } = {}): Desk {
  const engine = createFlowEngine(FLOWS);
  const plugins = opts.plugins ?? [];
  const commands: Record<string, CommandHandler> = {
    help: (conv) => sendHelp(conv),
    cancel: async (conv) => {
      if (!(await engine.cancel(conv))) await conv.send(t(conv.lang, 'nothing_to_cancel'));
    },
    language: async (conv) => {
      await conv.send(t(conv.lang, 'language.ask'), [[button(t('zh', 'button.lang_zh'), { a: 'lang', k: 'zh' }), button(t('en', 'button.lang_en'), { a: 'lang', k: 'en' })]]);
    },
    report: async (conv) => {
      if (!canReportIncident(whoOf(conv).actor)) return void (await conv.send(t(conv.lang, 'refuse.not_permitted')));
      await engine.start(conv, reportFlow, REPORT_START, reportFlow.data.parse({}));
    },
    incidents: (conv) => sendIncidentList(conv, 0, false),
    away: (conv) => sendAwayMenu(conv),
    subjects: (conv) => engine.start(conv, subjectsFlow, 'query', {}).then(() => {}),
    mine: (conv) => sendMySubjects(conv),
    myaway: (conv) => engine.start(conv, myAwayFlow, 'menu', {}).then(() => {}),
    admin: (conv) => sendAdminMenu(conv),
  };
  for (const plugin of plugins) Object.assign(commands, plugin.commands);
  const pluginPresses: Partial<Record<ButtonActionName, PressHandler>> = Object.assign({}, ...plugins.map((p) => p.presses));

  async function onCommand(conv: Conversation, input: Extract<Inbound, { kind: 'command' }>): Promise<void> {
    if (input.name === 'start') return onStart(conv, input.args, input.person);
    if (!conv.who) return;
    // Commands work in the private chat only: forms and cards with personal data do not belong in groups.
    if (conv.chatKind !== 'private') return void (await conv.send(t(conv.lang, 'group.use_private')));
    const handler = commands[input.name];
    if (!handler) return void (await conv.send(t(conv.lang, 'unknown_text')));
    await handler(conv, input.args, engine);
  }

  async function onPress(conv: Conversation, input: Extract<Inbound, { kind: 'press' }>): Promise<void> {
    const cb = input.action;
    try {
      if (!cb) throw new CallbackRefused('malformed', 'refuse.bad_button');
      const plugin = pluginPresses[cb.a];
      if (plugin && (conv.chatKind === 'private' || GROUP_PLUGIN_PRESSES.has(cb.a))) await plugin(conv, cb, engine);
      else await routePress(conv, cb);
    } catch (err) {
      const refusal = asRefusal(err);
      // Anything else goes to the channel's error edge, which answers the press with the apology.
      if (!refusal) throw err;
      await auditRefusal(conv, cb, refusal.reason, cb ? undefined : input.raw);
      const text = t(conv.lang, refusal.key, refusal.params);
      if (conv.answered) await conv.send(text);
      else await conv.answer(text, refusal.reason === 'not_permitted');
      if ((refusal.reason === 'stale' || refusal.reason === 'already_done') && refusal.incidentId) {
        await conv.redrawCard(refusal.incidentId).catch((e: unknown) => conv.deps.logger.warn({ err: e, incidentId: refusal.incidentId }, 'could not redraw a stale card'));
      }
    }
    // Every press is answered once, so the client stops its spinner.
    await conv.answer();
  }

  async function routePress(conv: Conversation, cb: ButtonAction): Promise<void> {
    if ((CARD_ACTIONS as readonly string[]).includes(cb.a)) return handleCardAction(conv, cb, engine);
    if (conv.chatKind !== 'private') throw new CallbackRefused('malformed', 'refuse.bad_button');
    const who = whoOf(conv);
    switch (cb.a) {
      case 'f':
        return engine.onChoice(conv, cb);
      case 'list': {
        const page = Number(cb.k ?? '0');
        if (!Number.isInteger(page) || page < 0 || page > 1000) throw new CallbackRefused('malformed', 'refuse.bad_button');
        await conv.answer();
        return sendIncidentList(conv, page, true);
      }
      case 'contact': {
        if (!cb.i) throw new CallbackRefused('malformed', 'refuse.bad_button');
        const subject = await getSubjectOrRefuse(conv, cb.i);
        await conv.answer();
        await engine.start(conv, contactFlow, 'result', { subjectId: subject.id });
        return;
      }
      case 'abscond': {
        if (!cb.i) throw new CallbackRefused('malformed', 'refuse.bad_button');
        if (!canReportIncident(who.actor)) throw new CallbackRefused('not_permitted', 'refuse.not_permitted');
        await getSubjectOrRefuse(conv, cb.i);
        await conv.answer();
        await engine.start(conv, reportFlow, 'time', await abscondingPrefill({ deps: conv.deps, who }, cb.i));
        return;
      }
      case 'away':
        return onAwayPress(conv, cb, engine);
      case 'areq':
        return onAbsenceRequestPress(conv, cb, engine);
      case 'subj': {
        if (!cb.i) throw new CallbackRefused('malformed', 'refuse.bad_button');
        const subject = await getSubjectOrRefuse(conv, cb.i);
        await conv.answer();
        return sendSubjectView(conv, subject.id);
      }
      case 'adm':
        return onAdminPress(conv, cb, engine);
      case 'lang': {
        if (cb.k !== 'zh' && cb.k !== 'en') throw new CallbackRefused('malformed', 'refuse.bad_button');
        const lang: Lang = cb.k;
        await setStaffLanguage(conv.deps, who.staff.id, lang);
        conv.lang = lang;
        await conv.answer(t(lang, 'language.set'));
        if (conv.pressedMessageId !== undefined) await conv.edit(conv.pressedMessageId, t(lang, 'language.set')).catch(() => {});
        await conv.refreshMenu();
        return;
      }
      case 'nop':
        return conv.answer();
      default:
        throw new CallbackRefused('unknown_action', 'refuse.bad_button');
    }
  }

  async function onMessage(conv: Conversation, input: Exclude<Inbound, { kind: 'command' } | { kind: 'press' }>): Promise<void> {
    if (conv.chatKind !== 'private' || !conv.who) return;
    const flowInput =
      input.kind === 'text' ? { text: input.text } : input.kind === 'location' ? { location: input.location } : input.kind === 'media' ? { media: input.media } : undefined;
    if (flowInput && (await engine.onInput(conv, flowInput))) return;
    await conv.send(t(conv.lang, (await engine.current(conv)) ? 'flow.use_buttons' : 'unknown_text'));
  }

  return {
    engine,
    async handle(conv, input) {
      // A command, or a button outside the form, ends a pending prompt (a /report in progress is kept).
      if (conv.chatKind === 'private' && conv.who && turnsElsewhere(input)) await engine.leave(conv);
      if (input.kind === 'command') return onCommand(conv, input);
      if (input.kind === 'press') {
        if (!conv.who) return;
        return onPress(conv, input);
      }
      return onMessage(conv, input);
    },
  };
}

function asRefusal(err: unknown): { reason: RefusalReason; key: MessageKey; incidentId?: string | undefined; params?: Params | undefined } | undefined {
  if (err instanceof CallbackRefused) return err;
  if (err instanceof StaleFlowButton) return { reason: 'stale_flow', key: 'refuse.bad_button' };
  if (err instanceof ServiceRefusal) return { reason: refusalReason(err), key: refusalKey(err) };
  return undefined;
}

async function getSubjectOrRefuse(conv: Conversation, subjectId: string) {
  try {
    return await getSubject(conv.deps, whoOf(conv).actor, subjectId);
  } catch (err) {
    if (err instanceof ServiceRefusal) throw new CallbackRefused('not_found', 'refuse.not_found');
    throw err;
  }
}

/** /start: a known person gets the help; a stranger with an invite code is bound to their staff record. */
async function onStart(conv: Conversation, args: string, person: { displayName: string; languageCode?: string | undefined } | undefined): Promise<void> {
  const code = args.trim();
  if (conv.who) {
    if (code) await conv.send(t(conv.lang, 'start.already_bound'));
    await conv.refreshMenu();
    return sendHelp(conv);
  }
  try {
    const bound = await redeemInvite(conv.deps, code, {
      telegramUserId: conv.userId,
      chatId: conv.chatId,
      language: langOf(person?.languageCode),
      displayName: person?.displayName ?? '',
    });
    conv.who = { staff: bound, actor: await actorFor(conv.deps.db, bound) };
    conv.lang = bound.language === 'en' ? 'en' : 'zh';
  } catch (err) {
    if (!(err instanceof ServiceRefusal)) throw err;
    const key: MessageKey =
      err.code === 'already_done'
        ? 'start.invite_used'
        : err.code === 'expired'
          ? 'start.invite_expired'
          : err.code === 'already_bound' && err.detail !== 'staff'
            ? 'start.already_bound'
            : 'start.invite_invalid';
    await conv.send(t(conv.lang, key));
    return;
  }
  const unit = await findUnit(conv.deps.db, conv.who.staff.unitId);
  await conv.send(t(conv.lang, 'start.bound', { name: escapeHtml(conv.who.staff.name), unit: escapeHtml(unitName(unit, conv.lang)) }));
  await conv.refreshMenu();
  await sendHelp(conv);
}

/** /help: what this person can do, by position. */
async function sendHelp(conv: Conversation): Promise<void> {
  const { staff, actor } = whoOf(conv);
  const lang = conv.lang;
  const unit = await findUnit(conv.deps.db, staff.unitId);
  const lines = [
    t(lang, 'help.intro', {
      name: escapeHtml(staff.name),
      // The seats held; a seat stood in for shows as 代理… only while its holder cannot act.
      positions:
        actor.positions
          .map((p) => (actor.acting?.includes(p) ? t(lang, 'help.acting_position', { position: positionLabel(p, lang) }) : positionLabel(p, lang)))
          .join(lang === 'zh' ? '、' : ', ') || '—',
      unit: escapeHtml(unitName(unit, lang)),
    }),
    '',
  ];
  for (const command of commandsFor(actor, conv.capabilities)) {
    const key = `help.${command}` as MessageKey;
    if (command !== 'help' && command !== 'language' && command !== 'cancel') lines.push(t(lang, key));
  }
  lines.push('', t(lang, 'help.card'), t(lang, 'help.general'));
  await conv.send(lines.join('\n'));
}
