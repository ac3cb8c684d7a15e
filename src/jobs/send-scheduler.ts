/**
 * Schedules send jobs at their chat's slot. A send to a chat that has messages ahead of it is not put in
 * the queue to find the chat busy (it would spend one of the queue limiter's slots, shared by every
 * worker, only to wait): its chat's slot is reserved now, in the shared lines (send-slots.ts), and the
 * job is delayed until it. An urgent notice takes the earliest slot; the routine ones it moves later have
 * their jobs' delays moved with them. Right before the request the gateway takes the slot (and tells a
 * send that is early, or finds the chat taken, to come back): the reservation is the plan, the take is
 * the check.
 */
import type { Database } from '../db/client.js';
import { sendChatsOf } from '../db/repositories/chat-send-slot.repository.js';
import { chatMessagesOfNotice, type Clock } from '../domain/index.js';
import type { Logger } from '../logger.js';
import { sendJob, sendPriorityOf, SEND_PRIORITY, type SendSpec } from './dispatcher.js';
import type { AnyQueue } from './queue-backend.js';
import { SECOND_MESSAGE, type ChatSendSlots } from './send-slots.js';

export interface SendSchedulerContext {
  db: Database;
  clock: Clock;
  queue: AnyQueue;
  slots: ChatSendSlots;
  logger: Logger;
  /** The deployment sends on Telegram (the only channel with per-chat slots). */
  telegram: boolean;
  /** The deployment also has WeCom: a recipient bound there who prefers it is reached there. */
  wecom: boolean;
}

export class SendScheduler {
  constructor(private readonly ctx: SendSchedulerContext) {}

  /** Adds the rows' send jobs, each delayed until its chat's slot (an id already queued is ignored, its slot kept). */
  async schedule(rows: ReadonlyArray<SendSpec>): Promise<void> {
    if (rows.length === 0) return;
    const now = this.ctx.clock.now();
    const jobs = rows.map((r) => sendJob(r, now));
    const slots = this.ctx.slots;
    if (!this.ctx.telegram || slots.spacing === undefined) {
      await this.ctx.queue.addBulk(jobs);
      return;
    }
    const chats = new Map((await sendChatsOf(this.ctx.db, rows.map((r) => r.id))).map((c) => [c.outboxId, c]));
    const byChat = new Map<number, number[]>();
    rows.forEach((r, i) => {
      const c = chats.get(r.id);
      if (!c || c.chatId === null || (this.ctx.wecom && c.prefersWecom)) return;
      byChat.set(c.chatId, [...(byChat.get(c.chatId) ?? []), i]);
    });
    const realNow = Date.now();
    const moved: Array<{ key: string; at: number }> = [];
    // One chat's slots in turn (urgent first: it is placed without moving these), the chats side by side.
    await Promise.all(
      [...byChat].map(async ([chatId, indexes]) => {
        const ordered = [...indexes].sort((a, b) => sendPriorityOf(rows[a]!) - sendPriorityOf(rows[b]!));
        /** Incidents whose card an earlier row of this chat brings: the notices after it find it current. */
        const cardComing = new Set<string | null>();
        for (const i of ordered) {
          const row = rows[i]!;
          const job = jobs[i]!;
          // notBefore is on the services' clock; slots and delays are on real time, as the queue's are.
          const earliest = realNow + (job.opts.delay ?? 0);
          const urgent = job.opts.priority === SEND_PRIORITY.urgent;
          const r = await slots.reserve(chatId, { key: row.id, earliest, urgent, now: realNow });
          const delay = Math.max(0, r.at - realNow);
          jobs[i] = { ...job, opts: { ...job.opts, ...(delay > 0 ? { delay } : {}) } };
          moved.push(...r.moved);
          // An event to a chat without the incident's current card brings the card first: a second moment, right after.
          const c = chats.get(row.id)!;
          const messages = chatMessagesOfNotice({ ...c, holdsCurrentCard: c.holdsCurrentCard || cardComing.has(c.incidentId) });
          if (messages === 2) {
            cardComing.add(c.incidentId);
            moved.push(...(await slots.reserve(chatId, { key: row.id + SECOND_MESSAGE, earliest: r.at, urgent, now: realNow })).moved);
          }
        }
      }),
    );
    await this.ctx.queue.addBulk(jobs);
    await Promise.all(moved.map((m) => this.delayAgain(m.key, m.at)));
  }

  /** A routine send whose slot an urgent one took waits for its new slot. */
  private async delayAgain(jobId: string, at: number): Promise<void> {
    // A second message's moment has no job of its own: its job follows its first.
    if (jobId.endsWith(SECOND_MESSAGE)) return;
    try {
      const job = await this.ctx.queue.getJob(jobId);
      if (job && (await job.isDelayed())) await job.changeDelay(Math.max(0, at - Date.now()));
    } catch (err) {
      // It started meanwhile or is gone: the gateway's take tells it to come back for its slot.
      this.ctx.logger.debug({ jobId, err: (err as Error).message }, 'could not move a send job to its new slot');
    }
  }
}
