/**
 * The Telegram side of a measurement: the Bot API stand-in, plus a tracker that times every update from
 * the moment Telegram has it to the first reply the bot hands back (a sendMessage or an edit in that
 * chat) and to the end of its webhook call. Webhook deliveries are one at a time per chat (as Telegram
 * does), so the reply in a chat belongs to the update in flight there.
 *
 * It also relays what users would see to a load generator process over IPC (their chats' new and
 * edited bot messages, and "handled" per update), since a user acts on what the bot showed last.
 */
import { performance } from 'node:perf_hooks';
import { startBotApiServer, type BotApiServer, type BotApiServerOptions, type SandboxMessage, type WebhookDeliveryRecord } from '../../src/sandbox/bot-api-server.js';
import type { Child } from './processes.js';

export interface UpdateTiming {
  updateId: number;
  chatId: number | undefined;
  /** performance.now() when Telegram had the update. */
  startedAt: number;
  /** First bot message or edit in the chat while the update was in flight. */
  firstReplyAt?: number;
  /** The webhook call answered 2xx. */
  handledAt?: number;
  outcome: 'pending' | 'delivered' | 'dropped';
  attempts: number;
}

/** What the load generator hears about its users' chats. */
export type RelayEvent =
  | { t: 'msg'; chatId: number; messageId: number; buttons: string[]; text: string; edit: boolean }
  | { t: 'handled'; updateId: number; chatId: number | undefined; ok: boolean };

const chatOfKey = (key: string): number | undefined => (key.startsWith('chat:') ? Number(key.slice(5)) : undefined);

export class UpdateTracker {
  readonly timings = new Map<number, UpdateTiming>();
  private readonly inFlightByChat = new Map<number, UpdateTiming>();
  private relay: Child | undefined;
  private readonly relayChats = new Set<number>();
  private readonly off: Array<() => void> = [];

  constructor(readonly server: BotApiServer) {
    const onUpdate = (e: { update: { update_id: number } }) => {
      if (!this.timings.has(e.update.update_id)) this.timings.set(e.update.update_id, { updateId: e.update.update_id, chatId: undefined, startedAt: performance.now(), outcome: 'pending', attempts: 0 });
    };
    const onDelivery = (rec: WebhookDeliveryRecord) => {
      const now = performance.now();
      let t = this.timings.get(rec.update_id);
      if (!t) {
        t = { updateId: rec.update_id, chatId: undefined, startedAt: now, outcome: 'pending', attempts: 0 };
        this.timings.set(rec.update_id, t);
      }
      t.chatId ??= chatOfKey(rec.chat_key);
      t.attempts = rec.attempts;
      if (rec.outcome === 'pending') {
        if (t.chatId !== undefined) this.inFlightByChat.set(t.chatId, t);
        return;
      }
      if (t.outcome !== 'pending') return;
      t.outcome = rec.outcome;
      if (rec.outcome === 'delivered') t.handledAt = now;
      if (t.chatId !== undefined && this.inFlightByChat.get(t.chatId) === t) this.inFlightByChat.delete(t.chatId);
      if (this.relay && (t.chatId === undefined || this.relayChats.has(t.chatId))) {
        this.relay.send({ t: 'handled', updateId: t.updateId, chatId: t.chatId, ok: rec.outcome === 'delivered' } satisfies RelayEvent);
      }
    };
    const onBotMessage = (edit: boolean) => (m: SandboxMessage) => {
      if (!m.from_bot) return;
      const now = performance.now();
      const t = this.inFlightByChat.get(m.chat_id);
      if (t && t.firstReplyAt === undefined) t.firstReplyAt = now;
      if (this.relay && this.relayChats.has(m.chat_id)) {
        const buttons = (m.reply_markup?.inline_keyboard ?? []).flat().flatMap((b) => (typeof b.callback_data === 'string' ? [b.callback_data] : []));
        this.relay.send({ t: 'msg', chatId: m.chat_id, messageId: m.message_id, buttons, text: (m.text ?? m.caption ?? '').slice(0, 300), edit } satisfies RelayEvent);
      }
    };
    const onMessage = onBotMessage(false);
    const onEdit = onBotMessage(true);
    server.on('update', onUpdate);
    server.on('webhook_delivery', onDelivery);
    server.on('message', onMessage);
    server.on('edit', onEdit);
    this.off.push(
      () => server.off('update', onUpdate),
      () => server.off('webhook_delivery', onDelivery),
      () => server.off('message', onMessage),
      () => server.off('edit', onEdit),
    );
  }

  /** Relay these chats' events to a load generator. */
  relayTo(child: Child, chatIds: Iterable<number>): void {
    this.relay = child;
    for (const id of chatIds) this.relayChats.add(id);
  }

  /** Timings of updates that started at or after `since` (performance.now()). */
  since(since: number): UpdateTiming[] {
    return [...this.timings.values()].filter((t) => t.startedAt >= since);
  }

  reset(): void {
    this.timings.clear();
    this.inFlightByChat.clear();
  }

  detach(): void {
    for (const f of this.off) f();
    this.off.length = 0;
  }
}

export const BENCH_BOT = { token: '700000001:BENCH-bench-bench-bench-bench', username: 'bench_corrections_bot' } as const;

/** The stand-in with a tracker. Flood limits are off unless asked for (P2 asks). */
export async function startTelegramSide(opts: BotApiServerOptions = {}): Promise<{ server: BotApiServer; tracker: UpdateTracker }> {
  const server = await startBotApiServer({ bots: [{ ...BENCH_BOT, privacyMode: true }], maxRequestLog: 20_000, ...opts });
  return { server, tracker: new UpdateTracker(server) };
}
