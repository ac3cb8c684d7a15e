/**
 * The edge: every incoming update is checked once against the shape Telegram sends, before any other
 * middleware, and dropped (logged at debug, counted) when it does not match. Past this point handlers
 * and telegraf's own getters may trust the types of the fields the bot reads: ids are numbers, texts
 * and callback data are strings, photos are arrays of files. Fields the bot does not read are let
 * through as they come.
 *
 * Telegram itself never sends a malformed update; these come from someone who learnt the webhook
 * secret, a proxy that mangles bodies, or a test. Dropping them answers 200, so nothing is retried.
 */
import type { Context, MiddlewareFn } from 'telegraf';
import { z } from 'zod';
import type { Logger } from '../../logger.js';
import type { OpsMetrics } from '../../ops/metrics.js';
import { ALLOWED_UPDATES } from './run.js';

const id = z.number().int();

const user = z.looseObject({
  id,
  is_bot: z.boolean(),
  first_name: z.string().optional(),
  last_name: z.string().optional(),
  username: z.string().optional(),
  language_code: z.string().optional(),
});

const chat = z.looseObject({ id, type: z.string() });

const entity = z.looseObject({ type: z.string(), offset: z.number().int(), length: z.number().int() });
const file = z.looseObject({ file_id: z.string() });

const message = z.looseObject({
  message_id: id,
  date: z.number(),
  chat,
  from: user.optional(),
  text: z.string().optional(),
  caption: z.string().optional(),
  entities: z.array(entity).optional(),
  caption_entities: z.array(entity).optional(),
  location: z.looseObject({ latitude: z.number(), longitude: z.number() }).optional(),
  photo: z.array(file).optional(),
  voice: file.optional(),
  video: file.optional(),
  audio: file.optional(),
  document: file.optional(),
  message_thread_id: id.optional(),
  is_topic_message: z.boolean().optional(),
});

const callbackQuery = z.looseObject({
  id: z.string(),
  from: user,
  data: z.string().optional(),
  chat_instance: z.string().optional(),
  inline_message_id: z.string().optional(),
  // The message the button was on; an old one comes as { chat, message_id, date: 0 }.
  message: z.looseObject({ message_id: id, chat, date: z.number().optional() }).optional(),
});

const member = z.looseObject({ status: z.string(), user });

const myChatMember = z.looseObject({ chat, from: user, date: z.number(), old_chat_member: member, new_chat_member: member });

const updateSchema = z.looseObject({
  update_id: z.number().int().nonnegative(),
  message: message.optional(),
  callback_query: callbackQuery.optional(),
  my_chat_member: myChatMember.optional(),
});

const KINDS: ReadonlySet<string> = new Set(ALLOWED_UPDATES);

/** Why an update is not one the bot can handle; undefined when it is. Names fields, never their values. */
export function updateProblem(update: unknown): string | undefined {
  if (!update || typeof update !== 'object' || Array.isArray(update)) return 'not an object';
  // telegraf takes an update's kind from its first object-valued field (null counts): exactly one,
  // and one the bot asked Telegram for (`allowed_updates`).
  const kinds = Object.keys(update).filter((k) => typeof (update as Record<string, unknown>)[k] === 'object');
  if (kinds.length !== 1 || !KINDS.has(kinds[0]!)) return `kind: ${kinds.slice(0, 3).map((k) => k.slice(0, 32)).join(', ') || 'none'}`;
  const parsed = updateSchema.safeParse(update);
  if (parsed.success) return undefined;
  return parsed.error.issues
    .slice(0, 3)
    .map((i) => `${i.path.join('.')}: ${i.code}`)
    .join('; ');
}

/** The first middleware: a malformed update goes no further. */
export function dropMalformedUpdates<C extends Context>(opts: { logger: Logger; metrics?: OpsMetrics | undefined }): MiddlewareFn<C> {
  return (ctx, next) => {
    const problem = updateProblem(ctx.update);
    if (problem === undefined) return next();
    const updateId = (ctx.update as { update_id?: unknown } | null)?.update_id;
    opts.logger.debug({ updateId: typeof updateId === 'number' ? updateId : undefined, problem }, 'malformed update dropped');
    opts.metrics?.updateDropped('malformed');
    return Promise.resolve();
  };
}
