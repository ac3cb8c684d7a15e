/**
 * The one conversation engine: every form and prompt of the bot runs on it.
 *
 * How a flow is written: a `Flow` names its steps; each step draws a prompt (text and buttons) and answers
 * a choice, a text, a location or a file with an outcome — go to a step, stay (with an error), or finish
 * (run the use case, then reply). What several flows ask is a shared step from ./steps: the subject picker
 * (search by name or code, pick from buttons, masked per PII_MODE), a required text, a count, a past time
 * (asking which day a bare time ahead of the clock meant) or a date, and a choice from a list. A flow is
 * listed in FLOWS (./index.ts) and started with `engine.start(conv, flow, step, data)`.
 *
 * What the engine does for every flow: « back and ✖ cancel on every prompt; the state in PostgreSQL
 * (`{ d: data, h: history, s: sequence, m: prompt message, k: form key }`), versioned, and dropped once
 * past its time to live; a pressed button must belong to the prompt now showing (its `v` is the prompt's
 * sequence number); refusals are told from the one map (./refusals.ts). A flow with a `guard` (/report) is
 * a form nothing replaces: starting another flow is refused with the guard's message. Every other flow is
 * a prompt that ends as soon as the user turns elsewhere — a command, or a button outside it (`leave`).
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { ButtonAction } from './actions.js';
import { whoOf, type Conversation, type FlowDeps, type Identity } from './conversation.js';
import { button, type Button, type Keyboard } from './ui.js';
import { t, type Lang, type MessageKey, type Params } from '../i18n/index.js';
import { clearFlowState, loadFlowState, saveFlowState, type FlowSchema } from '../db/repositories/flow-state.repository.js';
import { canRetype, isRefusal, refusalText } from './refusals.js';

export interface FlowEnv {
  conv: Conversation;
  deps: FlowDeps;
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
  /** The catalogue's markup (../i18n/markup.ts). */
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
  start<D>(conv: Conversation, flow: Flow<D>, step: string, data: D, opts?: { edit?: boolean; note?: string }): Promise<boolean>;
  /** A flow button (`f`) was pressed. */
  onChoice(conv: Conversation, action: ButtonAction): Promise<void>;
  /** A message (not a command) arrived; false when no flow was waiting for it. */
  onInput(conv: Conversation, input: FlowInput): Promise<boolean>;
  /** /cancel. */
  cancel(conv: Conversation): Promise<boolean>;
  /** The user turned elsewhere (a command, a button outside the form): a pending prompt ends as if cancelled; a guarded form stays. */
  leave(conv: Conversation): Promise<void>;
  /** Name of the flow in progress in this chat, if any. */
  current(conv: Conversation): Promise<string | undefined>;
}

export type FlowInput = { text: string } | { location: LocationInput } | { media: MediaInput };

