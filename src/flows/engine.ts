/**
 * The one conversation engine: every form and prompt of the bot runs on it.
 *
 * How a flow is written: a `Flow` names its steps; each step draws a prompt (text and buttons) and answers
 * a choice, a text, a location or a file with an outcome — go to a step, stay (with an error), or finish
 * (run the use case, then reply). What several flows ask is a shared step from ./steps: the subject picker
 * (search by name or code, pick from buttons, masked per PII_MODE), a required text, a count, a past time
 * (asking which day a bare time ahead of the clock meant) or a date, and a choice from a list. A flow is
 * listed in FLOWS (./index.ts) and started with `engine.start(ctx, flow, step, data)`.
 *
 * What the engine does for every flow: « back and ✖ cancel on every prompt; the state in PostgreSQL
 * (`{ d: data, h: history, s: sequence, m: prompt message, k: form key }`), versioned, and dropped once
 * past its time to live; a pressed button must belong to the prompt now showing (its `v` is the prompt's
 * sequence number); refusals are told from the one map (./refusals.ts). A flow with a `guard` (/report) is
 * a form nothing replaces: starting another flow is refused with the guard's message. Every other flow is
 * a prompt that ends as soon as the user turns elsewhere — a command, or a button outside it (`leave`).
 */
import { randomUUID } from 'node:crypto';
import type { MiddlewareFn } from 'telegraf';
import { loggableError } from '../channels/telegram/log-safe.js';
import { z } from 'zod';
import { answerCallback, say, whoOf, type BotContext, type BotDeps, type Identity } from '../channels/telegram/context.js';
import { decodeCallback, type CallbackData } from '../channels/telegram/callback-data.js';
import { button, markup, type Button, type Keyboard } from '../channels/telegram/keyboards.js';
import { t, type Lang, type MessageKey, type Params } from '../i18n/index.js';
import { isNotModified } from '../channels/telegram/views/card-messages.js';
import { clearFlowState, loadFlowState, saveFlowState, type FlowSchema } from '../db/repositories/flow-state.repository.js';
import { canRetype, isRefusal, refusalText } from './refusals.js';

export interface FlowEnv {
  ctx: BotContext;
  deps: BotDeps;
  who: Identity;
  lang: Lang;
  now: Date;
  chatId: number;
  /**
   * This form's own key, the same for every step and every delivery of an update: a use case that
   * creates something takes it, so a submit delivered again after it committed creates nothing new.
   */
  formKey: string | undefined;
  say(key: MessageKey, params?: Params): string;
  /** A button of the prompt being drawn: `key` is what the step's onChoice receives, `id` an optional uuid. */
  choice(text: string, key: string, id?: string): Button;
}

export interface Prompt {
  /** Telegram HTML. */
  text: string;
  rows?: Keyboard;
  /** Leave out « back (first steps); ✖ cancel is always there. */
  noBack?: boolean;
}

export type MediaInput = { kind: 'photo' | 'voice' | 'video' | 'document' | 'audio'; fileId: string; caption?: string };
export type LocationInput = { latitude: number; longitude: number };

export type Outcome<D> =
  /** Go to a step; the current one goes on the history for « back. `note` is shown above the next prompt. */
  | { next: string; data: D; note?: string; reset?: boolean }
  /**
   * Stay on this step and draw it again, with an error or a note. `redraw: false` tells the error in a
   * message of its own and leaves the prompt where it is (a one-question prompt: nothing to redraw).
   */
  | { stay: true; data?: D; error?: string; note?: string; redraw?: false }
  /**
   * The form is complete: run the use case. The state is cleared once it succeeded or was refused, and
   * only then does what `finish` returned run (replies, the card): a failed reply must not leave a
   * form that could be confirmed twice. A typed answer refused as invalid input stays at its step, to be
   * typed again. `keep` leaves the prompt message as it is (what `finish` returned redraws it).
   */
  | { finish: () => Promise<void | AfterCommit>; closing?: string; keep?: boolean };

export type AfterCommit = () => Promise<void>;

export type Result<D> = Outcome<D> | Promise<Outcome<D>>;

