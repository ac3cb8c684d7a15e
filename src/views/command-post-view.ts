/**
 * The command loop (三) as every channel and the reports show it: response levels and message kinds in
 * words, the card's lines (the activation, the latest messages with who receipted them, the viewer's own
 * group duty), and the words and 收到 button of its notices. Catalogue markup, every value escaped.
 */
import type { Executor } from '../db/client.js';
import { findActivation, findCommandMessage, hasReceipted, levelChangesOf, type CommandRecord } from '../db/repositories/command-post.repository.js';
import { rolesOf } from '../db/repositories/incident-role.repository.js';
import type { IncidentRow } from '../db/repositories/incident.repository.js';
import { findIncidentUpdate, staffNamesById } from '../db/repositories/notice-reads.repository.js';
import { actorFor, type StaffRow } from '../db/repositories/org.repository.js';
import { canReceipt, currentResponseLevel, groupsOf, isCommandMessageKind, type RoleHolders } from '../domain/index.js';
import { hasMessage, t, type Lang, type MessageKey } from '../i18n/index.js';
import { escapeHtml, truncate, userText } from '../i18n/markup.js';
import { roleLabel } from './labels.js';
import { noticeButton, tx, type NoticeRows } from './notice-markup.js';

/** A response level in words: the catalogue's label, or the bureau's code as it is. */
export function responseLevelLabel(code: string, lang: Lang): string {
  const key = `command.level.${code}`;
  return hasMessage(key) ? t(lang, key) : code;
}

export function commandKindLabel(kind: string, lang: Lang): string {
  const key = `command.kind.${kind}`;
  return hasMessage(key) ? t(lang, key) : kind;
}

/** A change of the response level (升级 / 降级), with its reason. */
export interface LevelChangeView {
  from: string;
  to: string;
  direction: string;
  byStaffId: string;
  at: Date;
  reason: string;
}

/** What the card shows of the loop: the card view's `commandPost`. */
export interface CommandCardView {
  /** `level` is the one the plan was activated at; the level in force is `currentLevelOf`. */
  activation: { level: string; byStaffId: string; at: Date } | null;
  /** 升级 / 降级 since the activation, oldest first (absent: none). */
  levelChanges?: LevelChangeView[];
  messages: Array<{ updateId: string; kind: string; fromStaffId: string; text: string; at: Date; receipts: Array<{ staffId: string; at: Date }> }>;
  staffNames: Record<string, string>;
}

export function commandCardViewOf(record: CommandRecord): CommandCardView {
  const a = record.activation;
  return {
    activation: a ? { level: a.level, byStaffId: a.activatedByStaffId, at: a.activatedAt } : null,
    levelChanges: record.levelChanges.map((c) => ({ from: c.fromLevel, to: c.toLevel, direction: c.direction, byStaffId: c.byStaffId, at: c.at, reason: c.reason })),
    messages: record.messages.map((m) => ({ updateId: m.updateId, kind: m.kind, fromStaffId: m.fromStaffId, text: m.text, at: m.at, receipts: m.receipts })),
    staffNames: record.staffNames,
  };
}

/** The response level in force on the card (undefined before activation): the latest change's, else the activation's. */
export function currentLevelOf(cp: CommandCardView | undefined): string | undefined {
  if (!cp?.activation) return undefined;
  return currentResponseLevel(cp.activation.level, (cp.levelChanges ?? []).map((c) => ({ toLevel: c.to })));
}

/** 升级, 降级, or 调整 (a level outside the bureau's list now), in words. */
export function levelDirectionLabel(direction: string, lang: Lang): string {
  const key = `command.direction.${direction}`;
  return hasMessage(key) ? t(lang, key) : t(lang, 'command.direction.change');
}

/** Messages the card shows in full; earlier ones are counted (the timeline has them all). */
const CARD_MESSAGES = 3;

/**
 * The card's lines of the loop, for one viewer: the activation and its level, the group duties of the
 * viewer (one line each), the latest messages with who receipted them. Empty when there is nothing.
 */
export function commandCardLines(
  cp: CommandCardView | undefined,
  roles: RoleHolders,
  viewerStaffId: string,
  lang: Lang,
  when: (d: Date) => string,
  names: Record<string, string>,
): string[] {
  const name = (id: string) => escapeHtml(cp?.staffNames[id] ?? names[id] ?? t(lang, 'card.someone'));
  const lines: string[] = [];
  if (cp?.activation) lines.push(t(lang, 'card.activation', { level: escapeHtml(responseLevelLabel(cp.activation.level, lang)), name: name(cp.activation.byStaffId), time: when(cp.activation.at) }));
  // The level in force, when it changed since: the latest change (the timeline has every one).
  const change = cp?.activation ? cp.levelChanges?.at(-1) : undefined;
  if (change) {
    lines.push(
      t(lang, 'card.level_changed', {
        direction: levelDirectionLabel(change.direction, lang),
        level: escapeHtml(responseLevelLabel(change.to, lang)),
        from: escapeHtml(responseLevelLabel(change.from, lang)),
        name: name(change.byStaffId),
        time: when(change.at),
        reason: userText(change.reason, 120),
      }),
    );
  }
  for (const group of groupsOf(viewerStaffId, roles)) lines.push(t(lang, 'card.duty', { group: escapeHtml(roleLabel(group, lang)), duty: t(lang, `duty.${group}` as MessageKey) }));
  const messages = cp?.messages ?? [];
  if (messages.length) {
    lines.push(t(lang, 'card.command_title'));
    if (messages.length > CARD_MESSAGES) lines.push(t(lang, 'card.command_more', { count: messages.length - CARD_MESSAGES }));
    for (const m of messages.slice(-CARD_MESSAGES)) {
      lines.push(t(lang, 'card.command_line', { time: when(m.at), name: name(m.fromStaffId), kind: escapeHtml(commandKindLabel(m.kind, lang)), text: userText(m.text, 200) }));
      lines.push(
        m.receipts.length
          ? t(lang, 'card.command_receipts', { names: m.receipts.map((r) => name(r.staffId)).join(lang === 'zh' ? '、' : ', ') })
          : t(lang, 'card.command_waiting'),
      );
    }
  }
  return lines;
}

