/**
 * The load generator: a process of its own that plays the staff. It acts through the Bot API stand-in's
 * HTTP user API (a user sends a text, presses a button), exactly as Telegram turns a person's tap into
 * an update for the bot, and it reads what the bot showed from the events the bench relays over IPC.
 *
 * Two pacing modes: closed loop (each user acts as soon as the bot handled their last update: P1), and
 * open loop at a fixed rate over a population of users (P6: people think between taps, so the offered
 * rate, not the number of people, is the load).
 */
import { performance } from 'node:perf_hooks';
import type { RelayEvent } from './lib/telegram-side.js';

export type Scenario = 'report-form' | 'echo';

export interface LoadUser {
  userId: number;
  chatId: number;
  /** What to type when the form asks for the subject (a code that finds exactly one). */
  subjectQuery?: string;
}

export interface RunCommand {
  t: 'run';
  apiUrl: string;
  scenario: Scenario;
  users: LoadUser[];
  /** Times each user goes through the scenario. */
  iterations: number;
  /** Offered updates per second over all users; absent = closed loop. */
  ratePerSecond?: number;
  /** Longest wait for the bot to handle one update, ms. */
  stepTimeoutMs?: number;
  /** Closed loop: a pause before each form after the first (ms), as a person takes between two reports. */
  pauseBetweenFormsMs?: number;
}

export interface RunResult {
  t: 'done';
  actions: number;
  completed: number;
  failed: number;
  errors: string[];
  /** Action sent → its update handled, as the user's client saw it (ms). */
  clientLatencyMs: number[];
  /** Ticks of the open-loop clock at which no user was ready (the bot was behind). */
  idleTicks: number;
  durationMs: number;
}

type Action = { send: string } | { press: string };

function script(scenario: Scenario, user: LoadUser, iteration: number): Action[] {
  if (scenario === 'echo') return [{ send: `hello ${iteration}` }, { press: 'echo' }];
  return [
    { send: '/report' },
    { press: 'disruption' },
    { send: user.subjectQuery ?? 'SQ' },
    { press: 'pick' },
    { press: 'now' },
    { send: `bench place ${iteration}` },
    { press: 'none' },
    { send: `bench description ${user.userId}/${iteration}` },
    { press: 'next' },
    { press: 'submit' },
  ];
}

// ------------------------------------------------------------------ what the users see

const chats = new Map<number, Map<number, string[]>>();
const handled = new Map<number, boolean>();
const waiters = new Map<number, (ok: boolean) => void>();
const messageWaiters = new Map<number, Set<() => void>>();

function onRelay(e: RelayEvent): void {
  if (e.t === 'msg') {
    let chat = chats.get(e.chatId);
    if (!chat) chats.set(e.chatId, (chat = new Map()));
    chat.set(e.messageId, e.buttons);
    for (const w of messageWaiters.get(e.chatId) ?? []) w();
    return;
  }
  const w = waiters.get(e.updateId);
  if (w) {
    waiters.delete(e.updateId);
    w(e.ok);
  } else handled.set(e.updateId, e.ok);
}

function waitHandled(updateId: number, timeoutMs: number): Promise<boolean> {
  const known = handled.get(updateId);
  if (known !== undefined) {
    handled.delete(updateId);
    return Promise.resolve(known);
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      waiters.delete(updateId);
      reject(new Error(`update ${updateId} not handled within ${timeoutMs} ms`));
    }, timeoutMs);
    waiters.set(updateId, (ok) => {
      clearTimeout(timer);
      resolve(ok);
    });
  });
}

/** The newest bot message in the chat with a form button for `key`. */
function findButton(chatId: number, key: string): { messageId: number; data: string } | undefined {
  const chat = chats.get(chatId);
  if (!chat) return undefined;
  const ids = [...chat.keys()].sort((a, b) => b - a);
  for (const id of ids) {
    for (const data of chat.get(id) ?? []) {
      const [a, , k] = data.split(':');
      if (a === 'f' && k === key) return { messageId: id, data };
    }
  }
  return undefined;
}

async function waitButton(chatId: number, key: string, timeoutMs: number): Promise<{ messageId: number; data: string }> {
  const found = findButton(chatId, key);
  if (found) return found;
  return new Promise((resolve, reject) => {
    let set = messageWaiters.get(chatId);
    if (!set) messageWaiters.set(chatId, (set = new Set()));
    const check = () => {
      const hit = findButton(chatId, key);
      if (!hit) return;
      done();
      resolve(hit);
    };
    const timer = setTimeout(() => {
      done();
      const shown = [...(chats.get(chatId)?.entries() ?? [])].slice(-2).map(([id, b]) => `#${id}[${b.join(' ')}]`).join(' ');
      reject(new Error(`chat ${chatId}: no "${key}" button within ${timeoutMs} ms (last: ${shown || 'nothing'})`));
    }, timeoutMs);
    const done = () => {
      clearTimeout(timer);
      set.delete(check);
    };
    set.add(check);
  });
}