export function createFlowEngine(flows: readonly AnyFlow[]): FlowEngine {
  register(flows);

  const ttl = (deps: FlowDeps, flow: AnyFlow) => Math.min(flow.ttlSeconds ?? Infinity, deps.flowTtlSeconds ?? DEFAULT_TTL_SECONDS);

  function envFor(conv: Conversation, seq: () => number, formKey?: string): FlowEnv {
    const deps = conv.deps;
    return {
      conv,
      deps,
      who: whoOf(conv),
      lang: conv.lang,
      now: deps.clock.now(),
      chatId: conv.chatId,
      formKey,
      say: (key, params) => t(conv.lang, key, params),
      choice: (text, key, id) => button(text, { a: 'f', k: key, ...(id ? { i: id } : {}), v: seq() }),
    };
  }

  /** This chat's state as stored; an expired or unusable one is removed (and `tell` says so, once). */
  async function load(conv: Conversation, tell = true): Promise<Loaded | undefined> {
    const deps = conv.deps;
    const loaded = await loadFlowState(deps.db, conv.chatId, deps.clock.now(), schemas);
    if (loaded.status === 'none' || loaded.status === 'foreign') return undefined;
    if (loaded.status === 'expired' || loaded.status === 'discarded') {
      deps.logger.info({ chatId: conv.chatId, flow: loaded.flow, status: loaded.status }, 'flow state dropped');
      if (tell) await conv.send(t(conv.lang, loaded.status === 'expired' ? 'flow.expired' : 'flow.discarded'));
      return undefined;
    }
    const flow = registry.get(loaded.state.flow)!;
    return { flow, step: loaded.state.step, env: loaded.state.data as Envelope };
  }

  async function retire(conv: Conversation, messageId: number | undefined, text?: string): Promise<void> {
    if (messageId !== undefined) await conv.retire(messageId, text);
  }

  async function save(conv: Conversation, flow: AnyFlow, stepName: string, envelope: Envelope): Promise<void> {
    await saveFlowState(conv.deps.db, conv.chatId, conv.userId, { flow: flow.name, version: flow.version, step: stepName, data: envelope }, conv.deps.clock.now(), ttl(conv.deps, flow));
  }

  /** Draws a step's prompt (editing the pressed message, or as a new message) and saves the state. */
  async function show(conv: Conversation, flow: AnyFlow, stepName: string, envelope: Envelope, mode: 'edit' | 'new', lines: string[] = []): Promise<void> {
    const step = flow.steps[stepName];
    if (!step) throw new Error(`flow ${flow.name} has no step ${stepName}`);
    const next: Envelope = { ...envelope, s: envelope.s + 1 };
    const env = envFor(conv, () => next.s, next.k);
    const prompt = await step.prompt(env, next.d);
    const nav: Button[] = [];
    if (!prompt.noBack && next.h.length > 0) nav.push(env.choice(t(conv.lang, 'button.back'), BACK));
    nav.push(env.choice(t(conv.lang, 'button.cancel'), CANCEL));
    const rows: Keyboard = [...(prompt.rows ?? []), nav];
    const text = [...lines, prompt.text].join('\n\n');
    const pressed = conv.pressedMessageId;
    let messageId: number;
    if (mode === 'edit' && pressed !== undefined) {
      await conv.edit(pressed, text, rows);
      messageId = pressed;
      if (next.m !== undefined && next.m !== pressed) await retire(conv, next.m);
    } else {
      await retire(conv, next.m);
      messageId = await conv.send(text, rows);
    }
    next.m = messageId;
    await save(conv, flow, stepName, next);
  }

  async function apply(conv: Conversation, flow: AnyFlow, stepName: string, envelope: Envelope, outcome: Outcome<unknown>, mode: 'edit' | 'new'): Promise<void> {
    if ('next' in outcome) {
      const h = outcome.reset ? [] : outcome.next === stepName ? envelope.h : [...envelope.h, stepName].slice(-MAX_HISTORY);
      await show(conv, flow, outcome.next, { ...envelope, d: outcome.data, h }, mode, outcome.note ? [outcome.note] : []);
      return;
    }
    if ('stay' in outcome) {
      if (outcome.redraw === false) {
        if (outcome.data !== undefined) await save(conv, flow, stepName, { ...envelope, d: outcome.data });
        const told = outcome.error ?? outcome.note;
        if (told) await conv.send(told);
        return;
      }
      const lines = [...(outcome.note ? [outcome.note] : []), ...(outcome.error ? [t(conv.lang, 'flow.error', { error: outcome.error })] : [])];
      await show(conv, flow, stepName, { ...envelope, d: outcome.data ?? envelope.d }, mode, lines);
      return;
    }
    let after: void | AfterCommit;
    try {
      after = await outcome.finish();
    } catch (err) {
      if (!isRefusal(err)) throw err;
      const text = refusalText(conv.lang, err);
      if (mode === 'new' && canRetype(err)) {
        await conv.send(text);
        return;
      }
      await clearFlowState(conv.deps.db, conv.chatId);
      await retire(conv, envelope.m);
      await conv.answer(text, true);
      await conv.send(text);
      return;
    }
    await clearFlowState(conv.deps.db, conv.chatId);
    if (!outcome.keep) await retire(conv, envelope.m, outcome.closing);
    if (after) await after();
  }

  async function run(conv: Conversation, loaded: Loaded, mode: 'edit' | 'new', handler: (env: FlowEnv, step: Step<unknown>) => Result<unknown> | undefined): Promise<boolean> {
    const step = loaded.flow.steps[loaded.step]!;
    const env = envFor(conv, () => loaded.env.s, loaded.env.k);
    const result = handler(env, step);
    if (result === undefined) return false;
    await apply(conv, loaded.flow, loaded.step, loaded.env, await result, mode);
    return true;
  }

  /** Ends the flow: its prompt is closed (or given back by the flow's onCancel), and /cancel is answered. */
  async function cancelLoaded(conv: Conversation, loaded: Loaded, fromButton: boolean): Promise<void> {
    await clearFlowState(conv.deps.db, conv.chatId);
    const env = envFor(conv, () => loaded.env.s, loaded.env.k);
    const restored = loaded.flow.onCancel ? await loaded.flow.onCancel(env, loaded.env.d, loaded.env.m) : false;
    if (!restored) await retire(conv, loaded.env.m, fromButton ? t(conv.lang, 'cancelled') : undefined);
    if (!fromButton) await conv.send(t(conv.lang, 'cancelled'));
  }

  return {
    async start(conv, flow, step, data, opts = {}) {
      if (registry.get(flow.name) !== flow) throw new Error(`flow ${flow.name} is in no engine's list`);
      const existing = await load(conv, false);
      if (existing && existing.flow !== flow && existing.flow.guard) {
        const text = t(conv.lang, existing.flow.guard);
        if (conv.isPress && !conv.answered) await conv.answer(text, true);
        else await conv.send(text);
        return false;
      }
      // The form being replaced closes as if cancelled (the role picker gives its message back to the card).
      if (existing) {
        const env0 = existing.env;
        const restored = existing.flow.onCancel ? await existing.flow.onCancel(envFor(conv, () => env0.s, env0.k), env0.d, env0.m) : false;
        if (!restored) await retire(conv, env0.m);
      }
      await show(conv, flow as AnyFlow, step, { d: data, h: [], s: 0, k: randomUUID() }, opts.edit ? 'edit' : 'new', opts.note ? [opts.note] : []);
      return true;
    },

    async onChoice(conv, cb) {
      const loaded = await load(conv);
      // The desk answers and audits a press that is not the current prompt's.
      if (!loaded || cb.v !== loaded.env.s || !cb.k) throw new StaleFlowButton();
      const step = loaded.flow.steps[loaded.step]!;
      if (cb.k !== CANCEL && cb.k !== BACK && !step.onChoice) throw new StaleFlowButton();
      await conv.answer();
      if (cb.k === CANCEL) {
        await cancelLoaded(conv, loaded, true);
        return;
      }
      if (cb.k === BACK) {
        const h = [...loaded.env.h];
        const previous = h.pop();
        if (previous) await show(conv, loaded.flow, previous, { ...loaded.env, h }, 'edit');
        return;
      }
      await run(conv, loaded, 'edit', (env, s) => s.onChoice?.(env, loaded.env.d, cb.k!, cb.i));
    },

    async onInput(conv, input) {
      const loaded = await load(conv);
      if (!loaded) return false;
      const handled = await run(conv, loaded, 'new', (env, step) => {
        if ('text' in input) return step.onText?.(env, loaded.env.d, input.text);
        if ('location' in input) return step.onLocation?.(env, loaded.env.d, input.location);
        return step.onMedia?.(env, loaded.env.d, input.media);
      });
      if (!handled) await conv.send(t(conv.lang, 'flow.use_buttons'));
      return true;
    },

    async cancel(conv) {
      const loaded = await load(conv);
      if (!loaded) {
        // /cancel always works: a state no flow of this bot knows any more is dropped too.
        if (!(await clearFlowState(conv.deps.db, conv.chatId))) return false;
        await conv.send(t(conv.lang, 'cancelled'));
        return true;
      }
      await cancelLoaded(conv, loaded, false);
      return true;
    },

    async leave(conv) {
      // An expired prompt goes quietly: the user is busy with something else.
      const loaded = await load(conv, false);
      if (!loaded || loaded.flow.guard) return;
      conv.deps.logger.debug({ chatId: conv.chatId, flow: loaded.flow.name, step: loaded.step }, 'prompt left for something else');
      await cancelLoaded(conv, loaded, true);
    },

    async current(conv) {
      const loaded = await loadFlowState(conv.deps.db, conv.chatId, conv.deps.clock.now(), schemas);
      return loaded.status === 'ok' ? loaded.state.flow : undefined;
    },
  };
}

/** A press on a flow button that is not the current prompt's: refused and audited by the desk. */
export class StaleFlowButton extends Error {
  override readonly name = 'StaleFlowButton';
  constructor() {
    super('flow button is not the current prompt');
  }
}