export interface Step<D> {
  prompt(env: FlowEnv, data: D): Prompt | Promise<Prompt>;
  onChoice?(env: FlowEnv, data: D, key: string, id: string | undefined): Result<D>;
  onText?(env: FlowEnv, data: D, text: string): Result<D>;
  onLocation?(env: FlowEnv, data: D, location: LocationInput): Result<D>;
  onMedia?(env: FlowEnv, data: D, media: MediaInput): Result<D>;
}

export interface Flow<D> {
  name: string;
  /** Bump when the data or the steps change shape: stored states of an older version are discarded. */
  version: number;
  data: z.ZodType<D>;
  steps: Record<string, Step<D>>;
  /**
   * A form nothing replaces while it is open: starting another flow is refused with this message, and a
   * command or another button leaves it waiting. Without it the flow is a prompt, ended by either.
   */
  guard?: MessageKey;
  /** How long the flow waits for the user, in seconds (default: BotDeps.flowTtlSeconds, else 24 h). */
  ttlSeconds?: number;
  /** Called when the flow is cancelled, with the message its prompt was in (e.g. to redraw a card there). */
  onCancel?(env: FlowEnv, data: D, promptMessageId: number | undefined): Promise<boolean>;
}

interface Envelope<D = unknown> {
  d: D;
  h: string[];
  s: number;
  m?: number | undefined;
  /** The form's key (FlowEnv.formKey), given when the form starts. */
  k?: string | undefined;
}

interface Loaded {
  flow: AnyFlow;
  step: string;
  env: Envelope;
}

/** Keys of the engine's own buttons; a step's choice keys must not use them. */
const BACK = '_back';
const CANCEL = '_cancel';
const MAX_HISTORY = 30;
const DEFAULT_TTL_SECONDS = 24 * 3600;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyFlow = Flow<any>;

/**
 * Every flow of the process, by name. The bot builds an engine from its own list and the after-incident
 * plugin one from the whole catalogue (./index.ts); both read and write the one flow_states row of a chat,
 * so each must know every flow: to refuse replacing a report, to close another's prompt, to take its input.
 */
const registry = new Map<string, AnyFlow>();
const schemas = new Map<string, FlowSchema>();

function register(flows: readonly AnyFlow[]): void {
  for (const f of flows) {
    const known = registry.get(f.name);
    if (known === f) continue;
    if (known) throw new Error(`two flows are named ${f.name}`);
    registry.set(f.name, f);
    schemas.set(f.name, {
      version: f.version,
      steps: Object.keys(f.steps),
      data: z.object({ d: f.data, h: z.array(z.string()).max(MAX_HISTORY), s: z.number().int().min(0), m: z.number().int().optional(), k: z.uuid().optional() }),
    });
  }
}

export interface FlowEngine {
  /** Starts (or restarts) a flow at a step. Refuses, with an alert, to replace a guarded form (an unfinished report). */
  start<D>(ctx: BotContext, flow: Flow<D>, step: string, data: D, opts?: { edit?: boolean; note?: string }): Promise<boolean>;
  /** A flow button (`f`) was pressed. */
  onChoice(ctx: BotContext, cb: CallbackData): Promise<void>;
  /** A message (not a command) arrived; false when no flow was waiting for it. */
  onInput(ctx: BotContext, input: { text: string } | { location: LocationInput } | { media: MediaInput }): Promise<boolean>;
  /** /cancel. */
  cancel(ctx: BotContext): Promise<boolean>;
  /** The user turned elsewhere (see `turnsElsewhere`): a pending prompt ends as if cancelled; a guarded form stays. */
  leave(ctx: BotContext): Promise<void>;
  /** Name of the flow in progress in this chat, if any. */
  current(ctx: BotContext): Promise<string | undefined>;
}

/**
 * Whether an update turns away from the flow waiting in its chat: a command other than /cancel, or a
 * button that is not a flow's own (`f`) — a card, a list, a view, the language.
 */