// ------------------------------------------------------------------ acting

async function post(url: string, body: unknown): Promise<{ updateId: number }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = (await res.json()) as { updateId?: number; error?: string };
  if (!res.ok || typeof json.updateId !== 'number') throw new Error(`${url}: HTTP ${res.status} ${json.error ?? ''}`);
  return { updateId: json.updateId };
}

interface UserRun {
  user: LoadUser;
  iteration: number;
  step: number;
  actions: Action[];
  /** This form failed part-way: it is skipped to its end and not counted as completed. */
  failed: boolean;
}

async function act(cmd: RunCommand, run: UserRun, result: RunResult): Promise<void> {
  const action = run.actions[run.step]!;
  const timeout = cmd.stepTimeoutMs ?? 30_000;
  const base = `${cmd.apiUrl}/sandbox/api/chats/${run.user.chatId}`;
  const started = performance.now();
  let updateId: number;
  if ('send' in action) {
    ({ updateId } = await post(`${base}/send`, { userId: run.user.userId, text: action.send }));
  } else {
    const b = await waitButton(run.user.chatId, action.press, 2_000);
    ({ updateId } = await post(`${base}/press`, { userId: run.user.userId, messageId: b.messageId, data: b.data }));
  }
  result.actions++;
  const ok = await waitHandled(updateId, timeout);
  result.clientLatencyMs.push(performance.now() - started);
  if (!ok) throw new Error(`update ${updateId} was dropped by the webhook`);
}

function fail(result: RunResult, run: UserRun, err: unknown): void {
  result.failed++;
  run.failed = true;
  // The form is in an unknown state: this user's next form starts from the top.
  run.step = run.actions.length - 1;
  if (result.errors.length < 20) result.errors.push(`user ${run.user.userId} form ${run.iteration} step ${run.step}: ${err instanceof Error ? err.message : String(err)}`);
}

/** Advances a run after a step; returns false when the user has nothing more to do. */
function advance(cmd: RunCommand, run: UserRun, result: RunResult): boolean {
  run.step++;
  if (run.step < run.actions.length) return true;
  if (!run.failed) result.completed++;
  run.failed = false;
  run.iteration++;
  if (run.iteration >= cmd.iterations) return false;
  run.step = 0;
  run.actions = script(cmd.scenario, run.user, run.iteration);
  return true;
}

async function closedLoop(cmd: RunCommand, result: RunResult): Promise<void> {
  await Promise.all(
    cmd.users.map(async (user) => {
      const run: UserRun = { user, iteration: 0, step: 0, actions: script(cmd.scenario, user, 0), failed: false };
      for (;;) {
        try {
          await act(cmd, run, result);
        } catch (err) {
          fail(result, run, err);
        }
        const form = run.iteration;
        if (!advance(cmd, run, result)) return;
        if (run.iteration !== form && cmd.pauseBetweenFormsMs) await new Promise((r) => setTimeout(r, cmd.pauseBetweenFormsMs));
      }
    }),
  );
}

async function openLoop(cmd: RunCommand, rate: number, result: RunResult): Promise<void> {
  const ready: UserRun[] = cmd.users.map((user) => ({ user, iteration: 0, step: 0, actions: script(cmd.scenario, user, 0), failed: false }));
  let active = ready.length;
  const intervalMs = 1000 / rate;
  const t0 = performance.now();
  let tick = 0;
  const inflight = new Set<Promise<void>>();
  while (active > 0) {
    const due = t0 + tick * intervalMs;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    tick++;
    const run = ready.shift();
    if (!run) {
      result.idleTicks++;
      if (inflight.size > 0 && ready.length === 0) await Promise.race(inflight);
      continue;
    }
    const p: Promise<void> = act(cmd, run, result)
      .then(
        () => {
          if (advance(cmd, run, result)) ready.push(run);
          else active--;
        },
        (err: unknown) => {
          fail(result, run, err);
          if (advance(cmd, run, result)) ready.push(run);
          else active--;
        },
      )
      .finally(() => inflight.delete(p));
    inflight.add(p);
  }
  await Promise.all(inflight);
}

process.on('message', (m: RunCommand | RelayEvent) => {
  if (m.t !== 'run') {
    onRelay(m);
    return;
  }
  const result: RunResult = { t: 'done', actions: 0, completed: 0, failed: 0, errors: [], clientLatencyMs: [], idleTicks: 0, durationMs: 0 };
  const started = performance.now();
  const run = m.ratePerSecond ? openLoop(m, m.ratePerSecond, result) : closedLoop(m, result);
  run
    .catch((err: unknown) => result.errors.push(`load generator: ${String(err)}`))
    .finally(() => {
      result.durationMs = performance.now() - started;
      process.send?.(result);
    });
});

process.send?.({ t: 'ready' });
