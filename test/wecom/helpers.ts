/**
 * What the WeCom tests share: a clock the test moves (the stand-in and the product read the same one),
 * the stand-in started for one test, and a tiny callback receiver — an HTTP server that does what the
 * product's callback URL will do with src/channels/wecom/callback.ts: verify the GET, open each POST,
 * drop duplicates by their key, answer at once.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  buildPassiveReply,
  EMPTY_CALLBACK_ANSWER,
  openCallback,
  passiveTextReply,
  verifyUrl,
  type CallbackRefusal,
  type WecomCallbackConfig,
  type WecomInbound,
} from '../../src/channels/wecom/index.js';
import { startWecomStandIn, type WecomStandIn, type WecomStandInOptions } from '../../src/sandbox/wecom/index.js';

export interface ManualClock {
  now(): Date;
  advance(ms: number): void;
}

export function manualClock(iso = '2026-03-02T02:00:00Z'): ManualClock {
  let t = new Date(iso).getTime();
  return {
    now: () => new Date(t),
    advance(ms) {
      t += ms;
    },
  };
}

export async function standIn(cleanups: Array<() => Promise<void>>, opts: WecomStandInOptions): Promise<WecomStandIn> {
  const s = await startWecomStandIn(opts);
  cleanups.push(() => s.stop());
  return s;
}

export interface Receiver {
  url: string;
  /** Every message opened, duplicates included, in arrival order. */
  opened: Array<{ message: WecomInbound; dedupKey: string; duplicate: boolean }>;
  /** Messages once each (what the product would act on). */
  readonly handled: WecomInbound[];
  refused: CallbackRefusal[];
  /** Milliseconds to wait before answering (to make the stand-in retry). */
  delayMs: number;
  /** A passive text reply to give to the next text message. */
  replyText: string | undefined;
  close(): Promise<void>;
}

export async function startReceiver(config: WecomCallbackConfig, cleanups: Array<() => Promise<void>>): Promise<Receiver> {
  const seen = new Set<string>();
  const receiver: Receiver = {
    url: '',
    opened: [],
    get handled() {
      return this.opened.filter((o) => !o.duplicate).map((o) => o.message);
    },
    refused: [],
    delayMs: 0,
    replyText: undefined,
    close: async () => {},
  };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://receiver.invalid');
    const query = Object.fromEntries(url.searchParams);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const answer = (status: number, body: string) => {
        const send = () => {
          if (res.destroyed) return;
          res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
          res.end(body);
        };
        if (receiver.delayMs > 0) setTimeout(send, receiver.delayMs);
        else send();
      };
      if (req.method === 'GET') {
        const r = verifyUrl(config, query);
        if (!r.ok) {
          receiver.refused.push(r);
          return answer(403, '');
        }
        return answer(200, r.echo);
      }
      const r = openCallback(config, query, Buffer.concat(chunks).toString('utf8'));
      if (!r.ok) {
        receiver.refused.push(r);
        return answer(403, '');
      }
      const duplicate = seen.has(r.dedupKey);
      seen.add(r.dedupKey);
      receiver.opened.push({ message: r.message, dedupKey: r.dedupKey, duplicate });
      if (receiver.replyText !== undefined && r.message.kind === 'text' && !duplicate) {
        const text = receiver.replyText;
        receiver.replyText = undefined;
        return answer(200, buildPassiveReply(config, passiveTextReply(config, r.message.from, text)));
      }
      return answer(200, EMPTY_CALLBACK_ANSWER);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/wecom/callback`;
  receiver.close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  cleanups.push(receiver.close);
  return receiver;
}

/** The callback configuration of the product, against this stand-in. */
export function callbackConfigFor(s: WecomStandIn, clock: ManualClock): WecomCallbackConfig {
  return { token: s.config.callbackToken, encodingAesKey: s.config.encodingAesKey, corpId: s.config.corpId, agentId: s.config.agentId, clock };
}

/** A button card with `n` buttons. */
export function buttonCard(taskId: string, n = 2) {
  return {
    card_type: 'button_interaction' as const,
    task_id: taskId,
    main_title: { title: '2026-0001 一、行凶犯罪', desc: '处置中 · 紧急' },
    button_list: Array.from({ length: n }, (_, i) => ({ text: `按钮${i + 1}`, key: `k${i + 1}`, style: 1 as const })),
  };
}