// ---------------------------------------------------------------------------------------------
// The notices' words (src/views/notice-words.ts lists them under their kinds).

/** What the words of a command notice read. */
export interface CommandWordsContext {
  deps: { db: Executor };
  p: { updateId?: string | undefined; byStaffId?: string | undefined };
  incident: IncidentRow;
  recipient: StaffRow;
  lang: Lang;
  now: Date;
  when(iso: string | Date | undefined | null): string;
  nameOf(id: string | null | undefined): string;
}

async function messageOf(db: Executor, updateId: string | undefined) {
  if (!updateId) return undefined;
  const [message, update] = await Promise.all([findCommandMessage(db, updateId), findIncidentUpdate(db, updateId)]);
  return message && update ? { ...message, text: update.text } : undefined;
}

async function nameById(db: Executor, id: string | undefined, lang: Lang): Promise<string> {
  if (!id) return t(lang, 'notice.unknown_person');
  return (await staffNamesById(db, [id])).get(id) ?? t(lang, 'notice.unknown_person');
}

export async function planActivatedWords(c: CommandWordsContext): Promise<string> {
  const activation = await findActivation(c.deps.db, c.incident.id);
  const roles = await rolesOf(c.deps.db, c.incident.id);
  const post = async (role: string) => {
    const id = roles.find((r) => r.role === role)?.staffId;
    return id ? nameById(c.deps.db, id, c.lang) : t(c.lang, 'command.nobody');
  };
  return tx(c.lang, 'notice.plan_activated', {
    by: c.nameOf(c.p.byStaffId ?? activation?.activatedByStaffId),
    level: activation ? responseLevelLabel(activation.level, c.lang) : '',
    commander: await post('commander'),
    deputy: await post('deputy_commander'),
  });
}

/** 升级 / 降级响应 as HQ reads it: who, from which level to which, and why (params: the change's updateId). */
export async function levelChangedWords(c: CommandWordsContext): Promise<string> {
  const changes = await levelChangesOf(c.deps.db, c.incident.id);
  const change = changes.find((x) => x.updateId === c.p.updateId) ?? changes.at(-1);
  return tx(c.lang, 'notice.level_changed', {
    by: c.nameOf(c.p.byStaffId ?? change?.byStaffId),
    direction: levelDirectionLabel(change?.direction ?? 'change', c.lang),
    from: change ? responseLevelLabel(change.fromLevel, c.lang) : '',
    to: change ? responseLevelLabel(change.toLevel, c.lang) : '',
    reason: truncate(change?.reason ?? '', 300),
  });
}

/** 批示 / 指令 and 处置建议 as their addressees read them. */
export async function messageWords(c: CommandWordsContext, key: 'notice.command_issued' | 'notice.proposal_sent'): Promise<string> {
  const m = await messageOf(c.deps.db, c.p.updateId);
  return tx(c.lang, key, {
    by: m ? await nameById(c.deps.db, m.fromStaffId, c.lang) : c.nameOf(c.p.byStaffId),
    at: c.when(m?.at ?? c.now),
    kind: commandKindLabel(m?.kind ?? 'order', c.lang),
    text: truncate(m?.text ?? '', 600),
  });
}

export async function receiptedWords(c: CommandWordsContext): Promise<string> {
  const m = await messageOf(c.deps.db, c.p.updateId);
  return tx(c.lang, 'notice.command_receipted', { by: c.nameOf(c.p.byStaffId), kind: commandKindLabel(m?.kind ?? 'order', c.lang), text: truncate(m?.text ?? '', 200) });
}

export async function unreceiptedWords(c: CommandWordsContext): Promise<string> {
  const m = await messageOf(c.deps.db, c.p.updateId);
  const at = m?.at ?? c.now;
  return tx(c.lang, 'notice.command_unreceipted', {
    by: m ? await nameById(c.deps.db, m.fromStaffId, c.lang) : c.nameOf(c.p.byStaffId),
    at: c.when(at),
    kind: commandKindLabel(m?.kind ?? 'order', c.lang),
    minutes: Math.max(0, Math.floor((c.now.getTime() - at.getTime()) / 60_000)),
    text: truncate(m?.text ?? '', 300),
  });
}

/** 收到, for a recipient who may receipt the message and has not: the notice's one button. */
export async function receiptButtons(c: CommandWordsContext): Promise<NoticeRows> {
  const m = await messageOf(c.deps.db, c.p.updateId);
  if (!m || !isCommandMessageKind(m.kind)) return [];
  if (await hasReceipted(c.deps.db, m.updateId, c.recipient.id)) return [];
  const actor = await actorFor(c.deps.db, c.recipient);
  const roles = await rolesOf(c.deps.db, m.incidentId);
  if (!canReceipt(actor, { kind: m.kind, fromStaffId: m.fromStaffId, addressees: m.addressees }, roles)) return [];
  return [[noticeButton(t(c.lang, 'button.receipt'), { a: 'rcpt', i: m.updateId })]];
}
