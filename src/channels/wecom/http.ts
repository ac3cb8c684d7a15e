/**
 * The callback URL, as a fastify plugin on the process's HTTP server (where the Telegram webhook is):
 * - GET: the URL verification when it is saved in the admin console; the decrypted echostr is the body.
 * - POST: a member's message or event. Its signature, timestamp window and corp are checked
 *   (./callback.ts), then it is answered at once with an empty 200 — WeCom sends a callback again when
 *   no answer comes within 5 s — and handled afterwards (./bot.ts), where a delivery seen before is
 *   dropped by its key.
 * A refused request gets 400 (unreadable) or 403 (bad signature, stale timestamp, another corp), and
 * an audit entry `wecom.callback.refused` with the reason and what was wrong — never the payload, a
 * userid or a message's text. Refusals are audited at most AUDITED_REFUSALS_PER_MINUTE a minute (a
 * flood is logged once a minute instead), so nobody can fill the trail from outside.
 */
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { Executor } from '../../db/client.js';
import { refusalAuditor } from '../../http/refusal-audit.js';
import type { Clock } from '../../domain/index.js';
import type { Logger } from '../../logger.js';
import type { WecomBot } from './bot.js';
import { EMPTY_CALLBACK_ANSWER, openCallback, verifyUrl, type CallbackRefusal, type WecomCallbackConfig } from './callback.js';

export const DEFAULT_WECOM_CALLBACK_PATH = '/wecom/callback';

/** Largest callback body taken, in bytes: a member's message is far smaller. */
const CALLBACK_BODY_LIMIT = 64 * 1024;

export { AUDITED_REFUSALS_PER_MINUTE } from '../../http/refusal-audit.js';

export interface WecomCallbackOptions {
  path?: string;
  /** Token, EncodingAESKey, corp id, agent id and the clock the timestamp window is read on. */
  callback: WecomCallbackConfig;
  bot: WecomBot;
  db: Executor;
  clock: Clock;
  logger: Logger;
}

const statusOf = (r: CallbackRefusal): number => (r.reason === 'malformed' ? 400 : 403);

export const wecomCallbackPlugin: FastifyPluginAsync<WecomCallbackOptions> = async (app, opts) => {
  const path = opts.path ?? DEFAULT_WECOM_CALLBACK_PATH;
  const audit = refusalAuditor({ db: opts.db, clock: opts.clock, logger: opts.logger, action: 'wecom.callback.refused', entity: 'wecom_callback' });
  async function refused(method: 'GET' | 'POST', r: CallbackRefusal, ip: string): Promise<void> {
    opts.logger.warn({ reason: r.reason, detail: r.detail, method, ip }, 'WeCom callback refused');
    await audit({ reason: r.reason, detail: r.detail, method });
  }

  // WeCom posts XML (text/xml); every body of this route is read as text.
  app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: CALLBACK_BODY_LIMIT }, (_req, body, done) => done(null, body));

  app.get(path, async (request, reply) => {
    const r = verifyUrl(opts.callback, request.query as Record<string, unknown>);
    if (!r.ok) {
      await refused('GET', r, request.ip);
      return reply.code(statusOf(r)).type('text/plain').send('');
    }
    return reply.code(200).type('text/plain; charset=utf-8').send(r.echo);
  });

  app.post(path, async (request, reply) => {
    const body = typeof request.body === 'string' ? request.body : '';
    const r = openCallback(opts.callback, request.query as Record<string, unknown>, body);
    if (!r.ok) {
      await refused('POST', r, request.ip);
      return reply.code(statusOf(r)).type('text/plain').send('');
    }
    await reply.code(200).type('text/plain').send(EMPTY_CALLBACK_ANSWER);
    // Answered: now the work, in the background (the bot's own error edge; `bot.idle()` waits for it).
    opts.bot.take(r.message, r.dedupKey);
    return reply;
  });
};

/** Mounts the callback route on a server (in a scope of its own: its body parser is for this route only). */
export async function mountWecomCallback(app: FastifyInstance, opts: WecomCallbackOptions): Promise<void> {
  await app.register(wecomCallbackPlugin, opts);
}