export function turnsElsewhere(ctx: BotContext): boolean {
  const text = ctx.message && 'text' in ctx.message ? ctx.message.text : undefined;
  if (text !== undefined) return text.startsWith('/') && !/^\/cancel(@\w+)?(\s|$)/.test(text);
  const data = ctx.callbackQuery && 'data' in ctx.callbackQuery ? ctx.callbackQuery.data : undefined;
  const cb = decodeCallback(data);
  return cb !== undefined && cb.a !== 'f' && cb.a !== 'nop';
}

/** Middleware: a pending prompt ends when its chat turns elsewhere; mount it before the handlers of commands and buttons. */
export function leaveOnElsewhere(engine: FlowEngine): MiddlewareFn<BotContext> {
  return async (ctx, next) => {
    if (ctx.chat?.type === 'private' && ctx.who && turnsElsewhere(ctx)) await engine.leave(ctx);
    return next();
  };
}

export function createFlowEngine(flows: readonly AnyFlow[]): FlowEngine {
  register(flows);

  const ttl = (deps: BotDeps, flow: AnyFlow) => Math.min(flow.ttlSeconds ?? Infinity, deps.flowTtlSeconds ?? DEFAULT_TTL_SECONDS);

  function envFor(ctx: BotContext, seq: () => number, formKey?: string): FlowEnv {
    const deps = ctx.deps;
    return {
      ctx,
      deps,
      who: whoOf(ctx),
      lang: ctx.lang,
      now: deps.clock.now(),
      chatId: ctx.chat!.id,
      formKey,
      say: (key, params) => say(ctx, key, params),
      choice: (text, key, id) => button(text, { a: 'f', k: key, ...(id ? { i: id } : {}), v: seq() }),
    };
  }

  /** This chat's state as stored; an expired or unusable one is removed (and `tell` says so, once). */
  async function load(ctx: BotContext, tell = true): Promise<Loaded | undefined> {
    const deps = ctx.deps;
    const loaded = await loadFlowState(deps.db, ctx.chat!.id, deps.clock.now(), schemas);
    if (loaded.status === 'none' || loaded.status === 'foreign') return undefined;
    if (loaded.status === 'expired' || loaded.status === 'discarded') {
      deps.logger.info({ chatId: ctx.chat!.id, flow: loaded.flow, status: loaded.status }, 'flow state dropped');
      if (tell) await ctx.reply(say(ctx, loaded.status === 'expired' ? 'flow.expired' : 'flow.discarded'));
      return undefined;
    }
    const flow = registry.get(loaded.state.flow)!;
    return { flow, step: loaded.state.step, env: loaded.state.data as Envelope };
  }

  async function stripKeyboard(ctx: BotContext, messageId: number | undefined, text?: string): Promise<void> {
    if (messageId === undefined) return;
    const chatId = ctx.chat!.id;
    const call = text
      ? ctx.telegram.editMessageText(chatId, messageId, undefined, text, { parse_mode: 'HTML', reply_markup: { inline_keyboard: [] } })
      : ctx.telegram.editMessageReplyMarkup(chatId, messageId, undefined, { inline_keyboard: [] });
    await call.catch((err: unknown) => {
      if (!isNotModified(err)) ctx.deps.logger.debug({ err: loggableError(err), chatId, messageId }, 'could not close an old prompt');
    });
  }

  /** Draws a step's prompt (editing the pressed message, or as a new message) and saves the state. */
  async function show(ctx: BotContext, flow: AnyFlow, stepName: string, envelope: Envelope, mode: 'edit' | 'new', lines: string[] = []): Promise<void> {
    const step = flow.steps[stepName];
    if (!step) throw new Error(`flow ${flow.name} has no step ${stepName}`);
    const next: Envelope = { ...envelope, s: envelope.s + 1 };
    const env = envFor(ctx, () => next.s, next.k);
    const prompt = await step.prompt(env, next.d);
    const nav: Button[] = [];
    if (!prompt.noBack && next.h.length > 0) nav.push(env.choice(t(ctx.lang, 'button.back'), BACK));
    nav.push(env.choice(t(ctx.lang, 'button.cancel'), CANCEL));
    const keyboard = markup([...(prompt.rows ?? []), nav]);
    const text = [...lines, prompt.text].join('\n\n');
    const chatId = ctx.chat!.id;
    const pressed = ctx.callbackQuery?.message?.message_id;
    let messageId: number | undefined;
    if (mode === 'edit' && pressed !== undefined) {
      try {
        await ctx.telegram.editMessageText(chatId, pressed, undefined, text, { parse_mode: 'HTML', reply_markup: keyboard, link_preview_options: { is_disabled: true } });
      } catch (err) {
        if (!isNotModified(err)) throw err;
      }
      messageId = pressed;
      if (next.m !== undefined && next.m !== pressed) await stripKeyboard(ctx, next.m);
    } else {
      if (next.m !== undefined) await stripKeyboard(ctx, next.m);
      const sent = await ctx.telegram.sendMessage(chatId, text, { parse_mode: 'HTML', reply_markup: keyboard, link_preview_options: { is_disabled: true } });
      messageId = sent.message_id;
    }
    next.m = messageId;
    await saveFlowState(ctx.deps.db, chatId, ctx.from!.id, { flow: flow.name, version: flow.version, step: stepName, data: next }, ctx.deps.clock.now(), ttl(ctx.deps, flow));
  }

  async function apply(ctx: BotContext, flow: AnyFlow, stepName: string, envelope: Envelope, outcome: Outcome<unknown>, mode: 'edit' | 'new'): Promise<void> {
    if ('next' in outcome) {
      const h = outcome.reset ? [] : outcome.next === stepName ? envelope.h : [...envelope.h, stepName].slice(-MAX_HISTORY);
      await show(ctx, flow, outcome.next, { ...envelope, d: outcome.data, h }, mode, outcome.note ? [outcome.note] : []);
      return;
    }
    if ('stay' in outcome) {
      if (outcome.redraw === false) {
        if (outcome.data !== undefined) {
          const kept: Envelope = { ...envelope, d: outcome.data };
          await saveFlowState(ctx.deps.db, ctx.chat!.id, ctx.from!.id, { flow: flow.name, version: flow.version, step: stepName, data: kept }, ctx.deps.clock.now(), ttl(ctx.deps, flow));
        }
        const told = outcome.error ?? outcome.note;
        if (told) await ctx.reply(told, { parse_mode: 'HTML' });
        return;
      }
      const lines = [...(outcome.note ? [outcome.note] : []), ...(outcome.error ? [t(ctx.lang, 'flow.error', { error: outcome.error })] : [])];
      await show(ctx, flow, stepName, { ...envelope, d: outcome.data ?? envelope.d }, mode, lines);
      return;
    }
    let after: void | AfterCommit;
    try {
      after = await outcome.finish();
    } catch (err) {
      if (!isRefusal(err)) throw err;
      const text = refusalText(ctx.lang, err);
      if (mode === 'new' && canRetype(err)) {
        await ctx.reply(text);
        return;
      }
      await clearFlowState(ctx.deps.db, ctx.chat!.id);
      await stripKeyboard(ctx, envelope.m);
      await answerCallback(ctx, text, true);
      await ctx.reply(text);
      return;
    }
    await clearFlowState(ctx.deps.db, ctx.chat!.id);
    if (!outcome.keep) await stripKeyboard(ctx, envelope.m, outcome.closing);
    if (after) await after();
  }

  async function run(ctx: BotContext, loaded: Loaded, mode: 'edit' | 'new', handler: (env: FlowEnv, step: Step<unknown>) => Result<unknown> | undefined): Promise<boolean> {
    const step = loaded.flow.steps[loaded.step]!;
    const env = envFor(ctx, () => loaded.env.s, loaded.env.k);
    const result = handler(env, step);
    if (result === undefined) return false;
    await apply(ctx, loaded.flow, loaded.step, loaded.env, await result, mode);
    return true;
  }

  /** Ends the flow: its prompt is closed (or given back by the flow's onCancel), and /cancel is answered. */
  async function cancelLoaded(ctx: BotContext, loaded: Loaded, fromButton: boolean): Promise<void> {
    await clearFlowState(ctx.deps.db, ctx.chat!.id);
    const env = envFor(ctx, () => loaded.env.s, loaded.env.k);
    const restored = loaded.flow.onCancel ? await loaded.flow.onCancel(env, loaded.env.d, loaded.env.m) : false;
    if (!restored) await stripKeyboard(ctx, loaded.env.m, fromButton ? say(ctx, 'cancelled') : undefined);
    if (!fromButton) await ctx.reply(say(ctx, 'cancelled'));
  }

  return {
    async start(ctx, flow, step, data, opts = {}) {
      if (registry.get(flow.name) !== flow) throw new Error(`flow ${flow.name} is in no engine's list`);
      const existing = await load(ctx, false);
      if (existing && existing.flow !== flow && existing.flow.guard) {
        const text = say(ctx, existing.flow.guard);
        if (ctx.callbackQuery && !ctx.cbAnswered) await answerCallback(ctx, text, true);
        else await ctx.reply(text);
        return false;
      }
      // The form being replaced closes as if cancelled (the role picker gives its message back to the card).
      if (existing) {
        const env0 = existing.env;
        const restored = existing.flow.onCancel ? await existing.flow.onCancel(envFor(ctx, () => env0.s, env0.k), env0.d, env0.m) : false;
        if (!restored) await stripKeyboard(ctx, env0.m);
      }
      await show(ctx, flow as AnyFlow, step, { d: data, h: [], s: 0, k: randomUUID() }, opts.edit ? 'edit' : 'new', opts.note ? [opts.note] : []);
      return true;
    },

    async onChoice(ctx, cb) {
      const loaded = await load(ctx);
      // The router answers and audits a press that is not the current prompt's.
      if (!loaded || cb.v !== loaded.env.s || !cb.k) throw new StaleFlowButton();
      const step = loaded.flow.steps[loaded.step]!;
      if (cb.k !== CANCEL && cb.k !== BACK && !step.onChoice) throw new StaleFlowButton();
      await answerCallback(ctx);
      if (cb.k === CANCEL) {
        await cancelLoaded(ctx, loaded, true);
        return;
      }
      if (cb.k === BACK) {
        const h = [...loaded.env.h];
        const previous = h.pop();
        if (previous) await show(ctx, loaded.flow, previous, { ...loaded.env, h }, 'edit');
        return;
      }
      await run(ctx, loaded, 'edit', (env, s) => s.onChoice?.(env, loaded.env.d, cb.k!, cb.i));
    },

    async onInput(ctx, input) {
      const loaded = await load(ctx);
      if (!loaded) return false;
      const handled = await run(ctx, loaded, 'new', (env, step) => {
        if ('text' in input) return step.onText?.(env, loaded.env.d, input.text);
        if ('location' in input) return step.onLocation?.(env, loaded.env.d, input.location);
        return step.onMedia?.(env, loaded.env.d, input.media);
      });
      if (!handled) await ctx.reply(say(ctx, 'flow.use_buttons'));
      return true;
    },

    async cancel(ctx) {
      const loaded = await load(ctx);
      if (!loaded) {
        // /cancel always works: a state no flow of this bot knows any more is dropped too.
        if (!(await clearFlowState(ctx.deps.db, ctx.chat!.id))) return false;
        await ctx.reply(say(ctx, 'cancelled'));
        return true;
      }
      await cancelLoaded(ctx, loaded, false);
      return true;
    },

    async leave(ctx) {
      // An expired prompt goes quietly: the user is busy with something else.
      const loaded = await load(ctx, false);
      if (!loaded || loaded.flow.guard) return;
      ctx.deps.logger.debug({ chatId: ctx.chat!.id, flow: loaded.flow.name, step: loaded.step }, 'prompt left for something else');
      await cancelLoaded(ctx, loaded, true);
    },

    async current(ctx) {
      const loaded = await loadFlowState(ctx.deps.db, ctx.chat!.id, ctx.deps.clock.now(), schemas);
      return loaded.status === 'ok' ? loaded.state.flow : undefined;
    },
  };
}

/** A press on a flow button that is not the current prompt's: refused and audited by the router. */
export class StaleFlowButton extends Error {
  override readonly name = 'StaleFlowButton';
  constructor() {
    super('flow button is not the current prompt');
  }
}
